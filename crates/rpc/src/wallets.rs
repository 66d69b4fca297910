//! The node's loaded wallets: files at `<chain dir>/wallets/<NAME>.redb`, kept in line with
//! the chain (every connect/disconnect event is fed to every loaded wallet, in order) and
//! with the mempool (transactions accepted from peers or RPC). Lock order: chain, mempool,
//! then wallets.
//!
//! The names of the wallets loaded are kept in `<chain dir>/wallets/settings.json` so that
//! the next start loads them again (as Bitcoin Core's `load_on_startup`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use coinrs_chain::{Chain, ChainEvent};
use coinrs_core::params::ChainParams;
use coinrs_core::{BlockHash, Transaction};
use coinrs_wallet::{FeeRate, Wallet, WalletError};

use crate::error::{RpcError, code};

/// Blocks between two progress lines of a rescan.
const PROGRESS_EVERY: u64 = 1000;

/// One loaded wallet and its session settings.
#[derive(Debug)]
pub struct LoadedWallet {
    /// The wallet.
    pub wallet: Wallet,
    /// `settxfee` (None: the node's default).
    pub fee_rate: Option<FeeRate>,
}

/// The loaded wallets by name.
#[derive(Debug, Default)]
pub struct Wallets {
    loaded: Mutex<BTreeMap<String, LoadedWallet>>,
    /// `--paytxfee` (None: the mempool's minimum relay fee rate).
    pub pay_tx_fee: Option<FeeRate>,
}

/// The folder of the wallet files.
pub fn wallet_dir(chain_dir: &Path) -> PathBuf {
    chain_dir.join("wallets")
}

/// Checks a wallet name: 1 to 64 characters of letters, digits, `-`, `_` and `.`, not starting
/// with a dot (no path separators, so a name never leaves the wallets folder).
pub fn check_name(name: &str) -> Result<(), RpcError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(RpcError::invalid_parameter(format!(
            "Invalid wallet name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
        )))
    }
}

/// The file of the wallet `name`.
pub fn wallet_path(chain_dir: &Path, name: &str) -> PathBuf {
    wallet_dir(chain_dir).join(format!("{name}.redb"))
}

fn settings_path(chain_dir: &Path) -> PathBuf {
    wallet_dir(chain_dir).join("settings.json")
}

/// The names saved as loaded at the last change.
pub fn saved_names(chain_dir: &Path) -> Vec<String> {
    std::fs::read(settings_path(chain_dir))
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
        .unwrap_or_default()
}

/// Maps a wallet error to Bitcoin Core's code.
pub fn wallet_error(e: WalletError) -> RpcError {
    let c = match &e {
        WalletError::Locked => code::WALLET_UNLOCK_NEEDED,
        WalletError::WrongPassphrase => code::WALLET_PASSPHRASE_INCORRECT,
        WalletError::InsufficientFunds { .. } => code::WALLET_INSUFFICIENT_FUNDS,
        WalletError::Address(_) => code::INVALID_ADDRESS_OR_KEY,
        WalletError::NotEncrypted => code::WALLET_WRONG_ENC_STATE,
        WalletError::AlreadyEncrypted => code::WALLET_WRONG_ENC_STATE,
        WalletError::NotMine(_)
        | WalletError::ForeignChain { .. }
        | WalletError::SchemaTooNew { .. }
        | WalletError::AlreadyExists(_)
        | WalletError::NotFound(_)
        | WalletError::Corrupt { .. }
        | WalletError::DiskFull { .. }
        | WalletError::Storage { .. }
        | WalletError::Random(_) => code::WALLET_ERROR,
        _ => code::INVALID_PARAMETER,
    };
    RpcError::new(c, e.to_string())
}

impl Wallets {
    /// No wallet loaded yet; `pay_tx_fee` from `--paytxfee`.
    pub fn new(pay_tx_fee: Option<FeeRate>) -> Self {
        Wallets {
            loaded: Mutex::default(),
            pay_tx_fee,
        }
    }

