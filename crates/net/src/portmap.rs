//! Port mapping on the home router: UPnP IGD (`--upnp`, through `igd-next`) and PCP with a
//! fallback to NAT-PMP (`--natpmp`, through `crab_nat`), as Bitcoin Core v29 does.
//!
//! libp2p's own UPnP behaviour refuses a router whose external address is not global; a group
//! router on a school network has a private one, and its mapping is still reachable from that
//! network. So each protocol runs here as a task that maps the p2p port (TCP, and UDP for QUIC
//! on a best-effort basis), reports the external address (flagged private or not) to the event
//! loop, renews the mapping at half its lifetime, retries after failures, and removes the
//! mapping when the node stops.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU16;
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use tokio::sync::{mpsc, watch};

/// Lifetime asked for a mapping, seconds; renewed at half of what the router grants.
pub const LEASE_SECS: u32 = 3600;
/// Wait before trying again after a failure.
pub const RETRY: Duration = Duration::from_secs(60);
/// How long UPnP discovery waits for a router's answer.
const SEARCH_TIMEOUT: Duration = Duration::from_secs(4);
const DESCRIPTION: &str = "coinrs p2p";

/// The state of one protocol's port mapping, as `getnetworkinfo` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingState {
    /// `upnp`, `pcp` or `natpmp` (for a failure of `--natpmp`: `pcp/natpmp`).
    pub protocol: &'static str,
    /// The router's external address and the mapped port, once mapped.
    pub external: Option<(IpAddr, u16)>,
    /// The external address is itself private (a router on a school or lab network): the
    /// mapping is reachable from that network only.
    pub external_private: bool,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
}

/// What a mapping task tells the event loop. `slot` is 0 for UPnP, 1 for PCP/NAT-PMP.
#[derive(Debug)]
pub enum MapEvent {
    /// New state of a protocol (shown by `getnetworkinfo`).
    State { slot: usize, state: MappingState },
    /// The node is reachable at this address (add it to the external addresses).
    Mapped(Multiaddr),
    /// The mapping behind this address is gone.
    Unmapped(Multiaddr),
}

/// Whether an address is reachable from the Internet at large (not RFC 1918, CGNAT,
/// loopback, link-local, documentation or unspecified).
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The default IPv4 gateway from a Linux routing table (`/proc/net/route`'s text).
pub fn default_gateway(route_table: &str) -> Option<Ipv4Addr> {
    route_table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 || fields[1] != "00000000" {
            return None;
        }
        let raw = u32::from_str_radix(fields[2], 16).ok()?;
        let ip = Ipv4Addr::from(raw.to_le_bytes());
        (!ip.is_unspecified()).then_some(ip)
    })
}

/// Our address on the way to `gateway` (what the router sees as the mapping's client).
fn local_ip_towards(gateway: IpAddr) -> Result<IpAddr, String> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .map_err(|e| format!("local address: {e}"))?;
    socket
        .connect((gateway, 9))
        .map_err(|e| format!("no route to the router {gateway}: {e}"))?;
    socket
        .local_addr()
        .map(|a| a.ip())
        .map_err(|e| format!("local address: {e}"))
}

fn tcp_multiaddr(ip: IpAddr, port: u16) -> Multiaddr {
    crate::config::socket_multiaddr(SocketAddr::new(ip, port))
}

fn quic_multiaddr(ip: IpAddr, port: u16) -> Multiaddr {
    let ip = match ip {
        IpAddr::V4(v4) => Protocol::Ip4(v4),
        IpAddr::V6(v6) => Protocol::Ip6(v6),
    };
    Multiaddr::empty()
        .with(ip)
        .with(Protocol::Udp(port))
        .with(Protocol::QuicV1)
}

/// Starts the mapping tasks that are switched on, for the p2p `port`. They end (removing
/// their mappings) when `shutdown` turns true.
pub fn spawn(
    upnp: bool,
    natpmp: bool,
    port: u16,
    events: mpsc::Sender<MapEvent>,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if upnp {
        tasks.push(tokio::spawn(run_upnp(
            port,
            events.clone(),
            shutdown.clone(),
        )));
    }
    if natpmp {
        tasks.push(tokio::spawn(run_pcp(port, events, shutdown)));
    }
    tasks
}

/// Sleeps `d` unless the node stops first; true when it stops.
async fn stopped_within(shutdown: &mut watch::Receiver<bool>, d: Duration) -> bool {
    let timed_out = tokio::select! {
        _ = shutdown.wait_for(|s| *s) => false,
        _ = tokio::time::sleep(d) => true,
    };
    !timed_out || *shutdown.borrow()
}

async fn report(events: &mpsc::Sender<MapEvent>, event: MapEvent) {
    let _ = events.send(event).await;
}

