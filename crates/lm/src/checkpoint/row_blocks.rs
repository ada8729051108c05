//! Module weights as safetensors, with row-blocked tables stored whole.
//!
//! A [`VocabEmbedding`](crate::model::VocabEmbedding) holds its table as `<path>.weight` plus
//! `<path>.row_blocks.<i>` on devices that cap a buffer's size, and as `<path>.weight` alone on
//! Flex. [`module_to_bytes`] joins the blocks so a checkpoint always stores one
//! `<path>.weight` (the key burn's `Embedding` and Hugging Face use), and [`load_module_file`]
//! splits it again for the blocks of the model it fills, so a folder written on one device
//! loads on any other.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::LmError;
use crate::model::ROW_BLOCKS_FIELD;

/// The weights of `model` as safetensors bytes under burn's module paths, every row-blocked
/// table joined into one `<path>.weight`. `path` names the file in errors.
pub fn module_to_bytes<M: Module>(model: &M, path: &Path) -> Result<Vec<u8>, LmError> {
    let mut store = SafetensorsStore::from_bytes(None);
    model
        .save_into(&mut store)
        .map_err(|e| LmError::checkpoint(path, format!("serialising: {e}")))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| LmError::checkpoint(path, format!("serialising: {e}")))?;
    if !has_row_blocks(
        model
            .collect(None, None, false)
            .iter()
            .map(|t| t.name.as_str()),
    ) {
        return Ok(bytes);
    }
    join_row_blocks(&bytes).map_err(|e| LmError::checkpoint(path, e))
}

/// Loads the safetensors file at `path` into `model`: every parameter must be in the file
/// and every tensor of the file must be used. A table the model holds in row blocks is read
/// from one `<path>.weight` and split to the model's block sizes.
pub fn load_module_file<M: ModuleSnapshot>(mut model: M, path: &Path) -> Result<M, LmError> {
    if !path.is_file() {
        return Err(LmError::checkpoint(path, "missing weights file"));
    }
    let layout = block_layout(&model);
    let mut store = if layout.is_empty() {
        SafetensorsStore::from_file(path)
    } else {
        let bytes = std::fs::read(path).map_err(|e| LmError::io("reading", path, e))?;
        let split = split_row_blocks(&bytes, &layout).map_err(|e| LmError::checkpoint(path, e))?;
        SafetensorsStore::from_bytes(Some(split))
    };
    let result = model
        .load_from(&mut store)
        .map_err(|e| LmError::checkpoint(path, e.to_string()))?;
    if !result.missing.is_empty() || !result.unused.is_empty() || !result.errors.is_empty() {
        return Err(LmError::checkpoint(
            path,
            format!(
                "does not fit the config: missing {:?}, unused {:?}, errors {:?}",
                result.missing.iter().map(|m| &m.0).collect::<Vec<_>>(),
                result.unused,
                result.errors
            ),
        ));
    }
    Ok(model)
}

/// The table path `P` of a key `P.row_blocks.<i>`, with `i`.
fn block_key(name: &str) -> Option<(&str, usize)> {
    let (head, index) = name.rsplit_once('.')?;
    let table = head.strip_suffix(ROW_BLOCKS_FIELD)?.strip_suffix('.')?;
    Some((table, index.parse().ok()?))
}

fn has_row_blocks<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    names.any(|n| block_key(n).is_some())
}

/// Rows of each block (`P.weight` first) of every row-blocked table of `model`.
fn block_layout<M: ModuleSnapshot>(model: &M) -> BTreeMap<String, Vec<usize>> {
    let tensors = model.collect(None, None, false);
    let rows: HashMap<&str, usize> = tensors
        .iter()
        .map(|t| (t.name.as_str(), t.shape.first().copied().unwrap_or(0)))
        .collect();
    let mut layout: BTreeMap<String, BTreeMap<usize, usize>> = BTreeMap::new();
    for t in &tensors {
        if let Some((table, i)) = block_key(&t.name) {
            layout
                .entry(table.to_string())
                .or_default()
                .insert(i, rows[t.name.as_str()]);
        }
    }
    layout
        .into_iter()
        .map(|(table, blocks)| {
            let first = rows
                .get(format!("{table}.weight").as_str())
                .copied()
                .unwrap_or(0);
            let sizes = std::iter::once(first).chain(blocks.into_values()).collect();
            (table, sizes)
        })
        .collect()
}

/// One tensor of a file being rewritten.
struct Entry<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Cow<'a, [u8]>,
}

/// A safetensors file's metadata and tensors.
type Parsed<'a> = (
    Option<HashMap<String, String>>,
    Vec<(String, TensorView<'a>)>,
);

fn read(bytes: &[u8]) -> Result<Parsed<'_>, String> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    Ok((meta.metadata().clone(), file.tensors()))
}

