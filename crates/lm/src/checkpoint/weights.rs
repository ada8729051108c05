//! Reading Hugging Face safetensors weights: one `model.safetensors` or shards listed by
//! `model.safetensors.index.json`, any float dtype cast to f32.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

use crate::error::LmError;
use crate::model::VocabEmbedding;

/// Single-file weights inside a Hugging Face folder.
pub const HF_WEIGHTS_FILE: &str = "model.safetensors";
/// Index of sharded weights inside a Hugging Face folder.
pub const HF_INDEX_FILE: &str = "model.safetensors.index.json";

/// The raw bytes of a folder's weight files (one, or every shard of the index).
pub(crate) struct WeightFiles {
    files: Vec<(PathBuf, Vec<u8>)>,
    /// The file named in "missing tensor" errors: the single file or the index.
    origin: PathBuf,
}

impl WeightFiles {
    /// Reads `dir/model.safetensors`, or, when absent, every shard named by
    /// `dir/model.safetensors.index.json` (`weight_map` values).
    pub(crate) fn read(dir: &Path) -> Result<Self, LmError> {
        let single = dir.join(HF_WEIGHTS_FILE);
        let index = dir.join(HF_INDEX_FILE);
        if single.is_file() || !index.is_file() {
            let bytes = std::fs::read(&single).map_err(|e| LmError::io("reading", &single, e))?;
            return Ok(Self {
                files: vec![(single.clone(), bytes)],
                origin: single,
            });
        }
        let text =
            std::fs::read_to_string(&index).map_err(|e| LmError::io("reading", &index, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| LmError::checkpoint(&index, format!("line {}: {e}", e.line())))?;
        let map = v
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                LmError::checkpoint(
                    &index,
                    "field `weight_map`: expected an object of names → files",
                )
            })?;
        let mut shards = BTreeSet::new();
        for (name, file) in map {
            let file = file.as_str().ok_or_else(|| {
                LmError::checkpoint(
                    &index,
                    format!("field `weight_map.{name}`: expected a file name, got {file}"),
                )
            })?;
            if file.contains('/') || file.contains('\\') || file.starts_with("..") {
                return Err(LmError::checkpoint(
                    &index,
                    format!(
                        "field `weight_map.{name}`: expected a file in the folder, got `{file}`"
                    ),
                ));
            }
            shards.insert(file.to_string());
        }
        let mut files = Vec::with_capacity(shards.len());
        for shard in shards {
            let path = dir.join(&shard);
            let bytes = std::fs::read(&path).map_err(|e| LmError::io("reading", &path, e))?;
            files.push((path, bytes));
        }
        Ok(Self {
            files,
            origin: index,
        })
    }

    /// Reads the single safetensors file `path`.
    pub(crate) fn read_file(path: &Path) -> Result<Self, LmError> {
        let bytes = std::fs::read(path).map_err(|e| LmError::io("reading", path, e))?;
        Ok(Self {
            files: vec![(path.to_path_buf(), bytes)],
            origin: path.to_path_buf(),
        })
    }

    /// Parses every file; tensors load onto `device`.
    pub(crate) fn weights<'a>(&'a self, device: &'a Device) -> Result<Weights<'a>, LmError> {
        let mut shards = Vec::with_capacity(self.files.len());
        let mut index = HashMap::new();
        for (i, (path, bytes)) in self.files.iter().enumerate() {
            let st = SafeTensors::deserialize(bytes)
                .map_err(|e| LmError::checkpoint(path, format!("not a safetensors file: {e}")))?;
            for name in st.names() {
                if let Some(j) = index.insert(name.to_string(), i) {
                    return Err(LmError::checkpoint(
                        path,
                        format!("tensor `{name}` is also in {}", self.files[j].0.display()),
                    ));
                }
            }
            shards.push((path.as_path(), st));
        }
        Ok(Weights {
            shards,
            index,
            origin: &self.origin,
            device,
            used: Default::default(),
        })
    }
}

