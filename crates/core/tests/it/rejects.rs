//! One test per reject reason of PROTOCOL.md §4, each building an offending object and
//! submitting it through `validate_block` (the node's entry point for blocks) or
//! `check_transaction` (the mempool's), and tests that the first broken rule wins.

use coinrs_core::block::Block;
use coinrs_core::build::grind;
use coinrs_core::hash::BlockHash;
use coinrs_core::params::ChainParams;
use coinrs_core::transaction::{COIN, MAX_MONEY};
use coinrs_core::validation::{RejectReason, check_transaction};
use coinrs_core::{OutPoint, Transaction, TxOut, Txid};

use super::fixture::{Fixture, NOW, reseal, spend_with};

use RejectReason::*;

/// Regtest with 101 blocks: the coinbases of heights 1 and 2 are mature for block 102.
fn mature() -> Fixture {
    Fixture::regtest(101)
}

fn expect(f: &mut Fixture, block: &Block, reason: RejectReason) {
    let tip = f.chain.tip();
    assert_eq!(f.submit(block).err(), Some(reason));
    assert_eq!(
        f.chain.tip(),
        tip,
        "a rejected block must not change the tip"
    );
}

/// A block of one valid spend of the height-1 coinbase, for transaction-level tests.
fn block_spending(f: &Fixture, tx: Transaction, fees: u64) -> Block {
    f.next_block(vec![tx], fees)
}

#[test]
fn accepts_a_valid_spend_and_pays_fees_to_the_coinbase() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![f.out(value - 1000)]);
    let b = block_spending(&f, tx.clone(), 1000);
    let effects = f.submit(&b).unwrap();
    assert_eq!(effects.fees, 1000);
    assert_eq!(effects.spent.len(), 1);
    assert!(f.chain.utxos().get(&op).is_none());
    let new = OutPoint {
        txid: tx.txid(),
        vout: 0,
    };
    assert_eq!(f.chain.utxos()[&new].output.value, value - 1000);
}

// ---- header ----

#[test]
fn rejects_header_version_not_one() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.header.version = 2;
    grind(&mut b.header);
    expect(&mut f, &b, BadVersion);
}

#[test]
fn rejects_hash_above_target() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    let target = coinrs_core::pow::bits_to_target(b.header.bits).unwrap();
    while coinrs_core::pow::hash_meets_target(&b.header.hash().0, &target) {
        b.header.nonce += 1;
    }
    expect(&mut f, &b, HighHash);
}

#[test]
fn rejects_invalid_bits_and_bits_above_pow_limit_as_high_hash() {
    for bits in [0u32, 0x0480_0001, 0xff00_ffff, 0x2100_ffff] {
        let mut f = Fixture::regtest(1);
        let mut b = f.next_block(vec![], 0);
        b.header.bits = bits;
        expect(&mut f, &b, HighHash);
    }
}

#[test]
fn rejects_unknown_parent_as_not_found_and_not_permanent() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.header.prev_hash = BlockHash([7u8; 32]);
    grind(&mut b.header);
    expect(&mut f, &b, PrevBlkNotFound);
    assert!(!PrevBlkNotFound.is_permanent());
}

#[test]
fn rejects_child_of_invalid_block() {
    let mut f = mature();
    let b = f.next_block(vec![], 0);
    let tip = f.chain.tip();
    f.chain.mark_invalid(&tip);
    expect(&mut f, &b, BadPrevblk);
}

#[test]
fn rejects_wrong_height() {
    for delta in [0u64, 2] {
        let mut f = mature();
        let mut b = f.next_block(vec![], 0);
        b.header.height = f.chain.height() + delta;
        b.transactions[0].lock_time = b.header.height;
        reseal(&mut b);
        expect(&mut f, &b, BadHeight);
    }
}

#[test]
fn rejects_bits_other_than_required() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.header.bits = 0x207f_fffe; // a valid, harder target: still not the required bits
    grind(&mut b.header);
    expect(&mut f, &b, BadDiffbits);
}

/// An easy chain with ASERT, so that required bits move with block times.
fn asert_params() -> ChainParams {
    let mut p = ChainParams::regtest();
    p.name = "asert-test".into();
    p.retarget = coinrs_core::params::Retarget::Asert;
    p.genesis_bits = 0x2000_ffff;
    p.target_spacing = 600;
    p.half_life = 3600;
    p.known_genesis_nonce = None;
    p
}

