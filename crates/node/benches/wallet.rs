//! Wallet benchmarks with a real coinrsd (release binaries: `cargo build --release --bins`
//! first), issue 8's performance targets:
//!
//! - `getbalance` and `sendtoaddress` over JSON-RPC on a wallet holding 10 000 unspent
//!   outputs (targets: 10 ms and 100 ms);
//! - rescan speed: `createwallet` restoring the wallet from its mnemonic on a chain of
//!   `BLOCKS` blocks (every block read from disk and fed to the wallet, the 10 000 coins
//!   found past many gaps of 20), against `--reindex` of the same chain (every block connected
//!   again, signatures checked): both in blocks per second (criterion's `elem/s`).
//!
//! `cargo build --release --bins && cargo bench -p coinrs-node --bench wallet`
//!
//! The chain is built once in-process (past timestamps, as `benches/net.rs`) and kept in
//! `target/bench-fixtures/`: 100 coinbase-only blocks, 10 blocks each paying 1 000 receive
//! addresses of the wallet (one transaction of 1 000 outputs), then blocks of `TXS_PER_BLOCK`
//! 1-in-2-out transactions between other keys.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use coinrs_core::TxOut;
use coinrs_core::address::encode_address;
use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_testkit::Node;
use coinrs_wallet::Branch;
use coinrs_wallet::bip32::ExtendedPrivKey;
use coinrs_wallet::keys::{COIN_TYPE, bip86_path, derive, seed};
use common::{ChainBuilder, copy_dir, median, start_reindexed};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// BIP39's all-zero test vector: the wallet every run restores.
const MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                        abandon abandon abandon about";
/// The wallet's coins: `FAN_TXS` transactions of `FAN_OUTPUTS` outputs.
const FAN_TXS: u32 = 10;
const FAN_OUTPUTS: u32 = 1_000;
const COINS: u64 = (FAN_TXS * FAN_OUTPUTS) as u64;
/// Fee of a fan-out transaction (40 120 bytes at 1 unit per byte, rounded up).
const FAN_FEE: u64 = 50_000;
/// Blocks of the chain; the others' traffic starts after the fan-out blocks.
const BLOCKS: u64 = 10_110;
const TXS_PER_BLOCK: usize = 10;

fn others() -> SigningKey {
    SigningKey::from_secret_bytes([0x66; 32]).unwrap()
}

/// The wallet's first `COINS` receive output keys (`m/86'/1'/0'/0/i`).
fn wallet_keys() -> Vec<[u8; 32]> {
    let master = ExtendedPrivKey::master(&*seed(MNEMONIC, "").unwrap()).unwrap();
    (0..COINS as u32)
        .map(|i| {
            derive(&master, &bip86_path(COIN_TYPE, Branch::Receive, i).unwrap())
                .unwrap()
                .output
        })
        .collect()
}

/// Value of each of the wallet's coins.
fn coin_value() -> u64 {
    (50 * coinrs_core::COIN - FAN_FEE) / u64::from(FAN_OUTPUTS)
}

/// A datadir holding the chain (built on first use).
fn fixture() -> PathBuf {
    // ("-idx": built with the node's indexes; older fixtures lack them.)
    common::fixture(&format!("wallet-{BLOCKS}-{COINS}-idx"), |root| {
        let mut b = ChainBuilder::open(&root.join("regtest"), &common::node_options(), others());
        let wallet = wallet_keys();
        while b.chain.height() < BLOCKS {
            // The coinbase of `coinbase_maturity` blocks ago can be spent.
            let fan = b
                .next_height()
                .saturating_sub(b.params.coinbase_maturity + 1);
            match b.matured_coinbase() {
                None => {
                    b.mine(vec![], 0);
                }
                Some((op, value)) if fan < u64::from(FAN_TXS) => {
                    // The wallet's coins: the coinbases of heights 1 to 10.
                    let keys =
                        &wallet[(fan * u64::from(FAN_OUTPUTS)) as usize..][..FAN_OUTPUTS as usize];
                    let outputs = keys
                        .iter()
                        .map(|k| TxOut {
                            value: coin_value(),
                            pubkey: *k,
                        })
                        .collect();
                    let tx = signed_spend(&others(), &[op], outputs, 0);
                    b.mine(vec![tx], value - coin_value() * u64::from(FAN_OUTPUTS));
                }
                Some(_) => {
                    b.queue_matured_coinbase();
                    b.mine_splits(TXS_PER_BLOCK);
                }
            }
        }
        b.finish();
    })
}

