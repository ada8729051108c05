use super::*;
use proptest::prelude::*;
use std::sync::OnceLock;

const VOCAB: usize = 400;

/// A few hundred deterministic dialogue-like lines, with some non-ASCII.
fn corpus() -> Vec<String> {
    const WORDS: &[&str] = &[
        "the",
        "a",
        "model",
        "human",
        "assistant",
        "please",
        "help",
        "me",
        "with",
        "this",
        "question",
        "answer",
        "is",
        "not",
        "safe",
        "harmless",
        "honest",
        "why",
        "how",
        "what",
        "can",
        "you",
        "tell",
        "about",
        "café",
        "naïve",
        "déjà",
        "vu",
        "日本",
        "東京",
        "über",
        "straße",
        "—",
        "emoji",
        "🙂",
        "42",
        "2024",
        "reward",
        "policy",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    (0..400)
        .map(|i| {
            let speaker = if i % 2 == 0 { "Human" } else { "Assistant" };
            let len = 3 + next(12);
            let words: Vec<&str> = (0..len).map(|_| WORDS[next(WORDS.len())]).collect();
            let end = [".", "?", "!", ","][next(4)];
            format!("\n\n{speaker}: {}{end}", words.join(" "))
        })
        .collect()
}

/// One BPE tokenizer trained on [`corpus`], shared by all tests.
fn trained() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        Tokenizer::train_bpe_from_iter(corpus(), VOCAB, &SpecialTokens::default(), 2)
            .expect("training on the test corpus")
    })
}

/// A hand-written word-level `tokenizer.json` with known ids; its special
/// tokens are only in the model vocabulary, not registered as added tokens.
const WORD_LEVEL_JSON: &str = r#"{
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": { "type": "WhitespaceSplit" },
        "post_processor": null,
        "decoder": null,
        "model": {
            "type": "WordLevel",
            "vocab": {
                "<|bos|>": 0, "<|eos|>": 1, "<|pad|>": 2,
                "a": 3, "b": 4, "c": 5, "d": 6, "e": 7, "[UNK]": 8
            },
            "unk_token": "[UNK]"
        }
    }"#;

fn word_level() -> Tokenizer {
    Tokenizer::from_json_str(WORD_LEVEL_JSON, &SpecialTokens::default()).unwrap()
}

/// Checks the shape invariants every batch must satisfy.
fn assert_batch_invariants(batch: &BatchEncoding, pad_id: u32, padding: PaddingSide) {
    let n = batch.len();
    assert_eq!(batch.attention_mask.len(), n);
    assert_eq!(batch.lengths.len(), n);
    let width = batch.seq_len();
    for i in 0..n {
        let (ids, mask, len) = (&batch.ids[i], &batch.attention_mask[i], batch.lengths[i]);
        assert_eq!(ids.len(), width, "row {i} width");
        assert_eq!(mask.len(), width, "row {i} mask width");
        assert_eq!(
            mask.iter().map(|&m| usize::from(m)).sum::<usize>(),
            len,
            "row {i}"
        );
        let real = match padding {
            PaddingSide::Right => 0..len,
            PaddingSide::Left => width - len..width,
        };
        for (j, (&id, &m)) in ids.iter().zip(mask).enumerate() {
            if real.contains(&j) {
                assert_eq!(m, 1, "row {i} pos {j} should be real");
            } else {
                assert_eq!(m, 0, "row {i} pos {j} should be padding");
                assert_eq!(id, pad_id, "row {i} pos {j} should hold pad_id");
            }
        }
    }
}