#[test]
fn asert_requires_genesis_bits_for_block_one_then_follows_block_times() {
    let mut f = Fixture::with_params(asert_params(), 0);
    // Block 1 carries the genesis bits, whatever its time.
    let b1 = f
        .chain
        .build_block(vec![], 0, f.pk(), f.chain.tip_header().time + 50_000);
    assert_eq!(b1.header.bits, 0x2000_ffff);
    f.submit(&b1).unwrap();
    // Block 2 on schedule (600 s later) keeps the target; mined 1 s later it gets harder.
    let on_time = f.chain.build_block(vec![], 0, f.pk(), b1.header.time + 600);
    assert_eq!(on_time.header.bits, 0x2000_ffff);
    let mut fast = f.chain.build_block(vec![], 0, f.pk(), b1.header.time + 1);
    f.submit(&fast.clone()).unwrap();
    let b3 = f.chain.build_block(vec![], 0, f.pk(), fast.header.time + 1);
    assert_ne!(
        b3.header.bits, 0x2000_ffff,
        "a fast parent must raise the difficulty"
    );
    // Carrying the genesis bits now is bad-diffbits.
    fast = b3.clone();
    fast.header.bits = 0x2000_ffff;
    grind(&mut fast.header);
    expect(&mut f, &fast, BadDiffbits);
    f.submit(&b3).unwrap();
}

#[test]
fn rejects_time_at_median_time_past() {
    let mut f = mature();
    // Times are 600 s apart: the median of the last 11 is the tip's time − 5·600.
    let mtp = f.chain.tip_header().time - 5 * 600;
    let mut b = f.chain.build_block(vec![], 0, f.pk(), mtp);
    expect(&mut f, &b, TimeTooOld);
    b = f.chain.build_block(vec![], 0, f.pk(), mtp + 1);
    f.submit(&b).unwrap();
}

#[test]
fn median_time_past_uses_min_11_height_previous_blocks() {
    use coinrs_core::validation::median_time_past;
    assert_eq!(median_time_past(1, &[100]), Some(100));
    // height 3: the previous 3 blocks, sorted [1, 5, 9], index 1.
    assert_eq!(median_time_past(3, &[9, 1, 5, 1000]), Some(5));
    // height 20: only the newest 11 count; sorted 0..=10 → index 5.
    let times: Vec<u64> = (0..20).collect();
    assert_eq!(median_time_past(20, &times), Some(5));
    assert_eq!(median_time_past(0, &[]), None);
}

#[test]
fn rejects_time_beyond_future_drift_without_a_permanent_mark() {
    let mut f = mature();
    let b = f.chain.build_block(vec![], 0, f.pk(), NOW + 7201);
    expect(&mut f, &b, TimeTooNew);
    assert!(!TimeTooNew.is_permanent());
    let ok = f.chain.build_block(vec![], 0, f.pk(), NOW + 7200);
    f.submit(&ok).unwrap();
}

// ---- body ----

#[test]
fn rejects_bytes_that_do_not_decode_as_a_whole_block() {
    let mut f = mature();
    let b = f.next_block(vec![], 0);
    let mut bytes = b.encode();
    bytes.push(0);
    assert_eq!(f.chain.submit(&bytes, NOW).err(), Some(BadBlkLength));
    let bytes = b.encode();
    assert_eq!(
        f.chain.submit(&bytes[..bytes.len() - 1], NOW).err(),
        Some(BadBlkLength)
    );
    assert_eq!(f.chain.submit(&[], NOW).err(), Some(BadBlkLength));
}

#[test]
fn rejects_block_larger_than_max_block_size() {
    let mut p = ChainParams::regtest();
    p.max_block_size = 1000;
    let mut f = Fixture::with_params(p, 1);
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].outputs = vec![f.out(0); 25]; // 96 + 4 + 20 + 25·40 = 1120 bytes
    reseal(&mut b);
    assert!(b.encoded_size() > 1000);
    expect(&mut f, &b, BadBlkLength);
}

