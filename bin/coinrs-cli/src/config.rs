//! Where the node is and how to log in: the chain's name and RPC port (built in, or read from
//! a chain file), the data directory, `--rpcconnect` and the cookie file.

use std::path::{Path, PathBuf};

use crate::error::Failure;

/// The chain facts the client needs: the folder name under the datadir and the RPC port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainInfo {
    pub name: String,
    pub rpc_port: u16,
}

/// `--chain NAME|FILE`: `regtest`, `devnet`, or the path of a chain file (TOML).
pub fn resolve_chain(chain: &str) -> Result<ChainInfo, Failure> {
    match chain {
        "regtest" => Ok(ChainInfo {
            name: "regtest".into(),
            rpc_port: 19443,
        }),
        "devnet" => Ok(ChainInfo {
            name: "devnet".into(),
            rpc_port: 19332,
        }),
        path => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::usage(format!(
                    "error: --chain {path}: not regtest or devnet, and the chain file cannot be read: {e}"
                ))
            })?;
            chain_from_toml(&text)
                .map_err(|e| Failure::usage(format!("error: chain file {path}: {e}")))
        }
    }
}

/// The `name` and `rpc_port` keys of a chain file.
pub fn chain_from_toml(text: &str) -> Result<ChainInfo, String> {
    let name = toml_key(text, "name").ok_or("no `name` key")?;
    let name = toml_string(name).ok_or("`name` is not a one-line string")?;
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(format!("`name` {name:?} is not a folder name"));
    }
    let port = toml_key(text, "rpc_port").ok_or("no `rpc_port` key")?;
    let rpc_port = toml_integer(port)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .ok_or("`rpc_port` is not a port number")?;
    Ok(ChainInfo { name, rpc_port })
}

/// The raw value text of top-level `key` (everything after `=`, trimmed), if present.
/// Just enough TOML for a chain file: one `key = value` per line, comments with `#`,
/// keys after the first `[table]` header ignored.
fn toml_key<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            return None;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        let k = k
            .strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .or_else(|| k.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
            .unwrap_or(k);
        if k == key {
            return Some(v.trim());
        }
    }
    None
}

/// A TOML basic (`"..."`) or literal (`'...'`) one-line string, with an optional trailing
/// comment.
fn toml_string(raw: &str) -> Option<String> {
    let (value, rest) = if let Some(body) = raw.strip_prefix('\'') {
        let end = body.find('\'')?;
        (body[..end].to_string(), &body[end + 1..])
    } else {
        let body = raw.strip_prefix('"')?;
        if body.starts_with("\"\"") {
            return None; // multi-line string
        }
        let mut value = String::new();
        let mut chars = body.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(i);
                    break;
                }
                '\\' => match chars.next()?.1 {
                    '"' => value.push('"'),
                    '\\' => value.push('\\'),
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    _ => return None,
                },
                c => value.push(c),
            }
        }
        (value, &body[end? + 1..])
    };
    let rest = rest.trim();
    (rest.is_empty() || rest.starts_with('#')).then_some(value)
}

/// A TOML integer (decimal, `0x`, `0o` or `0b`, `_` separators), with an optional comment.
fn toml_integer(raw: &str) -> Option<i64> {
    let number = raw.split('#').next()?.trim().replace('_', "");
    let (negative, digits) = match number.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, number.strip_prefix('+').unwrap_or(&number)),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
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

/// The cookie file the node writes in its chain folder.
pub fn cookie_path(datadir: &Path, chain: &ChainInfo) -> PathBuf {
    datadir.join(&chain.name).join(".cookie")
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
    if let Some(password) = rpcpassword.filter(|p| !p.is_empty()) {
        return Ok((rpcuser.unwrap_or("").to_string(), password.to_string()));
    }
    let hint = "is coinrsd running with that --datadir/--chain?";
    let text = std::fs::read_to_string(cookie).map_err(|e| {
        Failure::usage(format!(
            "error: could not read the cookie file {}: {e}; {hint}",
            cookie.display()
        ))
    })?;
    parse_cookie(&text).map_err(|e| {
        Failure::usage(format!(
            "error: could not read the cookie file {}: {e}; {hint}",
            cookie.display()
        ))
    })
}

/// The server's address: host (without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_chains() {
        assert_eq!(resolve_chain("regtest").unwrap().rpc_port, 19443);
        assert_eq!(resolve_chain("devnet").unwrap().rpc_port, 19332);
        assert_eq!(resolve_chain("devnet").unwrap().name, "devnet");
    }

    #[test]
    fn chain_file_name_and_port() {
        let text = r#"# An example chain file
name = "classroom"
genesis_bits = 0x1f00ffff          # easy
hrp = "class"                      # addresses look like class1p…
p2p_port = 19555
rpc_port = 19554
"#;
        let chain = chain_from_toml(text).unwrap();
        assert_eq!(
            chain,
            ChainInfo {
                name: "classroom".into(),
                rpc_port: 19554
            }
        );
    }

    #[test]
    fn chain_file_variants() {
        let c = chain_from_toml("  name='lab-1' # comment\n\"rpc_port\" = 19_600 # the port\n");
        assert_eq!(
            c.unwrap(),
            ChainInfo {
                name: "lab-1".into(),
                rpc_port: 19600
            }
        );
        let c = chain_from_toml("name = \"x\"\nrpc_port = 0x4000\n").unwrap();
        assert_eq!(c.rpc_port, 0x4000);
        // Keys inside a table are not top-level keys.
        assert!(chain_from_toml("rpc_port = 1\n[other]\nname = \"x\"\n").is_err());
    }

    #[test]
    fn chain_file_errors() {
        assert!(chain_from_toml("rpc_port = 1\n").is_err());
        assert!(chain_from_toml("name = \"a\"\n").is_err());
        assert!(chain_from_toml("name = a\nrpc_port = 1\n").is_err());
        assert!(chain_from_toml("name = \"a\" junk\nrpc_port = 1\n").is_err());
        assert!(chain_from_toml("name = \"a\"\nrpc_port = 70000\n").is_err());
        assert!(chain_from_toml("name = \"a\"\nrpc_port = 0\n").is_err());
        assert!(chain_from_toml("name = \"../a\"\nrpc_port = 1\n").is_err());
        assert!(chain_from_toml("name = \"\"\"a\"\"\"\nrpc_port = 1\n").is_err());
    }

    #[test]
    fn chain_file_from_disk() {
        let dir = std::env::temp_dir().join(format!("coinrs-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lab.toml");
        std::fs::write(&file, "name = \"lab\"\nrpc_port = 20001\n").unwrap();
        let chain = resolve_chain(file.to_str().unwrap()).unwrap();
        assert_eq!(chain.name, "lab");
        assert_eq!(chain.rpc_port, 20001);
        let missing = resolve_chain(dir.join("missing.toml").to_str().unwrap()).unwrap_err();
        assert_eq!(missing.exit_code, 2);
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
    }

    #[test]
    fn cookie_path_is_in_the_chain_folder() {
        let chain = resolve_chain("regtest").unwrap();
        assert_eq!(
            cookie_path(Path::new("/data"), &chain),
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
}
