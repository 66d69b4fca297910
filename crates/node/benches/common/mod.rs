//! What the node benches share: the in-process chain builder behind their fixtures (blocks
//! built and accepted by the chain library with past timestamps, so nothing is
//! `time-too-new`), the fixture cache in `target/bench-fixtures/`, and small helpers.
//!
//! Each bench uses part of it (`mod common;`), hence the `dead_code` allowances.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use coinrs_chain::{Chain, ChainOptions};
use coinrs_core::block::Block;
use coinrs_core::build::build_child;
use coinrs_core::params::ChainParams;
use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_core::{BlockHash, OutPoint, Transaction, TxOut};

/// The clock the builder gives the chain: far ahead of every block time.
pub const NOW: u64 = 4_000_000_000;
/// Seconds between blocks.
pub const SPACING: u64 = 600;
/// Fee of each 1-in-2-out split.
pub const FEE: u64 = 300;
/// A matured coinbase is spent only when worth more than this plus `FEE` (once regtest's
/// subsidy has halved away, coinbases hold only fees: too little to spend).
pub const PAYMENT: u64 = 10_000;

/// The chain options `coinrsd` opens a store with by default: its address index and merkle
/// index on. A fixture built with them is taken as it is by a node (one without the address
/// index is refused, one without the merkle index gets it built at start).
pub fn node_options() -> ChainOptions {
    ChainOptions {
        address_index: true,
        merkle_index: true,
        ..ChainOptions::default()
    }
}

/// `target/bench-fixtures`, beside the bench executable's profile folder.
pub fn fixture_root() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable");
    // target/release/deps/<bench> → target/bench-fixtures
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target folder")
        .join("bench-fixtures")
}

/// A cached fixture: `target/bench-fixtures/NAME`, made by `build(root)` on first use (the
/// chain goes in `root/regtest`) and marked complete only when `build` returned, so an
/// interrupted build starts over.
pub fn fixture(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let root = fixture_root().join(name);
    let done = root.join("complete");
    if done.exists() {
        return root;
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("regtest")).unwrap();
    build(&root);
    std::fs::write(&done, b"").unwrap();
    root
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies `fixture` into a fresh datadir and starts a node on it with `--reindex`: the
/// datadir (bind it first, so that it outlives the node), the node and how long the start
/// took.
pub fn start_reindexed(fixture: &Path) -> (tempfile::TempDir, coinrs_testkit::Node, Duration) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(fixture, dir.path());
    let started = Instant::now();
    let node = coinrs_testkit::Node::start_in(dir.path(), "regtest", &["--reindex"]).unwrap();
    let took = started.elapsed();
    (dir, node, took)
}

/// The middle value.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Builds a regtest chain block by block through [`Chain::accept_block`]. One key owns
/// the coinbases and a queue of spendable coins, oldest first, which [`Self::split`] keeps
/// turning over.
pub struct ChainBuilder {
    pub chain: Chain,
    pub params: ChainParams,
    pub key: SigningKey,
    /// Coins of `key` ready to spend, oldest first, with their values.
    pub coins: VecDeque<(OutPoint, u64)>,
    /// Coins worth less are left unspent when they come up (0: only those that cannot pay
    /// the fee and the payment).
    pub min_coin: u64,
    started: Instant,
}

impl ChainBuilder {
    /// Opens (creates) the chain in `dir`.
    pub fn open(dir: &Path, options: &ChainOptions, key: SigningKey) -> Self {
        let params = ChainParams::regtest();
        let chain = Chain::open(dir, params.clone(), options, NOW).unwrap();
        ChainBuilder {
            chain,
            params,
            key,
            coins: VecDeque::new(),
            min_coin: 0,
            started: Instant::now(),
        }
    }

    /// The key's public key (the coinbases' payee).
    pub fn pubkey(&self) -> [u8; 32] {
        self.key.public_key()
    }

    /// Height of the next block on the tip.
    pub fn next_height(&self) -> u64 {
        self.chain.height() + 1
    }

