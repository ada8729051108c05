//! Errors: [`GgufError`] names the file; [`FormatError`] says what is wrong and where
//! (byte offset, field, expected vs got).

use std::io;
use std::path::PathBuf;
use std::str::Utf8Error;

use crate::types::GgmlType;

/// Any failure to read a GGUF file, its metadata or its tensors.
///
/// Every variant names the file (`<in-memory>` for [`crate::GgufFile::from_bytes`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be opened, inspected or mapped.
    #[error("cannot read GGUF file `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file's contents are malformed, or a lookup in them failed.
    #[error("GGUF file `{path}`: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        #[source]
        source: FormatError,
    },
}

impl GgufError {
    /// The format error, if this is one (and not an I/O error).
    pub fn format_error(&self) -> Option<&FormatError> {
        match self {
            Self::Format { source, .. } => Some(source),
            Self::Io { .. } => None,
        }
    }
}

/// What is wrong with a GGUF file's bytes, or with a lookup in a parsed file.
///
/// Offsets are byte offsets from the start of the file; `field` names the part being read,
/// e.g. `header.tensor_count`, `metadata[3].key`, `metadata "tokenizer.ggml.tokens"[17]`,
/// `tensor_info[5].dims[1]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The first four bytes are not `GGUF`.
    #[error("bad magic at offset 0: expected \"GGUF\" (47 47 55 46), got {got:02x?}")]
    BadMagic {
        /// The four bytes found.
        got: [u8; 4],
    },
    /// The version is not one this reader supports (2 or 3).
    #[error(
        "unsupported GGUF version {got} at offset 4: expected 2 or 3{}",
        if matches!(got.swap_bytes(), 2 | 3) { " (a big-endian file? only little-endian is read)" } else { "" }
    )]
    UnsupportedVersion {
        /// The version found.
        got: u32,
    },
    /// The file ends inside a field.
    #[error("truncated {field} at offset {offset}: needs {needed} bytes, only {available} left")]
    Truncated {
        /// Where the field starts.
        offset: u64,
        /// The field being read.
        field: String,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the file from `offset`.
        available: u64,
    },
    /// A string's length prefix runs past the end of the file.
    #[error(
        "{field} at offset {offset}: string length {len} runs past the end of the file \
         ({available} bytes left)"
    )]
    StringTooLong {
        /// Where the string's bytes start.
        offset: u64,
        /// The string being read.
        field: String,
        /// The length prefix.
        len: u64,
        /// Bytes left in the file from `offset`.
        available: u64,
    },
    /// A string is not valid UTF-8.
    #[error("{field} at offset {offset}: string is not valid UTF-8 ({source})")]
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: u64,
        /// The string being read.
        field: String,
        /// The decoding error.
        #[source]
        source: Utf8Error,
    },
    /// A metadata value type id is not one GGUF defines.
    #[error("{field} at offset {offset}: unknown metadata value type {got} (expected 0..=12)")]
    UnknownValueType {
        /// Where the type id is.
        offset: u64,
        /// The value whose type it is.
        field: String,
        /// The type id found.
        got: u32,
    },
    /// A bool byte is neither 0 nor 1.
    #[error("{field} at offset {offset}: invalid bool byte {got} (expected 0 or 1)")]
    InvalidBool {
        /// Where the byte is.
        offset: u64,
        /// The value being read.
        field: String,
        /// The byte found.
        got: u8,
    },
    /// Arrays are nested deeper than [`crate::MAX_ARRAY_NESTING`].
    #[error("{field} at offset {offset}: arrays nested deeper than {max} levels")]
    NestingTooDeep {
        /// Where the innermost array starts.
        offset: u64,
        /// The value being read.
        field: String,
        /// The limit.
        max: usize,
    },
    /// A count (of metadata entries, tensors or array elements) cannot fit in the rest of
    /// the file.
    #[error(
        "{field} at offset {offset}: count {count} cannot fit in the {available} bytes left \
         (each entry takes at least {min_entry_bytes} bytes)"
    )]
    CountTooLarge {
        /// Where the count is.
        offset: u64,
        /// The count being read.
        field: String,
        /// The count found.
        count: u64,
        /// The smallest size one entry can have.
        min_entry_bytes: u64,
        /// Bytes left in the file after the count.
        available: u64,
    },
    /// Two metadata entries have the same key.
    #[error("metadata key {key:?} at offset {offset} appears a second time")]
    DuplicateKey {
        /// Where the second key starts.
        offset: u64,
        /// The key.
        key: String,
    },
    /// `general.alignment` is not a non-zero power of two stored as u32.
    #[error("invalid `general.alignment`: expected a non-zero power of two of type u32, got {got}")]
    InvalidAlignment {
        /// The value found, with its type.
        got: String,
    },
    /// A tensor has more dimensions than GGML allows.
    #[error(
        "tensor {tensor:?} (n_dims at offset {offset}): {got} dimensions, at most {max} allowed"
    )]
    TooManyDims {
        /// Where `n_dims` is.
        offset: u64,
        /// The tensor.
        tensor: String,
        /// The count found.
        got: u32,
        /// The limit ([`crate::MAX_DIMS`]).
        max: u32,
    },
    /// The product of a tensor's dimensions (or its byte size) overflows.
    #[error("tensor {tensor:?}: the size of dims {dims:?} overflows")]
    DimsOverflow {
        /// The tensor.
        tensor: String,
        /// Its dimensions, in GGUF order.
        dims: Vec<u64>,
    },
    /// A tensor's GGML type id is not one this reader knows.
    #[error("tensor {tensor:?} (type at offset {offset}): unknown ggml type {got}")]
    UnknownGgmlType {
        /// Where the type id is.
        offset: u64,
        /// The tensor.
        tensor: String,
        /// The type id found.
        got: u32,
    },
    /// A tensor's first (fastest-varying) dimension is not a whole number of blocks.
    #[error(
        "tensor {tensor:?}: first dimension {ne0} is not a multiple of the {ggml_type} block \
         size {block_size}"
    )]
    PartialBlock {
        /// The tensor.
        tensor: String,
        /// Its type.
        ggml_type: GgmlType,
        /// Its first dimension.
        ne0: u64,
        /// The type's block size.
        block_size: u64,
    },
    /// A tensor's data offset is not a multiple of the file's alignment.
    #[error(
        "tensor {tensor:?}: data offset {offset} is not a multiple of the alignment {alignment}"
    )]
    MisalignedTensor {
        /// The tensor.
        tensor: String,
        /// Its offset, relative to the data section.
        offset: u64,
        /// The file's alignment.
        alignment: u64,
    },
    /// A tensor's data runs past the end of the file.
    #[error(
        "tensor {tensor:?}: data of {len} bytes at offset {offset} of the data section (which \
         starts at {data_offset}) runs past the end of the file ({file_len} bytes)"
    )]
    TensorOutOfBounds {
        /// The tensor.
        tensor: String,
        /// Its offset, relative to the data section.
        offset: u64,
        /// Its size in bytes.
        len: u64,
        /// Where the data section starts.
        data_offset: u64,
        /// The file's length.
        file_len: u64,
    },
    /// Two tensors have the same name.
    #[error("tensor name {tensor:?} at offset {offset} appears a second time")]
    DuplicateTensor {
        /// Where the second name starts.
        offset: u64,
        /// The name.
        tensor: String,
    },
    /// A metadata key that was asked for is absent.
    #[error("metadata key {key:?} is missing")]
    MissingKey {
        /// The key.
        key: String,
    },
    /// A metadata value has another type than the one asked for.
    #[error("metadata key {key:?}: expected {expected}, got {got}")]
    WrongValueType {
        /// The key.
        key: String,
        /// What was asked for.
        expected: &'static str,
        /// What the file holds.
        got: String,
    },
    /// A tensor that was asked for is absent.
    #[error("no tensor named {name:?}")]
    UnknownTensor {
        /// The name asked for.
        name: String,
    },
    /// A tensor's data could not be dequantised.
    #[error("tensor {tensor:?}: {source}")]
    Dequant {
        /// The tensor.
        tensor: String,
        /// Why.
        #[source]
        source: DequantError,
    },
}

/// Why [`crate::dequantize`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DequantError {
    /// Dequantisation of this type is not implemented.
    #[error(
        "dequantisation of {ggml_type} is not implemented (supported: F32, F16, BF16, Q8_0, \
         Q5_0, Q4_K, Q6_K)"
    )]
    Unsupported {
        /// The type.
        ggml_type: GgmlType,
    },
    /// The data is not a whole number of blocks.
    #[error("{len} bytes of {ggml_type} data are not a whole number of {type_size}-byte blocks")]
    PartialBlock {
        /// The type.
        ggml_type: GgmlType,
        /// The data's length.
        len: usize,
        /// Bytes per block.
        type_size: usize,
    },
}
