//! The pool: entries, the outpoints they spend, their unconfirmed parents and children,
//! acceptance with policy, removal when blocks confirm, and eviction.

use std::collections::{HashMap, HashSet, VecDeque};

use coinrs_core::validation::{Coin, UtxoView, check_transaction};
use coinrs_core::{OutPoint, Transaction, Txid};

use crate::error::MempoolReject;

/// Policy numbers (documented in docs/policy.md).
#[derive(Clone, Debug)]
pub struct Policy {
    /// Minimum fee rate to enter, in base units per 1000 bytes (`--minrelaytxfee`).
    pub min_relay_fee_per_kb: u64,
    /// Size budget in bytes of encoded transactions (`--maxmempool`).
    pub max_bytes: usize,
    /// Most unconfirmed ancestors, itself included.
    pub max_ancestors: usize,
    /// Most bytes of a transaction with its unconfirmed ancestors.
    pub max_ancestor_bytes: usize,
    /// Most unconfirmed descendants of any transaction, itself included.
    pub max_descendants: usize,
    /// Most bytes of a transaction with its unconfirmed descendants.
    pub max_descendant_bytes: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            // 1 unit per byte, Bitcoin Core's 1 sat/vB.
            min_relay_fee_per_kb: 1000,
            max_bytes: 300 * 1024 * 1024,
            max_ancestors: 25,
            max_ancestor_bytes: 101_000,
            max_descendants: 25,
            max_descendant_bytes: 101_000,
        }
    }
}

/// A waiting transaction.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// Inputs minus outputs.
    pub fee: u64,
    /// Encoded size.
    pub size: usize,
    /// When it arrived (Unix seconds).
    pub time: u64,
    /// Tip height when it arrived.
    pub height: u64,
    /// Arrival order.
    pub seq: u64,
    /// Waiting transactions whose outputs it spends.
    pub parents: HashSet<Txid>,
    /// Waiting transactions spending its outputs.
    pub children: HashSet<Txid>,
}

/// Fee rate comparison without division: `a_fee / a_size` vs `b_fee / b_size`.
pub(crate) fn rate_key(fee: u64, size: usize) -> u128 {
    // Units per byte scaled by 2^32: exact enough to order, and fits easily.
    (u128::from(fee) << 32) / (size.max(1) as u128)
}

/// The mempool.
#[derive(Debug, Default)]
pub struct Mempool {
    policy: Policy,
    entries: HashMap<Txid, Entry>,
    spends: HashMap<OutPoint, Txid>,
    bytes: usize,
    next_seq: u64,
}

/// Chain outputs plus the outputs of waiting transactions.
struct PoolView<'a, U: UtxoView> {
    chain: &'a U,
    pool: &'a Mempool,
}

impl<U: UtxoView> UtxoView for PoolView<'_, U> {
    fn coin(&self, op: &OutPoint) -> Option<Coin> {
        if let Some(e) = self.pool.entries.get(&op.txid) {
            return e.tx.outputs.get(op.vout as usize).map(|o| Coin {
                output: *o,
                height: e.height + 1,
                is_coinbase: false,
            });
        }
        self.chain.coin(op)
    }
}

impl Mempool {
    /// An empty pool with this policy.
    pub fn new(policy: Policy) -> Self {
        Mempool {
            policy,
            ..Mempool::default()
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of encoded transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A waiting transaction.
    pub fn get(&self, txid: &Txid) -> Option<&Entry> {
        self.entries.get(txid)
    }

    /// True when `txid` waits here.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.entries.contains_key(txid)
    }

    /// Every entry, in arrival order.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.values().collect();
        v.sort_by_key(|e| e.seq);
        v
    }

    /// Every entry, in no particular order: for a reader that orders them its own way
    /// (cheaper than [`Mempool::entries`] on a large pool).
    pub fn unordered_entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The waiting transaction that spends `op`, if any.
    pub fn spender(&self, op: &OutPoint) -> Option<Txid> {
        self.spends.get(op).copied()
    }

    /// An unspent output as the mempool sees it: chain outputs not spent by a waiting
    /// transaction, and outputs of waiting transactions (for `gettxout` with mempool).
    pub fn coin(&self, chain: &impl UtxoView, op: &OutPoint) -> Option<Coin> {
        if self.spends.contains_key(op) {
            return None;
        }
        PoolView { chain, pool: self }.coin(op)
    }

