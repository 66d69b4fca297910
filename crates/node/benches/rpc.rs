//! JSON-RPC benchmarks against a real coinrsd (release binaries: `cargo build --release
//! --bins` first): `sendrawtransaction` of 1-in-2-out transactions over one keep-alive client
//! (compare with the mempool crate's library rate), and `getblockcount` round trips.
//!
//! `cargo build --release --bins && cargo bench -p coinrs-node --bench rpc`

use std::time::{Duration, Instant};

use coinrs_core::address::encode_address;
use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_core::{OutPoint, Transaction, TxOut, Txid};
use coinrs_testkit::Node;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const FANOUT: u32 = 2000;

fn key() -> SigningKey {
    SigningKey::from_secret_bytes([0x44; 32]).unwrap()
}

/// A node with `FANOUT` confirmed outputs of our key, and a fresh 1-in-2-out spend of each.
fn setup() -> (Node, Vec<Transaction>) {
    let node =
        Node::start("regtest", &[]).expect("start coinrsd (build the release binaries first)");
    let pk = key().public_key();
    node.rpc(
        "generatetoaddress",
        json!([101, encode_address("crt", &pk).unwrap()]),
    );
    let hash = node.rpc("getblockhash", json!([1]));
    let block = node.rpc("getblock", json!([hash, 1]));
    let cb: Txid = block["tx"][0].as_str().unwrap().parse().unwrap();
    let each = 2_000_000u64;
    let outputs = (0..FANOUT)
        .map(|_| TxOut {
            value: each,
            pubkey: pk,
        })
        .collect();
    let fan = signed_spend(&key(), &[OutPoint { txid: cb, vout: 0 }], outputs, 0);
    node.rpc("sendrawtransaction", json!([hex::encode(fan.encode())]));
    node.rpc(
        "generatetoaddress",
        json!([1, encode_address("crt", &pk).unwrap()]),
    );
    let txs = (0..FANOUT)
        .map(|vout| {
            let op = OutPoint {
                txid: fan.txid(),
                vout,
            };
            let fee = 1000;
            let half = (each - fee) / 2;
            signed_spend(
                &key(),
                &[op],
                vec![
                    TxOut {
                        value: half,
                        pubkey: pk,
                    },
                    TxOut {
                        value: each - fee - half,
                        pubkey: pk,
                    },
                ],
                0,
            )
        })
        .collect();
    (node, txs)
}

/// One pass of `sendrawtransaction` over fresh spends (each set can be sent only once, so this
/// is a timed pass rather than a criterion loop), printed as transactions per second.
fn send_pass() {
    let (node, txs) = setup();
    let hexes: Vec<String> = txs.iter().map(|t| hex::encode(t.encode())).collect();
    let start = Instant::now();
    for h in &hexes {
        node.rpc("sendrawtransaction", json!([h]));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "rpc/sendrawtransaction_1in2out: {} transactions in {:.3} s = {:.0} tx/s (one keep-alive client)",
        hexes.len(),
        secs,
        hexes.len() as f64 / secs
    );
    assert_eq!(node.rpc("getmempoolinfo", json!([]))["size"], json!(FANOUT));
}

fn bench_rpc(c: &mut Criterion) {
    send_pass();
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    let mut group = c.benchmark_group("rpc");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("getblockcount", |b| {
        b.iter(|| node.rpc("getblockcount", json!([])))
    });
    group.finish();
}

criterion_group!(benches, bench_rpc);
criterion_main!(benches);
