//! The network event loop: one task that owns the swarm, the peer table, the download
//! scheduler, the ban list and the address book. It talks to the chain only through the
//! worker threads of [`crate::worker`].
//!
//! Sync, from a node's point of view:
//! 1. on a new connection both sides send `Status`; a peer of another chain (other
//!    parameters digest, or none of our protocols) is dropped and forgotten;
//! 2. a peer whose best header we do not know is asked for headers from our locator, 2 000 at
//!    a time, until it has no more;
//! 3. the worker's snapshots list the blocks of the best header chain that we lack (a window
//!    of [`WINDOW`] above the tip); they are requested 16 at a time from every peer that has
//!    them, at most [`MAX_IN_FLIGHT_PER_PEER`] per peer, and validated as they arrive;
//! 4. new blocks and transactions travel by gossipsub, forwarded only after the worker
//!    accepted them.
//!
//! Behind NAT (docs/nat.md): AutoNAT's verdict sets the reachability; a node found private
//! asks up to [`MAX_RELAYS`] connected relays (peers that speak the relay hop protocol) for a
//! reservation and listens on its relayed addresses, which identify and Kademlia spread; a
//! relayed connection is upgraded by DCUtR hole punching, after which the relayed one is
//! closed. Sync and gossip run over whichever connection a peer has.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coinrs_core::BlockHash;
use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, autonat, dcutr, identify, kad, mdns, ping, relay};
use tokio::sync::{mpsc, watch};

use crate::addrbook::AddrBook;
use crate::backend::{Backend, BlockVerdict, HeadersVerdict, TxVerdict};
use crate::ban::{BanList, Subnet};
use crate::behaviour::{Behaviour, BehaviourEvent, BehaviourOptions, build_swarm};
use crate::bitswap::Bitswap;
use crate::config::{NetConfig, multiaddr_ip, without_peer_id};
use crate::error::NetError;
use crate::gate::BannedSubnets;
use crate::handle::{
    AddNodeOp, Command, DisconnectTarget, Handle, HolePunchStats, PeerInfo, Reachability,
    RelayReservation, Shared, SyncProgress,
};
use crate::keyfile;
use crate::protocol::{
    self, Inbound, MAX_BLOCKS_PER_REQUEST, MAX_TXS_PER_REQUEST, Request, Response, Status,
    frame_error,
};
use crate::worker::{self, Done, Job, ServeJob, Served, Snapshot, WINDOW, offer};

/// Blocks requested from one peer and not yet received.
pub const MAX_IN_FLIGHT_PER_PEER: usize = 32;
/// Blocks requested or waiting for validation, over all peers (bounds memory: a block is at
/// most 1 MB).
pub const MAX_BLOCKS_PENDING: usize = 256;
/// How often connections, discovery and the shared facts are looked after.
const TICK: Duration = Duration::from_secs(1);
/// How often a progress line is logged during initial sync: every 10 s, or every 500
/// blocks when sync is faster than that.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
const PROGRESS_BLOCKS: u64 = 500;
/// How often peers are asked for their status again (catches missed relays).
const STATUS_EVERY: Duration = Duration::from_secs(30);
/// A tip older than this (seconds) means the node may still be catching up.
const MAX_TIP_AGE: u64 = 24 * 3600;
/// How often a Kademlia random walk looks for peers.
const WALK_EVERY: Duration = Duration::from_secs(10);
/// How long (seconds) a peer that refused sync may stay without identifying itself.
const UNIDENTIFIED_GRACE: u64 = 30;
/// Relays a node behind NAT holds reservations on.
pub const MAX_RELAYS: usize = 2;
/// How long to wait before asking a relay again after it refused or the reservation ended.
const RELAY_RETRY: Duration = Duration::from_secs(20);

/// Whether an address goes through a relay (`/p2p-circuit`).
fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::P2pCircuit))
}

/// The address a connection is shown and remembered at, and whether it came in. A relayed
/// connection that came in has only `/p2p/PEER` as its send-back address; the relay is in the
/// local address (our relayed listening address, `RELAY/p2p-circuit`), so the connection is
/// shown as `RELAY/p2p-circuit/p2p/PEER`, as one we dialled through a relay is, and counts as
/// relayed (`getpeerinfo` → `connection`).
fn connection_addr(endpoint: &ConnectedPoint) -> (Multiaddr, bool) {
    match endpoint {
        ConnectedPoint::Dialer { address, .. } => (address.clone(), false),
        ConnectedPoint::Listener {
            local_addr,
            send_back_addr,
        } if is_relayed(local_addr) && !is_relayed(send_back_addr) => {
            let mut addr: Multiaddr = local_addr
                .iter()
                .take_while(|p| !matches!(p, Protocol::P2pCircuit))
                .collect();
            addr.push(Protocol::P2pCircuit);
            for p in send_back_addr.iter() {
                addr.push(p);
            }
            (addr, true)
        }
        ConnectedPoint::Listener { send_back_addr, .. } => (send_back_addr.clone(), true),
    }
}

/// A peer's addresses less its loopback ones when it has others: its `127.0.0.1` is our own
/// host unless every address it has is loopback (nodes on one machine, as in the tests).
/// Dialling it would reach ourselves, and that wrong peer id fails the whole dial, relayed
/// attempts included.
fn drop_foreign_loopback(addrs: &mut Vec<Multiaddr>) {
    let loopback =
        |a: &Multiaddr| !is_relayed(a) && multiaddr_ip(a).is_some_and(|ip| ip.is_loopback());
    if addrs.iter().any(|a| !loopback(a)) {
        addrs.retain(|a| !loopback(a));
    }
}