#[test]
fn rejects_block_without_coinbase_first() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.transactions.clear();
    reseal(&mut b);
    expect(&mut f, &b, BadCbMissing);

    let (op, value) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![f.out(value)]);
    let mut b = f.next_block(vec![], 0);
    b.transactions.insert(0, tx);
    reseal(&mut b);
    expect(&mut f, &b, BadCbMissing);
}

#[test]
fn rejects_second_coinbase() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    let mut second = b.transactions[0].clone();
    second.outputs[0].value = 1;
    b.transactions.push(second);
    reseal(&mut b);
    expect(&mut f, &b, BadCbMultiple);
}

#[test]
fn rejects_wrong_merkle_root() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.header.merkle_root[0] ^= 1;
    grind(&mut b.header);
    expect(&mut f, &b, BadTxnMrklRoot);
}

#[test]
fn rejects_duplicate_transactions() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![f.out(value)]);
    let mut b = f.next_block(vec![tx.clone(), tx], 0);
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsDuplicate);
}

#[test]
fn rejects_coinbase_lock_time_other_than_height() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].lock_time += 1;
    reseal(&mut b);
    expect(&mut f, &b, BadCbHeight);
}

// ---- transactions, in a block and alone ----

/// Checks `tx` both inside a block (validate_block) and alone (check_transaction, as the
/// mempool will), expecting `reason` from both.
fn expect_tx(f: &mut Fixture, tx: Transaction, reason: RejectReason) {
    let height = f.chain.height() + 1;
    let alone = check_transaction(
        &tx,
        height,
        f.chain.params().coinbase_maturity,
        f.chain.utxos(),
    );
    assert_eq!(alone.err(), Some(reason), "check_transaction");
    let b = block_spending(f, tx, 0);
    expect(f, &b, reason);
}

#[test]
fn rejects_transaction_version_not_one() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let mut tx = f.spend(&[op], vec![f.out(value)]);
    tx.version = 2;
    expect_tx(&mut f, tx, BadTxnsVersion);
    // The coinbase is checked against it too.
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].version = 0;
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsVersion);
}

#[test]
fn rejects_transaction_without_outputs() {
    let mut f = mature();
    let (op, _) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![]);
    expect_tx(&mut f, tx, BadTxnsVoutEmpty);
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].outputs.clear();
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsVoutEmpty);
}

#[test]
fn rejects_output_above_max_money() {
    let mut f = mature();
    let (op, _) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![f.out(MAX_MONEY + 1)]);
    expect_tx(&mut f, tx, BadTxnsVoutTooLarge);
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].outputs[0].value = u64::MAX;
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsVoutTooLarge);
}

#[test]
fn rejects_outputs_adding_up_above_max_money() {
    let mut f = mature();
    let (op, _) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![f.out(MAX_MONEY), f.out(1)]);
    expect_tx(&mut f, tx, BadTxnsTxoutTotalTooLarge);
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].outputs = vec![f.out(MAX_MONEY); 3];
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsTxoutTotalTooLarge);
}

#[test]
fn rejects_inputs_spending_one_outpoint_twice() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let tx = f.spend(&[op, op], vec![f.out(value)]);
    expect_tx(&mut f, tx, BadTxnsInputsDuplicate);
}

#[test]
fn rejects_lock_time_above_block_height() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let height = f.chain.height() + 1;
    let tx = spend_with(&f.key, &[op], vec![f.out(value)], height + 1);
    expect_tx(&mut f, tx, BadTxnsNonFinal);
    // lock_time equal to the height is final.
    let tx = spend_with(&f.key, &[op], vec![f.out(value)], height);
    let b = block_spending(&f, tx, 0);
    f.submit(&b).unwrap();
}

