//! JSON Lines files, plain or gzip-compressed: a streaming line reader with line
//! numbers ([`JsonlReader`]) and an atomic writer ([`write_jsonl`]).
//!
//! Gzip is detected from the file's first two bytes (`1f 8b`), not its name, so a
//! `.jsonl.gz` file that is really plain text (or the reverse) still reads. Files are
//! read one line at a time; the whole file is never held in memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::DataError;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Buffer size for reading and writing.
const BUF_SIZE: usize = 64 * 1024;

/// Streaming reader of a JSON Lines file, plain or gzip-compressed.
///
/// Iterates over `Result<(line_no, record), DataError>` where `line_no` is the
/// 1-based physical line number in the (decompressed) file. Blank lines are skipped
/// (and counted, see [`JsonlReader::blank_lines`]). `T` is the record type:
/// [`serde_json::Value`] by default (see [`JsonlReader::open`]) or any
/// deserialisable type (see [`JsonlReader::open_as`]).
///
/// After an error on one line (invalid UTF-8, invalid JSON, JSON of the wrong shape)
/// iteration goes on with the next line. After an I/O or gzip error the iterator
/// yields that error and then ends, since the rest of the file cannot be read.
pub struct JsonlReader<T = serde_json::Value> {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    gzip: bool,
    line_no: usize,
    blank_lines: usize,
    buf: Vec<u8>,
    finished: bool,
    _record: PhantomData<fn() -> T>,
}

impl JsonlReader<serde_json::Value> {
    /// Opens `path` for reading records as [`serde_json::Value`].
    ///
    /// Fails with [`DataError::Io`] if the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DataError> {
        Self::open_as(path)
    }
}

impl<T: DeserializeOwned> JsonlReader<T> {
    /// Opens `path` for reading records of type `T`, e.g.
    /// `JsonlReader::<MyRecord>::open_as(path)`.
    ///
    /// Fails with [`DataError::Io`] if the file cannot be opened.
    pub fn open_as(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref().to_path_buf();
        let io_err = |action: &'static str| {
            let path = path.clone();
            move |source| DataError::Io {
                path,
                action,
                source,
            }
        };
        let mut file = File::open(&path).map_err(io_err("opening"))?;
        let mut magic = [0u8; 2];
        let n = read_up_to(&mut file, &mut magic).map_err(io_err("reading"))?;
        file.seek(SeekFrom::Start(0))
            .map_err(io_err("seeking in"))?;
        let gzip = n == 2 && magic == GZIP_MAGIC;
        let inner: Box<dyn BufRead + Send> = if gzip {
            let decoder = MultiGzDecoder::new(BufReader::with_capacity(BUF_SIZE, file));
            Box::new(BufReader::with_capacity(BUF_SIZE, decoder))
        } else {
            Box::new(BufReader::with_capacity(BUF_SIZE, file))
        };
        Ok(Self {
            path,
            inner,
            gzip,
            line_no: 0,
            blank_lines: 0,
            buf: Vec::new(),
            finished: false,
            _record: PhantomData,
        })
    }
}

impl<T> JsonlReader<T> {
    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file is gzip-compressed (detected from its first bytes).
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Number of the last line read so far (1-based; 0 before the first line).
    pub fn line_no(&self) -> usize {
        self.line_no
    }

    /// Number of blank (empty or whitespace-only) lines skipped so far.
    pub fn blank_lines(&self) -> usize {
        self.blank_lines
    }
}

impl<T: DeserializeOwned> Iterator for JsonlReader<T> {
    type Item = Result<(usize, T), DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            self.buf.clear();
            let line = self.line_no + 1;
            match self.inner.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.finished = true,
                Ok(_) => {
                    self.line_no = line;
                    match parse_line(&self.path, line, &self.buf) {
                        Ok(None) => self.blank_lines += 1,
                        Ok(Some(record)) => return Some(Ok((line, record))),
                        Err(e) => return Some(Err(e)),
                    }
                }
                Err(source) => {
                    self.finished = true;
                    let path = self.path.clone();
                    return Some(Err(if self.gzip {
                        DataError::Gzip {
                            path,
                            line,
                            truncated: source.kind() == io::ErrorKind::UnexpectedEof,
                            source,
                        }
                    } else {
                        DataError::Io {
                            path,
                            action: "reading",
                            source,
                        }
                    }));
                }
            }
        }
        None
    }
}

