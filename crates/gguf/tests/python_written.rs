//! A file written by gguf-py's `GGUFWriter` (tests/fixtures/tiny.gguf, made by
//! scripts/make_gguf_fixtures.py) reads back as gguf-py says: metadata of every value type
//! in file order, a custom alignment, tensor infos, and dequantised values of every
//! supported type, bit for bit.

use std::path::PathBuf;

use gguf::{Array, GgmlType, GgufFile, Value, ValueType};
use serde_json::{Value as Json, json};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected() -> Json {
    let text = std::fs::read_to_string(fixtures().join("tiny.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn array_to_json(a: &Array) -> Json {
    match a {
        Array::U8(v) => json!(v),
        Array::I8(v) => json!(v),
        Array::U16(v) => json!(v),
        Array::I16(v) => json!(v),
        Array::U32(v) => json!(v),
        Array::I32(v) => json!(v),
        Array::F32(v) => Json::Array(v.iter().map(|&x| json!(f64::from(x))).collect()),
        Array::Bool(v) => json!(v),
        Array::String(v) => json!(v),
        Array::Array(v) => Json::Array(v.iter().map(array_to_json).collect()),
        Array::U64(v) => json!(v),
        Array::I64(v) => json!(v),
        Array::F64(v) => json!(v),
    }
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::U8(x) => json!(x),
        Value::I8(x) => json!(x),
        Value::U16(x) => json!(x),
        Value::I16(x) => json!(x),
        Value::U32(x) => json!(x),
        Value::I32(x) => json!(x),
        Value::F32(x) => json!(f64::from(*x)),
        Value::Bool(x) => json!(x),
        Value::String(x) => json!(x),
        Value::Array(a) => array_to_json(a),
        Value::U64(x) => json!(x),
        Value::I64(x) => json!(x),
        Value::F64(x) => json!(x),
    }
}

fn open() -> GgufFile {
    GgufFile::open(fixtures().join("tiny.gguf")).unwrap()
}

#[test]
fn header_and_layout_match_gguf_py() {
    let file = open();
    let exp = expected();
    assert_eq!(u64::from(file.version()), exp["version"].as_u64().unwrap());
    assert_eq!(file.alignment(), exp["alignment"].as_u64().unwrap());
    assert_eq!(file.data_offset(), exp["data_offset"].as_u64().unwrap());
    assert_eq!(file.len() as u64, exp["file_len"].as_u64().unwrap());
    assert_eq!(file.data_offset() % file.alignment(), 0);
}

#[test]
fn metadata_of_every_type_matches_in_file_order() {
    let file = open();
    let exp = expected();
    let exp_meta = exp["metadata"].as_array().unwrap();
    let got: Vec<(&str, &Value)> = file.metadata().iter().collect();
    assert_eq!(got.len(), exp_meta.len());
    for ((key, value), e) in got.iter().zip(exp_meta) {
        assert_eq!(*key, e["key"].as_str().unwrap());
        assert_eq!(
            value.value_type().name(),
            e["type"].as_str().unwrap(),
            "{key}"
        );
        if let Some(elem) = e.get("element_type") {
            let array = value.as_array().unwrap();
            assert_eq!(array.element_type().name(), elem.as_str().unwrap(), "{key}");
        }
        assert_eq!(to_json(value), e["value"], "{key}");
    }
    // Every value type appears, so every branch of the value parser ran.
    for id in 0..=12 {
        let ty = ValueType::from_id(id).unwrap();
        assert!(got.iter().any(|(_, v)| v.value_type() == ty), "{ty}");
    }
    // The nested array's inner arrays are i32 (gguf-py's type for Python ints).
    let Some(Array::Array(inner)) = file.get("t.arr.nested").and_then(Value::as_array) else {
        panic!("t.arr.nested is not an array of arrays");
    };
    assert!(inner.iter().all(|a| a.element_type() == ValueType::I32));
}

#[test]
fn typed_getters_read_and_name_wrong_types() {
    let file = open();
    assert_eq!(file.get_str("general.architecture").unwrap(), "tiny");
    assert_eq!(file.get_uint("t.u8").unwrap(), 200);
    assert_eq!(file.get_uint("t.u64").unwrap(), u64::MAX);
    assert_eq!(file.get_float("t.f64").unwrap(), -12345.678901234567);
    assert!(file.get_bool("t.bool.true").unwrap());
    assert_eq!(file.get_str("t.string.empty").unwrap(), "");
    assert_eq!(
        file.get_str_array("t.arr.string").unwrap(),
        ["<bos>", "", "▁▁", "é", "\n"]
    );
    assert_eq!(
        file.get_i32_array("t.arr.i32").unwrap(),
        [1, -2, 3, i32::MAX]
    );
    assert_eq!(
        file.get_f32_array("t.arr.f32").unwrap(),
        [-1000.0, 0.5, 1e-7]
    );

    let err = file.get_uint("t.i8").unwrap_err().to_string();
    assert!(
        err.contains("\"t.i8\"") && err.contains("non-negative integer") && err.contains("got i8"),
        "{err}"
    );
    let err = file.get_str_array("t.arr.i32").unwrap_err().to_string();
    assert!(
        err.contains("expected array of string, got array of 4 i32"),
        "{err}"
    );
    let err = file.get_str("no.such.key").unwrap_err().to_string();
    assert!(
        err.contains("tiny.gguf") && err.contains("\"no.such.key\" is missing"),
        "{err}"
    );
}

#[test]
fn tensors_match_infos_and_values_bit_for_bit() {
    let file = open();
    let exp = expected();
    let exp_tensors = exp["tensors"].as_array().unwrap();
    assert_eq!(file.tensors().len(), exp_tensors.len());
    for (info, e) in file.tensors().iter().zip(exp_tensors) {
        let name = e["name"].as_str().unwrap();
        assert_eq!(info.name(), name);
        assert_eq!(
            info.ggml_type().name(),
            e["type"].as_str().unwrap(),
            "{name}"
        );
        let dims: Vec<u64> = e["dims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        assert_eq!(info.dims(), dims, "{name}");
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(
            info.shape(),
            shape,
            "{name}: row-major shape is the dims reversed"
        );
        assert_eq!(info.offset(), e["offset"].as_u64().unwrap(), "{name}");
        assert_eq!(
            info.n_bytes() as u64,
            e["n_bytes"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(file.tensor_bytes(name).unwrap().len(), info.n_bytes());

        let t = file.tensor_f32(name).unwrap();
        assert_eq!(t.shape, shape);
        let want: Vec<f32> = e["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(t.data.len(), want.len(), "{name}");
        for (i, (g, w)) in t.data.iter().zip(&want).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{name}[{i}]: {g} vs {w}");
        }
    }
    // Every dequantisable type is in the file.
    for &t in GgmlType::ALL.iter().filter(|t| t.can_dequantize()) {
        assert!(file.tensors().iter().any(|i| i.ggml_type() == t), "{t}");
    }
}

#[test]
fn unknown_tensor_is_an_error_naming_it() {
    let err = open().tensor_f32("nope.weight").unwrap_err().to_string();
    assert!(err.contains("no tensor named \"nope.weight\""), "{err}");
}

#[test]
fn from_bytes_reads_the_same_file() {
    let bytes = std::fs::read(fixtures().join("tiny.gguf")).unwrap();
    let a = GgufFile::from_bytes(bytes).unwrap();
    let b = open();
    assert_eq!(a.metadata(), b.metadata());
    assert_eq!(a.tensors(), b.tensors());
    assert_eq!(a.path().to_str(), Some("<in-memory>"));
}
