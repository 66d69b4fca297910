//! The chain worker: one blocking thread that hands peers' headers, blocks and transactions
//! to the [`Backend`] in arrival order, and a serving thread that answers peers' requests
//! from the store. The event loop never waits on the chain: it sends jobs here and reads the
//! results back.
//!
//! After a run of jobs that may have changed the chain, once its queue is empty, the worker
//! sends a fresh [`Snapshot`] (our status and the next blocks to download), so the event loop
//! schedules downloads from current facts without asking.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use coinrs_core::block::BlockHeader;
use coinrs_core::{BlockHash, Txid};
use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use libp2p::request_response::ResponseChannel;
use tokio::sync::mpsc;

use crate::backend::{Backend, BlockVerdict, HeadersVerdict, TxVerdict};
use crate::protocol::{
    MAX_BLOCKS_REPLY_BYTES, MAX_HEADERS, MAX_MEMPOOL_IDS, NO_STOP, Request, Response, Status,
};

/// Longest time between snapshots while the worker is busy.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// How many blocks ahead of the tip the download window reaches.
pub const WINDOW: usize = 1024;

/// Work for the chain worker.
#[derive(Debug)]
pub(crate) enum Job {
    /// A peer's status: does it have headers we lack?
    PeerStatus { peer: PeerId, status: Status },
    /// A peer is ahead of us (it sent a block whose parent we lack): ask it for headers.
    Locator { peer: PeerId },
    /// Headers from a peer.
    Headers {
        peer: PeerId,
        headers: Vec<BlockHeader>,
    },
    /// A block from a peer (from gossip when `gossip` is set).
    Block {
        peer: PeerId,
        bytes: Vec<u8>,
        gossip: Option<MessageId>,
    },
    /// A transaction from a peer.
    Tx {
        peer: PeerId,
        bytes: Vec<u8>,
        gossip: Option<MessageId>,
    },
    /// Txids a peer has in its mempool: which do we lack?
    FilterTxids { peer: PeerId, txids: Vec<Txid> },
    /// A block of ours to relay.
    Announce(BlockHash),
    /// Send a snapshot.
    Refresh,
}

/// Results of the chain worker.
#[derive(Debug)]
pub(crate) enum Done {
    PeerStatus {
        peer: PeerId,
        /// Its best header is unknown to us: ask it for headers from this locator.
        locator: Option<Vec<BlockHash>>,
    },
    Headers {
        peer: PeerId,
        count: usize,
        verdict: HeadersVerdict,
        /// Where to continue from (a full locator when the headers did not connect).
        locator: Vec<BlockHash>,
    },
    Block {
        peer: PeerId,
        verdict: BlockVerdict,
        gossip: Option<MessageId>,
        /// Hash and height from the header, when there is one.
        hash: Option<BlockHash>,
        height: Option<u64>,
    },
    Tx {
        peer: PeerId,
        verdict: TxVerdict,
        gossip: Option<MessageId>,
    },
    UnknownTxids {
        peer: PeerId,
        txids: Vec<Txid>,
    },
    Announce(BlockHash, Option<Vec<u8>>),
    Snapshot(Snapshot),
}

/// Our status and what to download next.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub status: Status,
    pub missing: Vec<(BlockHash, u64)>,
    /// The newest blocks of the active chain (for IPFS provider records).
    pub recent: Vec<BlockHash>,
}

/// Blocks of the active chain each snapshot lists.
pub(crate) const SNAPSHOT_RECENT: usize = 64;

