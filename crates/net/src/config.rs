//! Settings of the network, filled by the node from its options.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use crate::error::NetError;

/// Everything the network service is started with.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Where to listen (each address gets TCP and QUIC on the same port); empty with
    /// `listen = false`.
    pub listen: Vec<Multiaddr>,
    /// Accept inbound connections.
    pub accept_inbound: bool,
    /// Peers to keep a connection to (`--addnode`).
    pub addnode: Vec<Multiaddr>,
    /// Connect only to these peers (`--connect`): no discovery, no saved peers.
    pub connect_only: Vec<Multiaddr>,
    /// Local-network discovery.
    pub mdns: bool,
    /// Kademlia peer discovery: random walks and dialling what they find.
    pub dht: bool,
    /// How long a misbehaving peer's IP stays banned.
    pub bantime: Duration,
    /// Outbound connections the node tries to keep.
    pub target_outbound: usize,
    /// Most inbound connections.
    pub max_inbound: u32,
    /// Most connections from one IP address.
    pub max_per_ip: usize,
    /// Status, mempool and transaction requests a peer may make per second, sustained (a
    /// burst of ten times as many is allowed); past it the peer is banned for flooding.
    /// Header and block requests are not counted: sync asks for them as fast as it
    /// validates, and libp2p bounds them by the streams a connection may open at once.
    pub max_requests_per_sec: u32,
    /// The chain folder: `peers.json`, `banlist.json` and `p2p.key` live here.
    pub dir: PathBuf,
    /// The software's name and version for identify.
    pub agent: String,
    /// Serve as a Circuit Relay v2 relay for nodes behind NAT once found public
    /// (`--relay-service`).
    pub relay_service: bool,
    /// Count private addresses as reachable for AutoNAT (`--private-network`): a classroom
    /// or lab whose whole network is private.
    pub private_network: bool,
    /// Ask the router for a port mapping by UPnP IGD (`--upnp`).
    pub upnp: bool,
    /// Ask the router for a port mapping by PCP, then NAT-PMP (`--natpmp`).
    pub natpmp: bool,
    /// Join the IPFS DHT (`/ipfs/kad/1.0.0`) and publish provider records for the newest
    /// blocks' CIDs (`--ipfs-dht`).
    pub ipfs_dht: bool,
}

impl NetConfig {
    /// Defaults for a node whose files live in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        NetConfig {
            listen: Vec::new(),
            accept_inbound: true,
            addnode: Vec::new(),
            connect_only: Vec::new(),
            mdns: false,
            dht: false,
            bantime: Duration::from_secs(24 * 3600),
            target_outbound: 8,
            max_inbound: 117,
            max_per_ip: 16,
            max_requests_per_sec: 50,
            dir,
            agent: format!("coinrs/{}", env!("CARGO_PKG_VERSION")),
            relay_service: true,
            private_network: false,
            upnp: false,
            natpmp: false,
            ipfs_dht: false,
        }
    }
}

/// Reads a peer address: `HOST:PORT` (dialled as `/ip4/HOST/tcp/PORT`, `/ip6/…` or
/// `/dns/HOST/tcp/PORT`) or a multiaddr (starting with `/`).
pub fn parse_peer_addr(s: &str) -> Result<Multiaddr, NetError> {
    let s = s.trim();
    if s.starts_with('/') {
        return s.parse().map_err(|e| NetError::BadAddress {
            addr: s.to_string(),
            reason: format!("{e}"),
        });
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(socket_multiaddr(sa));
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(|| NetError::BadAddress {
        addr: s.to_string(),
        reason: "expected HOST:PORT or a multiaddr".into(),
    })?;
    let port: u16 = port.parse().map_err(|_| NetError::BadAddress {
        addr: s.to_string(),
        reason: format!("bad port {port:?}"),
    })?;
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(NetError::BadAddress {
            addr: s.to_string(),
            reason: "bad host".into(),
        });
    }
    Ok(Multiaddr::empty()
        .with(Protocol::Dns(host.to_string().into()))
        .with(Protocol::Tcp(port)))
}

/// `/ip4/A/tcp/P` or `/ip6/A/tcp/P`.
pub fn socket_multiaddr(sa: SocketAddr) -> Multiaddr {
    let ip = match sa.ip() {
        IpAddr::V4(v4) => Protocol::Ip4(v4),
        IpAddr::V6(v6) => Protocol::Ip6(v6),
    };
    Multiaddr::empty().with(ip).with(Protocol::Tcp(sa.port()))
}

/// The IP address a multiaddr starts with, if any.
pub fn multiaddr_ip(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(a) => Some(IpAddr::V4(a)),
        Protocol::Ip6(a) => Some(IpAddr::V6(a)),
        _ => None,
    })
}

/// The TCP or UDP port of a multiaddr.
pub fn multiaddr_port(addr: &Multiaddr) -> Option<u16> {
    addr.iter().find_map(|p| match p {
        Protocol::Tcp(p) | Protocol::Udp(p) => Some(p),
        _ => None,
    })
}

/// A multiaddr without its trailing `/p2p/…`.
pub fn without_peer_id(addr: &Multiaddr) -> Multiaddr {
    addr.iter()
        .filter(|p| !matches!(p, Protocol::P2p(_)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_becomes_a_tcp_multiaddr() {
        assert_eq!(
            parse_peer_addr("127.0.0.1:19444").unwrap().to_string(),
            "/ip4/127.0.0.1/tcp/19444"
        );
        assert_eq!(
            parse_peer_addr("[::1]:5").unwrap().to_string(),
            "/ip6/::1/tcp/5"
        );
        assert_eq!(
            parse_peer_addr("node.example:19333").unwrap().to_string(),
            "/dns/node.example/tcp/19333"
        );
        assert_eq!(
            parse_peer_addr("/ip4/10.0.0.1/udp/5/quic-v1")
                .unwrap()
                .to_string(),
            "/ip4/10.0.0.1/udp/5/quic-v1"
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in ["", "nohost", "host:port", ":5", "a b:5", "/ip4/nope"] {
            assert!(parse_peer_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_ip_and_port() {
        let a: Multiaddr = "/ip4/10.1.2.3/udp/77/quic-v1".parse().unwrap();
        assert_eq!(multiaddr_ip(&a), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(multiaddr_port(&a), Some(77));
    }
}
