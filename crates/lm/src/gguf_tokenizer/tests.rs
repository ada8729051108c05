//! The tokenizer built from small in-memory GGUF files: special tokens, whitespace,
//! byte fallback, added tokens, and the metadata it refuses.

use super::*;

/// A little-endian GGUF writer for metadata-only files.
#[derive(Default)]
struct Gguf {
    kvs: Vec<u8>,
    n: u64,
}

impl Gguf {
    fn key(&mut self, key: &str, ty: u32) {
        self.n += 1;
        self.kvs.extend((key.len() as u64).to_le_bytes());
        self.kvs.extend(key.as_bytes());
        self.kvs.extend(ty.to_le_bytes());
    }
    fn str(mut self, key: &str, v: &str) -> Self {
        self.key(key, 8);
        self.kvs.extend((v.len() as u64).to_le_bytes());
        self.kvs.extend(v.as_bytes());
        self
    }
    fn u32(mut self, key: &str, v: u32) -> Self {
        self.key(key, 4);
        self.kvs.extend(v.to_le_bytes());
        self
    }
    fn bool(mut self, key: &str, v: bool) -> Self {
        self.key(key, 7);
        self.kvs.push(u8::from(v));
        self
    }
    fn strs(mut self, key: &str, v: &[&str]) -> Self {
        self.key(key, 9);
        self.kvs.extend(8u32.to_le_bytes());
        self.kvs.extend((v.len() as u64).to_le_bytes());
        for s in v {
            self.kvs.extend((s.len() as u64).to_le_bytes());
            self.kvs.extend(s.as_bytes());
        }
        self
    }
    fn i32s(mut self, key: &str, v: &[i32]) -> Self {
        self.key(key, 9);
        self.kvs.extend(5u32.to_le_bytes());
        self.kvs.extend((v.len() as u64).to_le_bytes());
        for x in v {
            self.kvs.extend(x.to_le_bytes());
        }
        self
    }
    fn file(self) -> GgufFile {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(0u64.to_le_bytes());
        bytes.extend(self.n.to_le_bytes());
        bytes.extend(self.kvs);
        GgufFile::from_bytes(bytes).unwrap()
    }
}

