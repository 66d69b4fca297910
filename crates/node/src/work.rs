//! Templates for the miner threads from the chain tip and the mempool, and solved blocks back
//! into the chain (and the mempool brought in line).

use std::sync::Arc;

use coinrs_core::BlockHash;
use coinrs_core::block::Block;
use coinrs_miner_core::WorkSource;
use coinrs_rpc::NodeContext;
use coinrs_rpc::context::now;

/// Mining work from this node's chain and mempool, paying `pubkey`.
pub struct NodeWork {
    ctx: Arc<NodeContext>,
    pubkey: [u8; 32],
}

impl NodeWork {
    /// Work for `ctx`'s chain.
    pub fn new(ctx: Arc<NodeContext>, pubkey: [u8; 32]) -> Self {
        NodeWork { ctx, pubkey }
    }
}

impl WorkSource for NodeWork {
    fn template(&self) -> Option<Block> {
        let chain = self.ctx.chain();
        let pool = self.ctx.mempool();
        let t = coinrs_rpc::template::for_tip(&self.ctx.params, &chain, &pool).ok()?;
        Some(t.block(&self.ctx.params, self.pubkey))
    }

    fn is_stale(&self, parent: &BlockHash) -> bool {
        self.ctx.chain().tip() != *parent
    }

    fn submit(&self, block: Block) {
        let mut chain = self.ctx.chain();
        let result = chain.accept_block(&block.encode(), now());
        self.ctx.sync_mempool(&mut chain);
        match result.and_then(|outcome| {
            chain.flush()?;
            Ok(outcome)
        }) {
            Ok(outcome) => tracing::info!(
                height = block.header.height,
                transactions = block.transactions.len(),
                ?outcome,
                "mined block accepted"
            ),
            Err(e) => tracing::warn!(error = %e, "mined block refused"),
        }
    }
}
