//! Block templates: the tip, the required bits, a time after the median time past, and the
//! mempool's best transactions within the block size. Shared by `getblocktemplate`, the
//! regtest generators and the node's own miner.

use coinrs_chain::Chain;
use coinrs_core::block::{Block, BlockHeader};
use coinrs_core::build::child_template;
use coinrs_core::params::ChainParams;
use coinrs_core::{BlockHash, Transaction, TxOut};
use coinrs_mempool::{Mempool, Template};

use crate::context::now;
use crate::error::RpcError;

/// What a miner needs to build the next block.
#[derive(Debug)]
pub struct TipTemplate {
    /// The tip the block builds on.
    pub parent: BlockHash,
    /// The new block's height.
    pub height: u64,
    /// Required bits.
    pub bits: u32,
    /// The clock, or just after the median time past if that is later.
    pub time: u64,
    /// The earliest valid time (median time past + 1).
    pub mintime: u64,
    /// Subsidy plus the fees of the transactions.
    pub coinbase_value: u64,
    /// The transactions chosen from the mempool.
    pub template: Template,
    parent_header: BlockHeader,
    block1_time: u64,
}

/// Bytes left for transactions in a block: the block size minus the header, the
/// transaction count and a one-output coinbase.
pub fn tx_budget(params: &ChainParams) -> usize {
    let coinbase = Transaction {
        version: 1,
        inputs: vec![],
        outputs: vec![TxOut {
            value: 0,
            pubkey: [0; 32],
        }],
        lock_time: 0,
    };
    (params.max_block_size as usize).saturating_sub(BlockHeader::SIZE + 4 + coinbase.encoded_size())
}

/// The median time past of the tip's child: the tip's `mediantime`.
fn tip_mtp(chain: &Chain) -> u64 {
    crate::json::median_time(chain, &chain.tip())
}

/// An unsolved block on the tip with exactly `txs` (whose fees are `fees`), paying `pubkey`,
/// at the clock's time or just after the median time past.
pub fn block_on_tip(
    chain: &Chain,
    txs: Vec<Transaction>,
    fees: u64,
    pubkey: [u8; 32],
) -> Result<Block, RpcError> {
    let entry = chain
        .entry(&chain.tip())
        .ok_or_else(RpcError::block_not_found)?;
    let time = now().max(tip_mtp(chain) + 1);
    Ok(child_template(
        chain.params(),
        &entry.header,
        entry.block1_time,
        txs,
        fees,
        pubkey,
        time,
    ))
}

/// The template on the chain's tip with the mempool's best transactions.
pub fn for_tip(
    params: &ChainParams,
    chain: &Chain,
    pool: &Mempool,
) -> Result<TipTemplate, RpcError> {
    let tip = chain.tip();
    let entry = chain.entry(&tip).ok_or_else(RpcError::block_not_found)?;
    let mtp = tip_mtp(chain);
    let template = pool.assemble(tx_budget(params));
    let height = entry.header.height + 1;
    Ok(TipTemplate {
        parent: tip,
        height,
        bits: params.required_bits(entry.header.height, entry.header.time, entry.block1_time),
        time: now().max(mtp + 1),
        mintime: mtp + 1,
        coinbase_value: params.subsidy(height).saturating_add(template.total_fees),
        template,
        parent_header: entry.header,
        block1_time: entry.block1_time,
    })
}

impl TipTemplate {
    /// The unsolved block paying `pubkey` (nonce 0).
    pub fn block(&self, params: &ChainParams, pubkey: [u8; 32]) -> Block {
        child_template(
            params,
            &self.parent_header,
            self.block1_time,
            self.template.txs.clone(),
            self.template.total_fees,
            pubkey,
            self.time,
        )
    }
}
