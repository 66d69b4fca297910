//! The libp2p stack of a coinrs node: one composed behaviour and the swarm around it.
//!
//! Transports: TCP (noise, yamux) and QUIC, with DNS names resolved. Behaviours: connection
//! limits, identify, ping, the sync request-response protocol, gossipsub for relay, Kademlia
//! for discovery and (optionally) mDNS; for nodes behind NAT (docs/nat.md): AutoNAT (v1) to
//! learn whether the node is reachable, a Circuit Relay v2 server (serving only once AutoNAT
//! confirmed an external address) and client, and DCUtR hole punching. Port mapping on the
//! router is not a behaviour: see [`crate::portmap`]. The test kit builds the same swarm to
//! play a hostile peer.

use std::time::Duration;

use coinrs_core::BlockHash;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::kad::{self, store::MemoryStore};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    Swarm, SwarmBuilder, autonat, connection_limits, dcutr, identify, mdns, noise, ping, relay,
    tcp, yamux,
};

use crate::error::NetError;
use crate::gate::{BannedSubnets, Gate};
use crate::protocol::{self, SyncCodec};
use crate::relay_server::RelayServer;

/// The IPFS DHT's protocol (the Amino DHT of IPFS nodes).
pub const IPFS_KAD_PROTOCOL: libp2p::StreamProtocol =
    libp2p::StreamProtocol::new("/ipfs/kad/1.0.0");
/// Blocks whose CIDs the node provides on the IPFS DHT at once: the newest of the active
/// chain (older records are withdrawn as new blocks come).
pub const IPFS_PROVIDE_MAX: usize = 1024;

/// How long a sync request may wait for its response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every protocol a coinrs node speaks. (No `Debug`: the libp2p behaviours lack it.)
#[allow(missing_debug_implementations)]
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Refuses banned addresses.
    pub gate: Gate,
    /// Connection counts.
    pub limits: connection_limits::Behaviour,
    /// Addresses and protocols of peers.
    pub identify: identify::Behaviour,
    /// Liveness and round-trip time.
    pub ping: ping::Behaviour,
    /// Status, headers, blocks and mempool requests.
    pub sync: request_response::Behaviour<SyncCodec>,
    /// Relay of new blocks and transactions.
    pub gossip: gossipsub::Behaviour,
    /// Peer discovery (off with `--dht=false`: Kademlia bootstraps and dials by itself).
    pub kad: Toggle<kad::Behaviour<MemoryStore>>,
    /// Local-network discovery.
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    /// Whether this node is reachable from outside (AutoNAT v1: peers dial us back).
    pub autonat: autonat::v1::Behaviour,
    /// Circuit Relay v2 server (off with `--relay-service=false`); libp2p serves only once an
    /// external address is confirmed, i.e. when AutoNAT found the node public.
    pub relay: Toggle<RelayServer>,
    /// Circuit Relay v2 client: reservations on relays and relayed dials.
    pub relay_client: relay::client::Behaviour,
    /// Hole punching: upgrades a relayed connection to a direct one.
    pub dcutr: dcutr::Behaviour,
    /// The IPFS DHT (`--ipfs-dht`): provider records for block CIDs, so that IPFS nodes
    /// find coinrs nodes that hold them.
    pub ipfs_kad: Toggle<kad::Behaviour<MemoryStore>>,
    /// Raw streams for Bitswap (served by [`crate::bitswap`]).
    pub streams: libp2p_stream::Behaviour,
}

/// Settings of the behaviour that are not the chain's.
#[derive(Clone, Debug)]
pub struct BehaviourOptions {
    /// Run mDNS.
    pub mdns: bool,
    /// Run Kademlia.
    pub dht: bool,
    /// Run the IPFS DHT.
    pub ipfs_dht: bool,
    /// The banned subnets the gate refuses.
    pub banned: BannedSubnets,
    /// Most inbound connections.
    pub max_inbound: u32,
    /// Most outbound connections (dials included).
    pub max_outbound: u32,
    /// identify's agent string.
    pub agent: String,
    /// Serve as a Circuit Relay v2 relay when found public.
    pub relay_service: bool,
    /// Count private (RFC 1918, loopback, link-local) addresses as reachable: AutoNAT then
    /// probes through peers on a private network and may find the node public there (a
    /// classroom, a lab). Off, only global addresses count, as in libp2p.
    pub private_network: bool,
}

