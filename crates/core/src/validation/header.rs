//! The header rules (PROTOCOL.md §4, header table), checked in the table's order.

use ruint::aliases::U256;

use super::context::{ParentContext, ParentState};
use super::reject::RejectReason;
use crate::block::BlockHeader;
use crate::hash::BlockHash;
use crate::params::ChainParams;
use crate::pow::{bits_to_target, hash_meets_target, work};

/// A header that passed every header rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderChecked {
    /// Its hash.
    pub hash: BlockHash,
    /// The target of its bits.
    pub target: U256,
    /// `work` of its target, to add to the parent's chainwork.
    pub work: U256,
}

/// The median time past for a block at `height`: sort the times of the previous
/// `n = min(11, height)` blocks (`recent_times`, newest first) and take index `n / 2`.
/// `None` for genesis, which has no previous blocks.
pub fn median_time_past(height: u64, recent_times: &[u64]) -> Option<u64> {
    let n = (height.min(11) as usize).min(recent_times.len());
    if n == 0 {
        return None;
    }
    let mut times = recent_times[..n].to_vec();
    times.sort_unstable();
    Some(times[n / 2])
}

/// Checks a header against its parent and the node's clock `now` (Unix seconds).
pub fn check_header(
    header: &BlockHeader,
    params: &ChainParams,
    parents: &impl ParentContext,
    now: u64,
) -> Result<HeaderChecked, RejectReason> {
    if header.version != 1 {
        return Err(RejectReason::BadVersion);
    }
    let hash = header.hash();
    let target = match bits_to_target(header.bits) {
        Ok(t) if t <= params.pow_limit() => t,
        _ => return Err(RejectReason::HighHash),
    };
    if !hash_meets_target(&hash.0, &target) {
        return Err(RejectReason::HighHash);
    }
    let parent = match parents.parent(&header.prev_hash) {
        None => return Err(RejectReason::PrevBlkNotFound),
        Some(ParentState::Invalid) => return Err(RejectReason::BadPrevblk),
        Some(ParentState::Valid(p)) => p,
    };
    if parent.height.checked_add(1) != Some(header.height) {
        return Err(RejectReason::BadHeight);
    }
    if header.bits != params.required_bits(parent.height, parent.time, parent.block1_time) {
        return Err(RejectReason::BadDiffbits);
    }
    if let Some(mtp) = median_time_past(header.height, &parent.recent_times)
        && header.time <= mtp
    {
        return Err(RejectReason::TimeTooOld);
    }
    if header.time > now.saturating_add(params.max_future_drift) {
        return Err(RejectReason::TimeTooNew);
    }
    Ok(HeaderChecked {
        hash,
        target,
        work: work(&target),
    })
}
