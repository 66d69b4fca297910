//! Coin selection: which of the wallet's coins pay an amount, the fee, and whether there is
//! change.
//!
//! - **Fee**: a transaction is exactly `20 + 100·inputs + 40·outputs` bytes (PROTOCOL.md §1),
//!   so the fee is known before signing: `ceil(rate · size / 1000)` at a [`FeeRate`] in base
//!   units per 1000 bytes (INTERFACE.md's coins per 1000 bytes, in units).
//! - **Dust**: an amount is dust when it is below [`DUST_FLOOR`] (1000 units, 0.00001 coin),
//!   or, for change, below what the change costs: its 40-byte output now plus the 100-byte
//!   input that spends it later, at the transaction's fee rate ([`change_dust_threshold`]).
//!   The wallet never pays dust and never makes dust change: an excess too small to be change
//!   goes to the fee.
//! - **Branch and bound** first (Bitcoin Core's BnB, Murch's algorithm): a depth-first search
//!   over the coins by effective value (value minus the fee of its input) for a set whose
//!   total lands in `[target, target + change threshold]`, with no change output; among the
//!   sets found the smallest excess wins (at one fee rate Core's waste metric is the excess).
//!   Bounded to [`BNB_TRIES`] steps.
//! - **Fallback, largest first**: coins by decreasing value until they pay the amount, the
//!   fee and a change of at least the threshold (or, failing that, exactly enough with the
//!   small excess to the fee). It uses the fewest inputs, so the smallest fee.
//!
//! Amounts are exact: the search works in "milli-units" (value × 1000 against rate × bytes),
//! so rounding the fee never makes a chosen set fall short.

use coinrs_core::{OutPoint, Transaction, TxIn, TxOut};

use crate::error::{Result, WalletError};

/// Smallest payment or change the wallet makes, in base units.
pub const DUST_FLOOR: u64 = 1000;
/// Steps of the branch-and-bound search before falling back (Bitcoin Core's limit).
pub const BNB_TRIES: usize = 100_000;

/// A fee rate in base units per 1000 bytes of encoded transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeeRate(pub u64);

impl FeeRate {
    /// The node's default minimum relay fee rate (docs/policy.md): 1 unit per byte.
    pub const MIN_RELAY: FeeRate = FeeRate(1000);

    /// The fee of `size` bytes, rounded up.
    pub fn fee(self, size: usize) -> u64 {
        let milli = u128::from(self.0) * size as u128;
        u64::try_from(milli.div_ceil(1000)).unwrap_or(u64::MAX)
    }

    fn milli(self, size: usize) -> i128 {
        i128::from(self.0) * size as i128
    }
}

/// Encoded size of a transaction with these counts (PROTOCOL.md §1).
pub fn tx_size(inputs: usize, outputs: usize) -> usize {
    Transaction::BASE_SIZE + TxIn::SIZE * inputs + TxOut::SIZE * outputs
}

/// The smallest change worth making at `rate`: [`DUST_FLOOR`], or the fee of its output and
/// of the input that will spend it, whichever is larger.
pub fn change_dust_threshold(rate: FeeRate) -> u64 {
    DUST_FLOOR.max(rate.fee(TxOut::SIZE + TxIn::SIZE))
}

/// A coin the wallet may spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coin {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Its value.
    pub value: u64,
}

/// How a selection was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// An exact match (within the change threshold), no change.
    BranchAndBound,
    /// Largest coins first, with change unless it would be dust.
    LargestFirst,
}

/// The coins to spend, the fee and the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Inputs, in the order to spend them.
    pub coins: Vec<Coin>,
    /// The fee: inputs − payment − change.
    pub fee: u64,
    /// The change output's value, if any (never below [`change_dust_threshold`]).
    pub change: Option<u64>,
    /// Which algorithm found it.
    pub algorithm: Algorithm,
}

impl Selection {
    /// Sum of the selected coins.
    pub fn input_total(&self) -> u64 {
        self.coins.iter().map(|c| c.value).sum()
    }
}

