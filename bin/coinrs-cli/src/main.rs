//! `coinrs-cli`: the command-line client of the coinrs node, the equivalent of bitcoin-cli.
//!
//! `coinrs-cli [options] METHOD [ARG...]` sends one JSON-RPC call to `coinrsd` over HTTP and
//! prints the result: strings bare, null as nothing, anything else as JSON indented by 2.
//! It finds the node from `--chain` (the chain's RPC port and folder name), `--rpcconnect` and
//! `--rpcport`, and logs in with `--rpcuser`/`--rpcpassword` or else the `.cookie` file the
//! node writes in `DATADIR/<chain name>/` (that lookup and the HTTP call are the
//! `coinrs-client` crate's, shared with `coinrs-miner`). Which arguments are sent as JSON
//! rather than as strings is decided per method by the table in `args.rs`.
//!
//! Exit codes: 0 success; 1 an error from the server (printed as `error code: N` /
//! `error message:`) or an authorization failure; 2 bad usage or no way to reach the server.

mod args;
mod output;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use coinrs_client::{Client, Failure, NodeOptions};

const LONG_ABOUT: &str = "\
Calls a method of a running coinrsd node over its JSON-RPC interface and prints the result.

Options go before METHOD; every word after METHOD is an argument of the call. Arguments that a \
method takes as numbers, booleans, arrays or objects are parsed as JSON, the others are sent as \
strings (so `walletpassphrase 1234 60` sends the passphrase \"1234\" and the number 60).

Unless --rpcpassword is given, the login comes from the cookie file the node writes at start \
in DATADIR/<chain name>/.cookie, so use the same --chain and --datadir as the node.";

const EXAMPLES: &str = "\
Examples:
  coinrs-cli --chain regtest getblockcount
  coinrs-cli --chain regtest help                  list the node's methods
  coinrs-cli --chain regtest help getblock         help on one method
  coinrs-cli --chain regtest createwallet alice
  coinrs-cli --chain regtest --rpcwallet alice getnewaddress
  coinrs-cli --chain regtest generatetoaddress 101 ADDRESS
  coinrs-cli --chain regtest getblock $(coinrs-cli --chain regtest getbestblockhash) 2
  coinrs-cli createrawtransaction '[{\"txid\":\"TXID\",\"vout\":0}]' '{\"ADDRESS\":1.5}'
  coinrs-cli --rpcconnect 192.168.1.7:19332 --rpcuser me --rpcpassword secret getblockchaininfo

Exit status: 0 success, 1 error from the server or authorization failed, 2 bad usage or the \
server cannot be reached.";

/// Command-line options of coinrs-cli.
#[derive(Debug, Parser)]
#[command(
    name = "coinrs-cli",
    version,
    about = "Command-line client for the coinrs node's JSON-RPC (like bitcoin-cli).",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
struct Cli {
    /// How to find the node and log in.
    #[command(flatten)]
    node: NodeOptions,

    /// Send the call to this wallet of the node (POST /wallet/NAME)
    #[arg(long, value_name = "NAME")]
    rpcwallet: Option<String>,

    /// Seconds to wait for the answer; 0 waits forever
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    rpcclienttimeout: u64,

    /// The JSON-RPC method to call (`help` lists them)
    #[arg(value_name = "METHOD")]
    method: String,

    /// Arguments of the method
    #[arg(
        value_name = "ARG",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

/// Works out the node's address and login from the options, then makes the call.
fn run(cli: &Cli) -> Result<serde_json::Value, Failure> {
    let node = cli.node.resolve()?;
    if let Some(warning) = &node.warning {
        eprintln!("{warning}");
    }
    let (user, password) = node.auth.credentials()?;
    let timeout = (cli.rpcclienttimeout > 0).then(|| Duration::from_secs(cli.rpcclienttimeout));
    let client = Client::new(
        node.endpoint,
        cli.rpcwallet.as_deref(),
        &user,
        &password,
        timeout,
    )
    .with_name("coinrs-cli");
    client.call(&cli.method, args::convert_params(&cli.method, &cli.args))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(result) => {
            if let Some(text) = output::format_result(&result) {
                // A closed pipe (`| head`) is not worth a panic.
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
            ExitCode::SUCCESS
        }
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
    fn everything_after_the_method_is_an_argument() {
        let cli = Cli::try_parse_from([
            "coinrs-cli",
            "--chain",
            "regtest",
            "setban",
            "1.2.3.4",
            "add",
            "-1",
            "--rpcport",
        ])
        .unwrap();
        assert_eq!(cli.node.chain, "regtest");
        assert_eq!(cli.method, "setban");
        assert_eq!(cli.args, ["1.2.3.4", "add", "-1", "--rpcport"]);
        assert_eq!(cli.node.rpcport, None);
    }

    #[test]
    fn method_is_required_and_bad_options_fail() {
        assert!(Cli::try_parse_from(["coinrs-cli", "--chain", "regtest"]).is_err());
        assert!(Cli::try_parse_from(["coinrs-cli", "--bogus", "getblockcount"]).is_err());
        assert!(Cli::try_parse_from(["coinrs-cli", "--rpcport", "0", "getblockcount"]).is_err());
    }
}
