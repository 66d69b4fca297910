//! Following the chain: the node feeds the wallet every block it connects or disconnects on
//! its active chain, in order, and every transaction it accepts into its mempool; the wallet
//! keeps what concerns its keys, and its balances follow reorganisations.
//!
//! - A connected block confirms the wallet's transactions in it (outputs paying a wallet key,
//!   inputs spending a wallet output). A transaction of the block that spends a coin which
//!   an unconfirmed wallet transaction also spends makes the latter **conflicted** (with its
//!   descendants): its outputs no longer count and its inputs are free again.
//! - A disconnected block makes its transactions unconfirmed again (the node offers them to
//!   its mempool), except the coinbase, whose outputs cease to exist: it is removed, and
//!   what spent it becomes conflicted.
//! - Gap limit: an output paying a derived key moves that branch's next index past it and
//!   derives `gap_limit` keys beyond it; a block is looked at again when that found new
//!   keys, so a restore finds coins past the first gap once the coins before them are found.
//! - Feeding the same block twice changes nothing, so a rescan may start early.
//!
//! Balances (Bitcoin Core's `getbalances.mine`): **trusted** = confirmed and mature, plus
//! unconfirmed outputs of the wallet's own transactions (change); **untrusted_pending** =
//! unconfirmed payments from others; **immature** = coinbase outputs with fewer than
//! `coinbase_maturity + 1` confirmations (INTERFACE.md). Coins spent by an unconfirmed
//! wallet transaction count for nothing.

use std::collections::HashMap;

use coinrs_core::{Block, BlockHash, OutPoint, Transaction, Txid};

use crate::error::Result;
use crate::select::Coin;
use crate::store::OutputRecord;
use crate::wallet::{Dirty, KeyOrigin, Wallet, WalletTx};

/// Balances in base units, as `getbalances` shows them under `mine`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    /// Spendable now.
    pub trusted: u64,
    /// Unconfirmed payments from others.
    pub untrusted_pending: u64,
    /// Coinbase outputs not yet mature.
    pub immature: u64,
}

/// How an unspent output counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputStatus {
    /// Spendable (confirmed and mature, or the wallet's own unconfirmed change).
    Trusted,
    /// An unconfirmed payment from someone else.
    UntrustedPending,
    /// A coinbase output below maturity.
    Immature,
}

/// An unspent output of the wallet (`listunspent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unspent {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Value in base units.
    pub value: u64,
    /// Its output key.
    pub pubkey: [u8; 32],
    /// Confirmations at the tip given (0 while unconfirmed).
    pub confirmations: u64,
    /// A coinbase output.
    pub coinbase: bool,
    /// How it counts.
    pub status: OutputStatus,
    /// Which key owns it.
    pub origin: KeyOrigin,
}

/// What a transaction means to the wallet (`gettransaction`, `listtransactions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxAmounts {
    /// Sum of its outputs paying the wallet.
    pub received: u64,
    /// Sum of the wallet coins it spends.
    pub sent: u64,
    /// Its fee, when every input is the wallet's (so the inputs are known).
    pub fee: Option<u64>,
}

impl Wallet {
    /// Feeds a block the node connected to its active chain. Returns whether it concerned
    /// the wallet.
    pub fn block_connected(&mut self, block: &Block) -> Result<bool> {
        let hash = block.hash();
        let height = block.header.height;
        let mut dirty = Dirty::default();
        let mut relevant = false;
        loop {
            let derived = self.meta.derived;
            for tx in &block.transactions {
                let confirmed = Some((hash, height));
                relevant |= self.connect_tx(tx, confirmed, block.header.time, &mut dirty)?;
            }
            if self.meta.derived == derived {
                break;
            }
        }
        // An unconfirmed transaction whose input the block spends otherwise can never confirm,
        // even when the wallet owns neither that input nor the block's spender (a payment
        // received whose payer double-spent it).
        let spent: HashMap<OutPoint, Txid> = block
            .transactions
            .iter()
            .skip(1)
            .flat_map(|tx| {
                let txid = tx.txid();
                tx.inputs.iter().map(move |i| (i.prevout, txid))
            })
            .collect();
        let voided: Vec<Txid> = self
            .txs
            .iter()
            .filter(|(txid, wtx)| {
                wtx.block.is_none()
                    && !wtx.conflicted
                    && wtx
                        .tx
                        .inputs
                        .iter()
                        .any(|i| spent.get(&i.prevout).is_some_and(|s| s != *txid))
            })
            .map(|(txid, _)| *txid)
            .collect();
        for txid in voided {
            relevant = true;
            self.mark_conflicted(txid, &mut dirty);
        }
        self.meta.last_block = Some((hash.0, height));
        dirty.meta = true;
        self.persist(dirty, relevant)?;
        Ok(relevant)
    }

