//! [`GgufFile`]: a parsed GGUF file over a memory map (or owned bytes), with typed metadata
//! lookups and per-tensor access and dequantisation.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::dequant::dequantize;
use crate::error::{FormatError, GgufError};
use crate::parse::{Parsed, parse};
use crate::tensor::TensorInfo;
use crate::value::{Array, Metadata, Value};

/// Name reported in errors for files parsed from memory.
const IN_MEMORY: &str = "<in-memory>";

/// The bytes of a file.
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Mapped(m) => m,
            Self::Owned(v) => v,
        }
    }
}

/// A dequantised tensor: row-major shape and `f32` data.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorF32 {
    /// Row-major shape ([`TensorInfo::shape`]).
    pub shape: Vec<usize>,
    /// The values, row-major (GGUF storage order); `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

/// A parsed GGUF file.
///
/// Opening parses the header, all metadata and all tensor infos, and checks each tensor's
/// data lies inside the file; tensor data is read only when asked for, from a memory map.
///
/// ```no_run
/// let file = gguf::GgufFile::open("model.gguf")?;
/// println!("{} ({} tensors)", file.get_str("general.architecture")?, file.tensors().len());
/// for info in file.tensors() {
///     println!("{} {:?} {}", info.name(), info.shape(), info.ggml_type());
/// }
/// let embed = file.tensor_f32("token_embd.weight")?; // shape [vocab, hidden]
/// assert_eq!(embed.data.len(), embed.shape.iter().product::<usize>());
/// # Ok::<(), gguf::GgufError>(())
/// ```
pub struct GgufFile {
    path: PathBuf,
    bytes: Bytes,
    parsed: Parsed,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("len", &self.bytes.as_slice().len())
            .field("version", &self.parsed.version)
            .field("metadata_entries", &self.parsed.metadata.len())
            .field("tensors", &self.parsed.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Opens and parses the file at `path`, memory-mapping it.
    ///
    /// The map is read-only; as with any memory map, the file must not be modified or
    /// truncated by another process while the `GgufFile` is alive.
    ///
    /// # Errors
    ///
    /// [`GgufError::Io`] if the file cannot be opened or mapped, [`GgufError::Format`] if
    /// it is malformed or truncated.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        let path = path.as_ref();
        let io = |source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        // An empty file cannot be mapped on every platform; it is malformed anyway.
        let bytes = if len == 0 {
            Bytes::Owned(Vec::new())
        } else {
            Bytes::Mapped(map(&file).map_err(io)?)
        };
        Self::from_parts(path.to_path_buf(), bytes)
    }

