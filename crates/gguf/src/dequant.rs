//! Dequantisation of GGML blocks to `f32`.
//!
//! Each function mirrors the reference `dequantize_row_*` of llama.cpp's `ggml-quants.c`
//! (and gguf-py's `gguf.quants`), operation for operation in `f32`, so results are
//! bit-identical to both. Block layouts (from `ggml-common.h`, all little-endian):
//!
//! ```text
//! Q8_0  (32 values, 34 bytes):  d: f16 | qs: 32 × i8                 x = d·q
//! Q5_0  (32 values, 22 bytes):  d: f16 | qh: u32 | qs: 16 × u8       x = d·(q − 16), q = 5 bits:
//!        low nibble of qs[j] and bit j of qh for x[j]; high nibble of qs[j] and bit j+16
//!        of qh for x[j+16]
//! Q4_K  (256 values, 144 bytes): d: f16 | dmin: f16 | scales: 12 × u8 | qs: 128 × u8
//!        8 sub-blocks of 32 with 6-bit scale sc and min m:  x = (d·sc)·q − (dmin·m),
//!        q = low nibbles of qs[32c..32c+32] for sub-block 2c, high nibbles for 2c+1
//! Q6_K  (256 values, 210 bytes): ql: 128 × u8 | qh: 64 × u8 | scales: 16 × i8 | d: f16
//!        16 sub-blocks of 16 with 8-bit scale:  x = (d·scale)·(q − 32), q = 4 + 2 bits
//! ```

use half::{bf16, f16};

use crate::error::DequantError;
use crate::types::{GgmlType, QK_K};

/// Dequantises `data`, a whole number of `ggml_type` blocks, to `f32` in storage order.
///
/// # Errors
///
/// [`DequantError::Unsupported`] for a type other than F32, F16, BF16, Q8_0, Q5_0, Q4_K or
/// Q6_K; [`DequantError::PartialBlock`] if `data.len()` is not a multiple of the type's
/// block byte size.
pub fn dequantize(ggml_type: GgmlType, data: &[u8]) -> Result<Vec<f32>, DequantError> {
    let block: fn(&[u8], &mut [f32]) = match ggml_type {
        GgmlType::F32 => |b, y| y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        GgmlType::F16 => |b, y| y[0] = f16::from_le_bytes([b[0], b[1]]).to_f32(),
        GgmlType::BF16 => |b, y| y[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        GgmlType::Q8_0 => dequantize_q8_0,
        GgmlType::Q5_0 => dequantize_q5_0,
        GgmlType::Q4_K => dequantize_q4_k,
        GgmlType::Q6_K => dequantize_q6_k,
        _ => return Err(DequantError::Unsupported { ggml_type }),
    };
    let type_size = ggml_type.type_size();
    if !data.len().is_multiple_of(type_size) {
        return Err(DequantError::PartialBlock {
            ggml_type,
            len: data.len(),
            type_size,
        });
    }
    let block_size = ggml_type.block_size();
    let mut out = vec![0f32; data.len() / type_size * block_size];
    for (b, y) in data
        .chunks_exact(type_size)
        .zip(out.chunks_exact_mut(block_size))
    {
        block(b, y);
    }
    Ok(out)
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// One Q8_0 block (34 bytes) to 32 values.
fn dequantize_q8_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    for (yj, &q) in y.iter_mut().zip(&b[2..34]) {
        *yj = f32::from(q as i8) * d;
    }
}

/// One Q5_0 block (22 bytes) to 32 values.
fn dequantize_q5_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let qs = &b[6..22];
    for j in 0..16 {
        let xh_0 = (((qh >> j) << 4) & 0x10) as u8;
        let xh_1 = ((qh >> (j + 12)) & 0x10) as u8;
        let x0 = i32::from((qs[j] & 0x0F) | xh_0) - 16;
        let x1 = i32::from((qs[j] >> 4) | xh_1) - 16;
        y[j] = x0 as f32 * d;
        y[j + 16] = x1 as f32 * d;
    }
}

/// The 6-bit scale and min of sub-block `j` (0..8) of a Q4_K / Q5_K block
/// (`get_scale_min_k4` in ggml-quants.c).
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// One Q4_K block (144 bytes) to 256 values.
fn dequantize_q4_k(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let min = f16_at(b, 2);
    let scales = &b[4..16];
    let qs = &b[16..144];
    for (c, (q, y)) in qs.chunks_exact(32).zip(y.chunks_exact_mut(64)).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * c, scales);
        let (sc2, m2) = scale_min_k4(2 * c + 1, scales);
        let (d1, m1) = (d * f32::from(sc1), min * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), min * f32::from(m2));
        for l in 0..32 {
            y[l] = d1 * f32::from(q[l] & 0x0F) - m1;
            y[l + 32] = d2 * f32::from(q[l] >> 4) - m2;
        }
    }
}