/// Tensors of one checkpoint (possibly sharded) with a record of which were read.
pub(crate) struct Weights<'a> {
    shards: Vec<(&'a Path, SafeTensors<'a>)>,
    index: HashMap<String, usize>,
    origin: &'a Path,
    device: &'a Device,
    used: BTreeSet<String>,
}

impl Weights<'_> {
    /// The file errors about the checkpoint as a whole name.
    pub(crate) fn origin(&self) -> &Path {
        self.origin
    }

    /// Whether the checkpoint holds `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Every tensor name, sorted.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.index.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Marks `name` as accounted for without reading it.
    pub(crate) fn mark_used(&mut self, name: &str) {
        self.used.insert(name.to_string());
    }

    /// Names never read nor marked, except those `ignore` accepts.
    pub(crate) fn unused(&self, ignore: impl Fn(&str) -> bool) -> Vec<String> {
        self.names()
            .into_iter()
            .filter(|n| !self.used.contains(*n) && !ignore(n))
            .map(str::to_string)
            .collect()
    }

    /// `Err` listing the unused tensors (see [`unused`](Self::unused)).
    pub(crate) fn check_all_used(&self, ignore: impl Fn(&str) -> bool) -> Result<(), LmError> {
        let unused = self.unused(ignore);
        if unused.is_empty() {
            return Ok(());
        }
        Err(LmError::checkpoint(
            self.origin,
            format!("tensors the model has no place for: {unused:?}"),
        ))
    }

    fn view(&self, name: &str) -> Result<(&Path, safetensors::tensor::TensorView<'_>), LmError> {
        let missing = || LmError::checkpoint(self.origin, format!("missing tensor `{name}`"));
        let &i = self.index.get(name).ok_or_else(missing)?;
        let (path, st) = &self.shards[i];
        Ok((path, st.tensor(name).map_err(|_| missing())?))
    }

    /// The shape of `name`.
    pub(crate) fn shape(&self, name: &str) -> Result<Vec<usize>, LmError> {
        Ok(self.view(name)?.1.shape().to_vec())
    }

    /// The values of `name` as f32 with its shape, checked against `shape` when given.
    pub(crate) fn values(
        &mut self,
        name: &str,
        shape: &[usize],
    ) -> Result<(Vec<f32>, Vec<usize>), LmError> {
        let (path, view) = self.view(name)?;
        if !shape.is_empty() && view.shape() != shape {
            return Err(LmError::checkpoint(
                path,
                format!(
                    "tensor `{name}`: expected shape {shape:?}, got {:?}",
                    view.shape()
                ),
            ));
        }
        let values = to_f32(view.dtype(), view.data()).ok_or_else(|| {
            LmError::checkpoint(
                path,
                format!(
                    "tensor `{name}`: expected dtype F32, F16, BF16 or F64, got {:?}",
                    view.dtype()
                ),
            )
        })?;
        let got = view.shape().to_vec();
        self.mark_used(name);
        Ok((values, got))
    }

    /// The tensor `name` as f32, checked against `shape` when given (flattened to 1-D).
    pub(crate) fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Tensor<1>, LmError> {
        let (values, _) = self.values(name, shape)?;
        let n = values.len();
        Ok(Tensor::from_data(TensorData::new(values, [n]), self.device))
    }

    /// A 1-D parameter.
    pub(crate) fn param1(&mut self, name: &str) -> Result<Param<Tensor<1>>, LmError> {
        let (path, shape) = {
            let (path, view) = self.view(name)?;
            (path.to_path_buf(), view.shape().to_vec())
        };
        if shape.len() != 1 {
            return Err(LmError::checkpoint(
                path,
                format!("tensor `{name}`: expected 1 dim, got {shape:?}"),
            ));
        }
        Ok(Param::from_tensor(self.tensor(name, &[])?))
    }

    /// An error naming the file and `name` unless the tensor `name` has shape `want`.
    fn expect_shape(&self, name: &str, want: &[usize]) -> Result<(), LmError> {
        let got = self.shape(name)?;
        if got == want {
            return Ok(());
        }
        let (path, _) = self.view(name)?;
        Err(LmError::checkpoint(
            path,
            format!("tensor `{name}`: expected shape {want:?}, got {got:?}"),
        ))
    }

    /// Replaces `param` by the tensor `name`, which must have `param`'s shape (PyTorch's
    /// `[out, in]` of it when `transpose`).
    pub(crate) fn set2(
        &mut self,
        param: &mut Param<Tensor<2>>,
        name: &str,
        transpose: bool,
    ) -> Result<(), LmError> {
        let [a, b] = param.dims();
        let want = if transpose { [b, a] } else { [a, b] };
        self.expect_shape(name, &want)?;
        *param = self.param2(name, transpose)?;
        Ok(())
    }

    /// Replaces the embedding `table` by the tensor `name` (read in host memory and split
    /// into the table's row blocks for the device), which must have the table's shape.
    pub(crate) fn set_table(
        &mut self,
        table: &mut VocabEmbedding,
        name: &str,
    ) -> Result<(), LmError> {
        let d = table.weight.dims()[1];
        let want = [table.vocab_size(), d];
        self.expect_shape(name, &want)?;
        *table = VocabEmbedding::from_data(self.matrix_data(name, false)?, self.device)?;
        Ok(())
    }

    /// Replaces `param` by the tensor `name`, which must have `param`'s shape.
    pub(crate) fn set1(&mut self, param: &mut Param<Tensor<1>>, name: &str) -> Result<(), LmError> {
        let want = param.dims();
        let values = self.values(name, &want)?.0;
        *param = Param::from_tensor(Tensor::from_data(
            TensorData::new(values, want),
            self.device,
        ));
        Ok(())
    }

    /// A 2-D weight; `transpose` converts PyTorch's `[out, in]` to burn's `[in, out]`.
    pub(crate) fn param2(
        &mut self,
        name: &str,
        transpose: bool,
    ) -> Result<Param<Tensor<2>>, LmError> {
        self.matrix(name, transpose).map(Param::from_tensor)
    }

    /// A 2-D tensor; `transpose` converts PyTorch's `[out, in]` to burn's `[in, out]`.
    pub(crate) fn matrix(&mut self, name: &str, transpose: bool) -> Result<Tensor<2>, LmError> {
        Ok(Tensor::from_data(
            self.matrix_data(name, transpose)?,
            self.device,
        ))
    }

    /// [`matrix`](Self::matrix) in host memory (for tables the device holds in blocks).
    pub(crate) fn matrix_data(
        &mut self,
        name: &str,
        transpose: bool,
    ) -> Result<TensorData, LmError> {
        let (values, shape) = self.values(name, &[])?;
        if shape.len() != 2 {
            let (path, _) = self.view(name)?;
            return Err(LmError::checkpoint(
                path,
                format!("tensor `{name}`: expected 2 dims, got {shape:?}"),
            ));
        }
        let (rows, cols) = (shape[0], shape[1]);
        let values = if transpose {
            let mut t = vec![0.0f32; values.len()];
            for r in 0..rows {
                for c in 0..cols {
                    t[c * rows + r] = values[r * cols + c];
                }
            }
            TensorData::new(t, [cols, rows])
        } else {
            TensorData::new(values, [rows, cols])
        };
        Ok(values)
    }
}

/// Little-endian float bytes of `dtype` as f32 (`None` for non-float dtypes).
pub(crate) fn to_f32(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    let chunks = |n: usize| bytes.chunks_exact(n);
    Some(match dtype {
        Dtype::F32 => chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => chunks(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => chunks(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => chunks(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        _ => return None,
    })
}
