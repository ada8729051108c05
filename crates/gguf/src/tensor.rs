//! Tensor infos: name, dimensions, type and where the data lies.

use crate::error::FormatError;
use crate::types::GgmlType;

/// One tensor's description, checked against the file when it was parsed: its first
/// dimension is a whole number of blocks, its data is aligned and lies inside the file.
///
/// # Dimension order
///
/// GGUF lists dimensions fastest-varying first (GGML's `ne[0], ne[1], …`): a matrix with
/// `rows` rows of `cols` contiguous elements has `dims() == [cols, rows]`. [`Self::shape`]
/// gives the row-major (PyTorch / burn) shape, `[rows, cols]`, which is the reverse. A
/// linear layer's weight `[out, in]` in Hugging Face is stored with `dims() == [in, out]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    name: String,
    dims: Vec<u64>,
    ggml_type: GgmlType,
    offset: u64,
    n_elements: u64,
    n_bytes: u64,
}

impl TensorInfo {
    /// Validates a tensor info read from a file of `file_len` bytes whose data section starts
    /// at `data_offset`.
    pub(crate) fn new(
        name: String,
        dims: Vec<u64>,
        ggml_type: GgmlType,
        offset: u64,
        alignment: u64,
        data_offset: u64,
        file_len: u64,
    ) -> Result<Self, FormatError> {
        let overflow =
            |name: String, dims: Vec<u64>| FormatError::DimsOverflow { tensor: name, dims };
        let Some(n_elements) = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)) else {
            return Err(overflow(name, dims));
        };
        if usize::try_from(n_elements).is_err() || dims.iter().any(|&d| usize::try_from(d).is_err())
        {
            return Err(overflow(name, dims));
        }
        let block_size = ggml_type.block_size() as u64;
        let ne0 = dims.first().copied().unwrap_or(1);
        if !ne0.is_multiple_of(block_size) {
            return Err(FormatError::PartialBlock {
                tensor: name,
                ggml_type,
                ne0,
                block_size,
            });
        }
        // ne0 is a multiple of the block size, so n_elements is too.
        let Some(n_bytes) = (n_elements / block_size).checked_mul(ggml_type.type_size() as u64)
        else {
            return Err(overflow(name, dims));
        };
        if !offset.is_multiple_of(alignment) {
            return Err(FormatError::MisalignedTensor {
                tensor: name,
                offset,
                alignment,
            });
        }
        let end = u128::from(data_offset) + u128::from(offset) + u128::from(n_bytes);
        if end > u128::from(file_len) {
            return Err(FormatError::TensorOutOfBounds {
                tensor: name,
                offset,
                len: n_bytes,
                data_offset,
                file_len,
            });
        }
        Ok(Self {
            name,
            dims,
            ggml_type,
            offset,
            n_elements,
            n_bytes,
        })
    }

    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Dimensions in GGUF order: fastest-varying first (see the type's docs).
    pub fn dims(&self) -> &[u64] {
        &self.dims
    }

    /// Row-major shape: [`Self::dims`] reversed, e.g. `[rows, cols]` for a matrix.
    pub fn shape(&self) -> Vec<usize> {
        // Every dimension was checked to fit in usize when parsed.
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    /// The GGML type of the data.
    pub fn ggml_type(&self) -> GgmlType {
        self.ggml_type
    }

    /// Offset of the data from the start of the data section.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Number of elements (the product of the dimensions; 1 for a scalar).
    pub fn n_elements(&self) -> usize {
        // Checked to fit when parsed.
        self.n_elements as usize
    }

    /// Size of the data in bytes.
    pub fn n_bytes(&self) -> usize {
        // Checked to lie within the file when parsed.
        self.n_bytes as usize
    }
}
