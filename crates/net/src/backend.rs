//! What the network needs from the rest of the node: the chain and the mempool, behind a
//! trait so that this crate never locks a chain or a mempool itself (the node implements it
//! over its shared state). Every method is synchronous and may block on storage: the event
//! loop calls them from blocking threads, never from the async task.

use coinrs_core::block::BlockHeader;
use coinrs_core::{BlockHash, Txid};

use crate::protocol::Status;

/// What happened to a block handed in by a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockVerdict {
    /// Stored and valid as far as checked; `tip_changed` when the active chain moved.
    Accepted {
        /// The block's hash.
        hash: BlockHash,
        /// The active tip changed.
        tip_changed: bool,
    },
    /// Already known (stored or known invalid is reported as `Invalid`).
    Known(BlockHash),
    /// Its parent is unknown: ask the peer for headers (not a fault).
    Orphan(BlockHash),
    /// Breaks a consensus rule: the sender misbehaved unless `honest` (a rule that can fail
    /// for a block relayed in good faith, such as a stale time or a branch we invalidated).
    Invalid {
        /// The reject reason.
        reason: String,
        /// Whether an honest peer could have sent it.
        honest: bool,
    },
    /// Our own storage failed: nobody's fault, stop using the block.
    Failed(String),
}

/// What happened to a batch of headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadersVerdict {
    /// All accepted (or already known); the last one's hash and how many were new.
    Accepted {
        /// Hash of the last header.
        last: BlockHash,
        /// Headers that were not known before.
        new: usize,
    },
    /// The first header's parent is unknown (a race with a reorganisation, not a fault).
    Unconnected,
    /// A header breaks a rule or the headers do not link: the sender misbehaved.
    Invalid(String),
    /// A header was refused for a reason an honest peer can meet (a clock ahead of ours, a
    /// branch we invalidated by hand).
    Refused(String),
    /// Our own storage failed.
    Failed(String),
}

/// What happened to a transaction handed in by a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxVerdict {
    /// Now in the mempool: relay it.
    Accepted(Txid),
    /// Already in the mempool or confirmed.
    Known(Txid),
    /// Refused by policy or state (missing inputs, conflict, fee): not a fault.
    Refused(String),
    /// Undecodable or breaking a rule no honest node relays: the sender misbehaved.
    Invalid(String),
}

/// The node as the network sees it.
pub trait Backend: Send + Sync + 'static {
    /// The node's status (tip, chainwork, best header).
    fn status(&self) -> Status;
    /// A block locator from the best header: dense for the last ten, then doubling steps,
    /// ending with genesis.
    fn locator(&self) -> Vec<BlockHash>;
    /// Headers of the active chain after the first locator hash found on it, at most `max`,
    /// ending at `stop` if met.
    fn headers_after(
        &self,
        locator: &[BlockHash],
        stop: &BlockHash,
        max: usize,
    ) -> Vec<BlockHeader>;
    /// An encoded stored block.
    fn block_bytes(&self, hash: &BlockHash) -> Option<Vec<u8>>;
    /// Whether a full block is stored (or known invalid: no need to fetch it).
    fn has_block(&self, hash: &BlockHash) -> bool;
    /// Whether a header is in the index (valid or not).
    fn has_header(&self, hash: &BlockHash) -> bool;
    /// Checks and indexes headers, in order.
    fn accept_headers(&self, headers: &[BlockHeader]) -> HeadersVerdict;
    /// Checks, stores and (if it makes the best chain) connects a block.
    fn accept_block(&self, bytes: &[u8]) -> BlockVerdict;
    /// Blocks to download: those on the best header chain without data, from the fork with
    /// the active chain upwards, at most `max`, with their heights.
    fn missing_blocks(&self, max: usize) -> Vec<(BlockHash, u64)>;
    /// Checks a transaction and adds it to the mempool.
    fn accept_tx(&self, bytes: &[u8]) -> TxVerdict;
    /// Txids in the mempool (at most `max`).
    fn mempool_txids(&self, max: usize) -> Vec<Txid>;
    /// Whether a transaction is in the mempool.
    fn has_tx(&self, txid: &Txid) -> bool;
    /// An encoded mempool transaction.
    fn tx_bytes(&self, txid: &Txid) -> Option<Vec<u8>>;
    /// The content behind a CID of the chain's form (digest = SHA-256 of the content): a
    /// header, a transaction of the active chain or an inner merkle node, checked against the
    /// digest; `None` when the store holds none (Bitswap answers don't-have).
    fn content(&self, digest: &coinrs_core::Hash) -> Option<Vec<u8>>;
    /// Hashes of the newest `max` blocks of the active chain, oldest first.
    fn recent_block_hashes(&self, max: usize) -> Vec<BlockHash>;
}
