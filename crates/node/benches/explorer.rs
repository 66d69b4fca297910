//! The explorer's page times (issue 11: "each page takes under 20 ms of server time, caches
//! warm, on a chain of 100 000 blocks"): every page requested through the explorer's axum
//! router in-process (`tower::ServiceExt::oneshot`, the router coinrsd merges beside
//! JSON-RPC at the root of `--rpcbind`), so what is timed is the server's work: routing, a
//! page slot, the blocking-pool hop, the reads under the chain and mempool locks, rendering;
//! no socket, no HTTP parsing. Each page is requested once before it is measured.
//!
//! `cargo bench -p coinrs-node --bench explorer` (filter with `-- explorer/tx_`); a table of
//! medians and their ratio to 20 ms is printed at the end.
//!
//! The chain (built once in-process, about a minute, kept in `target/bench-fixtures/`, with
//! the indexes coinrsd keeps): 100 000 regtest blocks, every coinbase paying the miner's key
//! (so that address has 100 000 coinbases and all the traffic: the heaviest address there
//! is); from height 101 each block carries 1 to 4 signed 1-in-2-out transactions of the
//! miner's coins; every 20th block pays the "hot" address (about 5 000 payments), which at
//! height 60 000 gathers 1 000 of its coins in one transaction of 1 000 inputs and keeps
//! about 4 000 unspent outputs; block 99 980 is full (1 MB, 4 990 transactions); at height
//! 99 990 a two-block branch was active, then lost to a three-block branch (a stale, valid
//! fork holding a transaction the active branch spends otherwise); block 99 996 of a side
//! branch breaks a rule (a bad signature) and has a child; the tip is at 100 000. At start
//! the bench adds 50 000 transactions to the mempool (one in ten with a child) and connects
//! four in-process peers to the node's network. Figures: docs/performance.md, "Explorer".

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use coinrs_core::address::encode_address;
use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_core::{BlockHash, OutPoint, Transaction, TxOut, Txid};
use coinrs_rpc::NodeContext;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{ChainBuilder, FEE};

/// Height of the tip.
const BLOCKS: u64 = 100_000;
/// Every this many blocks, a payment to the hot address.
const HOT_EVERY: u64 = 20;
/// Each payment to the hot address.
const HOT_PAYMENT: u64 = 100_000;
/// Where the hot address gathers `GATHERED` of its coins in one transaction.
const GATHER_AT: u64 = 60_000;
const GATHERED: usize = 1_000;
/// The full block.
const FULL_AT: u64 = BLOCKS - 20;
/// The fork: two blocks from `FORK_AT` (stale), then three (active).
const FORK_AT: u64 = BLOCKS - 10;
/// The invalid block (a side branch at this height).
const INVALID_AT: u64 = BLOCKS - 4;
/// Transactions put in the mempool at start.
const MEMPOOL_TXS: usize = 50_000;
/// Peers connected to the node at start.
const PEERS: usize = 4;
/// The target.
const TARGET: Duration = Duration::from_millis(20);

fn miner() -> SigningKey {
    SigningKey::from_secret_bytes([0x71; 32]).unwrap()
}

fn hot() -> SigningKey {
    SigningKey::from_secret_bytes([0x72; 32]).unwrap()
}

/// Somebody else (payments out of the chain's keys).
fn elsewhere() -> [u8; 32] {
    SigningKey::from_secret_bytes([0x73; 32])
        .unwrap()
        .public_key()
}

/// What the bench needs to know of the built chain.
struct Facts {
    /// The transaction of `GATHERED` inputs.
    gather_txid: Txid,
    /// The full block and one of its transactions.
    full_block: BlockHash,
    full_tx: Txid,
    /// The stale branch's first block and the transaction it holds.
    stale: BlockHash,
    stale_tx: Txid,
    /// The block that breaks a rule.
    invalid: BlockHash,
    /// Unspent coins of the miner's key, for the mempool.
    coins: Vec<(OutPoint, u64)>,
}

fn facts_path(root: &Path) -> PathBuf {
    root.join("facts.json")
}

impl Facts {
    fn save(&self, path: &Path) {
        let coins: Vec<_> = self
            .coins
            .iter()
            .map(|(op, v)| json!([op.txid.to_string(), op.vout, v]))
            .collect();
        let v = json!({
            "gather_txid": self.gather_txid.to_string(),
            "full_block": self.full_block.to_string(),
            "full_tx": self.full_tx.to_string(),
            "stale": self.stale.to_string(),
            "stale_tx": self.stale_tx.to_string(),
            "invalid": self.invalid.to_string(),
            "coins": coins,
        });
        std::fs::write(path, v.to_string()).unwrap();
    }

