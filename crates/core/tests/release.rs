//! Tests that grind real proof of work: meaningful only with optimisations, so they are
//! ignored in debug builds and run by the test command with `cargo test --release`.

use coinrs_core::params::{ChainParams, DEVNET_GENESIS_NONCE, grind_genesis_nonce};
use coinrs_core::pow::hash_meets_target;

/// devnet's genesis nonce is a stored constant; grinding it again from 0 must find the same
/// one (about 10 s of one core).
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "grinds devnet's genesis: run with --release"
)]
fn devnet_genesis_nonce_is_the_smallest_that_meets_the_target() {
    let params = ChainParams::devnet();
    let genesis = params.genesis();
    assert_eq!(genesis.header.nonce, DEVNET_GENESIS_NONCE);
    assert!(hash_meets_target(&genesis.hash().0, &params.pow_limit()));
    let mut unsolved = genesis.header;
    unsolved.nonce = 0;
    assert_eq!(
        grind_genesis_nonce(&unsolved, &params.pow_limit()),
        Some(DEVNET_GENESIS_NONCE)
    );
    // A chain file with devnet's parameters grinds to the same genesis.
    let mut from_file = params.clone();
    from_file.known_genesis_nonce = None;
    assert_eq!(from_file.genesis(), genesis);
}