async fn report_error(
    events: &mpsc::Sender<MapEvent>,
    slot: usize,
    protocol: &'static str,
    error: String,
) {
    tracing::info!(protocol, %error, "port mapping failed: retrying in 60 s");
    let state = MappingState {
        protocol,
        external: None,
        external_private: false,
        error: Some(error),
    };
    report(events, MapEvent::State { slot, state }).await;
}

async fn report_mapped(
    events: &mpsc::Sender<MapEvent>,
    slot: usize,
    protocol: &'static str,
    external: IpAddr,
    external_port: u16,
    udp: bool,
) {
    let private = !is_global(external);
    tracing::info!(
        protocol,
        address = %external,
        port = external_port,
        private,
        "port mapping: reachable at the router's external address{}",
        if private { " (a private address: reachable from that network only)" } else { "" }
    );
    let state = MappingState {
        protocol,
        external: Some((external, external_port)),
        external_private: private,
        error: None,
    };
    report(events, MapEvent::State { slot, state }).await;
    report(
        events,
        MapEvent::Mapped(tcp_multiaddr(external, external_port)),
    )
    .await;
    if udp {
        report(
            events,
            MapEvent::Mapped(quic_multiaddr(external, external_port)),
        )
        .await;
    }
}

async fn report_unmapped(events: &mpsc::Sender<MapEvent>, ip: IpAddr, port: u16) {
    report(events, MapEvent::Unmapped(tcp_multiaddr(ip, port))).await;
    report(events, MapEvent::Unmapped(quic_multiaddr(ip, port))).await;
}

// ---- UPnP IGD ----

async fn run_upnp(port: u16, events: mpsc::Sender<MapEvent>, mut shutdown: watch::Receiver<bool>) {
    use igd_next::PortMappingProtocol::{TCP, UDP};
    const SLOT: usize = 0;
    loop {
        tracing::info!(port, "port mapping: looking for a UPnP router");
        let options = igd_next::SearchOptions {
            timeout: Some(SEARCH_TIMEOUT),
            ..Default::default()
        };
        let gateway = match igd_next::aio::tokio::search_gateway(options).await {
            Ok(g) => g,
            Err(e) => {
                report_error(&events, SLOT, "upnp", format!("no UPnP router found: {e}")).await;
                if stopped_within(&mut shutdown, RETRY).await {
                    return;
                }
                continue;
            }
        };
        let mapped = async {
            let local = local_ip_towards(gateway.addr.ip())?;
            let external = gateway
                .get_external_ip()
                .await
                .map_err(|e| format!("UPnP router {}: external address: {e}", gateway.addr))?;
            gateway
                .add_port(
                    TCP,
                    port,
                    SocketAddr::new(local, port),
                    LEASE_SECS,
                    DESCRIPTION,
                )
                .await
                .map_err(|e| format!("UPnP router {}: mapping TCP {port}: {e}", gateway.addr))?;
            let udp = gateway
                .add_port(
                    UDP,
                    port,
                    SocketAddr::new(local, port),
                    LEASE_SECS,
                    DESCRIPTION,
                )
                .await
                .map_err(|e| tracing::debug!(error = %e, "UPnP: no UDP mapping for QUIC"))
                .is_ok();
            Ok::<_, String>((local, external, udp))
        }
        .await;
        let (local, external, udp) = match mapped {
            Ok(m) => m,
            Err(e) => {
                report_error(&events, SLOT, "upnp", e).await;
                if stopped_within(&mut shutdown, RETRY).await {
                    return;
                }
                continue;
            }
        };
        report_mapped(&events, SLOT, "upnp", external, port, udp).await;
        // Renew at half the lease until the node stops or a renewal fails.
        loop {
            if stopped_within(
                &mut shutdown,
                Duration::from_secs(u64::from(LEASE_SECS / 2)),
            )
            .await
            {
                let _ = gateway.remove_port(TCP, port).await;
                if udp {
                    let _ = gateway.remove_port(UDP, port).await;
                }
                tracing::info!(protocol = "upnp", port, "port mapping removed");
                return;
            }
            let renewed = gateway
                .add_port(
                    TCP,
                    port,
                    SocketAddr::new(local, port),
                    LEASE_SECS,
                    DESCRIPTION,
                )
                .await;
            match renewed {
                Ok(()) => tracing::debug!(protocol = "upnp", port, "port mapping renewed"),
                Err(e) => {
                    report_unmapped(&events, external, port).await;
                    report_error(&events, SLOT, "upnp", format!("renewal: {e}")).await;
                    break;
                }
            }
        }
    }
}

// ---- PCP, falling back to NAT-PMP ----