/// The IPFS DHT key of a block's CID: its multihash (`12 20 || hash`), as IPFS nodes look
/// providers up.
fn ipfs_key(hash: &BlockHash) -> kad::RecordKey {
    let mut key = Vec::with_capacity(34);
    key.extend_from_slice(&[0x12, 0x20]);
    key.extend_from_slice(&hash.0);
    kad::RecordKey::new(&key)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A token bucket limiting a peer's requests.
#[derive(Debug)]
struct RateLimit {
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(burst: f64) -> Self {
        RateLimit {
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes one token; false when the bucket is empty.
    fn take(&mut self, rate: f64, burst: f64) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Peer {
    id: u64,
    addr: Multiaddr,
    inbound: bool,
    relayed: bool,
    /// Open connections and their remote addresses.
    links: HashMap<ConnectionId, Multiaddr>,
    /// It serves as a relay (identify lists the hop protocol).
    supports_hop: bool,
    conntime: u64,
    status: Option<Status>,
    /// Best heights it is known to have (status, headers, gossip).
    best_header_height: Option<u64>,
    best_block_height: Option<u64>,
    ping: Option<Duration>,
    bytes_sent: u64,
    bytes_recv: u64,
    blocks_downloaded: u64,
    in_flight: HashSet<BlockHash>,
    /// Blocks it answered without: not asked again until its status changes.
    lacks: HashSet<BlockHash>,
    headers_pending: bool,
    agent: String,
    requests: RateLimit,
    addnode: bool,
    /// Already judged and being disconnected.
    condemned: bool,
    /// Its mempool was asked for (once we had caught up with it).
    mempool_asked: bool,
    /// Its identify info arrived.
    identified: bool,
    /// It refused the sync protocol before identify told what it is.
    no_sync: bool,
    /// A libp2p node that is no coinrs node (an IPFS node): kept for Bitswap and the IPFS
    /// DHT, never synced with.
    ipfs: bool,
}

/// What an outbound request was for.
#[derive(Debug)]
enum Pending {
    Status,
    Headers,
    Blocks(Vec<BlockHash>),
    Mempool,
    Txs,
}

#[derive(Debug)]
struct AddNode {
    addr: Multiaddr,
    peer: Option<PeerId>,
    last_dial: Option<Instant>,
    /// It turned out to be a node of another chain: not dialled again.
    other_chain: bool,
}

/// A reservation asked for or held on a relay.
#[derive(Debug)]
struct RelaySlot {
    listener: ListenerId,
    addr: Multiaddr,
    reserved: bool,
}

/// The running network.
struct Service {
    swarm: Swarm<Behaviour>,
    cfg: NetConfig,
    genesis: BlockHash,
    blocks_topic: IdentTopic,
    txs_topic: IdentTopic,
    peers: HashMap<PeerId, Peer>,
    next_peer_id: u64,
    pending: HashMap<OutboundRequestId, (PeerId, Pending)>,
    /// Blocks requested: who from.
    in_flight: HashMap<BlockHash, PeerId>,
    /// Blocks handed to the worker and not yet judged.
    validating: HashSet<BlockHash>,
    /// Blocks judged since the last snapshot (which may still list them as missing; the
    /// next one will not, as the worker sends results and snapshots in order).
    judged: HashSet<BlockHash>,
    /// Blocks that came from the network (not relayed again when they become the tip).
    from_network: VecDeque<BlockHash>,
    snapshot: Snapshot,
    bans: BanList,
    /// The subnets the connection gate refuses (a copy of the ban list's).
    gate: BannedSubnets,
    /// Peers banned without a known IP (until, Unix seconds).
    banned_ids: HashMap<PeerId, u64>,
    book: AddrBook,
    discovered: HashMap<PeerId, Vec<Multiaddr>>,
    dialing: HashMap<PeerId, Instant>,
    addnodes: Vec<AddNode>,
    jobs: SyncSender<Job>,
    serve: SyncSender<ServeJob>,
    shared: Arc<RwLock<Shared>>,
    listen_addrs: Vec<Multiaddr>,
    ibd_done: bool,
    last_progress: Instant,
    progress_height: u64,
    last_status_round: Instant,
    /// Our tip moved since peers last heard our status.
    status_due: bool,
    last_status_push: Instant,
    last_walk: Option<Instant>,
    reachability: Reachability,
    external_addrs: Vec<Multiaddr>,
    relay_service_active: bool,
    relays: HashMap<PeerId, RelaySlot>,
    /// Relays not to ask again before the instant.
    relay_backoff: HashMap<PeerId, Instant>,
    hole_punch: HolePunchStats,
    /// Port mapping state: UPnP, then PCP/NAT-PMP.
    portmapping: [Option<crate::portmap::MappingState>; 2],
    /// Blocks provided on the IPFS DHT, oldest first.
    provided: VecDeque<BlockHash>,
    provided_set: HashSet<BlockHash>,
}

/// Starts the network: loads the node key, builds the swarm, starts listening and spawns the
/// event loop and worker threads. The loop runs until `shutdown` turns true; the returned
/// join handle finishes after it saved the known peers.
pub async fn start(
    cfg: NetConfig,
    backend: Arc<dyn Backend>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(Handle, tokio::task::JoinHandle<()>), NetError> {
    let key = keyfile::load_or_create(&cfg.dir)?;
    let status = {
        let b = Arc::clone(&backend);
        let provide = if cfg.ipfs_dht {
            crate::behaviour::IPFS_PROVIDE_MAX
        } else {
            0
        };
        tokio::task::spawn_blocking(move || {
            (
                b.status(),
                b.missing_blocks(WINDOW),
                b.recent_block_hashes(provide),
            )
        })
        .await
        .map_err(|e| NetError::Setup(e.to_string()))?
    };
    let genesis = status.0.genesis;
    let gate = BannedSubnets::default();
    let opts = BehaviourOptions {
        mdns: cfg.mdns,
        dht: cfg.dht,
        ipfs_dht: cfg.ipfs_dht,
        banned: gate.clone(),
        max_inbound: if cfg.accept_inbound {
            cfg.max_inbound
        } else {
            0
        },
        max_outbound: (cfg.target_outbound + cfg.addnode.len() + cfg.connect_only.len() + 16)
            as u32,
        agent: cfg.agent.clone(),
        relay_service: cfg.relay_service,
        private_network: cfg.private_network,
    };
    let mut swarm = build_swarm(key, &genesis, &opts)?;
    let local = *swarm.local_peer_id();
    if cfg.accept_inbound {
        for addr in &cfg.listen {
            for a in listen_pair(addr) {
                swarm.listen_on(a.clone()).map_err(|e| NetError::Listen {
                    addr: a.to_string(),
                    reason: e.to_string(),
                })?;
            }
        }
    }
    let shared = Arc::new(RwLock::new(Shared {
        peer_id: Some(local),
        ..Shared::default()
    }));
    let bitswap = Bitswap::start(
        swarm.behaviour().streams.new_control(),
        Arc::clone(&backend),
        Arc::clone(&shared),
    )
    .map_err(NetError::Setup)?;
    let (cmd_tx, cmd_rx) = mpsc::channel(256);
    let (job_tx, job_rx) = sync_channel::<Job>(MAX_BLOCKS_PENDING + 64);
    let (done_tx, done_rx) = mpsc::channel(64);
    let (serve_tx, serve_rx) = sync_channel::<ServeJob>(256);
    let (served_tx, served_rx) = mpsc::channel(64);
    {
        let b = Arc::clone(&backend);
        std::thread::Builder::new()
            .name("net-chain".into())
            .spawn(move || worker::run_chain_worker(b, job_rx, done_tx))
            .map_err(|e| NetError::Setup(e.to_string()))?;
        let b = Arc::clone(&backend);
        std::thread::Builder::new()
            .name("net-serve".into())
            .spawn(move || worker::run_server(b, serve_rx, served_tx))
            .map_err(|e| NetError::Setup(e.to_string()))?;
    }
    let addnodes = cfg
        .addnode
        .iter()
        .chain(cfg.connect_only.iter())
        .map(|a| AddNode {
            addr: a.clone(),
            peer: None,
            last_dial: None,
            other_chain: false,
        })
        .collect();
    let mut service = Service {
        swarm,
        genesis,
        blocks_topic: IdentTopic::new(protocol::blocks_topic(&genesis)),
        txs_topic: IdentTopic::new(protocol::txs_topic(&genesis)),
        peers: HashMap::new(),
        next_peer_id: 0,
        pending: HashMap::new(),
        in_flight: HashMap::new(),
        validating: HashSet::new(),
        judged: HashSet::new(),
        from_network: VecDeque::new(),
        snapshot: Snapshot {
            status: status.0,
            missing: status.1,
            recent: Vec::new(),
        },
        bans: BanList::load(&cfg.dir),
        gate,
        banned_ids: HashMap::new(),
        book: AddrBook::load(&cfg.dir),
        discovered: HashMap::new(),
        dialing: HashMap::new(),
        addnodes,
        jobs: job_tx,
        serve: serve_tx,
        shared: Arc::clone(&shared),
        listen_addrs: Vec::new(),
        ibd_done: false,
        last_progress: Instant::now(),
        progress_height: 0,
        last_status_round: Instant::now(),
        status_due: false,
        last_status_push: Instant::now(),
        last_walk: None,
        reachability: Reachability::Unknown,
        external_addrs: Vec::new(),
        relay_service_active: false,
        relays: HashMap::new(),
        relay_backoff: HashMap::new(),
        hole_punch: HolePunchStats::default(),
        portmapping: [None, None],
        provided: VecDeque::new(),
        provided_set: HashSet::new(),
        cfg,
    };
    service.provide(&status.2);
    service.progress_height = service.snapshot.status.height;
    service.sync_gate();
    let bantime = service.cfg.bantime;
    tracing::info!(peer_id = %local, "network started");
    // Port mapping on the router for the first listen address's port.
    let (map_tx, map_rx) = mpsc::channel(32);
    let map_port = service
        .cfg
        .listen
        .first()
        .and_then(crate::config::multiaddr_port)
        .filter(|_| service.cfg.accept_inbound);
    let map_tasks = match map_port {
        Some(port) if service.cfg.upnp || service.cfg.natpmp => crate::portmap::spawn(
            service.cfg.upnp,
            service.cfg.natpmp,
            port,
            map_tx,
            shutdown.clone(),
        ),
        _ => Vec::new(),
    };
    let task = tokio::spawn(async move {
        service
            .run(cmd_rx, done_rx, served_rx, map_rx, &mut shutdown)
            .await;
        // Let the mapping tasks remove their mappings from the router.
        for t in map_tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    });
    Ok((
        Handle {
            commands: cmd_tx,
            shared,
            bantime,
            bitswap,
        },
        task,
    ))
}

/// TCP and QUIC listen addresses for one `--bind` address.
fn listen_pair(addr: &Multiaddr) -> Vec<Multiaddr> {
    let mut out = vec![addr.clone()];
    let mut quic = Multiaddr::empty();
    let mut has_tcp = false;
    for p in addr.iter() {
        match p {
            Protocol::Tcp(port) => {
                has_tcp = true;
                quic.push(Protocol::Udp(port));
                quic.push(Protocol::QuicV1);
            }
            other => quic.push(other),
        }
    }
    if has_tcp {
        out.push(quic);
    }
    out
}

impl Service {
    async fn run(
        &mut self,
        mut commands: mpsc::Receiver<Command>,
        mut done: mpsc::Receiver<Done>,
        mut served: mpsc::Receiver<Served>,
        mut mapping: mpsc::Receiver<crate::portmap::MapEvent>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => break,
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(cmd) = commands.recv() => self.on_command(cmd),
                Some(d) = done.recv() => self.on_done(d),
                Some(s) = served.recv() => self.on_served(s),
                Some(m) = mapping.recv() => self.on_map_event(m),
                _ = tick.tick() => self.on_tick(),
            }
        }
        self.book.save();
        tracing::info!("network stopped");
    }

    // ---- peers and connections ----

    /// Copies the current bans to the connection gate.
    fn sync_gate(&mut self) {
        let now = unix_now();
        let subnets: Vec<Subnet> = self.bans.list(now).into_iter().map(|(s, _)| s).collect();
        *self.gate.write().unwrap_or_else(|p| p.into_inner()) = subnets;
    }

    fn is_banned_ip(&mut self, ip: &IpAddr) -> bool {
        self.bans.is_banned(ip, unix_now())
    }

    fn on_connection(
        &mut self,
        peer: PeerId,
        connection_id: ConnectionId,
        endpoint: &ConnectedPoint,
        num_established: u32,
    ) {
        let (addr, inbound) = connection_addr(endpoint);
        let now = unix_now();
        if let Some(ip) = multiaddr_ip(&addr)
            && self.is_banned_ip(&ip)
        {
            tracing::debug!(%peer, %addr, "refusing a banned address");
            self.swarm.close_connection(connection_id);
            return;
        }
        if self.banned_ids.get(&peer).is_some_and(|until| *until > now) {
            self.swarm.close_connection(connection_id);
            return;
        }
        if inbound
            && !is_relayed(&addr)
            && let Some(ip) = multiaddr_ip(&addr)
        {
            let same_ip = self
                .peers
                .values()
                .filter(|p| multiaddr_ip(&p.addr) == Some(ip))
                .count();
            if same_ip >= self.cfg.max_per_ip && !self.peers.contains_key(&peer) {
                tracing::info!(%peer, %ip, "too many connections from one address");
                self.swarm.close_connection(connection_id);
                return;
            }
        }
        self.dialing.remove(&peer);
        if !inbound {
            let plain = without_peer_id(&addr);
            for a in &mut self.addnodes {
                if without_peer_id(&a.addr) == plain {
                    a.peer = Some(peer);
                }
            }
            self.book.seen(peer, plain, now);
        }
        if num_established > 1 {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.links.insert(connection_id, addr.clone());
                if p.relayed && !is_relayed(&addr) {
                    p.relayed = false;
                    p.addr = addr.clone();
                    tracing::info!(%peer, %addr, "direct connection to a peer that was relayed");
                }
            }
            self.publish_shared();
            return;
        }
        let relayed = is_relayed(&addr);
        let addnode = self.addnodes.iter().any(|a| a.peer == Some(peer));
        self.next_peer_id += 1;
        self.peers.insert(
            peer,
            Peer {
                id: self.next_peer_id,
                addr: addr.clone(),
                inbound,
                relayed,
                links: HashMap::from([(connection_id, addr.clone())]),
                supports_hop: false,
                conntime: now,
                status: None,
                best_header_height: None,
                best_block_height: None,
                ping: None,
                bytes_sent: 0,
                bytes_recv: 0,
                blocks_downloaded: 0,
                in_flight: HashSet::new(),
                lacks: HashSet::new(),
                headers_pending: false,
                agent: String::new(),
                requests: RateLimit::new(self.burst()),
                addnode,
                condemned: false,
                mempool_asked: false,
                identified: false,
                no_sync: false,
                ipfs: false,
            },
        );
        tracing::info!(%peer, %addr, inbound, relayed, "peer connected");
        let status = self.snapshot.status.clone();
        self.request(peer, Request::Status(status), Pending::Status);
        self.publish_shared();
    }

    fn on_disconnected(&mut self, peer: PeerId, connection_id: ConnectionId, num_established: u32) {
        if num_established > 0 {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.links.remove(&connection_id);
                // The address shown is a direct one while there is one.
                if let Some(a) = p
                    .links
                    .values()
                    .find(|a| !is_relayed(a))
                    .or_else(|| p.links.values().next())
                {
                    p.addr = a.clone();
                    p.relayed = is_relayed(a);
                }
            }
            self.publish_shared();
            return;
        }
        if let Some(p) = self.peers.remove(&peer) {
            for h in p.in_flight {
                self.in_flight.remove(&h);
            }
            tracing::info!(%peer, "peer disconnected");
        }
        for a in &mut self.addnodes {
            if a.peer == Some(peer) {
                a.peer = None;
            }
        }
        self.publish_shared();
        self.schedule();
    }

    fn burst(&self) -> f64 {
        self.cfg.max_requests_per_sec as f64 * 10.0
    }

    /// Disconnects a misbehaving peer and bans its IP for the ban time.
    fn misbehaved(&mut self, peer: PeerId, reason: &str) {
        if let Some(p) = self.peers.get_mut(&peer) {
            if p.condemned {
                return;
            }
            p.condemned = true;
        }
        let now = unix_now();
        let until = now + self.cfg.bantime.as_secs();
        // A relayed peer's address is the relay's: ban the peer id, not the relay.
        let ip = self
            .peers
            .get(&peer)
            .filter(|p| !p.relayed)
            .and_then(|p| multiaddr_ip(&p.addr));
        tracing::warn!(%peer, ip = ?ip, reason, "peer misbehaved: disconnecting and banning");
        match ip {
            Some(ip) => {
                self.bans.ban(Subnet::single(ip), now, until, reason);
                self.sync_gate();
                let victims: Vec<PeerId> = self
                    .peers
                    .iter()
                    .filter(|(_, p)| !p.relayed && multiaddr_ip(&p.addr) == Some(ip))
                    .map(|(id, _)| *id)
                    .collect();
                for v in victims {
                    let _ = self.swarm.disconnect_peer_id(v);
                }
            }
            None => {
                self.banned_ids.insert(peer, until);
            }
        }
        self.book.forget(&peer);
        self.discovered.remove(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Drops a peer of another chain (not a fault, but no use either).
    fn other_chain(&mut self, peer: PeerId, why: &str) {
        tracing::info!(%peer, why, "peer is on another chain: disconnecting");
        for a in &mut self.addnodes {
            if a.peer == Some(peer) && !a.other_chain {
                a.other_chain = true;
                tracing::warn!(addr = %a.addr, "added node is on another chain: not dialling it again");
            }
        }
        self.book.forget(&peer);
        self.discovered.remove(&peer);
        if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
            kad.remove_peer(&peer);
        }
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    // ---- requests ----

    fn count_traffic(&mut self, peer: PeerId, sent: u64, received: u64) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.bytes_sent += sent;
            p.bytes_recv += received;
        }
    }

    fn request(&mut self, peer: PeerId, req: Request, what: Pending) {
        self.count_traffic(peer, protocol::wire_size(&req), 0);
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, Inbound::Request(req));
        self.pending.insert(id, (peer, what));
    }

    fn on_sync_event(&mut self, event: request_response::Event<Inbound, Response>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.on_request(peer, request, channel),
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                self.count_traffic(peer, 0, protocol::wire_size(&response));
                if let Some((_, what)) = self.pending.remove(&request_id) {
                    self.on_response(peer, what, response);
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let what = self.pending.remove(&request_id).map(|(_, w)| w);
                match &error {
                    request_response::OutboundFailure::UnsupportedProtocols => {
                        // An IPFS node refuses sync and stays for Bitswap; before identify
                        // told what the peer is, the verdict waits for it.
                        match self.peers.get_mut(&peer) {
                            Some(p) if p.ipfs => {}
                            Some(p) if !p.identified => p.no_sync = true,
                            _ => {
                                self.other_chain(peer, "does not speak this chain's sync protocol")
                            }
                        }
                    }
                    request_response::OutboundFailure::Io(e) => match frame_error(e) {
                        Some(f) => {
                            let reason = format!("bad response: {f}");
                            self.misbehaved(peer, &reason);
                        }
                        None => tracing::debug!(%peer, %error, "request failed"),
                    },
                    _ => tracing::debug!(%peer, %error, "request failed"),
                }
                match what {
                    Some(Pending::Blocks(hashes)) => {
                        if let Some(p) = self.peers.get_mut(&peer) {
                            for h in &hashes {
                                p.in_flight.remove(h);
                            }
                        }
                        for h in hashes {
                            self.in_flight.remove(&h);
                        }
                        self.schedule();
                    }
                    Some(Pending::Headers) => {
                        if let Some(p) = self.peers.get_mut(&peer) {
                            p.headers_pending = false;
                        }
                    }
                    _ => {}
                }
            }
            // A request frame that breaks the limits arrives as `Inbound::Bad` (see
            // `on_request`): what is left here is timeouts and closed connections.
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_request(
        &mut self,
        peer: PeerId,
        request: Inbound,
        channel: request_response::ResponseChannel<Response>,
    ) {
        let request = match request {
            Inbound::Request(r) => r,
            Inbound::Bad(e) => {
                self.misbehaved(peer, &format!("bad request: {e}"));
                return;
            }
        };
        let (rate, burst) = (self.cfg.max_requests_per_sec as f64, self.burst());
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.bytes_recv += protocol::wire_size(&request);
        let counted = !matches!(request, Request::GetHeaders { .. } | Request::GetBlocks(_));
        if counted && !p.requests.take(rate, burst) {
            let reason = format!(
                "request flood (more than {} requests/s sustained, burst {})",
                self.cfg.max_requests_per_sec, burst
            );
            self.misbehaved(peer, &reason);
            return;
        }
        if let Err(limit) = request.check_limits() {
            self.misbehaved(peer, &format!("request over the limits: {limit}"));
            return;
        }
        if let Request::Status(status) = &request {
            if !self.on_status(peer, status.clone()) {
                return;
            }
            // Answered from the loop's own snapshot: no need to wait for the chain.
            let mine = Response::Status(self.snapshot.status.clone());
            self.send_response(peer, channel, mine);
            return;
        }
        let job = ServeJob {
            peer,
            request,
            channel,
        };
        if !offer(&self.serve, job) {
            tracing::debug!(%peer, "serving queue full: dropping a request");
        }
    }

    fn send_response(
        &mut self,
        peer: PeerId,
        channel: request_response::ResponseChannel<Response>,
        response: Response,
    ) {
        self.count_traffic(peer, protocol::wire_size(&response), 0);
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response);
    }

    fn on_served(&mut self, s: Served) {
        self.send_response(s.peer, s.channel, s.response);
    }

    /// Records a peer's status; false if it is of another chain (and was dropped).
    fn on_status(&mut self, peer: PeerId, status: Status) -> bool {
        let ours = &self.snapshot.status;
        if status.genesis != ours.genesis || status.params_digest != ours.params_digest {
            self.other_chain(peer, "other consensus parameters");
            return false;
        }
        {
            let Some(p) = self.peers.get_mut(&peer) else {
                return false;
            };
            p.best_header_height = Some(
                p.best_header_height
                    .unwrap_or(0)
                    .max(status.best_header_height)
                    .max(status.height),
            );
            p.best_block_height = Some(p.best_block_height.unwrap_or(0).max(status.height));
            p.lacks.clear();
            p.status = Some(status.clone());
        }
        offer(&self.jobs, Job::PeerStatus { peer, status });
        self.fetch_mempools();
        true
    }

    fn on_response(&mut self, peer: PeerId, what: Pending, response: Response) {
        match (what, response) {
            (Pending::Status, Response::Status(status)) => {
                self.on_status(peer, status);
            }
            (Pending::Headers, Response::Headers(headers)) => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.headers_pending = false;
                }
                if headers.len() > protocol::MAX_HEADERS {
                    self.misbehaved(peer, "more headers than asked for");
                    return;
                }
                if headers.is_empty() {
                    return;
                }
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.headers_pending = true;
                }
                offer(&self.jobs, Job::Headers { peer, headers });
            }
            (Pending::Blocks(asked), Response::Blocks(blocks)) => {
                if blocks.len() > asked.len() {
                    self.misbehaved(peer, "more blocks than asked for");
                    return;
                }
                let asked_set: HashSet<BlockHash> = asked.iter().copied().collect();
                let mut got = HashSet::new();
                for bytes in blocks {
                    let Some(hash) = protocol::block_hash_of(&bytes) else {
                        self.misbehaved(peer, "a block shorter than its header");
                        return;
                    };
                    if !asked_set.contains(&hash) {
                        self.misbehaved(peer, "a block that was not asked for");
                        return;
                    }
                    got.insert(hash);
                    self.validating.insert(hash);
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.blocks_downloaded += 1;
                    }
                    if !offer(
                        &self.jobs,
                        Job::Block {
                            peer,
                            bytes,
                            gossip: None,
                        },
                    ) {
                        self.validating.remove(&hash);
                    }
                }
                tracing::debug!(%peer, asked = asked.len(), got = got.len(), first = %asked[0], "blocks received");
                if let Some(p) = self.peers.get_mut(&peer) {
                    for h in &asked {
                        p.in_flight.remove(h);
                        if !got.contains(h) {
                            p.lacks.insert(*h);
                        }
                    }
                }
                for h in &asked {
                    self.in_flight.remove(h);
                }
                self.schedule();
            }
            (Pending::Mempool, Response::Mempool(txids)) => {
                if txids.len() > protocol::MAX_MEMPOOL_IDS {
                    self.misbehaved(peer, "a mempool reply over the limit");
                    return;
                }
                if !txids.is_empty() {
                    offer(&self.jobs, Job::FilterTxids { peer, txids });
                }
            }
            (Pending::Txs, Response::Txs(txs)) => {
                for bytes in txs {
                    offer(
                        &self.jobs,
                        Job::Tx {
                            peer,
                            bytes,
                            gossip: None,
                        },
                    );
                }
            }
            (_, Response::Refused(why)) => {
                tracing::debug!(%peer, why, "request refused");
            }
            (_, other) => {
                let kind = match other {
                    Response::Status(_) => "status",
                    Response::Headers(_) => "headers",
                    Response::Blocks(_) => "blocks",
                    Response::Mempool(_) => "mempool",
                    Response::Txs(_) => "txs",
                    Response::Refused(_) => "refused",
                };
                self.misbehaved(peer, &format!("answered with {kind} to another request"));
            }
        }
    }

    /// Asks each peer for its mempool once we have its chain: before that its transactions
    /// would spend outputs we do not know yet.
    fn fetch_mempools(&mut self) {
        let height = self.snapshot.status.height;
        let ready: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                !p.mempool_asked && p.status.as_ref().is_some_and(|s| s.height <= height)
            })
            .map(|(id, _)| *id)
            .collect();
        for peer in ready {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.mempool_asked = true;
            }
            self.request(peer, Request::GetMempool, Pending::Mempool);
        }
    }

    fn ask_headers(&mut self, peer: PeerId, locator: Vec<BlockHash>) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if p.headers_pending {
            return;
        }
        p.headers_pending = true;
        let mut locator = locator;
        locator.truncate(protocol::MAX_LOCATOR);
        self.request(
            peer,
            Request::GetHeaders {
                locator,
                stop: protocol::NO_STOP,
            },
            Pending::Headers,
        );
    }

    // ---- the IPFS DHT ----

    /// Publishes provider records for blocks not provided yet (newest last), withdrawing the
    /// oldest beyond [`crate::behaviour::IPFS_PROVIDE_MAX`].
    fn provide(&mut self, hashes: &[BlockHash]) {
        let Some(kad) = self.swarm.behaviour_mut().ipfs_kad.as_mut() else {
            return;
        };
        let mut added = 0usize;
        for hash in hashes {
            if self.provided_set.contains(hash) {
                continue;
            }
            // Room first: the record store refuses keys beyond its limit.
            while self.provided.len() >= crate::behaviour::IPFS_PROVIDE_MAX {
                if let Some(old) = self.provided.pop_front() {
                    self.provided_set.remove(&old);
                    kad.stop_providing(&ipfs_key(&old));
                }
            }
            if let Err(e) = kad.start_providing(ipfs_key(hash)) {
                tracing::warn!(error = %e, "IPFS DHT: cannot store a provider record");
                continue;
            }
            added += 1;
            self.provided_set.insert(*hash);
            self.provided.push_back(*hash);
        }
        if added > 0 {
            tracing::debug!(
                added,
                total = self.provided.len(),
                "IPFS DHT: providing block CIDs"
            );
        }
    }

    // ---- the worker's results ----

    fn on_done(&mut self, d: Done) {
        match d {
            Done::Snapshot(s) => {
                let tip_moved = s.status.tip != self.snapshot.status.tip;
                self.snapshot = s;
                self.judged.clear();
                self.update_ibd();
                if tip_moved {
                    let recent = std::mem::take(&mut self.snapshot.recent);
                    self.provide(&recent);
                    self.log_progress();
                    self.fetch_mempools();
                    self.status_due = true;
                    self.push_status();
                    self.publish_shared();
                }
                self.schedule();
            }
            Done::PeerStatus { peer, locator } => {
                if let Some(locator) = locator {
                    self.ask_headers(peer, locator);
                }
            }
            Done::Headers {
                peer,
                count,
                verdict,
                locator,
            } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.headers_pending = false;
                }
                match verdict {
                    HeadersVerdict::Accepted { last, new } => {
                        tracing::debug!(%peer, count, new, %last, "headers accepted");
                        if count == protocol::MAX_HEADERS {
                            self.ask_headers(peer, locator);
                        }
                    }
                    HeadersVerdict::Unconnected => {
                        tracing::debug!(%peer, "headers did not connect: asking from our locator");
                        self.ask_headers(peer, locator);
                    }
                    HeadersVerdict::Invalid(reason) => {
                        self.misbehaved(peer, &format!("invalid header: {reason}"));
                    }
                    HeadersVerdict::Refused(reason) => {
                        tracing::info!(%peer, reason, "headers refused (not the peer's fault)");
                    }
                    HeadersVerdict::Failed(e) => {
                        tracing::error!(error = %e, "storage error while accepting headers");
                    }
                }
            }
            Done::Block {
                peer,
                verdict,
                gossip,
                hash,
                height,
            } => self.on_block_verdict(peer, verdict, gossip, hash, height),
            Done::Tx {
                peer,
                verdict,
                gossip,
            } => {
                let acceptance = match &verdict {
                    TxVerdict::Accepted(_) => MessageAcceptance::Accept,
                    TxVerdict::Known(_) | TxVerdict::Refused(_) => MessageAcceptance::Ignore,
                    TxVerdict::Invalid(_) => MessageAcceptance::Reject,
                };
                if let Some(id) = gossip {
                    self.report_gossip(&id, &peer, acceptance);
                }
                if let TxVerdict::Invalid(reason) = verdict {
                    self.misbehaved(peer, &format!("invalid transaction: {reason}"));
                }
            }
            Done::UnknownTxids { peer, txids } => {
                for chunk in txids.chunks(MAX_TXS_PER_REQUEST) {
                    self.request(peer, Request::GetTxs(chunk.to_vec()), Pending::Txs);
                }
            }
            Done::Announce(hash, bytes) => {
                if let Some(bytes) = bytes {
                    let topic = self.blocks_topic.clone();
                    match self.swarm.behaviour_mut().gossip.publish(topic, bytes) {
                        Ok(_) => tracing::debug!(%hash, "block announced"),
                        Err(e) => tracing::debug!(%hash, error = %e, "block not announced"),
                    }
                }
            }
        }
    }

    fn on_block_verdict(
        &mut self,
        peer: PeerId,
        verdict: BlockVerdict,
        gossip: Option<gossipsub::MessageId>,
        hash: Option<BlockHash>,
        height: Option<u64>,
    ) {
        if let Some(h) = hash {
            self.validating.remove(&h);
            self.judged.insert(h);
            if matches!(
                verdict,
                BlockVerdict::Accepted { .. } | BlockVerdict::Known(_)
            ) {
                self.from_network.push_back(h);
                if self.from_network.len() > 1024 {
                    self.from_network.pop_front();
                }
            }
        }
        let acceptance = match &verdict {
            BlockVerdict::Accepted { .. } => MessageAcceptance::Accept,
            BlockVerdict::Invalid { honest: false, .. } => MessageAcceptance::Reject,
            _ => MessageAcceptance::Ignore,
        };
        if let Some(id) = &gossip {
            self.report_gossip(id, &peer, acceptance);
        }
        match verdict {
            BlockVerdict::Accepted { .. } => {
                if let (Some(p), Some(h)) = (self.peers.get_mut(&peer), height) {
                    p.best_block_height = Some(p.best_block_height.unwrap_or(0).max(h));
                    p.best_header_height = Some(p.best_header_height.unwrap_or(0).max(h));
                }
            }
            BlockVerdict::Orphan(_) => {
                if let Some(p) = self.peers.get_mut(&peer)
                    && let Some(h) = height
                {
                    p.best_header_height = Some(p.best_header_height.unwrap_or(0).max(h));
                }
                // Its parent is unknown: the peer is ahead; fetch the headers in between.
                offer(&self.jobs, Job::Locator { peer });
            }
            BlockVerdict::Invalid { reason, honest } => {
                if honest {
                    tracing::info!(%peer, reason, "block refused (not the peer's fault)");
                } else {
                    self.misbehaved(peer, &format!("invalid block: {reason}"));
                }
            }
            BlockVerdict::Failed(e) => {
                tracing::error!(error = %e, "storage error while accepting a block");
            }
            BlockVerdict::Known(h) => tracing::debug!(%peer, %h, "block already known"),
        }
    }

    // ---- downloads ----

    /// Hands out block requests for the missing blocks of the snapshot.
    fn schedule(&mut self) {
        let candidates: Vec<(BlockHash, u64)> = self
            .snapshot
            .missing
            .iter()
            .filter(|(h, _)| {
                !self.in_flight.contains_key(h)
                    && !self.validating.contains(h)
                    && !self.judged.contains(h)
            })
            .copied()
            .collect();
        let pending = self.in_flight.len() + self.validating.len();
        if candidates.is_empty() || pending >= MAX_BLOCKS_PENDING {
            return;
        }
        let mut budget = MAX_BLOCKS_PENDING - pending;
        // Wait for room for a full request, unless fewer blocks are left: many small
        // requests cost more than they gain.
        if budget < MAX_BLOCKS_PER_REQUEST && candidates.len() > budget {
            return;
        }
        let mut order: Vec<(usize, PeerId)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.status.is_some() && !p.condemned)
            .map(|(id, p)| (p.in_flight.len(), *id))
            .collect();
        order.sort();
        let mut taken: HashSet<BlockHash> = HashSet::new();
        for (mut load, peer) in order {
            let Some(p) = self.peers.get(&peer) else {
                continue;
            };
            let best = p.best_header_height.unwrap_or(0);
            let has = |h: &BlockHash, height: u64| height <= best && !p.lacks.contains(h);
            let mut requests = Vec::new();
            loop {
                let room = (MAX_IN_FLIGHT_PER_PEER - load)
                    .min(budget)
                    .min(MAX_BLOCKS_PER_REQUEST);
                if room == 0 {
                    break;
                }
                let mut available = candidates
                    .iter()
                    .filter(|(h, height)| !taken.contains(h) && has(h, *height));
                let chunk: Vec<BlockHash> =
                    available.by_ref().take(room).map(|(h, _)| *h).collect();
                if chunk.is_empty() {
                    break;
                }
                // A short request only when it takes all that is left for this peer.
                if chunk.len() < MAX_BLOCKS_PER_REQUEST && available.next().is_some() {
                    break;
                }
                taken.extend(chunk.iter().copied());
                load += chunk.len();
                budget -= chunk.len();
                requests.push(chunk);
            }
            for chunk in requests {
                for h in &chunk {
                    self.in_flight.insert(*h, peer);
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.in_flight.insert(*h);
                    }
                }
                tracing::debug!(%peer, first = %chunk[0], count = chunk.len(), "asking for blocks");
                self.request(
                    peer,
                    Request::GetBlocks(chunk.clone()),
                    Pending::Blocks(chunk),
                );
            }
        }
    }

    fn best_peer_height(&self) -> u64 {
        self.peers
            .values()
            .filter_map(|p| p.best_block_height)
            .max()
            .unwrap_or(0)
    }

    fn update_ibd(&mut self) {
        if self.ibd_done {
            return;
        }
        let s = &self.snapshot.status;
        let caught_up = s.height >= s.best_header_height && s.height >= self.best_peer_height();
        let have_peer_status = self.peers.values().any(|p| p.status.is_some());
        // As Bitcoin Core: a tip less than a day old means the node is not catching up, even
        // alone (a lone miner, a fresh regtest node with a block).
        let recent_tip = s.tip_time + MAX_TIP_AGE >= unix_now();
        if caught_up && (have_peer_status || recent_tip) {
            self.ibd_done = true;
            tracing::info!(height = s.height, "initial block download finished");
        }
    }

    fn log_progress(&mut self) {
        let s = &self.snapshot.status;
        let blocks_since = s.height.saturating_sub(self.progress_height);
        if self.ibd_done
            || (self.last_progress.elapsed() < PROGRESS_EVERY && blocks_since < PROGRESS_BLOCKS)
        {
            return;
        }
        let target = s.best_header_height.max(self.best_peer_height());
        if target <= s.height {
            return;
        }
        let secs = self.last_progress.elapsed().as_secs_f64();
        let rate = (s.height.saturating_sub(self.progress_height)) as f64 / secs;
        let left = target - s.height;
        let eta = if rate > 0.0 {
            format!("{:.0} s", left as f64 / rate)
        } else {
            "unknown".into()
        };
        tracing::info!(
            height = s.height,
            headers = s.best_header_height,
            target,
            percent = format!("{:.1}", 100.0 * s.height as f64 / target as f64),
            rate = format!("{rate:.0} blocks/s"),
            eta,
            peers = self.peers.len(),
            "sync progress"
        );
        self.last_progress = Instant::now();
        self.progress_height = s.height;
    }

    // ---- gossip, identify, discovery ----

    /// Tells gossipsub what validation made of a message: forward it, drop it, or drop it and
    /// penalise the peer that sent it.
    fn report_gossip(
        &mut self,
        id: &gossipsub::MessageId,
        peer: &PeerId,
        acceptance: MessageAcceptance,
    ) {
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(id, peer, acceptance);
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let peer = propagation_source;
        if let Some(p) = self.peers.get_mut(&peer) {
            p.bytes_recv += message.data.len() as u64;
        }
        if message.topic == self.blocks_topic.hash() {
            let hash = protocol::block_hash_of(&message.data);
            if let Some(h) = hash {
                self.validating.insert(h);
            }
            let job = Job::Block {
                peer,
                bytes: message.data,
                gossip: Some(message_id.clone()),
            };
            if !offer(&self.jobs, job) {
                if let Some(h) = hash {
                    self.validating.remove(&h);
                }
                self.report_gossip(&message_id, &peer, MessageAcceptance::Ignore);
            }
        } else if message.topic == self.txs_topic.hash() {
            let job = Job::Tx {
                peer,
                bytes: message.data,
                gossip: Some(message_id.clone()),
            };
            if !offer(&self.jobs, job) {
                self.report_gossip(&message_id, &peer, MessageAcceptance::Ignore);
            }
        } else {
            self.report_gossip(&message_id, &peer, MessageAcceptance::Reject);
        }
    }

    fn on_identify(&mut self, event: identify::Event) {
        let identify::Event::Received { peer_id, info, .. } = event else {
            return;
        };
        if info
            .protocols
            .contains(&crate::behaviour::IPFS_KAD_PROTOCOL)
            && let Some(kad) = self.swarm.behaviour_mut().ipfs_kad.as_mut()
        {
            for addr in &info.listen_addrs {
                kad.add_address(&peer_id, addr.clone());
            }
        }
        if info.protocol_version != protocol::identify_version(&self.genesis) {
            // A libp2p node that is no coinrs node (an IPFS node) may use Bitswap and the
            // IPFS DHT; a coinrs node of another chain is of no use.
            if !info.protocol_version.starts_with("/coinrs/") {
                if let Some(p) = self.peers.get_mut(&peer_id)
                    && !p.ipfs
                {
                    p.ipfs = true;
                    p.identified = true;
                    p.agent = info.agent_version.clone();
                    tracing::info!(peer = %peer_id, agent = %info.agent_version, "a libp2p node of no coinrs chain (IPFS) connected: kept for Bitswap and the IPFS DHT, not synced with");
                    self.publish_shared();
                }
                return;
            }
            self.other_chain(peer_id, "identify says another chain");
            return;
        }
        if let Some(p) = self.peers.get_mut(&peer_id) {
            p.agent = info.agent_version.clone();
            p.supports_hop = info.protocols.contains(&relay::HOP_PROTOCOL_NAME);
            p.identified = true;
            if p.no_sync {
                self.other_chain(peer_id, "does not speak this chain's sync protocol");
                return;
            }
        }
        let mut addrs = info.listen_addrs;
        drop_foreign_loopback(&mut addrs);
        for addr in addrs {
            if multiaddr_ip(&addr).is_some_and(|ip| ip.is_unspecified()) {
                continue;
            }
            if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                kad.add_address(&peer_id, addr);
            }
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::RoutingUpdated {
                peer, addresses, ..
            } => {
                self.discovered.insert(peer, addresses.into_vec());
            }
            kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::GetClosestPeers(Ok(ok)),
                ..
            } => {
                for info in ok.peers {
                    if !info.addrs.is_empty() {
                        self.discovered.insert(info.peer_id, info.addrs);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_mdns(&mut self, event: mdns::Event) {
        if let mdns::Event::Discovered(list) = event {
            for (peer, addr) in list {
                self.discovered.entry(peer).or_default().push(addr.clone());
                if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                    kad.add_address(&peer, addr);
                }
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => self.on_connection(peer_id, connection_id, &endpoint, num_established.get()),
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => self.on_disconnected(peer_id, connection_id, num_established),
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(p) = peer_id {
                    self.dialing.remove(&p);
                }
                tracing::debug!(peer = ?peer_id, %error, "dial failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening for peers");
                let local = *self.swarm.local_peer_id();
                // A relayed address already ends with our peer id.
                let address = if matches!(address.iter().last(), Some(Protocol::P2p(_))) {
                    address
                } else {
                    address.with(Protocol::P2p(local))
                };
                self.listen_addrs.push(address);
                self.publish_shared();
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let address = without_peer_id(&address);
                self.listen_addrs.retain(|a| without_peer_id(a) != address);
                self.publish_shared();
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => self.on_listener_closed(listener_id, reason.err().map(|e| e.to_string())),
            SwarmEvent::ExternalAddrConfirmed { address }
                if !self.external_addrs.contains(&address) =>
            {
                tracing::info!(%address, "external address confirmed");
                self.external_addrs.push(address);
                self.publish_shared();
            }
            SwarmEvent::ExternalAddrExpired { address } => {
                tracing::info!(%address, "external address expired");
                self.external_addrs.retain(|a| *a != address);
                self.publish_shared();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(e)) => self.on_autonat(e),
            SwarmEvent::Behaviour(BehaviourEvent::Relay(e)) => self.on_relay_server(e),
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(e)) => self.on_relay_client(e),
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(e)) => self.on_dcutr(e),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(e)) => self.on_sync_event(e),
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(e)) => self.on_gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(e)) => self.on_identify(e),
            SwarmEvent::Behaviour(BehaviourEvent::Kad(e)) => self.on_kad(e),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(e)) => self.on_mdns(e),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, result, .. })) => {
                if let (Ok(rtt), Some(p)) = (result, self.peers.get_mut(&peer)) {
                    p.ping = Some(rtt);
                }
            }
            _ => {}
        }
    }

    // ---- commands ----

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::TipChanged(tip) => {
                // Blocks from peers travel by gossip (forwarded after validation) or were
                // downloaded during sync, and the worker sends a snapshot after them: only a
                // tip of our own (mined, submitted, invalidated by RPC) needs a refresh and
                // an announcement. (A refresh per downloaded block once filled the worker's
                // queue and pushed blocks out of it.)
                if !self.from_network.contains(&tip) && !self.validating.contains(&tip) {
                    offer(&self.jobs, Job::Refresh);
                    offer(&self.jobs, Job::Announce(tip));
                }
            }
            Command::AnnounceTx(bytes) => {
                let topic = self.txs_topic.clone();
                if let Err(e) = self.swarm.behaviour_mut().gossip.publish(topic, bytes) {
                    tracing::debug!(error = %e, "transaction not announced");
                }
            }
            Command::AddNode(addr, op, reply) => {
                let plain = without_peer_id(&addr);
                let known = self
                    .addnodes
                    .iter()
                    .any(|a| without_peer_id(&a.addr) == plain);
                let result = match op {
                    AddNodeOp::Add if known => Err("Node already added".to_string()),
                    AddNodeOp::Add => {
                        self.addnodes.push(AddNode {
                            addr: addr.clone(),
                            peer: None,
                            last_dial: None,
                            other_chain: false,
                        });
                        self.dial_addr(addr);
                        Ok(())
                    }
                    AddNodeOp::Remove if !known => Err(
                        "Node could not be removed. It has not been added previously.".to_string(),
                    ),
                    AddNodeOp::Remove => {
                        self.addnodes.retain(|a| without_peer_id(&a.addr) != plain);
                        Ok(())
                    }
                    AddNodeOp::OneTry => {
                        self.dial_addr(addr);
                        Ok(())
                    }
                };
                let _ = reply.send(result);
            }
            Command::Disconnect(target, reply) => {
                let peer = match target {
                    DisconnectTarget::Id(n) => self
                        .peers
                        .iter()
                        .find(|(_, p)| p.id == n)
                        .map(|(id, _)| *id),
                    DisconnectTarget::PeerId(id) => self.peers.contains_key(&id).then_some(id),
                    DisconnectTarget::Addr(a) => {
                        let a = without_peer_id(&a);
                        self.peers
                            .iter()
                            .find(|(_, p)| {
                                without_peer_id(&p.addr) == a
                                    || (multiaddr_ip(&a).is_some()
                                        && multiaddr_ip(&p.addr) == multiaddr_ip(&a)
                                        && crate::config::multiaddr_port(&a)
                                            == crate::config::multiaddr_port(&p.addr))
                            })
                            .map(|(id, _)| *id)
                    }
                };
                let ok = peer.is_some_and(|p| self.swarm.disconnect_peer_id(p).is_ok());
                let _ = reply.send(ok);
            }
            Command::SetBan {
                subnet,
                add,
                until,
                reply,
            } => {
                let now = unix_now();
                let result = if add {
                    if self.bans.ban(subnet, now, until, "manually added") {
                        self.sync_gate();
                        let victims: Vec<PeerId> = self
                            .peers
                            .iter()
                            .filter(|(_, p)| {
                                multiaddr_ip(&p.addr).is_some_and(|ip| subnet.contains(&ip))
                            })
                            .map(|(id, _)| *id)
                            .collect();
                        for v in victims {
                            let _ = self.swarm.disconnect_peer_id(v);
                        }
                        Ok(())
                    } else {
                        Err("Error: IP/Subnet already banned".to_string())
                    }
                } else if self.bans.unban(&subnet) {
                    self.sync_gate();
                    Ok(())
                } else {
                    Err("Error: Unban failed. Requested address/subnet was not previously manually banned.".to_string())
                };
                let _ = reply.send(result);
            }
            Command::ListBanned(reply) => {
                let _ = reply.send(self.bans.list(unix_now()));
            }
            Command::ClearBanned(reply) => {
                self.bans.clear();
                self.sync_gate();
                self.banned_ids.clear();
                let _ = reply.send(());
            }
        }
    }

    fn dial_addr(&mut self, addr: Multiaddr) {
        if multiaddr_ip(&addr).is_some_and(|ip| self.bans.is_banned(&ip, unix_now())) {
            return;
        }
        let opts = match addr.iter().find_map(|p| match p {
            Protocol::P2p(id) => Some(id),
            _ => None,
        }) {
            Some(id) => DialOpts::peer_id(id).addresses(vec![addr.clone()]).build(),
            None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
        };
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%addr, error = %e, "cannot dial");
        }
    }

    fn dial_peer(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        if peer == *self.swarm.local_peer_id()
            || self.peers.contains_key(&peer)
            || self
                .dialing
                .get(&peer)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(30))
        {
            return;
        }
        let now = unix_now();
        let mut addrs: Vec<Multiaddr> = addrs
            .into_iter()
            .filter(|a| !multiaddr_ip(a).is_some_and(|ip| self.bans.is_banned(&ip, now)))
            .collect();
        if addrs.is_empty() {
            return;
        }
        // Relayed addresses first: a peer that has them is behind NAT, its direct addresses
        // are mostly unreachable (each costing a slot of the concurrent dial until it times
        // out), and hole punching upgrades the relayed connection once it is up.
        drop_foreign_loopback(&mut addrs);
        addrs.sort_by_key(|a| !is_relayed(a));
        addrs.dedup();
        self.dialing.insert(peer, Instant::now());
        let opts = DialOpts::peer_id(peer).addresses(addrs).build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, error = %e, "cannot dial");
        }
    }

    /// Tells every peer our status when the tip moved, at most once a second: a peer behind
    /// us learns of the better chain whatever way our blocks came (a gossiped block is
    /// forwarded by gossipsub; a downloaded one or a reorganisation is not).
    fn push_status(&mut self) {
        if !self.status_due || self.last_status_push.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.status_due = false;
        self.last_status_push = Instant::now();
        let status = self.snapshot.status.clone();
        let peers: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.status.is_some())
            .map(|(id, _)| *id)
            .collect();
        for p in peers {
            self.request(p, Request::Status(status.clone()), Pending::Status);
        }
    }

    fn outbound_count(&self) -> usize {
        self.peers.values().filter(|p| !p.inbound).count()
    }

    fn on_tick(&mut self) {
        // A peer that refused sync and never said what it is (no identify) is of no use.
        let now = unix_now();
        let silent: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.no_sync && !p.identified && now >= p.conntime + UNIDENTIFIED_GRACE)
            .map(|(id, _)| *id)
            .collect();
        for peer in silent {
            self.other_chain(peer, "refuses sync and sent no identify");
        }
        // Peers we were told to keep.
        let redial: Vec<Multiaddr> = self
            .addnodes
            .iter_mut()
            .filter(|a| {
                a.peer.is_none()
                    && !a.other_chain
                    && a.last_dial
                        .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
            })
            .map(|a| {
                a.last_dial = Some(Instant::now());
                a.addr.clone()
            })
            .collect();
        for a in redial {
            self.dial_addr(a);
        }
        if self.cfg.connect_only.is_empty() {
            // Discovery: a random walk now and then, then dial what was found.
            if self.cfg.dht
                && !self.peers.is_empty()
                && self.last_walk.is_none_or(|t| t.elapsed() >= WALK_EVERY)
            {
                self.last_walk = Some(Instant::now());
                if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                    kad.get_closest_peers(PeerId::random());
                }
            }
            let want = self
                .cfg
                .target_outbound
                .saturating_sub(self.outbound_count());
            if want > 0 {
                let mut candidates: Vec<(PeerId, Vec<Multiaddr>)> = Vec::new();
                if self.cfg.dht || self.cfg.mdns {
                    candidates.extend(self.discovered.iter().map(|(k, v)| (*k, v.clone())));
                }
                candidates.extend(self.book.candidates());
                for (peer, addrs) in candidates.into_iter().take(want * 4) {
                    self.dial_peer(peer, addrs);
                }
            }
        }
        // Ask peers for their status again now and then.
        if self.last_status_round.elapsed() >= STATUS_EVERY {
            self.last_status_round = Instant::now();
            let status = self.snapshot.status.clone();
            let peers: Vec<PeerId> = self
                .peers
                .iter()
                .filter(|(_, p)| !p.ipfs)
                .map(|(id, _)| *id)
                .collect();
            for p in peers {
                self.request(p, Request::Status(status.clone()), Pending::Status);
            }
            self.book.save();
        }
        self.maintain_relays();
        self.sync_gate();
        self.push_status();
        self.update_ibd();
        self.log_progress();
        self.schedule();
        self.publish_shared();
    }

    fn publish_shared(&mut self) {
        let peers = self
            .peers
            .iter()
            .map(|(id, p)| PeerInfo {
                id: p.id,
                peer_id: *id,
                addr: p.addr.clone(),
                inbound: p.inbound,
                relayed: p.relayed,
                conntime: p.conntime,
                ping_micros: p.ping.map(|d| d.as_micros() as u64),
                bytes_sent: p.bytes_sent,
                bytes_recv: p.bytes_recv,
                synced_headers: p.best_header_height.map_or(-1, |h| h as i64),
                synced_blocks: p.best_block_height.map_or(-1, |h| h as i64),
                blocks_downloaded: p.blocks_downloaded,
                blocks_in_flight: p.in_flight.len(),
                agent: p.agent.clone(),
                addnode: p.addnode,
                ipfs: p.ipfs,
            })
            .collect::<Vec<_>>();
        let sync = SyncProgress {
            initial_download: !self.ibd_done,
            best_peer_height: self.best_peer_height(),
        };
        let mut shared = self.shared.write().unwrap_or_else(|p| p.into_inner());
        let mut peers = peers;
        peers.sort_by_key(|p| p.id);
        shared.peers = peers;
        shared.listen_addrs = self.listen_addrs.clone();
        shared.sync = sync;
        shared.reachability = self.reachability;
        shared.external_addrs = self.external_addrs.clone();
        shared.relay_service_active = self.relay_service_active;
        shared.relays = self.relays_info();
        shared.hole_punch = self.hole_punch;
        shared.portmapping = self.portmapping.iter().flatten().cloned().collect();
    }
}

