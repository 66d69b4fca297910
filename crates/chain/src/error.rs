//! Errors of the chain crate. Storage problems name the file and the way out; consensus
//! failures carry the protocol's reject reason.

use std::path::PathBuf;

use coinrs_core::RejectReason;
use thiserror::Error;

/// What went wrong in the chain state.
#[derive(Debug, Error)]
pub enum ChainError {
    /// The store cannot be read as a coinrs store: damaged bytes, a truncated file.
    #[error(
        "the store {path} is damaged ({detail}); restart with --reindex to rebuild the chain state from the stored blocks{hint}"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
        /// More advice for this file (e.g. for the block file itself).
        hint: &'static str,
    },
    /// The store belongs to another chain.
    #[error(
        "the store {path} belongs to another chain (parameter digest {found}, this chain's is {expected}); use the right --chain or --datadir"
    )]
    ForeignChain {
        /// The file.
        path: PathBuf,
        /// This chain's digest (hex).
        expected: String,
        /// The stored digest (hex).
        found: String,
    },
    /// The store was written by a newer coinrs.
    #[error(
        "the store {path} has schema version {found}, newer than this coinrs supports ({supported}); run a newer coinrs or move the folder away"
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The stored version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The disk is full: nothing was changed by the operation that hit it.
    #[error("the disk holding {path} is full: {detail}; free some space and start again")]
    DiskFull {
        /// The file.
        path: PathBuf,
        /// The error reported.
        detail: String,
    },
    /// Another storage failure.
    #[error("storage error on {path}: {detail}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// The error reported.
        detail: String,
    },
    /// The block or header breaks a consensus rule.
    #[error("{0}")]
    Rejected(RejectReason),
    /// A block hash that the index does not hold.
    #[error("block {0} not found")]
    UnknownBlock(String),
    /// Content by CID needs the index of inner merkle nodes, which this chain state does not
    /// keep.
    #[error(
        "the chain state keeps no index of inner merkle nodes, so it cannot tell whether it holds this content; restart with --merkleindex (the index is built at start, with a progress line)"
    )]
    NoMerkleIndex,
    /// The address index is wanted but the chain state was built without it.
    #[error(
        "the chain state {path} has no address index; restart once with --reindex to build it (or run with --addressindex=false)"
    )]
    NoAddressIndex {
        /// The chain-state file.
        path: PathBuf,
    },
    /// An address query on a chain state without the address index.
    #[error("the address index is off (--addressindex=false)")]
    AddressIndexOff,
    /// The operation would touch the genesis block.
    #[error("the genesis block cannot be invalidated")]
    Genesis,
}

/// Shorthand.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;
