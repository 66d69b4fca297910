//! coinrsd's options: command line, environment (`COINRS_NAME`) and TOML config file, in that
//! order of precedence (INTERFACE.md). The file's values become clap defaults, so clap itself
//! applies the precedence: command line, then environment, then file, then built-in default.

use std::path::{Path, PathBuf};

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use coinrs_core::params::ChainParams;

/// The node's options.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "coinrsd",
    version,
    about = "coinrs node: keeps the chain, mines, serves JSON-RPC.",
    long_about = "coinrsd: the coinrs node.\n\n\
        With no options it starts a node on devnet (the default chain) with its data in the\n\
        platform's data folder (~/.local/share/coinrs on Linux), JSON-RPC on 127.0.0.1:19332.\n\
        Add --mine to mine blocks. Talk to it with coinrs-cli, e.g. `coinrs-cli getblockcount`.\n\n\
        Every option is also a key of the config file (DATADIR/coinrs.toml, or --conf) and an\n\
        environment variable COINRS_NAME (upper case, '-' as '_'); the command line wins over\n\
        the environment, which wins over the file.\n\n\
        Examples:\n  \
        coinrsd --mine                         mine on devnet\n  \
        coinrsd --chain regtest                blocks on demand (coinrs-cli --chain regtest generatetoaddress 1 ADDR)\n  \
        coinrsd --chain classroom.toml         a chain of your own (see docs/classroom-chain.toml)"
)]
pub struct Options {
    /// Chain: `regtest`, `devnet`, or the path of a chain file.
    #[arg(long, env = "COINRS_CHAIN", default_value = "devnet")]
    pub chain: String,
    /// Root data folder; each chain keeps its files in DATADIR/<chain name>/.
    #[arg(long, env = "COINRS_DATADIR")]
    pub datadir: Option<PathBuf>,
    /// TOML config file [default: DATADIR/coinrs.toml if present].
    #[arg(long, env = "COINRS_CONF")]
    pub conf: Option<PathBuf>,
    /// Peer-to-peer listen address HOST:PORT (repeatable) [default: 0.0.0.0:<chain p2p port>].
    #[arg(long, env = "COINRS_BIND", value_delimiter = ',')]
    pub bind: Vec<String>,
    /// JSON-RPC and explorer address HOST:PORT [default: 127.0.0.1:<chain RPC port>].
    #[arg(long, env = "COINRS_RPCBIND")]
    pub rpcbind: Option<String>,
    /// Static RPC user name (with --rpcpassword) instead of the cookie file.
    #[arg(long, env = "COINRS_RPCUSER")]
    pub rpcuser: Option<String>,
    /// Static RPC password (with --rpcuser).
    #[arg(long, env = "COINRS_RPCPASSWORD")]
    pub rpcpassword: Option<String>,
    /// Keep a connection to this peer, HOST:PORT or multiaddr (repeatable).
    #[arg(long, env = "COINRS_ADDNODE", value_delimiter = ',')]
    pub addnode: Vec<String>,
    /// Connect only to these peers (repeatable).
    #[arg(long, env = "COINRS_CONNECT", value_delimiter = ',')]
    pub connect: Vec<String>,
    /// Mine blocks.
    #[arg(long, env = "COINRS_MINE", num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub mine: bool,
    /// Pay mined coins to this address [default: a new address of the wallet `default`, created
    /// if missing; a node that already has a `mining.key` in its chain folder keeps paying it].
    #[arg(long, env = "COINRS_MINE_ADDRESS")]
    pub mine_address: Option<String>,
    /// Mining threads [default: number of cores].
    #[arg(long, env = "COINRS_MINE_THREADS")]
    pub mine_threads: Option<usize>,
    /// Accept inbound peers.
    #[arg(long, env = "COINRS_LISTEN", num_args = 0..=1, default_missing_value = "true", default_value = "true")]
    pub listen: bool,
    /// Find peers on the local network by mDNS [default: on, except on regtest].
    #[arg(long, env = "COINRS_MDNS", num_args = 0..=1, default_missing_value = "true")]
    pub mdns: Option<bool>,
    /// Find peers through the Kademlia DHT of the chain's nodes [default: on, except on
    /// regtest].
    #[arg(long, env = "COINRS_DHT", num_args = 0..=1, default_missing_value = "true")]
    pub dht: Option<bool>,
    /// Ask the router to forward the p2p port by UPnP IGD [default: on, except on regtest].
    /// Also used when the router's own external address is private (a group router on a
    /// school network): the mapping is then reachable from that network (docs/nat.md).
    #[arg(long, env = "COINRS_UPNP", num_args = 0..=1, default_missing_value = "true")]
    pub upnp: Option<bool>,
    /// Ask the router to forward the p2p port by PCP, falling back to NAT-PMP [default: on,
    /// except on regtest].
    #[arg(long, env = "COINRS_NATPMP", num_args = 0..=1, default_missing_value = "true")]
    pub natpmp: Option<bool>,
    /// Join the IPFS DHT (/ipfs/kad/1.0.0) and publish provider records for the CIDs of the
    /// newest 1 024 blocks (and each new one), so that IPFS nodes find this node as a
    /// provider (docs/ipfs.md). It uses the connected peers that speak that DHT; no public
    /// IPFS bootstrap node is dialled.
    #[arg(long, env = "COINRS_IPFS_DHT", num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub ipfs_dht: bool,
    /// Relay connections for peers behind NAT (Circuit Relay v2, bounded) while this node is
    /// found publicly reachable.
    #[arg(long, env = "COINRS_RELAY_SERVICE", num_args = 0..=1, default_missing_value = "true", default_value = "true")]
    pub relay_service: bool,
    /// The node's network is private as a whole (a classroom, a lab): private addresses count
    /// as reachable, so AutoNAT can find the node public and it can serve as a relay.
    #[arg(long, env = "COINRS_PRIVATE_NETWORK", num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub private_network: bool,
    /// Seconds a misbehaving peer's IP address stays banned.
    #[arg(long, env = "COINRS_BANTIME", default_value_t = 86_400)]
    pub bantime: u64,
    /// Most peer connections (inbound ones: this minus the outbound target of 8).
    #[arg(long, env = "COINRS_MAXCONNECTIONS", default_value_t = 125)]
    pub maxconnections: u32,
    /// Rebuild the chain state from the stored blocks.
    #[arg(long, env = "COINRS_REINDEX", num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub reindex: bool,
    /// Keep the index of inner merkle nodes (node hash → block), so that `getcid` serves
    /// every CID of the chain (docs/ipfs.md); built at start if missing, with a progress line.
    #[arg(long, env = "COINRS_MERKLEINDEX", num_args = 0..=1, default_missing_value = "true", default_value = "true")]
    pub merkleindex: bool,
    /// Keep an address index (balances, unspent outputs and history per address, for the
    /// explorer); `--addressindex=false` saves the space. Turning it on for a chain state
    /// built without it needs one start with --reindex.
    #[arg(long, env = "COINRS_ADDRESSINDEX", num_args = 0..=1, default_missing_value = "true", default_value = "true")]
    pub addressindex: bool,
    /// Memory for the chain state's cache and unflushed changes, in MiB.
    #[arg(long, env = "COINRS_DBCACHE", default_value_t = 450)]
    pub dbcache: usize,
    /// Minimum fee rate for relay and the mempool, in coins per 1000 bytes of encoded
    /// transaction (0.00001 = 1 base unit per byte).
    #[arg(long, env = "COINRS_MINRELAYTXFEE", default_value = "0.00001")]
    pub minrelaytxfee: String,
    /// Fee rate of the wallets' transactions, in coins per 1000 bytes (`settxfee` changes it
    /// per wallet); by default the mempool's minimum relay fee rate.
    #[arg(long, env = "COINRS_PAYTXFEE")]
    pub paytxfee: Option<String>,
    /// Mempool size budget in MB (10^6 bytes of encoded transactions).
    #[arg(long, env = "COINRS_MAXMEMPOOL", default_value_t = 300)]
    pub maxmempool: usize,
    /// JSON-RPC requests run at once.
    #[arg(long, env = "COINRS_RPCTHREADS", default_value_t = coinrs_rpc::server::DEFAULT_THREADS)]
    pub rpcthreads: usize,
    /// JSON-RPC requests waiting for a slot; beyond it the server answers HTTP 503.
    #[arg(long, env = "COINRS_RPCWORKQUEUE", default_value_t = coinrs_rpc::server::DEFAULT_QUEUE)]
    pub rpcworkqueue: usize,
    /// Largest JSON-RPC request body in bytes (a maximum block in hex is 2 MB).
    #[arg(long, env = "COINRS_RPCMAXBODY", default_value_t = coinrs_rpc::server::DEFAULT_MAX_BODY)]
    pub rpcmaxbody: usize,
}

