#!/usr/bin/env python3
"""Reference fixtures for the `gguf` crate, made with gguf-py (the `gguf` PyPI package, the
reader/writer maintained in llama.cpp).

Writes, under crates/gguf/tests/fixtures/:

- dequant.json: per GGML type (F32, F16, BF16, Q8_0, Q5_0, Q4_K, Q6_K), blocks as hex
  with gguf.quants.dequantize's f32 output. Blocks are random bytes (with the f16 scale
  fields set to finite values, including a subnormal and a large one), and, for the types
  gguf-py can quantise (Q8_0, Q5_0, BF16, F16), random normal data quantised with
  gguf.quants.quantize.
- types.json: every GGML type's id, block size and block byte size (GGML_QUANT_SIZES).
- tiny.gguf + tiny.json: a small file written by gguf.GGUFWriter with metadata of every
  value type (arrays included, a nested one too), a custom alignment (64), and tensors of
  each type above with 1, 2 and 3 dimensions; tiny.json holds what the Rust reader must
  find: metadata in file order with types, tensor infos, and dequantised values.
- gemma3_reference.json (only when the Gemma 3 GGUF is present, see
  scripts/fetch-gemma3.sh): for one tensor of each type in that file, its GGUF dims, type,
  offset, a few dequantised values and sums, and the tokenizer metadata's sizes — checked
  by the opt-in test crates/gguf/tests/gemma3_file.rs. No raw weight bytes are stored.

Usage:  .venv-torch/bin/pip install gguf==0.19.0   (numpy comes with it)
        .venv-torch/bin/python scripts/make_gguf_fixtures.py
Deterministic: a fixed seed; re-running rewrites identical files.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V
from gguf.constants import GGML_QUANT_SIZES

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "gguf" / "tests" / "fixtures"
GEMMA = Path(os.environ.get("RLHF_GEMMA_GGUF", ROOT / ".cache" / "gemma3" / "gemma-3-270m-q4_k_m.gguf"))

rng = np.random.default_rng(20240607)

# Byte offsets of the f16 scale fields inside one block, per type.
SCALE_FIELDS = {T.Q8_0: [0], T.Q5_0: [0], T.Q4_K: [0, 2], T.Q6_K: [208]}


def f16_bytes(x):
    return np.array([x], dtype=np.float16).view(np.uint8)


def random_blocks(qtype, n, scales):
    """n blocks of random bytes whose f16 scale fields hold `scales` (one per block)."""
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n, type_size), dtype=np.uint8)
    for i, s in enumerate(scales):
        for k, off in enumerate(SCALE_FIELDS[qtype]):
            # Second field (Q4_K dmin): a different, smaller value.
            blocks[i, off : off + 2] = f16_bytes(s if k == 0 else s * 0.37)
    return blocks


def floats(a):
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    assert np.all(np.isfinite(a)), "fixtures must be finite"
    return [float(x) for x in a]


def case(name, qtype, raw):
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    expected = gguf.quants.dequantize(raw, qtype)
    return {"name": name, "hex": raw.tobytes().hex(), "expected": floats(expected)}


def dequant_fixtures():
    types = {}
    # Plain types.
    x = rng.standard_normal(64).astype(np.float32) * 3
    x[:4] = [0.0, -0.0, 1e-30, 65504.0]
    types["F32"] = [case("random normal", T.F32, x.view(np.uint8))]
    h = gguf.quants.quantize(x, T.F16)
    types["F16"] = [
        case("random normal", T.F16, h.view(np.uint8)),
        # Subnormals, max, signed zero.
        case("special", T.F16, np.array([0x0001, 0x03FF, 0x7BFF, 0xFBFF, 0x8000, 0x3C00], dtype=np.uint16).view(np.uint8)),
    ]
    types["BF16"] = [
        case("random normal", T.BF16, gguf.quants.quantize(x, T.BF16)),
        case("special", T.BF16, np.array([0x0001, 0x7F7F, 0xFF7F, 0x8000, 0x3F80], dtype=np.uint16).view(np.uint8)),
    ]
    # Quantised types: random bytes with chosen scales: ordinary, subnormal f16, large.
    scales = [0.0123, -0.5, 6.0e-8, 300.0]
    for qtype in (T.Q8_0, T.Q5_0, T.Q4_K, T.Q6_K):
        cases = [case("random bytes", qtype, random_blocks(qtype, len(scales), scales))]
        block, _ = GGML_QUANT_SIZES[qtype]
        try:
            data = (rng.standard_normal(2 * block) * 0.05).astype(np.float32).reshape(2, block)
            data[1, :] *= 40
            cases.append(case("quantize(random normal)", qtype, gguf.quants.quantize(data, qtype)))
        except NotImplementedError:
            pass  # gguf-py has no quantiser for Q4_K / Q6_K; random bytes cover them.
        types[qtype.name] = cases
    return {
        "generator": f"gguf-py {gguf_version()} gguf.quants.dequantize",
        "types": {name: {"id": int(T[name]), "cases": cases} for name, cases in types.items()},
    }


def gguf_version():
    from importlib.metadata import version

    return version("gguf")


def types_fixture():
    return {
        "generator": f"gguf-py {gguf_version()} GGML_QUANT_SIZES",
        "types": [
            {"name": t.name, "id": int(t), "block_size": GGML_QUANT_SIZES[t][0], "type_size": GGML_QUANT_SIZES[t][1]}
            for t in T
        ],
    }


# (key, value type, element type or None, value); written in this order after
# general.architecture (which GGUFWriter writes first) and general.alignment.
METADATA = [
    ("t.u8", V.UINT8, None, 200),
    ("t.i8", V.INT8, None, -100),
    ("t.u16", V.UINT16, None, 60000),
    ("t.i16", V.INT16, None, -30000),
    ("t.u32", V.UINT32, None, 4_000_000_000),
    ("t.i32", V.INT32, None, -2_000_000_000),
    ("t.f32", V.FLOAT32, None, float(np.float32(0.1))),
    ("t.bool.true", V.BOOL, None, True),
    ("t.bool.false", V.BOOL, None, False),
    ("t.string", V.STRING, None, "héllo ▁wörld 🙂\n\ttab"),
    ("t.string.empty", V.STRING, None, ""),
    ("t.u64", V.UINT64, None, 2**64 - 1),
    ("t.i64", V.INT64, None, -(2**63)),
    ("t.f64", V.FLOAT64, None, -12345.678901234567),
    ("t.arr.u8", V.ARRAY, V.UINT8, [0, 1, 255]),
    ("t.arr.i16", V.ARRAY, V.INT16, [-1, 2, -32768]),
    ("t.arr.i32", V.ARRAY, V.INT32, [1, -2, 3, 2**31 - 1]),
    ("t.arr.u64", V.ARRAY, V.UINT64, [0, 2**64 - 1]),
    ("t.arr.f32", V.ARRAY, V.FLOAT32, [float(np.float32(v)) for v in (-1000.0, 0.5, 1e-7)]),
    ("t.arr.f64", V.ARRAY, V.FLOAT64, [1.0, -0.1]),
    ("t.arr.bool", V.ARRAY, V.BOOL, [True, False, True]),
    ("t.arr.string", V.ARRAY, V.STRING, ["<bos>", "", "▁▁", "é", "\n"]),
    ("t.arr.nested", V.ARRAY, V.ARRAY, [[1, 2], [3], [4, 5, 6]]),
]
ALIGNMENT = 64


def tiny_tensors():
    """(name, qtype, raw bytes with the logical shape's leading dims, logical row-major shape)."""
    out = []
    out.append(("vec.f32", T.F32, rng.standard_normal(5).astype(np.float32), (5,)))
    out.append(("mat.f32", T.F32, rng.standard_normal((3, 4)).astype(np.float32), (3, 4)))
    out.append(("mat.f16", T.F16, rng.standard_normal((2, 8)).astype(np.float16), (2, 8)))
    bf = gguf.quants.quantize(rng.standard_normal((2, 8)).astype(np.float32), T.BF16)
    out.append(("mat.bf16", T.BF16, bf, (2, 8)))
    q8 = gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), T.Q8_0)
    out.append(("mat.q8_0", T.Q8_0, q8, (2, 64)))
    q5 = gguf.quants.quantize(rng.standard_normal((3, 32)).astype(np.float32), T.Q5_0)
    out.append(("mat.q5_0", T.Q5_0, q5, (3, 32)))
    q4k = random_blocks(T.Q4_K, 2, [0.01, 0.02]).reshape(2, 144)
    out.append(("mat.q4_k", T.Q4_K, q4k, (2, 256)))
    q6k = random_blocks(T.Q6_K, 4, [0.01, -0.03, 0.002, 0.5]).reshape(2, 1, 2 * 210)
    out.append(("cube.q6_k", T.Q6_K, q6k, (2, 1, 512)))
    return out


