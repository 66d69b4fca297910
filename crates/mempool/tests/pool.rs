//! Mempool behaviour through its public API, on a hand-made set of confirmed coins.

use std::collections::HashMap;

use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_core::validation::Coin;
use coinrs_core::{OutPoint, RejectReason, Transaction, TxOut, Txid};
use coinrs_mempool::{Mempool, MempoolReject, Policy};

const TIP: u64 = 1000;
const MATURITY: u64 = 100;

struct World {
    key: SigningKey,
    chain: HashMap<OutPoint, Coin>,
}

impl World {
    /// `n` confirmed coins of 1 coin each, locked to the key.
    fn new(n: u8) -> Self {
        let key = SigningKey::from_secret_bytes([5; 32]).unwrap();
        let chain = (0..n)
            .map(|i| {
                (
                    OutPoint {
                        txid: Txid([i + 1; 32]),
                        vout: 0,
                    },
                    Coin {
                        output: TxOut {
                            value: 100_000_000,
                            pubkey: key.public_key(),
                        },
                        height: 1,
                        is_coinbase: false,
                    },
                )
            })
            .collect();
        World { key, chain }
    }

    fn coin(&self, i: u8) -> OutPoint {
        OutPoint {
            txid: Txid([i + 1; 32]),
            vout: 0,
        }
    }

    /// Spends `inputs` to one output paying the key, leaving `fee`.
    fn spend(&self, inputs: &[OutPoint], value_in: u64, fee: u64) -> Transaction {
        signed_spend(
            &self.key,
            inputs,
            vec![TxOut {
                value: value_in - fee,
                pubkey: self.key.public_key(),
            }],
            0,
        )
    }

    /// Spends one input to `outputs` equal outputs, leaving `fee`.
    fn split(&self, input: OutPoint, value_in: u64, outputs: u64, fee: u64) -> Transaction {
        let each = (value_in - fee) / outputs;
        let outs = (0..outputs)
            .map(|_| TxOut {
                value: each,
                pubkey: self.key.public_key(),
            })
            .collect();
        signed_spend(&self.key, &[input], outs, 0)
    }
}

fn pool() -> Mempool {
    Mempool::new(Policy::default())
}

fn accept(pool: &mut Mempool, w: &World, tx: &Transaction) -> Result<Vec<Txid>, MempoolReject> {
    pool.accept(tx.clone(), TIP, MATURITY, &w.chain, 0)
}

#[test]
fn accepts_a_valid_spend_and_refuses_it_twice() {
    let w = World::new(1);
    let mut p = pool();
    let tx = w.spend(&[w.coin(0)], 100_000_000, 1000);
    accept(&mut p, &w, &tx).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p.get(&tx.txid()).unwrap().fee, 1000);
    assert_eq!(
        accept(&mut p, &w, &tx),
        Err(MempoolReject::AlreadyInMempool)
    );
    assert_eq!(
        MempoolReject::AlreadyInMempool.to_string(),
        "txn-already-in-mempool"
    );
}

#[test]
fn refuses_conflicts_first_seen_wins() {
    let w = World::new(1);
    let mut p = pool();
    let a = w.spend(&[w.coin(0)], 100_000_000, 1000);
    let b = w.spend(&[w.coin(0)], 100_000_000, 50_000);
    accept(&mut p, &w, &a).unwrap();
    assert_eq!(accept(&mut p, &w, &b), Err(MempoolReject::Conflict));
    assert_eq!(MempoolReject::Conflict.to_string(), "txn-mempool-conflict");
}

