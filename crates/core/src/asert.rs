//! aserti3-2d difficulty adjustment (Bitcoin Cash, November 2020), as PROTOCOL.md §3 anchors
//! it: anchor height 1, anchor target = the genesis target, anchor parent time = block 1's
//! time − target_spacing.
//!
//! The formula is computed exactly: the time arithmetic in i128 (times are u64 and may be
//! hostile), the target multiplication in 512 bits, since easy chains have targets above 2^224
//! and the factor can reach 2^17 and the shift is unbounded.

use ruint::aliases::{U256, U512};

/// The inputs of one aserti3-2d step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsertAnchor {
    /// Target of the anchor block.
    pub target: U256,
    /// Time of the anchor block's parent.
    pub parent_time: i128,
    /// Height of the anchor block.
    pub height: i128,
}

/// The target required of the child of a block at `parent_height` with `parent_time`.
pub fn next_target(
    anchor: &AsertAnchor,
    pow_limit: &U256,
    parent_height: u64,
    parent_time: u64,
    target_spacing: u64,
    half_life: u64,
) -> U256 {
    let time_delta = i128::from(parent_time) - anchor.parent_time;
    let height_delta = i128::from(parent_height) - anchor.height;
    let spacing = i128::from(target_spacing);
    // half_life >= 1 is checked when parameters load; max(1) keeps this total anyway.
    let half_life = i128::from(half_life.max(1));

    // Fixed point with 16 fractional bits; `/` truncates toward zero as the spec says.
    let exponent = ((time_delta - spacing * (height_delta + 1)) * 65536) / half_life;
    let shifts = exponent >> 16; // arithmetic shift: floor
    let frac = (exponent & 0xffff) as u128;
    // 2^x for x in [0,1) as a cubic, the published constants.
    let factor = 65536
        + ((195_766_423_245_049u128 * frac
            + 971_821_376u128 * frac * frac
            + 5127u128 * frac * frac * frac
            + (1u128 << 47))
            >> 48);

    let mut next = U512::from(anchor.target) * U512::from(factor);
    let limit = U512::from(*pow_limit);
    if shifts < 0 {
        let right = (-shifts) as u128;
        next = if right >= 512 {
            U512::ZERO
        } else {
            next >> right as usize
        };
    } else {
        let left = shifts as u128;
        // Anything shifted past 512 bits is far above every pow_limit.
        if left >= 512 || next.bit_len() as u128 + left > 512 {
            return *pow_limit;
        }
        next <<= left as usize;
    }
    next >>= 16;
    if next.is_zero() {
        return U256::from(1u8);
    }
    if next > limit {
        return *pow_limit;
    }
    U256::from(next)
}