#[test]
fn rejects_missing_and_already_spent_inputs() {
    let mut f = mature();
    let unknown = OutPoint {
        txid: Txid([9u8; 32]),
        vout: 0,
    };
    let tx = f.spend(&[unknown], vec![f.out(1)]);
    expect_tx(&mut f, tx, BadTxnsInputsMissingOrSpent);

    // Spent earlier in the same block.
    let (op, value) = f.coinbase_of(1);
    let a = f.spend(&[op], vec![f.out(value)]);
    let b = f.spend(&[op], vec![f.out(value - 1)]);
    let blk = f.next_block(vec![a.clone(), b], 0);
    expect(&mut f, &blk, BadTxnsInputsMissingOrSpent);

    // Created by a later transaction of the same block: not yet unspent.
    let child = spend_with(
        &f.other,
        &[OutPoint {
            txid: a.txid(),
            vout: 0,
        }],
        vec![f.out(value)],
        0,
    );
    let blk = f.next_block(vec![child.clone(), a.clone()], 0);
    expect(&mut f, &blk, BadTxnsInputsMissingOrSpent);
    // In the right order the chain of spends is valid.
    let blk = f.next_block(vec![a, child], 0);
    f.submit(&blk).unwrap();
}

#[test]
fn rejects_coinbase_spent_before_maturity() {
    let mut f = mature();
    // Next block is at 102: the coinbase of height 3 matures at 103.
    let (op, value) = f.coinbase_of(3);
    let tx = f.spend(&[op], vec![f.out(value)]);
    expect_tx(&mut f, tx, BadTxnsPrematureSpendOfCoinbase);
    // The coinbase of height 2 matures exactly at 102.
    let (op, value) = f.coinbase_of(2);
    let tx = f.spend(&[op], vec![f.out(value)]);
    let b = block_spending(&f, tx, 0);
    f.submit(&b).unwrap();
}

#[test]
fn rejects_coinbase_output_spent_in_its_own_block_as_premature() {
    let mut f = mature();
    let b = f.next_block(vec![], 0);
    let cb = &b.transactions[0];
    let tx = f.spend(
        &[OutPoint {
            txid: cb.txid(),
            vout: 0,
        }],
        vec![f.out(1)],
    );
    let mut b = b.clone();
    b.transactions.push(tx);
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsPrematureSpendOfCoinbase);
}

#[test]
fn rejects_outputs_above_inputs() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![f.out(value + 1)]);
    expect_tx(&mut f, tx, BadTxnsInBelowOut);
}

#[test]
fn rejects_a_signature_that_does_not_verify() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    // Signed by the wrong key.
    let tx = spend_with(&f.other, &[op], vec![f.out(value)], 0);
    expect_tx(&mut f, tx.clone(), BadTxnsSig);
    // A signature made for another input index does not verify either.
    let (op2, value2) = f.coinbase_of(2);
    let mut tx = f.spend(&[op, op2], vec![f.out(value + value2)]);
    let first = tx.inputs[0].signature;
    tx.inputs[0].signature = tx.inputs[1].signature;
    tx.inputs[1].signature = first;
    expect_tx(&mut f, tx, BadTxnsSig);
}

#[test]
fn rejects_spending_an_output_locked_to_an_invalid_xonly_key() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let not_a_key = [0xffu8; 32]; // above the field prime: no such x-only key
    let lock = f.spend(
        &[op],
        vec![TxOut {
            value,
            pubkey: not_a_key,
        }],
    );
    let b = block_spending(&f, lock.clone(), 0);
    f.submit(&b).unwrap();
    let tx = f.spend(
        &[OutPoint {
            txid: lock.txid(),
            vout: 0,
        }],
        vec![f.out(value)],
    );
    expect_tx(&mut f, tx, BadTxnsSig);
}

#[test]
fn rejects_coinbase_paying_more_than_subsidy_plus_fees() {
    let mut f = mature();
    let (op, value) = f.coinbase_of(1);
    let tx = f.spend(&[op], vec![f.out(value - 500)]);
    let mut b = f.next_block(vec![tx.clone()], 500);
    b.transactions[0].outputs[0].value += 1;
    reseal(&mut b);
    expect(&mut f, &b, BadCbAmount);
    // Exactly subsidy + fees is fine, and so is less.
    let mut b = f.next_block(vec![tx], 500);
    b.transactions[0].outputs[0].value -= 7;
    reseal(&mut b);
    f.submit(&b).unwrap();
}

#[test]
fn subsidy_halves_and_ends() {
    let p = ChainParams::regtest();
    assert_eq!(p.subsidy(0), 50 * COIN);
    assert_eq!(p.subsidy(149), 50 * COIN);
    assert_eq!(p.subsidy(150), 25 * COIN);
    assert_eq!(p.subsidy(150 * 63), (50 * COIN) >> 63);
    assert_eq!(p.subsidy(150 * 64), 0);
    assert_eq!(p.subsidy(u64::MAX), 0);
}

