//! The unspent-output write-back cache (Bitcoin Core's `CCoinsViewCache`, simplified).
//!
//! Connecting a block changes the cache only; the redb table `utxo` reflects an older block of
//! the active chain, the "utxo best block" recorded next to it in the meta table. Every entry
//! of the cache is a change not yet written:
//!
//! - a coin created since the last flush, *fresh* when redb does not hold its outpoint: when
//!   it is spent before the next flush it is simply dropped and never reaches redb;
//! - a tombstone for a coin of redb that was spent (deleted at the next flush).
//!
//! Readers see the cache first and redb second. A flush writes every entry (in key order) and
//! the new utxo best block in one redb write transaction. See docs/adr/0004-utxo-cache.md.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use coinrs_core::validation::{Coin, UtxoView};
use coinrs_core::{Hash, OutPoint};
use redb::ReadableTable;
use sha2::{Digest, Sha256};

use crate::store::{decode_coin, encode_coin, outpoint_key};

/// One change of the unspent outputs not yet written to redb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CacheEntry {
    /// The coin, or `None` for a spent coin still present in redb.
    pub coin: Option<Coin>,
    /// redb does not hold this outpoint: spending the coin drops the entry.
    pub fresh: bool,
}

/// What [`UtxoCache::apply_block`] changed: each touched entry as it was before.
#[derive(Debug)]
pub(crate) struct CacheUndo {
    before: Vec<(OutPoint, Option<CacheEntry>)>,
    dirty_since: Option<Instant>,
}

/// The changes of the unspent outputs since the last flush, bounded by a memory budget.
#[derive(Debug)]
pub(crate) struct UtxoCache {
    map: HashMap<OutPoint, CacheEntry>,
    budget: usize,
    /// When the oldest unwritten change was made.
    dirty_since: Option<Instant>,
}

/// Bytes of one slot of the map (key, value and hashbrown's control byte).
const SLOT_BYTES: usize = std::mem::size_of::<(OutPoint, CacheEntry)>() + 1;

/// Buckets hashbrown allocates to hold `capacity` entries (a power of two, at most 7/8 full).
fn buckets_for(capacity: usize) -> usize {
    if capacity == 0 {
        0
    } else if capacity < 8 {
        if capacity < 4 { 4 } else { 8 }
    } else {
        (capacity.saturating_mul(8) / 7).next_power_of_two()
    }
}

/// Heap bytes of a map that can hold `capacity` entries.
fn bytes_for(capacity: usize) -> usize {
    buckets_for(capacity).saturating_mul(SLOT_BYTES)
}

impl UtxoCache {
    pub fn new(budget: usize) -> Self {
        UtxoCache {
            map: HashMap::new(),
            budget,
            dirty_since: None,
        }
    }

    pub fn get(&self, outpoint: &OutPoint) -> Option<&CacheEntry> {
        self.map.get(outpoint)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Heap bytes the cache holds now.
    pub fn memory(&self) -> usize {
        bytes_for(self.map.capacity())
    }

    /// When the oldest unwritten change was made (`None` when there is none).
    pub fn dirty_since(&self) -> Option<Instant> {
        self.dirty_since
    }

    /// True when taking up to `additional` more entries would grow the map beyond the
    /// budget, so the cache should be flushed first. An empty cache never needs a flush (a
    /// single block larger than the budget is taken anyway).
    pub fn needs_flush_for(&self, additional: usize) -> bool {
        let needed = self.map.len().saturating_add(additional);
        !self.map.is_empty() && needed > self.map.capacity() && bytes_for(needed) > self.budget
    }

    fn touch(&mut self) {
        if self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }
    }

    /// Records that `outpoint` was spent.
    pub fn spend(&mut self, outpoint: OutPoint) {
        self.touch();
        match self.map.get_mut(&outpoint) {
            Some(e) if e.fresh => {
                self.map.remove(&outpoint);
            }
            Some(e) => e.coin = None,
            None => {
                self.map.insert(
                    outpoint,
                    CacheEntry {
                        coin: None,
                        fresh: false,
                    },
                );
            }
        }
    }

    /// Records a new coin.
    pub fn add(&mut self, outpoint: OutPoint, coin: Coin) {
        self.touch();
        match self.map.get_mut(&outpoint) {
            // Over a tombstone: redb still holds the old coin, which the flush overwrites.
            Some(e) => e.coin = Some(coin),
            None => {
                self.map.insert(
                    outpoint,
                    CacheEntry {
                        coin: Some(coin),
                        fresh: true,
                    },
                );
            }
        }
    }