    /// Feeds a block the node disconnected from its active chain (tip first). Returns
    /// whether it concerned the wallet.
    pub fn block_disconnected(&mut self, block: &Block) -> Result<bool> {
        let mut dirty = Dirty::default();
        let mut relevant = false;
        for tx in block.transactions.iter().rev() {
            let txid = tx.txid();
            let Some(wtx) = self.txs.get_mut(&txid) else {
                continue;
            };
            if wtx.block.is_none_or(|(h, _)| h != block.hash()) {
                continue;
            }
            relevant = true;
            dirty.txs.insert(txid);
            if tx.is_coinbase() {
                // Its outputs no longer exist: forget it, and what spent it can never confirm.
                self.txs.remove(&txid);
                for vout in 0..tx.outputs.len() as u32 {
                    let op = OutPoint { txid, vout };
                    if let Some(out) = self.outputs.remove(&op) {
                        dirty.outputs.insert(op);
                        if let Some(child) = out.spent_by {
                            self.mark_conflicted(child, &mut dirty);
                        }
                    }
                }
            } else {
                wtx.block = None;
                for vout in 0..tx.outputs.len() as u32 {
                    let op = OutPoint { txid, vout };
                    if let Some(out) = self.outputs.get_mut(&op) {
                        out.height = None;
                        dirty.outputs.insert(op);
                    }
                }
            }
        }
        self.meta.last_block = Some((
            block.header.prev_hash.0,
            block.header.height.saturating_sub(1),
        ));
        dirty.meta = true;
        self.persist(dirty, relevant)?;
        Ok(relevant)
    }

    /// Feeds a transaction the node accepted into its mempool (or the wallet just sent),
    /// first seen at `time`. Returns whether it concerns the wallet.
    pub fn add_unconfirmed_transaction(&mut self, tx: &Transaction, time: u64) -> Result<bool> {
        let mut dirty = Dirty::default();
        let relevant = self.connect_tx(tx, None, time, &mut dirty)?;
        if relevant {
            self.persist(dirty, true)?;
        }
        Ok(relevant)
    }

    /// Records `tx` (confirmed in `block`, or unconfirmed): the wallet outputs it spends and
    /// the ones it creates. Does nothing for a transaction that does not touch the wallet.
    fn connect_tx(
        &mut self,
        tx: &Transaction,
        block: Option<(BlockHash, u64)>,
        time: u64,
        dirty: &mut Dirty,
    ) -> Result<bool> {
        let spends = tx
            .inputs
            .iter()
            .any(|i| self.outputs.contains_key(&i.prevout));
        let pays = tx.outputs.iter().any(|o| self.keys.contains_key(&o.pubkey));
        if !spends && !pays {
            return Ok(false);
        }
        let txid = tx.txid();
        for input in &tx.inputs {
            let other = match self.outputs.get(&input.prevout) {
                Some(out) => out.spent_by,
                None => continue,
            };
            if let Some(other) = other.filter(|&o| o != txid) {
                if block.is_none() {
                    // The node accepted a double spend of a coin whose spender it knows:
                    // only a block decides; keep the first.
                    continue;
                }
                self.mark_conflicted(other, dirty);
            }
            if let Some(out) = self.outputs.get_mut(&input.prevout) {
                out.spent_by = Some(txid);
                dirty.outputs.insert(input.prevout);
            }
        }
        for (vout, output) in tx.outputs.iter().enumerate() {
            if !self.keys.contains_key(&output.pubkey) {
                continue;
            }
            let op = OutPoint {
                txid,
                vout: vout as u32,
            };
            let spent_by = self.outputs.get(&op).and_then(|o| o.spent_by);
            self.outputs.insert(
                op,
                OutputRecord {
                    value: output.value,
                    pubkey: output.pubkey,
                    height: block.map(|(_, h)| h),
                    coinbase: tx.is_coinbase(),
                    spent_by,
                },
            );
            dirty.outputs.insert(op);
            self.mark_used(&output.pubkey, dirty)?;
        }
        let entry = self.txs.entry(txid).or_insert_with(|| WalletTx {
            tx: tx.clone(),
            block: None,
            time,
            conflicted: false,
        });
        if block.is_some() {
            entry.block = block;
        }
        entry.conflicted = false;
        dirty.txs.insert(txid);
        Ok(true)
    }