fn write(
    meta: Option<HashMap<String, String>>,
    entries: BTreeMap<String, Entry<'_>>,
) -> Result<Vec<u8>, String> {
    let views = entries
        .iter()
        .map(|(name, e)| {
            TensorView::new(e.dtype, e.shape.clone(), &e.data)
                .map(|v| (name.clone(), v))
                .map_err(|err| format!("tensor `{name}`: {err}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, meta).map_err(|e| e.to_string())
}

/// Joins every `P.weight` + `P.row_blocks.<i>` group into one `P.weight`.
fn join_row_blocks(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (meta, tensors) = read(bytes)?;
    let mut blocks: BTreeMap<String, BTreeMap<usize, TensorView<'_>>> = BTreeMap::new();
    let mut entries: BTreeMap<String, Entry<'_>> = BTreeMap::new();
    for (name, view) in tensors {
        match block_key(&name) {
            Some((table, i)) => {
                blocks.entry(table.to_string()).or_default().insert(i, view);
            }
            None => {
                let entry = Entry {
                    dtype: view.dtype(),
                    shape: view.shape().to_vec(),
                    data: Cow::Borrowed(view.data()),
                };
                entries.insert(name, entry);
            }
        }
    }
    for (table, rest) in blocks {
        let key = format!("{table}.weight");
        let first = entries
            .get_mut(&key)
            .ok_or_else(|| format!("row blocks of `{table}` without `{key}`"))?;
        let mut data = first.data.to_vec();
        for (i, view) in rest {
            if view.dtype() != first.dtype || view.shape()[1..] != first.shape[1..] {
                return Err(format!(
                    "`{table}.{ROW_BLOCKS_FIELD}.{i}`: expected {:?} rows of {:?}, got {:?} {:?}",
                    first.dtype,
                    &first.shape[1..],
                    view.dtype(),
                    view.shape()
                ));
            }
            data.extend_from_slice(view.data());
            first.shape[0] += view.shape()[0];
        }
        first.data = Cow::Owned(data);
    }
    write(meta, entries)
}

/// Splits each `P.weight` of `layout` into `P.weight` and `P.row_blocks.<i>` of the given
/// row counts.
fn split_row_blocks(
    bytes: &[u8],
    layout: &BTreeMap<String, Vec<usize>>,
) -> Result<Vec<u8>, String> {
    let (meta, tensors) = read(bytes)?;
    let mut entries: BTreeMap<String, Entry<'_>> = BTreeMap::new();
    for (name, view) in tensors {
        let table = name
            .strip_suffix(".weight")
            .filter(|t| layout.contains_key(*t));
        let Some(table) = table else {
            let entry = Entry {
                dtype: view.dtype(),
                shape: view.shape().to_vec(),
                data: Cow::Borrowed(view.data()),
            };
            entries.insert(name, entry);
            continue;
        };
        let sizes = &layout[table];
        let shape = view.shape();
        let total: usize = sizes.iter().sum();
        if shape.len() != 2 || shape[0] != total {
            return Err(format!(
                "tensor `{name}`: expected {total} rows (the model's table), got shape {shape:?}"
            ));
        }
        let row_bytes = view.data().len() / total.max(1);
        let mut start = 0;
        for (i, &rows) in sizes.iter().enumerate() {
            let key = match i {
                0 => name.clone(),
                _ => format!("{table}.{ROW_BLOCKS_FIELD}.{}", i - 1),
            };
            let entry = Entry {
                dtype: view.dtype(),
                shape: vec![rows, shape[1]],
                data: Cow::Borrowed(&view.data()[start * row_bytes..(start + rows) * row_bytes]),
            };
            entries.insert(key, entry);
            start += rows;
        }
    }
    write(meta, entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::{Device, Distribution, Tensor};

    use crate::model::VocabEmbedding;

    #[derive(Module, Debug)]
    struct Holder {
        embed: VocabEmbedding,
        other: Param<Tensor<1>>,
    }

    fn holder(rows: usize, data: burn::tensor::TensorData, dev: &Device) -> Holder {
        Holder {
            embed: VocabEmbedding::from_data_in_blocks(data, rows, dev).unwrap(),
            other: Param::from_tensor(Tensor::from_floats([1.0, 2.0, 3.0], dev)),
        }
    }

    fn values(h: &Holder) -> Vec<f32> {
        h.embed
            .blocks()
            .into_iter()
            .flat_map(|b| b.into_data().try_into_vec_as::<f32>().unwrap())
            .collect()
    }

    /// A table saved in blocks is stored whole, and loads into any block layout.
    #[test]
    fn blocked_tables_are_stored_whole_and_split_on_load() {
        let dev = crate::select_device().unwrap();
        let table = Tensor::<2>::random([11, 3], Distribution::Normal(0.0, 1.0), &dev).to_data();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let saved = holder(4, table.clone(), &dev);
        let bytes = module_to_bytes(&saved, &path).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut names = file.names();
        names.sort();
        assert_eq!(names, ["embed.weight", "other"]);
        assert_eq!(file.tensor("embed.weight").unwrap().shape(), [11, 3]);
        std::fs::write(&path, &bytes).unwrap();
        for rows in [11, 2, 5] {
            let zeros = burn::tensor::TensorData::new(vec![0.0f32; 33], [11, 3]);
            let loaded = load_module_file(holder(rows, zeros, &dev), &path).unwrap();
            assert_eq!(loaded.embed.row_blocks.len() + 1, 11usize.div_ceil(rows));
            assert_eq!(values(&loaded), values(&saved), "{rows} rows per block");
        }
    }

    #[test]
    fn a_table_of_the_wrong_size_is_named() {
        let dev = crate::select_device().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let small = burn::tensor::TensorData::new(vec![0.0f32; 6], [2, 3]);
        std::fs::write(
            &path,
            module_to_bytes(&holder(1, small, &dev), &path).unwrap(),
        )
        .unwrap();
        let big = burn::tensor::TensorData::new(vec![0.0f32; 12], [4, 3]);
        let err = load_module_file(holder(2, big, &dev), &path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("embed.weight") && err.contains("expected 4 rows"),
            "{err}"
        );
    }
}