#[test]
fn train_bpe_from_iter_resolves_distinct_special_ids() {
    let tok = trained();
    let ids = [tok.bos_id(), tok.eos_id(), tok.pad_id()];
    assert_eq!(ids, [0, 1, 2], "special tokens get the first ids");
    for (role, token) in SpecialTokens::default().iter() {
        assert_eq!(tok.token_to_id(token), Some(tok.special_id(role)));
        assert_eq!(
            tok.id_to_token(tok.special_id(role)).as_deref(),
            Some(token)
        );
    }
    assert!(tok.vocab_size() > BYTE_ALPHABET_SIZE + 3);
    assert!(tok.vocab_size() <= VOCAB);
    // Merges were learned: a frequent word is one token.
    assert_eq!(tok.encode("Assistant", false, false).unwrap().len(), 1);
}

#[test]
fn round_trip_ascii_and_unicode() {
    let tok = trained();
    for text in [
        "",
        "hello world",
        "naïve café — 日本",
        "\n\nHuman: what is 2+2?\n\nAssistant: 4 🙂",
        "  leading and trailing spaces  ",
        "tabs\tand\r\nCRLF and \u{0} nul",
        "never-seen ℵ₀ ∑ Ελληνικά",
    ] {
        let ids = tok.encode(text, false, false).unwrap();
        assert_eq!(tok.decode(&ids, false).unwrap(), text);

        let with = tok.encode(text, true, true).unwrap();
        assert_eq!(with.first(), Some(&tok.bos_id()));
        assert_eq!(with.last(), Some(&tok.eos_id()));
        assert_eq!(&with[1..with.len() - 1], &ids[..]);
        assert_eq!(tok.decode(&with, true).unwrap(), text);
        assert_eq!(
            tok.decode(&with, false).unwrap(),
            format!("<|bos|>{text}<|eos|>")
        );
    }
}

#[test]
fn special_token_text_in_input_encodes_to_its_id() {
    let tok = trained();
    let ids = tok.encode("hi<|eos|>", false, false).unwrap();
    assert_eq!(ids.last(), Some(&tok.eos_id()));
}

#[test]
fn decode_batch_and_unknown_ids() {
    let tok = trained();
    let texts = ["one café", "two 日本"];
    let seqs: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| tok.encode(t, true, false).unwrap())
        .collect();
    assert_eq!(tok.decode_batch(&seqs, true).unwrap(), texts);

    let bad = u32::try_from(tok.vocab_size()).unwrap() + 7;
    let err = tok.decode(&[tok.bos_id(), bad], false).unwrap_err();
    assert!(matches!(
        err,
        TokenizerError::UnknownTokenId { position: 1, id, .. } if id == bad
    ));
    let err = tok
        .decode_batch(&[vec![3], vec![4, bad]], false)
        .unwrap_err();
    assert!(err.to_string().contains("batch item 1"), "{err}");
}

#[test]
fn save_then_from_file_gives_identical_ids() {
    let tok = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    tok.save(&path).unwrap();
    // Saving again overwrites atomically.
    tok.save(&path).unwrap();
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["tokenizer.json"], "no temporary file left behind");

    let loaded = Tokenizer::from_file(&path, &SpecialTokens::default()).unwrap();
    assert_eq!(loaded.vocab_size(), tok.vocab_size());
    assert_eq!(
        [loaded.bos_id(), loaded.eos_id(), loaded.pad_id()],
        [tok.bos_id(), tok.eos_id(), tok.pad_id()]
    );
    let mut texts = corpus();
    texts.push("naïve café — 日本".to_owned());
    for text in &texts {
        assert_eq!(
            loaded.encode(text, true, true).unwrap(),
            tok.encode(text, true, true).unwrap()
        );
    }
    let json = tok.to_json_string().unwrap();
    let from_str = Tokenizer::from_json_str(&json, &SpecialTokens::default()).unwrap();
    assert_eq!(
        from_str.encode(&texts[0], false, false).unwrap(),
        tok.encode(&texts[0], false, false).unwrap()
    );
}

