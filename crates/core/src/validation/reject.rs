//! The reject reasons of PROTOCOL.md §4. `Display` is exactly the protocol's string.

use std::fmt;

/// Why a header, block or transaction is not valid. The variants are in the protocol's
/// order of checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// `version != 1`.
    BadVersion,
    /// The hash does not meet the target of `bits` (or `bits` is invalid).
    HighHash,
    /// The parent is unknown (an orphan, not a fault).
    PrevBlkNotFound,
    /// The parent is known to be invalid.
    BadPrevblk,
    /// `height != parent.height + 1`.
    BadHeight,
    /// `bits` is not the required bits.
    BadDiffbits,
    /// `time <=` the median time past.
    TimeTooOld,
    /// `time >` the node's clock + `max_future_drift` (not permanent).
    TimeTooNew,
    /// The block is too large or does not decode.
    BadBlkLength,
    /// The first transaction is not a coinbase.
    BadCbMissing,
    /// A later transaction is a coinbase.
    BadCbMultiple,
    /// `merkle_root` is not the root of the txids.
    BadTxnMrklRoot,
    /// Two transactions have the same txid.
    BadTxnsDuplicate,
    /// The coinbase's `lock_time != height`.
    BadCbHeight,
    /// Transaction `version != 1`.
    BadTxnsVersion,
    /// No outputs.
    BadTxnsVoutEmpty,
    /// An output above MAX_MONEY.
    BadTxnsVoutTooLarge,
    /// Outputs add up to more than MAX_MONEY.
    BadTxnsTxoutTotalTooLarge,
    /// Two inputs spend the same outpoint.
    BadTxnsInputsDuplicate,
    /// `lock_time` above the block's height.
    BadTxnsNonFinal,
    /// An input is not unspent.
    BadTxnsInputsMissingOrSpent,
    /// A coinbase output spent before maturity.
    BadTxnsPrematureSpendOfCoinbase,
    /// Inputs add up to less than outputs (or to more than MAX_MONEY).
    BadTxnsInBelowOut,
    /// A signature does not verify.
    BadTxnsSig,
    /// The coinbase pays more than subsidy plus fees.
    BadCbAmount,
}

impl RejectReason {
    /// Every reason, in the protocol's order.
    pub const ALL: [RejectReason; 25] = [
        Self::BadVersion,
        Self::HighHash,
        Self::PrevBlkNotFound,
        Self::BadPrevblk,
        Self::BadHeight,
        Self::BadDiffbits,
        Self::TimeTooOld,
        Self::TimeTooNew,
        Self::BadBlkLength,
        Self::BadCbMissing,
        Self::BadCbMultiple,
        Self::BadTxnMrklRoot,
        Self::BadTxnsDuplicate,
        Self::BadCbHeight,
        Self::BadTxnsVersion,
        Self::BadTxnsVoutEmpty,
        Self::BadTxnsVoutTooLarge,
        Self::BadTxnsTxoutTotalTooLarge,
        Self::BadTxnsInputsDuplicate,
        Self::BadTxnsNonFinal,
        Self::BadTxnsInputsMissingOrSpent,
        Self::BadTxnsPrematureSpendOfCoinbase,
        Self::BadTxnsInBelowOut,
        Self::BadTxnsSig,
        Self::BadCbAmount,
    ];

    /// The protocol's string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadVersion => "bad-version",
            Self::HighHash => "high-hash",
            Self::PrevBlkNotFound => "prev-blk-not-found",
            Self::BadPrevblk => "bad-prevblk",
            Self::BadHeight => "bad-height",
            Self::BadDiffbits => "bad-diffbits",
            Self::TimeTooOld => "time-too-old",
            Self::TimeTooNew => "time-too-new",
            Self::BadBlkLength => "bad-blk-length",
            Self::BadCbMissing => "bad-cb-missing",
            Self::BadCbMultiple => "bad-cb-multiple",
            Self::BadTxnMrklRoot => "bad-txnmrklroot",
            Self::BadTxnsDuplicate => "bad-txns-duplicate",
            Self::BadCbHeight => "bad-cb-height",
            Self::BadTxnsVersion => "bad-txns-version",
            Self::BadTxnsVoutEmpty => "bad-txns-vout-empty",
            Self::BadTxnsVoutTooLarge => "bad-txns-vout-toolarge",
            Self::BadTxnsTxoutTotalTooLarge => "bad-txns-txouttotal-toolarge",
            Self::BadTxnsInputsDuplicate => "bad-txns-inputs-duplicate",
            Self::BadTxnsNonFinal => "bad-txns-nonfinal",
            Self::BadTxnsInputsMissingOrSpent => "bad-txns-inputs-missingorspent",
            Self::BadTxnsPrematureSpendOfCoinbase => "bad-txns-premature-spend-of-coinbase",
            Self::BadTxnsInBelowOut => "bad-txns-in-belowout",
            Self::BadTxnsSig => "bad-txns-sig",
            Self::BadCbAmount => "bad-cb-amount",
        }
    }

    /// The reason for a protocol string.
    pub fn from_str_exact(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// False for the two reasons that say nothing final about the object: an unknown parent
    /// (fetch it) and a time ahead of our clock (may be valid later). A block rejected for
    /// these is not stored as invalid and its sender is not punished.
    pub fn is_permanent(self) -> bool {
        !matches!(self, Self::PrevBlkNotFound | Self::TimeTooNew)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for RejectReason {}