    /// Marks `txid` and every wallet transaction spending its outputs conflicted, freeing
    /// the coins they spent.
    fn mark_conflicted(&mut self, txid: Txid, dirty: &mut Dirty) {
        let mut stack = vec![txid];
        while let Some(txid) = stack.pop() {
            let Some(wtx) = self.txs.get_mut(&txid) else {
                continue;
            };
            if wtx.conflicted || wtx.block.is_some() {
                continue;
            }
            wtx.conflicted = true;
            dirty.txs.insert(txid);
            let tx = wtx.tx.clone();
            for input in &tx.inputs {
                if let Some(out) = self.outputs.get_mut(&input.prevout)
                    && out.spent_by == Some(txid)
                {
                    out.spent_by = None;
                    dirty.outputs.insert(input.prevout);
                }
            }
            for vout in 0..tx.outputs.len() as u32 {
                if let Some(child) = self
                    .outputs
                    .get(&OutPoint { txid, vout })
                    .and_then(|o| o.spent_by)
                {
                    stack.push(child);
                }
            }
        }
    }

    /// How an unspent, unconflicted output counts at `tip_height`, with its confirmations;
    /// `None` for one that is spent or conflicted.
    fn status(
        &self,
        op: &OutPoint,
        out: &OutputRecord,
        tip_height: u64,
    ) -> Option<(OutputStatus, u64)> {
        if out.spent_by.is_some() {
            return None;
        }
        let wtx = self.txs.get(&op.txid)?;
        if wtx.conflicted {
            return None;
        }
        match wtx.block {
            Some((_, height)) => {
                let confirmations = (tip_height + 1).saturating_sub(height).max(1);
                if out.coinbase && confirmations < self.coinbase_maturity + 1 {
                    Some((OutputStatus::Immature, confirmations))
                } else {
                    Some((OutputStatus::Trusted, confirmations))
                }
            }
            None => {
                let own = !wtx.tx.inputs.is_empty()
                    && wtx
                        .tx
                        .inputs
                        .iter()
                        .all(|i| self.outputs.contains_key(&i.prevout));
                Some((
                    if own {
                        OutputStatus::Trusted
                    } else {
                        OutputStatus::UntrustedPending
                    },
                    0,
                ))
            }
        }
    }

    /// The balances with the chain's tip at `tip_height`.
    pub fn balances(&self, tip_height: u64) -> Balances {
        let mut b = Balances::default();
        for (op, out) in &self.outputs {
            match self.status(op, out, tip_height) {
                Some((OutputStatus::Trusted, _)) => b.trusted += out.value,
                Some((OutputStatus::UntrustedPending, _)) => b.untrusted_pending += out.value,
                Some((OutputStatus::Immature, _)) => b.immature += out.value,
                None => {}
            }
        }
        b
    }

    /// Every unspent, unconflicted output with at least `min_conf` confirmations.
    pub fn unspent(&self, tip_height: u64, min_conf: u64) -> Vec<Unspent> {
        self.outputs
            .iter()
            .filter_map(|(op, out)| {
                let (status, confirmations) = self.status(op, out, tip_height)?;
                (confirmations >= min_conf).then(|| Unspent {
                    outpoint: *op,
                    value: out.value,
                    pubkey: out.pubkey,
                    confirmations,
                    coinbase: out.coinbase,
                    status,
                    origin: self.keys[&out.pubkey],
                })
            })
            .collect()
    }

