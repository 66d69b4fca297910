//! The pages. Each handler takes a slot ([`crate::MAX_PAGES_AT_ONCE`]), reads what it needs
//! under the chain lock (then the mempool's, the node's lock order) on tokio's blocking pool,
//! and renders it; every list is cut at a fixed size with a link to the rest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coinrs_chain::Chain;
use coinrs_chain::index::{Failure, Validity};
use coinrs_core::address::encode_address;
use coinrs_core::block::Block;
use coinrs_core::pow::{bits_to_target, difficulty};
use coinrs_core::validation::Coin;
use coinrs_core::{BlockHash, OutPoint, Transaction, TxOut, Txid};
use maud::{Markup, html};
use serde::Deserialize;

use crate::Explorer;
use crate::format::{age, coins, hashrate, rate, short, time};
use crate::layout::{Frame, Reply, echo};
use crate::tree::{self, Kind};

/// Blocks on the home page.
const RECENT_BLOCKS: u64 = 20;
/// Transactions per block page.
const TXS_PER_PAGE: usize = 100;
/// Inputs and outputs shown of one transaction.
const MAX_IO: usize = 1000;
/// Unspent outputs shown of an address.
const ADDRESS_UNSPENT: usize = 100;
/// History entries per address page (completed to the end of a height, at most the hard
/// limit).
const ADDRESS_HISTORY: usize = 50;
const ADDRESS_HISTORY_HARD: usize = 1000;
/// Mempool transactions shown.
const MEMPOOL_SHOWN: usize = 500;
/// Heights of the tree on the home page, and by default on `/tree`.
const HOME_TREE: u64 = 12;
const DEFAULT_TREE: u64 = 30;
/// How long a request waits for a slot before HTTP 503.
const SLOT_WAIT: Duration = Duration::from_secs(10);