def tiny_file():
    path = OUT / "tiny.gguf"
    w = gguf.GGUFWriter(path, arch="tiny")
    w.add_custom_alignment(ALIGNMENT)
    for key, vtype, sub, value in METADATA:
        w.add_key_value(key, value, vtype, sub_type=sub)
    tensors = tiny_tensors()
    for name, qtype, raw, shape in tensors:
        if qtype in (T.F32, T.F16):
            w.add_tensor(name, raw)
        else:
            w.add_tensor(name, raw.view(np.uint8), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Read back with gguf-py's reader to get offsets and cross-check what was written.
    r = gguf.GGUFReader(path)
    assert r.alignment == ALIGNMENT, r.alignment
    expected_meta = [
        {"key": "general.architecture", "type": "string", "value": "tiny"},
        {"key": "general.alignment", "type": "u32", "value": ALIGNMENT},
    ]
    names = {
        V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
        V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string",
        V.ARRAY: "array", V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64",
    }
    for key, vtype, sub, value in METADATA:
        entry = {"key": key, "type": names[vtype], "value": value}
        if sub is not None:
            entry["element_type"] = names[sub]
            if sub != V.ARRAY:
                assert r.fields[key].contents() == value, (key, r.fields[key].contents(), value)
        else:
            assert r.fields[key].contents() == value, (key, r.fields[key].contents(), value)
        expected_meta.append(entry)
    assert [f for f in r.fields if not f.startswith("GGUF.")] == [m["key"] for m in expected_meta]

    by_name = {t.name: t for t in r.tensors}
    expected_tensors = []
    for name, qtype, raw, shape in tensors:
        t = by_name[name]
        assert t.tensor_type == qtype
        values = gguf.quants.dequantize(np.ascontiguousarray(raw).view(np.uint8).reshape(-1), qtype) \
            if qtype not in (T.F32, T.F16) else np.asarray(raw, dtype=np.float32)
        assert np.array_equal(values.reshape(-1), gguf.quants.dequantize(t.data, qtype).reshape(-1))
        expected_tensors.append({
            "name": name,
            "type": qtype.name,
            "dims": [int(d) for d in t.shape],  # gguf-py lists GGUF dims, fastest first
            "shape": list(shape),
            "offset": int(t.data_offset - r.data_offset),
            "n_bytes": int(t.n_bytes),
            "values": floats(values),
        })
    return {
        "generator": f"gguf-py {gguf_version()} GGUFWriter / GGUFReader",
        "file": "tiny.gguf",
        "version": 3,
        "alignment": ALIGNMENT,
        "data_offset": int(r.data_offset),
        "file_len": path.stat().st_size,
        "metadata": expected_meta,
        "tensors": expected_tensors,
    }


def gemma_reference():
    r = gguf.GGUFReader(GEMMA)
    picked = {}
    for t in r.tensors:
        picked.setdefault(t.tensor_type.name, t)
    tensors = []
    for type_name, t in sorted(picked.items()):
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        n = values.size
        idx = sorted(set([0, 1, 2, 3, 31, 32, 255, 256, 257, n // 3, n // 2, n - 257, n - 2, n - 1]))
        tensors.append({
            "name": t.name,
            "type": type_name,
            "dims": [int(d) for d in t.shape],
            "offset": int(t.data_offset - r.data_offset),
            "n_bytes": int(t.n_bytes),
            "samples": [[i, float(values[i])] for i in idx],
            "sum": float(values.astype(np.float64).sum()),
            "sum_sq": float((values.astype(np.float64) ** 2).sum()),
        })
    f = r.fields
    return {
        "generator": f"gguf-py {gguf_version()} GGUFReader + gguf.quants.dequantize",
        "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        "version": int(f["GGUF.version"].parts[-1][0]),
        "tensor_count": len(r.tensors),
        "kv_count": int(f["GGUF.kv_count"].parts[-1][0]),
        "data_offset": int(r.data_offset),
        "type_counts": {k: sum(1 for t in r.tensors if t.tensor_type.name == k) for k in sorted(picked)},
        "architecture": f["general.architecture"].contents(),
        "block_count": int(f["gemma3.block_count"].contents()),
        "vocab_size": len(f["tokenizer.ggml.tokens"].data),
        "tensors": tensors,
    }


def dump(name, obj):
    (OUT / name).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT / name} ({(OUT / name).stat().st_size} bytes)")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    dump("types.json", types_fixture())
    dump("dequant.json", dequant_fixtures())
    dump("tiny.json", tiny_file())
    print(f"wrote {OUT / 'tiny.gguf'} ({(OUT / 'tiny.gguf').stat().st_size} bytes)")
    if GEMMA.is_file():
        dump("gemma3_reference.json", gemma_reference())
    else:
        print(f"skipped gemma3_reference.json: {GEMMA} not found (scripts/fetch-gemma3.sh)", file=sys.stderr)


if __name__ == "__main__":
    main()
