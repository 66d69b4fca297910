//! Forks, reorganisations of any depth, invalid branches, orphans, invalidate/reconsider and
//! chain tips.

use coinrs_chain::{BlockOutcome, ChainError, TipStatus};
use coinrs_core::{OutPoint, RejectReason, Transaction, TxOut};

use super::fixture::{NOW, Node};

fn tip_status(node: &Node, hash: coinrs_core::BlockHash) -> Option<TipStatus> {
    node.chain
        .chain_tips()
        .into_iter()
        .find(|t| t.hash == hash)
        .map(|t| t.status)
}

#[test]
fn extends_the_chain_and_keeps_utxos_equal_to_a_replay() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let hashes = node.extend(genesis, 5, 0);
    assert_eq!(node.chain.height(), 5);
    assert_eq!(node.chain.tip(), hashes[4]);
    let stats = node.chain.utxo_stats().unwrap();
    assert_eq!(stats.count, 5, "genesis outputs are not spendable");
    assert_eq!(stats.total, 5 * 50 * 100_000_000);
    node.assert_consistent();
    // A snapshot sees the same coins as direct lookups.
    use coinrs_core::validation::UtxoView;
    let snap = node.chain.utxo_snapshot().unwrap();
    let cb = node.chain.block(&hashes[0]).unwrap().unwrap().transactions[0].txid();
    let op = OutPoint { txid: cb, vout: 0 };
    assert_eq!(snap.coin(&op), node.chain.coin(&op).unwrap());
    assert!(snap.coin(&op).is_some() && snap.error().is_none());
    // The transaction index finds the coinbase of block 3, not genesis'.
    let b3 = node.chain.block(&hashes[2]).unwrap().unwrap();
    assert_eq!(
        node.chain.tx_location(&b3.transactions[0].txid()).unwrap(),
        Some((hashes[2], 0))
    );
    let g = node.chain.block(&genesis).unwrap().unwrap();
    assert_eq!(
        node.chain.tx_location(&g.transactions[0].txid()).unwrap(),
        None
    );
}

#[test]
fn a_side_branch_is_stored_and_a_heavier_one_wins_at_any_depth() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 30, 0);
    // A branch from height 1 with less work: stored, not active.
    let b = node.child(a[0], vec![], 0, 7);
    assert_eq!(node.submit(&b).unwrap(), BlockOutcome::SideBranch);
    assert_eq!(node.chain.tip(), a[29]);
    assert_eq!(tip_status(&node, b.hash()), Some(TipStatus::ValidHeaders));
    // Grow it past the active chain: a 29-block reorganisation.
    let mut rest = node.extend(b.hash(), 29, 7);
    assert_eq!(node.chain.tip(), *rest.last().unwrap());
    assert_eq!(node.chain.height(), 31);
    assert!(!node.chain.is_active(&a[5]));
    assert!(node.chain.is_active(&a[0]));
    assert_eq!(tip_status(&node, a[29]), Some(TipStatus::ValidFork));
    let tip = node
        .chain
        .chain_tips()
        .into_iter()
        .find(|t| t.hash == a[29])
        .unwrap();
    assert_eq!(tip.branch_len, 29);
    node.assert_consistent();
    // And back again: the old branch grows heavier.
    let more = node.extend(a[29], 3, 0);
    assert_eq!(node.chain.tip(), more[2]);
    assert_eq!(node.chain.height(), 33);
    node.assert_consistent();
    rest.clear();
}

#[test]
fn reorganisations_report_disconnected_then_connected_blocks() {
    use coinrs_chain::ChainEvent::{Connected, Disconnected};
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 2, 0);
    assert_eq!(
        node.chain.take_events(),
        vec![Connected(a[0]), Connected(a[1])]
    );
    let b = node.extend(genesis, 3, 5);
    assert_eq!(
        node.chain.take_events(),
        vec![
            Disconnected(a[1]),
            Disconnected(a[0]),
            Connected(b[0]),
            Connected(b[1]),
            Connected(b[2])
        ]
    );
    assert!(node.chain.take_events().is_empty());
}