    fn load(path: &Path) -> Facts {
        let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let txid = |v: &Value| v.as_str().unwrap().parse::<Txid>().unwrap();
        let hash = |v: &Value| v.as_str().unwrap().parse::<BlockHash>().unwrap();
        Facts {
            gather_txid: txid(&v["gather_txid"]),
            full_block: hash(&v["full_block"]),
            full_tx: txid(&v["full_tx"]),
            stale: hash(&v["stale"]),
            stale_tx: txid(&v["stale_tx"]),
            invalid: hash(&v["invalid"]),
            coins: v["coins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        OutPoint {
                            txid: txid(&c[0]),
                            vout: c[1].as_u64().unwrap() as u32,
                        },
                        c[2].as_u64().unwrap(),
                    )
                })
                .collect(),
        }
    }
}

/// Mines the next block: the matured coinbase queued, `n` splits, and the payment to the hot
/// address when it is due (its coin recorded in `hot_coins`).
fn mine_next(b: &mut ChainBuilder, hot_coins: &mut Vec<(OutPoint, u64)>, n: usize) -> BlockHash {
    let height = b.next_height();
    if height <= b.params.coinbase_maturity {
        return b.mine(vec![], 0);
    }
    b.queue_matured_coinbase();
    let mut txs: Vec<Transaction> = (0..n).map(|_| b.split()).collect();
    let mut fees = FEE * txs.len() as u64;
    if height.is_multiple_of(HOT_EVERY) {
        let tx = b.spend(Some((hot().public_key(), HOT_PAYMENT)));
        hot_coins.push((
            OutPoint {
                txid: tx.txid(),
                vout: 0,
            },
            HOT_PAYMENT,
        ));
        txs.push(tx);
        fees += FEE;
    }
    b.mine(txs, fees)
}

fn build(root: &Path) {
    let mut b = ChainBuilder::open(&root.join("regtest"), &common::node_options(), miner());
    // Coins halve at each split: smaller ones stay unspent (dust), the others keep paying.
    b.min_coin = 1_000_000;
    let mut hot_coins: Vec<(OutPoint, u64)> = Vec::new();
    let mut gather_txid = None;
    let mut full = None;
    let mut stale = None;
    let mut invalid = None;
    while b.chain.height() < BLOCKS {
        let height = b.next_height();
        if height == GATHER_AT {
            // The hot address gathers its oldest coins.
            let taken: Vec<_> = hot_coins.drain(..GATHERED).collect();
            let total: u64 = taken.iter().map(|c| c.1).sum();
            let fee = 200_000;
            let ops: Vec<OutPoint> = taken.iter().map(|c| c.0).collect();
            let tx = signed_spend(
                &hot(),
                &ops,
                vec![TxOut {
                    value: total - fee,
                    pubkey: hot().public_key(),
                }],
                0,
            );
            gather_txid = Some(tx.txid());
            b.queue_matured_coinbase();
            b.mine(vec![tx], fee);
        } else if height == FULL_AT {
            // As many splits as fit in the block.
            b.queue_matured_coinbase();
            let room = b.params.max_block_size as usize - 2_000;
            let (mut txs, mut size) = (Vec::new(), 0);
            loop {
                let tx = b.split();
                size += tx.encoded_size();
                txs.push(tx);
                if size + 300 > room {
                    break;
                }
            }
            let fees = FEE * txs.len() as u64;
            let full_tx = txs[txs.len() / 2].txid();
            full = Some((b.mine(txs, fees), full_tx));
        } else if height == FORK_AT {
            // A coin spent one way on the branch that loses, another way on the one that
            // wins.
            let base = b.chain.tip();
            let (coin, value) = b.take_coin(2 * FEE);
            let lost = signed_spend(
                &miner(),
                &[coin],
                vec![TxOut {
                    value: value - FEE,
                    pubkey: elsewhere(),
                }],
                0,
            );
            let won = signed_spend(
                &miner(),
                &[coin],
                vec![TxOut {
                    value: value - 2 * FEE,
                    pubkey: miner().public_key(),
                }],
                0,
            );
            let a1 = b.child_of(&base, vec![lost.clone()], FEE);
            let a1_hash = b.accept(&a1);
            let a2 = b.child_of(&a1_hash, vec![], 0);
            let a2_hash = b.accept(&a2);
            assert_eq!(b.chain.tip(), a2_hash, "the first branch is active");
            stale = Some((a1_hash, lost.txid()));
            let mut parent = base;
            for i in 0..3 {
                let txs = if i == 0 { vec![won.clone()] } else { vec![] };
                let fees = if i == 0 { 2 * FEE } else { 0 };
                let blk = b.child_of(&parent, txs, fees);
                parent = b.accept(&blk);
            }
            assert_eq!(b.chain.tip(), parent, "the longer branch won");
            b.coins.push_back((
                OutPoint {
                    txid: won.txid(),
                    vout: 0,
                },
                value - 2 * FEE,
            ));
        } else if height == INVALID_AT && invalid.is_none() {
            // A block whose transaction's signature is damaged, and a child of it.
            let (coin, value) = b.take_coin(FEE);
            b.coins.push_front((coin, value));
            let mut bad = signed_spend(
                &miner(),
                &[coin],
                vec![TxOut {
                    value: value - FEE,
                    pubkey: elsewhere(),
                }],
                0,
            );
            bad.inputs[0].signature[5] ^= 1;
            let blk = b.child_of(&b.chain.tip(), vec![bad], FEE);
            let hash = b.accept(&blk);
            assert!(
                b.chain.entry(&hash).unwrap().validity.is_invalid(),
                "the damaged block is invalid"
            );
            let child = b.child_of(&hash, vec![], 0);
            b.accept(&child);
            invalid = Some(hash);
        } else {
            mine_next(&mut b, &mut hot_coins, 1 + (height % 4) as usize);
        }
    }
    let (full_block, full_tx) = full.unwrap();
    let (stale, stale_tx) = stale.unwrap();
    // As a node stopped cleanly: the unspent outputs written out.
    b.chain.flush_all().unwrap();
    let facts = Facts {
        gather_txid: gather_txid.unwrap(),
        full_block,
        full_tx,
        stale,
        stale_tx,
        invalid: invalid.unwrap(),
        coins: b.coins.iter().rev().take(MEMPOOL_TXS).copied().collect(),
    };
    b.finish();
    facts.save(&facts_path(root));
}

