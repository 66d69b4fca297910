//! `coinrs-miner`: an external miner for a coinrs node.
//!
//! It fetches work with `getblocktemplate`, builds the block itself (a coinbase paying
//! `--address`, then the template's transactions), grinds nonces on `--threads` threads with
//! the SHA-256 midstate grinder of `coinrs-miner-core`, and hands solved blocks in with
//! `submitblock`. It finds the node and its credentials with the options of `coinrs-cli`
//! (`coinrs-client` does both), notices a new tip within a poll (300 ms), refreshes the
//! template every 5 s, and waits (retrying every second) while the node cannot be reached.
//!
//! `--benchmark SECONDS` grinds without a node and prints the hash rate.
//!
//! Exit codes: 2 for bad usage (options, address, chain file); otherwise it runs until
//! stopped; a benchmark exits 0.

mod bench;
mod template;
mod work;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use coinrs_client::{Client, Failure, NodeOptions};
use coinrs_core::address::decode_address;
use coinrs_miner_core::{Miner, WorkSource};

use crate::work::{Poller, RpcWork};

const EXAMPLES: &str = "\
Examples:
  coinrs-miner --chain regtest --address crt1p...             mine on a local regtest node
  coinrs-miner --address cdev1p... --threads 2                 mine on devnet with two threads
  coinrs-miner --rpcconnect 192.168.1.7:19332 --rpcuser me --rpcpassword secret --address cdev1p...
  coinrs-miner --benchmark 5                                   hash rate of this machine

Exit status: 2 for bad usage; otherwise the miner runs until it is stopped (a node that \
cannot be reached is retried every second). --benchmark exits 0.";

/// Command-line options of coinrs-miner.
#[derive(Debug, Parser)]
#[command(
    name = "coinrs-miner",
    version,
    about = "External miner for a coinrs node: getblocktemplate, grinding on all cores, submitblock.",
    after_help = EXAMPLES
)]
struct Cli {
    /// How to find the node and log in.
    #[command(flatten)]
    node: NodeOptions,

    /// Pay mined coins to this address (of the chain's prefix, e.g. crt1p… on regtest)
    #[arg(long, value_name = "ADDR", required_unless_present = "benchmark")]
    address: Option<String>,

    /// Grinding threads [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,

    /// Measure the hash rate for SECONDS without a node (all threads), print it and exit
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    benchmark: Option<f64>,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds (more than 0, at most 86400)"
        )),
    }
}

/// A log line on stderr, with the UTC time of day.
pub fn log(message: &str) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    eprintln!("{h:02}:{m:02}:{s:02} coinrs-miner: {message}");
}

fn threads(cli: &Cli) -> usize {
    cli.threads.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// Everything before mining: the node's address, the login, the payout key.
fn mine(cli: &Cli) -> Result<(), Failure> {
    let node = cli.node.resolve()?;
    if let Some(warning) = &node.warning {
        eprintln!("{warning}");
    }
    let address = cli.address.as_deref().unwrap_or_default();
    let pubkey = decode_address(&node.chain.hrp, address).map_err(|e| {
        Failure::usage(format!(
            "error: --address {address}: not an address of chain {} (prefix {}): {e}",
            node.chain.name, node.chain.hrp
        ))
    })?;
    let threads = threads(cli);
    let client = Client::new(
        node.endpoint.clone(),
        None,
        "",
        "",
        Some(Duration::from_secs(60)),
    )
    .with_name("coinrs-miner");
    log(&format!(
        "mining on {} with {threads} thread{}, paying {address}, node at {}",
        node.chain.name,
        if threads == 1 { "" } else { "s" },
        node.endpoint.authority()
    ));
    let (work, solved) = RpcWork::new();
    let work = Arc::new(work);
    let miner = Miner::start(Arc::clone(&work) as Arc<dyn WorkSource>, threads);
    Poller::new(client, node.auth, pubkey).run(&work, &solved, &miner)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(seconds) = cli.benchmark {
        let result = bench::run(Duration::from_secs_f64(seconds), threads(&cli));
        println!("{}", result.line());
        return ExitCode::SUCCESS;
    }
    match mine(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.message);
            ExitCode::from(failure.exit_code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn address_is_required_unless_benchmarking() {
        assert!(Cli::try_parse_from(["coinrs-miner", "--chain", "regtest"]).is_err());
        let cli = Cli::try_parse_from(["coinrs-miner", "--benchmark", "5"]).unwrap();
        assert_eq!(cli.benchmark, Some(5.0));
        let cli = Cli::try_parse_from([
            "coinrs-miner",
            "--chain",
            "regtest",
            "--address",
            "crt1p",
            "--threads",
            "3",
            "--rpcconnect",
            "10.1.1.1:5",
        ])
        .unwrap();
        assert_eq!(threads(&cli), 3);
        assert!(Cli::try_parse_from(["coinrs-miner", "--benchmark", "0"]).is_err());
        assert!(Cli::try_parse_from(["coinrs-miner", "--benchmark", "x"]).is_err());
        assert!(
            Cli::try_parse_from(["coinrs-miner", "--benchmark", "1", "--threads", "0"]).is_err()
        );
    }

    #[test]
    fn a_wrong_address_is_a_usage_error() {
        let devnet = coinrs_core::address::encode_address("cdev", &[1; 32]).unwrap();
        let cli = Cli::try_parse_from([
            "coinrs-miner",
            "--chain",
            "regtest",
            "--datadir",
            "/nonexistent",
            "--address",
            &devnet,
        ])
        .unwrap();
        let failure = mine(&cli).unwrap_err();
        assert_eq!(failure.exit_code, 2);
        assert!(failure.message.contains("--address"), "{}", failure.message);
        assert!(
            failure.message.contains("prefix crt"),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("cdev"), "{}", failure.message);
    }
}