/// Parses one line of a JSON Lines file (`bytes` may end with `\n` or `\r\n`).
///
/// Returns `Ok(None)` for a blank line. `path` and `line` only serve to name the
/// place in errors: [`DataError::Utf8`] for invalid UTF-8, [`DataError::Json`] for
/// invalid JSON or JSON that does not deserialise into `T`. A UTF-8 byte-order mark
/// is ignored on line 1. Never panics.
pub fn parse_line<T: DeserializeOwned>(
    path: &Path,
    line: usize,
    bytes: &[u8],
) -> Result<Option<T>, DataError> {
    let mut bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if line == 1 {
        bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::Utf8 {
        path: path.to_path_buf(),
        line,
        byte: e.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|source| DataError::Json {
            path: path.to_path_buf(),
            line,
            source,
        })
}

/// Writes `records` to `path` as JSON Lines, one compact JSON value per line,
/// gzip-compressed when the file name ends in `.gz`. Returns the number of records.
///
/// The write is atomic: records go to a temporary file in the same folder, which is
/// flushed, synced and then renamed over `path`; on any error `path` is left as it
/// was and the temporary file is removed.
pub fn write_jsonl<I>(path: impl AsRef<Path>, records: I) -> Result<usize, DataError>
where
    I: IntoIterator,
    I::Item: Serialize,
{
    let path = path.as_ref();
    let io_err = |action: &'static str| {
        move |source| DataError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let gzip = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".gz"));
    let atomic_err = |e: rlhf_core::fs::AtomicWriteError| DataError::Io {
        path: e.path,
        action: e.action,
        source: e.source,
    };
    let mut file = rlhf_core::AtomicFile::create(path).map_err(atomic_err)?;
    let buffered = BufWriter::with_capacity(BUF_SIZE, &mut file);
    let count = if gzip {
        let mut encoder = GzEncoder::new(buffered, Compression::default());
        let count = write_records(path, &mut encoder, records)?;
        let mut buffered = encoder.finish().map_err(io_err("writing"))?;
        buffered.flush().map_err(io_err("writing"))?;
        count
    } else {
        let mut buffered = buffered;
        let count = write_records(path, &mut buffered, records)?;
        buffered.flush().map_err(io_err("writing"))?;
        count
    };
    file.commit().map_err(atomic_err)?;
    Ok(count)
}

fn write_records<W: Write, I>(path: &Path, w: &mut W, records: I) -> Result<usize, DataError>
where
    I: IntoIterator,
    I::Item: Serialize,
{
    let mut count = 0;
    for (index, record) in records.into_iter().enumerate() {
        serde_json::to_writer(&mut *w, &record).map_err(|source| {
            if source.is_io() {
                DataError::Io {
                    path: path.to_path_buf(),
                    action: "writing",
                    source: source.into(),
                }
            } else {
                DataError::Serialize {
                    path: path.to_path_buf(),
                    index,
                    source,
                }
            }
        })?;
        w.write_all(b"\n").map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            action: "writing",
            source,
        })?;
        count += 1;
    }
    Ok(count)
}