/// Errors in the configuration, each naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read or parsed.
    #[error("config file {path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The chain file cannot be read or is not a valid chain.
    #[error("chain file {path}: {detail}")]
    ChainFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Options that do not fit together or a bad value.
    #[error("{0}")]
    Invalid(String),
}

/// Parses the options from `args` (the program name first), the environment and the config
/// file. Exits with clap's message on bad usage.
pub fn parse(args: Vec<String>) -> Result<Options, ConfigError> {
    let first = Options::try_parse_from(&args).unwrap_or_else(|e| e.exit());
    let datadir = first.datadir.clone().unwrap_or_else(default_datadir);
    let (conf, required) = match &first.conf {
        Some(p) => (p.clone(), true),
        None => (datadir.join("coinrs.toml"), false),
    };
    if !conf.exists() {
        if required {
            return Err(ConfigError::File {
                path: conf,
                detail: "not found".into(),
            });
        }
        return Ok(first);
    }
    let text = std::fs::read_to_string(&conf).map_err(|e| ConfigError::File {
        path: conf.clone(),
        detail: e.to_string(),
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::File {
        path: conf.clone(),
        detail: e.to_string(),
    })?;
    let mut cmd = Options::command();
    for (key, value) in &table {
        let id = key.replace('-', "_");
        if cmd.get_arguments().all(|a| a.get_id().as_str() != id) || id == "conf" {
            return Err(ConfigError::File {
                path: conf.clone(),
                detail: format!("unknown option {key:?}"),
            });
        }
        let values: Vec<String> = match value {
            toml::Value::Array(items) => items.iter().map(toml_scalar).collect::<Result<_, _>>(),
            scalar => toml_scalar(scalar).map(|s| vec![s]),
        }
        .map_err(|detail| ConfigError::File {
            path: conf.clone(),
            detail: format!("{key}: {detail}"),
        })?;
        cmd = cmd.mut_arg(id, |a| a.default_values(values));
    }
    let matches: ArgMatches = cmd.try_get_matches_from(&args).unwrap_or_else(|e| e.exit());
    Options::from_arg_matches(&matches).map_err(|e| ConfigError::File {
        path: conf,
        detail: e.to_string(),
    })
}

fn toml_scalar(v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        other => Err(format!("unsupported value {other}")),
    }
}

