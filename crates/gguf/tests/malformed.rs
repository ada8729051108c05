//! Malformed and truncated input is refused with an error naming the offset, the field, and
//! what was expected and found; nothing panics, whatever the bytes.

use std::path::PathBuf;

use gguf::{FormatError, GgmlType, GgufError, GgufFile, MAX_ARRAY_NESTING};
use proptest::prelude::*;

/// A little-endian GGUF byte writer with full control, so that any field can be broken.
#[derive(Clone, Default)]
struct W(Vec<u8>);

impl W {
    fn header(version: u32, tensors: u64, kvs: u64) -> Self {
        W(b"GGUF".to_vec()).u32(version).u64(tensors).u64(kvs)
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn u8(self, v: u8) -> Self {
        self.raw(&[v])
    }
    fn u32(self, v: u32) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn u64(self, v: u64) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn str(self, s: &str) -> Self {
        self.u64(s.len() as u64).raw(s.as_bytes())
    }
    fn kv_u32(self, key: &str, v: u32) -> Self {
        self.str(key).u32(4).u32(v)
    }
    fn kv_str(self, key: &str, v: &str) -> Self {
        self.str(key).u32(8).str(v)
    }
    fn tensor(self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Self {
        let mut w = self.str(name).u32(dims.len() as u32);
        for &d in dims {
            w = w.u64(d);
        }
        w.u32(ty).u64(offset)
    }
    fn pad(mut self, align: usize) -> Self {
        while !self.0.len().is_multiple_of(align) {
            self.0.push(0);
        }
        self
    }
    fn parse(self) -> Result<GgufFile, GgufError> {
        GgufFile::from_bytes(self.0)
    }
}

/// A valid file: one string key, one Q8_0 tensor of 32 values.
fn valid() -> W {
    W::header(3, 1, 1)
        .kv_str("general.architecture", "x")
        .tensor("w", &[32], GgmlType::Q8_0.id(), 0)
        .pad(32)
        .raw(&[0x00, 0x3C]) // d = 1
        .raw(&[7; 32])
}

/// The format error of a failed parse, with its message.
fn format_err(r: Result<GgufFile, GgufError>) -> (FormatError, String) {
    match r {
        Ok(_) => panic!("expected an error, the file parsed"),
        Err(e) => {
            let msg = e.to_string();
            (e.format_error().expect("a format error").clone(), msg)
        }
    }
}

#[test]
fn the_valid_base_file_parses() {
    let file = valid().parse().unwrap();
    assert_eq!(file.get_str("general.architecture").unwrap(), "x");
    assert_eq!(file.data_offset(), 128);
    assert_eq!(file.tensor_f32("w").unwrap().data, vec![7.0; 32]);
}

#[test]
fn empty_and_short_files_are_truncated_headers() {
    let (e, msg) = format_err(W::default().parse());
    assert!(
        matches!(
            e,
            FormatError::Truncated {
                offset: 0,
                needed: 4,
                available: 0,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains("<in-memory>") && msg.contains("header.magic"),
        "{msg}"
    );
    let (e, msg) = format_err(W(b"GGUF".to_vec()).u32(3).u32(1).parse());
    assert_eq!(
        e,
        FormatError::Truncated {
            offset: 8,
            field: "header.tensor_count".into(),
            needed: 8,
            available: 4
        }
    );
    assert!(
        msg.contains("truncated header.tensor_count at offset 8: needs 8 bytes, only 4 left"),
        "{msg}"
    );
}

#[test]
fn bad_magic() {
    let (e, msg) = format_err(W(b"GGML".to_vec()).u32(3).u64(0).u64(0).parse());
    assert_eq!(e, FormatError::BadMagic { got: *b"GGML" });
    assert!(msg.contains("expected \"GGUF\""), "{msg}");
}

#[test]
fn unsupported_versions() {
    for v in [0, 1, 4, u32::MAX] {
        let (e, _) = format_err(W::header(v, 0, 0).parse());
        assert_eq!(e, FormatError::UnsupportedVersion { got: v });
    }
    let (_, msg) = format_err(W::header(3u32.swap_bytes(), 0, 0).parse());
    assert!(msg.contains("big-endian"), "{msg}");
    assert!(W::header(2, 0, 0).parse().is_ok());
}

#[test]
fn counts_beyond_the_file_are_refused_before_allocating() {
    let (e, _) = format_err(W::header(3, 0, u64::MAX).parse());
    assert!(
        matches!(&e, FormatError::CountTooLarge { offset: 16, field, count: u64::MAX, .. } if field == "header.kv_count"),
        "{e:?}"
    );
    let (e, _) = format_err(W::header(3, 1 << 40, 0).parse());
    assert!(
        matches!(&e, FormatError::CountTooLarge { offset: 8, field, .. } if field == "header.tensor_count"),
        "{e:?}"
    );
    // An array claiming 2^61 u64 elements.
    let (e, msg) = format_err(
        W::header(3, 0, 1)
            .str("k")
            .u32(9)
            .u32(10)
            .u64(1 << 61)
            .parse(),
    );
    assert!(
        matches!(
            e,
            FormatError::CountTooLarge {
                offset: 41,
                min_entry_bytes: 8,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains("metadata \"k\" count"), "{msg}");
}

#[test]
fn string_length_beyond_the_file() {
    let (e, msg) = format_err(W::header(3, 0, 1).u64(1000).raw(&[b'a'; 20]).parse());
    assert_eq!(
        e,
        FormatError::StringTooLong {
            offset: 32,
            field: "metadata[0].key".into(),
            len: 1000,
            available: 20
        }
    );
    assert!(
        msg.contains("string length 1000 runs past the end of the file"),
        "{msg}"
    );
    let (e, _) = format_err(W::header(3, 0, 1).str("k").u32(8).u64(u64::MAX).parse());
    assert!(
        matches!(e, FormatError::StringTooLong { len: u64::MAX, .. }),
        "{e:?}"
    );
}

#[test]
fn invalid_utf8_in_a_key() {
    let (e, _) = format_err(
        W::header(3, 0, 1)
            .u64(2)
            .raw(&[0xC3, 0x28])
            .u32(0)
            .u8(0)
            .parse(),
    );
    assert!(
        matches!(e, FormatError::InvalidUtf8 { offset: 32, .. }),
        "{e:?}"
    );
}

#[test]
fn unknown_value_type() {
    let (e, msg) = format_err(W::header(3, 0, 1).str("key").u32(13).u32(0).parse());
    assert_eq!(
        e,
        FormatError::UnknownValueType {
            offset: 35,
            field: "metadata \"key\"".into(),
            got: 13
        }
    );
    assert!(msg.contains("unknown metadata value type 13"), "{msg}");
    // Inside an array.
    let (e, _) = format_err(W::header(3, 0, 1).str("a").u32(9).u32(99).u64(1).parse());
    assert!(
        matches!(e, FormatError::UnknownValueType { got: 99, .. }),
        "{e:?}"
    );
}

#[test]
fn invalid_bool_byte() {
    let (e, _) = format_err(W::header(3, 0, 1).str("b").u32(7).u8(2).parse());
    assert!(
        matches!(
            e,
            FormatError::InvalidBool {
                offset: 37,
                got: 2,
                ..
            }
        ),
        "{e:?}"
    );
    let (e, _) = format_err(
        W::header(3, 0, 1)
            .str("b")
            .u32(9)
            .u32(7)
            .u64(2)
            .u8(1)
            .u8(9)
            .parse(),
    );
    assert!(
        matches!(&e, FormatError::InvalidBool { got: 9, field, .. } if field == "metadata \"b\"[1]"),
        "{e:?}"
    );
}

#[test]
fn arrays_nested_too_deep() {
    let nested = |depth: usize| {
        let mut w = W::header(3, 0, 1).str("n");
        w = w.u32(9); // the value is an array
        for _ in 1..depth {
            w = w.u32(9).u64(1); // of one array
        }
        w.u32(0).u64(1).u8(5) // of one u8
    };
    assert!(nested(MAX_ARRAY_NESTING).parse().is_ok());
    let (e, _) = format_err(nested(MAX_ARRAY_NESTING + 1).parse());
    assert!(matches!(e, FormatError::NestingTooDeep { .. }), "{e:?}");
}

#[test]
fn duplicate_key() {
    let (e, _) = format_err(W::header(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2).parse());
    assert_eq!(
        e,
        FormatError::DuplicateKey {
            offset: 41,
            key: "k".into()
        }
    );
}

#[test]
fn invalid_alignment() {
    for bad in [0u32, 48, 3] {
        let (e, _) = format_err(W::header(3, 0, 1).kv_u32("general.alignment", bad).parse());
        assert!(
            matches!(e, FormatError::InvalidAlignment { .. }),
            "{bad}: {e:?}"
        );
    }
    let (_, msg) = format_err(
        W::header(3, 0, 1)
            .str("general.alignment")
            .u32(10)
            .u64(64)
            .parse(),
    );
    assert!(msg.contains("got u64"), "{msg}");
    // A valid custom alignment moves the data section.
    let f = W::header(3, 0, 1)
        .kv_u32("general.alignment", 256)
        .parse()
        .unwrap();
    assert_eq!((f.alignment(), f.data_offset()), (256, 256));
}

#[test]
fn too_many_dims() {
    let (e, _) = format_err(
        W::header(3, 1, 0)
            .tensor("t", &[1, 1, 1, 1, 1], 0, 0)
            .parse(),
    );
    assert_eq!(
        e,
        FormatError::TooManyDims {
            offset: 33,
            tensor: "t".into(),
            got: 5,
            max: 4
        }
    );
}

#[test]
fn dims_overflow() {
    let (e, _) = format_err(W::header(3, 1, 0).tensor("t", &[u64::MAX, 2], 0, 0).parse());
    assert!(matches!(e, FormatError::DimsOverflow { .. }), "{e:?}");
    // Element count fits, byte size (× 4) does not.
    let (e, _) = format_err(W::header(3, 1, 0).tensor("t", &[1 << 63], 0, 0).parse());
    assert!(matches!(e, FormatError::DimsOverflow { .. }), "{e:?}");
}

#[test]
fn unknown_ggml_type() {
    let (e, msg) = format_err(W::header(3, 1, 0).tensor("t", &[4], 4, 0).parse());
    assert_eq!(
        e,
        FormatError::UnknownGgmlType {
            offset: 45,
            tensor: "t".into(),
            got: 4
        }
    );
    assert!(msg.contains("unknown ggml type 4"), "{msg}");
}

#[test]
fn rows_must_be_whole_blocks() {
    let (e, _) = format_err(W::header(3, 1, 0).tensor("t", &[31, 2], 8, 0).parse());
    assert!(
        matches!(
            e,
            FormatError::PartialBlock {
                ne0: 31,
                block_size: 32,
                ggml_type: GgmlType::Q8_0,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn misaligned_tensor_offset() {
    let w = W::header(3, 1, 0)
        .tensor("t", &[4], 0, 4)
        .pad(32)
        .raw(&[0; 64]);
    let (e, _) = format_err(w.parse());
    assert_eq!(
        e,
        FormatError::MisalignedTensor {
            tensor: "t".into(),
            offset: 4,
            alignment: 32
        }
    );
}

#[test]
fn tensor_data_beyond_the_file() {
    let mut w = valid();
    w.0.pop();
    let (e, msg) = format_err(w.parse());
    assert_eq!(
        e,
        FormatError::TensorOutOfBounds {
            tensor: "w".into(),
            offset: 0,
            len: 34,
            data_offset: 128,
            file_len: 161
        }
    );
    assert!(
        msg.contains("runs past the end of the file (161 bytes)"),
        "{msg}"
    );
    // An offset near u64::MAX must not wrap around.
    let w = W::header(3, 1, 0)
        .tensor("t", &[1], 0, u64::MAX - 31)
        .pad(32)
        .raw(&[0; 64]);
    let (e, _) = format_err(w.parse());
    assert!(matches!(e, FormatError::TensorOutOfBounds { .. }), "{e:?}");
}

#[test]
fn duplicate_tensor_name() {
    let w = W::header(3, 2, 0)
        .tensor("t", &[1], 0, 0)
        .tensor("t", &[1], 0, 32)
        .pad(32);
    let (e, _) = format_err(w.raw(&[0; 64]).parse());
    assert!(
        matches!(&e, FormatError::DuplicateTensor { tensor, .. } if tensor == "t"),
        "{e:?}"
    );
}

#[test]
fn truncated_tensor_info_names_the_field() {
    let mut w = W::header(3, 1, 0).tensor("t", &[4, 4], 0, 0);
    w.0.truncate(24 + 8 + 1 + 4 + 8 + 3); // inside dims[1]
    let (e, msg) = format_err(w.parse());
    assert!(
        matches!(&e, FormatError::Truncated { offset: 45, needed: 8, available: 3, field } if field == "tensor \"t\" dims[1]"),
        "{e:?}"
    );
    assert!(msg.contains("tensor \"t\" dims[1]"), "{msg}");
}

#[test]
fn scalars_and_empty_tensors_are_valid() {
    let w = W::header(3, 2, 0)
        .tensor("scalar", &[], 0, 0)
        .tensor("empty", &[0, 4], 0, 32)
        .pad(32)
        .raw(&1.5f32.to_le_bytes())
        .pad(32);
    let f = w.parse().unwrap();
    assert_eq!(f.tensor_f32("scalar").unwrap().data, [1.5]);
    let empty = f.tensor_f32("empty").unwrap();
    assert_eq!((empty.shape.as_slice(), empty.data.len()), (&[4, 0][..], 0));
}

#[test]
fn unsupported_type_parses_but_does_not_dequantise() {
    let w = W::header(3, 1, 0)
        .tensor("t", &[256], GgmlType::Q2_K.id(), 0)
        .pad(32)
        .raw(&[0; 84]);
    let f = w.parse().unwrap();
    assert_eq!(f.tensor_bytes("t").unwrap().len(), 84);
    let msg = f.tensor_f32("t").unwrap_err().to_string();
    assert!(
        msg.contains("tensor \"t\"") && msg.contains("Q2_K is not implemented"),
        "{msg}"
    );
}

#[test]
fn errors_from_open_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.gguf");
    let mut bytes = valid().0;
    bytes.truncate(40);
    std::fs::write(&path, bytes).unwrap();
    let msg = GgufFile::open(&path).unwrap_err().to_string();
    assert!(
        msg.contains("broken.gguf") && msg.contains("offset"),
        "{msg}"
    );

    let missing = dir.path().join("missing.gguf");
    let err = GgufFile::open(&missing).unwrap_err();
    assert!(matches!(err, GgufError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.gguf"));

    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    let err = GgufFile::open(&empty).unwrap_err();
    assert!(
        matches!(err.format_error(), Some(FormatError::Truncated { .. })),
        "{err:?}"
    );
}

fn tiny() -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny.gguf"))
        .unwrap()
}

/// Reads everything a parsed file offers, so that a panic anywhere would show.
fn exercise(file: &GgufFile) {
    for (key, _) in file.metadata().iter() {
        let _ = file.get_str(key);
        let _ = file.get_uint(key);
        let _ = file.get_str_array(key);
    }
    for info in file.tensors() {
        let bytes = file.tensor_bytes(info.name()).unwrap();
        assert_eq!(bytes.len(), info.n_bytes());
        if let Ok(t) = file.tensor_f32(info.name()) {
            assert_eq!(t.data.len(), info.n_elements());
        }
    }
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error() {
    let bytes = tiny();
    let file = GgufFile::from_bytes(bytes.clone()).unwrap();
    let needed = file
        .tensors()
        .iter()
        .map(|t| file.data_offset() as usize + t.offset() as usize + t.n_bytes())
        .max()
        .unwrap();
    for len in 0..bytes.len() {
        let r = GgufFile::from_bytes(bytes[..len].to_vec());
        if len < needed {
            let err = r.expect_err(&format!("prefix of {len} bytes parsed"));
            assert!(err.format_error().is_some(), "{len}: {err}");
        } else {
            // Only trailing padding was cut.
            exercise(&r.unwrap());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(file) = GgufFile::from_bytes(bytes) {
            exercise(&file);
        }
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        version in 2u32..=3,
        tensors in 0u64..4,
        kvs in 0u64..4,
        rest in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let w = W::header(version, tensors, kvs).raw(&rest);
        if let Ok(file) = w.parse() {
            exercise(&file);
        }
    }

    #[test]
    fn corrupted_valid_files_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        wide in proptest::option::of((any::<prop::sample::Index>(), any::<u64>())),
    ) {
        let mut bytes = tiny();
        // Corrupt the header, metadata and tensor infos, where the structure lies.
        let structure = GgufFile::from_bytes(bytes.clone()).unwrap().data_offset() as usize;
        for (at, byte) in edits {
            bytes[at.index(structure)] = byte;
        }
        if let Some((at, value)) = wide {
            let at = at.index(structure - 8);
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        if let Ok(file) = GgufFile::from_bytes(bytes) {
            exercise(&file);
        }
    }
}
