//! Why a transaction is not taken into the mempool. `Display` is the reason string clients
//! see (Bitcoin Core's where the rule is Core's).

use coinrs_core::RejectReason;
use thiserror::Error;

/// A refusal.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum MempoolReject {
    /// A consensus rule (as if for the next block).
    #[error("{0}")]
    Consensus(RejectReason),
    /// A coinbase cannot be relayed.
    #[error("coinbase")]
    Coinbase,
    /// The same transaction is already waiting.
    #[error("txn-already-in-mempool")]
    AlreadyInMempool,
    /// Another waiting transaction spends one of its inputs (first seen wins).
    #[error("txn-mempool-conflict")]
    Conflict,
    /// Too many or too large unconfirmed ancestors or descendants.
    #[error("too-long-mempool-chain")]
    TooLongChain,
    /// Its fee rate is below the minimum relay fee rate.
    #[error("min relay fee not met")]
    MinRelayFee,
    /// The mempool is full and its fee rate does not earn it a place.
    #[error("mempool full")]
    Full,
}

impl MempoolReject {
    /// True when the inputs are missing or spent (RPC code -25 rather than -26).
    pub fn is_missing_inputs(self) -> bool {
        self == MempoolReject::Consensus(RejectReason::BadTxnsInputsMissingOrSpent)
    }
}
