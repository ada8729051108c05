//! Parsing of the GGUF header, metadata and tensor infos from a byte slice.
//!
//! Layout (little-endian; GGUF versions 2 and 3):
//!
//! ```text
//! magic "GGUF" | version u32 | tensor_count u64 | kv_count u64
//! kv_count × { key: string, value_type: u32, value }
//! tensor_count × { name: string, n_dims: u32, dims: n_dims × u64, ggml_type: u32, offset: u64 }
//! padding to general.alignment (default 32)
//! tensor data; each tensor at data_start + offset, offset a multiple of the alignment
//! string = len u64 | len UTF-8 bytes;  array = element_type u32 | count u64 | elements
//! ```
//!
//! Nothing here panics or allocates more than a small multiple of the input's size,
//! whatever the input: every count is checked against the bytes left before anything is
//! reserved.

use std::collections::HashMap;

use crate::error::FormatError;
use crate::tensor::TensorInfo;
use crate::types::GgmlType;
use crate::value::{Array, Metadata, Value, ValueType};

/// The four magic bytes at the start of every GGUF file.
pub const MAGIC: [u8; 4] = *b"GGUF";

/// Alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Most dimensions a tensor may have (GGML_MAX_DIMS).
pub const MAX_DIMS: u32 = 4;

/// Deepest nesting of metadata arrays this reader accepts.
pub const MAX_ARRAY_NESTING: usize = 8;

/// The metadata key holding the alignment.
pub const ALIGNMENT_KEY: &str = "general.alignment";

/// Everything but the tensor data.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub tensor_index: HashMap<String, usize>,
    pub alignment: u64,
    pub data_offset: u64,
}

/// A read position in the input, with bounds-checked little-endian reads.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn offset(&self) -> u64 {
        self.pos as u64
    }

    fn remaining(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, field: impl FnOnce() -> String) -> Result<&'a [u8], FormatError> {
        let available = self.remaining();
        if n > available {
            return Err(FormatError::Truncated {
                offset: self.offset(),
                field: field(),
                needed: n,
                available,
            });
        }
        let start = self.pos;
        // n <= available <= usize::MAX here.
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    fn array<const N: usize>(
        &mut self,
        field: impl FnOnce() -> String,
    ) -> Result<[u8; N], FormatError> {
        let bytes = self.take(N as u64, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u32(&mut self, field: impl FnOnce() -> String) -> Result<u32, FormatError> {
        self.array(field).map(u32::from_le_bytes)
    }

    fn u64(&mut self, field: impl FnOnce() -> String) -> Result<u64, FormatError> {
        self.array(field).map(u64::from_le_bytes)
    }

    fn string(&mut self, field: &dyn Fn() -> String) -> Result<String, FormatError> {
        let len = self.u64(|| format!("{} length", field()))?;
        let available = self.remaining();
        if len > available {
            return Err(FormatError::StringTooLong {
                offset: self.offset(),
                field: field(),
                len,
                available,
            });
        }
        let offset = self.offset();
        let bytes = self.take(len, field)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(source) => Err(FormatError::InvalidUtf8 {
                offset,
                field: field(),
                source,
            }),
        }
    }

    /// Reads a count and checks that `count` entries of at least `min_entry_bytes` each can
    /// fit in the rest of the input.
    fn count(
        &mut self,
        min_entry_bytes: u64,
        field: &dyn Fn() -> String,
    ) -> Result<usize, FormatError> {
        let offset = self.offset();
        let count = self.u64(field)?;
        let available = self.remaining();
        let fits = count
            .checked_mul(min_entry_bytes)
            .is_some_and(|needed| needed <= available);
        if !fits {
            return Err(FormatError::CountTooLarge {
                offset,
                field: field(),
                count,
                min_entry_bytes,
                available,
            });
        }
        // count <= available <= usize::MAX (min_entry_bytes >= 1).
        Ok(count as usize)
    }

    fn value_type(&mut self, field: &dyn Fn() -> String) -> Result<ValueType, FormatError> {
        let offset = self.offset();
        let id = self.u32(|| format!("{} type", field()))?;
        ValueType::from_id(id).ok_or_else(|| FormatError::UnknownValueType {
            offset,
            field: field(),
            got: id,
        })
    }

    fn bool(&mut self, field: &dyn Fn() -> String) -> Result<bool, FormatError> {
        let offset = self.offset();
        match self.array::<1>(field)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            got => Err(FormatError::InvalidBool {
                offset,
                field: field(),
                got,
            }),
        }
    }

    fn value(
        &mut self,
        ty: ValueType,
        depth: usize,
        field: &dyn Fn() -> String,
    ) -> Result<Value, FormatError> {
        Ok(match ty {
            ValueType::U8 => Value::U8(u8::from_le_bytes(self.array(field)?)),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array(field)?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(field)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(field)?)),
            ValueType::U32 => Value::U32(u32::from_le_bytes(self.array(field)?)),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(field)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(field)?)),
            ValueType::Bool => Value::Bool(self.bool(field)?),
            ValueType::String => Value::String(self.string(field)?),
            ValueType::Array => Value::Array(self.array_value(depth + 1, field)?),
            ValueType::U64 => Value::U64(u64::from_le_bytes(self.array(field)?)),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(field)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(field)?)),
        })
    }

    fn array_value(
        &mut self,
        depth: usize,
        field: &dyn Fn() -> String,
    ) -> Result<Array, FormatError> {
        if depth > MAX_ARRAY_NESTING {
            return Err(FormatError::NestingTooDeep {
                offset: self.offset(),
                field: field(),
                max: MAX_ARRAY_NESTING,
            });
        }
        let ty = self.value_type(&|| format!("{} element", field()))?;
        let n = self.count(ty.min_size(), &|| format!("{} count", field()))?;
        macro_rules! fixed {
            ($variant:ident, $t:ty) => {{
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    out.push(<$t>::from_le_bytes(
                        self.array(|| format!("{}[{i}]", field()))?,
                    ));
                }
                Array::$variant(out)
            }};
        }
        Ok(match ty {
            ValueType::U8 => Array::U8(self.take(n as u64, field)?.to_vec()),
            ValueType::I8 => fixed!(I8, i8),
            ValueType::U16 => fixed!(U16, u16),
            ValueType::I16 => fixed!(I16, i16),
            ValueType::U32 => fixed!(U32, u32),
            ValueType::I32 => fixed!(I32, i32),
            ValueType::F32 => fixed!(F32, f32),
            ValueType::U64 => fixed!(U64, u64),
            ValueType::I64 => fixed!(I64, i64),
            ValueType::F64 => fixed!(F64, f64),
            ValueType::Bool => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    out.push(self.bool(&|| format!("{}[{i}]", field()))?);
                }
                Array::Bool(out)
            }
            ValueType::String => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    out.push(self.string(&|| format!("{}[{i}]", field()))?);
                }
                Array::String(out)
            }
            ValueType::Array => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    out.push(self.array_value(depth + 1, &|| format!("{}[{i}]", field()))?);
                }
                Array::Array(out)
            }
        })
    }
}

