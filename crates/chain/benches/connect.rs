//! Chain-state benchmarks (issue 4): connecting blocks of 1-in-2-out transactions (verified
//! inputs per second, to compare with cores × the single-core Schnorr rate), a 1 000-block
//! reorganisation against connecting the same blocks, and opening a store of many blocks.
//!
//! `cargo bench -p coinrs-chain --bench connect`; `COINRS_BENCH_STARTUP_BLOCKS` sets the size
//! of the start-up store (default 100 000). Figures go in docs/performance.md.

use std::path::Path;
use std::time::{Duration, Instant};

use coinrs_chain::{Chain, ChainOptions};
use coinrs_core::block::Block;
use coinrs_core::build::build_child;
use coinrs_core::params::ChainParams;
use coinrs_core::sig::{SigningKey, sign_transaction};
use coinrs_core::{BlockHeader, OutPoint, Transaction, TxIn, TxOut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const NOW: u64 = 4_000_000_000;

fn options() -> ChainOptions {
    ChainOptions {
        cache_bytes: 256 * 1024 * 1024,
        ..ChainOptions::default()
    }
}

/// Blocks built in memory on regtest's genesis: `base` coinbase-only blocks, then `spend`
/// blocks of up to `per_block` 1-in-2-out transactions each (every output of the previous
/// level is spent once: the set of spendable outputs doubles until the cap).
struct Blocks {
    base: Vec<Block>,
    spend: Vec<Block>,
    inputs: usize,
}

fn build(base: usize, spend: usize, per_block: usize, tag: u8) -> Blocks {
    let params = ChainParams::regtest();
    let key = SigningKey::from_secret_bytes([0x42; 32]).unwrap();
    let pk = key.public_key();
    let genesis = params.genesis();
    let mut parent: BlockHeader = genesis.header;
    let mut block1_time = 0;
    let mut coins: Vec<(OutPoint, u64)> = Vec::new();
    let mut out = Blocks {
        base: vec![],
        spend: vec![],
        inputs: 0,
    };
    let mut pending_coinbases = std::collections::VecDeque::new();
    for i in 0..base + spend {
        let height = parent.height + 1;
        // Coinbases mature after 100 blocks.
        while let Some(&(h, op, v)) = pending_coinbases.front() {
            if height >= h + 100 {
                coins.push((op, v));
                pending_coinbases.pop_front();
            } else {
                break;
            }
        }
        let mut txs = Vec::new();
        let mut next = Vec::new();
        if i >= base {
            let take = coins.len().min(per_block);
            for (op, value) in coins.drain(..take) {
                let mut tx = Transaction {
                    version: 1,
                    inputs: vec![TxIn {
                        prevout: op,
                        signature: [0; 64],
                    }],
                    outputs: vec![
                        TxOut {
                            value: value / 2,
                            pubkey: pk,
                        },
                        TxOut {
                            value: value - value / 2,
                            pubkey: pk,
                        },
                    ],
                    lock_time: 0,
                };
                sign_transaction(&mut tx, &[key], &[tag; 32]).unwrap();
                let txid = tx.txid();
                next.push((OutPoint { txid, vout: 0 }, value / 2));
                next.push((OutPoint { txid, vout: 1 }, value - value / 2));
                txs.push(tx);
            }
            out.inputs += take;
        }
        let time = parent.time + 600;
        let mut coinbase_pk = pk;
        coinbase_pk[0] ^= tag;
        let block = build_child(&params, &parent, block1_time, txs, 0, coinbase_pk, time);
        if height == 1 {
            block1_time = block.header.time;
        }
        if coinbase_pk == pk {
            pending_coinbases.push_back((
                height,
                OutPoint {
                    txid: block.transactions[0].txid(),
                    vout: 0,
                },
                block.transactions[0].outputs[0].value,
            ));
        }
        coins.extend(next);
        parent = block.header;
        if i >= base {
            out.spend.push(block);
        } else {
            out.base.push(block);
        }
    }
    out
}

fn open(dir: &Path) -> Chain {
    Chain::open(dir, ChainParams::regtest(), &options(), NOW).unwrap()
}

fn submit_all(chain: &mut Chain, blocks: &[Block]) {
    for b in blocks {
        chain.accept_block(&b.encode(), NOW).unwrap();
    }
}

/// 101 base blocks make 1 mature coinbase at height 102; keep the base at 110 so a handful of
/// coins start the doubling, then 20 blocks of up to 1 000 transactions: 14 517 inputs.
const CONNECT_INPUTS: u64 = 14_517;

// Each group builds its blocks only when it runs (a filter on the command line skips the
// others' set-up, which for start-up is 100 000 blocks).
fn bench_connect(c: &mut Criterion) {
    let setup = std::cell::OnceCell::new();
    let mut group = c.benchmark_group("connect");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(CONNECT_INPUTS));
    // `flush`: the blocks durable, their unspent outputs in the cache (as a node runs);
    // `flush_all`: the unspent outputs left by the 20 blocks written to redb too.
    // `merkle_index`: as `1in2out_blocks` with the index of inner merkle nodes that coinrsd
    // keeps by default for IPFS (`--merkleindex`), to measure what it costs.
    for (name, write_cache, merkle_index) in [
        ("1in2out_blocks", false, false),
        ("1in2out_blocks_written", true, false),
        ("1in2out_blocks_merkle_index", false, true),
    ] {
        group.bench_function(name, |b| {
            let (blocks, template) = setup.get_or_init(|| {
                let blocks = build(110, 20, 1000, 0);
                assert_eq!(blocks.inputs as u64, CONNECT_INPUTS);
                let template = tempfile::tempdir().unwrap();
                {
                    let mut chain = open(template.path());
                    submit_all(&mut chain, &blocks.base);
                    chain.flush_all().unwrap();
                }
                (blocks, template)
            });
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    for f in ["blocks.redb", "chainstate.redb"] {
                        std::fs::copy(template.path().join(f), dir.path().join(f)).unwrap();
                    }
                    let mut chain = if merkle_index {
                        let opts = ChainOptions {
                            merkle_index: true,
                            ..options()
                        };
                        Chain::open(dir.path(), ChainParams::regtest(), &opts, NOW).unwrap()
                    } else {
                        open(dir.path())
                    };
                    let start = Instant::now();
                    submit_all(&mut chain, &blocks.spend);
                    if write_cache {
                        chain.flush_all().unwrap();
                    } else {
                        chain.flush().unwrap();
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

/// The same blocks' signature checks alone: one core, and all cores through the chain's
/// verifier: the hardware limit the connect rate is compared with.
fn bench_verify(c: &mut Criterion) {
    use coinrs_chain::verify::ParallelVerifier;
    use coinrs_core::sighash::SighashCache;
    use coinrs_core::validation::{SigCheck, SigVerifier};
    let setup = std::cell::OnceCell::new();
    let checks = || {
        setup.get_or_init(|| {
            let blocks = build(110, 20, 1000, 0);
            let pk = SigningKey::from_secret_bytes([0x42; 32])
                .unwrap()
                .public_key();
            let mut checks = Vec::new();
            for b in &blocks.spend {
                for tx in &b.transactions[1..] {
                    let cache = SighashCache::new(tx);
                    for (i, input) in tx.inputs.iter().enumerate() {
                        checks.push(SigCheck {
                            pubkey: pk,
                            msg: cache.sighash(i as u32),
                            signature: input.signature,
                        });
                    }
                }
            }
            checks
        })
    };
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.throughput(Throughput::Elements(CONNECT_INPUTS));
    group.bench_function("one_core", |b| {
        let checks = checks();
        b.iter(|| assert!(checks.iter().all(SigCheck::verify)))
    });
    group.bench_function("all_cores", |b| {
        let checks = checks();
        b.iter(|| assert!(ParallelVerifier.all_valid(checks)))
    });
    group.finish();
}

fn bench_reorg(c: &mut Criterion) {
    // Branch A: 1 000 blocks with a few spends each; branch B: 1 001 coinbase-only blocks
    // from genesis (tag 1 changes B's coinbases so the blocks differ).
    let setup = std::cell::OnceCell::new();
    let blocks = || setup.get_or_init(|| (build(110, 890, 4, 0), build(1001, 0, 0, 1)));
    let mut group = c.benchmark_group("reorg");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("connect_1000", |bench| {
        let (a, _) = blocks();
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let mut chain = open(dir.path());
                let start = Instant::now();
                submit_all(&mut chain, &a.base);
                submit_all(&mut chain, &a.spend);
                total += start.elapsed();
            }
            total
        })
    });
    group.bench_function("reorg_1000", |bench| {
        let (a, b) = blocks();
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let mut chain = open(dir.path());
                submit_all(&mut chain, &a.base);
                submit_all(&mut chain, &a.spend);
                // B's first 1 000 blocks are stored as a side branch (equal work: A stays).
                submit_all(&mut chain, &b.base[..1000]);
                assert_eq!(chain.tip(), a.spend.last().unwrap().hash());
                let start = Instant::now();
                submit_all(&mut chain, &b.base[1000..]);
                total += start.elapsed();
                assert_eq!(chain.tip(), b.base[1000].hash());
            }
            total
        })
    });
    group.finish();
}

fn bench_startup(c: &mut Criterion) {
    let n: usize = std::env::var("COINRS_BENCH_STARTUP_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let setup = std::cell::OnceCell::new();
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function(format!("open_{n}_blocks"), |b| {
        let dir = setup.get_or_init(|| {
            let blocks = build(n, 0, 0, 0);
            let dir = tempfile::tempdir().unwrap();
            let mut chain = open(dir.path());
            let start = Instant::now();
            submit_all(&mut chain, &blocks.base);
            chain.flush_all().unwrap();
            eprintln!(
                "startup bench: {n} blocks stored in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            dir
        });
        b.iter(|| {
            let chain = open(dir.path());
            assert_eq!(chain.height(), n as u64);
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_connect,
    bench_verify,
    bench_reorg,
    bench_startup
);
criterion_main!(benches);