/// Runs a page on the blocking pool with a slot.
async fn page<F>(s: Arc<Explorer>, f: F) -> Response
where
    F: FnOnce(&Explorer) -> Reply + Send + 'static,
{
    let frame = {
        let news = s.live.borrow();
        Frame {
            chain: s.ctx.params.name.clone(),
            height: news.height,
            changes: news.changes,
        }
    };
    let Ok(Ok(_slot)) = tokio::time::timeout(SLOT_WAIT, s.slots.acquire()).await else {
        return Reply::Unavailable("The explorer is busy; try again in a moment.".into())
            .into_response(&frame);
    };
    let state = Arc::clone(&s);
    match tokio::task::spawn_blocking(move || {
        let reply = f(&state);
        let height = state.ctx.chain().height();
        (reply, height)
    })
    .await
    {
        Ok((reply, height)) => reply.into_response(&Frame { height, ..frame }),
        Err(e) => {
            tracing::error!(error = %e, "explorer page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

fn storage(e: impl std::fmt::Display) -> Reply {
    Reply::Unavailable(format!("The node cannot read its store: {e}"))
}

fn address_of(s: &Explorer, pubkey: &[u8; 32]) -> String {
    encode_address(&s.ctx.params.hrp, pubkey).unwrap_or_else(|_| hex::encode(pubkey))
}

fn addr_link(s: &Explorer, pubkey: &[u8; 32]) -> Markup {
    let a = address_of(s, pubkey);
    html! { a.mono href={ "/address/" (a) } title=(a) { (short(&a)) } }
}

fn block_link(hash: &BlockHash) -> Markup {
    let h = hash.to_string();
    html! { a.mono href={ "/block/" (h) } title=(h) { (short(&h)) } }
}

fn tx_link(txid: &Txid) -> Markup {
    let t = txid.to_string();
    html! { a.mono href={ "/tx/" (t) } title=(t) { (short(&t)) } }
}

fn u256_f64(v: &ruint::aliases::U256) -> f64 {
    v.as_limbs().iter().rev().fold(0.0, |acc, &limb| {
        acc * 18_446_744_073_709_551_616.0 + limb as f64
    })
}

fn block_difficulty(bits: u32) -> f64 {
    bits_to_target(bits).map(|t| difficulty(&t)).unwrap_or(0.0)
}

// ---- home ----

pub async fn home(State(s): State<Arc<Explorer>>) -> Response {
    page(s, home_page).await
}

/// Hashes per second over the last (up to) 100 active blocks, from their work and times.
fn network_hashrate(chain: &Chain) -> Option<f64> {
    let height = chain.height();
    let window = height.min(100);
    if window == 0 {
        return None;
    }
    let tip = chain.entry(&chain.tip())?;
    let base = chain.entry(&chain.hash_at(height - window)?)?;
    let secs = tip.header.time.checked_sub(base.header.time)?.max(1);
    Some(u256_f64(&(tip.chainwork - base.chainwork)) / secs as f64)
}

fn home_page(s: &Explorer) -> Reply {
    let chain = s.ctx.chain();
    let tip = chain.tip();
    let Some(entry) = chain.entry(&tip) else {
        return Reply::Unavailable("no tip".into());
    };
    let height = chain.height();
    let now = coinrs_rpc::context::now();
    let recent: Vec<_> = (height.saturating_sub(RECENT_BLOCKS - 1)..=height)
        .rev()
        .filter_map(|h| {
            let hash = chain.hash_at(h)?;
            Some((hash, chain.entry(&hash)?.clone()))
        })
        .collect();
    let rate_est = network_hashrate(&chain);
    let (svg, stats) = tree::draw(&chain, HOME_TREE);
    let (pooled, pool_bytes) = {
        let pool = s.ctx.mempool();
        (pool.len(), pool.bytes())
    };
    let peers = s.ctx.net.get().map(|n| n.shared().peers.len());
    let body = html! {
        h1 { "Chain " (s.ctx.params.name) }
        section.cards {
            div.card { h2 { "Tip" }
                p { "Height " strong #home-height { (height) } }
                p { (block_link(&tip)) }
                p { (time(entry.header.time)) " (" (age(now.saturating_sub(entry.header.time))) " ago)" }
            }
            div.card { h2 { "Mining" }
                @match s.config.mining.get() {
                    Some(m) => p { "This node mines with " (m.threads) " thread(s), paying "
                        a.mono href={ "/address/" (m.address) } title=(m.address) { (short(&m.address)) } }
                    None => p { "This node does not mine." }
                }
                p { "Difficulty " (format!("{:.6e}", block_difficulty(entry.header.bits))) }
                p { "Bits " code { (format!("{:08x}", entry.header.bits)) } }
                @if let Some(r) = rate_est { p { "Network ≈ " (hashrate(r)) } }
            }
            div.card { h2 { a href="/mempool" { "Mempool" } }
                p { (pooled) " transactions, " (pool_bytes) " bytes" }
            }
            div.card { h2 { a href="/peers" { "Peers" } }
                @match peers {
                    Some(n) => p { (n) " connected" },
                    None => p { "networking off" },
                }
            }
        }
        h2 { a href="/tree" { "Block tree" } " (last " (HOME_TREE) " heights, " (stats.forks) " fork(s))" }
        div.scroll { (svg) }
        (tree::legend())
        h2 { "Recent blocks" }
        div.scroll { table #recent-blocks {
            thead { tr { th { "Height" } th { "Hash" } th { "Time" } th.num { "Txs" } th.num { "Size" } } }
            tbody {
                @for (hash, e) in &recent {
                    tr { td { a href={ "/block/" (hash) } { (e.height()) } } td { (block_link(hash)) }
                        td { (time(e.header.time)) } td.num { (e.tx_count) } td.num { (e.size) } }
                }
            }
        } }
    };
    Reply::Page {
        title: format!("{} at {height}", s.ctx.params.name),
        body,
    }
}

// ---- blocks ----

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<usize>,
}

pub async fn block(
    State(s): State<Arc<Explorer>>,
    Path(hash): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    page(s, move |s| block_page(s, &hash, q.page.unwrap_or(0))).await
}

pub async fn height(State(s): State<Arc<Explorer>>, Path(height): Path<String>) -> Response {
    page(s, move |s| {
        let Ok(h) = height.parse::<u64>() else {
            return Reply::BadRequest(format!("{} is not a height.", echo(&height)));
        };
        match s.ctx.chain().hash_at(h) {
            Some(hash) => Reply::Redirect(format!("/block/{hash}")),
            None => Reply::NotFound(format!("No block at height {h} on the active chain.")),
        }
    })
    .await
}

/// The coin each input of each transaction spends, when known: from the block's undo data
/// (`spent`, the parent's set in spending order) or from an earlier transaction of the
/// same block.
fn input_coins(block: &Block, spent: Option<&[(OutPoint, Coin)]>) -> Vec<Vec<Option<TxOut>>> {
    let mut next = spent.unwrap_or(&[]).iter().peekable();
    let mut earlier: HashMap<Txid, usize> = HashMap::new();
    let mut out = Vec::with_capacity(block.transactions.len());
    for (t, tx) in block.transactions.iter().enumerate() {
        let mut ins = Vec::with_capacity(tx.inputs.len());
        for input in &tx.inputs {
            let coin = match next.peek() {
                Some((op, coin)) if *op == input.prevout => {
                    next.next();
                    Some(coin.output)
                }
                _ => earlier
                    .get(&input.prevout.txid)
                    .and_then(|&i| {
                        block.transactions[i]
                            .outputs
                            .get(input.prevout.vout as usize)
                    })
                    .copied(),
            };
            ins.push(coin);
        }
        out.push(ins);
        earlier.insert(tx.txid(), t);
    }
    out
}

fn fee_of(tx: &Transaction, coins: &[Option<TxOut>]) -> Option<u64> {
    if tx.is_coinbase() {
        return None;
    }
    let mut total: u128 = 0;
    for c in coins {
        total += u128::from(c.as_ref()?.value);
    }
    u64::try_from(total.checked_sub(tx.output_total())?).ok()
}

fn status_line(kind: Kind, validity: Validity) -> Markup {
    let why = match validity {
        Validity::Failed(Failure::Rule(r)) => Some(format!("breaks a rule: {r}")),
        Validity::Failed(Failure::Manual) => Some("marked invalid by invalidateblock".into()),
        Validity::FailedParent => Some("an ancestor is invalid".into()),
        _ => None,
    };
    html! {
        span class={ "badge " (kind.class()) } { (kind.label()) }
        @if let Some(w) = why { " (" (w) ")" }
    }
}

fn block_page(s: &Explorer, hash: &str, page_no: usize) -> Reply {
    let Ok(hash) = hash.parse::<BlockHash>() else {
        return Reply::BadRequest(format!(
            "{} is not a block hash (64 hex digits).",
            echo(hash)
        ));
    };
    let chain = s.ctx.chain();
    let Some(e) = chain.entry(&hash).cloned() else {
        return Reply::NotFound(format!("No block {hash} on this node."));
    };
    let kind = Kind::of(&chain, &hash, &e);
    let h = e.height();
    let active = kind == Kind::Active;
    let next = if active { chain.hash_at(h + 1) } else { None };
    let block = if e.has_data {
        match chain.block(&hash) {
            Ok(b) => b,
            Err(err) => return storage(err),
        }
    } else {
        None
    };
    let spent = if active {
        match chain.spent_coins(&hash) {
            Ok(s) => s,
            Err(err) => return storage(err),
        }
    } else {
        None
    };
    let median = coinrs_rpc::json::median_time(&chain, &hash);
    let tip_height = chain.height();
    drop(chain);
    let pages = (e.tx_count as usize).div_ceil(TXS_PER_PAGE);
    if page_no > 0 && page_no >= pages {
        return Reply::NotFound(format!("Block {hash} has {} transaction page(s).", pages));
    }
    let coins_in = block
        .as_ref()
        .map(|b| input_coins(b, spent.as_deref()))
        .unwrap_or_default();
    let body = html! {
        h1 { "Block " (h) }
        p.mono.wrap #block-hash { (hash) }
        p { (status_line(kind, e.validity)) }
        div.scroll { table.kv {
            tr { th { "Height" } td { (h) } }
            @if active { tr { th { "Confirmations" } td { (tip_height - h + 1) } } }
            tr { th { "CID" } td.mono.wrap { (hash.cid()) } }
            tr { th { "Time" } td { (time(e.header.time)) " (median " (time(median)) ")" } }
            tr { th { "Previous" } td { @if h > 0 { (block_link(&e.header.prev_hash)) } @else { "genesis" } } }
            tr { th { "Next" } td { @match next { Some(n) => (block_link(&n)), None => "—" } } }
            tr { th { "Bits" } td { code { (format!("{:08x}", e.header.bits)) } " difficulty " (format!("{:.6e}", block_difficulty(e.header.bits))) } }
            tr { th { "Nonce" } td { (e.header.nonce) } }
            tr { th { "Merkle root" } td.mono.wrap { (hex::encode(e.header.merkle_root)) } }
            tr { th { "Chain work" } td.mono.wrap { (coinrs_rpc::json::u256_hex(&e.chainwork)) } }
            tr { th { "Size" } td { (e.size) " bytes" } }
            tr { th { "Transactions" } td { (e.tx_count) } }
        } }
        @if let Some(b) = &block {
            h2 { "Transactions" @if pages > 1 { " (page " (page_no + 1) " of " (pages) ")" } }
            div.scroll { table #txs {
                thead { tr { th { "#" } th { "Txid" } th.num { "Inputs" } th.num { "Outputs" } th.num { "Amount out" } th.num { "Fee" } } }
                tbody {
                    @for (i, tx) in b.transactions.iter().enumerate().skip(page_no * TXS_PER_PAGE).take(TXS_PER_PAGE) {
                        @let txid = tx.txid();
                        tr {
                            td { (i) }
                            td { @if active { (tx_link(&txid)) } @else {
                                a.mono href={ "/tx/" (txid) "?block=" (hash) } title=(txid) { (short(&txid.to_string())) } } }
                            td.num { @if tx.is_coinbase() { "coinbase" } @else { (tx.inputs.len()) } }
                            td.num { (tx.outputs.len()) }
                            td.num { (coins(u64::try_from(tx.output_total()).unwrap_or(u64::MAX))) }
                            td.num { @match fee_of(tx, coins_in.get(i).map(Vec::as_slice).unwrap_or(&[])) { Some(f) => (coins(f)), None => "—" } }
                        }
                    }
                }
            } }
            @if pages > 1 {
                nav.pager {
                    @if page_no > 0 { a href={ "/block/" (hash) "?page=" (page_no - 1) } { "← previous" } }
                    @if page_no + 1 < pages { a href={ "/block/" (hash) "?page=" (page_no + 1) } { "next →" } }
                }
            }
        } @else {
            p { "The node has only this block's header." }
        }
    };
    Reply::Page {
        title: format!("Block {h}"),
        body,
    }
}

// ---- transactions ----

#[derive(Debug, Deserialize)]
pub struct TxQuery {
    block: Option<String>,
}

pub async fn tx(
    State(s): State<Arc<Explorer>>,
    Path(txid): Path<String>,
    Query(q): Query<TxQuery>,
) -> Response {
    page(s, move |s| tx_page(s, &txid, q.block.as_deref())).await
}

/// Where a transaction was found.
enum Place {
    /// In a block (active or not) at a position.
    Block {
        hash: BlockHash,
        height: u64,
        active: bool,
    },
    Mempool {
        fee: u64,
        time: u64,
    },
}

fn tx_page(s: &Explorer, txid_text: &str, in_block: Option<&str>) -> Reply {
    let Ok(txid) = txid_text.parse::<Txid>() else {
        return Reply::BadRequest(format!(
            "{} is not a txid (64 hex digits).",
            echo(txid_text)
        ));
    };
    let chain = s.ctx.chain();
    let located = match in_block {
        Some(b) => match b.parse::<BlockHash>() {
            Ok(b) => Some(b),
            Err(_) => return Reply::BadRequest(format!("{} is not a block hash.", echo(b))),
        },
        None => match chain.tx_location(&txid) {
            Ok(l) => l.map(|(b, _)| b),
            Err(e) => return storage(e),
        },
    };
    // (transaction, where, coins of its inputs, output spent/unspent notes)
    let (tx, place, ins): (Transaction, Place, Vec<Option<TxOut>>) = match located {
        Some(bhash) => {
            let mut block = match chain.block(&bhash) {
                Ok(Some(b)) => b,
                Ok(None) => return Reply::NotFound(format!("No block {bhash} on this node.")),
                Err(e) => return storage(e),
            };
            let Some(pos) = block.transactions.iter().position(|t| t.txid() == txid) else {
                return Reply::NotFound(format!("Block {bhash} has no transaction {txid}."));
            };
            let active = chain.is_active(&bhash);
            let spent = if active {
                match chain.spent_coins(&bhash) {
                    Ok(s) => s,
                    Err(e) => return storage(e),
                }
            } else {
                None
            };
            let mut all = input_coins(&block, spent.as_deref());
            let ins = std::mem::take(&mut all[pos]);
            let place = Place::Block {
                hash: bhash,
                height: block.header.height,
                active,
            };
            (block.transactions.swap_remove(pos), place, ins)
        }
        None => {
            let pool = s.ctx.mempool();
            let Some(entry) = pool.get(&txid) else {
                return Reply::NotFound(format!(
                    "No transaction {txid} in the active chain or the mempool of this node."
                ));
            };
            let snapshot = match chain.utxo_snapshot() {
                Ok(v) => v,
                Err(e) => return storage(e),
            };
            let ins = entry
                .tx
                .inputs
                .iter()
                .map(|i| pool.coin(&snapshot, &i.prevout).map(|c| c.output))
                .collect();
            (
                entry.tx.clone(),
                Place::Mempool {
                    fee: entry.fee,
                    time: entry.time,
                },
                ins,
            )
        }
    };
    // What became of each output (shown ones only).
    let pool = s.ctx.mempool();
    let out_state: Vec<Markup> = (0..tx.outputs.len().min(MAX_IO))
        .map(|n| {
            let op = OutPoint {
                txid,
                vout: n as u32,
            };
            let by_pool = pool.spender(&op);
            let confirmed_unspent = match &place {
                Place::Block { active: true, .. } => Some(matches!(chain.coin(&op), Ok(Some(_)))),
                _ => None,
            };
            html! {
                @match (confirmed_unspent, by_pool) {
                    (_, Some(sp)) => { "spent in mempool by " (tx_link(&sp)) }
                    (Some(true), None) => span.badge.active { "unspent" },
                    (Some(false), None) => span.badge.stale { "spent" },
                    (None, None) => @if matches!(place, Place::Mempool { .. }) { span.badge.active { "unspent" } } @else { "—" },
                }
            }
        })
        .collect();
    let tip_height = chain.height();
    drop(pool);
    drop(chain);
    let fee = match &place {
        Place::Mempool { fee, .. } => Some(*fee),
        Place::Block { .. } => fee_of(&tx, &ins),
    };
    let size = tx.encoded_size();
    let body = html! {
        h1 { "Transaction" }
        p.mono.wrap #txid { (txid) }
        div.scroll { table.kv {
            @match &place {
                Place::Block { hash, height, active } => {
                    tr { th { "Block" } td { a href={ "/block/" (hash) } { (height) } " " (block_link(hash)) } }
                    tr { th { "Status" } td { @if *active { span.badge.active { "confirmed" } " " (tip_height - height + 1) " confirmation(s)" } @else { span.badge.stale { "in a block off the active chain" } } } }
                }
                Place::Mempool { time: t, .. } => {
                    tr { th { "Status" } td { span.badge.pending { "in the mempool" } " since " (time(*t)) } }
                }
            }
            tr { th { "CID" } td.mono.wrap { (txid.cid()) } }
            tr { th { "Size" } td { (size) " bytes" } }
            tr { th { "Fee" } td { @match fee { Some(f) => { (coins(f)) " (" (rate(f, size)) " units/byte)" }, None => @if tx.is_coinbase() { "coinbase" } @else { "—" } } } }
            tr { th { "Version / lock time" } td { (tx.version) " / " (tx.lock_time) } }
        } }
        h2 { "Inputs (" (tx.inputs.len()) ")" }
        @if tx.is_coinbase() { p { "Coinbase: new coins and the block's fees." } }
        @else {
            div.scroll { table #inputs {
                thead { tr { th { "#" } th { "Spends" } th { "Address" } th.num { "Value" } } }
                tbody {
                    @for (i, input) in tx.inputs.iter().enumerate().take(MAX_IO) {
                        tr {
                            td { (i) }
                            td { a.mono href={ "/tx/" (input.prevout.txid) "#out-" (input.prevout.vout) } title=(input.prevout.txid) {
                                (short(&input.prevout.txid.to_string())) ":" (input.prevout.vout) } }
                            @match ins.get(i).copied().flatten() {
                                Some(o) => { td { (addr_link(s, &o.pubkey)) } td.num { (coins(o.value)) } }
                                None => { td { "—" } td.num { "—" } }
                            }
                        }
                    }
                }
            } }
            @if tx.inputs.len() > MAX_IO { p { "Showing the first " (MAX_IO) " inputs." } }
        }
        h2 { "Outputs (" (tx.outputs.len()) ")" }
        div.scroll { table #outputs {
            thead { tr { th { "#" } th { "Address" } th.num { "Value" } th { "State" } } }
            tbody {
                @for (n, o) in tx.outputs.iter().enumerate().take(MAX_IO) {
                    tr id={ "out-" (n) } {
                        td { (n) } td { (addr_link(s, &o.pubkey)) } td.num { (coins(o.value)) }
                        td { (out_state[n]) }
                    }
                }
            }
        } }
        @if tx.outputs.len() > MAX_IO { p { "Showing the first " (MAX_IO) " outputs." } }
    };
    Reply::Page {
        title: format!("Transaction {}", short(&txid.to_string())),
        body,
    }
}

