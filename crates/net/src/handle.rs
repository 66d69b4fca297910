//! The cloneable handle the rest of the node steers the network with, and the facts it
//! reads back (peers, addresses, sync progress) for the RPC methods.
//!
//! Facts are kept in a shared snapshot that the event loop refreshes, so reading them never
//! waits for the loop. Actions go to the loop over a bounded channel; those with an answer
//! wait for it on a oneshot channel (from a blocking thread: the RPC methods run on one).

use std::sync::{Arc, RwLock};

use coinrs_core::BlockHash;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::ban::{BanEntry, Subnet};
use crate::error::NetError;

/// What `getpeerinfo` shows of one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The node's own number for the peer (for `disconnectnode`).
    pub id: u64,
    /// The libp2p peer id.
    pub peer_id: PeerId,
    /// The remote address of the connection.
    pub addr: Multiaddr,
    /// The peer dialled us.
    pub inbound: bool,
    /// Through a relay rather than direct.
    pub relayed: bool,
    /// Connected since (Unix seconds).
    pub conntime: u64,
    /// Last ping round trip, microseconds.
    pub ping_micros: Option<u64>,
    /// Bytes of coinrs messages sent to and received from the peer.
    pub bytes_sent: u64,
    /// See `bytes_sent`.
    pub bytes_recv: u64,
    /// Height of the best header the peer is known to have, -1 before its status.
    pub synced_headers: i64,
    /// Height of the best block the peer is known to have, -1 before its status.
    pub synced_blocks: i64,
    /// Blocks this node downloaded from the peer.
    pub blocks_downloaded: u64,
    /// Blocks requested from it and not yet answered.
    pub blocks_in_flight: usize,
    /// Its agent string from identify.
    pub agent: String,
    /// A peer kept by `--addnode` / `addnode add`.
    pub addnode: bool,
    /// A libp2p node that is no coinrs node (an IPFS node): Bitswap and the IPFS DHT only.
    pub ipfs: bool,
}

/// Sync progress as `getblockchaininfo` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SyncProgress {
    /// Still catching up with the peers' best chain.
    pub initial_download: bool,
    /// Highest block height announced by any peer (0 if none).
    pub best_peer_height: u64,
}

/// Whether peers can dial this node, as AutoNAT last found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reachability {
    /// Peers dialled one of our addresses back.
    Public,
    /// Peers tried and could not: behind NAT or a firewall.
    Private,
    /// Not known yet (no probe answered, or only private addresses and
    /// `--private-network=false`).
    #[default]
    Unknown,
}

impl Reachability {
    /// `public`, `private` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reachability::Public => "public",
            Reachability::Private => "private",
            Reachability::Unknown => "unknown",
        }
    }
}

/// One relay this node holds (or asks for) a reservation on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayReservation {
    /// The relay's peer id.
    pub relay: PeerId,
    /// Our relayed address through it (`…/p2p/RELAY/p2p-circuit/p2p/US`).
    pub addr: Multiaddr,
    /// The relay accepted the reservation (false while it is being asked for).
    pub reserved: bool,
}

/// Counts of hole punching (DCUtR) attempts since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HolePunchStats {
    /// Relayed connections that were upgraded to direct ones.
    pub direct_upgrades: u64,
    /// Attempts that failed (every address tried, three rounds).
    pub failures: u64,
}

/// What the event loop publishes for readers.
#[derive(Clone, Debug, Default)]
pub struct Shared {
    /// The local peer id.
    pub peer_id: Option<PeerId>,
    /// Addresses we listen on (with `/p2p/PEERID`).
    pub listen_addrs: Vec<Multiaddr>,
    /// Connected peers.
    pub peers: Vec<PeerInfo>,
    /// Sync progress.
    pub sync: SyncProgress,
    /// AutoNAT's verdict.
    pub reachability: Reachability,
    /// External addresses confirmed (by AutoNAT or a port mapping).
    pub external_addrs: Vec<Multiaddr>,
    /// Serving as a relay right now (`--relay-service` and found public).
    pub relay_service_active: bool,
    /// Reservations held on relays (behind NAT).
    pub relays: Vec<RelayReservation>,
    /// Hole punching counts.
    pub hole_punch: HolePunchStats,
    /// Port mappings on the router, one per protocol tried (`--upnp`, `--natpmp`).
    pub portmapping: Vec<crate::portmap::MappingState>,
}