/// The node: the chain (a copy of the fixture), a mempool, a network with peers, and the
/// explorer's router.
struct Bench {
    rt: tokio::runtime::Runtime,
    router: Router,
    ctx: Arc<NodeContext>,
    facts: Facts,
    mempool_tx: Txid,
    _peers: Vec<coinrs_net::Handle>,
    _dir: tempfile::TempDir,
}

fn setup() -> Bench {
    let fixture = common::fixture(&format!("explorer-{BLOCKS}"), build);
    let facts = Facts::load(&facts_path(&fixture));
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&fixture, dir.path());
    let chain_dir = dir.path().join("regtest");
    let params = coinrs_core::params::ChainParams::regtest();
    let now = coinrs_rpc::context::now();
    let chain = coinrs_chain::Chain::open(&chain_dir, params.clone(), &common::node_options(), now)
        .unwrap();
    assert_eq!(chain.height(), BLOCKS);

    // The mempool: a spend of each saved coin, and a child of every tenth one.
    let mut pool = coinrs_mempool::Mempool::new(coinrs_mempool::Policy::default());
    let mut mempool_tx = None;
    {
        let snapshot = chain.utxo_snapshot().unwrap();
        let mut n = 0;
        for (i, (coin, value)) in facts.coins.iter().enumerate() {
            if n >= MEMPOOL_TXS {
                break;
            }
            let fee = 250 + (i as u64 * 37) % 2_000;
            let pay = value / 3;
            let tx = signed_spend(
                &miner(),
                &[*coin],
                vec![
                    TxOut {
                        value: pay,
                        pubkey: elsewhere(),
                    },
                    TxOut {
                        value: value - pay - fee,
                        pubkey: miner().public_key(),
                    },
                ],
                0,
            );
            let txid = tx.txid();
            pool.accept(tx, BLOCKS, params.coinbase_maturity, &snapshot, now)
                .expect("a mempool transaction");
            n += 1;
            mempool_tx.get_or_insert(txid);
            if i % 10 == 0 && n < MEMPOOL_TXS {
                let child = signed_spend(
                    &miner(),
                    &[OutPoint { txid, vout: 1 }],
                    vec![TxOut {
                        value: value - pay - fee - 500,
                        pubkey: elsewhere(),
                    }],
                    0,
                );
                pool.accept(child, BLOCKS, params.coinbase_maturity, &snapshot, now)
                    .expect("a child in the mempool");
                n += 1;
            }
        }
        assert_eq!(pool.len(), MEMPOOL_TXS);
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (shutdown, _) = tokio::sync::watch::channel(false);
    let ctx = Arc::new(NodeContext {
        params: params.clone(),
        chain: std::sync::Mutex::new(chain),
        mempool: std::sync::Mutex::new(pool),
        chain_dir: chain_dir.clone(),
        started: Instant::now(),
        shutdown,
        net: std::sync::OnceLock::new(),
        download_path: Default::default(),
        wallets: coinrs_rpc::wallets::Wallets::new(None),
    });
    let (router, peers) = rt.block_on(async {
        let peers = start_network(&ctx, dir.path()).await;
        let router =
            coinrs_explorer::router(Arc::clone(&ctx), coinrs_explorer::ExplorerConfig::default());
        (router, peers)
    });
    Bench {
        rt,
        router,
        ctx,
        facts,
        mempool_tx: mempool_tx.unwrap(),
        _peers: peers,
        _dir: dir,
    }
}