// ---- addresses ----

#[derive(Debug, Deserialize)]
pub struct AddressQuery {
    before: Option<u64>,
}

pub async fn address(
    State(s): State<Arc<Explorer>>,
    Path(address): Path<String>,
    Query(q): Query<AddressQuery>,
) -> Response {
    page(s, move |s| address_page(s, &address, q.before)).await
}

fn address_page(s: &Explorer, text: &str, before: Option<u64>) -> Reply {
    let hrp = &s.ctx.params.hrp;
    let pubkey = match coinrs_core::address::decode_address(hrp, text) {
        Ok(p) => p,
        Err(e) => {
            return Reply::BadRequest(format!(
                "{} is not an address of this chain ({hrp}1…): {e}.",
                echo(text)
            ));
        }
    };
    let chain = s.ctx.chain();
    if !chain.has_address_index() {
        return Reply::NotFound(
            "This node keeps no address index (it runs with --addressindex=false).".into(),
        );
    }
    let read = (|| {
        Ok::<_, coinrs_chain::ChainError>((
            chain.address_totals(&pubkey)?,
            chain.address_unspent(&pubkey, ADDRESS_UNSPENT)?,
            chain.address_history(
                &pubkey,
                before.unwrap_or(u64::MAX),
                ADDRESS_HISTORY,
                ADDRESS_HISTORY_HARD,
            )?,
        ))
    })();
    let (totals, unspent, history) = match read {
        Ok(r) => r,
        Err(e) => return storage(e),
    };
    let tip_height = chain.height();
    drop(chain);
    let older = history
        .last()
        .filter(|_| history.len() >= ADDRESS_HISTORY)
        .map(|m| m.height);
    let canonical = address_of(s, &pubkey);
    let body = html! {
        h1 { "Address" }
        p.mono.wrap #address { (canonical) }
        div.scroll { table.kv {
            tr { th { "Balance" } td #balance { (coins(totals.balance())) } }
            tr { th { "Received" } td { (coins(totals.received)) } }
            tr { th { "Sent" } td { (coins(totals.sent)) } }
            tr { th { "Unspent outputs" } td { (totals.unspent) } }
            tr { th { "History entries" } td { (totals.entries) } }
            tr { th { "Key" } td.mono.wrap { (hex::encode(pubkey)) } }
        } }
        h2 { "Unspent outputs" @if totals.unspent as usize > unspent.len() { " (newest " (unspent.len()) ")" } }
        @if unspent.is_empty() { p { "None." } } @else {
            div.scroll { table #unspent {
                thead { tr { th { "Output" } th.num { "Height" } th.num { "Confirmations" } th.num { "Value" } } }
                tbody { @for c in &unspent {
                    tr { td { a.mono href={ "/tx/" (c.outpoint.txid) "#out-" (c.outpoint.vout) } title=(c.outpoint.txid) {
                            (short(&c.outpoint.txid.to_string())) ":" (c.outpoint.vout) } }
                        td.num { (c.height) } td.num { (tip_height.saturating_sub(c.height) + 1) } td.num { (coins(c.value)) } }
                } }
            } }
        }
        h2 { "History" @if let Some(b) = before { " below height " (b) } }
        @if history.is_empty() { p { "No transactions." } } @else {
            div.scroll { table #history {
                thead { tr { th.num { "Height" } th { "Transaction" } th { "What" } th.num { "Amount" } } }
                tbody { @for m in &history {
                    tr { td.num { (m.height) } td { (tx_link(&m.txid)) }
                        td { @if m.received { "received at output " (m.n) } @else { "spent by input " (m.n) } }
                        td.num class=(if m.received { "plus" } else { "minus" }) { @if m.received { "+" } @else { "−" } (coins(m.value)) } }
                } }
            } }
            @if let Some(h) = older { nav.pager { a href={ "/address/" (canonical) "?before=" (h) } { "older →" } } }
        }
    };
    Reply::Page {
        title: format!("Address {}", short(&canonical)),
        body,
    }
}

