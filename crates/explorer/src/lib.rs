//! # coinrs-explorer
//!
//! A read-only web explorer served by coinrsd at the root of `--rpcbind`, beside JSON-RPC
//! (which keeps `POST /`): the tip and recent blocks with the mining status (`/`), a block
//! (`/block/HASH`, `/height/N`), a transaction with its inputs linked to the outputs they
//! spend (`/tx/TXID`), an address with its balance, unspent outputs and history
//! (`/address/ADDR`, from the chain's address index), the mempool by fee rate (`/mempool`),
//! the peers (`/peers`), an SVG picture of the block tree over the last N heights with every
//! fork, stale branch and invalid block (`/tree?n=N`), a search box (`/search?q=`: height,
//! hash, txid, address or CID) and server-sent events on every change of the block tree
//! (`/events`), which the pages' small script uses to refresh themselves without a reload.
//!
//! What it must never do: change state (every route is a GET that only reads), need
//! credentials, reach the network, or answer without bounds: each list is cut at a fixed
//! size with a link to the next part, pages run on tokio's blocking pool a few at a time
//! ([`MAX_PAGES_AT_ONCE`]), and live connections are limited ([`live::MAX_LIVE_CLIENTS`]).
//! Markup comes from `maud` templates, which escape every value; the style sheet and the
//! script are compiled into the binary, so the explorer works offline.
//!
//! Tasks: one poller ([`live`]) that watches the chain's change counter and wakes the
//! event streams; it ends when the node stops, which also ends the streams so that the
//! server can finish.

mod assets;
mod format;
mod layout;
pub mod live;
mod pages;
mod search;
mod tree;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
use coinrs_rpc::NodeContext;
use tokio::sync::Semaphore;

/// Pages computed at once; more wait for a slot (they are short: milliseconds).
pub const MAX_PAGES_AT_ONCE: usize = 4;

/// What the node tells the explorer about itself beyond the shared context.
#[derive(Clone, Debug, Default)]
pub struct ExplorerConfig {
    /// The node's own miner, set once it runs (`--mine`).
    pub mining: Arc<OnceLock<MiningStatus>>,
}

/// The node's miner.
#[derive(Clone, Debug)]
pub struct MiningStatus {
    /// The address mined coins pay.
    pub address: String,
    /// Mining threads.
    pub threads: usize,
}

/// The explorer's shared state.
pub(crate) struct Explorer {
    pub ctx: Arc<NodeContext>,
    pub config: ExplorerConfig,
    pub slots: Semaphore,
    pub live: tokio::sync::watch::Receiver<live::TipNews>,
    pub live_clients: AtomicUsize,
}

/// The explorer's routes, to be merged into the RPC server's router. Starts the live poller,
/// so it must be called inside a tokio runtime.
pub fn router(ctx: Arc<NodeContext>, config: ExplorerConfig) -> Router {
    let live = live::start(Arc::clone(&ctx));
    let state = Arc::new(Explorer {
        ctx,
        config,
        slots: Semaphore::new(MAX_PAGES_AT_ONCE),
        live,
        live_clients: AtomicUsize::new(0),
    });
    Router::new()
        .route("/", get(pages::home))
        .route("/block/{hash}", get(pages::block))
        .route("/height/{height}", get(pages::height))
        .route("/tx/{txid}", get(pages::tx))
        .route("/address/{address}", get(pages::address))
        .route("/mempool", get(pages::mempool))
        .route("/peers", get(pages::peers))
        .route("/tree", get(pages::tree))
        .route("/search", get(pages::search))
        .route("/events", get(live::events))
        .route("/static/style.css", get(assets::css))
        .route("/static/explorer.js", get(assets::js))
        .fallback(pages::not_found)
        .with_state(state)
}