#[test]
fn equal_work_keeps_the_branch_received_first() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 2, 0);
    let b = node.extend(genesis, 2, 9);
    assert_eq!(
        node.chain.tip(),
        a[1],
        "equal work: the first received stays"
    );
    node.extend(b[1], 1, 9);
    assert_eq!(node.chain.height(), 3);
    assert!(node.chain.is_active(&b[0]));
}

#[test]
fn spends_move_with_reorganisations() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 101, 0);
    // Spend the coinbase of block 1 on branch A at height 102.
    let cb = node.chain.block(&a[0]).unwrap().unwrap().transactions[0].clone();
    let op = OutPoint {
        txid: cb.txid(),
        vout: 0,
    };
    let tx = node.spend(
        &[op],
        vec![TxOut {
            value: cb.outputs[0].value - 1000,
            pubkey: [9; 32],
        }],
    );
    let spend_block = node.child(a[100], vec![tx.clone()], 1000, 0);
    assert_eq!(node.submit(&spend_block).unwrap(), BlockOutcome::Active);
    assert!(node.chain.coin(&op).unwrap().is_none());
    assert!(
        node.chain
            .coin(&OutPoint {
                txid: tx.txid(),
                vout: 0
            })
            .unwrap()
            .is_some()
    );
    assert_eq!(
        node.chain.tx_location(&tx.txid()).unwrap(),
        Some((spend_block.hash(), 1))
    );
    // A spend of an output created earlier in the same block: verifychain accepts its undo
    // data (which holds only the coins taken from the parent's set).
    let (op2, v2) = {
        let cb = node.chain.block(&a[1]).unwrap().unwrap().transactions[0].clone();
        (
            OutPoint {
                txid: cb.txid(),
                vout: 0,
            },
            cb.outputs[0].value,
        )
    };
    let first = node.spend(
        &[op2],
        vec![TxOut {
            value: v2 - 1000,
            pubkey: node.key.public_key(),
        }],
    );
    let second = node.spend(
        &[OutPoint {
            txid: first.txid(),
            vout: 0,
        }],
        vec![TxOut {
            value: v2 - 2000,
            pubkey: [8; 32],
        }],
    );
    let in_block = node.child(spend_block.hash(), vec![first, second], 2000, 0);
    assert_eq!(node.submit(&in_block).unwrap(), BlockOutcome::Active);
    node.assert_consistent();
    node.chain.invalidate_block(&in_block.hash()).unwrap();
    // A competing branch from height 100 that is two blocks longer, without the spend.
    let b = node.extend(a[99], 3, 5);
    assert_eq!(node.chain.tip(), b[2]);
    assert!(
        node.chain.coin(&op).unwrap().is_some(),
        "the spent coin is back"
    );
    assert!(
        node.chain
            .coin(&OutPoint {
                txid: tx.txid(),
                vout: 0
            })
            .unwrap()
            .is_none()
    );
    assert_eq!(node.chain.tx_location(&tx.txid()).unwrap(), None);
    node.assert_consistent();
}

