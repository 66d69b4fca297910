//! The block index: one entry per known header, kept in memory (about 200 bytes each, see
//! [`BlockIndex`]) and persisted in the chain-state store.

use std::collections::HashMap;

use coinrs_core::block::BlockHeader;
use coinrs_core::encode::{Decode, Reader};
use coinrs_core::error::DecodeError;
use coinrs_core::{BlockHash, RejectReason};
use ruint::aliases::U256;

/// How far a block got in validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// The header passed the header rules; the body is unchecked.
    Header,
    /// The block was connected once: fully valid.
    Valid,
    /// The block breaks a rule.
    Failed(Failure),
    /// An ancestor failed.
    FailedParent,
}

/// Why a block failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A consensus rule.
    Rule(RejectReason),
    /// `invalidateblock`.
    Manual,
}

impl Validity {
    /// Failed, or below a failed block.
    pub fn is_invalid(self) -> bool {
        matches!(self, Validity::Failed(_) | Validity::FailedParent)
    }
}

/// What the node knows about one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The header.
    pub header: BlockHeader,
    /// Sum of work from genesis to this block.
    pub chainwork: U256,
    /// Validation state.
    pub validity: Validity,
    /// The full block is in the block store.
    pub has_data: bool,
    /// The block was connected once, so it is valid by consensus whatever marks it gets
    /// later (`invalidateblock`, a failed ancestor); `reconsiderblock` restores `Valid`.
    pub validated_once: bool,
    /// Order in which full blocks arrived (ties of chainwork go to the earlier); 0 without data.
    pub seq: u64,
    /// Time of the block at height 1 on this branch (the ASERT anchor); 0 for genesis.
    pub block1_time: u64,
    /// Encoded size of the block, 0 without data.
    pub size: u32,
    /// Number of transactions, 0 without data.
    pub tx_count: u32,
}

impl IndexEntry {
    /// Height of the block.
    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// Persisted form: header (96) | chainwork (32, big-endian) | validity (1) | reason (1) |
    /// flags (1: bit 0 has_data, bit 1 validated_once) | seq (8) | block1_time (8) | size (4) |
    /// tx_count (4).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(155);
        out.extend_from_slice(&self.header.to_bytes());
        out.extend_from_slice(&self.chainwork.to_be_bytes::<32>());
        let (v, r) = match self.validity {
            Validity::Header => (0u8, 0u8),
            Validity::Valid => (1, 0),
            Validity::Failed(Failure::Manual) => (2, 255),
            Validity::Failed(Failure::Rule(reason)) => (2, reason_code(reason)),
            Validity::FailedParent => (3, 0),
        };
        out.push(v);
        out.push(r);
        out.push(u8::from(self.has_data) | (u8::from(self.validated_once) << 1));
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.block1_time.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.tx_count.to_le_bytes());
        out
    }

    /// Reads the persisted form; any deviation is an error (the store is then damaged).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let header = BlockHeader::decode_from(&mut r)?;
        let chainwork = U256::from_be_bytes(r.array::<32>()?);
        let [v, code] = r.array::<2>()?;
        let validity = match (v, code) {
            (0, 0) => Validity::Header,
            (1, 0) => Validity::Valid,
            (2, 255) => Validity::Failed(Failure::Manual),
            (2, c) => match RejectReason::ALL.get(usize::from(c)) {
                Some(reason) => Validity::Failed(Failure::Rule(*reason)),
                None => return Err(bad_byte()),
            },
            (3, 0) => Validity::FailedParent,
            _ => return Err(bad_byte()),
        };
        let flags = r.array::<1>()?[0];
        if flags > 3 {
            return Err(bad_byte());
        }
        let entry = IndexEntry {
            header,
            chainwork,
            validity,
            has_data: flags & 1 != 0,
            validated_once: flags & 2 != 0,
            seq: r.u64()?,
            block1_time: r.u64()?,
            size: r.u32()?,
            tx_count: r.u32()?,
        };
        r.finish()?;
        Ok(entry)
    }

    /// The hash of this block.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }
}

