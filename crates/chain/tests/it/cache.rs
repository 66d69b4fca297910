//! The unspent-output cache: a crash loses it and the roll-forward at open rebuilds it,
//! reorganisations across a flush, tiny and large budgets give the same set, and random
//! sequences of connects, reorganisations, invalidations, restarts and crashes always leave a
//! set equal to a replay of the chain.

use std::collections::{BTreeMap, HashSet};

use coinrs_chain::{BlockOutcome, ChainOptions, UtxoStats};
use coinrs_core::block::Block;
use coinrs_core::{BlockHash, OutPoint, TxOut};
use proptest::prelude::*;

use super::fixture::{Node, options};

fn with_cache(bytes: usize) -> ChainOptions {
    ChainOptions {
        cache_bytes: bytes,
        ..options()
    }
}

/// Outputs of the active chain paying the node's key that a block on the tip may spend
/// (coinbases after 100 blocks), computed from the blocks themselves.
fn spendable(node: &Node) -> Vec<(OutPoint, u64)> {
    let pk = node.key.public_key();
    let next = node.chain.height() + 1;
    let mut set: BTreeMap<OutPoint, (u64, u64, bool)> = BTreeMap::new();
    for h in 1..=node.chain.height() {
        let hash = node.chain.hash_at(h).unwrap();
        let block = node.chain.block(&hash).unwrap().unwrap();
        for (i, tx) in block.transactions.iter().enumerate() {
            for input in &tx.inputs {
                set.remove(&input.prevout);
            }
            let txid = tx.txid();
            for (vout, out) in tx.outputs.iter().enumerate() {
                if out.pubkey == pk {
                    set.insert(
                        OutPoint {
                            txid,
                            vout: vout as u32,
                        },
                        (out.value, h, i == 0),
                    );
                }
            }
        }
    }
    set.into_iter()
        .filter(|(_, (_, h, cb))| !cb || h + 100 <= next)
        .map(|(op, (v, _, _))| (op, v))
        .collect()
}

/// A child of the tip spending up to `n` spendable outputs, each into two outputs to the
/// node's key; with `chain_in_block` the first new output is spent again in the same block.
fn spend_block(node: &Node, n: usize, chain_in_block: bool) -> Block {
    let pk = node.key.public_key();
    let mut txs = Vec::new();
    for (op, value) in spendable(node).into_iter().take(n) {
        let half = value / 2;
        txs.push(node.spend(
            &[op],
            vec![
                TxOut {
                    value: half,
                    pubkey: pk,
                },
                TxOut {
                    value: value - half,
                    pubkey: pk,
                },
            ],
        ));
    }
    if chain_in_block && let Some(first) = txs.first().cloned() {
        let value = first.outputs[0].value;
        txs.push(node.spend(
            &[OutPoint {
                txid: first.txid(),
                vout: 0,
            }],
            vec![TxOut { value, pubkey: pk }],
        ));
    }
    node.child(node.chain.tip(), txs, 0, 0)
}

fn extend_with_spends(node: &mut Node, blocks: usize, per_block: usize) {
    for i in 0..blocks {
        let b = spend_block(node, per_block, i % 3 == 0);
        assert_eq!(node.submit(&b).unwrap(), BlockOutcome::Active);
    }
}

/// Every transaction of the active chain is found where it is, through the cache of index
/// entries or the stored index (genesis's coinbase is not indexed, as in Bitcoin Core).
/// `forks.rs` checks that those of a branch left by a reorganisation are not.
fn assert_txindex(node: &Node) {
    for h in 1..=node.chain.height() {
        let hash = node.chain.hash_at(h).unwrap();
        let block = node.chain.block(&hash).unwrap().unwrap();
        for (pos, tx) in block.transactions.iter().enumerate() {
            assert_eq!(
                node.chain.tx_location(&tx.txid()).unwrap(),
                Some((hash, pos as u32)),
                "transaction {pos} of block {h}"
            );
        }
    }
}

fn assert_replay(node: &Node) -> UtxoStats {
    let stats = node.chain.utxo_stats().unwrap();
    assert_eq!(stats, node.chain.replay_utxo_stats().unwrap());
    stats
}