#[test]
fn an_invalid_block_in_a_heavier_branch_sends_the_node_back_to_the_best_valid_chain() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 3, 0);
    // Branch B: B1 B2 valid, B3 spends a coin that does not exist, B4 B5 on top.
    let b = node.extend(genesis, 2, 4);
    let bad_tx = node.spend_missing(3, [1; 32]);
    let b3 = node.child(b[1], vec![bad_tx], 0, 4);
    // B3 alone does not outweigh A (equal work, A first): stored, not validated yet.
    assert_eq!(node.submit(&b3).unwrap(), BlockOutcome::SideBranch);
    let b4 = node.child(b3.hash(), vec![], 0, 4);
    // B4 makes B heavier: the node tries it, B3 fails, and it returns to A.
    let result = node.submit(&b4);
    assert!(
        matches!(
            result,
            Ok(BlockOutcome::SideBranch) | Err(ChainError::Rejected(_))
        ),
        "{result:?}"
    );
    assert_eq!(node.chain.tip(), a[2]);
    assert_eq!(tip_status(&node, b4.hash()), Some(TipStatus::Invalid));
    // Children of the invalid block are refused at once.
    let b5 = node.child(b4.hash(), vec![], 0, 4);
    assert!(matches!(
        node.submit(&b5),
        Err(ChainError::Rejected(RejectReason::BadPrevblk))
    ));
    assert_eq!(node.submit(&b3).unwrap(), BlockOutcome::DuplicateInvalid);
    node.assert_consistent();
    // Survives a restart.
    let node = node.restart();
    assert_eq!(node.chain.tip(), a[2]);
    assert_eq!(
        tip_status(&node, b5.hash()),
        Some(TipStatus::Invalid),
        "b5 is remembered as invalid"
    );
}

#[test]
fn a_failed_branch_leaves_the_node_on_its_valid_prefix_when_that_is_heavier() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 2, 0);
    let b = node.extend(genesis, 3, 6); // heavier: active
    assert_eq!(node.chain.tip(), b[2]);
    // B4 invalid (coinbase pays too much) and B5: B up to B3 stays the best valid chain.
    let mut b4 = node.child(b[2], vec![], 0, 6);
    b4.transactions[0].outputs[0].value += 1;
    let leaves: Vec<_> = b4.transactions.iter().map(|t| t.txid().0).collect();
    b4.header.merkle_root = coinrs_core::merkle::merkle_root(&leaves);
    coinrs_core::build::grind(&mut b4.header);
    assert!(matches!(
        node.submit(&b4),
        Err(ChainError::Rejected(RejectReason::BadCbAmount))
    ));
    assert_eq!(node.chain.tip(), b[2]);
    assert!(node.chain.is_active(&b[0]));
    assert!(!node.chain.is_active(&a[0]));
    node.assert_consistent();
}

#[test]
fn orphans_wait_for_their_parent() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let b1 = node.child(genesis, vec![], 0, 0);
    // Build b2, b3 on b1 in a second node that has b1, then give them in reverse order.
    let mut other = Node::new();
    other.submit(&b1).unwrap();
    let b2 = other.child(b1.hash(), vec![], 0, 0);
    other.submit(&b2).unwrap();
    let b3 = other.child(b2.hash(), vec![], 0, 0);
    assert_eq!(node.submit(&b3).unwrap(), BlockOutcome::Orphan);
    assert_eq!(node.submit(&b2).unwrap(), BlockOutcome::Orphan);
    assert_eq!(node.chain.orphan_count(), 2);
    assert_eq!(node.chain.height(), 0);
    assert_eq!(node.submit(&b1).unwrap(), BlockOutcome::Active);
    assert_eq!(node.chain.tip(), b3.hash());
    assert_eq!(node.chain.orphan_count(), 0);
    node.assert_consistent();
}

#[test]
fn duplicates_are_reported() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.child(genesis, vec![], 0, 0);
    node.submit(&a).unwrap();
    assert_eq!(node.submit(&a).unwrap(), BlockOutcome::Duplicate);
    let b = node.child(genesis, vec![], 0, 3);
    assert_eq!(node.submit(&b).unwrap(), BlockOutcome::SideBranch);
    assert_eq!(
        node.submit(&b).unwrap(),
        BlockOutcome::DuplicateInconclusive
    );
}