/// The mempool policy of the options; a bad fee rate is an error naming the option.
pub fn mempool_policy(o: &Options) -> Result<coinrs_mempool::Policy, ConfigError> {
    let fee = coinrs_rpc::params::parse_amount(&serde_json::Value::String(o.minrelaytxfee.clone()))
        .map_err(|e| {
            ConfigError::Invalid(format!(
                "--minrelaytxfee {}: {}",
                o.minrelaytxfee, e.message
            ))
        })?;
    Ok(coinrs_mempool::Policy {
        min_relay_fee_per_kb: fee,
        max_bytes: o.maxmempool.saturating_mul(1_000_000),
        ..coinrs_mempool::Policy::default()
    })
}

/// `--paytxfee` as a fee rate in base units per 1000 bytes.
pub fn pay_tx_fee(o: &Options) -> Result<Option<coinrs_wallet::FeeRate>, ConfigError> {
    let Some(text) = &o.paytxfee else {
        return Ok(None);
    };
    let fee = coinrs_rpc::params::parse_amount(&serde_json::Value::String(text.clone()))
        .map_err(|e| ConfigError::Invalid(format!("--paytxfee {text}: {}", e.message)))?;
    Ok(Some(coinrs_wallet::FeeRate(fee)))
}

/// The network settings of the options for a node whose chain folder is `dir`.
pub fn net_config(
    o: &Options,
    params: &ChainParams,
    dir: &Path,
) -> Result<coinrs_net::NetConfig, ConfigError> {
    let peer_addrs = |list: &[String], opt: &str| -> Result<Vec<_>, ConfigError> {
        list.iter()
            .map(|a| {
                coinrs_net::parse_peer_addr(a)
                    .map_err(|e| ConfigError::Invalid(format!("--{opt} {a}: {e}")))
            })
            .collect()
    };
    let binds: Vec<String> = if o.bind.is_empty() {
        vec![format!("0.0.0.0:{}", params.p2p_port)]
    } else {
        o.bind.clone()
    };
    let listen = binds
        .iter()
        .map(|b| {
            let sa: std::net::SocketAddr = b
                .parse()
                .map_err(|_| ConfigError::Invalid(format!("--bind {b}: expected IP:PORT")))?;
            Ok(coinrs_net::config::socket_multiaddr(sa))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let discovery = params.name != "regtest";
    let mut cfg = coinrs_net::NetConfig::new(dir.to_path_buf());
    cfg.listen = listen;
    cfg.accept_inbound = o.listen;
    cfg.addnode = peer_addrs(&o.addnode, "addnode")?;
    cfg.connect_only = peer_addrs(&o.connect, "connect")?;
    cfg.mdns = o.mdns.unwrap_or(discovery) && cfg.connect_only.is_empty();
    cfg.dht = o.dht.unwrap_or(discovery) && cfg.connect_only.is_empty();
    cfg.bantime = std::time::Duration::from_secs(o.bantime);
    cfg.upnp = o.upnp.unwrap_or(discovery) && o.listen;
    cfg.natpmp = o.natpmp.unwrap_or(discovery) && o.listen;
    cfg.ipfs_dht = o.ipfs_dht;
    cfg.relay_service = o.relay_service;
    cfg.private_network = o.private_network;
    cfg.max_inbound = o.maxconnections.saturating_sub(cfg.target_outbound as u32);
    Ok(cfg)
}

/// The platform's data folder / coinrs (`~/.local/share/coinrs` on Linux).
pub fn default_datadir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("coinrs")
}

/// The chain named by `--chain`: a built-in name or a chain file.
pub fn chain_params(chain: &str) -> Result<ChainParams, ConfigError> {
    if let Some(p) = ChainParams::by_name(chain) {
        return Ok(p);
    }
    let path = Path::new(chain);
    if !path.exists() {
        return Err(ConfigError::Invalid(format!(
            "unknown chain {chain:?}: use regtest, devnet, or the path of a chain file"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::ChainFile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    ChainParams::from_toml(&text).map_err(|e| ConfigError::ChainFile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once("coinrsd")
            .chain(list.iter().copied())
            .map(String::from)
            .collect()
    }

    #[test]
    fn file_values_apply_below_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("c.toml");
        std::fs::write(&conf, "chain = \"regtest\"\nmine = true\ndbcache = 64\naddnode = [\"a:1\", \"b:2\"]\nrpcbind = \"127.0.0.1:1\"\n").unwrap();
        let c = conf.to_str().unwrap();
        let o = parse(args(&["--conf", c])).unwrap();
        assert_eq!(o.chain, "regtest");
        assert!(o.mine);
        assert_eq!(o.dbcache, 64);
        assert_eq!(o.addnode, vec!["a:1", "b:2"]);
        let o = parse(args(&[
            "--conf",
            c,
            "--mine=false",
            "--dbcache",
            "7",
            "--rpcbind",
            "127.0.0.1:2",
        ]))
        .unwrap();
        assert!(!o.mine);
        assert_eq!(o.dbcache, 7);
        assert_eq!(o.rpcbind.as_deref(), Some("127.0.0.1:2"));
    }

    #[test]
    fn bad_config_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("c.toml");
        std::fs::write(&conf, "no_such_option = 1\n").unwrap();
        let err = parse(args(&["--conf", conf.to_str().unwrap()])).unwrap_err();
        assert!(
            err.to_string().contains("no_such_option") && err.to_string().contains("c.toml"),
            "{err}"
        );
        std::fs::write(&conf, "chain = [\n").unwrap();
        assert!(parse(args(&["--conf", conf.to_str().unwrap()])).is_err());
        let missing = dir.path().join("missing.toml");
        assert!(parse(args(&["--conf", missing.to_str().unwrap()])).is_err());
    }

    #[test]
    fn booleans_take_flag_and_value_forms() {
        assert!(parse(args(&["--mine"])).unwrap().mine);
        assert!(parse(args(&["--mine=true"])).unwrap().mine);
        assert!(!parse(args(&["--mine=false"])).unwrap().mine);
        assert!(!parse(args(&["--listen=false"])).unwrap().listen);
    }

    #[test]
    fn chains_by_name_or_file() {
        assert_eq!(chain_params("regtest").unwrap().name, "regtest");
        assert!(chain_params("nosuchchain").is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, "name = \"x\"\n").unwrap();
        assert!(matches!(
            chain_params(f.to_str().unwrap()),
            Err(ConfigError::ChainFile { .. })
        ));
    }
}