/// Selects coins from `available` paying `payment` in `payment_outputs` outputs at `rate`.
pub fn select_coins(
    available: &[Coin],
    payment: u64,
    payment_outputs: usize,
    rate: FeeRate,
) -> Result<Selection> {
    // A coin whose input costs as much as it holds only adds fee.
    let input_cost = rate.milli(TxIn::SIZE);
    let mut coins: Vec<(Coin, i128)> = available
        .iter()
        .map(|c| (*c, i128::from(c.value) * 1000 - input_cost))
        .filter(|(_, eff)| *eff > 0)
        .collect();
    coins.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.outpoint.cmp(&b.0.outpoint)));

    let threshold = change_dust_threshold(rate);
    let target = i128::from(payment) * 1000 + rate.milli(tx_size(0, payment_outputs));
    if let Some(chosen) = branch_and_bound(&coins, target, i128::from(threshold) * 1000) {
        let coins: Vec<Coin> = chosen.into_iter().map(|i| coins[i].0).collect();
        let total: u64 = coins.iter().map(|c| c.value).sum();
        return Ok(Selection {
            fee: total - payment,
            coins,
            change: None,
            algorithm: Algorithm::BranchAndBound,
        });
    }
    largest_first(&coins, payment, payment_outputs, rate, threshold)
}

/// Indexes into `coins` (sorted by decreasing effective value) whose effective values sum
/// into `[target, target + window]`, the smallest such sum found within [`BNB_TRIES`].
fn branch_and_bound(coins: &[(Coin, i128)], target: i128, window: i128) -> Option<Vec<usize>> {
    let n = coins.len();
    let mut available: i128 = coins.iter().map(|c| c.1).sum();
    if available < target {
        return None;
    }
    let mut selected = vec![false; n];
    let mut current: i128 = 0;
    let mut best: Option<(i128, Vec<bool>)> = None;
    let mut depth = 0;
    for _ in 0..BNB_TRIES {
        let mut backtrack = false;
        if current + available < target || current > target + window {
            backtrack = true;
        } else if current >= target {
            let excess = current - target;
            if best.as_ref().is_none_or(|(b, _)| excess < *b) {
                best = Some((excess, selected.clone()));
                if excess == 0 {
                    break;
                }
            }
            backtrack = true;
        } else if depth == n {
            backtrack = true;
        }
        if backtrack {
            // Undo the trailing exclusions, then exclude the last included coin.
            while depth > 0 && !selected[depth - 1] {
                depth -= 1;
                available += coins[depth].1;
            }
            if depth == 0 {
                break;
            }
            depth -= 1;
            selected[depth] = false;
            current -= coins[depth].1;
            depth += 1;
        } else {
            selected[depth] = true;
            current += coins[depth].1;
            available -= coins[depth].1;
            depth += 1;
        }
    }
    best.map(|(_, sel)| (0..n).filter(|&i| sel[i]).collect())
}