    /// Applies a block's changes (its spent coins, then its new ones) and returns what undoes
    /// them exactly: the connect applies them while the block's signatures are still being
    /// verified, and takes them back if a signature fails or the commit does.
    pub fn apply_block(
        &mut self,
        spent: &[(OutPoint, Coin)],
        created: &[(OutPoint, Coin)],
    ) -> CacheUndo {
        let mut undo = CacheUndo {
            before: Vec::with_capacity(spent.len() + created.len()),
            dirty_since: self.dirty_since,
        };
        for (op, _) in spent {
            undo.before.push((*op, self.map.get(op).copied()));
            self.spend(*op);
        }
        for (op, coin) in created {
            undo.before.push((*op, self.map.get(op).copied()));
            self.add(*op, *coin);
        }
        undo
    }

    /// Restores the entries as they were before [`UtxoCache::apply_block`].
    pub fn revert(&mut self, undo: CacheUndo) {
        // Latest change first: an outpoint touched twice ends with its first `before`.
        for (op, before) in undo.before.into_iter().rev() {
            match before {
                Some(e) => {
                    self.map.insert(op, e);
                }
                None => {
                    self.map.remove(&op);
                }
            }
        }
        self.dirty_since = undo.dirty_since;
    }

    /// Every entry as redb key and value (`None`: delete), in key order: what a flush writes.
    pub fn sorted_changes(&self) -> Vec<([u8; 36], Option<[u8; 49]>)> {
        let mut out: Vec<_> = self
            .map
            .iter()
            .map(|(op, e)| (outpoint_key(op), e.coin.as_ref().map(encode_coin)))
            .collect();
        out.sort_unstable_by_key(|a| a.0);
        out
    }

    /// Forgets every entry after a flush wrote them. The allocation is kept for the next
    /// changes when it is within the budget.
    pub fn clear(&mut self) {
        self.dirty_since = None;
        if self.memory() > self.budget {
            self.map = HashMap::new();
        } else {
            self.map.clear();
        }
    }
}

/// The unspent outputs as cache over a redb table. The validation trait cannot fail, so a
/// storage error (or a malformed stored coin) is kept and checked after the lookups: a block
/// is never judged on a disk failure.
pub(crate) struct CachedView<'a, T> {
    pub cache: &'a UtxoCache,
    pub table: &'a T,
    pub error: RefCell<Option<redb::Error>>,
}

impl<'a, T> CachedView<'a, T> {
    pub fn new(cache: &'a UtxoCache, table: &'a T) -> Self {
        CachedView {
            cache,
            table,
            error: RefCell::new(None),
        }
    }
}

impl<T: ReadableTable<[u8; 36], [u8; 49]>> UtxoView for CachedView<'_, T> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if let Some(e) = self.cache.get(outpoint) {
            return e.coin;
        }
        match self.table.get(outpoint_key(outpoint)) {
            Ok(Some(v)) => match decode_coin(&v.value()) {
                Some(c) => Some(c),
                None => {
                    *self.error.borrow_mut() =
                        Some(redb::Error::Corrupted("malformed unspent output".into()));
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                *self.error.borrow_mut() = Some(e.into());
                None
            }
        }
    }
}

/// A summary of a set of unspent outputs, fed in key order.
#[derive(Default)]
pub(crate) struct StatsHasher {
    hasher: Sha256,
    pub count: u64,
    pub total: u128,
}

impl StatsHasher {
    pub fn add(&mut self, key: &[u8; 36], value: &[u8; 49]) {
        self.hasher.update(key);
        self.hasher.update(value);
        self.count += 1;
        let mut v = [0u8; 8];
        v.copy_from_slice(&value[..8]);
        self.total += u128::from(u64::from_le_bytes(v));
    }

    pub fn finish(self) -> (u64, u128, Hash) {
        (self.count, self.total, self.hasher.finalize().into())
    }
}

