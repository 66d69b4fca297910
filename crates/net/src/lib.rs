//! # coinrs-net
//!
//! The peer-to-peer network of a coinrs node, on libp2p: TCP (noise, yamux) and QUIC
//! transports; identify and ping; a request-response protocol for the status exchange,
//! headers-first sync, block download and mempool fetch ([`protocol`]); gossipsub relay of
//! new blocks and transactions, forwarded only after validation; Kademlia discovery and mDNS
//! on a local network; bans of misbehaving peers' IP addresses; known peers remembered across
//! restarts.
//!
//! What it owns: the swarm, the peer table, the download scheduler, the ban list
//! (`banlist.json`), the address book (`peers.json`) and the node key (`p2p.key`), all in
//! the chain folder. What it must never do: lock the chain or the mempool itself, or judge a
//! block or transaction by its own rules: it reaches both only through the [`Backend`] trait
//! the node implements, from worker threads.
//!
//! Tasks and channels:
//! - the event loop ([`service`]): one tokio task owning the swarm; reads commands from the
//!   [`Handle`] (bounded), results of the chain worker and answers of the serving thread;
//! - the chain worker thread: headers, blocks and transactions in arrival order through the
//!   backend, then a snapshot of the status and the blocks to download;
//! - the serving thread: answers peers' headers, blocks and mempool requests from the store;
//! - Bitswap ([`bitswap`]): tasks of their own on `libp2p-stream`, serving the store's
//!   content by CID to any IPFS node and fetching CIDs for `getcid`.

pub mod addrbook;
pub mod backend;
pub mod ban;
pub mod behaviour;
pub mod bitswap;
pub mod config;
pub mod error;
pub mod gate;
pub mod handle;
pub mod keyfile;
pub mod portmap;
pub mod protocol;
pub mod relay_server;
pub mod service;
mod worker;

pub use backend::{Backend, BlockVerdict, HeadersVerdict, TxVerdict};
pub use bitswap::{BitswapStats, FetchOutcome};
pub use config::{NetConfig, parse_peer_addr};
pub use error::NetError;
pub use handle::{
    AddNodeOp, DisconnectTarget, Handle, HolePunchStats, PeerInfo, Reachability, RelayReservation,
    Shared, SyncProgress,
};
pub use libp2p::{Multiaddr, PeerId};
pub use service::start;
