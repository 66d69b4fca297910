//! A regtest chain with mature coins, a valid spend and a valid next block, built once; the
//! fuzz input is used both as raw bytes and as an XOR mask over these valid encodings, so that
//! mutations reach the rules behind decoding and proof of work.

// Shared by both targets; each uses a part of it.
#![allow(dead_code)]

use std::sync::OnceLock;

use coinrs_core::block::Block;
use coinrs_core::memchain::MemChain;
use coinrs_core::merkle::merkle_root;
use coinrs_core::params::ChainParams;
use coinrs_core::sig::{SigningKey, sign_transaction};
use coinrs_core::{Hash, OutPoint, Transaction, TxIn, TxOut};

pub const NOW: u64 = 1_523_724_808 + 100_000_000;

pub struct Fixture {
    pub chain: MemChain,
    pub spend: Transaction,
    pub block: Block,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = SigningKey::from_secret_bytes([0x11; 32]).unwrap();
        let mut chain = MemChain::new(ChainParams::regtest());
        for _ in 0..102 {
            let t = chain.tip_header().time + 600;
            let b = chain.build_block(vec![], 0, key.public_key(), t);
            chain.submit(&b.encode(), NOW).unwrap();
        }
        let mut coins: Vec<(OutPoint, u64)> = chain
            .utxos()
            .iter()
            .filter(|(_, c)| c.height <= 2)
            .map(|(op, c)| (*op, c.output.value))
            .collect();
        coins.sort();
        let mut spend = Transaction {
            version: 1,
            inputs: coins
                .iter()
                .map(|(op, _)| TxIn { prevout: *op, signature: [0; 64] })
                .collect(),
            outputs: vec![
                TxOut { value: coins[0].1, pubkey: key.public_key() },
                TxOut { value: coins[1].1 - 1000, pubkey: key.public_key() },
            ],
            lock_time: 0,
        };
        sign_transaction(&mut spend, &[key, key], &[0; 32]).unwrap();
        let t = chain.tip_header().time + 600;
        let block = chain.build_block(vec![spend.clone()], 1000, key.public_key(), t);
        Fixture { chain, spend, block }
    })
}

/// `base` with `mask` XORed over it from the position given by the mask's first two bytes.
pub fn overlay(base: &[u8], mask: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    if mask.len() < 2 || out.is_empty() {
        return out;
    }
    let start = usize::from(u16::from_le_bytes([mask[0], mask[1]])) % out.len();
    for (i, m) in mask[2..].iter().enumerate() {
        if let Some(b) = out.get_mut(start + i) {
            *b ^= m;
        }
    }
    out
}

/// Makes a mutated block consistent again (merkle root, and a nonce meeting its bits within 64
/// tries, plenty on regtest's target) so that the transaction rules are reached.
pub fn reseal(block: &mut Block) {
    let leaves: Vec<Hash> = block.transactions.iter().map(|t| t.txid().0).collect();
    block.header.merkle_root = merkle_root(&leaves);
    let mut h = block.header;
    if coinrs_core::pow::bits_to_target(h.bits).is_ok() {
        for _ in 0..64 {
            let target = coinrs_core::pow::bits_to_target(h.bits).unwrap();
            if coinrs_core::pow::hash_meets_target(&h.hash().0, &target) {
                block.header = h;
                return;
            }
            h.nonce = h.nonce.wrapping_add(1);
        }
    }
}