    /// The coinbase output that matures in the next block (of `coinbase_maturity` blocks
    /// before it), with its value.
    pub fn matured_coinbase(&self) -> Option<(OutPoint, u64)> {
        let height = self.next_height();
        if height <= self.params.coinbase_maturity {
            return None;
        }
        let hash = self
            .chain
            .hash_at(height - self.params.coinbase_maturity)
            .unwrap();
        let cb = self.chain.block(&hash).unwrap().unwrap().transactions[0].clone();
        Some((
            OutPoint {
                txid: cb.txid(),
                vout: 0,
            },
            cb.outputs[0].value,
        ))
    }

    /// Adds the matured coinbase (if any, and worth spending) to the queue.
    pub fn queue_matured_coinbase(&mut self) {
        if let Some((op, value)) = self.matured_coinbase()
            && value > FEE + PAYMENT
        {
            self.coins.push_back((op, value));
        }
    }

    /// Takes the oldest queued coin worth at least `least` and `min_coin`; smaller ones
    /// before it leave the queue.
    pub fn take_coin(&mut self, least: u64) -> (OutPoint, u64) {
        let least = self.min_coin.max(least);
        loop {
            let coin = self.coins.pop_front().expect("a coin to spend");
            if coin.1 >= least {
                return coin;
            }
        }
    }

    /// A 1-in-2-out spend of the oldest coin ([`Self::take_coin`]): with `Some((pubkey,
    /// value))` paying that, the rest minus `FEE` back to the key; with `None`, two halves
    /// back to the key. The key's outputs go back on the queue.
    pub fn spend(&mut self, pay: Option<([u8; 32], u64)>) -> Transaction {
        let (op, value) = self.take_coin(FEE + pay.map_or(0, |p| p.1));
        let pk = self.pubkey();
        let (first, first_value) = match pay {
            Some((to, v)) => (to, v),
            None => (pk, (value - FEE) / 2),
        };
        let outputs = vec![
            TxOut {
                value: first_value,
                pubkey: first,
            },
            TxOut {
                value: value - FEE - first_value,
                pubkey: pk,
            },
        ];
        let tx = signed_spend(&self.key, &[op], outputs, 0);
        let txid = tx.txid();
        if pay.is_none() {
            self.coins
                .push_back((OutPoint { txid, vout: 0 }, first_value));
        }
        self.coins
            .push_back((OutPoint { txid, vout: 1 }, value - FEE - first_value));
        tx
    }

    /// A 1-in-2-out spend of the oldest coin into two halves for the key.
    pub fn split(&mut self) -> Transaction {
        self.spend(None)
    }

    /// A child of `parent` holding `txs` (whose fees are `fees`), coinbase to the key,
    /// `SPACING` seconds after its parent; not accepted.
    pub fn child_of(&self, parent: &BlockHash, txs: Vec<Transaction>, fees: u64) -> Block {
        let p = self.chain.entry(parent).expect("a known parent").clone();
        build_child(
            &self.params,
            &p.header,
            p.block1_time,
            txs,
            fees,
            self.pubkey(),
            p.header.time + SPACING,
        )
    }

    /// Hands a block to the chain (what it does with it is the chain's business: a block
    /// that breaks a rule is recorded as invalid).
    pub fn accept(&mut self, block: &Block) -> BlockHash {
        let _ = self.chain.accept_block(&block.encode(), NOW);
        block.hash()
    }

    /// Mines `txs` (fees `fees`) on the tip; prints progress every 1 000 blocks.
    pub fn mine(&mut self, txs: Vec<Transaction>, fees: u64) -> BlockHash {
        let block = self.child_of(&self.chain.tip(), txs, fees);
        self.chain
            .accept_block(&block.encode(), NOW)
            .expect("a valid block");
        let height = self.chain.height();
        if height.is_multiple_of(1000) {
            eprintln!(
                "fixture: {height} blocks ({:.0} s)",
                self.started.elapsed().as_secs_f64()
            );
        }
        block.hash()
    }

    /// Mines `n` splits of the oldest coins.
    pub fn mine_splits(&mut self, n: usize) -> BlockHash {
        let txs: Vec<_> = (0..n).map(|_| self.split()).collect();
        let fees = FEE * txs.len() as u64;
        self.mine(txs, fees)
    }

    /// Makes everything durable and closes the chain.
    pub fn finish(mut self) {
        self.chain.flush().unwrap();
    }
}