    /// Locks the registry (after the chain and the mempool, when those are needed too).
    pub fn lock(&self) -> MutexGuard<'_, BTreeMap<String, LoadedWallet>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The name a call addresses: the one given (`/wallet/NAME`), else the only loaded one.
    pub fn select(
        map: &BTreeMap<String, LoadedWallet>,
        given: Option<&str>,
    ) -> Result<String, RpcError> {
        match given {
            Some(name) => {
                if map.contains_key(name) {
                    Ok(name.to_string())
                } else {
                    Err(RpcError::new(
                        code::WALLET_NOT_FOUND,
                        "Requested wallet does not exist or is not loaded",
                    ))
                }
            }
            None => match map.len() {
                0 => Err(RpcError::new(
                    code::WALLET_NOT_FOUND,
                    "No wallet is loaded. Load a wallet using loadwallet or create a new one with createwallet. (Note: A default wallet is no longer automatically created)",
                )),
                1 => Ok(map.keys().next().cloned().unwrap_or_default()),
                _ => Err(RpcError::new(
                    code::WALLET_NOT_SPECIFIED,
                    "Wallet file not specified (must request wallet RPC through /wallet/<filename> uri-path).",
                )),
            },
        }
    }

    /// Writes the names of the loaded wallets to the settings file.
    pub fn save_names(&self, chain_dir: &Path, map: &BTreeMap<String, LoadedWallet>) {
        let names: Vec<&String> = map.keys().collect();
        let path = settings_path(chain_dir);
        let tmp = path.with_extension("json.tmp");
        let result = serde_json::to_vec(&names)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot save the list of loaded wallets");
        }
    }

    /// Adds an opened wallet after bringing it up to the chain's tip.
    pub fn insert(&self, chain: &Chain, chain_dir: &Path, wallet: Wallet) -> Result<(), RpcError> {
        let name = wallet.name().to_string();
        self.insert_as(chain, chain_dir, name, wallet)
    }

    /// [`Wallets::insert`] under `name` (the file's name, which a copied file may not
    /// share with the name stored inside it).
    pub fn insert_as(
        &self,
        chain: &Chain,
        chain_dir: &Path,
        name: String,
        mut wallet: Wallet,
    ) -> Result<(), RpcError> {
        catch_up(chain, &mut wallet)?;
        let mut map = self.lock();
        if map.contains_key(&name) {
            return Err(RpcError::new(
                code::WALLET_ALREADY_LOADED,
                format!("Wallet \"{name}\" is already loaded."),
            ));
        }
        map.insert(
            name,
            LoadedWallet {
                wallet,
                fee_rate: None,
            },
        );
        self.save_names(chain_dir, &map);
        Ok(())
    }

    /// Feeds the chain's events (in order) to every loaded wallet.
    pub fn chain_events(&self, chain: &Chain, events: &[ChainEvent]) {
        let mut map = self.lock();
        if map.is_empty() {
            return;
        }
        for e in events {
            let (hash, connected) = match e {
                ChainEvent::Connected(h) => (h, true),
                ChainEvent::Disconnected(h) => (h, false),
            };
            let block = match chain.block(hash) {
                Ok(Some(b)) => b,
                _ => {
                    tracing::error!(block = %hash, "cannot read a block for the wallets");
                    continue;
                }
            };
            for (name, w) in map.iter_mut() {
                let r = if connected {
                    w.wallet.block_connected(&block)
                } else {
                    w.wallet.block_disconnected(&block)
                };
                if let Err(e) = r {
                    tracing::error!(wallet = %name, block = %hash, error = %e, "wallet cannot follow the chain");
                }
            }
        }
    }

    /// The loaded wallets' transactions that are not in a block (conflicted ones included),
    /// coinbases excepted.
    pub fn unconfirmed_transactions(&self) -> Vec<Transaction> {
        self.unconfirmed(true)
    }

    /// The loaded wallets' unconfirmed transactions (conflicted ones too when `conflicted`),
    /// each once and parents before children, so that offering them in order to the mempool
    /// never finds a child before the parent it spends.
    fn unconfirmed(&self, conflicted: bool) -> Vec<Transaction> {
        let map = self.lock();
        let mut txs = BTreeMap::new();
        for w in map.values() {
            for (txid, wtx) in w.wallet.transactions() {
                if wtx.block.is_none() && !wtx.tx.is_coinbase() && (conflicted || !wtx.conflicted) {
                    txs.entry(txid).or_insert_with(|| wtx.tx.clone());
                }
            }
        }
        parents_first(txs.into_values().collect())
    }

    /// A transaction any loaded wallet holds.
    pub fn find_transaction(&self, txid: &coinrs_core::Txid) -> Option<Transaction> {
        let map = self.lock();
        map.values()
            .find_map(|w| w.wallet.transaction(txid).map(|wtx| wtx.tx.clone()))
    }

    /// Offers a transaction accepted into the mempool to every loaded wallet.
    pub fn mempool_transaction(&self, tx: &Transaction, time: u64) {
        let mut map = self.lock();
        for (name, w) in map.iter_mut() {
            if let Err(e) = w.wallet.add_unconfirmed_transaction(tx, time) {
                tracing::error!(wallet = %name, error = %e, "wallet cannot record a transaction");
            }
        }
    }

    /// Loads the wallets loaded at the last stop.
    pub fn load_saved(&self, chain: &Chain, chain_dir: &Path, params: &ChainParams) {
        for name in saved_names(chain_dir) {
            if check_name(&name).is_err() {
                continue;
            }
            match Wallet::open(&wallet_path(chain_dir, &name), params) {
                Ok(w) => match self.insert(chain, chain_dir, w) {
                    Ok(()) => tracing::info!(wallet = %name, "wallet loaded"),
                    Err(e) => {
                        tracing::error!(wallet = %name, error = %e.message, "cannot load wallet")
                    }
                },
                Err(e) => tracing::error!(wallet = %name, error = %e, "cannot open wallet"),
            }
        }
    }
}