#[test]
fn invalidate_and_reconsider_move_the_tip() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 4, 0);
    let b = node.extend(genesis, 2, 8);
    assert_eq!(node.chain.tip(), a[3]);
    node.chain.invalidate_block(&a[1]).unwrap();
    // A is invalid from a[1]: the best valid chain is B (2 blocks) over a[0] (1 block).
    assert_eq!(node.chain.tip(), b[1]);
    assert_eq!(tip_status(&node, a[3]), Some(TipStatus::Invalid));
    node.assert_consistent();
    node.chain.reconsider_block(&a[1]).unwrap();
    assert_eq!(node.chain.tip(), a[3]);
    node.assert_consistent();
    // Invalidating the tip of a single chain leaves its parent.
    node.chain.invalidate_block(&a[3]).unwrap();
    assert_eq!(node.chain.tip(), a[2]);
    assert!(matches!(
        node.chain.invalidate_block(&genesis),
        Err(ChainError::Genesis)
    ));
    assert!(matches!(
        node.chain
            .invalidate_block(&coinrs_core::BlockHash([1; 32])),
        Err(ChainError::UnknownBlock(_))
    ));
}

#[test]
fn headers_without_blocks_are_headers_only_tips() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 1, 0);
    let h = node.child(a[0], vec![], 0, 0).header;
    node.chain.accept_header(&h, NOW).unwrap();
    assert_eq!(tip_status(&node, h.hash()), Some(TipStatus::HeadersOnly));
    assert_eq!(node.chain.best_header_height(), 2);
    assert_eq!(node.chain.height(), 1);
    // A header with wrong bits is refused and remembered.
    let mut bad = node.child(a[0], vec![], 0, 2).header;
    bad.bits = 0x207f_fffe;
    coinrs_core::build::grind(&mut bad);
    assert!(matches!(
        node.chain.accept_header(&bad, NOW),
        Err(ChainError::Rejected(RejectReason::BadDiffbits))
    ));
    assert!(matches!(
        node.chain.accept_header(&bad, NOW),
        Err(ChainError::Rejected(RejectReason::BadDiffbits))
    ));
}

#[test]
fn state_survives_a_restart() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 5, 0);
    let b = node.extend(a[1], 1, 3);
    let before = node.chain.utxo_stats().unwrap();
    let node = node.restart();
    assert_eq!(node.chain.tip(), a[4]);
    assert_eq!(node.chain.utxo_stats().unwrap(), before);
    assert_eq!(tip_status(&node, b[0]), Some(TipStatus::ValidHeaders));
    node.assert_consistent();
}

#[test]
fn reindex_rebuilds_the_same_state_from_the_stored_blocks() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 20, 0);
    node.extend(a[10], 3, 2);
    let tip = node.chain.tip();
    let stats = node.chain.utxo_stats().unwrap();
    let tips = node.chain.chain_tips().len();
    let Node { dir, chain, .. } = node;
    drop(chain);
    let options = coinrs_chain::ChainOptions {
        reindex: true,
        ..super::fixture::options()
    };
    let chain = coinrs_chain::Chain::open(
        dir.path(),
        coinrs_core::params::ChainParams::regtest(),
        &options,
        NOW,
    )
    .unwrap();
    assert_eq!(chain.tip(), tip);
    assert_eq!(chain.utxo_stats().unwrap(), stats);
    assert_eq!(chain.chain_tips().len(), tips);
}