#[test]
fn missing_pad_token_is_a_load_error_naming_file_role_and_token() {
    let mut json: serde_json::Value =
        serde_json::from_str(&trained().to_json_string().unwrap()).unwrap();
    json["added_tokens"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["content"] != "<|pad|>");
    json["model"]["vocab"]
        .as_object_mut()
        .unwrap()
        .remove("<|pad|>");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-pad.json");
    fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();

    let err = Tokenizer::from_file(&path, &SpecialTokens::default()).unwrap_err();
    match &err {
        TokenizerError::MissingSpecialToken {
            path: p,
            role,
            token,
        } => {
            assert_eq!(p, &path);
            assert_eq!(*role, SpecialTokenRole::Pad);
            assert_eq!(token, "<|pad|>");
        }
        other => panic!("expected MissingSpecialToken, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("no-pad.json"), "{msg}");
    assert!(msg.contains("pad token"), "{msg}");
    assert!(msg.contains("\"<|pad|>\""), "{msg}");

    // A custom pad token missing from a valid file is reported the same way.
    let special = SpecialTokens {
        pad: "<|my_pad|>".to_owned(),
        ..SpecialTokens::default()
    };
    let msg = Tokenizer::from_json_str(WORD_LEVEL_JSON, &special)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("<in-memory>") && msg.contains("pad token \"<|my_pad|>\""),
        "{msg}"
    );
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.json");
    let err = Tokenizer::from_file(&missing, &SpecialTokens::default()).unwrap_err();
    assert!(matches!(err, TokenizerError::Io { .. }));
    assert!(err.to_string().contains("absent.json"), "{err}");

    let garbage = dir.path().join("garbage.json");
    fs::write(&garbage, "{ not json").unwrap();
    let err = Tokenizer::from_file(&garbage, &SpecialTokens::default()).unwrap_err();
    assert!(matches!(err, TokenizerError::Load { .. }));
    assert!(err.to_string().contains("garbage.json"), "{err}");

    let empty_bos = SpecialTokens {
        bos: String::new(),
        ..SpecialTokens::default()
    };
    let err = Tokenizer::from_json_str(WORD_LEVEL_JSON, &empty_bos).unwrap_err();
    assert!(matches!(
        err,
        TokenizerError::InvalidSpecialToken {
            role: SpecialTokenRole::Bos,
            ..
        }
    ));
}

#[test]
fn training_rejects_bad_arguments() {
    let err =
        Tokenizer::train_bpe_from_iter(["abc"], 258, &SpecialTokens::default(), 1).unwrap_err();
    assert!(matches!(
        err,
        TokenizerError::InvalidOption {
            option: "vocab_size",
            ..
        }
    ));

    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.txt");
    let err = Tokenizer::train_bpe(&[&absent], 300, &SpecialTokens::default(), 1).unwrap_err();
    assert!(err.to_string().contains("absent.txt"), "{err}");

    let bad_utf8 = dir.path().join("latin1.txt");
    fs::write(&bad_utf8, b"caf\xe9\n").unwrap();
    let err = Tokenizer::train_bpe(&[&bad_utf8], 300, &SpecialTokens::default(), 1).unwrap_err();
    assert!(matches!(err, TokenizerError::Io { .. }));
    assert!(err.to_string().contains("latin1.txt"), "{err}");
}

#[test]
fn train_bpe_from_files_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let lines = corpus();
    let (first, second) = lines.split_at(lines.len() / 2);
    let files = [dir.path().join("a.txt"), dir.path().join("b.txt")];
    fs::write(&files[0], first.concat()).unwrap();
    fs::write(&files[1], second.concat()).unwrap();
    let special = SpecialTokens {
        bos: "<s>".to_owned(),
        eos: "</s>".to_owned(),
        pad: "</s>".to_owned(),
    };
    let tok = Tokenizer::train_bpe(&files, 320, &special, 2).unwrap();
    assert_eq!((tok.bos_id(), tok.eos_id(), tok.pad_id()), (0, 1, 1));
    assert!(tok.vocab_size() <= 320);
    let text = "\n\nHuman: naïve café — 日本?";
    let ids = tok.encode(text, true, true).unwrap();
    assert_eq!(tok.decode(&ids, true).unwrap(), text);
}

