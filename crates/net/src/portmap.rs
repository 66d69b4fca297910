//! Port mapping on the home router: UPnP IGD and NAT-PMP / PCP.
//!
//! What `getnetworkinfo` shows of each protocol's attempt lives here.

use std::net::IpAddr;

/// The state of one protocol's port mapping, as `getnetworkinfo` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingState {
    /// `upnp`, `natpmp` or `pcp`.
    pub protocol: &'static str,
    /// The router's external address and the mapped port, once mapped.
    pub external: Option<(IpAddr, u16)>,
    /// The external address is itself private (a router on a school or lab network): the
    /// mapping is reachable from that network only.
    pub external_private: bool,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
}
