//! Building and signing transactions.
//!
//! [`Wallet::create_transaction`] selects coins ([`crate::select`]), adds change to a fresh
//! change address when there is any, and signs every input with its key (BIP86-tweaked for
//! derived keys) through `coinrs_core::sig`. It does not record the transaction: the caller
//! hands it to the mempool and, once accepted, feeds it back with
//! [`Wallet::add_unconfirmed_transaction`], so a refused transaction leaves no trace but a
//! used change index. [`Wallet::sign_transaction`] signs the inputs of any transaction that
//! spend the wallet's outputs (`signrawtransactionwithwallet`).

use coinrs_core::sig::{SigningKey, sign_transaction, verify};
use coinrs_core::sighash::SighashCache;
use coinrs_core::{MAX_MONEY, OutPoint, Transaction, TxIn, TxOut};

use crate::error::{Result, WalletError, random_bytes};
use crate::keys::Branch;
use crate::select::{Algorithm, DUST_FLOOR, FeeRate, select_coins};
use crate::wallet::Wallet;

/// A signed transaction made by the wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedTransaction {
    /// Signed and ready for the mempool.
    pub tx: Transaction,
    /// Its fee.
    pub fee: u64,
    /// The change output (index, value), if any.
    pub change: Option<(u32, u64)>,
    /// How its coins were chosen.
    pub algorithm: Algorithm,
}

impl Wallet {
    /// Pays `payments` from the wallet's trusted coins at `rate`, with the chain's tip at
    /// `tip_height` (the lock time is the tip's height, as Bitcoin Core's anti-fee-sniping).
    /// Needs the wallet unlocked.
    pub fn create_transaction(
        &mut self,
        payments: &[TxOut],
        rate: FeeRate,
        tip_height: u64,
    ) -> Result<CreatedTransaction> {
        if payments.is_empty() || payments.iter().any(|p| p.value == 0) {
            return Err(WalletError::NoRecipients);
        }
        if let Some(p) = payments.iter().find(|p| p.value < DUST_FLOOR) {
            return Err(WalletError::Dust {
                value: p.value,
                threshold: DUST_FLOOR,
            });
        }
        let total: u128 = payments.iter().map(|p| u128::from(p.value)).sum();
        if total > u128::from(MAX_MONEY) {
            return Err(WalletError::AmountTooLarge);
        }
        // Refuse before using a change address when the keys are not there.
        if self.is_locked() {
            return Err(WalletError::Locked);
        }
        let coins = self.spendable_coins(tip_height);
        let selection = select_coins(&coins, total as u64, payments.len(), rate)?;

        let mut outputs = payments.to_vec();
        let mut change = None;
        if let Some(value) = selection.change {
            let pubkey = self.new_key(Branch::Change)?;
            // The change goes at a random place, so it does not show which output it is.
            let mut r = [0u8; 4];
            random_bytes(&mut r)?;
            let at = (u32::from_le_bytes(r) as usize) % (outputs.len() + 1);
            outputs.insert(at, TxOut { value, pubkey });
            change = Some((at as u32, value));
        }
        let mut tx = Transaction {
            version: 1,
            inputs: selection
                .coins
                .iter()
                .map(|c| TxIn {
                    prevout: c.outpoint,
                    signature: [0u8; 64],
                })
                .collect(),
            outputs,
            lock_time: tip_height,
        };
        let keys = selection
            .coins
            .iter()
            .map(|c| {
                let pubkey = self.outputs[&c.outpoint].pubkey;
                self.signing_key(&pubkey)
            })
            .collect::<Result<Vec<SigningKey>>>()?;
        let mut aux = [0u8; 32];
        random_bytes(&mut aux)?;
        sign_transaction(&mut tx, &keys, &aux).expect("one key per input");
        Ok(CreatedTransaction {
            tx,
            fee: selection.fee,
            change,
            algorithm: selection.algorithm,
        })
    }