/// Runs the chain worker until the job channel closes.
pub(crate) fn run_chain_worker(
    backend: Arc<dyn Backend>,
    jobs: Receiver<Job>,
    done: mpsc::Sender<Done>,
) {
    let mut changed = true;
    let mut last_snapshot = Instant::now();
    let snapshot = |last: &mut Instant| {
        *last = Instant::now();
        Done::Snapshot(Snapshot {
            status: backend.status(),
            missing: backend.missing_blocks(WINDOW),
            recent: backend.recent_block_hashes(SNAPSHOT_RECENT),
        })
    };
    loop {
        // While blocks keep coming, a snapshot now and then all the same: the event loop's
        // view of the tip (progress, status pushes) must not wait for the queue to drain.
        if changed
            && last_snapshot.elapsed() >= SNAPSHOT_EVERY
            && done.blocking_send(snapshot(&mut last_snapshot)).is_err()
        {
            return;
        }
        let job = if changed {
            match jobs.try_recv() {
                Ok(j) => j,
                Err(TryRecvError::Empty) => {
                    changed = false;
                    if done.blocking_send(snapshot(&mut last_snapshot)).is_err() {
                        return;
                    }
                    continue;
                }
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match jobs.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        let out = match job {
            Job::PeerStatus { peer, status } => {
                let locator = (!backend.has_header(&status.best_header)).then(|| backend.locator());
                Done::PeerStatus { peer, locator }
            }
            Job::Locator { peer } => Done::PeerStatus {
                peer,
                locator: Some(backend.locator()),
            },
            Job::Headers { peer, headers } => {
                changed = true;
                let verdict = backend.accept_headers(&headers);
                let locator = match &verdict {
                    HeadersVerdict::Accepted { last, .. } => vec![*last],
                    _ => backend.locator(),
                };
                Done::Headers {
                    peer,
                    count: headers.len(),
                    verdict,
                    locator,
                }
            }
            Job::Block {
                peer,
                bytes,
                gossip,
            } => {
                changed = true;
                let height = (bytes.len() >= 96).then(|| {
                    let mut h = [0u8; 8];
                    h.copy_from_slice(&bytes[4..12]);
                    u64::from_le_bytes(h)
                });
                let hash = crate::protocol::block_hash_of(&bytes);
                let verdict = backend.accept_block(&bytes);
                Done::Block {
                    peer,
                    verdict,
                    gossip,
                    hash,
                    height,
                }
            }
            Job::Tx {
                peer,
                bytes,
                gossip,
            } => Done::Tx {
                peer,
                verdict: backend.accept_tx(&bytes),
                gossip,
            },
            Job::FilterTxids { peer, txids } => Done::UnknownTxids {
                peer,
                txids: txids.into_iter().filter(|t| !backend.has_tx(t)).collect(),
            },
            Job::Announce(hash) => Done::Announce(hash, backend.block_bytes(&hash)),
            Job::Refresh => {
                changed = true;
                continue;
            }
        };
        if done.blocking_send(out).is_err() {
            return;
        }
    }
}

/// A request to answer.
#[derive(Debug)]
pub(crate) struct ServeJob {
    pub peer: PeerId,
    pub request: Request,
    pub channel: ResponseChannel<Response>,
}

/// An answer ready to send.
#[derive(Debug)]
pub(crate) struct Served {
    pub peer: PeerId,
    pub response: Response,
    pub channel: ResponseChannel<Response>,
}

/// Runs the serving thread until the channel closes.
pub(crate) fn run_server(
    backend: Arc<dyn Backend>,
    jobs: Receiver<ServeJob>,
    done: mpsc::Sender<Served>,
) {
    while let Ok(job) = jobs.recv() {
        let response = answer(backend.as_ref(), job.request);
        let served = Served {
            peer: job.peer,
            response,
            channel: job.channel,
        };
        if done.blocking_send(served).is_err() {
            return;
        }
    }
}

/// The answer to one request (limits were checked before).
pub(crate) fn answer(backend: &dyn Backend, request: Request) -> Response {
    match request {
        Request::Status(_) => Response::Status(backend.status()),
        Request::GetHeaders { locator, stop } => {
            let headers = backend.headers_after(&locator, &stop, MAX_HEADERS);
            let headers = match headers
                .iter()
                .position(|h| stop != NO_STOP && h.hash() == stop)
            {
                Some(i) => headers[..=i].to_vec(),
                None => headers,
            };
            Response::Headers(headers)
        }
        Request::GetBlocks(hashes) => {
            let mut out = Vec::new();
            let mut bytes = 0;
            for h in hashes {
                if bytes >= MAX_BLOCKS_REPLY_BYTES {
                    break;
                }
                if let Some(b) = backend.block_bytes(&h) {
                    bytes += b.len();
                    out.push(b);
                }
            }
            Response::Blocks(out)
        }
        Request::GetMempool => Response::Mempool(backend.mempool_txids(MAX_MEMPOOL_IDS)),
        Request::GetTxs(txids) => {
            let mut out = Vec::new();
            let mut bytes = 0;
            for t in txids {
                if bytes >= MAX_BLOCKS_REPLY_BYTES {
                    break;
                }
                if let Some(b) = backend.tx_bytes(&t) {
                    bytes += b.len();
                    out.push(b);
                }
            }
            Response::Txs(out)
        }
    }
}

/// Sends `job` unless the queue is full (then it is dropped: the peer will ask again or
/// the block will be fetched again).
pub(crate) fn offer<T>(queue: &SyncSender<T>, job: T) -> bool {
    queue.try_send(job).is_ok()
}