// ---- mempool ----

pub async fn mempool(State(s): State<Arc<Explorer>>) -> Response {
    page(s, mempool_page).await
}

/// A mempool row: txid, fee, size, arrival time, unconfirmed parents.
type PoolRow = (Txid, u64, usize, u64, usize);

/// Keeps the `n` rows of highest fee rate, highest first (ties by txid): a selection and a
/// sort of those `n`, so that a large mempool costs one pass rather than a sort of it all.
fn top_by_fee_rate(rows: &mut Vec<PoolRow>, n: usize) {
    // fee_a / size_a > fee_b / size_b without division.
    let order = |a: &PoolRow, b: &PoolRow| {
        (u128::from(b.1) * a.2 as u128)
            .cmp(&(u128::from(a.1) * b.2 as u128))
            .then(a.0.cmp(&b.0))
    };
    if rows.len() > n {
        rows.select_nth_unstable_by(n, order);
        rows.truncate(n);
    }
    rows.sort_by(order);
}

fn mempool_page(s: &Explorer) -> Reply {
    let pool = s.ctx.mempool();
    let mut entries: Vec<PoolRow> = pool
        .unordered_entries()
        .map(|e| (e.txid, e.fee, e.size, e.time, e.parents.len()))
        .collect();
    let min_fee = pool.policy().min_relay_fee_per_kb;
    let bytes = pool.bytes();
    drop(pool);
    let total = entries.len();
    top_by_fee_rate(&mut entries, MEMPOOL_SHOWN);
    let body = html! {
        h1 { "Mempool" }
        p #mempool-summary { (total) " transaction(s), " (bytes) " bytes; minimum relay fee " (coins(min_fee)) " per 1000 bytes." }
        @if entries.is_empty() { p { "Empty." } } @else {
            div.scroll { table #mempool {
                thead { tr { th { "Txid" } th.num { "Fee rate (units/byte)" } th.num { "Fee" } th.num { "Size" } th.num { "Unconfirmed parents" } th { "Since" } } }
                tbody { @for (txid, fee, size, t, parents) in entries.iter().take(MEMPOOL_SHOWN) {
                    tr { td { (tx_link(txid)) } td.num { (rate(*fee, *size)) } td.num { (coins(*fee)) }
                        td.num { (size) } td.num { (parents) } td { (time(*t)) } }
                } }
            } }
            @if total > MEMPOOL_SHOWN { p { "Showing the " (MEMPOOL_SHOWN) " with the highest fee rates." } }
        }
    };
    Reply::Page {
        title: "Mempool".into(),
        body,
    }
}

