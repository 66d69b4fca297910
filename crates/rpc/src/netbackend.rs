//! The node as the network sees it: [`coinrs_net::Backend`] over the shared chain and
//! mempool. Blocks and transactions from peers go through the same paths as `submitblock`
//! and `sendrawtransaction`, and the mempool follows the chain after each block.
//!
//! Which refusals count against a peer: every consensus failure of a block or header except
//! those an honest node can meet (`time-too-new`: clocks differ; `bad-prevblk` or a known
//! invalid block: a branch this node invalidated by hand); for transactions, only bytes that
//! do not decode and rules that no honest node relays (missing inputs, conflicts, fees,
//! maturity and finality depend on the tip and are not the peer's fault).

use coinrs_chain::{BlockOutcome, Chain, ChainError};
use coinrs_core::block::BlockHeader;
use coinrs_core::encode::decode;
use coinrs_core::{BlockHash, OutPoint, RejectReason, Transaction, Txid};
use coinrs_mempool::MempoolReject;
use coinrs_net::protocol::Status;
use coinrs_net::{Backend, BlockVerdict, HeadersVerdict, TxVerdict};

use crate::context::{NodeContext, now};

/// The most-work header that is not known invalid, and its height.
pub fn best_header(chain: &Chain) -> (BlockHash, u64) {
    chain.best_header()
}

/// The headers from just above the active chain up to the best header, oldest first. Blocks
/// that became active are dropped from the front as the tip moves, so the next blocks to
/// download are found in time proportional to the download window, not to the distance to
/// the best header; the path is rebuilt when the best header changes or no longer hangs off
/// the active chain.
#[derive(Debug, Default)]
pub struct DownloadPath {
    best: Option<BlockHash>,
    blocks: std::collections::VecDeque<(BlockHash, u64)>,
}

impl DownloadPath {
    fn update(&mut self, chain: &Chain) {
        let (best, _) = chain.best_header();
        while self.blocks.front().is_some_and(|(h, _)| chain.is_active(h)) {
            self.blocks.pop_front();
        }
        let attached = match self.blocks.front() {
            Some((h, _)) => chain
                .entry(h)
                .is_some_and(|e| chain.is_active(&e.header.prev_hash)),
            None => chain.is_active(&best),
        };
        if self.best == Some(best) && attached {
            return;
        }
        self.best = Some(best);
        self.blocks.clear();
        let mut hash = best;
        while !chain.is_active(&hash) {
            let Some(e) = chain.entry(&hash) else {
                break;
            };
            self.blocks.push_front((hash, e.header.height));
            hash = e.header.prev_hash;
        }
    }
}

/// The ancestor of `hash` at `height` (which must not be above it).
fn ancestor(chain: &Chain, mut hash: BlockHash, height: u64) -> Option<BlockHash> {
    loop {
        let e = chain.entry(&hash)?;
        let h = e.header.height;
        if h == height {
            return Some(hash);
        }
        if chain.is_active(&hash) {
            return chain.hash_at(height);
        }
        hash = e.header.prev_hash;
    }
}

fn honest_block_reason(r: RejectReason) -> bool {
    matches!(r, RejectReason::TimeTooNew | RejectReason::BadPrevblk)
}

fn honest_tx_reason(r: &MempoolReject) -> bool {
    match r {
        MempoolReject::Consensus(reason) => matches!(
            reason,
            RejectReason::BadTxnsInputsMissingOrSpent
                | RejectReason::BadTxnsPrematureSpendOfCoinbase
                | RejectReason::BadTxnsNonFinal
        ),
        _ => true,
    }
}

impl Backend for NodeContext {
    fn status(&self) -> Status {
        let chain = self.chain();
        let tip = chain.tip();
        let (best, best_height) = best_header(&chain);
        Status {
            params_digest: self.params.digest(),
            genesis: chain.hash_at(0).unwrap_or_default(),
            tip,
            height: chain.height(),
            tip_time: chain.entry(&tip).map_or(0, |e| e.header.time),
            chainwork: chain
                .entry(&tip)
                .map(|e| e.chainwork.to_be_bytes::<32>())
                .unwrap_or([0; 32]),
            best_header: best,
            best_header_height: best_height,
        }
    }