#[test]
fn word_level_json_registers_special_tokens() {
    let tok = word_level();
    assert_eq!((tok.bos_id(), tok.eos_id(), tok.pad_id()), (0, 1, 2));
    assert_eq!(tok.encode("a b c", true, true).unwrap(), [0, 3, 4, 5, 1]);
    // The vocab-only specials are now special: skipped when asked.
    assert_eq!(tok.decode(&[0, 3, 4, 1, 2], true).unwrap(), "a b");
    assert_eq!(
        tok.decode(&[0, 3, 4, 1, 2], false).unwrap(),
        "<|bos|> a b <|eos|> <|pad|>"
    );
}

#[test]
fn right_truncation_right_padding_exact_rows() {
    let tok = word_level();
    let opts = EncodeOptions {
        add_bos: true,
        add_eos: true,
        max_length: Some(5),
        truncation: TruncationSide::Right,
        padding: PaddingSide::Right,
        pad_to_multiple_of: None,
    };
    let batch = tok
        .encode_batch(&["a b c d e", "d", "", "a b c"], &opts)
        .unwrap();
    assert_eq!(
        batch.ids,
        [
            vec![0, 3, 4, 5, 1],
            vec![0, 6, 1, 2, 2],
            vec![0, 1, 2, 2, 2],
            vec![0, 3, 4, 5, 1],
        ]
    );
    assert_eq!(
        batch.attention_mask,
        [
            vec![1, 1, 1, 1, 1],
            vec![1, 1, 1, 0, 0],
            vec![1, 1, 0, 0, 0],
            vec![1, 1, 1, 1, 1],
        ]
    );
    assert_eq!(batch.lengths, [5, 3, 2, 5]);
    assert_eq!(batch.truncated, 1, "only the first row lost tokens");
    assert_eq!(batch.unpadded(1), [0, 6, 1]);
    assert_batch_invariants(&batch, tok.pad_id(), PaddingSide::Right);
}

#[test]
fn left_truncation_left_padding_exact_rows() {
    let tok = word_level();
    let opts = EncodeOptions {
        add_bos: true,
        add_eos: false,
        max_length: Some(4),
        truncation: TruncationSide::Left,
        padding: PaddingSide::Left,
        pad_to_multiple_of: None,
    };
    let batch = tok
        .encode_batch(&["a b c d e", "e d", "a b c d"], &opts)
        .unwrap();
    assert_eq!(
        batch.ids,
        [vec![0, 5, 6, 7], vec![2, 0, 7, 6], vec![0, 4, 5, 6]]
    );
    assert_eq!(
        batch.attention_mask,
        [vec![1, 1, 1, 1], vec![0, 1, 1, 1], vec![1, 1, 1, 1]]
    );
    assert_eq!(batch.lengths, [4, 3, 4]);
    assert_eq!(batch.truncated, 2);
    assert_batch_invariants(&batch, tok.pad_id(), PaddingSide::Left);

    // Without BOS/EOS, left truncation keeps exactly the last tokens.
    let opts = EncodeOptions {
        max_length: Some(2),
        truncation: TruncationSide::Left,
        ..EncodeOptions::default()
    };
    let batch = tok.encode_batch(&["a b c", "d"], &opts).unwrap();
    assert_eq!(batch.ids, [vec![4, 5], vec![6, 2]]);
    assert_eq!(batch.truncated, 1);
}

#[test]
fn pad_to_multiple_of_rounds_up_the_width() {
    let tok = word_level();
    let opts = EncodeOptions {
        add_eos: true,
        pad_to_multiple_of: Some(4),
        padding: PaddingSide::Left,
        ..EncodeOptions::default()
    };
    let batch = tok.encode_batch(&["a b c d e", "a"], &opts).unwrap();
    assert_eq!(
        batch.ids,
        [vec![2, 2, 3, 4, 5, 6, 7, 1], vec![2, 2, 2, 2, 2, 2, 3, 1]]
    );
    assert_eq!(batch.lengths, [6, 2]);
    assert_eq!(batch.truncated, 0);
    assert_batch_invariants(&batch, tok.pad_id(), PaddingSide::Left);

    let empty = tok.encode_batch::<&str>(&[], &opts).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.seq_len(), 0);
}