// ---- peers ----

pub async fn peers(State(s): State<Arc<Explorer>>) -> Response {
    page(s, peers_page).await
}

fn peers_page(s: &Explorer) -> Reply {
    let Some(net) = s.ctx.net.get() else {
        return Reply::Page {
            title: "Peers".into(),
            body: html! { h1 { "Peers" } p { "This node runs without networking." } },
        };
    };
    let shared = net.shared();
    let now = coinrs_rpc::context::now();
    let body = html! {
        h1 { "Peers" }
        div.scroll { table.kv {
            tr { th { "Peer id" } td.mono.wrap { @match &shared.peer_id { Some(p) => (p), None => "—" } } }
            tr { th { "Listening on" } td.mono.wrap { @for a in &shared.listen_addrs { (a) br; } } }
            tr { th { "Connections" } td #peer-count { (shared.peers.len()) } }
        } }
        @if shared.peers.is_empty() { p { "No peers connected." } } @else {
            div.scroll { table #peers {
                thead { tr { th { "Id" } th { "Peer" } th { "Address" } th { "Direction" } th.num { "Headers" } th.num { "Blocks" } th.num { "Ping (ms)" } th { "Connected" } th.num { "Sent" } th.num { "Received" } th { "Agent" } } }
                tbody { @for p in &shared.peers {
                    tr { td { (p.id) } td.mono title=(p.peer_id) { (short(&p.peer_id.to_string())) }
                        td.mono.wrap { (p.addr) }
                        td { @if p.inbound { "inbound" } @else { "outbound" } @if p.relayed { " (relayed)" } @if p.addnode { " (addnode)" } @if p.ipfs { " (IPFS node)" } }
                        td.num { (p.synced_headers) } td.num { (p.synced_blocks) }
                        td.num { @match p.ping_micros { Some(m) => (format!("{:.1}", m as f64 / 1000.0)), None => "—" } }
                        td { (age(now.saturating_sub(p.conntime))) } td.num { (p.bytes_sent) } td.num { (p.bytes_recv) }
                        td { (p.agent) } }
                } }
            } }
        }
    };
    Reply::Page {
        title: "Peers".into(),
        body,
    }
}

