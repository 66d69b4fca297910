//! Templates for the miner threads from the chain tip, and solved blocks back into the chain.

use std::sync::Arc;

use coinrs_core::BlockHash;
use coinrs_core::block::Block;
use coinrs_core::memchain::child_template;
use coinrs_core::validation::{ParentContext, ParentState, median_time_past};
use coinrs_miner_core::WorkSource;
use coinrs_rpc::NodeContext;
use coinrs_rpc::context::now;

/// Mining work from this node's chain, paying `pubkey`.
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
        let tip = chain.tip();
        let entry = chain.entry(&tip)?;
        let mtp = match chain.parent(&tip) {
            Some(ParentState::Valid(info)) => {
                median_time_past(info.height + 1, &info.recent_times).unwrap_or(0)
            }
            _ => 0,
        };
        Some(child_template(
            chain.params(),
            &entry.header,
            entry.block1_time,
            vec![],
            0,
            self.pubkey,
            now().max(mtp + 1),
        ))
    }

    fn is_stale(&self, parent: &BlockHash) -> bool {
        self.ctx.chain().tip() != *parent
    }

    fn submit(&self, block: Block) {
        let mut chain = self.ctx.chain();
        match chain
            .accept_block(&block.encode(), now())
            .and_then(|outcome| {
                chain.flush()?;
                Ok(outcome)
            }) {
            Ok(outcome) => tracing::info!(
                height = block.header.height,
                ?outcome,
                "mined block accepted"
            ),
            Err(e) => tracing::warn!(error = %e, "mined block refused"),
        }
    }
}