#[test]
fn a_crash_loses_the_cache_and_the_roll_forward_rebuilds_it() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    node.extend(genesis, 101, 0);
    node.chain.flush_all().unwrap();
    let written = node.chain.utxo_best_block();
    assert_eq!(written, node.chain.tip());
    extend_with_spends(&mut node, 8, 6);
    // The blocks are durable, their unspent-output changes only in memory.
    node.chain.flush().unwrap();
    assert_eq!(node.chain.utxo_best_block(), written);
    assert!(node.chain.utxo_cache_usage().0 > 0);
    let (tip, stats) = (node.chain.tip(), assert_replay(&node));

    assert_txindex(&node);

    let node = node.crash();
    assert_eq!(node.chain.tip(), tip);
    assert_eq!(
        node.chain.utxo_best_block(),
        tip,
        "rolled forward and written"
    );
    assert_txindex(&node);
    assert_eq!(node.chain.utxo_cache_usage().0, 0);
    assert_eq!(assert_replay(&node), stats);
    node.chain.verify_chain(0).unwrap();
}

#[test]
fn a_crash_before_any_durable_flush_returns_to_a_consistent_tip() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    node.extend(genesis, 101, 0);
    node.chain.flush().unwrap();
    extend_with_spends(&mut node, 5, 4);
    // No flush: what redb keeps of the later non-durable commits is its business; the
    // state it returns to must be consistent.
    let node = node.crash();
    assert!(node.chain.height() >= 101);
    assert_replay(&node);
    node.chain.verify_chain(0).unwrap();
}

#[test]
fn a_clean_restart_has_nothing_to_roll_forward() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    node.extend(genesis, 101, 0);
    extend_with_spends(&mut node, 3, 5);
    assert_ne!(node.chain.utxo_best_block(), node.chain.tip());
    let stats = assert_replay(&node);
    let node = node.restart();
    assert_eq!(node.chain.utxo_best_block(), node.chain.tip());
    assert_eq!(assert_replay(&node), stats);
}

#[test]
fn a_reorganisation_across_a_flush_boundary() {
    // A budget of a few hundred entries: several flushes while the spends are connected.
    let mut node = Node::with_options(with_cache(64 * 1024));
    let genesis = node.chain.tip();
    let base = node.extend(genesis, 101, 0);
    extend_with_spends(&mut node, 12, 8);
    let a_tip = node.chain.tip();
    // Changes are pending in the cache above the last flush.
    assert!(node.chain.utxo_cache_usage().0 > 0);
    assert_ne!(node.chain.utxo_best_block(), a_tip);
    let a_stats = assert_replay(&node);

    // A heavier branch from below all the spends: every spend block is disconnected.
    let b = node.extend(base[100], 14, 4);
    assert_eq!(node.chain.tip(), b[13]);
    assert!(!node.chain.is_active(&a_tip));
    assert_replay(&node);
    node.chain.verify_chain(0).unwrap();

    // Back to A: it grows past B (spends again, from the cache), then a crash.
    let mut parent = a_tip;
    for _ in 0..3 {
        let blk = node.child(parent, vec![], 0, 0);
        node.submit(&blk).unwrap();
        parent = blk.hash();
    }
    assert_eq!(node.chain.tip(), parent);
    extend_with_spends(&mut node, 2, 3);
    let stats = assert_replay(&node);
    assert_ne!(stats, a_stats);
    node.chain.flush().unwrap();
    let node = node.crash();
    assert_eq!(assert_replay(&node), stats);
    node.chain.verify_chain(0).unwrap();
}

#[test]
fn a_tiny_budget_gives_the_same_set_as_a_large_one() {
    let mut results = Vec::new();
    for bytes in [16 * 1024, 256 * 1024, 64 * 1024 * 1024] {
        let mut node = Node::with_options(with_cache(bytes));
        let genesis = node.chain.tip();
        node.extend(genesis, 101, 0);
        let mut bests = HashSet::new();
        for i in 0..15 {
            let b = spend_block(&node, 10, i % 2 == 0);
            node.submit(&b).unwrap();
            bests.insert(node.chain.utxo_best_block());
            let (_, memory) = node.chain.utxo_cache_usage();
            if bytes < 1024 * 1024 {
                // Within the budget (half of --dbcache) but for one block's worth.
                assert!(memory <= bytes, "{memory} bytes for a {bytes} budget");
            }
        }
        if bytes == 16 * 1024 {
            assert!(
                bests.len() > 5,
                "a tiny budget flushes often: {}",
                bests.len()
            );
        }
        if bytes == 64 * 1024 * 1024 {
            assert_eq!(bests.len(), 1, "a large budget never flushes here");
        }
        results.push((node.chain.tip(), assert_replay(&node)));
        node.chain.verify_chain(0).unwrap();
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
}

#[test]
fn an_old_store_without_a_utxo_best_block_is_upgraded() {
    use coinrs_chain::store::STATE_FILE;
    let mut node = Node::new();
    let genesis = node.chain.tip();
    node.extend(genesis, 5, 0);
    let stats = assert_replay(&node);
    let tip = node.chain.tip();
    let Node { dir, chain, .. } = node;
    drop(chain);
    // Make it look like schema 1: version 1, no utxo best block (the table is at the tip).
    {
        let db = redb::Database::create(dir.path().join(STATE_FILE)).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
                .unwrap();
            meta.insert("schema", 1u32.to_le_bytes().as_slice())
                .unwrap();
            meta.remove("utxo_best").unwrap();
        }
        w.commit().unwrap();
    }
    let chain = coinrs_chain::Chain::open(
        dir.path(),
        coinrs_core::params::ChainParams::regtest(),
        &options(),
        super::fixture::NOW,
    )
    .unwrap();
    assert_eq!(chain.tip(), tip);
    assert_eq!(chain.utxo_best_block(), tip);
    assert_eq!(chain.utxo_stats().unwrap(), stats);
}

