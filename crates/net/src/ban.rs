//! Banned IP addresses and subnets, kept in `banlist.json` in the chain folder (written to a
//! temporary file and renamed, so a crash never leaves half a list).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::NetError;

/// An IP subnet: an address and a prefix length (a single IP has the full length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl Subnet {
    /// The subnet of one address.
    pub fn single(addr: IpAddr) -> Subnet {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Subnet { addr, prefix }
    }

    /// Reads `IP` or `IP/PREFIX` (as `setban` takes it).
    pub fn parse(s: &str) -> Result<Subnet, NetError> {
        let bad = || NetError::BadSubnet(s.to_string());
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr: IpAddr = ip.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Subnet {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `ip` lies in this subnet.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(*ip, self.prefix) == self.addr
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix as u32)
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix as u32)
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

/// One ban.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanEntry {
    /// When it was made (Unix seconds).
    pub created: u64,
    /// When it ends (Unix seconds).
    pub until: u64,
    /// Why (a misbehaviour, or "manually added").
    pub reason: String,
}

/// The ban list.
#[derive(Debug)]
pub struct BanList {
    bans: BTreeMap<Subnet, BanEntry>,
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    subnet: String,
    #[serde(flatten)]
    entry: BanEntry,
}

impl BanList {
    /// Loads `banlist.json` from `dir` (a missing file is an empty list; a damaged one is
    /// reported and replaced at the next save).
    pub fn load(dir: &Path) -> BanList {
        let path = dir.join("banlist.json");
        let mut bans = BTreeMap::new();
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Vec<Saved>>(&bytes) {
                Ok(saved) => {
                    for s in saved {
                        if let Ok(subnet) = Subnet::parse(&s.subnet) {
                            bans.insert(subnet, s.entry);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "ignoring a damaged ban list")
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read the ban list")
            }
        }
        BanList { bans, path }
    }

    /// Bans a subnet until `until`; returns false if it was banned already (the later end wins).
    pub fn ban(&mut self, subnet: Subnet, now: u64, until: u64, reason: &str) -> bool {
        let entry = BanEntry {
            created: now,
            until,
            reason: reason.to_string(),
        };
        let fresh = !self.bans.contains_key(&subnet);
        let e = self.bans.entry(subnet).or_insert(entry.clone());
        if until > e.until {
            *e = entry;
        }
        self.save();
        fresh
    }

    /// Lifts a ban; false if there was none.
    pub fn unban(&mut self, subnet: &Subnet) -> bool {
        let had = self.bans.remove(subnet).is_some();
        if had {
            self.save();
        }
        had
    }

    /// Lifts every ban.
    pub fn clear(&mut self) {
        self.bans.clear();
        self.save();
    }

    /// Whether `ip` is banned now (expired bans are dropped).
    pub fn is_banned(&mut self, ip: &IpAddr, now: u64) -> bool {
        self.expire(now);
        self.bans.keys().any(|s| s.contains(ip))
    }

    /// Current bans.
    pub fn list(&mut self, now: u64) -> Vec<(Subnet, BanEntry)> {
        self.expire(now);
        self.bans.iter().map(|(s, e)| (*s, e.clone())).collect()
    }

    fn expire(&mut self, now: u64) {
        let before = self.bans.len();
        self.bans.retain(|_, e| e.until > now);
        if self.bans.len() != before {
            self.save();
        }
    }

    fn save(&self) {
        let saved: Vec<Saved> = self
            .bans
            .iter()
            .map(|(s, e)| Saved {
                subnet: s.to_string(),
                entry: e.clone(),
            })
            .collect();
        if let Err(e) = crate::addrbook::write_atomic(&self.path, &saved) {
            tracing::warn!(error = %e, "cannot save the ban list");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_contain() {
        let s = Subnet::parse("10.1.0.0/16").unwrap();
        assert!(s.contains(&"10.1.200.3".parse().unwrap()));
        assert!(!s.contains(&"10.2.0.1".parse().unwrap()));
        let one = Subnet::parse("127.0.0.2").unwrap();
        assert_eq!(one.to_string(), "127.0.0.2/32");
        assert!(!one.contains(&"127.0.0.1".parse().unwrap()));
        assert_eq!(
            Subnet::parse("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        for bad in ["", "10.0.0.1/33", "x", "1.2.3.4/-1", "::1/129"] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bans_expire_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        let mut list = BanList::load(dir.path());
        assert!(list.ban(Subnet::single(ip), 100, 200, "bad block"));
        assert!(list.is_banned(&ip, 150));
        let mut again = BanList::load(dir.path());
        assert!(again.is_banned(&ip, 199));
        assert_eq!(again.list(150)[0].1.reason, "bad block");
        assert!(!again.is_banned(&ip, 200));
        assert!(BanList::load(dir.path()).list(150).is_empty());
    }

    #[test]
    fn a_damaged_file_is_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("banlist.json"), b"{not json").unwrap();
        assert!(BanList::load(dir.path()).list(0).is_empty());
    }
}