// ---- the first broken rule wins ----

#[test]
fn header_rules_come_before_body_rules() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.transactions.clear(); // bad-cb-missing and bad-txnmrklroot…
    b.header.version = 3; // …but bad-version is first
    grind(&mut b.header);
    expect(&mut f, &b, BadVersion);
}

#[test]
fn undecodable_bytes_come_before_header_rules() {
    let mut f = mature();
    let mut b = f.next_block(vec![], 0);
    b.header.version = 3;
    let mut bytes = b.encode();
    bytes.push(1);
    assert_eq!(f.chain.submit(&bytes, NOW).err(), Some(BadBlkLength));
}

#[test]
fn oversize_comes_after_header_rules() {
    let mut p = ChainParams::regtest();
    p.max_block_size = 1000;
    let mut f = Fixture::with_params(p, 1);
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].outputs = vec![f.out(0); 25];
    b.header.bits = 0x207f_fffe;
    reseal(&mut b);
    expect(&mut f, &b, BadDiffbits);
}

#[test]
fn body_rules_in_table_order() {
    let mut f = mature();
    // Missing coinbase beats a wrong merkle root.
    let mut b = f.next_block(vec![], 0);
    b.transactions.clear();
    grind(&mut b.header);
    expect(&mut f, &b, BadCbMissing);
    // Wrong merkle root beats a wrong coinbase height.
    let mut b = f.next_block(vec![], 0);
    b.transactions[0].lock_time = 0;
    grind(&mut b.header);
    expect(&mut f, &b, BadTxnMrklRoot);
}

#[test]
fn transactions_are_checked_in_block_order() {
    let mut f = mature();
    let (op1, v1) = f.coinbase_of(1);
    let bad_sig = spend_with(&f.other, &[op1], vec![f.out(v1)], 0);
    let missing = f.spend(
        &[OutPoint {
            txid: Txid([5; 32]),
            vout: 1,
        }],
        vec![f.out(1)],
    );
    let b = f.next_block(vec![bad_sig.clone(), missing.clone()], 0);
    expect(&mut f, &b, BadTxnsSig);
    let b = f.next_block(vec![missing, bad_sig], 0);
    expect(&mut f, &b, BadTxnsInputsMissingOrSpent);
}

#[test]
fn within_a_transaction_each_rule_covers_all_inputs_before_the_next() {
    let mut f = mature();
    let (immature, v) = f.coinbase_of(50);
    let missing = OutPoint {
        txid: Txid([5; 32]),
        vout: 0,
    };
    // Input 0 premature, input 1 missing: missingorspent is the earlier rule.
    let tx = f.spend(&[immature, missing], vec![f.out(v)]);
    expect_tx(&mut f, tx, BadTxnsInputsMissingOrSpent);
    // Input 0 with a bad signature, outputs above inputs: in-belowout is the earlier rule.
    let (op1, v1) = f.coinbase_of(1);
    let tx = spend_with(&f.other, &[op1], vec![f.out(v1 + 1)], 0);
    expect_tx(&mut f, tx, BadTxnsInBelowOut);
    // Duplicate inputs and a lock time in the future: duplicate comes first.
    let tx = spend_with(&f.key, &[op1, op1], vec![f.out(1)], 1_000_000);
    expect_tx(&mut f, tx, BadTxnsInputsDuplicate);
    // A wrong version and an output above MAX_MONEY: version first.
    let mut tx = f.spend(&[op1], vec![f.out(MAX_MONEY + 1)]);
    tx.version = 9;
    expect_tx(&mut f, tx, BadTxnsVersion);
}

#[test]
fn coinbase_amount_is_checked_after_all_transactions() {
    let mut f = mature();
    let (op1, v1) = f.coinbase_of(1);
    let bad_sig = spend_with(&f.other, &[op1], vec![f.out(v1)], 0);
    let mut b = f.next_block(vec![bad_sig], 0);
    b.transactions[0].outputs[0].value += COIN;
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsSig);
}

