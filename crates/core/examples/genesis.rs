//! Grinds the genesis block of a chain from its parameters and reports the nonce, the hash
//! and the speed: how devnet's `DEVNET_GENESIS_NONCE` and `DEVNET_GENESIS_BITS` were found,
//! and a way for a teacher to check a classroom chain file before handing it out.
//!
//! ```sh
//! cargo run --release -p coinrs-core --example genesis -- devnet
//! cargo run --release -p coinrs-core --example genesis -- docs/classroom-chain.toml
//! ```

use std::time::Instant;

use coinrs_core::params::{ChainParams, grind_genesis_nonce};
use coinrs_core::pow::work;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "devnet".into());
    let mut params = match ChainParams::by_name(&arg) {
        Some(p) => p,
        None => ChainParams::from_toml(&std::fs::read_to_string(&arg)?)?,
    };
    params.known_genesis_nonce = None;
    let mut header = params.genesis_header_unsolved();
    let started = Instant::now();
    header.nonce =
        grind_genesis_nonce(&header, &params.pow_limit()).ok_or("no u64 nonce meets the target")?;
    let secs = started.elapsed().as_secs_f64();
    let tries = header.nonce as f64 + 1.0;
    let expected = u128::try_from(work(&params.pow_limit())).unwrap_or(u128::MAX) as f64;
    println!("chain        {}", params.name);
    println!("genesis_bits {:#010x}", params.genesis_bits);
    println!("nonce        {}", header.nonce);
    println!("hash         {}", header.hash());
    println!(
        "time         {secs:.2} s for {tries:.0} tries ({:.1} M tries/s)",
        tries / secs / 1e6
    );
    println!(
        "expected     {expected:.0} tries a block = {:.1} s a block on this core",
        expected / (tries / secs)
    );
    Ok(())
}
