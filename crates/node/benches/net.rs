//! Network benchmarks with real coinrsd processes on loopback (release binaries: `cargo
//! build --release --bins` first):
//!
//! - `sync`: a fresh node syncs a 10 100-block regtest chain carrying 100 000 signed
//!   1-in-2-out transactions from one peer (headers first, then blocks, every signature
//!   checked), against `--reindex` of the same chain on the same machine; the sync node's
//!   peak resident memory is printed;
//! - `propagation`: a block mined at one end of a line of 5 nodes, until the other end has it.
//!
//! `cargo build --release --bins && cargo bench -p coinrs-node --bench net`
//!
//! The chain is built once in-process (past timestamps, so nothing is `time-too-new`) and
//! kept in `target/bench-fixtures/`.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use coinrs_core::sig::SigningKey;
use coinrs_testkit::Node;
use common::{ChainBuilder, copy_dir, start_reindexed};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

/// Blocks of the sync chain: 100 coinbase-only blocks (maturity), then 10 000 blocks of
/// `TXS_PER_BLOCK` spends each.
const BLOCKS: u64 = 10_100;
const TXS_PER_BLOCK: usize = 10;

fn key() -> SigningKey {
    SigningKey::from_secret_bytes([0x55; 32]).unwrap()
}

/// A datadir holding the sync chain (built on first use).
fn sync_fixture() -> PathBuf {
    // ("-idx": built with the node's indexes; older fixtures lack them.)
    common::fixture(&format!("sync-{BLOCKS}-idx"), |root| {
        let mut b = ChainBuilder::open(&root.join("regtest"), &common::node_options(), key());
        while b.chain.height() < BLOCKS {
            // The coinbase of 100 blocks ago has matured: it joins the coins to spend.
            let n = if b.next_height() > 100 {
                b.queue_matured_coinbase();
                TXS_PER_BLOCK
            } else {
                0
            };
            b.mine_splits(n);
        }
        b.finish();
    })
}

fn height(n: &Node) -> u64 {
    n.rpc("getblockcount", json!([])).as_u64().unwrap()
}

fn peak_rss_kib(n: &Node) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", n.pid().unwrap())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn sync(c: &mut Criterion) {
    let fixture = sync_fixture();
    // The serving node works on its own copy (it writes its peers and bans).
    let serve_dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, serve_dir.path());
    let server = Node::start_in(serve_dir.path(), "regtest", &[]).unwrap();
    assert_eq!(height(&server), BLOCKS);
    let mut group = c.benchmark_group("net");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.warm_up_time(Duration::from_millis(1));
    let mut rss = Vec::new();
    group.bench_function("sync_10100_blocks_100k_txs_from_one_peer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let node = Node::start("regtest", &["--connect", &server.p2p_addr()]).unwrap();
                while height(&node) < BLOCKS {
                    std::thread::sleep(Duration::from_millis(20));
                }
                total += started.elapsed();
                rss.push(peak_rss_kib(&node));
            }
            total
        })
    });
    group.bench_function("reindex_10100_blocks_100k_txs", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_dir, node, took) = start_reindexed(&fixture);
                assert_eq!(height(&node), BLOCKS);
                total += took;
            }
            total
        })
    });
    group.finish();
    rss.sort_unstable();
    if let Some(max) = rss.last() {
        eprintln!(
            "sync node peak resident memory: median {} MiB, max {} MiB",
            rss[rss.len() / 2] / 1024,
            max / 1024
        );
    }
}

fn propagation(c: &mut Criterion) {
    let nodes: Vec<Node> = (0..5)
        .map(|_| Node::start("regtest", &[]).unwrap())
        .collect();
    for pair in nodes.windows(2) {
        pair[1].rpc("addnode", json!([pair[0].p2p_addr(), "add"]));
    }
    let address = coinrs_core::address::encode_address("crt", &key().public_key()).unwrap();
    // Wait until the line is up: a first block reaches the far end.
    nodes[0].rpc("generatetoaddress", json!([1, address]));
    let deadline = Instant::now() + Duration::from_secs(60);
    while height(&nodes[4]) < 1 {
        assert!(Instant::now() < deadline, "the line did not connect");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut group = c.benchmark_group("net");
    group.sample_size(30);
    group.bench_function("propagation_across_5_nodes", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let hash = nodes[0].rpc("generatetoaddress", json!([1, address]))[0].clone();
                while nodes[4].rpc("getbestblockhash", json!([])) != hash {
                    std::thread::sleep(Duration::from_micros(500));
                }
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, sync, propagation);
criterion_main!(benches);