#[test]
fn refuses_consensus_failures_with_their_reason() {
    let w = World::new(1);
    let mut p = pool();
    let missing = w.spend(
        &[OutPoint {
            txid: Txid([99; 32]),
            vout: 0,
        }],
        1000,
        0,
    );
    let err = accept(&mut p, &w, &missing).unwrap_err();
    assert_eq!(
        err,
        MempoolReject::Consensus(RejectReason::BadTxnsInputsMissingOrSpent)
    );
    assert!(err.is_missing_inputs());
    let mut bad = w.spend(&[w.coin(0)], 100_000_000, 1000);
    bad.inputs[0].signature[0] ^= 1;
    assert_eq!(
        accept(&mut p, &w, &bad),
        Err(MempoolReject::Consensus(RejectReason::BadTxnsSig))
    );
    let coinbase = Transaction {
        version: 1,
        inputs: vec![],
        outputs: vec![TxOut {
            value: 1,
            pubkey: [1; 32],
        }],
        lock_time: TIP + 1,
    };
    assert_eq!(accept(&mut p, &w, &coinbase), Err(MempoolReject::Coinbase));
}

#[test]
fn refuses_fee_rates_below_the_minimum() {
    let w = World::new(1);
    let mut p = pool();
    // 120 bytes need 120 units at 1000 units/kB.
    let tx = w.spend(&[w.coin(0)], 100_000_000, 119);
    assert_eq!(tx.encoded_size(), 160);
    let low = w.spend(&[w.coin(0)], 100_000_000, 159);
    assert_eq!(accept(&mut p, &w, &low), Err(MempoolReject::MinRelayFee));
    assert_eq!(
        MempoolReject::MinRelayFee.to_string(),
        "min relay fee not met"
    );
    let ok = w.spend(&[w.coin(0)], 100_000_000, 160);
    accept(&mut p, &w, &ok).unwrap();
}

#[test]
fn refuses_too_long_chains_of_unconfirmed_transactions() {
    let w = World::new(1);
    let mut p = pool();
    let mut input = w.coin(0);
    let mut value = 100_000_000;
    for i in 0..25 {
        let tx = w.spend(&[input], value, 1000);
        accept(&mut p, &w, &tx).unwrap_or_else(|e| panic!("link {i}: {e}"));
        input = OutPoint {
            txid: tx.txid(),
            vout: 0,
        };
        value -= 1000;
    }
    let tx = w.spend(&[input], value, 1000);
    assert_eq!(accept(&mut p, &w, &tx), Err(MempoolReject::TooLongChain));
}

#[test]
fn a_high_fee_child_pulls_its_low_fee_parent_before_a_medium_fee_transaction() {
    let w = World::new(2);
    let mut p = pool();
    let parent = w.spend(&[w.coin(0)], 100_000_000, 200); // 1.25 units/byte
    let medium = w.spend(&[w.coin(1)], 100_000_000, 1_600); // 10 units/byte
    let child = w.spend(
        &[OutPoint {
            txid: parent.txid(),
            vout: 0,
        }],
        100_000_000 - 200,
        8_000,
    ); // 50 units/byte
    for tx in [&parent, &medium, &child] {
        accept(&mut p, &w, tx).unwrap();
    }
    let t = p.assemble(1_000_000);
    let order: Vec<Txid> = t.txs.iter().map(Transaction::txid).collect();
    assert_eq!(order, vec![parent.txid(), child.txid(), medium.txid()]);
    assert_eq!(t.total_fees, 200 + 1_600 + 8_000);
    // With room for only two transactions, the package (parent + child) wins.
    let t = p.assemble(2 * 160);
    let order: Vec<Txid> = t.txs.iter().map(Transaction::txid).collect();
    assert_eq!(order, vec![parent.txid(), child.txid()]);
}

#[test]
fn templates_order_by_fee_rate_and_respect_the_size_limit() {
    let w = World::new(10);
    let mut p = pool();
    let mut txs = Vec::new();
    for i in 0..10u8 {
        let tx = w.spend(&[w.coin(i)], 100_000_000, 1000 * (u64::from(i) + 1));
        accept(&mut p, &w, &tx).unwrap();
        txs.push(tx);
    }
    let t = p.assemble(3 * 160);
    assert_eq!(t.txs.len(), 3);
    assert_eq!(t.bytes, 480);
    let fees: Vec<u64> = t.fees.clone();
    assert_eq!(fees, vec![10_000, 9_000, 8_000]);
}