#[test]
fn signatures_checked_alongside_the_writes_still_reject_with_the_sequential_reason() {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 102, 0);
    let cb = |h: usize| {
        let tx = node.chain.block(&a[h]).unwrap().unwrap().transactions[0].clone();
        (
            OutPoint {
                txid: tx.txid(),
                vout: 0,
            },
            tx.outputs[0].value,
        )
    };
    let (op1, v1) = cb(0);
    let (op2, v2) = cb(1);
    let mut bad_sig = node.spend(
        &[op1],
        vec![TxOut {
            value: v1,
            pubkey: [3; 32],
        }],
    );
    bad_sig.inputs[0].signature[5] ^= 1;
    let missing = node.spend_missing(4, [3; 32]);
    let good = node.spend(
        &[op2],
        vec![TxOut {
            value: v2,
            pubkey: [3; 32],
        }],
    );
    let tip = node.chain.tip();
    let stats = node.chain.utxo_stats().unwrap();
    // Only a bad signature: found by the parallel checks, the writes are dropped.
    let b = node.child(tip, vec![good.clone(), bad_sig.clone()], 0, 0);
    assert!(matches!(
        node.submit(&b),
        Err(ChainError::Rejected(RejectReason::BadTxnsSig))
    ));
    // A bad signature before a missing input: the earlier transaction's reason.
    let b = node.child(tip, vec![bad_sig.clone(), missing.clone()], 0, 2);
    assert!(matches!(
        node.submit(&b),
        Err(ChainError::Rejected(RejectReason::BadTxnsSig))
    ));
    // A missing input before a bad signature.
    let b = node.child(tip, vec![missing, bad_sig], 0, 3);
    assert!(matches!(
        node.submit(&b),
        Err(ChainError::Rejected(
            RejectReason::BadTxnsInputsMissingOrSpent
        ))
    ));
    assert_eq!(node.chain.tip(), tip);
    assert_eq!(node.chain.utxo_stats().unwrap(), stats);
    let b = node.child(tip, vec![good], 0, 0);
    assert_eq!(node.submit(&b).unwrap(), BlockOutcome::Active);
    node.assert_consistent();
}

/// Blocks whose signature checks span many pool tasks, started while later transactions are
/// still being checked: a bad signature anywhere rejects the block, and a rule broken after it
/// or before it gives the sequential reason.
#[test]
fn signatures_checked_while_later_transactions_are_checked_keep_the_sequential_reason() {
    const SPENDS: usize = 120;
    let mut node = Node::new();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, SPENDS + 101, 0);
    let spends: Vec<Transaction> = (0..SPENDS)
        .map(|h| {
            let tx = node.chain.block(&a[h]).unwrap().unwrap().transactions[0].clone();
            let op = OutPoint {
                txid: tx.txid(),
                vout: 0,
            };
            node.spend(
                &[op],
                vec![TxOut {
                    value: tx.outputs[0].value,
                    pubkey: [3; 32],
                }],
            )
        })
        .collect();
    let missing = node.spend_missing(4, [3; 32]);
    let with_bad_sig = |at: usize| {
        let mut txs = spends.clone();
        txs[at].inputs[0].signature[9] ^= 1;
        txs
    };
    let tip = node.chain.tip();
    let stats = node.chain.utxo_stats().unwrap();
    let mut nonce: u8 = 0;
    let mut submit = |node: &mut Node, txs: Vec<Transaction>| {
        nonce += 1;
        let b = node.child(tip, txs, 0, nonce);
        node.submit(&b)
    };
    for at in [0, 33, SPENDS / 2, SPENDS - 1] {
        assert!(
            matches!(
                submit(&mut node, with_bad_sig(at)),
                Err(ChainError::Rejected(RejectReason::BadTxnsSig))
            ),
            "bad signature in transaction {at}"
        );
    }
    // A bad signature early, a missing input late: the earlier transaction's reason.
    let mut txs = with_bad_sig(5);
    txs.insert(100, missing.clone());
    assert!(matches!(
        submit(&mut node, txs),
        Err(ChainError::Rejected(RejectReason::BadTxnsSig))
    ));
    // A missing input early, a bad signature late.
    let mut txs = with_bad_sig(110);
    txs.insert(40, missing);
    assert!(matches!(
        submit(&mut node, txs),
        Err(ChainError::Rejected(
            RejectReason::BadTxnsInputsMissingOrSpent
        ))
    ));
    assert_eq!(node.chain.tip(), tip);
    assert_eq!(node.chain.utxo_stats().unwrap(), stats);
    assert_eq!(submit(&mut node, spends).unwrap(), BlockOutcome::Active);
    node.assert_consistent();
}