fn pcp_timeouts() -> crab_nat::TimeoutConfig {
    crab_nat::TimeoutConfig {
        initial_timeout: Duration::from_millis(250),
        max_retries: 3,
        max_retry_timeout: Some(Duration::from_secs(2)),
    }
}

/// A PCP or NAT-PMP mapping of the TCP port, the UDP one (QUIC) when the router granted the
/// same external port, the external address and the protocol used.
type PcpMapping = (
    crab_nat::PortMapping,
    Option<crab_nat::PortMapping>,
    IpAddr,
    &'static str,
);

async fn pcp_map(port: NonZeroU16) -> Result<PcpMapping, String> {
    let table = std::fs::read_to_string("/proc/net/route")
        .map_err(|e| format!("cannot read the routing table: {e}"))?;
    let gateway = IpAddr::V4(default_gateway(&table).ok_or("no default gateway")?);
    let local = local_ip_towards(gateway)?;
    let options = crab_nat::PortMappingOptions {
        external_port: Some(port),
        lifetime_seconds: Some(LEASE_SECS),
        timeout_config: Some(pcp_timeouts()),
    };
    let mapping = crab_nat::PortMapping::new(
        gateway,
        local,
        crab_nat::InternetProtocol::Tcp,
        port,
        options,
    )
    .await
    .map_err(|e| format!("router {gateway}: {e}"))?;
    let (external, protocol) = match mapping.mapping_type() {
        crab_nat::PortMappingType::Pcp { external_ip, .. } => (external_ip, "pcp"),
        crab_nat::PortMappingType::NatPmp => {
            let ip = crab_nat::natpmp::external_address(gateway, Some(pcp_timeouts()))
                .await
                .map_err(|e| format!("router {gateway}: NAT-PMP external address: {e}"))?;
            (IpAddr::V4(ip), "natpmp")
        }
    };
    let udp = crab_nat::PortMapping::new(
        gateway,
        local,
        crab_nat::InternetProtocol::Udp,
        port,
        crab_nat::PortMappingOptions {
            external_port: Some(mapping.external_port()),
            ..options
        },
    )
    .await
    .ok()
    .filter(|m| m.external_port() == mapping.external_port());
    Ok((mapping, udp, external, protocol))
}

async fn run_pcp(port: u16, events: mpsc::Sender<MapEvent>, mut shutdown: watch::Receiver<bool>) {
    const SLOT: usize = 1;
    let Some(nz_port) = NonZeroU16::new(port) else {
        report_error(
            &events,
            SLOT,
            "pcp/natpmp",
            "port 0 cannot be mapped".into(),
        )
        .await;
        return;
    };
    loop {
        tracing::info!(port, "port mapping: asking the router by PCP, then NAT-PMP");
        let (mut mapping, mut udp, external, protocol) = match pcp_map(nz_port).await {
            Ok(m) => m,
            Err(e) => {
                report_error(&events, SLOT, "pcp/natpmp", e).await;
                if stopped_within(&mut shutdown, RETRY).await {
                    return;
                }
                continue;
            }
        };
        let external_port = mapping.external_port().get();
        report_mapped(
            &events,
            SLOT,
            protocol,
            external,
            external_port,
            udp.is_some(),
        )
        .await;
        loop {
            let half = Duration::from_secs(u64::from(mapping.lifetime().max(2) / 2));
            if stopped_within(&mut shutdown, half).await {
                if let Some(u) = udp {
                    let _ = u.try_drop().await;
                }
                match mapping.try_drop().await {
                    Ok(()) => tracing::info!(protocol, port, "port mapping removed"),
                    Err((e, _)) => tracing::info!(protocol, error = %e, "port mapping not removed"),
                }
                return;
            }
            if let Some(u) = udp.as_mut()
                && u.renew().await.is_err()
            {
                tracing::debug!(protocol, port, "UDP (QUIC) mapping not renewed");
                udp = None;
            }
            if let Err(e) = mapping.renew().await {
                report_unmapped(&events, external, external_port).await;
                report_error(&events, SLOT, protocol, format!("renewal: {e}")).await;
                break;
            }
            tracing::debug!(protocol, port, "port mapping renewed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_default_gateway_from_the_routing_table() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\n";
        assert_eq!(default_gateway(table), Some(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(default_gateway("Iface\tDestination\tGateway\n"), None);
    }

    #[test]
    fn private_external_addresses_are_told_apart() {
        for private in [
            "10.77.2.2",
            "192.168.1.1",
            "172.16.0.1",
            "100.64.0.1",
            "127.0.0.1",
        ] {
            assert!(!is_global(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "81.2.69.160", "2001:4860::1"] {
            assert!(is_global(public.parse().unwrap()), "{public}");
        }
    }
}
