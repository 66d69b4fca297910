//! # coinrs-mempool
//!
//! Unconfirmed transactions waiting for a block: accepted as if for the next block
//! (PROTOCOL.md rules through `coinrs-core`) plus policy (minimum relay fee rate, a size
//! budget with eviction of the lowest descendant fee rate, first-seen conflicts, limits on
//! chains of unconfirmed transactions), removed when a block confirms or conflicts with them,
//! and assembled into block templates by ancestor fee rate (packages, as Bitcoin Core does).
//!
//! Synchronous and deterministic: the chain's unspent outputs come in through
//! `coinrs_core::validation::UtxoView`, the clock as an argument. The node owns one
//! [`Mempool`] behind a mutex.

mod assemble;
mod error;
mod persist;
mod pool;

pub use assemble::Template;
pub use error::MempoolReject;
pub use persist::{load, save};
pub use pool::{Entry, Mempool, Policy};
