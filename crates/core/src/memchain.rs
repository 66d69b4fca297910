//! An in-memory chain: a header tree, one active branch and its unspent outputs, implementing
//! the validation traits. For tests, fuzz targets, benchmarks and tools that need a small
//! valid chain without storage; the node keeps its chain on disk (the chain crate).
//!
//! Only blocks that extend the active tip are connected (there is no reorganisation here).

use std::collections::HashMap;

use crate::block::{Block, BlockHeader};
use crate::build::build_child;
use crate::hash::BlockHash;
use crate::params::ChainParams;
use crate::transaction::{OutPoint, Transaction};
use crate::validation::{
    BlockEffects, Coin, ParentContext, ParentInfo, ParentState, RejectReason, UtxoView,
    validate_block,
};

#[derive(Clone, Debug)]
struct Entry {
    header: BlockHeader,
    invalid: bool,
    block1_time: u64,
}

/// A chain held in memory.
#[derive(Clone, Debug)]
pub struct MemChain {
    params: ChainParams,
    entries: HashMap<BlockHash, Entry>,
    active: Vec<BlockHash>,
    utxos: HashMap<OutPoint, Coin>,
}

impl MemChain {
    /// A chain holding only the genesis block of `params` (whose outputs are unspendable).
    pub fn new(params: ChainParams) -> Self {
        let genesis = params.genesis();
        let hash = genesis.hash();
        let mut entries = HashMap::new();
        entries.insert(
            hash,
            Entry {
                header: genesis.header,
                invalid: false,
                block1_time: 0,
            },
        );
        MemChain {
            params,
            entries,
            active: vec![hash],
            utxos: HashMap::new(),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Hash of the active tip.
    pub fn tip(&self) -> BlockHash {
        *self
            .active
            .last()
            .expect("the active chain always holds genesis")
    }

    /// Header of the active tip.
    pub fn tip_header(&self) -> BlockHeader {
        self.entries[&self.tip()].header
    }

    /// Height of the active tip.
    pub fn height(&self) -> u64 {
        (self.active.len() - 1) as u64
    }

    /// The unspent outputs of the active chain.
    pub fn utxos(&self) -> &HashMap<OutPoint, Coin> {
        &self.utxos
    }

    /// Marks a known block as invalid (its children then get `bad-prevblk`).
    pub fn mark_invalid(&mut self, hash: &BlockHash) {
        if let Some(e) = self.entries.get_mut(hash) {
            e.invalid = true;
        }
    }

    /// Validates `bytes` as a block on the active tip and connects it.
    pub fn submit(&mut self, bytes: &[u8], now: u64) -> Result<BlockEffects, RejectReason> {
        let (block, checked, effects) =
            validate_block(bytes, &self.params, self, &self.utxos, now)?;
        if block.header.prev_hash != self.tip() {
            // Valid on a side branch: this model keeps only one branch.
            return Err(RejectReason::PrevBlkNotFound);
        }
        for (outpoint, _) in &effects.spent {
            self.utxos.remove(outpoint);
        }
        for (outpoint, coin) in &effects.created {
            self.utxos.insert(*outpoint, *coin);
        }
        let block1_time = if block.header.height == 1 {
            block.header.time
        } else {
            self.entries[&block.header.prev_hash].block1_time
        };
        self.entries.insert(
            checked.hash,
            Entry {
                header: block.header,
                invalid: false,
                block1_time,
            },
        );
        self.active.push(checked.hash);
        Ok(effects)
    }

    /// A valid next block on the tip: see [`build_child`].
    pub fn build_block(
        &self,
        txs: Vec<Transaction>,
        fees: u64,
        pubkey: [u8; 32],
        time: u64,
    ) -> Block {
        let block1_time = self.entries[&self.tip()].block1_time;
        build_child(
            &self.params,
            &self.tip_header(),
            block1_time,
            txs,
            fees,
            pubkey,
            time,
        )
    }
}

impl ParentContext for MemChain {
    fn parent(&self, hash: &BlockHash) -> Option<ParentState> {
        let entry = self.entries.get(hash)?;
        if entry.invalid {
            return Some(ParentState::Invalid);
        }
        let mut recent_times = Vec::with_capacity(11);
        let mut cursor = Some(entry);
        while let Some(e) = cursor {
            if recent_times.len() == 11 {
                break;
            }
            recent_times.push(e.header.time);
            cursor = if e.header.height == 0 {
                None
            } else {
                self.entries.get(&e.header.prev_hash)
            };
        }
        Some(ParentState::Valid(ParentInfo {
            height: entry.header.height,
            time: entry.header.time,
            recent_times,
            block1_time: entry.block1_time,
        }))
    }
}

impl UtxoView for MemChain {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        self.utxos.get(outpoint).copied()
    }
}
