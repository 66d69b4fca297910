//! Building a block on a parent: the unsolved template a miner grinds (coinbase paying
//! subsidy plus fees with `lock_time = height`, the required bits, the merkle root), and for
//! easy chains (regtest, tests, tools) the solved block.

use crate::block::{Block, BlockHeader};
use crate::hash::Hash;
use crate::merkle::merkle_root;
use crate::params::ChainParams;
use crate::pow::{bits_to_target, hash_meets_target};
use crate::transaction::{Transaction, TxOut};

/// A valid child of `parent` (on a branch whose block 1 has `block1_time`): see
/// [`child_template`]; its nonce ground to meet the bits (fine for easy chains such as
/// regtest; miners use [`crate::midstate::HeaderGrinder`]).
pub fn build_child(
    params: &ChainParams,
    parent: &BlockHeader,
    block1_time: u64,
    txs: Vec<Transaction>,
    fees: u64,
    pubkey: [u8; 32],
    time: u64,
) -> Block {
    let mut block = child_template(params, parent, block1_time, txs, fees, pubkey, time);
    grind(&mut block.header);
    block
}

/// An unsolved child of `parent` (nonce 0): a coinbase paying subsidy plus `fees` to
/// `pubkey` with `lock_time = height`, then `txs`, at `time`, with the required bits and the
/// merkle root. `fees` must be the fees of `txs`.
pub fn child_template(
    params: &ChainParams,
    parent: &BlockHeader,
    block1_time: u64,
    txs: Vec<Transaction>,
    fees: u64,
    pubkey: [u8; 32],
    time: u64,
) -> Block {
    let height = parent.height + 1;
    let coinbase = Transaction {
        version: 1,
        inputs: vec![],
        outputs: vec![TxOut {
            value: params.subsidy(height).saturating_add(fees),
            pubkey,
        }],
        lock_time: height,
    };
    let mut transactions = vec![coinbase];
    transactions.extend(txs);
    let leaves: Vec<Hash> = transactions.iter().map(|t| t.txid().0).collect();
    Block {
        header: BlockHeader {
            version: 1,
            height,
            prev_hash: parent.hash(),
            merkle_root: merkle_root(&leaves),
            time,
            bits: params.required_bits(parent.height, parent.time, block1_time),
            nonce: 0,
        },
        transactions,
    }
}

/// Sets the smallest nonce from the current one that meets the header's own bits.
pub fn grind(header: &mut BlockHeader) {
    let Ok(target) = bits_to_target(header.bits) else {
        return;
    };
    while !hash_meets_target(&header.hash().0, &target) {
        header.nonce = header.nonce.wrapping_add(1);
    }
}
