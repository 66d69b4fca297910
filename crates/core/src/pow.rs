//! Compact targets, proof of work and chain work (PROTOCOL.md §3).
//!
//! Targets are 256-bit integers (`ruint`). `bits` decodes exactly as Bitcoin Core's
//! `SetCompact` but refuses what Core flags (negative, overflow) and a zero target, since a
//! header carrying such bits can never be valid here.

use ruint::aliases::U256;

use crate::error::BitsError;
use crate::hash::Hash;

/// Decodes compact `bits` into a target: `m * 256^(e-3)` with `e = bits >> 24` and
/// `m = bits & 0x007fffff`, exactly (a target that needs more than 256 bits is an error, not a
/// wrap). Zero and negative targets are errors.
pub fn bits_to_target(bits: u32) -> Result<U256, BitsError> {
    let exponent = bits >> 24;
    let mut mantissa = bits & 0x007f_ffff;
    let target = if exponent <= 3 {
        mantissa >>= 8 * (3 - exponent);
        U256::from(mantissa)
    } else {
        let shift = 8 * (exponent as usize - 3);
        let m = U256::from(mantissa);
        // The shifted value must fit: compare bit lengths instead of relying on a wrap.
        if mantissa != 0 && m.bit_len() + shift > 256 {
            return Err(BitsError::Overflow { bits });
        }
        m << shift
    };
    if mantissa != 0 && bits & 0x0080_0000 != 0 {
        return Err(BitsError::Negative { bits });
    }
    if target.is_zero() {
        return Err(BitsError::Zero { bits });
    }
    Ok(target)
}

/// Encodes a target in Bitcoin Core's canonical compact form (`GetCompact`): the mantissa
/// truncated to its top three bytes, kept below the sign bit.
pub fn target_to_bits(target: U256) -> u32 {
    let mut size = target.bit_len().div_ceil(8) as u32;
    let mut compact: u32 = if size <= 3 {
        (target.to::<u64>() << (8 * (3 - size))) as u32
    } else {
        (target >> (8 * (size as usize - 3))).to::<u64>() as u32
    };
    if compact & 0x0080_0000 != 0 {
        compact >>= 8;
        size += 1;
    }
    compact | (size << 24)
}

/// The hash read as a 256-bit big-endian integer.
pub fn hash_to_u256(hash: &Hash) -> U256 {
    U256::from_be_bytes(*hash)
}

/// A header meets its target when its hash, big-endian, is `<= target`.
pub fn hash_meets_target(hash: &Hash, target: &U256) -> bool {
    hash_to_u256(hash) <= *target
}

/// The target as 32 big-endian bytes (as the miner compares).
pub fn target_to_be_bytes(target: &U256) -> [u8; 32] {
    target.to_be_bytes()
}

/// `work = floor(2^256 / (target + 1))`, computed as `!target / (target + 1) + 1`, which is
/// the same number without a 257-bit intermediate.
pub fn work(target: &U256) -> U256 {
    if *target == U256::MAX {
        return U256::from(1u8);
    }
    (!*target / (*target + U256::from(1u8))) + U256::from(1u8)
}

/// Bitcoin's difficulty: the reference target of bits `0x1d00ffff` divided by this target, as
/// a float (for display only).
pub fn difficulty(target: &U256) -> f64 {
    let reference = U256::from(0xffffu64) << 208;
    u256_to_f64(&reference) / u256_to_f64(target)
}

fn u256_to_f64(v: &U256) -> f64 {
    v.as_limbs().iter().rev().fold(0.0, |acc, &limb| {
        acc * 18_446_744_073_709_551_616.0 + limb as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_regtest_and_bitcoin_bits() {
        let t = bits_to_target(0x207f_ffff).unwrap();
        assert_eq!(t, U256::from(0x7f_ffffu64) << 232);
        let t = bits_to_target(0x1d00_ffff).unwrap();
        assert_eq!(t, U256::from(0xffffu64) << 208);
        assert_eq!(bits_to_target(0x0112_3456).unwrap(), U256::from(0x12u8));
        assert_eq!(bits_to_target(0x0212_3456).unwrap(), U256::from(0x1234u16));
    }

    #[test]
    fn refuses_negative_zero_and_overflowing_bits() {
        assert_eq!(
            bits_to_target(0x0480_0001),
            Err(BitsError::Negative { bits: 0x0480_0001 })
        );
        assert_eq!(
            bits_to_target(0x2000_0000),
            Err(BitsError::Zero { bits: 0x2000_0000 })
        );
        assert_eq!(
            bits_to_target(0x0100_00ff),
            Err(BitsError::Zero { bits: 0x0100_00ff })
        );
        assert_eq!(
            bits_to_target(0x2101_0000),
            Err(BitsError::Overflow { bits: 0x2101_0000 })
        );
        assert_eq!(
            bits_to_target(0xff12_3456),
            Err(BitsError::Overflow { bits: 0xff12_3456 })
        );
        // Exactly 256 bits still fits.
        assert_eq!(
            bits_to_target(0x2100_ffff).unwrap(),
            U256::from(0xffffu64) << 240
        );
    }

    #[test]
    fn compact_round_trips_canonical_bits() {
        for bits in [
            0x207f_ffffu32,
            0x1d00_ffff,
            0x1b04_864c,
            0x0300_8000,
            0x0412_3456,
        ] {
            assert_eq!(target_to_bits(bits_to_target(bits).unwrap()), bits);
        }
        // Non-canonical input encodes back canonically.
        assert_eq!(
            target_to_bits(bits_to_target(0x0400_0080).unwrap()),
            0x0300_8000
        );
        assert_eq!(
            target_to_bits(bits_to_target(0x0400_8000).unwrap()),
            0x0400_8000
        );
    }

    #[test]
    fn work_is_two_to_the_256_over_target_plus_one() {
        assert_eq!(work(&U256::MAX), U256::from(1u8));
        // target 2^255 - 1 → work 2.
        assert_eq!(
            work(&((U256::from(1u8) << 255) - U256::from(1u8))),
            U256::from(2u8)
        );
        let t = bits_to_target(0x1d00_ffff).unwrap();
        assert_eq!(work(&t), U256::from(0x1_0001_0001u64));
    }

    #[test]
    fn regtest_difficulty_is_as_in_core() {
        let d = difficulty(&bits_to_target(0x207f_ffff).unwrap());
        assert!((d - 4.656542373906925e-10).abs() < 1e-20, "{d}");
    }
}