    fn locator(&self) -> Vec<BlockHash> {
        let chain = self.chain();
        let (mut hash, mut height) = best_header(&chain);
        let mut out = Vec::new();
        let mut step = 1u64;
        loop {
            out.push(hash);
            if height == 0 {
                break;
            }
            let next = height.saturating_sub(step);
            match ancestor(&chain, hash, next) {
                Some(h) => (hash, height) = (h, next),
                None => break,
            }
            if out.len() >= 10 {
                step = step.saturating_mul(2);
            }
        }
        out
    }

    fn headers_after(
        &self,
        locator: &[BlockHash],
        stop: &BlockHash,
        max: usize,
    ) -> Vec<BlockHeader> {
        let chain = self.chain();
        let start = locator
            .iter()
            .find(|h| chain.is_active(h))
            .and_then(|h| chain.entry(h))
            .map_or(1, |e| e.header.height + 1);
        let mut out = Vec::new();
        let mut height = start;
        while out.len() < max && height <= chain.height() {
            let Some(hash) = chain.hash_at(height) else {
                break;
            };
            let Some(e) = chain.entry(&hash) else {
                break;
            };
            out.push(e.header);
            if hash == *stop {
                break;
            }
            height += 1;
        }
        out
    }

    fn block_bytes(&self, hash: &BlockHash) -> Option<Vec<u8>> {
        self.chain().block(hash).ok().flatten().map(|b| b.encode())
    }

    fn has_block(&self, hash: &BlockHash) -> bool {
        self.chain()
            .entry(hash)
            .is_some_and(|e| e.has_data || e.validity.is_invalid())
    }

    fn has_header(&self, hash: &BlockHash) -> bool {
        self.chain().entry(hash).is_some()
    }

    fn accept_headers(&self, headers: &[BlockHeader]) -> HeadersVerdict {
        let Some(first) = headers.first() else {
            return HeadersVerdict::Accepted {
                last: BlockHash::default(),
                new: 0,
            };
        };
        for pair in headers.windows(2) {
            if pair[1].prev_hash != pair[0].hash() {
                return HeadersVerdict::Invalid("headers do not link".into());
            }
        }
        let mut chain = self.chain();
        if chain.entry(&first.prev_hash).is_none() {
            return HeadersVerdict::Unconnected;
        }
        let mut new = 0;
        let mut last = BlockHash::default();
        for h in headers {
            let known = chain.entry(&h.hash()).is_some();
            match chain.accept_header(h, now()) {
                Ok(hash) => {
                    last = hash;
                    new += usize::from(!known);
                }
                Err(ChainError::Rejected(r)) if honest_block_reason(r) => {
                    return HeadersVerdict::Refused(r.to_string());
                }
                Err(ChainError::Rejected(r)) => return HeadersVerdict::Invalid(r.to_string()),
                Err(e) => return HeadersVerdict::Failed(e.to_string()),
            }
        }
        HeadersVerdict::Accepted { last, new }
    }

    fn accept_block(&self, bytes: &[u8]) -> BlockVerdict {
        let Some(hash) = coinrs_net::protocol::block_hash_of(bytes) else {
            return BlockVerdict::Invalid {
                reason: "block shorter than a header".into(),
                honest: false,
            };
        };
        let mut chain = self.chain();
        let before = chain.tip();
        let result = chain.accept_block(bytes, now());
        self.sync_mempool(&mut chain);
        match result {
            Ok(BlockOutcome::Active) | Ok(BlockOutcome::SideBranch) => BlockVerdict::Accepted {
                hash,
                tip_changed: chain.tip() != before,
            },
            Ok(BlockOutcome::Orphan) => BlockVerdict::Orphan(hash),
            Ok(BlockOutcome::Duplicate) | Ok(BlockOutcome::DuplicateInconclusive) => {
                BlockVerdict::Known(hash)
            }
            Ok(BlockOutcome::DuplicateInvalid) => BlockVerdict::Invalid {
                reason: "duplicate-invalid".into(),
                honest: true,
            },
            Err(ChainError::Rejected(RejectReason::PrevBlkNotFound)) => BlockVerdict::Orphan(hash),
            Err(ChainError::Rejected(r)) => BlockVerdict::Invalid {
                reason: r.to_string(),
                honest: honest_block_reason(r),
            },
            Err(e) => BlockVerdict::Failed(e.to_string()),
        }
    }