// ---- NAT traversal: AutoNAT, relays, hole punching ----
impl Service {
    fn relays_info(&self) -> Vec<RelayReservation> {
        let local = *self.swarm.local_peer_id();
        let mut list: Vec<RelayReservation> = self
            .relays
            .iter()
            .map(|(relay, slot)| RelayReservation {
                relay: *relay,
                addr: slot.addr.clone().with(Protocol::P2p(local)),
                reserved: slot.reserved,
            })
            .collect();
        list.sort_by_key(|r| r.relay.to_string());
        list
    }

    fn on_autonat(&mut self, event: autonat::v1::Event) {
        use autonat::v1::{Event, NatStatus, OutboundProbeEvent};
        match event {
            Event::StatusChanged { old, new } => {
                let reachability = match &new {
                    NatStatus::Public(_) => Reachability::Public,
                    NatStatus::Private => Reachability::Private,
                    NatStatus::Unknown => Reachability::Unknown,
                };
                match &new {
                    NatStatus::Public(addr) => tracing::info!(
                        %addr,
                        was = ?old,
                        "reachability: public (peers dialled us back)"
                    ),
                    _ => tracing::info!(
                        reachability = reachability.as_str(),
                        was = ?old,
                        "reachability changed"
                    ),
                }
                self.reachability = reachability;
                if reachability == Reachability::Public && !self.relays.is_empty() {
                    tracing::info!("reachable directly: dropping relay reservations");
                    let slots: Vec<ListenerId> = self.relays.values().map(|s| s.listener).collect();
                    self.relays.clear();
                    for l in slots {
                        self.swarm.remove_listener(l);
                    }
                }
                self.publish_shared();
                self.maintain_relays();
            }
            Event::OutboundProbe(OutboundProbeEvent::Response { peer, address, .. }) => {
                tracing::debug!(%peer, %address, "AutoNAT probe: a peer dialled us back");
            }
            Event::OutboundProbe(OutboundProbeEvent::Error { peer, error, .. }) => {
                tracing::debug!(peer = ?peer, error = ?error, "AutoNAT probe failed");
            }
            Event::OutboundProbe(OutboundProbeEvent::Request { peer, .. }) => {
                tracing::debug!(%peer, "AutoNAT probe: asking a peer to dial us back");
            }
            Event::InboundProbe(e) => tracing::debug!(event = ?e, "AutoNAT probe from a peer"),
        }
    }

