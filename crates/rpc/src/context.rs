//! What the RPC methods reach: the chain and the node's own facts. The node builds one
//! [`NodeContext`] and shares it with the server and the miner.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use coinrs_chain::Chain;
use coinrs_core::params::ChainParams;
use tokio::sync::watch;

/// Shared state of a running node.
#[derive(Debug)]
pub struct NodeContext {
    /// The chain's parameters.
    pub params: ChainParams,
    /// The chain state. A std mutex: every critical section is short and synchronous.
    pub chain: Mutex<Chain>,
    /// The chain folder.
    pub chain_dir: PathBuf,
    /// When the node started (for `uptime`).
    pub started: Instant,
    /// Set to true to stop the node (the `stop` method, signals).
    pub shutdown: watch::Sender<bool>,
}

impl NodeContext {
    /// Locks the chain. A panic while holding the lock cannot leave the store inconsistent
    /// (each change is one transaction), so a poisoned lock is taken over.
    pub fn chain(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
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
