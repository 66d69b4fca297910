//! Known peers, kept in `peers.json` in the chain folder so that a restarted node dials
//! them again. Bounded: the most recently seen `MAX_PEERS` are kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

/// Most peers remembered.
pub const MAX_PEERS: usize = 1000;
/// Most addresses remembered per peer.
const MAX_ADDRS: usize = 8;

/// One remembered peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownPeer {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Addresses it was reached at (without `/p2p/`).
    pub addrs: Vec<String>,
    /// Last time a connection to it worked (Unix seconds).
    pub last_seen: u64,
}

/// The address book.
#[derive(Debug)]
pub struct AddrBook {
    peers: HashMap<PeerId, (Vec<Multiaddr>, u64)>,
    path: PathBuf,
    dirty: bool,
}

impl AddrBook {
    /// Loads `peers.json` from `dir`; a missing or damaged file is an empty book.
    pub fn load(dir: &Path) -> AddrBook {
        let path = dir.join("peers.json");
        let mut peers = HashMap::new();
        if let Ok(bytes) = std::fs::read(&path) {
            match serde_json::from_slice::<Vec<KnownPeer>>(&bytes) {
                Ok(list) => {
                    for k in list.into_iter().take(MAX_PEERS) {
                        let Ok(id) = k.peer_id.parse::<PeerId>() else {
                            continue;
                        };
                        let addrs: Vec<Multiaddr> = k
                            .addrs
                            .iter()
                            .filter_map(|a| a.parse().ok())
                            .take(MAX_ADDRS)
                            .collect();
                        if !addrs.is_empty() {
                            peers.insert(id, (addrs, k.last_seen));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "ignoring a damaged peers file")
                }
            }
        }
        AddrBook {
            peers,
            path,
            dirty: false,
        }
    }

    /// Records that `peer` was reached at `addr` at `now`.
    pub fn seen(&mut self, peer: PeerId, addr: Multiaddr, now: u64) {
        let e = self.peers.entry(peer).or_insert_with(|| (Vec::new(), now));
        e.1 = now;
        if !e.0.contains(&addr) {
            e.0.insert(0, addr);
            e.0.truncate(MAX_ADDRS);
        }
        if self.peers.len() > MAX_PEERS
            && let Some(oldest) = self.peers.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k)
        {
            self.peers.remove(&oldest);
        }
        self.dirty = true;
    }

    /// Forgets a peer (it belongs to another chain, or is banned).
    pub fn forget(&mut self, peer: &PeerId) {
        if self.peers.remove(peer).is_some() {
            self.dirty = true;
        }
    }

    /// Peers to dial, most recently seen first.
    pub fn candidates(&self) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let mut v: Vec<_> = self
            .peers
            .iter()
            .map(|(id, (addrs, seen))| (*seen, *id, addrs.clone()))
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.0));
        v.into_iter().map(|(_, id, a)| (id, a)).collect()
    }

    /// Number of peers known.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is known.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Writes the book if it changed.
    pub fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let list: Vec<KnownPeer> = self
            .peers
            .iter()
            .map(|(id, (addrs, seen))| KnownPeer {
                peer_id: id.to_string(),
                addrs: addrs.iter().map(|a| a.to_string()).collect(),
                last_seen: *seen,
            })
            .collect();
        match write_atomic(&self.path, &list) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!(error = %e, "cannot save the known peers"),
        }
    }
}

/// Writes `value` as JSON to a temporary file beside `path`, syncs it and renames it over
/// `path`: readers see the old or the new file, never a mix.
pub(crate) fn write_atomic<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.new");
    let bytes = serde_json::to_vec_pretty(value)?;
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_survive_a_reload_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (PeerId::random(), PeerId::random());
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let mut book = AddrBook::load(dir.path());
        book.seen(a, addr.clone(), 10);
        book.seen(b, "/ip4/127.0.0.1/tcp/2".parse().unwrap(), 20);
        book.seen(a, addr.clone(), 30);
        book.save();
        let again = AddrBook::load(dir.path());
        let c = again.candidates();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0], (a, vec![addr]));
        assert_eq!(c[1].0, b);
    }

    #[test]
    fn the_book_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = AddrBook::load(dir.path());
        for i in 0..(MAX_PEERS as u64 + 10) {
            book.seen(PeerId::random(), "/ip4/127.0.0.1/tcp/1".parse().unwrap(), i);
        }
        assert_eq!(book.len(), MAX_PEERS);
    }
}
