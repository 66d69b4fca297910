//! Decode + check transactions as the mempool will: never a panic; round trips; a valid
//! transaction spends at least what it creates.
#![no_main]

mod common;

use coinrs_core::Transaction;
use coinrs_core::encode::decode;
use coinrs_core::validation::check_transaction;
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    let f = common::fixture();
    let Ok(tx) = decode::<Transaction>(bytes) else {
        return;
    };
    assert_eq!(tx.encode(), bytes, "decode/encode round trip");
    let height = f.chain.height() + 1;
    let maturity = f.chain.params().coinbase_maturity;
    if let Ok(effects) = check_transaction(&tx, height, maturity, f.chain.utxos()) {
        let spent: u128 = effects.spent.iter().map(|(_, c)| u128::from(c.output.value)).sum();
        assert_eq!(spent, tx.output_total() + u128::from(effects.fee));
    }
}

fuzz_target!(|data: &[u8]| {
    let f = common::fixture();
    check(data);
    check(&common::overlay(&f.spend.encode(), data));
});
