//! BIP340 Schnorr verification: the project's wrapper
//! `coinrs_core::sig::verify` versus calling `secp256k1` directly with the
//! same work (parse x-only key and signature from bytes, then verify).
//!
//! Run: `cargo bench -p coinrs-core --bench schnorr -- --measurement-time 5`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secp256k1::{Keypair, XOnlyPublicKey, schnorr};
use std::hint::black_box;

/// Number of distinct (key, message, signature) triples cycled through.
const N: usize = 64;

struct Case {
    pubkey: [u8; 32],
    msg: [u8; 32],
    sig: [u8; 64],
}

fn cases() -> Vec<Case> {
    (0..N)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[0] = 1;
            seed[31] = i as u8 + 1;
            let keypair = Keypair::from_secret_bytes(seed).expect("valid secret key");
            let (xonly, _parity) = keypair.x_only_public_key();
            let mut msg = [0u8; 32];
            for (j, b) in msg.iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(31).wrapping_add(j as u8);
            }
            let sig = schnorr::sign_no_aux_rand(&msg, &keypair);
            Case {
                pubkey: xonly.to_byte_array(),
                msg,
                sig: *sig.as_byte_array(),
            }
        })
        .collect()
}

/// What a caller has to do with plain `secp256k1` given raw bytes.
fn plain_verify(pubkey: &[u8; 32], msg: &[u8; 32], sig: &[u8; 64]) -> bool {
    let Ok(pk) = XOnlyPublicKey::from_byte_array(*pubkey) else {
        return false;
    };
    let sig = schnorr::Signature::from_byte_array(*sig);
    schnorr::verify(&sig, msg, &pk).is_ok()
}

fn bench_verify(c: &mut Criterion) {
    let cases = cases();
    for case in &cases {
        assert!(plain_verify(&case.pubkey, &case.msg, &case.sig));
        assert!(coinrs_core::sig::verify(&case.pubkey, &case.msg, &case.sig));
    }
    let mut group = c.benchmark_group("schnorr_verify");
    group.throughput(Throughput::Elements(1));

    let mut i = 0;
    group.bench_function("coinrs_core::sig::verify", |b| {
        b.iter(|| {
            let case = &cases[i % N];
            i += 1;
            black_box(coinrs_core::sig::verify(
                black_box(&case.pubkey),
                black_box(&case.msg),
                black_box(&case.sig),
            ))
        })
    });
    let mut i = 0;
    group.bench_function("secp256k1::schnorr::verify", |b| {
        b.iter(|| {
            let case = &cases[i % N];
            i += 1;
            black_box(plain_verify(
                black_box(&case.pubkey),
                black_box(&case.msg),
                black_box(&case.sig),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