    /// Parses a GGUF file held in memory; errors name the file `<in-memory>`.
    ///
    /// # Errors
    ///
    /// [`GgufError::Format`] if the bytes are malformed or truncated.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GgufError> {
        Self::from_parts(PathBuf::from(IN_MEMORY), Bytes::Owned(bytes))
    }

    fn from_parts(path: PathBuf, bytes: Bytes) -> Result<Self, GgufError> {
        match parse(bytes.as_slice()) {
            Ok(parsed) => Ok(Self {
                path,
                bytes,
                parsed,
            }),
            Err(source) => Err(GgufError::Format { path, source }),
        }
    }

    fn err(&self, source: FormatError) -> GgufError {
        GgufError::Format {
            path: self.path.clone(),
            source,
        }
    }

    /// The file's path (`<in-memory>` for [`Self::from_bytes`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.parsed.version
    }

    /// Alignment of tensor data (`general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.parsed.alignment
    }

    /// Byte offset of the data section from the start of the file.
    pub fn data_offset(&self) -> u64 {
        self.parsed.data_offset
    }

    /// The file's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.as_slice().len()
    }

    /// Always `false`: an empty file does not parse.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All metadata, in file order.
    pub fn metadata(&self) -> &Metadata {
        &self.parsed.metadata
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.parsed.metadata.get(key)
    }

    fn typed<'a, T>(
        &'a self,
        key: &str,
        expected: &'static str,
        pick: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<T, GgufError> {
        let value = self.get(key).ok_or_else(|| {
            self.err(FormatError::MissingKey {
                key: key.to_owned(),
            })
        })?;
        pick(value).ok_or_else(|| {
            self.err(FormatError::WrongValueType {
                key: key.to_owned(),
                expected,
                got: value.describe_type(),
            })
        })
    }

    /// The string at `key`.
    ///
    /// # Errors
    ///
    /// [`FormatError::MissingKey`] or [`FormatError::WrongValueType`], in a
    /// [`GgufError::Format`].
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        self.typed(key, "string", Value::as_str)
    }

    /// The non-negative integer at `key`, of any integer type.
    ///
    /// # Errors
    ///
    /// As for [`Self::get_str`]; a negative value is a wrong type.
    pub fn get_uint(&self, key: &str) -> Result<u64, GgufError> {
        self.typed(key, "a non-negative integer", Value::as_uint)
    }

    /// The float (`f32` or `f64`) at `key`.
    ///
    /// # Errors
    ///
    /// As for [`Self::get_str`].
    pub fn get_float(&self, key: &str) -> Result<f64, GgufError> {
        self.typed(key, "f32 or f64", Value::as_float)
    }

    /// The bool at `key`.
    ///
    /// # Errors
    ///
    /// As for [`Self::get_str`].
    pub fn get_bool(&self, key: &str) -> Result<bool, GgufError> {
        self.typed(key, "bool", Value::as_bool)
    }

    /// The array at `key`.
    ///
    /// # Errors
    ///
    /// As for [`Self::get_str`].
    pub fn get_array(&self, key: &str) -> Result<&Array, GgufError> {
        self.typed(key, "array", Value::as_array)
    }

    /// The array of strings at `key`.
    ///
    /// # Errors
    ///
    /// As for [`Self::get_str`].
    pub fn get_str_array(&self, key: &str) -> Result<&[String], GgufError> {
        self.typed(key, "array of string", |v| match v {
            Value::Array(Array::String(s)) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// The array of `f32` at `key`.
    ///
    /// # Errors
    ///
    /// As for [`Self::get_str`].
    pub fn get_f32_array(&self, key: &str) -> Result<&[f32], GgufError> {
        self.typed(key, "array of f32", |v| match v {
            Value::Array(Array::F32(s)) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// The array of `i32` at `key`.
    ///
    /// # Errors
    ///
    /// As for [`Self::get_str`].
    pub fn get_i32_array(&self, key: &str) -> Result<&[i32], GgufError> {
        self.typed(key, "array of i32", |v| match v {
            Value::Array(Array::I32(s)) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.parsed.tensors
    }

    /// The info of the tensor named `name`.
    ///
    /// # Errors
    ///
    /// [`FormatError::UnknownTensor`], in a [`GgufError::Format`].
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.parsed
            .tensor_index
            .get(name)
            .map(|&i| &self.parsed.tensors[i])
            .ok_or_else(|| {
                self.err(FormatError::UnknownTensor {
                    name: name.to_owned(),
                })
            })
    }

    /// The raw (possibly quantised) bytes of the tensor named `name`.
    ///
    /// # Errors
    ///
    /// As for [`Self::tensor`].
    pub fn tensor_bytes(&self, name: &str) -> Result<&[u8], GgufError> {
        let info = self.tensor(name)?;
        Ok(self.bytes_of(info))
    }

    fn bytes_of(&self, info: &TensorInfo) -> &[u8] {
        // Bounds were checked when the file was parsed.
        let start = self.parsed.data_offset as usize + info.offset() as usize;
        &self.bytes.as_slice()[start..start + info.n_bytes()]
    }

    /// The tensor named `name`, dequantised to `f32`, with its row-major shape.
    ///
    /// # Errors
    ///
    /// [`FormatError::UnknownTensor`], or [`FormatError::Dequant`] if its type cannot be
    /// dequantised; in a [`GgufError::Format`].
    pub fn tensor_f32(&self, name: &str) -> Result<TensorF32, GgufError> {
        let info = self.tensor(name)?;
        let data = dequantize(info.ggml_type(), self.bytes_of(info)).map_err(|source| {
            self.err(FormatError::Dequant {
                tensor: name.to_owned(),
                source,
            })
        })?;
        debug_assert_eq!(data.len(), info.n_elements());
        Ok(TensorF32 {
            shape: info.shape(),
            data,
        })
    }
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and only ever read through bounds-checked slices. The
    // remaining hazard, common to all memory maps, is another process truncating or
    // rewriting the file while it is mapped; `GgufFile::open` documents that it must not.
    unsafe { memmap2::Mmap::map(file) }
}