#[test]
fn a_full_pool_evicts_the_lowest_descendant_fee_rate() {
    let w = World::new(4);
    let policy = Policy {
        max_bytes: 3 * 160,
        ..Policy::default()
    };
    let mut p = Mempool::new(policy);
    let low_parent = w.spend(&[w.coin(0)], 100_000_000, 200);
    let a = w.spend(&[w.coin(1)], 100_000_000, 5_000);
    accept(&mut p, &w, &low_parent).unwrap();
    accept(&mut p, &w, &a).unwrap();
    // The child makes the low parent's package rate high: the pair is not the lowest.
    let child = w.spend(
        &[OutPoint {
            txid: low_parent.txid(),
            vout: 0,
        }],
        100_000_000 - 200,
        20_000,
    );
    accept(&mut p, &w, &child).unwrap();
    // A fourth transaction overflows the pool: `a` (rate 31) goes, the package (rate 63) stays.
    let b = w.spend(&[w.coin(2)], 100_000_000, 8_000);
    let evicted = accept(&mut p, &w, &b).unwrap();
    assert_eq!(evicted, vec![a.txid()]);
    assert!(p.contains(&low_parent.txid()) && p.contains(&child.txid()) && p.contains(&b.txid()));
    // A transaction paying less than everything is refused as "mempool full".
    let poor = w.spend(&[w.coin(3)], 100_000_000, 300);
    assert_eq!(accept(&mut p, &w, &poor), Err(MempoolReject::Full));
    assert_eq!(p.len(), 3);
}

#[test]
fn a_block_removes_confirmed_and_conflicting_transactions() {
    let mut w = World::new(2);
    let mut p = pool();
    let a = w.spend(&[w.coin(0)], 100_000_000, 1000);
    let a_child = w.spend(
        &[OutPoint {
            txid: a.txid(),
            vout: 0,
        }],
        100_000_000 - 1000,
        1000,
    );
    let b = w.split(w.coin(1), 100_000_000, 2, 1000);
    let b_child = w.spend(
        &[OutPoint {
            txid: b.txid(),
            vout: 0,
        }],
        (100_000_000 - 1000) / 2,
        1000,
    );
    for tx in [&a, &a_child, &b, &b_child] {
        accept(&mut p, &w, tx).unwrap();
    }
    // A block confirms `a` and a different spend of coin 1 (conflicting with `b`).
    let other = w.spend(&[w.coin(1)], 100_000_000, 5000);
    let conflicts = p.remove_for_block(&[a.clone(), other.clone()]);
    let mut conflicts_sorted = conflicts.clone();
    conflicts_sorted.sort();
    let mut expected = vec![b.txid(), b_child.txid()];
    expected.sort();
    assert_eq!(conflicts_sorted, expected);
    assert_eq!(p.len(), 1);
    assert!(p.contains(&a_child.txid()));
    assert!(p.get(&a_child.txid()).unwrap().parents.is_empty());
    // The child now spends a confirmed output.
    w.chain.insert(
        OutPoint {
            txid: a.txid(),
            vout: 0,
        },
        Coin {
            output: a.outputs[0],
            height: TIP + 1,
            is_coinbase: false,
        },
    );
    assert_eq!(p.assemble(1_000_000).txs, vec![a_child]);
}

#[test]
fn saved_mempool_loads_back_and_damage_is_detected() {
    let w = World::new(2);
    let mut p = pool();
    let a = w.spend(&[w.coin(0)], 100_000_000, 1000);
    let b = w.spend(&[w.coin(1)], 100_000_000, 2000);
    accept(&mut p, &w, &a).unwrap();
    accept(&mut p, &w, &b).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mempool.dat");
    coinrs_mempool::save(&path, &p.drain()).unwrap();
    let loaded = coinrs_mempool::load(&path).unwrap();
    assert_eq!(
        loaded.iter().map(|(t, _)| t.txid()).collect::<Vec<_>>(),
        vec![a.txid(), b.txid()]
    );
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[30] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(coinrs_mempool::load(&path).is_err());
}