#[test]
fn coinbase_is_checked_before_later_transactions() {
    let mut f = mature();
    let (op1, v1) = f.coinbase_of(1);
    let bad_sig = spend_with(&f.other, &[op1], vec![f.out(v1)], 0);
    let mut b = f.next_block(vec![bad_sig], 0);
    b.transactions[0].outputs.clear();
    reseal(&mut b);
    expect(&mut f, &b, BadTxnsVoutEmpty);
}

#[test]
fn reject_strings_are_the_protocols() {
    let strings: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        strings,
        [
            "bad-version",
            "high-hash",
            "prev-blk-not-found",
            "bad-prevblk",
            "bad-height",
            "bad-diffbits",
            "time-too-old",
            "time-too-new",
            "bad-blk-length",
            "bad-cb-missing",
            "bad-cb-multiple",
            "bad-txnmrklroot",
            "bad-txns-duplicate",
            "bad-cb-height",
            "bad-txns-version",
            "bad-txns-vout-empty",
            "bad-txns-vout-toolarge",
            "bad-txns-txouttotal-toolarge",
            "bad-txns-inputs-duplicate",
            "bad-txns-nonfinal",
            "bad-txns-inputs-missingorspent",
            "bad-txns-premature-spend-of-coinbase",
            "bad-txns-in-belowout",
            "bad-txns-sig",
            "bad-cb-amount",
        ]
    );
    for r in RejectReason::ALL {
        assert_eq!(r.to_string(), r.as_str());
        assert_eq!(RejectReason::from_str_exact(r.as_str()), Some(r));
    }
}

/// Verifies in reverse order, as a parallel verifier may finish in any order.
struct ReverseVerifier;

impl coinrs_core::validation::SigVerifier for ReverseVerifier {
    fn all_valid(&self, checks: &[coinrs_core::validation::SigCheck]) -> bool {
        checks.iter().rev().all(|c| c.verify())
    }
}

#[test]
fn batched_signature_checks_give_the_sequential_reason() {
    use coinrs_core::validation::{
        check_block_body, connect_transactions, connect_transactions_with,
    };
    let f = mature();
    let (op1, v1) = f.coinbase_of(1);
    let (op2, v2) = f.coinbase_of(2);
    let good = f.spend(&[op1], vec![f.out(v1)]);
    let bad_sig = spend_with(&f.other, &[op2], vec![f.out(v2)], 0);
    let missing = f.spend(
        &[OutPoint {
            txid: Txid([5; 32]),
            vout: 1,
        }],
        vec![f.out(1)],
    );
    let overpaid = |txs: Vec<Transaction>| {
        let mut b = f.next_block(txs, 0);
        b.transactions[0].outputs[0].value += 1;
        reseal(&mut b);
        b
    };
    let cases = [
        (
            f.next_block(vec![bad_sig.clone(), missing.clone()], 0),
            BadTxnsSig,
        ),
        (
            f.next_block(vec![missing.clone(), bad_sig.clone()], 0),
            BadTxnsInputsMissingOrSpent,
        ),
        (
            f.next_block(vec![good.clone(), bad_sig.clone()], 0),
            BadTxnsSig,
        ),
        (overpaid(vec![good.clone(), bad_sig.clone()]), BadTxnsSig),
        (overpaid(vec![good.clone()]), BadCbAmount),
    ];
    for (block, reason) in cases {
        let txids = check_block_body(&block, block.encoded_size(), f.chain.params()).unwrap();
        let seq = connect_transactions(&block, &txids, f.chain.params(), f.chain.utxos());
        let rev = connect_transactions_with(
            &block,
            &txids,
            f.chain.params(),
            f.chain.utxos(),
            &ReverseVerifier,
        );
        assert_eq!(seq.err(), Some(reason));
        assert_eq!(rev.err(), Some(reason));
    }
    let ok = f.next_block(vec![good], 0);
    let txids = check_block_body(&ok, ok.encoded_size(), f.chain.params()).unwrap();
    assert_eq!(
        connect_transactions(&ok, &txids, f.chain.params(), f.chain.utxos()),
        connect_transactions_with(
            &ok,
            &txids,
            f.chain.params(),
            f.chain.utxos(),
            &ReverseVerifier
        )
    );
}