/// Reads into `buf` until it is full or the reader is at its end; returns bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::{Value, json};

    fn collect(path: &Path) -> Vec<Result<(usize, Value), DataError>> {
        JsonlReader::open(path).unwrap().collect()
    }

    fn gzip_bytes(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn reads_plain_with_line_numbers_and_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"a\":1}\n\n   \r\n{\"a\":2}\r\n[3]").unwrap();
        let mut reader = JsonlReader::open(&path).unwrap();
        assert!(!reader.is_gzip());
        let got: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(
            got,
            vec![(1, json!({"a": 1})), (4, json!({"a": 2})), (5, json!([3]))]
        );
        assert_eq!(reader.blank_lines(), 2);
        assert_eq!(reader.line_no(), 5);
    }

    #[test]
    fn write_then_read_roundtrip_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let records = vec![json!({"x": "a\nb"}), json!({"x": "ü"}), json!(null)];
        for name in ["r.jsonl", "r.jsonl.gz"] {
            let path = dir.path().join(name);
            assert_eq!(write_jsonl(&path, &records).unwrap(), 3);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.starts_with(&GZIP_MAGIC), name.ends_with(".gz"));
            let reader = JsonlReader::open(&path).unwrap();
            assert_eq!(reader.is_gzip(), name.ends_with(".gz"));
            let got: Vec<Value> = reader.map(|r| r.unwrap().1).collect();
            assert_eq!(got, records);
        }
        // Only the two final files remain: no temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn typed_records() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Rec {
            n: u32,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"n\":1}\n{\"n\":\"two\"}\n{\"n\":3}\n").unwrap();
        let got: Vec<_> = JsonlReader::<Rec>::open_as(&path).unwrap().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(*got[0].as_ref().unwrap(), (1, Rec { n: 1 }));
        let err = got[1].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("t.jsonl:2: JSON does not have the expected shape"),
            "{err}"
        );
        assert_eq!(*got[2].as_ref().unwrap(), (3, Rec { n: 3 }));
    }

    #[test]
    fn invalid_json_names_line_and_reading_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"a\":\n{\"a\":3}\n").unwrap();
        let got = collect(&path);
        assert_eq!(got.len(), 3);
        let err = got[1].as_ref().unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.is_line_error());
        let msg = err.to_string();
        assert!(msg.contains("bad.jsonl:2: invalid JSON"), "{msg}");
        assert_eq!(got[2].as_ref().unwrap().0, 3);
    }

    #[test]
    fn invalid_utf8_names_line_and_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.jsonl");
        std::fs::write(&path, b"{}\n{\"a\":\"\xff\"}\n").unwrap();
        let got = collect(&path);
        let msg = got[1].as_ref().unwrap_err().to_string();
        assert!(msg.contains("u.jsonl:2: invalid UTF-8"), "{msg}");
        assert!(msg.contains("at byte 6"), "{msg}");
    }

    #[test]
    fn truncated_gzip_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.jsonl.gz");
        let records: Vec<Value> = (0..5000)
            .map(|i| json!({"i": i, "text": format!("record number {i} {}", i * 7919 % 1013)}))
            .collect();
        write_jsonl(&path, &records).unwrap();
        let full = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.jsonl.gz");
        std::fs::write(&cut, &full[..full.len() / 2]).unwrap();

        let got = collect(&cut);
        let (last, ok) = got.split_last().unwrap();
        assert!(ok.iter().all(Result::is_ok));
        assert!(!ok.is_empty() && ok.len() < records.len());
        let err = last.as_ref().unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Gzip {
                    truncated: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_line_error());
        let msg = err.to_string();
        assert!(msg.contains("cut.jsonl.gz"), "{msg}");
        assert!(msg.contains("truncated"), "{msg}");
        assert!(msg.contains(&format!("line {}", ok.len() + 1)), "{msg}");

        // Only a few bytes of header.
        std::fs::write(&cut, &full[..5]).unwrap();
        let got = collect(&cut);
        assert_eq!(got.len(), 1);
        assert!(
            got[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
    }

    #[test]
    fn corrupt_gzip_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl.gz");
        let mut bytes = gzip_bytes(b"{\"a\":1}\n");
        let mid = bytes.len() - 6; // inside the CRC-32 trailer
        bytes[mid] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let got = collect(&path);
        let err = got.last().unwrap().as_ref().unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");

        // Magic bytes followed by garbage.
        std::fs::write(&path, b"\x1f\x8bthis is not gzip at all").unwrap();
        let got = collect(&path);
        assert_eq!(got.len(), 1);
        let msg = got[0].as_ref().unwrap_err().to_string();
        assert!(
            msg.contains("c.jsonl.gz") && msg.contains("line 1"),
            "{msg}"
        );
    }

    #[test]
    fn missing_file_names_path() {
        let err = JsonlReader::open("/definitely/not/here.jsonl")
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(msg.contains("opening /definitely/not/here.jsonl"), "{msg}");
    }

    #[test]
    fn unserialisable_record_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 2u8); // non-string map keys cannot be JSON
        let err = write_jsonl(&path, [bad]).unwrap_err();
        assert!(
            matches!(err, DataError::Serialize { index: 0, .. }),
            "{err:?}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_line_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let r = parse_line::<Value>(Path::new("p.jsonl"), 1, &bytes);
            if let Err(e) = r {
                prop_assert!(e.is_line_error());
                prop_assert_eq!(e.line(), Some(1));
            }
        }

        #[test]
        fn reader_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            gzip_header in any::<bool>(),
            compress in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.jsonl");
            let mut data = if compress { gzip_bytes(&bytes) } else { bytes.clone() };
            if gzip_header && !compress {
                data.splice(0..0, GZIP_MAGIC);
            }
            std::fs::write(&path, &data).unwrap();
            let mut n = 0;
            for item in JsonlReader::open(&path).unwrap() {
                n += 1;
                prop_assert!(n <= bytes.len() + 1);
                let _ = item;
            }
        }
    }
}