/// `addnode`'s commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddNodeOp {
    /// Keep a connection to the peer.
    Add,
    /// Stop keeping it.
    Remove,
    /// Dial once.
    OneTry,
}

/// Commands to the event loop.
#[derive(Debug)]
pub(crate) enum Command {
    AddNode(Multiaddr, AddNodeOp, oneshot::Sender<Result<(), String>>),
    Disconnect(DisconnectTarget, oneshot::Sender<bool>),
    SetBan {
        subnet: Subnet,
        add: bool,
        until: u64,
        reply: oneshot::Sender<Result<(), String>>,
    },
    ListBanned(oneshot::Sender<Vec<(Subnet, BanEntry)>>),
    ClearBanned(oneshot::Sender<()>),
    TipChanged(BlockHash),
    AnnounceTx(Vec<u8>),
}

/// Whom `disconnectnode` means.
#[derive(Clone, Debug)]
pub enum DisconnectTarget {
    /// The node's number for the peer.
    Id(u64),
    /// The libp2p peer id.
    PeerId(PeerId),
    /// The remote address (multiaddr, possibly without port details).
    Addr(Multiaddr),
}

/// A handle on the running network.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) shared: Arc<RwLock<Shared>>,
    pub(crate) bantime: std::time::Duration,
    pub(crate) bitswap: Arc<crate::bitswap::Bitswap>,
}

impl Handle {
    /// The default ban time (`--bantime`).
    pub fn bantime(&self) -> std::time::Duration {
        self.bantime
    }

    /// The current facts.
    pub fn shared(&self) -> Shared {
        self.shared
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Tells the network the active tip moved (it relays blocks that did not come from the
    /// network and updates its status). Never blocks; dropped if the loop is swamped.
    pub fn tip_changed(&self, tip: BlockHash) {
        let _ = self.commands.try_send(Command::TipChanged(tip));
    }

    /// Relays a transaction the node accepted from a local client. Never blocks.
    pub fn announce_tx(&self, bytes: Vec<u8>) {
        let _ = self.commands.try_send(Command::AnnounceTx(bytes));
    }

    fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .blocking_send(make(tx))
            .map_err(|_| NetError::Stopped)?;
        rx.blocking_recv().map_err(|_| NetError::Stopped)
    }

    /// `addnode`. Call from a blocking thread.
    pub fn add_node(&self, addr: Multiaddr, op: AddNodeOp) -> Result<Result<(), String>, NetError> {
        self.ask(|r| Command::AddNode(addr, op, r))
    }

    /// `disconnectnode`: true if a peer was disconnected. Call from a blocking thread.
    pub fn disconnect(&self, target: DisconnectTarget) -> Result<bool, NetError> {
        self.ask(|r| Command::Disconnect(target, r))
    }

    /// `setban add|remove`. Call from a blocking thread.
    pub fn set_ban(
        &self,
        subnet: Subnet,
        add: bool,
        until: u64,
    ) -> Result<Result<(), String>, NetError> {
        self.ask(|reply| Command::SetBan {
            subnet,
            add,
            until,
            reply,
        })
    }

    /// `listbanned`. Call from a blocking thread.
    pub fn list_banned(&self) -> Result<Vec<(Subnet, BanEntry)>, NetError> {
        self.ask(Command::ListBanned)
    }

    /// Fetches the content behind a CID of the chain's form from the connected peers over
    /// Bitswap (the answer is checked against the digest). Call from a blocking thread.
    pub fn fetch_cid(
        &self,
        digest: coinrs_core::Hash,
        timeout: std::time::Duration,
    ) -> crate::bitswap::FetchOutcome {
        self.bitswap.fetch_blocking(digest, timeout)
    }

    /// What Bitswap served and fetched so far.
    pub fn bitswap_stats(&self) -> crate::bitswap::BitswapStats {
        self.bitswap.stats()
    }

    /// `clearbanned`. Call from a blocking thread.
    pub fn clear_banned(&self) -> Result<(), NetError> {
        self.ask(Command::ClearBanned)
    }
}