/// A small Gemma-like vocabulary: specials, user-defined "\n" and "  ", words, bytes.
fn vocab() -> (Vec<String>, Vec<i32>) {
    let mut tokens: Vec<String> = [
        "<pad>",
        "<eos>",
        "<bos>",
        "<unk>",
        "<mask>",
        "<start_of_turn>",
        "\n",
        "\n\n",
        "  ",
        "▁",
        "a",
        "b",
        "ab",
        "▁a",
        "▁ab",
        "▁▁▁",
        "é",
    ]
    .map(String::from)
    .to_vec();
    let mut types = vec![3, 3, 3, 3, 3, 3, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    (tokens, types)
}

fn gemma_file(tokens: &[String], types: &[i32]) -> Gguf {
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    Gguf::default()
        .str("general.architecture", "gemma3")
        .str(MODEL_KEY, "llama")
        .strs(TOKENS_KEY, &refs)
        .i32s(TOKEN_TYPE_KEY, types)
        .u32("tokenizer.ggml.bos_token_id", 2)
        .u32("tokenizer.ggml.eos_token_id", 1)
        .u32("tokenizer.ggml.unknown_token_id", 3)
        .u32("tokenizer.ggml.padding_token_id", 0)
        .bool("tokenizer.ggml.add_bos_token", true)
}

fn tokenizer() -> Tokenizer {
    let (tokens, types) = vocab();
    tokenizer_from_gguf(&gemma_file(&tokens, &types).file()).unwrap()
}

fn id(tok: &Tokenizer, t: &str) -> u32 {
    tok.token_to_id(t)
        .unwrap_or_else(|| panic!("{t:?} not in vocab"))
}

#[test]
fn special_ids_and_bos() {
    let tok = tokenizer();
    assert_eq!((tok.bos_id(), tok.eos_id(), tok.pad_id()), (2, 1, 0));
    assert_eq!(tok.vocab_size(), 17 + 256);
    let ids = tok.encode("ab", true, true).unwrap();
    assert_eq!(ids, [2, id(&tok, "ab"), 1]);
}

#[test]
fn spaces_become_metaspace_and_merge() {
    let tok = tokenizer();
    // "ab ab" → "ab▁ab" → ab, ▁ab.
    assert_eq!(
        tok.encode("ab ab", false, false).unwrap(),
        [id(&tok, "ab"), id(&tok, "▁ab")]
    );
    // Two spaces → "▁▁" (the respelled user-defined "  ", id 8), then "a".
    assert_eq!(tok.encode("  a", false, false).unwrap(), [8, id(&tok, "a")]);
    assert_eq!(
        tok.decode(&tok.encode("  a b", false, false).unwrap(), false)
            .unwrap(),
        "  a b"
    );
}

#[test]
fn unknown_chars_fall_back_to_bytes_and_round_trip() {
    let tok = tokenizer();
    // "ü" is not in the vocabulary: its UTF-8 bytes C3 BC.
    let ids = tok.encode("aü", false, false).unwrap();
    assert_eq!(ids, [id(&tok, "a"), id(&tok, "<0xC3>"), id(&tok, "<0xBC>")]);
    assert_eq!(tok.decode(&ids, false).unwrap(), "aü");
    assert_eq!(tok.encode("é", false, false).unwrap(), [id(&tok, "é")]);
}

#[test]
fn control_and_user_defined_tokens_are_matched_whole() {
    let tok = tokenizer();
    let ids = tok.encode("<start_of_turn>a\n\nb", false, false).unwrap();
    assert_eq!(ids, [5, id(&tok, "a"), 7, id(&tok, "b")]);
    // Control tokens are special (skipped when asked), user-defined ones are not.
    assert_eq!(tok.decode(&ids, true).unwrap(), "a\n\nb");
    assert_eq!(tok.decode(&ids, false).unwrap(), "<start_of_turn>a\n\nb");
}

#[test]
fn add_bos_and_eos_flags() {
    let (tokens, types) = vocab();
    let file = gemma_file(&tokens, &types).file();
    assert!(add_bos_token(&file).unwrap());
    assert!(!add_eos_token(&file).unwrap());
    let file = gemma_file(&tokens, &types)
        .str("tokenizer.ggml.add_eos_token", "yes")
        .file();
    let err = add_eos_token(&file).unwrap_err().to_string();
    assert!(err.contains("expected bool, got string"), "{err}");
}

#[test]
fn other_tokenizer_models_are_refused() {
    let (tokens, types) = vocab();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let file = Gguf::default()
        .str("general.architecture", "llama")
        .str(MODEL_KEY, "gpt2")
        .strs(TOKENS_KEY, &refs)
        .i32s(TOKEN_TYPE_KEY, &types)
        .file();
    let err = tokenizer_from_gguf(&file).unwrap_err();
    assert!(
        matches!(err, GgufTokenizerError::Unsupported { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("\"gpt2\""), "{err}");
}

#[test]
fn inconsistent_metadata_is_refused() {
    let (tokens, types) = vocab();
    let err = tokenizer_from_gguf(&gemma_file(&tokens, &types[1..]).file()).unwrap_err();
    assert!(
        matches!(
            err,
            GgufTokenizerError::LengthMismatch {
                got: 272,
                expected: 273,
                ..
            }
        ),
        "{err}"
    );

    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let file = Gguf::default()
        .str("general.architecture", "gemma3")
        .str(MODEL_KEY, "llama")
        .strs(TOKENS_KEY, &refs)
        .u32("tokenizer.ggml.bos_token_id", 9999)
        .u32("tokenizer.ggml.eos_token_id", 1)
        .u32("tokenizer.ggml.unknown_token_id", 3)
        .u32("tokenizer.ggml.padding_token_id", 0)
        .file();
    let err = tokenizer_from_gguf(&file).unwrap_err().to_string();
    assert!(
        err.contains("bos_token_id` = 9999 is not a token id (the vocabulary has 273)"),
        "{err}"
    );

    let mut dup = tokens.clone();
    dup[15] = "▁▁".into(); // collides with the respelled "  " at id 8
    let err = tokenizer_from_gguf(&gemma_file(&dup, &types).file())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("token \"▁▁\" appears at ids 8 and 15"),
        "{err}"
    );

    let file = Gguf::default()
        .str("general.architecture", "gemma3")
        .str(MODEL_KEY, "llama")
        .file();
    let err = tokenizer_from_gguf(&file).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.ggml.tokens") && err.contains("missing"),
        "{err}"
    );
}