    /// The coins coin selection may use: the trusted ones.
    pub(crate) fn spendable_coins(&self, tip_height: u64) -> Vec<Coin> {
        self.outputs
            .iter()
            .filter(|(op, out)| {
                matches!(
                    self.status(op, out, tip_height),
                    Some((OutputStatus::Trusted, _))
                )
            })
            .map(|(op, out)| Coin {
                outpoint: *op,
                value: out.value,
            })
            .collect()
    }

    /// A wallet output, spent or not.
    pub fn output(&self, op: &OutPoint) -> Option<&OutputRecord> {
        self.outputs.get(op)
    }

    /// A wallet transaction.
    pub fn transaction(&self, txid: &Txid) -> Option<&WalletTx> {
        self.txs.get(txid)
    }

    /// Every wallet transaction, oldest first (by time, then txid).
    pub fn transactions(&self) -> Vec<(Txid, &WalletTx)> {
        let mut all: Vec<(Txid, &WalletTx)> = self.txs.iter().map(|(k, v)| (*k, v)).collect();
        all.sort_by_key(|(txid, t)| (t.block.map_or(u64::MAX, |(_, h)| h), t.time, *txid));
        all
    }

    /// What `wtx` received, sent and paid in fee, for the wallet.
    pub fn amounts(&self, wtx: &WalletTx) -> TxAmounts {
        let received = wtx
            .tx
            .outputs
            .iter()
            .filter(|o| self.keys.contains_key(&o.pubkey))
            .map(|o| o.value)
            .sum();
        let mine: Vec<u64> = wtx
            .tx
            .inputs
            .iter()
            .filter_map(|i| self.outputs.get(&i.prevout).map(|o| o.value))
            .collect();
        let sent: u64 = mine.iter().sum();
        let fee = (!wtx.tx.inputs.is_empty() && mine.len() == wtx.tx.inputs.len())
            .then(|| sent.saturating_sub(wtx.tx.outputs.iter().map(|o| o.value).sum()));
        TxAmounts {
            received,
            sent,
            fee,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Branch;
    use crate::wallet::tests::{new_wallet, options};
    use coinrs_core::memchain::MemChain;
    use coinrs_core::params::ChainParams;
    use coinrs_core::sig::{SigningKey, signed_spend};
    use coinrs_core::{COIN, TxOut};

    /// A regtest chain in memory whose blocks are fed to the wallet as the node would.
    pub(crate) struct Harness {
        pub chain: MemChain,
        pub time: u64,
    }

    impl Harness {
        pub fn new() -> Self {
            let chain = MemChain::new(ChainParams::regtest());
            let time = chain.tip_header().time;
            Harness { chain, time }
        }

        /// Mines a block with `txs` paying the coinbase to `pay_to`, connects it to the
        /// chain and to the wallet.
        pub fn mine(&mut self, w: &mut Wallet, txs: Vec<Transaction>, pay_to: [u8; 32]) -> Block {
            self.time += 600;
            let block = self.chain.build_block(txs, 0, pay_to, self.time);
            self.chain.submit(&block.encode(), self.time).unwrap();
            w.block_connected(&block).unwrap();
            block
        }

        pub fn height(&self) -> u64 {
            self.chain.height()
        }
    }

    fn outsider() -> SigningKey {
        SigningKey::from_secret_bytes([42u8; 32]).unwrap()
    }

    #[test]
    fn coinbase_is_immature_until_maturity_plus_one_confirmations() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = new_wallet(dir.path());
        let mut h = Harness::new();
        let key = w.new_key(Branch::Receive).unwrap();
        h.mine(&mut w, vec![], key);
        let reward = w.balances(h.height()).immature;
        assert!(reward > 0);
        let maturity = ChainParams::regtest().coinbase_maturity;
        // The coinbase has maturity confirmations after maturity−1 more blocks: still immature.
        for _ in 0..maturity - 1 {
            h.mine(&mut w, vec![], outsider().public_key());
        }
        assert_eq!(
            w.balances(h.height()),
            Balances {
                immature: reward,
                ..Balances::default()
            }
        );
        h.mine(&mut w, vec![], outsider().public_key());
        assert_eq!(
            w.balances(h.height()),
            Balances {
                trusted: reward,
                ..Balances::default()
            }
        );
        assert_eq!(w.unspent(h.height(), 1).len(), 1);
        assert_eq!(w.last_block().unwrap().1, h.height());
    }

    #[test]
    fn payments_move_from_pending_to_trusted_and_back_on_a_reorganisation() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = new_wallet(dir.path());
        let mut h = Harness::new();
        let maturity = ChainParams::regtest().coinbase_maturity;
        // An outsider's mature coinbase pays the wallet.
        let cb = h.mine(&mut w, vec![], outsider().public_key());
        for _ in 0..maturity {
            h.mine(&mut w, vec![], outsider().public_key());
        }
        let key = w.new_key(Branch::Receive).unwrap();
        let pay = signed_spend(
            &outsider(),
            &[cb.transactions[0].outpoint(0)],
            vec![TxOut {
                value: 7 * COIN,
                pubkey: key,
            }],
            0,
        );
        assert!(w.add_unconfirmed_transaction(&pay, 1).unwrap());
        assert_eq!(w.balances(h.height()).untrusted_pending, 7 * COIN);
        let block = h.mine(&mut w, vec![pay.clone()], outsider().public_key());
        assert_eq!(
            w.balances(h.height()),
            Balances {
                trusted: 7 * COIN,
                ..Balances::default()
            }
        );
        assert_eq!(
            w.transaction(&pay.txid()).unwrap().block,
            Some((block.hash(), block.header.height))
        );

        // The block goes: the payment is pending again, not lost.
        w.block_disconnected(&block).unwrap();
        assert_eq!(w.balances(h.height() - 1).untrusted_pending, 7 * COIN);
        assert_eq!(
            w.last_block(),
            Some((block.header.prev_hash, block.header.height - 1))
        );
        // Connected again (twice: feeding a block twice changes nothing).
        w.block_connected(&block).unwrap();
        w.block_connected(&block).unwrap();
        assert_eq!(w.balances(h.height()).trusted, 7 * COIN);
        assert_eq!(w.transactions().len(), 1);
        let amounts = w.amounts(w.transaction(&pay.txid()).unwrap());
        assert_eq!(
            amounts,
            TxAmounts {
                received: 7 * COIN,
                sent: 0,
                fee: None
            }
        );
    }

