//! Where the node is and how to log in: the chain's name and RPC port (built in, or read from
//! a chain file), the data directory, `--rpcconnect`/`--rpcport` and the cookie file.
//!
//! [`NodeOptions::resolve`] does it all in the order bitcoin-cli does (chain, address, port,
//! datadir); reading the cookie is left to [`Auth::credentials`], so that a program that
//! waits for the node (the miner) can read it again once the node has written it.

use std::path::{Path, PathBuf};

use coinrs_core::ChainParams;

use crate::error::Failure;

/// `--chain NAME|FILE`: `regtest`, `devnet`, or the path of a chain file (TOML), read and
/// checked as the node does.
pub fn resolve_chain(chain: &str) -> Result<ChainParams, Failure> {
    if let Some(params) = ChainParams::by_name(chain) {
        return Ok(params);
    }
    let path = chain;
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(format!(
            "error: --chain {path}: not regtest or devnet, and the chain file cannot be read: {e}"
        ))
    })?;
    ChainParams::from_toml(&text)
        .map_err(|e| Failure::usage(format!("error: chain file {path}: {e}")))
}

/// `--datadir`, else the platform's data directory joined with `coinrs` (as the daemon).
pub fn datadir(given: Option<&Path>) -> Result<PathBuf, Failure> {
    match given {
        Some(dir) => Ok(dir.to_path_buf()),
        None => dirs::data_dir().map(|d| d.join("coinrs")).ok_or_else(|| {
            Failure::usage("error: no data directory on this platform; give --datadir DIR")
        }),
    }
}

/// The cookie file the node writes in its chain folder: `DATADIR/<chain name>/.cookie`.
pub fn cookie_path(datadir: &Path, chain_name: &str) -> PathBuf {
    datadir.join(chain_name).join(".cookie")
}

/// `__cookie__:<hex>` split at the first `:` into user and password.
pub fn parse_cookie(text: &str) -> Result<(String, String), String> {
    let line = text.lines().next().unwrap_or("").trim();
    let (user, password) = line
        .split_once(':')
        .ok_or("it is not of the form USER:PASSWORD")?;
    Ok((user.to_string(), password.to_string()))
}

/// User and password: `--rpcpassword` (with `--rpcuser`, possibly empty) if given, else the
/// cookie file. As in bitcoin-cli, a user without a password still means the cookie.
pub fn credentials(
    rpcuser: Option<&str>,
    rpcpassword: Option<&str>,
    cookie: &Path,
) -> Result<(String, String), Failure> {
    Auth::from_options(rpcuser, rpcpassword, cookie.to_path_buf()).credentials()
}

/// How to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Static credentials (`--rpcuser`/`--rpcpassword`).
    Password {
        /// User name (possibly empty).
        user: String,
        /// Password.
        password: String,
    },
    /// The cookie file the node writes at start.
    Cookie(PathBuf),
}

impl Auth {
    /// `--rpcpassword` (non-empty) wins; otherwise the cookie file.
    pub fn from_options(rpcuser: Option<&str>, rpcpassword: Option<&str>, cookie: PathBuf) -> Self {
        match rpcpassword.filter(|p| !p.is_empty()) {
            Some(password) => Auth::Password {
                user: rpcuser.unwrap_or("").to_string(),
                password: password.to_string(),
            },
            None => Auth::Cookie(cookie),
        }
    }

    /// User and password; the cookie file is read now (it changes at each start of the node).
    pub fn credentials(&self) -> Result<(String, String), Failure> {
        let cookie = match self {
            Auth::Password { user, password } => return Ok((user.clone(), password.clone())),
            Auth::Cookie(cookie) => cookie,
        };
        let hint = "is coinrsd running with that --datadir/--chain?";
        let failure = |e: &dyn std::fmt::Display| {
            Failure::usage(format!(
                "error: could not read the cookie file {}: {e}; {hint}",
                cookie.display()
            ))
        };
        let text = std::fs::read_to_string(cookie).map_err(|e| failure(&e))?;
        parse_cookie(&text).map_err(|e| failure(&e))
    }
}

