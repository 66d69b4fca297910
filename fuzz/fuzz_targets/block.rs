//! Decode + validate blocks: never a panic; what decodes re-encodes to the same bytes; what
//! validates creates no more value than it spends plus the subsidy.
#![no_main]

mod common;

use coinrs_core::block::Block;
use coinrs_core::encode::decode;
use coinrs_core::validation::validate_block;
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    let f = common::fixture();
    let params = f.chain.params();
    let result = validate_block(bytes, params, &f.chain, f.chain.utxos(), common::NOW);
    match decode::<Block>(bytes) {
        Ok(block) => {
            assert_eq!(block.encode(), bytes, "decode/encode round trip");
            if let Ok((_, _, effects)) = &result {
                let spent: u128 = effects.spent.iter().map(|(_, c)| u128::from(c.output.value)).sum();
                let created: u128 =
                    effects.created.iter().map(|(_, c)| u128::from(c.output.value)).sum();
                assert!(created <= spent + u128::from(params.subsidy(block.header.height)));
            }
        }
        Err(_) => assert_eq!(result.err(), Some(coinrs_core::RejectReason::BadBlkLength)),
    }
}

fuzz_target!(|data: &[u8]| {
    let f = common::fixture();
    check(data);
    let mutated = common::overlay(&f.block.encode(), data);
    check(&mutated);
    if let Ok(mut block) = decode::<Block>(&mutated) {
        common::reseal(&mut block);
        check(&block.encode());
    }
});