    /// Signs the inputs of `tx` that spend outputs of the wallet's keys; `prevout` tells the
    /// output an input spends when the wallet does not hold it (the node's UTXO set and
    /// mempool). Returns true when every input then carries a valid signature. Needs the
    /// wallet unlocked only when it has something to sign.
    pub fn sign_transaction(
        &mut self,
        tx: &mut Transaction,
        prevout: impl Fn(&OutPoint) -> Option<TxOut>,
    ) -> Result<bool> {
        let pubkeys: Vec<Option<[u8; 32]>> = tx
            .inputs
            .iter()
            .map(|i| match self.outputs.get(&i.prevout) {
                Some(out) => Some(out.pubkey),
                None => prevout(&i.prevout).map(|o| o.pubkey),
            })
            .collect();
        let cache = SighashCache::new(tx);
        let mut aux = [0u8; 32];
        random_bytes(&mut aux)?;
        for (i, pubkey) in pubkeys.iter().enumerate() {
            let Some(pubkey) = pubkey.filter(|p| self.keys.contains_key(p)) else {
                continue;
            };
            let key = self.signing_key(&pubkey)?;
            tx.inputs[i].signature = key.sign(&cache.sighash(i as u32), &aux);
        }
        Ok(pubkeys.iter().enumerate().all(|(i, pk)| {
            pk.is_some_and(|pk| verify(&pk, &cache.sighash(i as u32), &tx.inputs[i].signature))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::KdfParams;
    use crate::scan::Balances;
    use crate::select::{change_dust_threshold, tx_size};
    use crate::wallet::tests::new_wallet;
    use coinrs_core::memchain::MemChain;
    use coinrs_core::params::ChainParams;
    use coinrs_core::{Block, COIN};
    use std::time::Duration;

    struct Setup {
        chain: MemChain,
        time: u64,
        w: Wallet,
        _dir: tempfile::TempDir,
    }

    fn outsider() -> [u8; 32] {
        SigningKey::from_secret_bytes([42u8; 32])
            .unwrap()
            .public_key()
    }

    impl Setup {
        /// A wallet with `n` mature coinbase coins.
        fn new(n: usize) -> Setup {
            let dir = tempfile::tempdir().unwrap();
            let w = new_wallet(dir.path());
            let chain = MemChain::new(ChainParams::regtest());
            let time = chain.tip_header().time;
            let mut s = Setup {
                chain,
                time,
                w,
                _dir: dir,
            };
            for _ in 0..n {
                let key = s.w.new_key(Branch::Receive).unwrap();
                s.mine(vec![], key);
            }
            for _ in 0..ChainParams::regtest().coinbase_maturity {
                s.mine(vec![], outsider());
            }
            s
        }

        fn mine(&mut self, txs: Vec<Transaction>, pay_to: [u8; 32]) -> Block {
            self.time += 600;
            let block = self.chain.build_block(txs, 0, pay_to, self.time);
            self.chain
                .submit(&block.encode(), self.time)
                .expect("valid block");
            self.w.block_connected(&block).unwrap();
            block
        }
    }

    #[test]
    fn pays_with_change_and_the_chain_accepts_it() {
        let mut s = Setup::new(2);
        let tip = s.chain.height();
        let before = s.w.balances(tip).trusted;
        let rate = FeeRate(2000);
        let created =
            s.w.create_transaction(
                &[TxOut {
                    value: 3 * COIN,
                    pubkey: outsider(),
                }],
                rate,
                tip,
            )
            .unwrap();
        let tx = &created.tx;
        assert_eq!(tx.lock_time, tip);
        assert_eq!(created.fee, rate.fee(tx.encoded_size()));
        let (vout, change) = created.change.unwrap();
        assert!(change >= change_dust_threshold(rate));
        let change_key = tx.outputs[vout as usize].pubkey;
        assert_eq!(s.w.key_path(&change_key).unwrap(), "m/86'/1'/0'/1/0");

        assert!(s.w.add_unconfirmed_transaction(tx, 1).unwrap());
        // The change counts at once (own transaction), the payment is gone.
        assert_eq!(s.w.balances(tip).trusted, before - 3 * COIN - created.fee);
        s.mine(vec![tx.clone()], outsider());
        let tip = s.chain.height();
        assert_eq!(
            s.w.balances(tip),
            Balances {
                trusted: before - 3 * COIN - created.fee,
                ..Balances::default()
            }
        );
        let amounts = s.w.amounts(s.w.transaction(&tx.txid()).unwrap());
        assert_eq!(amounts.fee, Some(created.fee));
        assert_eq!(amounts.sent - amounts.received, 3 * COIN + created.fee);

        // Everything above is on disk: a reopened wallet sees the same coins and history.
        let path = s.w.path().to_path_buf();
        let (balances, unspent) = (s.w.balances(tip), s.w.unspent(tip, 0));
        let history: Vec<_> =
            s.w.transactions()
                .into_iter()
                .map(|(t, w)| (t, w.clone()))
                .collect();
        drop(std::mem::replace(
            &mut s.w,
            new_wallet(&path.with_file_name("other")),
        ));
        let w = Wallet::open(&path, &ChainParams::regtest()).unwrap();
        assert_eq!(w.balances(tip), balances);
        assert_eq!(w.unspent(tip, 0), unspent);
        let reopened: Vec<_> = w
            .transactions()
            .into_iter()
            .map(|(t, w)| (t, w.clone()))
            .collect();
        assert_eq!(reopened, history);
    }

    #[test]
    fn an_exact_amount_spends_one_coin_without_change() {
        let mut s = Setup::new(3);
        let tip = s.chain.height();
        let coin = s.w.unspent(tip, 1)[0].value;
        let rate = FeeRate(1000);
        let amount = coin - rate.fee(tx_size(1, 1));
        let created =
            s.w.create_transaction(
                &[TxOut {
                    value: amount,
                    pubkey: outsider(),
                }],
                rate,
                tip,
            )
            .unwrap();
        assert_eq!(created.algorithm, Algorithm::BranchAndBound);
        assert_eq!(created.change, None);
        assert_eq!(created.tx.inputs.len(), 1);
        s.mine(vec![created.tx], outsider());
    }

    #[test]
    fn refuses_dust_empty_and_unaffordable_payments_and_locked_wallets() {
        let mut s = Setup::new(1);
        let tip = s.chain.height();
        let pay = |value| {
            [TxOut {
                value,
                pubkey: outsider(),
            }]
        };
        assert!(matches!(
            s.w.create_transaction(&pay(999), FeeRate(1000), tip),
            Err(WalletError::Dust {
                value: 999,
                threshold: 1000
            })
        ));
        assert!(matches!(
            s.w.create_transaction(&[], FeeRate(1000), tip),
            Err(WalletError::NoRecipients)
        ));
        assert!(matches!(
            s.w.create_transaction(&pay(1000 * COIN), FeeRate(1000), tip),
            Err(WalletError::InsufficientFunds { .. })
        ));
        let two = [pay(MAX_MONEY)[0], pay(MAX_MONEY)[0]];
        assert!(matches!(
            s.w.create_transaction(&two, FeeRate(1000), tip),
            Err(WalletError::AmountTooLarge)
        ));
        s.w.encrypt("p", KdfParams::INSECURE_FOR_TESTS).unwrap();
        assert!(matches!(
            s.w.create_transaction(&pay(COIN), FeeRate(1000), tip),
            Err(WalletError::Locked)
        ));
        s.w.unlock("p", Duration::from_secs(60)).unwrap();
        let created =
            s.w.create_transaction(&pay(COIN), FeeRate(1000), tip)
                .unwrap();
        s.mine(vec![created.tx], outsider());
    }

    #[test]
    fn signs_the_inputs_it_owns_and_says_when_complete() {
        let mut s = Setup::new(1);
        let tip = s.chain.height();
        let mine = s.w.unspent(tip, 1)[0].clone();
        // A foreign coin: an outsider's mature coinbase.
        let foreign_key = SigningKey::from_secret_bytes([42u8; 32]).unwrap();
        let foreign_block = s.chain.build_block(vec![], 0, outsider(), s.time + 600);
        let foreign = foreign_block.transactions[0].outpoint(0);
        let foreign_out = foreign_block.transactions[0].outputs[0];
        let mut tx = Transaction {
            version: 1,
            inputs: vec![
                TxIn {
                    prevout: mine.outpoint,
                    signature: [0; 64],
                },
                TxIn {
                    prevout: foreign,
                    signature: [0; 64],
                },
            ],
            outputs: vec![TxOut {
                value: COIN,
                pubkey: outsider(),
            }],
            lock_time: 0,
        };
        // Only one input is the wallet's: signed, but incomplete.
        assert!(!s.w.sign_transaction(&mut tx, |_| None).unwrap());
        let cache = SighashCache::new(&tx);
        assert!(verify(
            &mine.pubkey,
            &cache.sighash(0),
            &tx.inputs[0].signature
        ));
        assert_eq!(tx.inputs[1].signature, [0; 64]);
        // The other party signs its input: complete, and the wallet's signature still holds.
        tx.inputs[1].signature = foreign_key.sign(&cache.sighash(1), &[0; 32]);
        let lookup = |op: &OutPoint| (*op == foreign).then_some(foreign_out);
        assert!(s.w.sign_transaction(&mut tx, lookup).unwrap());

        // Locked with something to sign: an error; with nothing of its own: fine.
        s.w.encrypt("p", KdfParams::INSECURE_FOR_TESTS).unwrap();
        assert!(matches!(
            s.w.sign_transaction(&mut tx, lookup),
            Err(WalletError::Locked)
        ));
        let mut theirs = Transaction {
            inputs: vec![tx.inputs[1]],
            ..tx.clone()
        };
        assert!(!s.w.sign_transaction(&mut theirs, |_| None).unwrap());
    }
}