/// Offers the loaded wallets' unconfirmed transactions to the mempool again (as Core's
/// wallet resubmits its transactions): after a restart, a kill during a send, or a load.
/// Refusals (a conflict, a spent input) are logged, not errors.
pub fn resubmit_transactions(ctx: &crate::NodeContext) {
    let pending = ctx.wallets.unconfirmed(false);
    if pending.is_empty() {
        return;
    }
    let chain = ctx.chain();
    let mut pool = ctx.mempool();
    let mut accepted = 0usize;
    for tx in pending {
        let txid = tx.txid();
        match crate::methods::mempool::submit(ctx, &chain, &mut pool, tx) {
            Ok(_) => accepted += 1,
            Err(e) => {
                tracing::info!(%txid, reason = %e.message, "wallet transaction not resubmitted")
            }
        }
    }
    tracing::info!(accepted, "wallet transactions resubmitted");
}

/// `txs` reordered so that a transaction spending another's output comes after it (the
/// order is otherwise kept).
fn parents_first(txs: Vec<Transaction>) -> Vec<Transaction> {
    let index: std::collections::HashMap<_, usize> =
        txs.iter().enumerate().map(|(i, t)| (t.txid(), i)).collect();
    // 0: not seen, 1: its parents are being placed, 2: placed.
    let mut state = vec![0u8; txs.len()];
    let mut order = Vec::with_capacity(txs.len());
    for root in 0..txs.len() {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        // (transaction, next input to look at): depth-first without recursion, as a chain
        // of unconfirmed payments can be long.
        let mut stack = vec![(root, 0usize)];
        while let Some((i, k)) = stack.pop() {
            match txs[i].inputs.get(k) {
                Some(input) => {
                    stack.push((i, k + 1));
                    if let Some(&p) = index.get(&input.prevout.txid)
                        && state[p] == 0
                    {
                        state[p] = 1;
                        stack.push((p, 0));
                    }
                }
                None => {
                    state[i] = 2;
                    order.push(i);
                }
            }
        }
    }
    let mut slots: Vec<Option<Transaction>> = txs.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The wallet that receives mined coins when no `--mine-address` is given.
pub const DEFAULT_WALLET: &str = "default";

/// A new receiving key of the wallet `default` (loaded, or created when its file is missing):
/// where `--mine` pays by default.
pub fn default_wallet_key(
    wallets: &Wallets,
    chain: &Chain,
    chain_dir: &Path,
    params: &ChainParams,
) -> Result<[u8; 32], RpcError> {
    let loaded = wallets.lock().contains_key(DEFAULT_WALLET);
    if !loaded {
        let path = wallet_path(chain_dir, DEFAULT_WALLET);
        let wallet = if path.exists() {
            Wallet::open(&path, params).map_err(wallet_error)?
        } else {
            std::fs::create_dir_all(wallet_dir(chain_dir)).map_err(|e| {
                RpcError::new(
                    code::WALLET_ERROR,
                    format!("cannot create the wallets folder: {e}"),
                )
            })?;
            let opts = coinrs_wallet::CreateOptions {
                birth_height: chain.height() + 1,
                ..coinrs_wallet::CreateOptions::default()
            };
            tracing::info!("creating the wallet \"default\" for mined coins");
            Wallet::create(&path, params, DEFAULT_WALLET, opts).map_err(wallet_error)?
        };
        wallets.insert_as(chain, chain_dir, DEFAULT_WALLET.to_string(), wallet)?;
    }
    let mut map = wallets.lock();
    let w = map
        .get_mut(DEFAULT_WALLET)
        .ok_or_else(|| RpcError::new(code::WALLET_NOT_FOUND, "wallet default not loaded"))?;
    w.wallet
        .new_key(coinrs_wallet::Branch::Receive)
        .map_err(wallet_error)
}

/// Brings `wallet` from its last block (or its birth height) to the chain's tip: blocks of a
/// branch left while it was not loaded are disconnected, then the active chain's blocks are
/// connected, with a progress line every 1000 blocks.
pub fn catch_up(chain: &Chain, wallet: &mut Wallet) -> Result<(), RpcError> {
    let read = |hash: &BlockHash| -> Result<coinrs_core::block::Block, RpcError> {
        chain
            .block(hash)?
            .ok_or_else(|| RpcError::new(code::INTERNAL_ERROR, format!("block {hash} missing")))
    };
    // Step back off a branch that is no longer active.
    while let Some((hash, height)) = wallet.last_block() {
        if chain.hash_at(height) == Some(hash) {
            break;
        }
        let block = read(&hash)?;
        wallet.block_disconnected(&block).map_err(wallet_error)?;
        if wallet.last_block() == Some((hash, height)) {
            // The wallet did not move back: rescan from its birth.
            break;
        }
    }
    let start = match wallet.last_block() {
        Some((_, h)) => h + 1,
        None => wallet.birth_height(),
    };
    let tip = chain.height();
    if start > tip {
        return Ok(());
    }
    let total = tip - start + 1;
    if total > 1 {
        tracing::info!(wallet = %wallet.name(), from = start, to = tip, "rescanning");
    }
    for height in start..=tip {
        let Some(hash) = chain.hash_at(height) else {
            break;
        };
        let block = read(&hash)?;
        wallet.block_connected(&block).map_err(wallet_error)?;
        let done = height - start + 1;
        if done % PROGRESS_EVERY == 0 {
            tracing::info!(wallet = %wallet.name(), height, done, total, "rescan progress");
        }
    }
    if total > 1 {
        tracing::info!(wallet = %wallet.name(), height = tip, "rescan done");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::{OutPoint, TxIn, TxOut, Txid};

    fn tx(tag: u8, spends: &[Txid]) -> Transaction {
        let mut inputs: Vec<TxIn> = spends
            .iter()
            .map(|t| TxIn {
                prevout: OutPoint { txid: *t, vout: 0 },
                signature: [0; 64],
            })
            .collect();
        // An outside coin, so that every transaction has an input and differs by its tag.
        inputs.push(TxIn {
            prevout: OutPoint {
                txid: Txid([tag; 32]),
                vout: 9,
            },
            signature: [0; 64],
        });
        Transaction {
            version: 1,
            inputs,
            outputs: vec![TxOut {
                value: 1,
                pubkey: [tag; 32],
            }],
            lock_time: 0,
        }
    }

    #[test]
    fn children_come_after_the_parents_they_spend() {
        let a = tx(1, &[]);
        let b = tx(2, &[a.txid()]);
        let c = tx(3, &[b.txid()]);
        let d = tx(4, &[a.txid(), c.txid()]);
        let e = tx(5, &[]);
        let ordered = parents_first(vec![d.clone(), c.clone(), e.clone(), b.clone(), a.clone()]);
        let pos = |t: &Transaction| ordered.iter().position(|o| o == t).unwrap();
        assert_eq!(ordered.len(), 5);
        assert!(pos(&a) < pos(&b) && pos(&b) < pos(&c) && pos(&c) < pos(&d));
        // A long chain given children first.
        let mut chain = vec![tx(0, &[])];
        for i in 1..3000 {
            let parent = chain[i - 1].txid();
            chain.push(tx((i % 200) as u8, &[parent]));
        }
        let reversed: Vec<_> = chain.iter().rev().cloned().collect();
        assert_eq!(parents_first(reversed), chain);
    }
}
