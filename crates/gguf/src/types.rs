//! GGML tensor types: ids, block sizes and block byte sizes.

use std::fmt;

/// Elements per block of the K-quants.
pub const QK_K: usize = 256;

macro_rules! ggml_types {
    ($($(#[$doc:meta])* $name:ident = $id:literal, $block:expr, $size:expr;)*) => {
        /// A GGML tensor type, as stored in a GGUF tensor info.
        ///
        /// Every type GGML defines is known, so that the byte size of any tensor can be
        /// computed and checked against the file; only some can be dequantised
        /// ([`GgmlType::can_dequantize`]).
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum GgmlType {
            $($(#[$doc])* $name = $id,)*
        }

        impl GgmlType {
            /// Every known type, in id order.
            pub const ALL: &'static [GgmlType] = &[$(GgmlType::$name,)*];

            /// The type with this id, if known.
            pub fn from_id(id: u32) -> Option<Self> {
                match id {
                    $($id => Some(Self::$name),)*
                    _ => None,
                }
            }

            /// The type's id in GGUF files.
            pub fn id(self) -> u32 {
                self as u32
            }

            /// The type's name as GGML spells it, e.g. `"Q4_K"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)*
                }
            }

            /// Elements per block (1 for plain types).
            pub fn block_size(self) -> usize {
                match self {
                    $(Self::$name => $block,)*
                }
            }

            /// Bytes per block.
            pub fn type_size(self) -> usize {
                match self {
                    $(Self::$name => $size,)*
                }
            }
        }
    };
}

// Sizes as in ggml's type traits (ggml.c) and gguf-py's GGML_QUANT_SIZES.
ggml_types! {
    /// 32-bit float.
    F32 = 0, 1, 4;
    /// 16-bit IEEE float.
    F16 = 1, 1, 2;
    /// 4-bit, one f16 scale per 32.
    Q4_0 = 2, 32, 2 + 16;
    /// 4-bit, f16 scale and min per 32.
    Q4_1 = 3, 32, 2 + 2 + 16;
    /// 5-bit, one f16 scale per 32.
    Q5_0 = 6, 32, 2 + 4 + 16;
    /// 5-bit, f16 scale and min per 32.
    Q5_1 = 7, 32, 2 + 2 + 4 + 16;
    /// 8-bit, one f16 scale per 32.
    Q8_0 = 8, 32, 2 + 32;
    /// 8-bit with f32 scale and sum per 32.
    Q8_1 = 9, 32, 4 + 4 + 32;
    /// 2-bit K-quant.
    Q2_K = 10, QK_K, 2 + 2 + QK_K / 16 + QK_K / 4;
    /// 3-bit K-quant.
    Q3_K = 11, QK_K, 2 + QK_K / 4 + QK_K / 8 + 12;
    /// 4-bit K-quant: f16 scale and min per 256, 6-bit scales and mins per 32.
    Q4_K = 12, QK_K, 2 + 2 + QK_K / 2 + 12;
    /// 5-bit K-quant.
    Q5_K = 13, QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12;
    /// 6-bit K-quant: f16 scale per 256, 8-bit scales per 16.
    Q6_K = 14, QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16;
    /// 8-bit K-quant (intermediate type).
    Q8_K = 15, QK_K, 4 + QK_K + QK_K / 8;
    /// IQ2_XXS.
    IQ2_XXS = 16, QK_K, 2 + QK_K / 4;
    /// IQ2_XS.
    IQ2_XS = 17, QK_K, 2 + QK_K / 4 + QK_K / 32;
    /// IQ3_XXS.
    IQ3_XXS = 18, QK_K, 2 + QK_K / 4 + QK_K / 8;
    /// IQ1_S.
    IQ1_S = 19, QK_K, 2 + QK_K / 8 + QK_K / 16;
    /// IQ4_NL.
    IQ4_NL = 20, 32, 2 + 16;
    /// IQ3_S.
    IQ3_S = 21, QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4;
    /// IQ2_S.
    IQ2_S = 22, QK_K, 2 + QK_K / 4 + QK_K / 16;
    /// IQ4_XS.
    IQ4_XS = 23, QK_K, 2 + 2 + QK_K / 2 + QK_K / 64;
    /// 8-bit integer.
    I8 = 24, 1, 1;
    /// 16-bit integer.
    I16 = 25, 1, 2;
    /// 32-bit integer.
    I32 = 26, 1, 4;
    /// 64-bit integer.
    I64 = 27, 1, 8;
    /// 64-bit float.
    F64 = 28, 1, 8;
    /// IQ1_M.
    IQ1_M = 29, QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32;
    /// bfloat16.
    BF16 = 30, 1, 2;
    /// Ternary TQ1_0.
    TQ1_0 = 34, QK_K, 2 + 4 * 13;
    /// Ternary TQ2_0.
    TQ2_0 = 35, QK_K, 2 + 64;
    /// MXFP4.
    MXFP4 = 39, 32, 1 + 16;
    /// NVFP4.
    NVFP4 = 40, 64, 4 + 32;
    /// Q1_0.
    Q1_0 = 41, 128, 2 + 16;
}

impl GgmlType {
    /// Whether [`crate::dequantize`] handles this type.
    pub fn can_dequantize(self) -> bool {
        matches!(
            self,
            Self::F32 | Self::F16 | Self::BF16 | Self::Q8_0 | Self::Q5_0 | Self::Q4_K | Self::Q6_K
        )
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_are_none() {
        for &t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
        }
        for id in [4, 5, 31, 32, 33, 36, 37, 38, 42, 1000, u32::MAX] {
            assert_eq!(GgmlType::from_id(id), None, "id {id}");
        }
    }

    #[test]
    fn sizes_of_the_types_this_reader_dequantises() {
        // Block layouts from ggml-common.h.
        assert_eq!(
            (GgmlType::Q8_0.block_size(), GgmlType::Q8_0.type_size()),
            (32, 34)
        );
        assert_eq!(
            (GgmlType::Q5_0.block_size(), GgmlType::Q5_0.type_size()),
            (32, 22)
        );
        assert_eq!(
            (GgmlType::Q4_K.block_size(), GgmlType::Q4_K.type_size()),
            (256, 144)
        );
        assert_eq!(
            (GgmlType::Q6_K.block_size(), GgmlType::Q6_K.type_size()),
            (256, 210)
        );
        assert_eq!(GgmlType::Q4_K.to_string(), "Q4_K");
    }
}