// ---- tree ----

#[derive(Debug, Deserialize)]
pub struct TreeQuery {
    n: Option<String>,
}

pub async fn tree(State(s): State<Arc<Explorer>>, Query(q): Query<TreeQuery>) -> Response {
    page(s, move |s| {
        let n = match q.n.as_deref() {
            None => DEFAULT_TREE,
            Some(t) => match t.parse::<u64>() {
                Ok(n) if (1..=tree::MAX_HEIGHTS).contains(&n) => n,
                _ => {
                    return Reply::BadRequest(format!(
                        "n must be a number of heights from 1 to {} (got {}).",
                        tree::MAX_HEIGHTS,
                        echo(t)
                    ));
                }
            },
        };
        let chain = s.ctx.chain();
        let (svg, stats) = tree::draw(&chain, n);
        drop(chain);
        let body = html! {
            h1 { "Block tree" }
            form.inline action="/tree" method="get" {
                label { "Heights " input type="number" name="n" min="1" max=(tree::MAX_HEIGHTS) value=(n); }
                button type="submit" { "Show" }
            }
            p #tree-summary { "Heights " (stats.from) " to " (stats.to) ": " (stats.blocks) " block(s), "
                (stats.forks) " fork(s), " (stats.invalid) " invalid."
                @if stats.hidden_rows > 0 { " " (stats.hidden_rows) " more branch row(s) not drawn." } }
            (tree::legend())
            div.scroll { (svg) }
        };
        Reply::Page {
            title: "Block tree".into(),
            body,
        }
    })
    .await
}