/// The node's network on loopback, and `PEERS` more network services on the same chain
/// (so they have nothing to sync) connected to it: the peers page has real peers.
async fn start_network(ctx: &Arc<NodeContext>, dir: &Path) -> Vec<coinrs_net::Handle> {
    let net_config = |name: &str| {
        let mut cfg = coinrs_net::NetConfig::new(dir.join(name));
        std::fs::create_dir_all(&cfg.dir).unwrap();
        cfg.listen = vec![coinrs_net::config::socket_multiaddr(
            "127.0.0.1:0".parse().unwrap(),
        )];
        cfg
    };
    let backend = || Arc::clone(ctx) as Arc<dyn coinrs_net::Backend>;
    let (net, _task) = coinrs_net::start(net_config("net"), backend(), ctx.shutdown.subscribe())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        let shared = net.shared();
        if let Some(a) = shared
            .listen_addrs
            .iter()
            .find(|a| a.to_string().contains("/tcp/"))
        {
            break a.clone();
        }
        assert!(Instant::now() < deadline, "the network does not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut peers = Vec::new();
    for i in 0..PEERS {
        let mut cfg = net_config(&format!("peer{i}"));
        cfg.listen.clear();
        cfg.connect_only = vec![addr.clone()];
        let (h, _task) = coinrs_net::start(cfg, backend(), ctx.shutdown.subscribe())
            .await
            .unwrap();
        peers.push(h);
    }
    while net.shared().peers.len() < PEERS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "explorer bench: {} peer(s) connected",
        net.shared().peers.len()
    );
    let _ = ctx.net.set(net);
    peers
}