fn largest_first(
    coins: &[(Coin, i128)],
    payment: u64,
    payment_outputs: usize,
    rate: FeeRate,
    threshold: u64,
) -> Result<Selection> {
    let mut by_value: Vec<Coin> = coins.iter().map(|c| c.0).collect();
    by_value.sort_by(|a, b| b.value.cmp(&a.value).then(a.outpoint.cmp(&b.outpoint)));
    let mut total: u64 = 0;
    for (k, coin) in by_value.iter().enumerate() {
        total += coin.value;
        let n = k + 1;
        let fee_with_change = rate.fee(tx_size(n, payment_outputs + 1));
        if let Some(change) = total
            .checked_sub(payment)
            .and_then(|x| x.checked_sub(fee_with_change))
            .filter(|&c| c >= threshold)
        {
            return Ok(Selection {
                coins: by_value[..n].to_vec(),
                fee: fee_with_change,
                change: Some(change),
                algorithm: Algorithm::LargestFirst,
            });
        }
        let fee_without = rate.fee(tx_size(n, payment_outputs));
        if total >= payment.saturating_add(fee_without) {
            return Ok(Selection {
                coins: by_value[..n].to_vec(),
                fee: total - payment,
                change: None,
                algorithm: Algorithm::LargestFirst,
            });
        }
    }
    Err(WalletError::InsufficientFunds {
        available: coins.iter().map(|c| c.0.value).sum(),
        needed: payment.saturating_add(rate.fee(tx_size(1, payment_outputs))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::Txid;
    use proptest::prelude::*;

    fn coins(values: &[u64]) -> Vec<Coin> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| Coin {
                outpoint: OutPoint {
                    txid: Txid([i as u8; 32]),
                    vout: i as u32,
                },
                value,
            })
            .collect()
    }

    fn values(s: &Selection) -> Vec<u64> {
        let mut v: Vec<u64> = s.coins.iter().map(|c| c.value).collect();
        v.sort_unstable();
        v
    }

    fn check_invariants(s: &Selection, payment: u64, outputs: usize, rate: FeeRate) {
        let outs = outputs + usize::from(s.change.is_some());
        assert_eq!(s.input_total(), payment + s.fee + s.change.unwrap_or(0));
        assert!(s.fee >= rate.fee(tx_size(s.coins.len(), outs)), "{s:?}");
        if let Some(c) = s.change {
            assert!(c >= change_dust_threshold(rate), "dust change {c}");
        }
    }

    #[test]
    fn fee_is_rounded_up_from_the_exact_size() {
        assert_eq!(tx_size(1, 2), 200);
        assert_eq!(FeeRate(1000).fee(200), 200);
        assert_eq!(FeeRate(1001).fee(200), 201); // 200.2 → 201
        assert_eq!(FeeRate(0).fee(200), 0);
        assert_eq!(change_dust_threshold(FeeRate(1000)), 1000);
        assert_eq!(change_dust_threshold(FeeRate(20_000)), 2800);
    }

    #[test]
    fn picks_an_exact_match_without_change_when_one_exists() {
        // At 1000 units/kB an input costs 100 and a 1-output tx without inputs 60: paying
        // 50_000 needs exactly 30_000 + 20_260 (two inputs: 50_000 + 260 fee).
        let rate = FeeRate(1000);
        let available = coins(&[70_000, 30_000, 20_260, 5_000, 100_000]);
        let s = select_coins(&available, 50_000, 1, rate).unwrap();
        assert_eq!(s.algorithm, Algorithm::BranchAndBound);
        assert_eq!(values(&s), vec![20_260, 30_000]);
        assert_eq!(s.change, None);
        assert_eq!(s.fee, 260);
        check_invariants(&s, 50_000, 1, rate);
    }

    #[test]
    fn spends_every_coin_when_only_all_of_them_pay_exactly() {
        // 3 inputs and 1 output are 360 bytes: 10_000 + 20_000 + 30_360 pay 60_000 exactly.
        let rate = FeeRate(1000);
        let s = select_coins(&coins(&[20_000, 30_360, 10_000]), 60_000, 1, rate).unwrap();
        assert_eq!(s.algorithm, Algorithm::BranchAndBound);
        assert_eq!(values(&s), vec![10_000, 20_000, 30_360]);
        assert_eq!((s.change, s.fee), (None, 360));
        // One unit more and nothing pays it.
        assert!(matches!(
            select_coins(&coins(&[20_000, 30_360, 10_000]), 60_001, 1, rate),
            Err(WalletError::InsufficientFunds { .. })
        ));
    }

    #[test]
    fn at_a_zero_fee_rate_an_exact_sum_pays_no_fee() {
        // 7_000 alone is short, 7_000 + 3_000 leaves 2_000 (more than a change is worth):
        // 5_000 + 3_000 is exact.
        let s = select_coins(&coins(&[7_000, 5_000, 3_000]), 8_000, 1, FeeRate(0)).unwrap();
        assert_eq!(s.algorithm, Algorithm::BranchAndBound);
        assert_eq!(values(&s), vec![3_000, 5_000]);
        assert_eq!((s.change, s.fee), (None, 0));
    }

    #[test]
    fn an_excess_below_the_change_threshold_counts_as_a_match() {
        let rate = FeeRate(1000);
        // 60_500 pays 60_000 + 160 fee with 340 over: less than a change output is worth.
        let s = select_coins(&coins(&[60_500, 200_000]), 60_000, 1, rate).unwrap();
        assert_eq!(s.algorithm, Algorithm::BranchAndBound);
        assert_eq!(values(&s), vec![60_500]);
        assert_eq!(s.fee, 500);
    }

    #[test]
    fn falls_back_to_largest_first_with_change() {
        let rate = FeeRate(1000);
        let s = select_coins(&coins(&[10_000, 500_000, 40_000]), 100_000, 1, rate).unwrap();
        assert_eq!(s.algorithm, Algorithm::LargestFirst);
        assert_eq!(values(&s), vec![500_000]);
        assert_eq!(s.fee, rate.fee(tx_size(1, 2)));
        assert_eq!(s.change, Some(500_000 - 100_000 - 200));
        check_invariants(&s, 100_000, 1, rate);
    }

    #[test]
    fn dust_change_goes_to_the_fee() {
        // BnB's excess (1_500) is over its window, and largest-first would leave 1_100 of
        // change at a rate where change below 1_400 is dust: it is dropped.
        let rate = FeeRate(10_000);
        let threshold = change_dust_threshold(rate);
        assert_eq!(threshold, 1_400);
        let payment = 100_000;
        let coin = payment + rate.fee(tx_size(1, 1)) + threshold + 100;
        let s = select_coins(&coins(&[coin]), payment, 1, rate).unwrap();
        assert_eq!(s.change, None, "{s:?}");
        check_invariants(&s, payment, 1, rate);
    }

    #[test]
    fn insufficient_funds_says_how_much() {
        let rate = FeeRate(1000);
        let err = select_coins(&coins(&[1_000, 2_000]), 3_000, 1, rate).unwrap_err();
        match err {
            WalletError::InsufficientFunds { available, needed } => {
                assert_eq!(available, 3_000);
                assert_eq!(needed, 3_000 + 160);
            }
            other => panic!("{other}"),
        }
        assert!(select_coins(&[], 1, 1, rate).is_err());
    }

    #[test]
    fn uneconomic_coins_are_never_spent() {
        // At 100_000 units/kB an input costs 10_000: a 9_000 coin only adds fee.
        let rate = FeeRate(100_000);
        let s = select_coins(&coins(&[9_000, 200_000]), 50_000, 1, rate).unwrap();
        assert_eq!(values(&s), vec![200_000]);
        let err = select_coins(&coins(&[9_000, 9_000, 9_000]), 1_000, 1, rate).unwrap_err();
        assert!(matches!(err, WalletError::InsufficientFunds { .. }));
    }

    #[test]
    fn many_small_coins_still_find_an_exact_match_quickly() {
        let rate = FeeRate(1000);
        let mut v: Vec<u64> = (1..=2_000).map(|i| 10_000 + i * 7).collect();
        v.push(123_456 + 100);
        let s = select_coins(&coins(&v), 123_456 - 60, 1, rate).unwrap();
        check_invariants(&s, 123_456 - 60, 1, rate);
        assert_eq!(s.change, None);
    }

    proptest! {
        #[test]
        fn selections_cover_amount_and_fee_and_never_make_dust(
            values in proptest::collection::vec(1u64..5_000_000, 0..40),
            payment in 1u64..20_000_000,
            outputs in 1usize..4,
            rate in 0u64..50_000,
        ) {
            let rate = FeeRate(rate);
            let available = coins(&values);
            match select_coins(&available, payment, outputs, rate) {
                Ok(s) => {
                    check_invariants(&s, payment, outputs, rate);
                    let mut ops: Vec<_> = s.coins.iter().map(|c| c.outpoint).collect();
                    ops.sort();
                    ops.dedup();
                    prop_assert_eq!(ops.len(), s.coins.len());
                    prop_assert!(s.coins.iter().all(|c| available.contains(c)));
                }
                Err(WalletError::InsufficientFunds { .. }) => {
                    // Not even every economic coin pays the amount and its fee.
                    let useful: Vec<u64> = values
                        .iter()
                        .copied()
                        .filter(|&v| u128::from(v) * 1000 > u128::from(rate.0) * 100)
                        .collect();
                    let total: u64 = useful.iter().sum();
                    prop_assert!(total < payment + rate.fee(tx_size(useful.len(), outputs)));
                }
                Err(other) => prop_assert!(false, "{}", other),
            }
        }
    }
}