// ---- search and the rest ----

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

pub async fn search(State(s): State<Arc<Explorer>>, Query(q): Query<SearchQuery>) -> Response {
    page(s, move |s| {
        crate::search::resolve(s, q.q.as_deref().unwrap_or_default())
    })
    .await
}

pub async fn not_found(State(s): State<Arc<Explorer>>, uri: axum::http::Uri) -> Response {
    page(s, move |_| {
        Reply::NotFound(format!("No page at {}.", echo(uri.path())))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_fee_rates_are_those_of_a_full_sort() {
        // Fee rates with many ties, sizes that make equal rates from different fees.
        let rows: Vec<PoolRow> = (0u32..2_000)
            .map(|i| {
                let mut t = [0u8; 32];
                t[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
                let size = 100 + (i as usize * 7) % 5 * 50;
                (
                    Txid(t),
                    u64::from(i * 13 % 97) * size as u64 / 10,
                    size,
                    0,
                    0,
                )
            })
            .collect();
        let mut sorted = rows.clone();
        top_by_fee_rate(&mut sorted, usize::MAX);
        for n in [0, 1, 499, 500, 1_999, 2_000, 5_000] {
            let mut top = rows.clone();
            top_by_fee_rate(&mut top, n);
            assert_eq!(top, sorted[..n.min(rows.len())], "n = {n}");
        }
    }
}