    #[test]
    fn a_mined_double_spend_conflicts_the_wallets_transaction_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = new_wallet(dir.path());
        let mut h = Harness::new();
        let maturity = ChainParams::regtest().coinbase_maturity;
        let key = w.new_key(Branch::Receive).unwrap();
        let cb = h.mine(&mut w, vec![], key);
        for _ in 0..maturity {
            h.mine(&mut w, vec![], outsider().public_key());
        }
        let reward = w.balances(h.height()).trusted;
        let signer = w.signing_key(&key).unwrap();
        let coin = cb.transactions[0].outpoint(0);
        // The wallet pays an outsider with change to itself; a child spends the change.
        let change = w.new_key(Branch::Change).unwrap();
        let spend = signed_spend(
            &signer,
            &[coin],
            vec![
                TxOut {
                    value: COIN,
                    pubkey: outsider().public_key(),
                },
                TxOut {
                    value: reward - COIN - 1000,
                    pubkey: change,
                },
            ],
            0,
        );
        w.add_unconfirmed_transaction(&spend, 5).unwrap();
        let change_signer = w.signing_key(&change).unwrap();
        let child = signed_spend(
            &change_signer,
            &[spend.outpoint(1)],
            vec![TxOut {
                value: reward - COIN - 2000,
                pubkey: outsider().public_key(),
            }],
            0,
        );
        w.add_unconfirmed_transaction(&child, 6).unwrap();
        assert_eq!(w.balances(h.height()), Balances::default());