/// Feeds the merged view of `table` overlaid by `cache` to `stats`, in key order. Returns an
/// error message for a malformed stored coin.
pub(crate) fn merged_stats<T: ReadableTable<[u8; 36], [u8; 49]>>(
    cache: &UtxoCache,
    table: &T,
    stats: &mut StatsHasher,
) -> Result<(), MergeError> {
    let changes = cache.sorted_changes();
    let mut changes = changes.iter().peekable();
    for item in table.iter().map_err(|e| MergeError::Storage(e.into()))? {
        let (k, v) = item.map_err(|e| MergeError::Storage(e.into()))?;
        let (k, v) = (k.value(), v.value());
        if decode_coin(&v).is_none() {
            return Err(MergeError::Malformed);
        }
        // Cache entries below this key are coins redb does not hold.
        while let Some((ck, cv)) = changes.next_if(|(ck, _)| *ck < k) {
            if let Some(cv) = cv {
                stats.add(ck, cv);
            }
        }
        match changes.next_if(|(ck, _)| *ck == k) {
            Some((_, Some(cv))) => stats.add(&k, cv),
            Some((_, None)) => {}
            None => stats.add(&k, &v),
        }
    }
    for (ck, cv) in changes {
        if let Some(cv) = cv {
            stats.add(ck, cv);
        }
    }
    Ok(())
}

/// Why [`merged_stats`] failed.
pub(crate) enum MergeError {
    Storage(redb::Error),
    Malformed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::{TxOut, Txid};

    fn op(n: u8) -> OutPoint {
        OutPoint {
            txid: Txid([n; 32]),
            vout: 0,
        }
    }

    fn coin(v: u64) -> Coin {
        Coin {
            output: TxOut {
                value: v,
                pubkey: [1; 32],
            },
            height: 1,
            is_coinbase: false,
        }
    }

    #[test]
    fn a_reverted_block_leaves_the_cache_as_it_was() {
        let mut c = UtxoCache::new(1 << 20);
        // A fresh coin, a tombstone, and a coin over a tombstone (redb holds the old one).
        c.add(op(1), coin(1));
        c.spend(op(2));
        c.spend(op(3));
        c.add(op(3), coin(3));
        let before: Vec<_> = (0..8).map(|n| c.get(&op(n)).copied()).collect();
        let since = c.dirty_since();
        // Spends a fresh coin, a coin redb holds, the coin over the tombstone; creates over
        // the tombstone and new outpoints.
        let undo = c.apply_block(
            &[(op(1), coin(1)), (op(4), coin(4)), (op(3), coin(3))],
            &[(op(2), coin(20)), (op(5), coin(5)), (op(6), coin(6))],
        );
        assert_ne!(
            (0..8).map(|n| c.get(&op(n)).copied()).collect::<Vec<_>>(),
            before
        );
        c.revert(undo);
        assert_eq!(
            (0..8).map(|n| c.get(&op(n)).copied()).collect::<Vec<_>>(),
            before
        );
        assert_eq!(c.dirty_since(), since);
        assert_eq!(c.len(), 3);
        // On an untouched cache, a revert leaves it clean.
        let mut clean = UtxoCache::new(1 << 20);
        let undo = clean.apply_block(&[(op(9), coin(9))], &[(op(7), coin(7))]);
        clean.revert(undo);
        assert!(clean.is_empty());
        assert_eq!(clean.dirty_since(), None);
    }

    #[test]
    fn a_fresh_coin_spent_before_a_flush_leaves_nothing() {
        let mut c = UtxoCache::new(1 << 20);
        c.add(op(1), coin(5));
        c.spend(op(1));
        assert!(c.is_empty());
        assert!(c.dirty_since().is_some());
    }

    #[test]
    fn a_stored_coin_spent_leaves_a_tombstone_that_a_new_coin_overwrites() {
        let mut c = UtxoCache::new(1 << 20);
        c.spend(op(2));
        assert_eq!(
            c.get(&op(2)),
            Some(&CacheEntry {
                coin: None,
                fresh: false
            })
        );
        c.add(op(2), coin(7));
        assert_eq!(
            c.get(&op(2)),
            Some(&CacheEntry {
                coin: Some(coin(7)),
                fresh: false
            })
        );
        // Spent again: back to a tombstone, never dropped (redb holds the key).
        c.spend(op(2));
        assert_eq!(c.get(&op(2)).map(|e| e.coin), Some(None));
        assert_eq!(c.sorted_changes().len(), 1);
        c.clear();
        assert!(c.is_empty() && c.dirty_since().is_none());
    }

    #[test]
    fn the_budget_asks_for_a_flush_before_the_map_grows_past_it() {
        let mut c = UtxoCache::new(bytes_for(1000));
        assert!(
            !c.needs_flush_for(100_000),
            "an empty cache takes any block"
        );
        for n in 0..200u32 {
            c.add(
                OutPoint {
                    txid: Txid([0; 32]),
                    vout: n,
                },
                coin(1),
            );
        }
        assert!(!c.needs_flush_for(10));
        assert!(c.needs_flush_for(5000));
        assert!(c.memory() <= bytes_for(1000));
    }
}
