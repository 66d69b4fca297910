//! The signature hash (PROTOCOL.md §2):
//! `sighash(tx, i) = TaggedHash("coinrs/sighash", borsh(tx') || u32le(i))`, where `tx'` is
//! `tx` with every input's signature set to 64 zero bytes.

use sha2::Digest;
use sha2::Sha256;

use crate::encode::encode;
use crate::hash::{Hash, tagged_hasher};
use crate::transaction::Transaction;

/// The BIP340 tag of the signature hash.
pub const SIGHASH_TAG: &str = "coinrs/sighash";

/// Hashes the common prefix (tag and `borsh(tx')`) once, so that a transaction with many
/// inputs costs one pass over its bytes plus one block per input, not one pass per input.
#[derive(Clone, Debug)]
pub struct SighashCache {
    prefix: Sha256,
}

impl SighashCache {
    /// Prepares the sighashes of `tx`.
    pub fn new(tx: &Transaction) -> Self {
        let mut blank = tx.clone();
        for input in &mut blank.inputs {
            input.signature = [0u8; 64];
        }
        let mut prefix = tagged_hasher(SIGHASH_TAG);
        prefix.update(encode(&blank));
        SighashCache { prefix }
    }

    /// `sighash(tx, index)`.
    pub fn sighash(&self, index: u32) -> Hash {
        let mut h = self.prefix.clone();
        h.update(index.to_le_bytes());
        h.finalize().into()
    }
}

/// `sighash(tx, index)` for a single input.
pub fn sighash(tx: &Transaction, index: u32) -> Hash {
    SighashCache::new(tx).sighash(index)
}
