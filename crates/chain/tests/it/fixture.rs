//! A regtest chain folder and a block builder that can build on any known block.

use coinrs_chain::{BlockOutcome, Chain, ChainError, ChainOptions};
use coinrs_core::block::Block;
use coinrs_core::build::build_child;
use coinrs_core::params::ChainParams;
use coinrs_core::sig::SigningKey;
use coinrs_core::{BlockHash, OutPoint, Transaction, TxOut};
use tempfile::TempDir;

pub const NOW: u64 = 1_523_724_808 + 100_000_000;

pub struct Node {
    pub dir: TempDir,
    pub chain: Chain,
    pub key: SigningKey,
    pub options: ChainOptions,
}

pub fn options() -> ChainOptions {
    ChainOptions {
        cache_bytes: 8 * 1024 * 1024,
        ..ChainOptions::default()
    }
}

impl Node {
    pub fn new() -> Self {
        Self::with_options(options())
    }

    /// A new folder opened with these options (kept for restarts).
    pub fn with_options(options: ChainOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), ChainParams::regtest(), &options, NOW).unwrap();
        Node {
            dir,
            chain,
            key: SigningKey::from_secret_bytes([0x11; 32]).unwrap(),
            options,
        }
    }

    /// Closes and opens the folder again (as a restart does).
    pub fn restart(self) -> Self {
        let Node {
            dir,
            chain,
            key,
            options,
        } = self;
        drop(chain);
        let chain = Chain::open(dir.path(), ChainParams::regtest(), &options, NOW).unwrap();
        Node {
            dir,
            chain,
            key,
            options,
        }
    }

    /// A crash: the two files as they are on disk now (every commit so far, made durable or
    /// not, as a killed process leaves them; redb keeps its last durable commit) are copied
    /// to a new folder while the chain is still open, so nothing a close would write (the
    /// unspent-output cache) reaches them, and the copy is opened.
    pub fn crash(self) -> Self {
        let Node {
            dir: old,
            chain,
            key,
            options,
        } = self;
        let dir = tempfile::tempdir().unwrap();
        for f in [
            coinrs_chain::store::BLOCKS_FILE,
            coinrs_chain::store::STATE_FILE,
        ] {
            std::fs::copy(old.path().join(f), dir.path().join(f)).unwrap();
        }
        drop(chain);
        drop(old);
        let chain = Chain::open(dir.path(), ChainParams::regtest(), &options, NOW).unwrap();
        Node {
            dir,
            chain,
            key,
            options,
        }
    }

    /// A child of `parent` paying the node's key; `tag` changes the coinbase so that siblings
    /// differ.
    pub fn child(&self, parent: BlockHash, txs: Vec<Transaction>, fees: u64, tag: u8) -> Block {
        let e = self.chain.entry(&parent).expect("parent indexed");
        let mut pk = self.key.public_key();
        if tag != 0 {
            pk = SigningKey::from_secret_bytes([tag; 32])
                .unwrap()
                .public_key();
        }
        build_child(
            self.chain.params(),
            &e.header,
            e.block1_time,
            txs,
            fees,
            pk,
            e.header.time + 600,
        )
    }

    pub fn submit(&mut self, block: &Block) -> Result<BlockOutcome, ChainError> {
        self.chain.accept_block(&block.encode(), NOW)
    }

    /// Extends `parent` by `n` blocks (tagged `tag`), submitting each; returns their hashes.
    pub fn extend(&mut self, parent: BlockHash, n: usize, tag: u8) -> Vec<BlockHash> {
        let mut hashes = Vec::new();
        let mut p = parent;
        for _ in 0..n {
            let b = self.child(p, vec![], 0, tag);
            self.submit(&b).unwrap();
            p = b.hash();
            hashes.push(p);
        }
        hashes
    }

    /// A signed spend of outpoints locked to the node's key.
    pub fn spend(&self, inputs: &[OutPoint], outputs: Vec<TxOut>) -> Transaction {
        coinrs_core::sig::signed_spend(&self.key, inputs, outputs, 0)
    }

    /// A signed spend of an outpoint that never existed (txid `[tag; 32]`), paying 1 unit to
    /// `pubkey`: `bad-txns-inputs-missingorspent` in any block.
    pub fn spend_missing(&self, tag: u8, pubkey: [u8; 32]) -> Transaction {
        self.spend(
            &[OutPoint {
                txid: coinrs_core::Txid([tag; 32]),
                vout: 0,
            }],
            vec![TxOut { value: 1, pubkey }],
        )
    }

    /// The stored unspent outputs equal a replay of the active chain.
    pub fn assert_consistent(&self) {
        assert_eq!(
            self.chain.utxo_stats().unwrap(),
            self.chain.replay_utxo_stats().unwrap()
        );
        self.chain.verify_chain(0).unwrap();
    }
}
