//! # coinrs-node
//!
//! Wiring only: reads the configuration ([`config`]), takes the chain folder ([`datadir`]:
//! lock, cookie, the wallet or key that mined coins pay), starts logging ([`logging`]), opens the chain state, and runs
//! the tasks until a stop.
//!
//! Tasks and channels:
//! - the JSON-RPC server (tokio, `coinrs-rpc`), stopped through the `shutdown` watch channel
//!   of the shared [`coinrs_rpc::NodeContext`];
//! - the miner threads (`coinrs-miner-core`) when `--mine`, taking templates from the chain;
//! - a flush timer that makes the chain state durable every few seconds;
//! - the signal watcher: SIGINT or SIGTERM, like the `stop` method, sets `shutdown`.
//!
//! A stop: the miner stops, the server finishes its requests, the chain state is flushed, the
//! cookie is removed, the lock released.

pub mod config;
pub mod datadir;
pub mod logging;
mod work;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use coinrs_chain::{Chain, ChainOptions};
use coinrs_rpc::{NodeContext, RpcConfig};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::config::Options;

/// The saved mempool in the chain folder.
const MEMPOOL_FILE: &str = "mempool.dat";

/// The mempool saved at the last stop, each transaction checked again against the chain.
fn load_mempool(
    dir: &std::path::Path,
    chain: &Chain,
    params: &coinrs_core::params::ChainParams,
    policy: coinrs_mempool::Policy,
) -> coinrs_mempool::Mempool {
    let mut pool = coinrs_mempool::Mempool::new(policy);
    let path = dir.join(MEMPOOL_FILE);
    if !path.exists() {
        return pool;
    }
    let saved = match coinrs_mempool::load(&path) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "ignoring a damaged mempool file");
            return pool;
        }
    };
    let Ok(snapshot) = chain.utxo_snapshot() else {
        return pool;
    };
    let (kept, dropped) =
        pool.accept_all(saved, chain.height(), params.coinbase_maturity, &snapshot);
    tracing::info!(kept, dropped, "mempool loaded");
    pool
}