#[test]
fn a_utxo_best_block_off_the_active_chain_is_reported_as_damage() {
    use coinrs_chain::store::STATE_FILE;
    let mut node = Node::new();
    let genesis = node.chain.tip();
    node.extend(genesis, 5, 0);
    let Node { dir, chain, .. } = node;
    drop(chain);
    {
        let db = redb::Database::create(dir.path().join(STATE_FILE)).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
                .unwrap();
            meta.insert("utxo_best", [7u8; 32].as_slice()).unwrap();
        }
        w.commit().unwrap();
    }
    let err = coinrs_chain::Chain::open(
        dir.path(),
        coinrs_core::params::ChainParams::regtest(),
        &options(),
        super::fixture::NOW,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("--reindex") && msg.contains(STATE_FILE),
        "{msg}"
    );
}

#[derive(Clone, Debug)]
enum Op {
    /// A block on the tip spending up to n outputs.
    Spend(usize),
    /// A branch from `depth` blocks below the tip, `depth + extra` blocks long (a reorg
    /// when extra > 0).
    Fork {
        depth: u64,
        extra: u64,
    },
    /// invalidateblock `depth` blocks below the tip, then later reconsider.
    Invalidate(u64),
    Reconsider,
    Flush,
    Restart,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..12).prop_map(Op::Spend),
        2 => (0u64..6, 0u64..3).prop_map(|(depth, extra)| Op::Fork { depth, extra }),
        1 => (0u64..4).prop_map(Op::Invalidate),
        1 => Just(Op::Reconsider),
        1 => Just(Op::Flush),
        1 => Just(Op::Restart),
        1 => Just(Op::Crash),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_connects_and_reorganisations_keep_the_cache_equal_to_a_replay(
        budget in prop_oneof![Just(12 * 1024), Just(128 * 1024), Just(32 * 1024 * 1024)],
        ops in proptest::collection::vec(op(), 1..25),
    ) {
        let mut node = Node::with_options(with_cache(budget));
        let genesis = node.chain.tip();
        node.extend(genesis, 101, 0);
        let mut invalidated: Vec<BlockHash> = Vec::new();
        let mut tag = 1u8;
        for op in ops {
            match op {
                Op::Spend(n) => {
                    let b = spend_block(&node, n, n % 2 == 0);
                    node.submit(&b).unwrap();
                }
                Op::Fork { depth, extra } => {
                    let h = node.chain.height().saturating_sub(depth).max(101);
                    let from = node.chain.hash_at(h).unwrap();
                    let len = (node.chain.height() - h + extra) as usize;
                    tag = tag.wrapping_add(1).max(1);
                    node.extend(from, len.max(1), tag);
                }
                Op::Invalidate(depth) => {
                    let h = node.chain.height().saturating_sub(depth).max(102);
                    if let Some(hash) = node.chain.hash_at(h) {
                        node.chain.invalidate_block(&hash).unwrap();
                        invalidated.push(hash);
                    }
                }
                Op::Reconsider => {
                    if let Some(hash) = invalidated.pop() {
                        node.chain.reconsider_block(&hash).unwrap();
                    }
                }
                Op::Flush => node.chain.flush().unwrap(),
                Op::Restart => node = node.restart(),
                Op::Crash => {
                    node.chain.flush().unwrap();
                    let tip = node.chain.tip();
                    node = node.crash();
                    prop_assert_eq!(node.chain.tip(), tip);
                }
            }
            let stats = node.chain.utxo_stats().unwrap();
            prop_assert_eq!(stats, node.chain.replay_utxo_stats().unwrap());
            assert_txindex(&node);
        }
        node.chain.verify_chain(0).unwrap();
    }
}