    /// Behind NAT: asks connected relays for reservations until [`MAX_RELAYS`] are held.
    fn maintain_relays(&mut self) {
        if self.reachability != Reachability::Private || !self.cfg.accept_inbound {
            return;
        }
        let now = Instant::now();
        self.relay_backoff.retain(|_, until| *until > now);
        if self.relays.len() >= MAX_RELAYS {
            return;
        }
        let mut candidates: Vec<(PeerId, Multiaddr)> = self
            .peers
            .iter()
            .filter(|(id, p)| {
                p.supports_hop
                    && !p.condemned
                    && !self.relays.contains_key(id)
                    && !self.relay_backoff.contains_key(id)
            })
            .filter_map(|(id, p)| {
                // An address we dialled it at, direct (not itself through a relay).
                p.links
                    .values()
                    .find(|a| !is_relayed(a) && !p.inbound)
                    .map(|a| (*id, without_peer_id(a)))
            })
            .collect();
        candidates.sort_by_key(|(id, _)| self.peers.get(id).map(|p| p.id));
        for (relay, addr) in candidates.into_iter().take(MAX_RELAYS - self.relays.len()) {
            let circuit = addr.with(Protocol::P2p(relay)).with(Protocol::P2pCircuit);
            match self.swarm.listen_on(circuit.clone()) {
                Ok(listener) => {
                    tracing::info!(%relay, addr = %circuit, "asking a relay for a reservation");
                    self.relays.insert(
                        relay,
                        RelaySlot {
                            listener,
                            addr: circuit,
                            reserved: false,
                        },
                    );
                }
                Err(e) => {
                    tracing::info!(%relay, error = %e, "cannot listen through a relay");
                    self.relay_backoff.insert(relay, now + RELAY_RETRY);
                }
            }
        }
        self.publish_shared();
    }