#[test]
fn invalid_encode_options_are_rejected() {
    let tok = word_level();
    let too_short = EncodeOptions {
        add_bos: true,
        add_eos: true,
        max_length: Some(1),
        ..EncodeOptions::default()
    };
    let err = tok.encode_batch(&["a"], &too_short).unwrap_err();
    assert!(matches!(
        err,
        TokenizerError::InvalidOption {
            option: "max_length",
            ..
        }
    ));
    let zero_multiple = EncodeOptions {
        pad_to_multiple_of: Some(0),
        ..EncodeOptions::default()
    };
    let err = tok.encode_batch(&["a"], &zero_multiple).unwrap_err();
    assert!(err.to_string().contains("pad_to_multiple_of"), "{err}");
}

/// ASCII (control characters included) or arbitrary Unicode text.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\x00-\\x7f]{0,48}",
        proptest::collection::vec(any::<char>(), 0..32)
            .prop_map(|chars| chars.into_iter().collect()),
        "(naïve|café|—|日本|🙂| |\n|Human:|the){0,12}",
    ]
}

fn any_options() -> impl Strategy<Value = EncodeOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(2usize..24),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(1usize..8),
    )
        .prop_map(
            |(add_bos, add_eos, max_length, left_trunc, left_pad, multiple)| EncodeOptions {
                add_bos,
                add_eos,
                max_length,
                truncation: if left_trunc {
                    TruncationSide::Left
                } else {
                    TruncationSide::Right
                },
                padding: if left_pad {
                    PaddingSide::Left
                } else {
                    PaddingSide::Right
                },
                pad_to_multiple_of: multiple,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_decode_encode_is_identity(text in any_text()) {
        let tok = trained();
        let ids = tok.encode(&text, false, false).unwrap();
        prop_assert_eq!(tok.decode(&ids, false).unwrap(), text.clone());
        let ids = tok.encode(&text, true, true).unwrap();
        prop_assert_eq!(tok.decode(&ids, true).unwrap(), text);
    }

    #[test]
    fn prop_batch_padding_invariants(
        texts in proptest::collection::vec(any_text(), 0..6),
        opts in any_options(),
    ) {
        let tok = trained();
        let batch = tok.encode_batch(&texts, &opts).unwrap();
        prop_assert_eq!(batch.len(), texts.len());
        assert_batch_invariants(&batch, tok.pad_id(), opts.padding);
        let longest = batch.lengths.iter().copied().max().unwrap_or(0);
        let multiple = opts.pad_to_multiple_of.unwrap_or(1);
        prop_assert_eq!(batch.seq_len(), longest.div_ceil(multiple) * multiple);

        let n_special = usize::from(opts.add_bos) + usize::from(opts.add_eos);
        let mut truncated = 0;
        for (i, text) in texts.iter().enumerate() {
            let mut body = tok.encode(text, false, false).unwrap();
            if let Some(max) = opts.max_length
                && body.len() + n_special > max
            {
                truncated += 1;
                let keep = max - n_special;
                body = match opts.truncation {
                    TruncationSide::Left => body[body.len() - keep..].to_vec(),
                    TruncationSide::Right => body[..keep].to_vec(),
                };
            }
            let mut expected = Vec::new();
            if opts.add_bos {
                expected.push(tok.bos_id());
            }
            expected.extend(body);
            if opts.add_eos {
                expected.push(tok.eos_id());
            }
            prop_assert_eq!(batch.unpadded(i), expected);
            if let Some(max) = opts.max_length {
                prop_assert!(batch.lengths[i] <= max);
            }
        }
        prop_assert_eq!(batch.truncated, truncated);
    }
}
