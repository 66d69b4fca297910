//! What validation needs from outside: the parent's context and the unspent outputs.

use crate::hash::BlockHash;
use crate::transaction::{OutPoint, TxOut};

/// An unspent output with what the maturity rule needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Coin {
    /// The output.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u64,
    /// Created by a coinbase.
    pub is_coinbase: bool,
}

/// Unspent outputs of the chain so far (the parent's state).
pub trait UtxoView {
    /// The unspent output at `outpoint`, if there is one.
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin>;
}

/// What the header rules need to know about a parent block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentInfo {
    /// Its height.
    pub height: u64,
    /// Its time.
    pub time: u64,
    /// Times of the parent and its ancestors, newest first, at least `min(11, height + 1)`
    /// of them (more are ignored).
    pub recent_times: Vec<u64>,
    /// Time of the block at height 1 on the parent's branch (the ASERT anchor); unused when
    /// the parent is genesis.
    pub block1_time: u64,
}

/// A parent as the header rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParentState {
    /// Known and not known to be invalid.
    Valid(ParentInfo),
    /// Known to be invalid, or a descendant of an invalid block.
    Invalid,
}

/// Looks up parents by hash: the block index of the chain crate.
pub trait ParentContext {
    /// The state of block `hash`, `None` when it is unknown.
    fn parent(&self, hash: &BlockHash) -> Option<ParentState>;
}

impl<T: UtxoView + ?Sized> UtxoView for &T {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        (**self).coin(outpoint)
    }
}

impl UtxoView for std::collections::HashMap<OutPoint, Coin> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        self.get(outpoint).copied()
    }
}