/// Minimum bytes of one metadata entry: key length, type id, a one-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// Minimum bytes of one tensor info: name length, n_dims, type, offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

/// Parses header, metadata and tensor infos, and checks every tensor against the input.
pub(crate) fn parse(buf: &[u8]) -> Result<Parsed, FormatError> {
    let mut c = Cursor { buf, pos: 0 };
    let magic: [u8; 4] = c.array(|| "header.magic".to_owned())?;
    if magic != MAGIC {
        return Err(FormatError::BadMagic { got: magic });
    }
    let version = c.u32(|| "header.version".to_owned())?;
    if !matches!(version, 2 | 3) {
        return Err(FormatError::UnsupportedVersion { got: version });
    }
    let tensor_count = c.u64(|| "header.tensor_count".to_owned())?;
    let kv_count = c.count(MIN_KV_BYTES, &|| "header.kv_count".to_owned())?;
    let tensor_count_fits = tensor_count
        .checked_mul(MIN_TENSOR_INFO_BYTES)
        .is_some_and(|needed| needed <= c.remaining());
    if !tensor_count_fits {
        return Err(FormatError::CountTooLarge {
            offset: 8,
            field: "header.tensor_count".to_owned(),
            count: tensor_count,
            min_entry_bytes: MIN_TENSOR_INFO_BYTES,
            available: c.remaining(),
        });
    }

    let mut metadata = Metadata::default();
    for i in 0..kv_count {
        let key_offset = c.offset();
        let key = c.string(&|| format!("metadata[{i}].key"))?;
        let value = {
            let field = || format!("metadata {key:?}");
            let ty = c.value_type(&field)?;
            c.value(ty, 0, &field)?
        };
        if metadata.get(&key).is_some() {
            return Err(FormatError::DuplicateKey {
                offset: key_offset,
                key,
            });
        }
        metadata.insert(key, value);
    }

    let alignment = match metadata.get(ALIGNMENT_KEY) {
        None => DEFAULT_ALIGNMENT,
        Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
        Some(Value::U32(a)) => {
            return Err(FormatError::InvalidAlignment {
                got: format!("u32 {a}"),
            });
        }
        Some(other) => {
            return Err(FormatError::InvalidAlignment {
                got: other.describe_type(),
            });
        }
    };

    // tensor_count was checked against the input above.
    let mut raw = Vec::with_capacity(tensor_count as usize);
    let mut tensor_index = HashMap::new();
    for i in 0..tensor_count {
        let name_offset = c.offset();
        let name = c.string(&|| format!("tensor_info[{i}].name"))?;
        let dims_offset = c.offset();
        let n_dims = c.u32(|| format!("tensor {name:?} n_dims"))?;
        if n_dims > MAX_DIMS {
            return Err(FormatError::TooManyDims {
                offset: dims_offset,
                tensor: name,
                got: n_dims,
                max: MAX_DIMS,
            });
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            dims.push(c.u64(|| format!("tensor {name:?} dims[{d}]"))?);
        }
        let type_offset = c.offset();
        let type_id = c.u32(|| format!("tensor {name:?} type"))?;
        let Some(ggml_type) = GgmlType::from_id(type_id) else {
            return Err(FormatError::UnknownGgmlType {
                offset: type_offset,
                tensor: name,
                got: type_id,
            });
        };
        let offset = c.u64(|| format!("tensor {name:?} offset"))?;
        if tensor_index.contains_key(&name) {
            return Err(FormatError::DuplicateTensor {
                offset: name_offset,
                tensor: name,
            });
        }
        tensor_index.insert(name.clone(), raw.len());
        raw.push((name, dims, ggml_type, offset));
    }

    // The data section starts at the next multiple of the alignment.
    let end_of_infos = c.offset();
    let data_offset = end_of_infos.div_ceil(alignment) * alignment;
    let file_len = buf.len() as u64;
    let mut tensors = Vec::with_capacity(raw.len());
    for (name, dims, ggml_type, offset) in raw {
        tensors.push(TensorInfo::new(
            name,
            dims,
            ggml_type,
            offset,
            alignment,
            data_offset,
            file_len,
        )?);
    }

    Ok(Parsed {
        version,
        metadata,
        tensors,
        tensor_index,
        alignment,
        data_offset,
    })
}