/// How often unflushed chain changes are made durable.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Runs a node with these options until it is stopped.
pub async fn run(options: Options) -> Result<()> {
    let params = config::chain_params(&options.chain)?;
    let root = options
        .datadir
        .clone()
        .unwrap_or_else(config::default_datadir);
    let chain_dir = root.join(&params.name);
    let _lock = datadir::DirLock::acquire(&chain_dir)?;
    logging::init(&chain_dir)?;
    tracing::info!(chain = %params.name, folder = %chain_dir.display(), version = env!("CARGO_PKG_VERSION"), "coinrsd starting");

    let (_cookie, credentials) = match (&options.rpcuser, &options.rpcpassword) {
        (Some(u), Some(p)) => (None, format!("{u}:{p}")),
        (None, None) => {
            let c = datadir::Cookie::create(&chain_dir)?;
            let creds = c.credentials.clone();
            (Some(c), creds)
        }
        _ => bail!("--rpcuser and --rpcpassword go together"),
    };

    let started = Instant::now();
    let chain_options = ChainOptions {
        cache_bytes: options.dbcache.max(4) * 1024 * 1024,
        reindex: options.reindex,
        merkle_index: options.merkleindex,
        address_index: options.addressindex,
        ..ChainOptions::default()
    };
    let chain = {
        let (dir, params) = (chain_dir.clone(), params.clone());
        tokio::task::spawn_blocking(move || {
            Chain::open(&dir, params, &chain_options, coinrs_rpc::context::now())
        })
        .await
        .context("the chain state task failed")??
    };
    tracing::info!(height = chain.height(), tip = %chain.tip(), "chain state ready");

    let mempool = load_mempool(
        &chain_dir,
        &chain,
        &params,
        config::mempool_policy(&options)?,
    );
    let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
    let ctx = Arc::new(NodeContext {
        params: params.clone(),
        chain: std::sync::Mutex::new(chain),
        mempool: std::sync::Mutex::new(mempool),
        chain_dir: chain_dir.clone(),
        started,
        shutdown: shutdown_tx,
        net: std::sync::OnceLock::new(),
        download_path: Default::default(),
        wallets: coinrs_rpc::wallets::Wallets::new(config::pay_tx_fee(&options)?),
    });
    {
        let ctx = Arc::clone(&ctx);
        tokio::task::spawn_blocking(move || {
            let chain = ctx.chain();
            ctx.wallets.load_saved(&chain, &ctx.chain_dir, &ctx.params);
            drop(chain);
            coinrs_rpc::wallets::resubmit_transactions(&ctx);
        })
        .await
        .context("the wallet loading task failed")?;
    }

    let net_config = config::net_config(&options, &params, &chain_dir)?;
    let (net, net_task) = coinrs_net::start(
        net_config,
        Arc::clone(&ctx) as Arc<dyn coinrs_net::Backend>,
        shutdown_rx.clone(),
    )
    .await
    .context("cannot start the peer-to-peer network")?;
    let _ = ctx.net.set(net);

    let rpcbind = options
        .rpcbind
        .clone()
        .unwrap_or_else(|| format!("127.0.0.1:{}", params.rpc_port));
    let listener = TcpListener::bind(&rpcbind)
        .await
        .with_context(|| format!("cannot listen for JSON-RPC on {rpcbind}"))?;
    tracing::info!(address = %rpcbind, "JSON-RPC and explorer listening (http://{rpcbind}/)");
    let explorer_config = coinrs_explorer::ExplorerConfig::default();
    let server = {
        let mut rx = shutdown_rx.clone();
        let config = RpcConfig {
            credentials,
            max_body: options.rpcmaxbody,
            threads: options.rpcthreads,
            queue: options.rpcworkqueue,
        };
        tokio::spawn(coinrs_rpc::serve(
            listener,
            Arc::clone(&ctx),
            config,
            coinrs_explorer::router(Arc::clone(&ctx), explorer_config.clone()),
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            },
        ))
    };

    let miner = if options.mine {
        let pubkey = match &options.mine_address {
            Some(a) => coinrs_core::address::decode_address(&params.hrp, a)
                .map_err(|e| anyhow::anyhow!("--mine-address {a}: {e}"))?,
            // A node that mined before wallets existed keeps its key (`importprivkey` with
            // the content of mining.key moves those coins into a wallet).
            None if chain_dir.join("mining.key").exists() => {
                datadir::mining_key(&chain_dir)?.public_key()
            }
            None => {
                let ctx = Arc::clone(&ctx);
                tokio::task::spawn_blocking(move || {
                    let chain = ctx.chain();
                    coinrs_rpc::wallets::default_wallet_key(
                        &ctx.wallets,
                        &chain,
                        &ctx.chain_dir,
                        &ctx.params,
                    )
                })
                .await
                .context("the default wallet task failed")?
                .map_err(|e| anyhow::anyhow!("wallet default for --mine: {}", e.message))?
            }
        };
        let address =
            coinrs_core::address::encode_address(&params.hrp, &pubkey).unwrap_or_default();
        let threads = options
            .mine_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        tracing::info!(%address, threads, "mining");
        let _ = explorer_config
            .mining
            .set(coinrs_explorer::MiningStatus { address, threads });
        Some(coinrs_miner_core::Miner::start(
            Arc::new(work::NodeWork::new(Arc::clone(&ctx), pubkey)),
            threads,
        ))
    } else {
        None
    };

    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut flush_timer = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            _ = sigint.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = sigterm.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = shutdown_rx.wait_for(|stop| *stop) => { tracing::info!("stop requested"); break; }
            _ = flush_timer.tick() => {
                let ctx = Arc::clone(&ctx);
                let flushed = tokio::task::spawn_blocking(move || ctx.chain().flush()).await;
                if let Ok(Err(e)) = flushed {
                    tracing::error!(error = %e, "cannot flush the chain state: stopping");
                    break;
                }
            }
        }
    }
    ctx.request_shutdown();
    if let Some(m) = miner {
        tokio::task::spawn_blocking(move || m.stop()).await.ok();
    }
    if let Err(e) = net_task.await {
        tracing::error!(error = %e, "network task failed");
    }
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "JSON-RPC server error"),
        Err(e) => tracing::error!(error = %e, "JSON-RPC server task failed"),
    }
    let saved: Vec<(coinrs_core::Transaction, u64)> = ctx
        .mempool()
        .entries()
        .into_iter()
        .map(|e| (e.tx.clone(), e.time))
        .collect();
    match coinrs_mempool::save(&chain_dir.join(MEMPOOL_FILE), &saved) {
        Ok(()) => tracing::info!(transactions = saved.len(), "mempool saved"),
        Err(e) => tracing::error!(error = %e, "cannot save the mempool"),
    }
    let flushed = {
        let ctx = Arc::clone(&ctx);
        // Also the unspent-output cache, so that the next start has nothing to roll forward.
        tokio::task::spawn_blocking(move || ctx.chain().flush_all()).await
    };
    match flushed {
        Ok(Ok(())) => tracing::info!("chain state flushed; coinrsd stopped"),
        Ok(Err(e)) => tracing::error!(error = %e, "final flush failed"),
        Err(e) => tracing::error!(error = %e, "final flush task failed"),
    }
    Ok(())
}
