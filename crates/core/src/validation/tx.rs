//! The transaction rules (PROTOCOL.md §4, transaction table), each over all inputs in input
//! order before the next rule.

use super::context::{Coin, UtxoView};
use super::reject::RejectReason;
use crate::hash::Hash;
use crate::sig;
use crate::sighash::SighashCache;
use crate::transaction::{MAX_MONEY, OutPoint, Transaction, TxIn};

/// What a valid non-coinbase transaction does to the unspent outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxEffects {
    /// Inputs minus outputs.
    pub fee: u64,
    /// The coins it spends, in input order.
    pub spent: Vec<(OutPoint, Coin)>,
}

/// The rules that need no unspent outputs and apply to a coinbase too: `bad-txns-version`,
/// `bad-txns-vout-empty`, `bad-txns-vout-toolarge`, `bad-txns-txouttotal-toolarge`.
pub fn check_tx_without_inputs(tx: &Transaction) -> Result<(), RejectReason> {
    if tx.version != 1 {
        return Err(RejectReason::BadTxnsVersion);
    }
    if tx.outputs.is_empty() {
        return Err(RejectReason::BadTxnsVoutEmpty);
    }
    if tx.outputs.iter().any(|o| o.value > MAX_MONEY) {
        return Err(RejectReason::BadTxnsVoutTooLarge);
    }
    if tx.output_total() > u128::from(MAX_MONEY) {
        return Err(RejectReason::BadTxnsTxoutTotalTooLarge);
    }
    Ok(())
}

/// One signature to verify: what `bad-txns-sig` checks for one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigCheck {
    /// The x-only key of the spent output.
    pub pubkey: [u8; 32],
    /// `sighash(tx, input)`.
    pub msg: Hash,
    /// The input's signature.
    pub signature: [u8; 64],
}

impl SigCheck {
    /// Runs the BIP340 verification.
    pub fn verify(&self) -> bool {
        sig::verify(&self.pubkey, &self.msg, &self.signature)
    }
}

/// Verifies a batch of signatures. The chain crate runs them on all cores; the reason a block
/// gets does not depend on which failing check is found, since every failure is `bad-txns-sig`
/// and the caller only batches checks that come before any other failure.
pub trait SigVerifier {
    /// True when every check verifies.
    fn all_valid(&self, checks: &[SigCheck]) -> bool;

    /// Called by [`crate::validation::connect_transactions_with`] after each transaction whose
    /// other rules pass, with every check of the block so far (a prefix that only grows): a
    /// verifier may start on them while the remaining transactions are checked. The default
    /// waits for [`SigVerifier::all_valid`].
    fn progress(&self, _checks_so_far: &[SigCheck]) {}
}

/// Verifies one signature after another on the calling thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct SequentialVerifier;

impl SigVerifier for SequentialVerifier {
    fn all_valid(&self, checks: &[SigCheck]) -> bool {
        checks.iter().all(SigCheck::verify)
    }
}

/// Checks a non-coinbase transaction against the whole table, as if it were in a block at
/// `height` whose earlier content (the chain so far and the block's earlier transactions) is
/// `utxos`. The mempool calls it with the next block's height.
pub fn check_transaction(
    tx: &Transaction,
    height: u64,
    coinbase_maturity: u64,
    utxos: &impl UtxoView,
) -> Result<TxEffects, RejectReason> {
    let mut checks = Vec::with_capacity(tx.inputs.len());
    let effects = check_transaction_deferred(tx, height, coinbase_maturity, utxos, &mut checks)?;
    if !SequentialVerifier.all_valid(&checks) {
        return Err(RejectReason::BadTxnsSig);
    }
    Ok(effects)
}

/// True when two inputs spend the same outpoint. Most transactions have a few inputs: those
/// are compared pairwise, without allocating; larger ones go through a hash set (seeded at
/// random per process, so a hostile transaction cannot pick colliding outpoints).
fn has_duplicate_prevout(inputs: &[TxIn]) -> bool {
    const PAIRWISE_UP_TO: usize = 16;
    if inputs.len() <= PAIRWISE_UP_TO {
        inputs
            .iter()
            .enumerate()
            .any(|(k, a)| inputs[k + 1..].iter().any(|b| a.prevout == b.prevout))
    } else {
        let mut seen = foldhash::HashSet::with_capacity_and_hasher(
            inputs.len(),
            foldhash::fast::RandomState::default(),
        );
        !inputs.iter().all(|i| seen.insert(i.prevout))
    }
}

/// [`check_transaction`] without the last rule: the signature checks are appended to
/// `sig_checks` for the caller to verify (in parallel, for a block). A transaction that passes
/// here and whose checks all verify is valid; one whose checks fail is `bad-txns-sig`.
pub fn check_transaction_deferred(
    tx: &Transaction,
    height: u64,
    coinbase_maturity: u64,
    utxos: &impl UtxoView,
    sig_checks: &mut Vec<SigCheck>,
) -> Result<TxEffects, RejectReason> {
    check_tx_without_inputs(tx)?;

    if has_duplicate_prevout(&tx.inputs) {
        return Err(RejectReason::BadTxnsInputsDuplicate);
    }
    if tx.lock_time > height {
        return Err(RejectReason::BadTxnsNonFinal);
    }
    let mut spent = Vec::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        match utxos.coin(&input.prevout) {
            Some(coin) => spent.push((input.prevout, coin)),
            None => return Err(RejectReason::BadTxnsInputsMissingOrSpent),
        }
    }
    let premature = spent.iter().any(|(_, coin)| {
        coin.is_coinbase
            && u128::from(height) < u128::from(coin.height) + u128::from(coinbase_maturity)
    });
    if premature {
        return Err(RejectReason::BadTxnsPrematureSpendOfCoinbase);
    }
    let in_total: u128 = spent.iter().map(|(_, c)| u128::from(c.output.value)).sum();
    let out_total = tx.output_total();
    // A sum above MAX_MONEY breaks the rule it is in (PROTOCOL.md §4).
    if in_total > u128::from(MAX_MONEY) || in_total < out_total {
        return Err(RejectReason::BadTxnsInBelowOut);
    }
    let cache = SighashCache::new(tx);
    for (i, (input, (_, coin))) in tx.inputs.iter().zip(&spent).enumerate() {
        sig_checks.push(SigCheck {
            pubkey: coin.output.pubkey,
            msg: cache.sighash(i as u32),
            signature: input.signature,
        });
    }
    Ok(TxEffects {
        // Both sums are at most MAX_MONEY here, so the difference fits in u64.
        fee: (in_total - out_total) as u64,
        spent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Txid;

    fn inputs(n: usize) -> Vec<TxIn> {
        (0..n)
            .map(|i| TxIn {
                prevout: OutPoint {
                    txid: Txid([(i % 7) as u8; 32]),
                    vout: i as u32,
                },
                signature: [0; 64],
            })
            .collect()
    }

    #[test]
    fn duplicate_prevouts_are_found_in_small_and_large_transactions() {
        for n in [0, 1, 2, 15, 16, 17, 40, 300] {
            let distinct = inputs(n);
            assert!(!has_duplicate_prevout(&distinct), "{n} distinct inputs");
            for (a, b) in [(0, n.saturating_sub(1)), (n / 2, n / 3), (1, 2)] {
                if n < 2 || a == b || a >= n || b >= n {
                    continue;
                }
                let mut dup = distinct.clone();
                dup[b].prevout = dup[a].prevout;
                assert!(has_duplicate_prevout(&dup), "{n} inputs, {b} repeats {a}");
            }
        }
    }
}
