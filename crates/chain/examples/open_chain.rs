//! Opens a chain folder (e.g. one filled by `fill_regtest`) with a `--dbcache` budget and
//! reports the time it took and the process's resident memory, for start-up and memory
//! measurements of the chain state alone (no RPC server, no network):
//!
//! ```sh
//! cargo run --release -p coinrs-chain --example open_chain -- /tmp/big/regtest 16
//! ```

use std::time::Instant;

use coinrs_chain::{Chain, ChainOptions};
use coinrs_core::params::ChainParams;

/// `VmRSS` and `VmHWM` (peak) of this process, in kB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: open_chain DIR [DBCACHE_MIB]")?;
    let dbcache: usize = args.next().map_or(Ok(450), |v| v.parse())?;
    let (rss, _) = memory();
    println!("before open: rss {} MB", rss / 1024);
    let started = Instant::now();
    let chain = Chain::open(
        std::path::Path::new(&dir),
        ChainParams::regtest(),
        &ChainOptions {
            cache_bytes: dbcache * 1024 * 1024,
            ..ChainOptions::default()
        },
        4_000_000_000,
    )?;
    let took = started.elapsed();
    let (rss, peak) = memory();
    println!(
        "opened height {} with --dbcache {dbcache} in {:.3} s: rss {} MB, peak {} MB",
        chain.height(),
        took.as_secs_f64(),
        rss / 1024,
        peak / 1024
    );
    Ok(())
}