/// The server's address: host (without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    /// `HOST:PORT`, with an IPv6 host in brackets.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `--rpcconnect HOST[:PORT]` (IPv6 as `[::1]:PORT` or bare `::1`) into host and optional port.
pub fn parse_rpcconnect(value: &str) -> Result<(String, Option<u16>), String> {
    let bad_port = |p: &str| format!("invalid port {p:?} in --rpcconnect {value}");
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad_port(p))
    };
    if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("missing ']' in --rpcconnect {value}"))?;
        return match after {
            "" => Ok((host.to_string(), None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((host.to_string(), Some(port(p)?))),
                None => Err(format!(
                    "unexpected {after:?} after ']' in --rpcconnect {value}"
                )),
            },
        };
    }
    if value.is_empty() {
        return Err("empty --rpcconnect".into());
    }
    match value.matches(':').count() {
        0 => Ok((value.to_string(), None)),
        1 => {
            let (host, p) = value.split_once(':').unwrap_or((value, ""));
            if host.is_empty() {
                return Err(format!("no host in --rpcconnect {value}"));
            }
            Ok((host.to_string(), Some(port(p)?)))
        }
        _ => Ok((value.to_string(), None)), // a bare IPv6 address
    }
}

/// The port to use: `--rpcport`, else the port of `--rpcconnect`, else the chain's. When both
/// options give one, `--rpcport` wins and the warning bitcoin-cli prints comes back too.
pub fn choose_port(
    rpcport: Option<u16>,
    connect_port: Option<u16>,
    chain_port: u16,
) -> (u16, Option<String>) {
    match (rpcport, connect_port) {
        (Some(port), Some(_)) => (
            port,
            Some(format!(
                "Warning: Port specified in both --rpcconnect and --rpcport. Using --rpcport {port}"
            )),
        ),
        (Some(port), None) | (None, Some(port)) => (port, None),
        (None, None) => (chain_port, None),
    }
}

/// The options that find the node and log in, as given on a command line; the CLI and the
/// external miner flatten them into their own options (`#[command(flatten)]`).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct NodeOptions {
    /// Chain: regtest, devnet, or the path of a chain file (its name, address prefix and RPC
    /// port are used)
    #[arg(
        long,
        value_name = "NAME|FILE",
        env = "COINRS_CHAIN",
        default_value = "devnet"
    )]
    pub chain: String,

    /// Data directory of the node; the cookie is read from DIR/<chain name>/.cookie
    /// [default: the platform's data directory / coinrs]
    #[arg(long, value_name = "DIR", env = "COINRS_DATADIR")]
    pub datadir: Option<PathBuf>,

    /// Node to connect to
    #[arg(long, value_name = "HOST[:PORT]", default_value = "127.0.0.1")]
    pub rpcconnect: String,

    /// RPC port [default: the chain's RPC port: regtest 19443, devnet 19332]
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub rpcport: Option<u16>,

    /// User name for the node's static credentials (with --rpcpassword)
    #[arg(long, value_name = "USER", env = "COINRS_RPCUSER")]
    pub rpcuser: Option<String>,

    /// Password for the node's static credentials; without it the cookie file is used
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "COINRS_RPCPASSWORD",
        hide_env_values = true
    )]
    pub rpcpassword: Option<String>,
}

impl Default for NodeOptions {
    /// The defaults of the command line: devnet on 127.0.0.1, the cookie of the default datadir.
    fn default() -> Self {
        NodeOptions {
            chain: "devnet".into(),
            datadir: None,
            rpcconnect: "127.0.0.1".into(),
            rpcport: None,
            rpcuser: None,
            rpcpassword: None,
        }
    }
}

/// Where the node is and how to log in, worked out from [`NodeOptions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// The chain's parameters (its name, address prefix and ports).
    pub chain: ChainParams,
    /// The node's JSON-RPC address.
    pub endpoint: Endpoint,
    /// The root data directory.
    pub datadir: PathBuf,
    /// The login.
    pub auth: Auth,
    /// A warning to print (the port given twice), if any.
    pub warning: Option<String>,
}