impl Bench {
    /// One request through the router: the status and the page (for a redirect, where it
    /// leads).
    async fn get(router: Router, uri: &str) -> (StatusCode, String) {
        let req = Request::get(uri).body(Body::empty()).unwrap();
        let resp = router.oneshot(req).await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(axum::http::header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = location.unwrap_or_else(|| String::from_utf8(body.to_vec()).unwrap());
        (status, text)
    }

    /// The first event of `/events` (the stream stays open; it is dropped after).
    async fn first_event(router: Router) -> usize {
        let req = Request::get("/events").body(Body::empty()).unwrap();
        let resp = router.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let mut stream = resp.into_body().into_data_stream();
        let first = stream.next().await.unwrap().unwrap();
        first.len()
    }
}

fn pages(c: &mut Criterion) {
    let b = setup();
    let f = &b.facts;
    let (genesis, last_page, hot_addr, miner_addr, height_q, block_cid, tx_cid) = {
        let chain = b.ctx.chain();
        let hrp = &b.ctx.params.hrp;
        (
            chain.hash_at(0).unwrap(),
            (chain.entry(&f.full_block).unwrap().tx_count - 1) / 100,
            encode_address(hrp, &hot().public_key()).unwrap(),
            encode_address(hrp, &miner().public_key()).unwrap(),
            BLOCKS / 2,
            f.full_block.cid(),
            f.gather_txid.cid(),
        )
    };
    let ok = StatusCode::OK;
    let see = StatusCode::SEE_OTHER;
    let peer_count = format!("id=\"peer-count\">{PEERS}<");
    let mempool_count = format!("{MEMPOOL_TXS} transaction(s)");
    // Name, path, the status, and what the answer must hold (the page's text, or the
    // redirect's target).
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("home", "/".into(), ok, "class=\"blk invalid\""),
        (
            "block_full",
            format!("/block/{}", f.full_block),
            ok,
            "(page 1 of",
        ),
        (
            "block_full_last_page",
            format!("/block/{}?page={last_page}", f.full_block),
            ok,
            "← previous",
        ),
        ("block_genesis", format!("/block/{genesis}"), ok, "genesis"),
        (
            "block_stale",
            format!("/block/{}", f.stale),
            ok,
            "valid, stale branch",
        ),
        (
            "block_invalid",
            format!("/block/{}", f.invalid),
            ok,
            "breaks a rule",
        ),
        ("height", format!("/height/{height_q}"), see, "/block/"),
        (
            "tx_1000_inputs",
            format!("/tx/{}", f.gather_txid),
            ok,
            "Inputs (1000)",
        ),
        (
            "tx_in_full_block",
            format!("/tx/{}", f.full_tx),
            ok,
            "confirmed",
        ),
        (
            "tx_in_stale_block",
            format!("/tx/{}?block={}", f.stale_tx, f.stale),
            ok,
            "in a block off the active chain",
        ),
        (
            "tx_mempool",
            format!("/tx/{}", b.mempool_tx),
            ok,
            "in the mempool",
        ),
        ("address_hot", format!("/address/{hot_addr}"), ok, "older →"),
        (
            "address_miner",
            format!("/address/{miner_addr}"),
            ok,
            "older →",
        ),
        (
            "address_miner_older",
            format!("/address/{miner_addr}?before={height_q}"),
            ok,
            "older →",
        ),
        ("mempool", "/mempool".into(), ok, &mempool_count),
        ("peers", "/peers".into(), ok, &peer_count),
        ("tree_default", "/tree".into(), ok, "class=\"blk stale\""),
        (
            "tree_max",
            "/tree?n=500".into(),
            ok,
            "class=\"blk invalid\"",
        ),
        (
            "search_height",
            format!("/search?q={height_q}"),
            see,
            "/block/",
        ),
        (
            "search_hash",
            format!("/search?q={}", f.full_block),
            see,
            "/block/",
        ),
        (
            "search_txid",
            format!("/search?q={}", f.gather_txid),
            see,
            "/tx/",
        ),
        (
            "search_address",
            format!("/search?q={hot_addr}"),
            see,
            "/address/",
        ),
        (
            "search_block_cid",
            format!("/search?q={block_cid}"),
            see,
            "/block/",
        ),
        ("search_tx_cid", format!("/search?q={tx_cid}"), see, "/tx/"),
    ];
    let mut group = c.benchmark_group("explorer");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    // Every request's own time, for the medians printed at the end.
    let mut table: Vec<(String, Vec<Duration>, usize)> = Vec::new();
    let timed = |times: &mut Vec<Duration>, iters: u64, one: &dyn Fn()| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let started = Instant::now();
            one();
            let took = started.elapsed();
            times.push(took);
            total += took;
        }
        total
    };
    for (name, uri, status, must) in &cases {
        // Warm: one request first, which must give the page.
        let (got, text) = b.rt.block_on(Bench::get(b.router.clone(), uri));
        assert_eq!(got, *status, "{name}: {uri}");
        assert!(text.contains(must), "{name}: {uri} lacks {must:?}: {text}");
        let len = if *status == ok { text.len() } else { 0 };
        let mut times = Vec::new();
        group.bench_function(*name, |bench| {
            bench.iter_custom(|iters| {
                timed(&mut times, iters, &|| {
                    b.rt.block_on(Bench::get(b.router.clone(), uri));
                })
            })
        });
        table.push((name.to_string(), times, len));
    }
    let len = b.rt.block_on(Bench::first_event(b.router.clone()));
    let mut times = Vec::new();
    group.bench_function("events_first", |bench| {
        bench.iter_custom(|iters| {
            timed(&mut times, iters, &|| {
                b.rt.block_on(Bench::first_event(b.router.clone()));
            })
        })
    });
    table.push(("events_first".into(), times, len));
    group.finish();

    eprintln!("\npage                      median     ÷ 20 ms     bytes   requests");
    for (name, times, len) in table {
        if times.is_empty() {
            continue;
        }
        let n = times.len();
        let m = common::median(times);
        eprintln!(
            "{name:<22} {:>9.3} ms   {:>7.4}   {len:>7}   {n}",
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() / TARGET.as_secs_f64()
        );
    }
    b.ctx.request_shutdown();
}

criterion_group!(benches, pages);
criterion_main!(benches);