    fn missing_blocks(&self, max: usize) -> Vec<(BlockHash, u64)> {
        let chain = self.chain();
        let mut path = self.download_path.lock().unwrap_or_else(|p| p.into_inner());
        path.update(&chain);
        path.blocks
            .iter()
            .filter(|(h, _)| chain.entry(h).is_some_and(|e| !e.has_data))
            .take(max)
            .copied()
            .collect()
    }

    fn accept_tx(&self, bytes: &[u8]) -> TxVerdict {
        let tx: Transaction = match decode(bytes) {
            Ok(t) => t,
            Err(e) => return TxVerdict::Invalid(format!("transaction does not decode: {e}")),
        };
        let txid = tx.txid();
        let chain = self.chain();
        let mut pool = self.mempool();
        if pool.contains(&txid) {
            return TxVerdict::Known(txid);
        }
        let Ok(snapshot) = chain.utxo_snapshot() else {
            return TxVerdict::Refused("cannot read the unspent outputs".into());
        };
        if (0..tx.outputs.len() as u32).any(|vout| {
            coinrs_core::validation::UtxoView::coin(&snapshot, &OutPoint { txid, vout }).is_some()
        }) {
            return TxVerdict::Known(txid);
        }
        let result = pool.accept(
            tx,
            chain.height(),
            self.params.coinbase_maturity,
            &snapshot,
            now(),
        );
        if let Some(e) = snapshot.error() {
            return TxVerdict::Refused(format!("storage error: {e}"));
        }
        match result {
            Ok(_) => {
                if let Some(entry) = pool.get(&txid) {
                    self.wallets.mempool_transaction(&entry.tx, entry.time);
                }
                TxVerdict::Accepted(txid)
            }
            Err(MempoolReject::AlreadyInMempool) => TxVerdict::Known(txid),
            Err(r) if honest_tx_reason(&r) => TxVerdict::Refused(r.to_string()),
            Err(r) => TxVerdict::Invalid(r.to_string()),
        }
    }

    fn mempool_txids(&self, max: usize) -> Vec<Txid> {
        let pool = self.mempool();
        pool.entries()
            .into_iter()
            .take(max)
            .map(|e| e.txid)
            .collect()
    }

    fn has_tx(&self, txid: &Txid) -> bool {
        if self.mempool().contains(txid) {
            return true;
        }
        self.chain().tx_location(txid).ok().flatten().is_some()
    }

    fn tx_bytes(&self, txid: &Txid) -> Option<Vec<u8>> {
        self.mempool().get(txid).map(|e| e.tx.encode())
    }

    fn recent_block_hashes(&self, max: usize) -> Vec<BlockHash> {
        let chain = self.chain();
        let height = chain.height();
        let from = (height + 1).saturating_sub(max as u64);
        (from..=height).filter_map(|h| chain.hash_at(h)).collect()
    }

    fn content(&self, digest: &coinrs_core::Hash) -> Option<Vec<u8>> {
        match self.chain().content(digest) {
            Ok(found) => found.map(|(_, bytes)| bytes),
            Err(e) => {
                // Without the merkle index a merkle node cannot be found: say don't-have.
                tracing::debug!(error = %e, "bitswap: content lookup failed");
                None
            }
        }
    }
}
