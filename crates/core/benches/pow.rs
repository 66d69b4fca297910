//! Proof-of-work grinding throughput on one core.
//!
//! `grind/*` tries a large nonce range with an impossible (all-zero) target so
//! every nonce is hashed; throughput is reported in header tries per second.
//! `compress256` is the raw `sha2` compression of one 64-byte block, for
//! comparison (one try costs one compression of the second header block).
//!
//! Run: `cargo bench -p coinrs-core --bench pow -- --measurement-time 5`

use coinrs_core::midstate::{HeaderGrinder, sha_ni_available};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Nonces tried per benchmark iteration.
const TRIES: u64 = 1 << 16;

fn sample_header() -> [u8; 96] {
    let mut header = [0u8; 96];
    for (i, b) in header.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    header
}

fn bench_grind(c: &mut Criterion) {
    let header = sample_header();
    let impossible = [0u8; 32];
    let mut group = c.benchmark_group("grind");
    group.throughput(Throughput::Elements(TRIES));

    let mut variants = vec![("portable", HeaderGrinder::new_portable(&header))];
    if sha_ni_available() {
        variants.push(("sha_ni", HeaderGrinder::new(&header)));
    } else {
        eprintln!("SHA-NI not available on this CPU: benchmarking the portable path only");
    }
    for (name, grinder) in variants {
        let mut start = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = grinder.grind(black_box(start), TRIES, black_box(&impossible));
                start = start.wrapping_add(TRIES);
                black_box(r)
            })
        });
    }
    group.finish();
}

fn bench_compress(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256");
    group.throughput(Throughput::Elements(1));
    let block = [0x5au8; 64];
    let mut state = coinrs_core::midstate::IV;
    group.bench_function("compress256_one_block", |b| {
        b.iter(|| {
            sha2::block_api::compress256(&mut state, &[black_box(block)]);
            black_box(state[0])
        })
    });
    group.finish();
}

criterion_group!(benches, bench_grind, bench_compress);
criterion_main!(benches);