    fn on_listener_closed(&mut self, listener: ListenerId, error: Option<String>) {
        let Some(relay) = self
            .relays
            .iter()
            .find(|(_, s)| s.listener == listener)
            .map(|(id, _)| *id)
        else {
            return;
        };
        self.relays.remove(&relay);
        self.relay_backoff
            .insert(relay, Instant::now() + RELAY_RETRY);
        tracing::info!(
            %relay,
            error = error.as_deref().unwrap_or("closed"),
            "relay reservation ended: asking again later"
        );
        self.publish_shared();
    }

    fn on_relay_client(&mut self, event: relay::client::Event) {
        use relay::client::Event;
        match event {
            Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                if let Some(slot) = self.relays.get_mut(&relay_peer_id) {
                    slot.reserved = true;
                }
                if renewal {
                    tracing::debug!(relay = %relay_peer_id, "relay reservation renewed");
                } else {
                    tracing::info!(relay = %relay_peer_id, "relay reservation accepted: reachable through it");
                }
                self.publish_shared();
            }
            Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                tracing::info!(relay = %relay_peer_id, "relayed connection dialled");
            }
            Event::InboundCircuitEstablished { src_peer_id, .. } => {
                tracing::info!(peer = %src_peer_id, "relayed connection accepted");
            }
        }
    }

    fn on_relay_server(&mut self, event: relay::Event) {
        use relay::Event;
        match event {
            Event::StatusChanged { status } => {
                let active = matches!(status, relay::Status::Enable);
                self.relay_service_active = active;
                if active {
                    tracing::info!("relay service active: serving reservations and circuits");
                } else {
                    tracing::info!("relay service inactive (no confirmed external address)");
                }
                self.publish_shared();
            }
            Event::ReservationReqAccepted { src_peer_id, .. } => {
                tracing::info!(peer = %src_peer_id, "relay service: reservation accepted");
            }
            Event::ReservationReqDenied {
                src_peer_id,
                status,
            } => {
                tracing::info!(peer = %src_peer_id, ?status, "relay service: reservation denied");
            }
            Event::ReservationTimedOut { src_peer_id } => {
                tracing::debug!(peer = %src_peer_id, "relay service: reservation timed out");
            }
            Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                tracing::info!(from = %src_peer_id, to = %dst_peer_id, "relay service: circuit opened");
            }
            Event::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                status,
            } => {
                tracing::info!(from = %src_peer_id, to = %dst_peer_id, ?status, "relay service: circuit denied");
            }
            Event::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                tracing::debug!(from = %src_peer_id, to = %dst_peer_id, error = ?error, "relay service: circuit closed");
            }
            other => tracing::debug!(event = ?other, "relay service"),
        }
    }

    fn on_map_event(&mut self, event: crate::portmap::MapEvent) {
        use crate::portmap::MapEvent;
        match event {
            MapEvent::State { slot, state } => {
                if let Some(s) = self.portmapping.get_mut(slot) {
                    *s = Some(state);
                }
            }
            MapEvent::Mapped(addr) => {
                // The router forwards this address to us: peers can dial it.
                self.swarm.add_external_address(addr.clone());
                if !self.external_addrs.contains(&addr) {
                    tracing::info!(address = %addr, "external address confirmed (port mapping)");
                    self.external_addrs.push(addr);
                }
            }
            MapEvent::Unmapped(addr) => {
                self.swarm.remove_external_address(&addr);
                self.external_addrs.retain(|a| *a != addr);
            }
        }
        self.publish_shared();
    }

    fn on_dcutr(&mut self, event: dcutr::Event) {
        let peer = event.remote_peer_id;
        match event.result {
            Ok(connection) => {
                self.hole_punch.direct_upgrades += 1;
                tracing::info!(%peer, "hole punching succeeded: direct connection");
                // The direct connection carries everything from now on: free the relay.
                let relayed: Vec<ConnectionId> = self
                    .peers
                    .get(&peer)
                    .map(|p| {
                        p.links
                            .iter()
                            .filter(|(id, a)| **id != connection && is_relayed(a))
                            .map(|(id, _)| *id)
                            .collect()
                    })
                    .unwrap_or_default();
                for id in relayed {
                    self.swarm.close_connection(id);
                }
            }
            Err(e) => {
                self.hole_punch.failures += 1;
                tracing::info!(%peer, error = %e, "hole punching failed: staying relayed");
            }
        }
        self.publish_shared();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(local: &str, send_back: &str) -> ConnectedPoint {
        ConnectedPoint::Listener {
            local_addr: local.parse().unwrap(),
            send_back_addr: send_back.parse().unwrap(),
        }
    }

    #[test]
    fn an_inbound_relayed_connection_is_shown_through_its_relay() {
        let peer = "12D3KooWR3hJTafbectVQbNSEKnFhrmGoCZ3SZJEkn9ZrGXapMpP";
        // What libp2p's relay client gives for a circuit that came in (seen in the lab: the
        // relay's address without its peer id), and with the relay's peer id.
        for relay in [
            "/ip4/10.77.1.2/tcp/19444",
            "/ip4/10.77.1.2/tcp/19444/p2p/12D3KooWHPCnvcCFGBJgA5h4NLFBcWeNndFm8BbZAYeYwHvmU7ZH",
        ] {
            let (addr, inbound) = connection_addr(&listener(
                &format!("{relay}/p2p-circuit"),
                &format!("/p2p/{peer}"),
            ));
            assert!(inbound);
            assert!(is_relayed(&addr), "{addr}");
            assert_eq!(addr.to_string(), format!("{relay}/p2p-circuit/p2p/{peer}"));
        }
    }

    #[test]
    fn a_direct_inbound_connection_keeps_its_send_back_address() {
        let (addr, inbound) = connection_addr(&listener(
            "/ip4/192.168.1.2/tcp/19444",
            "/ip4/10.77.3.2/tcp/19444",
        ));
        assert!(inbound);
        assert!(!is_relayed(&addr));
        assert_eq!(addr.to_string(), "/ip4/10.77.3.2/tcp/19444");
    }
}