/// Calls `method` on wallet `wallet` (`POST /wallet/NAME`).
fn wcall(node: &Node, wallet: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let auth = node.auth_header().unwrap();
    let (status, text) = node
        .post_raw(&format!("/wallet/{wallet}"), body.to_string(), Some(&auth))
        .unwrap();
    assert_eq!(status, 200, "{method}: {text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert!(reply["error"].is_null(), "{method}: {text}");
    reply["result"].clone()
}

/// Base units as a JSON amount's text.
fn amount(units: u64) -> String {
    format!(
        "{}.{:08}",
        units / coinrs_core::COIN,
        units % coinrs_core::COIN
    )
}

fn wallet(c: &mut Criterion) {
    let fixture = fixture();
    let mut group = c.benchmark_group("wallet");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(BLOCKS));
    let mut reindex = Vec::new();
    group.bench_function(format!("reindex_{BLOCKS}_blocks"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_dir, node, took) = start_reindexed(&fixture);
                assert_eq!(node.rpc("getblockcount", json!([])), json!(BLOCKS));
                reindex.push(took);
                total += took;
            }
            total
        })
    });

    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    let node = Node::start_in(dir.path(), "regtest", &[]).unwrap();
    // A fresh tip, so the node is out of its initial block download.
    let elsewhere = encode_address("crt", &others().public_key()).unwrap();
    node.rpc("generatetoaddress", json!([1, elsewhere]));
    let mut restores = Vec::new();
    let mut n = 0;
    group.bench_function(
        format!("restore_rescan_{BLOCKS}_blocks_{COINS}_coins"),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    let name = format!("restore{n}");
                    let started = Instant::now();
                    node.rpc("createwallet", json!([name, false, false, "", MNEMONIC]));
                    let took = started.elapsed();
                    // Every coin found.
                    let balance = wcall(&node, &name, "getbalance", json!([]));
                    assert_eq!(balance.to_string(), amount(COINS * coin_value()));
                    node.rpc("unloadwallet", json!([name]));
                    restores.push(took);
                    total += took;
                }
                total
            })
        },
    );
    group.finish();

    // The wallet with its 10 000 coins, the only one loaded.
    node.rpc("createwallet", json!(["bench", false, false, "", MNEMONIC]));
    let unspent = node.rpc("listunspent", json!([]));
    assert_eq!(unspent.as_array().unwrap().len() as u64, COINS);
    let mut group = c.benchmark_group("wallet_rpc");
    group.sample_size(50);
    group.bench_function(format!("getbalance_{COINS}_coins"), |b| {
        b.iter(|| node.rpc("getbalance", json!([])))
    });
    let mut sends = 0u64;
    let mut send_times = Vec::new();
    group.bench_function(format!("sendtoaddress_{COINS}_coins"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // A block now and then, so the wallet's change never makes a long chain of
                // unconfirmed transactions (the mempool's limit is 25).
                if sends % 20 == 19 {
                    node.rpc("generatetoaddress", json!([1, elsewhere]));
                }
                sends += 1;
                let started = Instant::now();
                node.rpc("sendtoaddress", json!([elsewhere, "0.0123"]));
                let took = started.elapsed();
                send_times.push(took);
                total += took;
            }
            total
        })
    });
    group.finish();

    // (A filter that leaves out one of these prints nothing.)
    if reindex.is_empty() || restores.is_empty() || send_times.is_empty() {
        return;
    }
    let reindex = median(reindex);
    let restore = median(restores);
    let rate = |d: Duration| BLOCKS as f64 / d.as_secs_f64();
    eprintln!(
        "medians: reindex {reindex:?} ({:.0} blocks/s, node start included), restore rescan \
         {restore:?} ({:.0} blocks/s); rescan/connect {:.2}; sendtoaddress {:?} over {} sends",
        rate(reindex),
        rate(restore),
        rate(restore) / rate(reindex),
        median(send_times.clone()),
        send_times.len()
    );
}

criterion_group!(benches, wallet);
criterion_main!(benches);
