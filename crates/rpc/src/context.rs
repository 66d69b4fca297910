//! What the RPC methods reach: the chain and the node's own facts. The node builds one
//! [`NodeContext`] and shares it with the server and the miner.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use coinrs_chain::{Chain, ChainEvent};
use coinrs_core::params::ChainParams;
use coinrs_mempool::Mempool;
use tokio::sync::watch;

/// Shared state of a running node.
#[derive(Debug)]
pub struct NodeContext {
    /// The chain's parameters.
    pub params: ChainParams,
    /// The chain state. A std mutex: every critical section is short and synchronous.
    /// Lock order: chain, then mempool.
    pub chain: Mutex<Chain>,
    /// Transactions waiting for a block.
    pub mempool: Mutex<Mempool>,
    /// The chain folder.
    pub chain_dir: PathBuf,
    /// When the node started (for `uptime`).
    pub started: Instant,
    /// Set to true to stop the node (the `stop` method, signals).
    pub shutdown: watch::Sender<bool>,
    /// The peer-to-peer network, once started (absent in tests that run without it).
    pub net: OnceLock<coinrs_net::Handle>,
    /// The headers between the active chain and the best header, kept between the
    /// network's calls so that finding the next blocks to download does not walk the whole
    /// header chain each time (see `netbackend`).
    pub download_path: Mutex<crate::netbackend::DownloadPath>,
    /// The loaded wallets (lock order: chain, mempool, wallets).
    pub wallets: crate::wallets::Wallets,
}

impl NodeContext {
    /// Locks the chain. A panic while holding the lock cannot leave the store inconsistent
    /// (each change is one transaction), so a poisoned lock is taken over.
    pub fn chain(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the mempool (after the chain, when both are needed).
    pub fn mempool(&self) -> MutexGuard<'_, Mempool> {
        self.mempool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the mempool in line with the chain after the chain changed: confirmed and
    /// conflicting transactions leave; after a reorganisation the transactions of the
    /// disconnected blocks come back (if still valid) and every waiting transaction is checked
    /// again against the new chain.
    pub fn sync_mempool(&self, chain: &mut Chain) {
        let events = chain.take_events();
        if events.is_empty() {
            return;
        }
        self.wallets.chain_events(chain, &events);
        if let Some(net) = self.net.get()
            && events.iter().any(|e| matches!(e, ChainEvent::Connected(_)))
        {
            net.tip_changed(chain.tip());
        }
        let mut pool = self.mempool();
        let reorg = events
            .iter()
            .any(|e| matches!(e, ChainEvent::Disconnected(_)));
        self.refill_mempool(chain, &mut pool, &events, reorg);
        self.resubmit_wallet_transactions(chain, &mut pool, reorg);
    }

    fn refill_mempool(
        &self,
        chain: &mut Chain,
        pool: &mut Mempool,
        events: &[ChainEvent],
        reorg: bool,
    ) {
        if !reorg {
            // An empty mempool has nothing to lose to a block: spare reading the blocks back
            // (during initial sync that is every block).
            if pool.is_empty() {
                return;
            }
            for e in events {
                if let ChainEvent::Connected(hash) = e
                    && let Ok(Some(block)) = chain.block(hash)
                {
                    pool.remove_for_block(&block.transactions[1..]);
                }
            }
            return;
        }
        // Disconnected blocks come newest first: put their transactions back oldest first,
        // ahead of the ones that were waiting.
        let mut returning = Vec::new();
        for e in events.iter().rev() {
            if let ChainEvent::Disconnected(hash) = e
                && let Ok(Some(block)) = chain.block(hash)
            {
                returning.extend(block.transactions.into_iter().skip(1).map(|t| (t, now())));
            }
        }
        returning.extend(pool.drain());
        let Ok(snapshot) = chain.utxo_snapshot() else {
            tracing::error!("cannot read the unspent outputs to refill the mempool");
            return;
        };
        let (kept, dropped) = pool.accept_all(
            returning,
            chain.height(),
            self.params.coinbase_maturity,
            &snapshot,
        );
        tracing::info!(
            kept,
            dropped,
            "mempool checked again after a reorganisation"
        );
    }

    /// The wallets' unconfirmed transactions missing from the mempool (conflicted ones
    /// too: the block that voided them may be gone; ones refused while a coin was immature)
    /// get another chance after each change of the chain; after a reorganisation the
    /// wallets also learn what the mempool holds now (a transaction back in it is no longer
    /// conflicted).
    fn resubmit_wallet_transactions(&self, chain: &Chain, pool: &mut Mempool, reorg: bool) {
        let pending: Vec<_> = self
            .wallets
            .unconfirmed_transactions()
            .into_iter()
            .filter(|tx| !pool.contains(&tx.txid()))
            .collect();
        let mut resubmitted = 0usize;
        if !pending.is_empty()
            && let Ok(snapshot) = chain.utxo_snapshot()
        {
            for tx in pending {
                let bytes = tx.encode();
                if pool
                    .accept(
                        tx,
                        chain.height(),
                        self.params.coinbase_maturity,
                        &snapshot,
                        now(),
                    )
                    .is_ok()
                {
                    if let Some(net) = self.net.get() {
                        net.announce_tx(bytes);
                    }
                    resubmitted += 1;
                }
            }
        }
        if resubmitted > 0 {
            tracing::info!(resubmitted, "wallet transactions back in the mempool");
        }
        if reorg || resubmitted > 0 {
            for entry in pool.entries() {
                self.wallets.mempool_transaction(&entry.tx, entry.time);
            }
        }
    }

    /// Asks the node to stop.
    pub fn request_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// The clock: Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
