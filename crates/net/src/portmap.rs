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

/// Maps (or renews) `port` of `protocol` on the UPnP router to `local`.
async fn upnp_add(
    gateway: &igd_next::aio::Gateway<igd_next::aio::tokio::Tokio>,
    protocol: igd_next::PortMappingProtocol,
    port: u16,
    local: std::net::IpAddr,
) -> Result<(), igd_next::AddPortError> {
    gateway
        .add_port(
            protocol,
            port,
            SocketAddr::new(local, port),
            LEASE_SECS,
            DESCRIPTION,
        )
        .await
}

/// Reports a failed attempt, then waits [`RETRY`]; true when the node stopped meanwhile.
async fn failed_then_wait(
    events: &mpsc::Sender<MapEvent>,
    slot: usize,
    protocol: &'static str,
    error: String,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    report_error(events, slot, protocol, error).await;
    stopped_within(shutdown, RETRY).await
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
                if failed_then_wait(
                    &events,
                    SLOT,
                    "upnp",
                    format!("no UPnP router found: {e}"),
                    &mut shutdown,
                )
                .await
                {
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
            upnp_add(&gateway, TCP, port, local)
                .await
                .map_err(|e| format!("UPnP router {}: mapping TCP {port}: {e}", gateway.addr))?;
            let udp = upnp_add(&gateway, UDP, port, local)
                .await
                .map_err(|e| tracing::debug!(error = %e, "UPnP: no UDP mapping for QUIC"))
                .is_ok();
            Ok::<_, String>((local, external, udp))
        }
        .await;
        let (local, external, mut udp) = match mapped {
            Ok(m) => m,
            Err(e) => {
                if failed_then_wait(&events, SLOT, "upnp", e, &mut shutdown).await {
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
            // The UDP (QUIC) mapping is renewed with the TCP one; losing it alone is no
            // failure: QUIC then goes without a mapping.
            if udp && let Err(e) = upnp_add(&gateway, UDP, port, local).await {
                tracing::debug!(error = %e, "UPnP: UDP (QUIC) mapping not renewed");
                udp = false;
            }
            let renewed = upnp_add(&gateway, TCP, port, local).await;
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

/// Whether a PCP attempt got no answer at all: nothing listens on the router's port 5351
/// (ICMP refused: a socket error) or the router stays silent (a timeout). `crab_nat` falls back
/// to NAT-PMP only when the router answers PCP with "unsupported version", as RFC 6887 asks;
/// a NAT-PMP-only router (or a firewall in front of it) that drops PCP requests instead would
/// then never be asked by NAT-PMP, so such failures try NAT-PMP too. A router that answered
/// PCP with an error (not authorised, no resources…) is not asked again by NAT-PMP.
fn pcp_unanswered(e: &crab_nat::MappingFailure) -> bool {
    matches!(
        e,
        crab_nat::MappingFailure::Pcp(
            crab_nat::pcp::Failure::Timeout | crab_nat::pcp::Failure::Socket(_)
        )
    )
}

/// Maps `port` (of `protocol`) on `gateway`: by NAT-PMP only when `natpmp_only` (the TCP
/// mapping was made by NAT-PMP), else by PCP, falling back to NAT-PMP when the router answers
/// "unsupported version" (`crab_nat`) or does not answer PCP at all (`pcp_unanswered`).
async fn map_port(
    gateway: IpAddr,
    local: IpAddr,
    protocol: crab_nat::InternetProtocol,
    port: NonZeroU16,
    options: crab_nat::PortMappingOptions,
    natpmp_only: bool,
) -> Result<crab_nat::PortMapping, String> {
    let natpmp = || async {
        crab_nat::natpmp::port_mapping(gateway, protocol, port, options)
            .await
            .map_err(|e| format!("router {gateway}: NAT-PMP: {e}"))
    };
    if natpmp_only {
        return natpmp().await;
    }
    match crab_nat::PortMapping::new(gateway, local, protocol, port, options).await {
        Ok(m) => Ok(m),
        Err(e) if pcp_unanswered(&e) => {
            tracing::debug!(%gateway, error = %e, "port mapping: no PCP answer, trying NAT-PMP");
            natpmp()
                .await
                .map_err(|n| format!("router {gateway}: {e}; {n}"))
        }
        Err(e) => Err(format!("router {gateway}: {e}")),
    }
}

async fn pcp_map(port: NonZeroU16) -> Result<PcpMapping, String> {
    let table = std::fs::read_to_string("/proc/net/route")
        .map_err(|e| format!("cannot read the routing table: {e}"))?;
    let gateway = IpAddr::V4(default_gateway(&table).ok_or("no default gateway")?);
    pcp_map_at(gateway, port, pcp_timeouts()).await
}

/// `pcp_map` with the router at `gateway` (a test's fake router) and these timeouts.
async fn pcp_map_at(
    gateway: IpAddr,
    port: NonZeroU16,
    timeouts: crab_nat::TimeoutConfig,
) -> Result<PcpMapping, String> {
    let local = local_ip_towards(gateway)?;
    let options = crab_nat::PortMappingOptions {
        external_port: Some(port),
        lifetime_seconds: Some(LEASE_SECS),
        timeout_config: Some(timeouts),
    };
    let mapping = map_port(
        gateway,
        local,
        crab_nat::InternetProtocol::Tcp,
        port,
        options,
        false,
    )
    .await?;
    let (external, protocol) = match mapping.mapping_type() {
        crab_nat::PortMappingType::Pcp { external_ip, .. } => (external_ip, "pcp"),
        crab_nat::PortMappingType::NatPmp => {
            let ip = crab_nat::natpmp::external_address(gateway, Some(timeouts))
                .await
                .map_err(|e| format!("router {gateway}: NAT-PMP external address: {e}"))?;
            (IpAddr::V4(ip), "natpmp")
        }
    };
    let udp = map_port(
        gateway,
        local,
        crab_nat::InternetProtocol::Udp,
        port,
        crab_nat::PortMappingOptions {
            external_port: Some(mapping.external_port()),
            ..options
        },
        protocol == "natpmp",
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
                if failed_then_wait(&events, SLOT, "pcp/natpmp", e, &mut shutdown).await {
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

    /// A NAT-PMP-only router that drops PCP requests: answers NAT-PMP (version 0) external
    /// address and mapping requests, ignores everything else; returns the request versions seen.
    fn silent_pcp_router(addr: &str) -> std::thread::JoinHandle<Vec<u8>> {
        let socket = std::net::UdpSocket::bind(addr).expect("fake router's socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 1100];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                let req = &buf[..n];
                seen.push(req[0]);
                let epoch = 1000u32.to_be_bytes();
                let answer: Vec<u8> = match (req[0], req.get(1)) {
                    (0, Some(0)) => [&[0, 128, 0, 0][..], &epoch, &[10, 77, 2, 2]].concat(),
                    (0, Some(op @ (1 | 2))) if n == 12 => {
                        // internal port, suggested external port, lifetime: granted as asked
                        [&[0, 128 + op, 0, 0][..], &epoch, &req[4..12]].concat()
                    }
                    _ => continue,
                };
                socket.send_to(&answer, from).unwrap();
                if seen.iter().filter(|v| **v == 0).count() == 3 {
                    break; // external address, TCP and UDP mappings
                }
            }
            seen
        })
    }

    fn quick_timeouts() -> crab_nat::TimeoutConfig {
        crab_nat::TimeoutConfig {
            initial_timeout: Duration::from_millis(100),
            max_retries: 1,
            max_retry_timeout: None,
        }
    }

    #[tokio::test]
    async fn falls_back_to_nat_pmp_when_the_router_drops_pcp() {
        let router = silent_pcp_router("127.77.0.1:5351");
        let port = NonZeroU16::new(19444).unwrap();
        let (tcp, udp, external, protocol) =
            pcp_map_at("127.77.0.1".parse().unwrap(), port, quick_timeouts())
                .await
                .expect("a NAT-PMP mapping after PCP got no answer");
        assert_eq!(protocol, "natpmp");
        assert!(matches!(
            tcp.mapping_type(),
            crab_nat::PortMappingType::NatPmp
        ));
        assert_eq!(tcp.external_port(), port);
        assert_eq!(tcp.lifetime(), LEASE_SECS);
        assert_eq!(external, "10.77.2.2".parse::<IpAddr>().unwrap());
        let udp = udp.expect("the UDP (QUIC) mapping, by NAT-PMP too");
        assert!(matches!(
            udp.mapping_type(),
            crab_nat::PortMappingType::NatPmp
        ));
        let seen = router.join().unwrap();
        // PCP asked first (and retried: no answer), then only NAT-PMP: the UDP mapping does
        // not try PCP again once the router is known to speak NAT-PMP only.
        assert_eq!(seen, vec![2, 2, 0, 0, 0], "request versions the router saw");
    }

    #[tokio::test]
    async fn reports_both_protocols_when_no_router_answers() {
        // Nothing listens at 127.77.0.2:5351: PCP and NAT-PMP both get "connection refused".
        let err = pcp_map_at(
            "127.77.0.2".parse().unwrap(),
            NonZeroU16::new(19444).unwrap(),
            quick_timeouts(),
        )
        .await
        .expect_err("no router, no mapping");
        assert!(err.contains("PCP") && err.contains("NAT-PMP"), "{err}");
    }

    #[test]
    fn only_an_unanswered_pcp_request_falls_back_to_nat_pmp() {
        use crab_nat::{MappingFailure::Pcp, pcp::Failure};
        assert!(pcp_unanswered(&Pcp(Failure::Timeout)));
        assert!(pcp_unanswered(&Pcp(Failure::Socket(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        )))));
        // The router answered PCP: it would not grant a NAT-PMP mapping either.
        assert!(!pcp_unanswered(&Pcp(Failure::NotAuthorized(60))));
        assert!(!pcp_unanswered(&Pcp(Failure::NoResources(60))));
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
