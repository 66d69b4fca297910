//! Fills a regtest chain folder with N coinbase-only blocks with past timestamps (600 s
//! apart from regtest's 2018 genesis), for start-up and memory measurements of a large store:
//!
//! ```sh
//! cargo run --release -p coinrs-chain --example fill_regtest -- /tmp/big/regtest 100000
//! coinrsd --chain regtest --datadir /tmp/big
//! ```

use std::time::Instant;

use coinrs_chain::{Chain, ChainOptions};
use coinrs_core::build::build_child;
use coinrs_core::params::ChainParams;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: fill_regtest DIR N")?;
    let n: u64 = args.next().ok_or("usage: fill_regtest DIR N")?.parse()?;
    let now = 4_000_000_000;
    let mut chain = Chain::open(
        std::path::Path::new(&dir),
        ChainParams::regtest(),
        &ChainOptions::default(),
        now,
    )?;
    let started = Instant::now();
    while chain.height() < n {
        let tip = chain.entry(&chain.tip()).ok_or("tip")?.clone();
        let block = build_child(
            chain.params(),
            &tip.header,
            tip.block1_time,
            vec![],
            0,
            [7; 32],
            tip.header.time + 600,
        );
        chain.accept_block(&block.encode(), now)?;
        if chain.height() % 10_000 == 0 {
            println!(
                "{} blocks, {:.1} s",
                chain.height(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    chain.flush()?;
    println!(
        "done: height {}, {} bytes on disk",
        chain.height(),
        chain.size_on_disk()
    );
    Ok(())
}
