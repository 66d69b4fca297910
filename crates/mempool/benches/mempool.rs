//! Mempool benchmarks (issue 6): acceptance of 1-in-2-out transactions through the library
//! (compare with the single-core Schnorr verify rate of `coinrs-core`'s schnorr bench), and a
//! block template from a mempool of 50 000 transactions (target: under 50 ms).
//!
//! `cargo bench -p coinrs-mempool --bench mempool`

use std::collections::HashMap;
use std::time::Duration;

use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_core::validation::Coin;
use coinrs_core::{OutPoint, Transaction, TxOut, Txid};
use coinrs_mempool::{Mempool, Policy};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const TIP: u64 = 1_000;

/// `n` confirmed coins of 1 coin each, and a 1-in-2-out spend of each with a fee rising
/// with the index (so fee rates differ).
fn world(n: usize) -> (HashMap<OutPoint, Coin>, Vec<Transaction>) {
    let key = SigningKey::from_secret_bytes([9; 32]).unwrap();
    let pk = key.public_key();
    let mut chain = HashMap::with_capacity(n);
    let mut txs = Vec::with_capacity(n);
    for i in 0..n {
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let op = OutPoint {
            txid: Txid(id),
            vout: 0,
        };
        chain.insert(
            op,
            Coin {
                output: TxOut {
                    value: 100_000_000,
                    pubkey: pk,
                },
                height: 1,
                is_coinbase: false,
            },
        );
        let fee = 200 + (i as u64 % 1000) * 10;
        let half = (100_000_000 - fee) / 2;
        txs.push(signed_spend(
            &key,
            &[op],
            vec![
                TxOut {
                    value: half,
                    pubkey: pk,
                },
                TxOut {
                    value: 100_000_000 - fee - half,
                    pubkey: pk,
                },
            ],
            0,
        ));
    }
    (chain, txs)
}

fn bench_accept(c: &mut Criterion) {
    let (chain, txs) = world(2_000);
    let mut group = c.benchmark_group("mempool");
    group.throughput(Throughput::Elements(txs.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("accept_1in2out", |b| {
        b.iter_batched(
            || (Mempool::new(Policy::default()), txs.clone()),
            |(mut pool, txs)| {
                for tx in txs {
                    pool.accept(tx, TIP, 100, &chain, 0).unwrap();
                }
                pool
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_template(c: &mut Criterion) {
    let (chain, txs) = world(50_000);
    let mut pool = Mempool::new(Policy::default());
    for tx in txs {
        pool.accept(tx, TIP, 100, &chain, 0).unwrap();
    }
    assert_eq!(pool.len(), 50_000);
    // A 1 MB block minus header, count and coinbase.
    let budget = 1_000_000 - 96 - 4 - 60;
    let mut group = c.benchmark_group("mempool");
    group.sample_size(20);
    group.bench_function("template_from_50000", |b| {
        b.iter(|| {
            let t = pool.assemble(budget);
            assert!(t.bytes <= budget && t.txs.len() > 4000);
            t
        })
    });
    group.finish();
}

criterion_group!(benches, bench_accept, bench_template);
criterion_main!(benches);