        // A block mines a different spend of the same coin back to the wallet.
        let double = signed_spend(
            &signer,
            &[coin],
            vec![TxOut {
                value: reward - 500,
                pubkey: key,
            }],
            0,
        );
        h.mine(&mut w, vec![double.clone()], outsider().public_key());
        assert!(w.transaction(&spend.txid()).unwrap().conflicted);
        assert!(w.transaction(&child.txid()).unwrap().conflicted);
        assert_eq!(w.output(&coin).unwrap().spent_by, Some(double.txid()));
        assert_eq!(
            w.balances(h.height()),
            Balances {
                trusted: reward - 500,
                ..Balances::default()
            }
        );
    }

    #[test]
    fn a_disconnected_coinbase_disappears() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = new_wallet(dir.path());
        let mut h = Harness::new();
        let key = w.new_key(Branch::Receive).unwrap();
        let block = h.mine(&mut w, vec![], key);
        assert!(w.balances(1).immature > 0);
        assert!(w.block_disconnected(&block).unwrap());
        assert_eq!(w.balances(0), Balances::default());
        assert!(w.transactions().is_empty());
        assert!(w.unspent(0, 0).is_empty());
    }

    #[test]
    fn a_restore_finds_coins_beyond_the_first_gap() {
        let dir = tempfile::tempdir().unwrap();
        let mut original = new_wallet(dir.path());
        let mut h = Harness::new();
        // Receive keys 15, 30 and 45: each within 20 of the one before, all beyond the first
        // 20 but the first.
        let mut keys = Vec::new();
        for i in 0..=45 {
            let k = original.new_key(Branch::Receive).unwrap();
            if i % 15 == 0 && i > 0 {
                keys.push(k);
            }
        }
        let mut blocks = Vec::new();
        for k in &keys {
            blocks.push(h.mine(&mut original, vec![], *k));
        }
        let restored_path = dir.path().join("restored.redb");
        let mut restored =
            Wallet::create(&restored_path, &ChainParams::regtest(), "r", options()).unwrap();
        for b in &blocks {
            restored.block_connected(b).unwrap();
        }
        assert_eq!(restored.balances(3), original.balances(3));
        assert_eq!(restored.unspent(3, 0).len(), 3);
        // The next address handed out comes after the last one used.
        let next = restored.new_key(Branch::Receive).unwrap();
        assert_eq!(restored.key_path(&next).unwrap(), "m/86'/1'/0'/0/46");
        // And the state is on disk.
        drop(restored);
        let reopened = Wallet::open(&restored_path, &ChainParams::regtest()).unwrap();
        assert_eq!(reopened.unspent(3, 0).len(), 3);
        assert_eq!(reopened.gap_limit(), 20);
    }

    #[test]
    fn one_block_paying_keys_past_each_others_gap_is_found_in_one_feed() {
        let dir = tempfile::tempdir().unwrap();
        let mut original = new_wallet(dir.path());
        let mut h = Harness::new();
        let maturity = ChainParams::regtest().coinbase_maturity;
        let cb = h.mine(&mut original, vec![], outsider().public_key());
        for _ in 0..maturity {
            h.mine(&mut original, vec![], outsider().public_key());
        }
        let keys: Vec<[u8; 32]> = (0..40)
            .map(|_| original.new_key(Branch::Receive).unwrap())
            .collect();
        // One transaction paying key 39 first and key 19 second: 39 is only derived once 19
        // has been seen.
        let pay = signed_spend(
            &outsider(),
            &[cb.transactions[0].outpoint(0)],
            vec![
                TxOut {
                    value: COIN,
                    pubkey: keys[39],
                },
                TxOut {
                    value: COIN,
                    pubkey: keys[19],
                },
            ],
            0,
        );
        let block = h.mine(&mut original, vec![pay], outsider().public_key());
        let mut restored = Wallet::create(
            &dir.path().join("r.redb"),
            &ChainParams::regtest(),
            "r",
            options(),
        )
        .unwrap();
        restored.block_connected(&block).unwrap();
        assert_eq!(restored.balances(h.height()).trusted, 2 * COIN);
    }
}
