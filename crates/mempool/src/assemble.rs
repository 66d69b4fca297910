//! Block assembly by ancestor fee rate (Bitcoin Core's package selection): the transaction
//! whose not-yet-included ancestors and itself pay the best fee rate goes in with those
//! ancestors, then the descendants' package rates are updated. A low-fee parent with a
//! high-fee child is thus mined before a medium-fee transaction (child pays for parent).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use coinrs_core::{Transaction, Txid};

use crate::pool::{Mempool, rate_key};

/// Transactions for a block, in an order valid for it (parents before children).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    /// The transactions, without the coinbase.
    pub txs: Vec<Transaction>,
    /// The fee of each, in the same order.
    pub fees: Vec<u64>,
    /// Their sum.
    pub total_fees: u64,
    /// Their encoded size.
    pub bytes: usize,
}

/// A package candidate: (rate, earlier arrival first, txid, version of its stats).
type HeapItem = (u128, Reverse<u64>, Txid, u64);

impl Mempool {
    /// Selects transactions for a block, within `max_bytes` of encoded transactions.
    pub fn assemble(&self, max_bytes: usize) -> Template {
        let entries = self.entries();
        // Package stats of every entry: itself and its waiting ancestors not yet included.
        let mut stats: HashMap<Txid, (u64, usize, u64)> = HashMap::with_capacity(entries.len());
        let mut heap: BinaryHeap<HeapItem> = BinaryHeap::with_capacity(entries.len());
        for e in &entries {
            let anc = self.ancestors_of(&e.parents);
            let fee = e.fee
                + anc
                    .iter()
                    .map(|t| self.get(t).map_or(0, |a| a.fee))
                    .sum::<u64>();
            let size = e.size
                + anc
                    .iter()
                    .map(|t| self.get(t).map_or(0, |a| a.size))
                    .sum::<usize>();
            stats.insert(e.txid, (fee, size, 0));
            heap.push((rate_key(fee, size), Reverse(e.seq), e.txid, 0));
        }

        let mut included: HashSet<Txid> = HashSet::new();
        let mut template = Template::default();
        let mut failures = 0usize;
        while let Some((_, _, txid, version)) = heap.pop() {
            if included.contains(&txid) || stats.get(&txid).map(|s| s.2) != Some(version) {
                continue;
            }
            let (_, pkg_size, _) = stats[&txid];
            if template.bytes + pkg_size > max_bytes {
                failures += 1;
                // Nearly full and nothing fits any more: stop, as Core does.
                if failures > 1000 && max_bytes - template.bytes < 4000 {
                    break;
                }
                continue;
            }
            failures = 0;
            // The package: the transaction and its ancestors not yet in, parents first
            // (arrival order is a valid order: a transaction arrives after its parents).
            let mut package: Vec<&crate::pool::Entry> = self
                .ancestors_of(&HashSet::from([txid]))
                .into_iter()
                .filter(|t| !included.contains(t))
                .filter_map(|t| self.get(&t))
                .collect();
            package.sort_by_key(|e| e.seq);
            for e in &package {
                included.insert(e.txid);
                template.txs.push(e.tx.clone());
                template.fees.push(e.fee);
                template.total_fees += e.fee;
                template.bytes += e.size;
            }
            // Descendants no longer carry these ancestors in their package.
            let mut touched: HashSet<Txid> = HashSet::new();
            for e in &package {
                for d in self.descendants_of(&e.txid) {
                    if d == e.txid || included.contains(&d) {
                        continue;
                    }
                    if let Some(s) = stats.get_mut(&d) {
                        s.0 -= e.fee;
                        s.1 -= e.size;
                        touched.insert(d);
                    }
                }
            }
            for d in touched {
                if let (Some(s), Some(e)) = (stats.get_mut(&d), self.get(&d)) {
                    s.2 += 1;
                    heap.push((rate_key(s.0, s.1), Reverse(e.seq), d, s.2));
                }
            }
        }
        template
    }
}