    /// Checks `tx` as if for the block after `tip_height`, against `chain`'s unspent outputs
    /// and the pool, without adding it. Returns its fee.
    pub fn check(
        &self,
        tx: &Transaction,
        tip_height: u64,
        coinbase_maturity: u64,
        chain: &impl UtxoView,
    ) -> Result<u64, MempoolReject> {
        if tx.is_coinbase() {
            return Err(MempoolReject::Coinbase);
        }
        let txid = tx.txid();
        if self.entries.contains_key(&txid) {
            return Err(MempoolReject::AlreadyInMempool);
        }
        if tx
            .inputs
            .iter()
            .any(|i| self.spends.contains_key(&i.prevout))
        {
            return Err(MempoolReject::Conflict);
        }
        let view = PoolView { chain, pool: self };
        let effects = check_transaction(tx, tip_height + 1, coinbase_maturity, &view)
            .map_err(MempoolReject::Consensus)?;
        let size = tx.encoded_size();
        if u128::from(effects.fee) * 1000
            < u128::from(self.policy.min_relay_fee_per_kb) * size as u128
        {
            return Err(MempoolReject::MinRelayFee);
        }
        let parents = self.waiting_parents(tx);
        let ancestors = self.ancestors_of(&parents);
        let anc_bytes: usize = ancestors
            .iter()
            .map(|t| self.entries[t].size)
            .sum::<usize>()
            + size;
        if ancestors.len() + 1 > self.policy.max_ancestors
            || anc_bytes > self.policy.max_ancestor_bytes
        {
            return Err(MempoolReject::TooLongChain);
        }
        for a in &ancestors {
            let desc = self.descendants_of(a);
            let desc_bytes: usize = desc.iter().map(|t| self.entries[t].size).sum::<usize>() + size;
            if desc.len() + 1 > self.policy.max_descendants
                || desc_bytes > self.policy.max_descendant_bytes
            {
                return Err(MempoolReject::TooLongChain);
            }
        }
        Ok(effects.fee)
    }

    /// Accepts `tx` (see [`Mempool::check`]), evicting the lowest descendant fee rates while
    /// the pool is over its size budget. Returns the txids evicted.
    pub fn accept(
        &mut self,
        tx: Transaction,
        tip_height: u64,
        coinbase_maturity: u64,
        chain: &impl UtxoView,
        now: u64,
    ) -> Result<Vec<Txid>, MempoolReject> {
        let fee = self.check(&tx, tip_height, coinbase_maturity, chain)?;
        let txid = tx.txid();
        self.insert(tx, txid, fee, tip_height, now);
        let evicted = self.trim();
        if evicted.contains(&txid) {
            return Err(MempoolReject::Full);
        }
        Ok(evicted)
    }

    /// Offers each transaction in order (with its arrival time), as after a reorganisation or
    /// a restart; returns how many were kept and how many refused.
    pub fn accept_all(
        &mut self,
        txs: Vec<(Transaction, u64)>,
        tip_height: u64,
        coinbase_maturity: u64,
        chain: &impl UtxoView,
    ) -> (usize, usize) {
        let (mut kept, mut dropped) = (0usize, 0usize);
        for (tx, time) in txs {
            match self.accept(tx, tip_height, coinbase_maturity, chain, time) {
                Ok(_) => kept += 1,
                Err(_) => dropped += 1,
            }
        }
        (kept, dropped)
    }

    fn insert(&mut self, tx: Transaction, txid: Txid, fee: u64, height: u64, now: u64) {
        let parents = self.waiting_parents(&tx);
        for p in &parents {
            if let Some(e) = self.entries.get_mut(p) {
                e.children.insert(txid);
            }
        }
        for i in &tx.inputs {
            self.spends.insert(i.prevout, txid);
        }
        let size = tx.encoded_size();
        self.bytes += size;
        self.next_seq += 1;
        self.entries.insert(
            txid,
            Entry {
                tx,
                txid,
                fee,
                size,
                time: now,
                height,
                seq: self.next_seq,
                parents,
                children: HashSet::new(),
            },
        );
    }

    /// The waiting transactions whose outputs `tx` spends.
    fn waiting_parents(&self, tx: &Transaction) -> HashSet<Txid> {
        tx.inputs
            .iter()
            .map(|i| i.prevout.txid)
            .filter(|t| self.entries.contains_key(t))
            .collect()
    }