/// Limits of the relay service. A circuit carries everything (sync included) until DCUtR
/// replaces it with a direct connection; the limits bound what one relayed pair can cost the
/// relay: a circuit is closed after [`CIRCUIT_MAX_BYTES`] or [`CIRCUIT_MAX_DURATION`], and the
/// peers then dial again (through the relay if they still cannot reach each other directly).
pub const RELAY_MAX_RESERVATIONS: usize = 128;
/// Reservations one peer may hold on this relay.
pub const RELAY_MAX_RESERVATIONS_PER_PEER: usize = 4;
/// Circuits relayed at once.
pub const RELAY_MAX_CIRCUITS: usize = 64;
/// Circuits relayed at once for one source peer.
pub const RELAY_MAX_CIRCUITS_PER_PEER: usize = 8;
/// Longest life of one circuit.
pub const CIRCUIT_MAX_DURATION: Duration = Duration::from_secs(30 * 60);
/// Most bytes one circuit carries (both directions together): 64 MiB, room for a few
/// thousand small blocks of sync before hole punching or a redial takes over.
pub const CIRCUIT_MAX_BYTES: u64 = 64 << 20;
/// How long a reservation lasts before the client renews it.
pub const RESERVATION_DURATION: Duration = Duration::from_secs(3600);

impl Behaviour {
    /// Builds the behaviour for the chain of `genesis`.
    pub fn new(
        key: &Keypair,
        genesis: &BlockHash,
        opts: &BehaviourOptions,
        relay_client: relay::client::Behaviour,
    ) -> Result<Self, NetError> {
        let peer_id = key.public().to_peer_id();
        let limits = connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established_incoming(Some(opts.max_inbound))
                .with_max_established_outgoing(Some(opts.max_outbound))
                .with_max_pending_incoming(Some(opts.max_inbound))
                // Three: a relayed connection, the direct one hole punching makes, and a
                // second relayed one when both sides dialled through a relay at once.
                .with_max_established_per_peer(Some(3)),
        );
        let identify = identify::Behaviour::new(
            identify::Config::new(protocol::identify_version(genesis), key.public())
                .with_agent_version(opts.agent.clone())
                .with_push_listen_addr_updates(true),
        );
        let ping = ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(15)));
        let sync = request_response::Behaviour::new(
            [(protocol::sync_protocol(genesis), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(REQUEST_TIMEOUT)
                .with_max_concurrent_streams(64),
        );
        let gossip_config = gossipsub::ConfigBuilder::default()
            .protocol_id_prefix(protocol::gossip_prefix(genesis))
            .max_transmit_size(protocol::MAX_GOSSIP_BYTES)
            .validation_mode(ValidationMode::Strict)
            .validate_messages()
            // Content-addressed ids: the same block or transaction from two peers is one
            // message.
            .message_id_fn(|m| {
                gossipsub::MessageId::from(coinrs_core::hash::sha256(&m.data).to_vec())
            })
            .heartbeat_interval(Duration::from_millis(700))
            .build()
            .map_err(|e| NetError::Setup(format!("gossipsub: {e}")))?;
        let mut gossip =
            gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_config)
                .map_err(|e| NetError::Setup(format!("gossipsub: {e}")))?;
        for topic in [
            protocol::blocks_topic(genesis),
            protocol::txs_topic(genesis),
        ] {
            gossip
                .subscribe(&IdentTopic::new(topic))
                .map_err(|e| NetError::Setup(format!("gossipsub: {e}")))?;
        }
        let kad = opts.dht.then(|| {
            let mut kad_config = kad::Config::new(protocol::kad_protocol(genesis));
            kad_config.set_periodic_bootstrap_interval(Some(Duration::from_secs(300)));
            let mut kad =
                kad::Behaviour::with_config(peer_id, MemoryStore::new(peer_id), kad_config);
            // Answer queries even before an external address is confirmed: peers on a
            // private network (a classroom, the tests) need each other's routing tables.
            kad.set_mode(Some(kad::Mode::Server));
            kad
        });
        let ipfs_kad = opts.ipfs_dht.then(|| {
            let config = kad::Config::new(IPFS_KAD_PROTOCOL);
            let store = MemoryStore::with_config(
                peer_id,
                kad::store::MemoryStoreConfig {
                    max_provided_keys: IPFS_PROVIDE_MAX,
                    ..Default::default()
                },
            );
            let mut kad = kad::Behaviour::with_config(peer_id, store, config);
            // Answer IPFS nodes' queries (provider lookups) also behind NAT.
            kad.set_mode(Some(kad::Mode::Server));
            kad
        });
        let mdns = if opts.mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                    .map_err(|e| NetError::Setup(format!("mdns: {e}")))?,
            )
        } else {
            None
        };
        let autonat = autonat::v1::Behaviour::new(
            peer_id,
            autonat::v1::Config {
                // Probe soon after start and again quickly while unsure: a node behind NAT
                // should start reserving relay slots within seconds, not minutes.
                boot_delay: Duration::from_secs(5),
                retry_interval: Duration::from_secs(20),
                refresh_interval: Duration::from_secs(5 * 60),
                throttle_server_period: Duration::from_secs(15),
                confidence_max: 2,
                only_global_ips: !opts.private_network,
                ..autonat::v1::Config::default()
            },
        );
        let relay = opts.relay_service.then(|| {
            RelayServer(relay::Behaviour::new(
                peer_id,
                relay::Config {
                    max_reservations: RELAY_MAX_RESERVATIONS,
                    max_reservations_per_peer: RELAY_MAX_RESERVATIONS_PER_PEER,
                    reservation_duration: RESERVATION_DURATION,
                    max_circuits: RELAY_MAX_CIRCUITS,
                    max_circuits_per_peer: RELAY_MAX_CIRCUITS_PER_PEER,
                    max_circuit_duration: CIRCUIT_MAX_DURATION,
                    max_circuit_bytes: CIRCUIT_MAX_BYTES,
                    ..relay::Config::default()
                },
            ))
        });
        Ok(Behaviour {
            gate: Gate::new(opts.banned.clone()),
            limits,
            identify,
            ping,
            sync,
            gossip,
            kad: kad.into(),
            ipfs_kad: ipfs_kad.into(),
            mdns: mdns.into(),
            autonat,
            relay: relay.into(),
            relay_client,
            dcutr: dcutr::Behaviour::new(peer_id),
            streams: libp2p_stream::Behaviour::new(),
        })
    }
}

/// Builds a swarm with TCP (noise, yamux), QUIC, DNS and relayed circuits around the
/// behaviour. TCP dials reuse the listening port (libp2p's default), so that a NAT that keeps
/// source ports shows peers the port we listen on, which hole punching needs.
pub fn build_swarm(
    key: Keypair,
    genesis: &BlockHash,
    opts: &BehaviourOptions,
) -> Result<Swarm<Behaviour>, NetError> {
    let mut setup_error = None;
    let swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Setup(format!("tcp: {e}")))?
        .with_quic()
        .with_dns()
        .map_err(|e| NetError::Setup(format!("dns: {e}")))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Setup(format!("relay client: {e}")))?
        .with_behaviour(|key, relay_client| {
            Behaviour::new(key, genesis, opts, relay_client).map_err(
                |e| -> Box<dyn std::error::Error + Send + Sync> {
                    let text = e.to_string();
                    setup_error = Some(e);
                    text.into()
                },
            )
        })
        .map_err(|e| {
            setup_error
                .take()
                .unwrap_or(NetError::Setup(format!("behaviour: {e}")))
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}