/// One Q6_K block (210 bytes) to 256 values.
fn dequantize_q6_k(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, QK_K / 2 + QK_K / 4 + QK_K / 16);
    let ql_all = &b[..QK_K / 2];
    let qh_all = &b[QK_K / 2..QK_K / 2 + QK_K / 4];
    let sc_all = &b[QK_K / 2 + QK_K / 4..QK_K / 2 + QK_K / 4 + QK_K / 16];
    // Two halves of 128 values, each from 64 bytes of ql, 32 of qh and 8 scales.
    for (h, y) in y.chunks_exact_mut(128).enumerate() {
        let ql = &ql_all[64 * h..64 * h + 64];
        let qh = &qh_all[32 * h..32 * h + 32];
        let sc = &sc_all[8 * h..8 * h + 8];
        for l in 0..32 {
            let is = l / 16;
            let q1 = i32::from((ql[l] & 0x0F) | (qh[l] & 3) << 4) - 32;
            let q2 = i32::from((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
            let q3 = i32::from((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
            let q4 = i32::from((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
            let s = |k: usize| d * f32::from(sc[is + k] as i8);
            y[l] = s(0) * q1 as f32;
            y[l + 32] = s(2) * q2 as f32;
            y[l + 64] = s(4) * q3 as f32;
            y[l + 96] = s(6) * q4 as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_types_decode_little_endian() {
        let f32_bytes: Vec<u8> = [1.5f32, -2.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(dequantize(GgmlType::F32, &f32_bytes).unwrap(), [1.5, -2.25]);
        // f16 0x3C00 = 1.0, 0xC000 = -2.0; bf16 0x3F80 = 1.0, 0xC040 = -3.0.
        assert_eq!(
            dequantize(GgmlType::F16, &[0x00, 0x3C, 0x00, 0xC0]).unwrap(),
            [1.0, -2.0]
        );
        assert_eq!(
            dequantize(GgmlType::BF16, &[0x80, 0x3F, 0x40, 0xC0]).unwrap(),
            [1.0, -3.0]
        );
    }

    #[test]
    fn q8_0_by_hand() {
        // d = 0.5 (f16 0x3800), q = -128, -1, 0, 1, 127, then zeros.
        let mut block = vec![0x00, 0x38];
        block.extend([0x80u8, 0xFF, 0x00, 0x01, 0x7F]);
        block.resize(34, 0);
        let y = dequantize(GgmlType::Q8_0, &block).unwrap();
        assert_eq!(&y[..5], &[-64.0, -0.5, 0.0, 0.5, 63.5]);
        assert!(y[5..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn q5_0_by_hand() {
        // d = 1.0; qs[0] = 0x3F: low nibble 15, high nibble 3; qh bit 0 and bit 16 set.
        let mut block = vec![0x00, 0x3C];
        block.extend(0x0001_0001u32.to_le_bytes());
        block.extend([0x3Fu8]);
        block.resize(22, 0);
        let y = dequantize(GgmlType::Q5_0, &block).unwrap();
        assert_eq!(y[0], (15 + 16 - 16) as f32);
        assert_eq!(y[16], (3 + 16 - 16) as f32);
        // Other values: q = 0 → −16.
        assert_eq!(y[1], -16.0);
        assert_eq!(y[17], -16.0);
    }

    #[test]
    fn q4_k_scale_unpacking_by_hand() {
        // Sub-block 0: sc = 2, m = 1; sub-block 5: sc = 0x0A | (0b10 << 4) = 42, m = 0x03 | (0b01 << 4) = 19.
        let mut scales = [0u8; 12];
        scales[0] = 2;
        scales[4] = 1;
        scales[1] = 0b10 << 6; // high bits of sc for j = 5
        scales[5] |= 0b01 << 6; // high bits of m for j = 5
        scales[9] = 0x3A; // low nibble: sc bits of j = 5, high nibble: m bits
        assert_eq!(scale_min_k4(0, &scales), (2, 1));
        assert_eq!(scale_min_k4(5, &scales), (42, 19));
        let mut block = vec![0x00, 0x3C, 0x00, 0x38]; // d = 1, dmin = 0.5
        block.extend(scales);
        block.resize(144, 0);
        block[16] = 0x73; // q[0] low = 3 (sub-block 0), high = 7 (sub-block 1)
        let y = dequantize(GgmlType::Q4_K, &block).unwrap();
        assert_eq!(y[0], 2.0 * 3.0 - 0.5);
        // Sub-block 1 (j = 1): sc = scales[1] & 63 = 0, m = scales[5] & 63 = 0.
        assert_eq!(y[32], 0.0);
    }

    #[test]
    fn q6_k_by_hand() {
        let mut block = vec![0u8; 210];
        block[0] = 0x21; // ql[0]: low 1 (value 0), high 2 (value 64)
        block[128] = 0b11_00_10_01; // qh[0]: bits for values 0, 32, 64, 96
        block[192] = 3; // scale of values 0..16
        block[192 + 4] = (-2i8) as u8; // scale of values 64..80
        block[208..210].copy_from_slice(&[0x00, 0x38]); // d = 0.5
        let y = dequantize(GgmlType::Q6_K, &block).unwrap();
        assert_eq!(y[0], 0.5 * 3.0 * ((1 | 1 << 4) - 32) as f32);
        assert_eq!(y[64], 0.5 * -2.0 * (2 - 32) as f32); // high bits 0
    }

    #[test]
    fn partial_blocks_and_unsupported_types_are_errors() {
        assert_eq!(
            dequantize(GgmlType::Q8_0, &[0; 35]),
            Err(DequantError::PartialBlock {
                ggml_type: GgmlType::Q8_0,
                len: 35,
                type_size: 34
            })
        );
        assert_eq!(
            dequantize(GgmlType::Q2_K, &[0; 84]),
            Err(DequantError::Unsupported {
                ggml_type: GgmlType::Q2_K
            })
        );
        assert_eq!(dequantize(GgmlType::Q4_K, &[]).unwrap(), Vec::<f32>::new());
        for &t in GgmlType::ALL {
            let ok = dequantize(t, &vec![0; t.type_size()]).is_ok();
            assert_eq!(ok, t.can_dequantize(), "{t}");
        }
    }
}