    /// Every waiting ancestor of a set of waiting transactions (the set excluded unless reached
    /// through another member).
    pub(crate) fn ancestors_of(&self, start: &HashSet<Txid>) -> HashSet<Txid> {
        self.reachable(start.iter().copied(), |e| &e.parents)
    }

    /// `txid` and every waiting transaction descending from it.
    pub(crate) fn descendants_of(&self, txid: &Txid) -> HashSet<Txid> {
        self.reachable([*txid], |e| &e.children)
    }

    /// The transactions reached from `start` by following `next` (the start included).
    fn reachable(
        &self,
        start: impl IntoIterator<Item = Txid>,
        next: impl Fn(&Entry) -> &HashSet<Txid>,
    ) -> HashSet<Txid> {
        let mut seen = HashSet::new();
        let mut queue: VecDeque<Txid> = start.into_iter().collect();
        while let Some(t) = queue.pop_front() {
            if seen.insert(t)
                && let Some(e) = self.entries.get(&t)
            {
                queue.extend(next(e).iter().copied());
            }
        }
        seen
    }

    /// Fee rate of a transaction with its waiting descendants (what eviction ranks by).
    fn descendant_rate(&self, txid: &Txid) -> u128 {
        let desc = self.descendants_of(txid);
        let fee: u64 = desc.iter().map(|t| self.entries[t].fee).sum();
        let size: usize = desc.iter().map(|t| self.entries[t].size).sum();
        rate_key(fee, size)
    }

    /// Evicts the package (a transaction and its descendants) of lowest descendant fee rate
    /// until the pool fits its budget.
    fn trim(&mut self) -> Vec<Txid> {
        let mut evicted = Vec::new();
        while self.bytes > self.policy.max_bytes && !self.entries.is_empty() {
            let worst = self
                .entries
                .keys()
                .min_by_key(|t| {
                    (
                        self.descendant_rate(t),
                        std::cmp::Reverse(self.entries[*t].seq),
                    )
                })
                .copied()
                .expect("non-empty");
            evicted.extend(self.remove_with_descendants(&worst));
        }
        evicted
    }

    /// Removes a transaction and all its descendants; returns their txids.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<Txid> {
        let desc = self.descendants_of(txid);
        let mut removed = Vec::with_capacity(desc.len());
        for t in desc {
            if self.remove_one(&t) {
                removed.push(t);
            }
        }
        removed
    }

    fn remove_one(&mut self, txid: &Txid) -> bool {
        let Some(e) = self.entries.remove(txid) else {
            return false;
        };
        self.bytes -= e.size;
        for i in &e.tx.inputs {
            if self.spends.get(&i.prevout) == Some(txid) {
                self.spends.remove(&i.prevout);
            }
        }
        for p in &e.parents {
            if let Some(pe) = self.entries.get_mut(p) {
                pe.children.remove(txid);
            }
        }
        for c in &e.children {
            if let Some(ce) = self.entries.get_mut(c) {
                ce.parents.remove(txid);
            }
        }
        true
    }

    /// A block confirmed `txs`: they leave (their children stay, now spending confirmed
    /// outputs), and so does every waiting transaction that spends an input they spend (a
    /// conflict), with its descendants. Returns the txids removed as conflicts.
    pub fn remove_for_block(&mut self, txs: &[Transaction]) -> Vec<Txid> {
        for tx in txs {
            self.remove_one(&tx.txid());
        }
        let mut conflicts = Vec::new();
        for tx in txs {
            for i in &tx.inputs {
                if let Some(spender) = self.spends.get(&i.prevout).copied() {
                    conflicts.extend(self.remove_with_descendants(&spender));
                }
            }
        }
        conflicts
    }

    /// Empties the pool and returns its transactions in arrival order with their times (for
    /// revalidation after a reorganisation, and for saving).
    pub fn drain(&mut self) -> Vec<(Transaction, u64)> {
        let mut all: Vec<Entry> = self.entries.drain().map(|(_, e)| e).collect();
        all.sort_by_key(|e| e.seq);
        self.spends.clear();
        self.bytes = 0;
        all.into_iter().map(|e| (e.tx, e.time)).collect()
    }
}