impl NodeOptions {
    /// Resolves the chain, the node's address and port, the datadir and the login (the
    /// cookie file is not read yet). All failures are usage failures (exit code 2).
    pub fn resolve(&self) -> Result<NodeConfig, Failure> {
        let chain = resolve_chain(&self.chain)?;
        let (host, connect_port) = parse_rpcconnect(&self.rpcconnect)
            .map_err(|e| Failure::usage(format!("error: {e}")))?;
        let (port, warning) = choose_port(self.rpcport, connect_port, chain.rpc_port);
        let datadir = datadir(self.datadir.as_deref())?;
        let auth = Auth::from_options(
            self.rpcuser.as_deref(),
            self.rpcpassword.as_deref(),
            cookie_path(&datadir, &chain.name),
        );
        Ok(NodeConfig {
            chain,
            endpoint: Endpoint { host, port },
            datadir,
            auth,
            warning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A complete chain file (every key is required, as the node requires).
    const CLASSROOM: &str = r#"# An example chain file
name = "classroom"
genesis_time = 1795564800
genesis_bits = 0x1f00ffff          # easy
retarget = "asert"
target_spacing = 30
half_life = 600
initial_subsidy = 5000000000
halving_interval = 1000
coinbase_maturity = 10
max_block_size = 1000000
max_future_drift = 7200
hrp = "class"                      # addresses look like class1p…
p2p_port = 19555
rpc_port = 19554
"#;

    /// A fresh folder under the system's temporary directory.
    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("coinrs-client-test-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn built_in_chains() {
        assert_eq!(resolve_chain("regtest").unwrap().rpc_port, 19443);
        assert_eq!(resolve_chain("regtest").unwrap().hrp, "crt");
        assert_eq!(resolve_chain("devnet").unwrap().rpc_port, 19332);
        assert_eq!(resolve_chain("devnet").unwrap().name, "devnet");
    }

    #[test]
    fn chain_file_from_disk() {
        let dir = temp_dir("chain");
        let file = dir.join("classroom.toml");
        std::fs::write(&file, CLASSROOM).unwrap();
        let chain = resolve_chain(file.to_str().unwrap()).unwrap();
        assert_eq!(chain.name, "classroom");
        assert_eq!(chain.rpc_port, 19554);
        assert_eq!(chain.hrp, "class");
        let missing = resolve_chain(dir.join("missing.toml").to_str().unwrap()).unwrap_err();
        assert_eq!(missing.exit_code, 2);
        assert!(
            missing
                .message
                .contains("not regtest or devnet, and the chain file cannot be read"),
            "{}",
            missing.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn chain_file_errors() {
        let dir = temp_dir("bad-chain");
        let bad = |text: &str| {
            let file = dir.join("bad.toml");
            std::fs::write(&file, text).unwrap();
            let failure = resolve_chain(file.to_str().unwrap()).unwrap_err();
            assert_eq!(failure.exit_code, 2);
            assert!(
                failure.message.starts_with("error: chain file "),
                "{}",
                failure.message
            );
            failure.message
        };
        // Not TOML, a key missing, an unknown key, a bad port, a name that is no folder name,
        // a built-in chain's name.
        bad("name = \n");
        bad("name = \"lab\"\nrpc_port = 20001\n");
        bad(&format!("{CLASSROOM}colour = \"blue\"\n"));
        bad(&CLASSROOM.replace("rpc_port = 19554", "rpc_port = 0"));
        bad(&CLASSROOM.replace("rpc_port = 19554", "rpc_port = 70000"));
        bad(&CLASSROOM.replace("\"classroom\"", "\"../a\""));
        bad(&CLASSROOM.replace("\"classroom\"", "\"regtest\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cookie_parsing() {
        let (user, pass) = parse_cookie("__cookie__:0123abcd\n").unwrap();
        assert_eq!(user, "__cookie__");
        assert_eq!(pass, "0123abcd");
        // Split at the first ':' only.
        let (user, pass) = parse_cookie("u:p:q").unwrap();
        assert_eq!((user.as_str(), pass.as_str()), ("u", "p:q"));
        assert!(parse_cookie("no colon here").is_err());
        assert!(parse_cookie("").is_err());
    }

    #[test]
    fn credentials_prefer_the_password_option() {
        let nowhere = Path::new("/nonexistent/coinrs/.cookie");
        let (u, p) = credentials(Some("alice"), Some("secret"), nowhere).unwrap();
        assert_eq!((u.as_str(), p.as_str()), ("alice", "secret"));
        let err = credentials(Some("alice"), None, nowhere).unwrap_err();
        assert_eq!(err.exit_code, 2);
        assert!(
            err.message
                .starts_with("error: could not read the cookie file")
        );
        assert!(err.message.contains("/nonexistent/coinrs/.cookie"));
        // An empty password means the cookie, as in bitcoin-cli.
        assert_eq!(
            Auth::from_options(Some("alice"), Some(""), nowhere.to_path_buf()),
            Auth::Cookie(nowhere.to_path_buf())
        );
    }

    #[test]
    fn the_cookie_is_read_when_asked_for() {
        let dir = temp_dir("cookie");
        let cookie = dir.join(".cookie");
        let auth = Auth::Cookie(cookie.clone());
        assert!(auth.credentials().is_err());
        std::fs::write(&cookie, "__cookie__:ff00\n").unwrap();
        assert_eq!(
            auth.credentials().unwrap(),
            ("__cookie__".to_string(), "ff00".to_string())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cookie_path_is_in_the_chain_folder() {
        let chain = resolve_chain("regtest").unwrap();
        assert_eq!(
            cookie_path(Path::new("/data"), &chain.name),
            PathBuf::from("/data/regtest/.cookie")
        );
    }

    #[test]
    fn rpcconnect_forms() {
        assert_eq!(
            parse_rpcconnect("127.0.0.1"),
            Ok(("127.0.0.1".into(), None))
        );
        assert_eq!(
            parse_rpcconnect("node.example:19000"),
            Ok(("node.example".into(), Some(19000)))
        );
        assert_eq!(
            parse_rpcconnect("[::1]:8332"),
            Ok(("::1".into(), Some(8332)))
        );
        assert_eq!(parse_rpcconnect("[::1]"), Ok(("::1".into(), None)));
        assert_eq!(parse_rpcconnect("fe80::1"), Ok(("fe80::1".into(), None)));
        assert!(parse_rpcconnect("host:port").is_err());
        assert!(parse_rpcconnect("host:0").is_err());
        assert!(parse_rpcconnect(":19000").is_err());
        assert!(parse_rpcconnect("").is_err());
        let v6 = Endpoint {
            host: "::1".into(),
            port: 5,
        };
        assert_eq!(v6.authority(), "[::1]:5");
    }

    #[test]
    fn port_choice() {
        assert_eq!(choose_port(None, None, 19443), (19443, None));
        assert_eq!(choose_port(None, Some(7), 19443), (7, None));
        assert_eq!(choose_port(Some(8), None, 19443), (8, None));
        let (port, warning) = choose_port(Some(8), Some(7), 19443);
        assert_eq!(port, 8);
        assert_eq!(
            warning.unwrap(),
            "Warning: Port specified in both --rpcconnect and --rpcport. Using --rpcport 8"
        );
    }

    #[test]
    fn options_resolve_in_order() {
        let options = NodeOptions {
            chain: "regtest".into(),
            datadir: Some(PathBuf::from("/data")),
            rpcconnect: "10.0.0.2:9000".into(),
            ..NodeOptions::default()
        };
        let node = options.resolve().unwrap();
        assert_eq!(node.chain.name, "regtest");
        assert_eq!(node.endpoint.authority(), "10.0.0.2:9000");
        assert_eq!(
            node.auth,
            Auth::Cookie(PathBuf::from("/data/regtest/.cookie"))
        );
        assert_eq!(node.warning, None);
        let node = NodeOptions {
            chain: "regtest".into(),
            rpcuser: Some("u".into()),
            rpcpassword: Some("p".into()),
            ..NodeOptions::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(node.endpoint.port, 19443);
        assert_eq!(
            node.auth,
            Auth::Password {
                user: "u".into(),
                password: "p".into()
            }
        );
        let bad = NodeOptions {
            chain: "regtest".into(),
            rpcconnect: "host:port".into(),
            ..NodeOptions::default()
        };
        let failure = bad.resolve().unwrap_err();
        assert_eq!(failure.exit_code, 2);
        assert!(
            failure.message.starts_with("error: invalid port"),
            "{}",
            failure.message
        );
    }
}
