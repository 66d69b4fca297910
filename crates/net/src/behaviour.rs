//! The libp2p stack of a coinrs node: one composed behaviour and the swarm around it.
//!
//! Transports: TCP (noise, yamux) and QUIC, with DNS names resolved. Behaviours: connection
//! limits, identify, ping, the sync request-response protocol, gossipsub for relay, Kademlia
//! for discovery and (optionally) mDNS. Later behaviours (relay, hole punching, port mapping,
//! AutoNAT, Bitswap) are added as further fields. The test kit builds the same swarm to play
//! a hostile peer.

use std::time::Duration;

use coinrs_core::BlockHash;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::kad::{self, store::MemoryStore};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{Swarm, SwarmBuilder, connection_limits, identify, mdns, noise, ping, tcp, yamux};

use crate::error::NetError;
use crate::gate::{BannedSubnets, Gate};
use crate::protocol::{self, SyncCodec};

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
}

/// Settings of the behaviour that are not the chain's.
#[derive(Clone, Debug)]
pub struct BehaviourOptions {
    /// Run mDNS.
    pub mdns: bool,
    /// Run Kademlia.
    pub dht: bool,
    /// The banned subnets the gate refuses.
    pub banned: BannedSubnets,
    /// Most inbound connections.
    pub max_inbound: u32,
    /// Most outbound connections (dials included).
    pub max_outbound: u32,
    /// identify's agent string.
    pub agent: String,
}

impl Behaviour {
    /// Builds the behaviour for the chain of `genesis`.
    pub fn new(
        key: &Keypair,
        genesis: &BlockHash,
        opts: &BehaviourOptions,
    ) -> Result<Self, NetError> {
        let peer_id = key.public().to_peer_id();
        let limits = connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established_incoming(Some(opts.max_inbound))
                .with_max_established_outgoing(Some(opts.max_outbound))
                .with_max_pending_incoming(Some(opts.max_inbound))
                .with_max_established_per_peer(Some(2)),
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
        let mdns = if opts.mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                    .map_err(|e| NetError::Setup(format!("mdns: {e}")))?,
            )
        } else {
            None
        };
        Ok(Behaviour {
            gate: Gate::new(opts.banned.clone()),
            limits,
            identify,
            ping,
            sync,
            gossip,
            kad: kad.into(),
            mdns: mdns.into(),
        })
    }
}

/// Builds a swarm with TCP (noise, yamux), QUIC and DNS around the behaviour.
pub fn build_swarm(
    key: Keypair,
    genesis: &BlockHash,
    opts: &BehaviourOptions,
) -> Result<Swarm<Behaviour>, NetError> {
    let behaviour = Behaviour::new(&key, genesis, opts)?;
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
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetError::Setup(format!("behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}
