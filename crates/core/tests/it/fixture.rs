//! A regtest chain in memory with mature coins, and builders for offending objects.

use coinrs_core::block::Block;
use coinrs_core::build::grind;
use coinrs_core::memchain::MemChain;
use coinrs_core::merkle::merkle_root;
use coinrs_core::params::ChainParams;
use coinrs_core::sig::SigningKey;
use coinrs_core::validation::{BlockEffects, RejectReason};
use coinrs_core::{Hash, OutPoint, Transaction, TxOut};

/// The node's clock in these tests: far after every block time.
pub const NOW: u64 = 1_523_724_808 + 100_000_000;

pub struct Fixture {
    pub chain: MemChain,
    pub key: SigningKey,
    pub other: SigningKey,
}

impl Fixture {
    /// Regtest with `blocks` blocks on genesis, every coinbase paying `key`.
    pub fn regtest(blocks: u64) -> Self {
        Self::with_params(ChainParams::regtest(), blocks)
    }

    pub fn with_params(params: ChainParams, blocks: u64) -> Self {
        let mut f = Fixture {
            chain: MemChain::new(params),
            key: SigningKey::from_secret_bytes([0x11; 32]).unwrap(),
            other: SigningKey::from_secret_bytes([0x22; 32]).unwrap(),
        };
        for _ in 0..blocks {
            let b = f.next_block(vec![], 0);
            f.submit(&b).expect("fixture block is valid");
        }
        f
    }

    pub fn pk(&self) -> [u8; 32] {
        self.key.public_key()
    }

    /// The time of the next block: 600 s after the tip.
    pub fn next_time(&self) -> u64 {
        self.chain.tip_header().time + 600
    }

    pub fn next_block(&self, txs: Vec<Transaction>, fees: u64) -> Block {
        self.chain
            .build_block(txs, fees, self.pk(), self.next_time())
    }

    pub fn submit(&mut self, block: &Block) -> Result<BlockEffects, RejectReason> {
        self.chain.submit(&block.encode(), NOW)
    }

    /// The coinbase outpoint of the block at `height` on the active chain (value: subsidy).
    pub fn coinbase_of(&self, height: u64) -> (OutPoint, u64) {
        let found = self
            .chain
            .utxos()
            .iter()
            .find(|(_, c)| c.is_coinbase && c.height == height)
            .map(|(op, c)| (*op, c.output.value));
        found.expect("coinbase still unspent")
    }

    /// A transaction spending `inputs` (all locked to `key`) to `outputs`, signed.
    pub fn spend(&self, inputs: &[OutPoint], outputs: Vec<TxOut>) -> Transaction {
        spend_with(&self.key, inputs, outputs, 0)
    }

    pub fn out(&self, value: u64) -> TxOut {
        TxOut {
            value,
            pubkey: self.other.public_key(),
        }
    }
}

pub fn spend_with(
    key: &SigningKey,
    inputs: &[OutPoint],
    outputs: Vec<TxOut>,
    lock_time: u64,
) -> Transaction {
    coinrs_core::sig::signed_spend(key, inputs, outputs, lock_time)
}

/// Recomputes the merkle root and grinds the nonce again after a block was changed.
pub fn reseal(block: &mut Block) {
    let leaves: Vec<Hash> = block.transactions.iter().map(|t| t.txid().0).collect();
    block.header.merkle_root = merkle_root(&leaves);
    block.header.nonce = 0;
    grind(&mut block.header);
}