/// The in-memory block index: entries in one vector, found by hash through a map of 4-byte
/// positions (about 200 bytes a block instead of a map slot of hash and entry, and growth by
/// an eighth rather than doubling the whole table). Entries are never removed.
#[derive(Debug, Default)]
pub(crate) struct BlockIndex {
    ids: HashMap<BlockHash, u32>,
    entries: Vec<IndexEntry>,
}

impl BlockIndex {
    pub fn reserve(&mut self, additional: usize) {
        self.ids.reserve(additional);
        self.entries.reserve_exact(additional);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, hash: &BlockHash) -> Option<&IndexEntry> {
        self.ids.get(hash).map(|&i| &self.entries[i as usize])
    }

    pub fn get_mut(&mut self, hash: &BlockHash) -> Option<&mut IndexEntry> {
        self.ids.get(hash).map(|&i| &mut self.entries[i as usize])
    }

    pub fn contains_key(&self, hash: &BlockHash) -> bool {
        self.ids.contains_key(hash)
    }

    /// Adds or replaces the entry of `hash`.
    pub fn insert(&mut self, hash: BlockHash, entry: IndexEntry) {
        if let Some(&i) = self.ids.get(&hash) {
            self.entries[i as usize] = entry;
            return;
        }
        if self.entries.len() == self.entries.capacity() {
            self.entries
                .reserve_exact((self.entries.len() / 8).max(1024));
        }
        // More than 4 billion blocks cannot be indexed by a u32: far beyond any chain this
        // node can hold in memory.
        let id = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        self.ids.insert(hash, id);
        self.entries.push(entry);
    }

    /// Every (hash, entry), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&BlockHash, &IndexEntry)> {
        self.ids
            .iter()
            .map(|(h, &i)| (h, &self.entries[i as usize]))
    }

    /// Every entry, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &IndexEntry> {
        self.entries.iter()
    }
}

impl std::ops::Index<&BlockHash> for BlockIndex {
    type Output = IndexEntry;

    /// The entry of a hash the caller knows is indexed (a parent of an indexed block, a block
    /// of the active chain).
    fn index(&self, hash: &BlockHash) -> &IndexEntry {
        match self.get(hash) {
            Some(e) => e,
            None => panic!("block {hash} is not in the index"),
        }
    }
}

fn reason_code(reason: RejectReason) -> u8 {
    RejectReason::ALL
        .iter()
        .position(|r| *r == reason)
        .map_or(254, |p| p as u8)
}

/// A flag byte that is none of its allowed values (reported like a truncation).
fn bad_byte() -> DecodeError {
    DecodeError::TrailingBytes { count: 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(validity: Validity) -> IndexEntry {
        IndexEntry {
            header: BlockHeader {
                version: 1,
                height: 7,
                prev_hash: BlockHash([3; 32]),
                merkle_root: [4; 32],
                time: 99,
                bits: 0x207f_ffff,
                nonce: 5,
            },
            chainwork: U256::from(123_456u64),
            validity,
            has_data: true,
            validated_once: true,
            seq: 42,
            block1_time: 1000,
            size: 300,
            tx_count: 2,
        }
    }

    #[test]
    fn index_entries_round_trip_in_every_state() {
        let states = [
            Validity::Header,
            Validity::Valid,
            Validity::Failed(Failure::Manual),
            Validity::Failed(Failure::Rule(RejectReason::BadTxnsSig)),
            Validity::Failed(Failure::Rule(RejectReason::BadVersion)),
            Validity::FailedParent,
        ];
        for v in states {
            let e = entry(v);
            assert_eq!(IndexEntry::decode(&e.encode()).unwrap(), e);
        }
    }

    #[test]
    fn damaged_entries_are_refused() {
        let bytes = entry(Validity::Valid).encode();
        assert!(IndexEntry::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        bad[128] = 9; // validity byte
        assert!(IndexEntry::decode(&bad).is_err());
        let mut bad = bytes;
        bad[130] = 4; // flags byte
        assert!(IndexEntry::decode(&bad).is_err());
    }
}
