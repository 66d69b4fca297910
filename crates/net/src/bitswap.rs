//! Bitswap 1.2.0 (and 1.1.0), the block exchange of IPFS, on `libp2p-stream`: any IPFS node
//! can fetch the chain's content from a coinrs node by CID, and `getcid` fetches what the
//! store lacks from connected peers (docs/ipfs.md, docs/adr/0008-bitswap.md).
//!
//! The wire format is Bitswap's: every message is a length-prefixed (unsigned varint)
//! protobuf `Message`, sent on a stream the sender opened; answers travel on streams the
//! answering side opens (that is where IPFS implementations read them). The content comes
//! from the node's store through [`Backend::content`]: block hash → the 96-byte header, txid
//! → the transaction, inner merkle node → its 64 bytes, recomputed from its block.
//!
//! Serving is bounded per peer: at most [`MAX_WANTS_PER_PEER`] wants wait to be served (the
//! rest of a larger wantlist is dropped, as IPFS nodes do, and the peer may ask again), at
//! most [`MAX_ENTRIES_PER_MESSAGE`] entries of a message are read, each for a CID of at most
//! [`MAX_CID_BYTES`] bytes (longer ones are ignored); wants are answered at
//! [`SERVE_PER_SEC`] answers and [`SERVE_BYTES_PER_SEC`] payload bytes a second after a burst
//! of [`SERVE_BURST`] answers and [`SERVE_BYTES_BURST`] bytes; a peer may send
//! [`MESSAGES_PER_SEC`] messages a second (burst [`MESSAGE_BURST`]) on at most
//! [`MAX_STREAMS_PER_PEER`] streams at once ([`MAX_STREAMS`] over all peers), messages of at
//! most [`MAX_MESSAGE_SIZE`] bytes; a message over the budget or not decodable is dropped with
//! a log line.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use asynchronous_codec::{FramedRead, FramedWrite};
use coinrs_core::cid::to_cid_bytes;
use coinrs_core::hash::{Hash, sha256};
use futures::{SinkExt, StreamExt};
use libp2p::{PeerId, StreamProtocol};
use tokio::sync::oneshot;

use crate::backend::Backend;
use crate::handle::Shared;

/// Bitswap 1.2.0: wants for a block or for its presence, and don't-have answers.
pub const PROTOCOL_1_2: StreamProtocol = StreamProtocol::new("/ipfs/bitswap/1.2.0");
/// Bitswap 1.1.0: blocks with their CID prefix, no presences.
pub const PROTOCOL_1_1: StreamProtocol = StreamProtocol::new("/ipfs/bitswap/1.1.0");
/// Largest message read or written (IPFS's own limit is 4 MiB).
pub const MAX_MESSAGE_SIZE: usize = 4 << 20;
/// Payload bytes packed into one answer before a new message is started.
const ANSWER_BYTES: usize = 1 << 20;
/// Wantlist entries read from one message (the rest are dropped).
pub const MAX_ENTRIES_PER_MESSAGE: usize = 2 * MAX_WANTS_PER_PEER;
/// Longest CID a want may name (a CIDv1 with a 64-byte digest takes about 70 bytes).
pub const MAX_CID_BYTES: usize = 128;
/// Wants of one peer waiting to be served.
pub const MAX_WANTS_PER_PEER: usize = 1024;
/// Answers (blocks, haves, don't-haves) per second to one peer, after the burst.
pub const SERVE_PER_SEC: f64 = 256.0;
/// Answers one peer gets at once.
pub const SERVE_BURST: f64 = 256.0;
/// Payload bytes per second to one peer, after the burst.
pub const SERVE_BYTES_PER_SEC: f64 = 4.0 * 1024.0 * 1024.0;
/// Payload bytes one peer gets at once.
pub const SERVE_BYTES_BURST: f64 = 8.0 * 1024.0 * 1024.0;
/// Messages per second one peer may send, after the burst.
pub const MESSAGES_PER_SEC: f64 = 50.0;
/// Messages one peer may send at once.
pub const MESSAGE_BURST: f64 = 200.0;
/// Inbound streams of one peer read at once.
pub const MAX_STREAMS_PER_PEER: usize = 8;
/// Inbound streams read at once over all peers (each may buffer up to a message).
pub const MAX_STREAMS: usize = 64;
/// An inbound stream with no message for this long is closed.
const STREAM_IDLE: Duration = Duration::from_secs(120);
/// How long opening a stream and writing a message may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Wants looked up in the store at a time.
const SERVE_BATCH: usize = 64;
/// The CID prefix of every coinrs id: CIDv1, raw, sha2-256, 32 bytes.
pub const CID_PREFIX: [u8; 4] = [0x01, 0x55, 0x12, 0x20];

/// Bitswap's protobuf `Message`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    /// Wants (and cancels) of the sender.
    #[prost(message, optional, tag = "1")]
    pub wantlist: Option<Wantlist>,
    /// Blocks of Bitswap 1.0.0 (without their CID): read, never written.
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub blocks: Vec<Vec<u8>>,
    /// Blocks with their CID prefix (1.1.0 and later).
    #[prost(message, repeated, tag = "3")]
    pub payload: Vec<Block>,
    /// Have / don't-have answers (1.2.0).
    #[prost(message, repeated, tag = "4")]
    pub block_presences: Vec<BlockPresence>,
    /// Bytes the sender still has queued for the receiver.
    #[prost(int32, tag = "5")]
    pub pending_bytes: i32,
}

/// A wantlist.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Wantlist {
    /// Wants and cancels.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<Entry>,
    /// This is the sender's whole wantlist: earlier wants not in it are withdrawn.
    #[prost(bool, tag = "2")]
    pub full: bool,
}

/// One want or cancel.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    /// The binary CID.
    #[prost(bytes = "vec", tag = "1")]
    pub block: Vec<u8>,
    /// Higher first (not used by coinrs, which serves in arrival order).
    #[prost(int32, tag = "2")]
    pub priority: i32,
    /// Withdraws an earlier want.
    #[prost(bool, tag = "3")]
    pub cancel: bool,
    /// [`WantType`].
    #[prost(enumeration = "WantType", tag = "4")]
    pub want_type: i32,
    /// Answer "don't have" rather than nothing.
    #[prost(bool, tag = "5")]
    pub send_dont_have: bool,
}

/// What a want asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WantType {
    /// The block itself.
    Block = 0,
    /// Only whether the peer has it.
    Have = 1,
}

/// A block with its CID prefix.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Block {
    /// CID version, codec, multihash code and length (varints).
    #[prost(bytes = "vec", tag = "1")]
    pub prefix: Vec<u8>,
    /// The content.
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// A have or don't-have answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockPresence {
    /// The binary CID.
    #[prost(bytes = "vec", tag = "1")]
    pub cid: Vec<u8>,
    /// [`PresenceType`].
    #[prost(enumeration = "PresenceType", tag = "2")]
    pub r#type: i32,
}

/// Have or don't-have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PresenceType {
    /// The peer has the block.
    Have = 0,
    /// The peer does not have it.
    DontHave = 1,
}

/// The codec of Bitswap streams: unsigned-varint length, then the protobuf.
pub fn codec() -> prost_codec::Codec<Message> {
    prost_codec::Codec::new(MAX_MESSAGE_SIZE)
}

/// The digest of a binary CID of the chain's form (`01 55 12 20 || digest`), if it is one.
pub fn digest_of(cid: &[u8]) -> Option<Hash> {
    if cid.len() != 36 || cid[..4] != CID_PREFIX {
        return None;
    }
    cid[4..].try_into().ok()
}

/// A want for one CID of the chain's form, asking for the block and a don't-have answer.
pub fn want_block(digest: &Hash) -> Entry {
    Entry {
        block: to_cid_bytes(digest).to_vec(),
        priority: 1,
        cancel: false,
        want_type: WantType::Block as i32,
        send_dont_have: true,
    }
}

/// Counts of what Bitswap did, for `getnetworkinfo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BitswapStats {
    /// Blocks sent to peers.
    pub blocks_sent: u64,
    /// Don't-have answers sent.
    pub dont_have_sent: u64,
    /// Wants dropped because a peer's queue was full.
    pub wants_dropped: u64,
    /// Messages dropped: over a peer's message budget, too large or not decodable.
    pub messages_dropped: u64,
    /// Blocks fetched from peers for `getcid`.
    pub blocks_fetched: u64,
}

/// What fetching a CID from the peers gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The content, checked against the digest, and the peer that sent it.
    Found(Vec<u8>, PeerId),
    /// Every asked peer said it does not have it (or there was no peer to ask).
    NotFound {
        /// Peers asked.
        asked: usize,
    },
    /// No answer with the content in time.
    TimedOut {
        /// Peers asked.
        asked: usize,
    },
}

/// One want waiting to be served.
#[derive(Clone, Debug)]
struct Want {
    cid: Vec<u8>,
    have_only: bool,
    send_dont_have: bool,
}

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Bucket {
            tokens: burst,
            rate,
            burst,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// Takes `n` tokens if there are that many.
    fn try_take(&mut self, n: f64) -> bool {
        self.refill();
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Takes `n` tokens (at most the burst), waiting for them.
    async fn take(&mut self, n: f64) {
        let n = n.min(self.burst);
        loop {
            self.refill();
            if self.tokens >= n {
                self.tokens -= n;
                return;
            }
            let wait = (n - self.tokens) / self.rate;
            tokio::time::sleep(Duration::from_secs_f64(wait.max(0.001))).await;
        }
    }
}

/// What the server keeps of one peer.
#[derive(Debug)]
struct PeerState {
    wants: VecDeque<Want>,
    queued: HashSet<Vec<u8>>,
    serving: bool,
    streams: usize,
    messages: Bucket,
}

impl PeerState {
    fn new() -> Self {
        PeerState {
            wants: VecDeque::new(),
            queued: HashSet::new(),
            serving: false,
            streams: 0,
            messages: Bucket::new(MESSAGES_PER_SEC, MESSAGE_BURST),
        }
    }

    fn idle(&self) -> bool {
        self.wants.is_empty() && !self.serving && self.streams == 0
    }
}

/// Where a fetch's answer goes: the content and who sent it, or `None` when nobody has it.
type Waiter = oneshot::Sender<Option<(Vec<u8>, PeerId)>>;

/// The answer stream to a peer, and whether it speaks 1.2.0.
type AnswerStream = (
    FramedWrite<libp2p::Stream, prost_codec::Codec<Message>>,
    bool,
);

/// A fetch waiting for its block.
#[derive(Debug)]
struct Fetch {
    waiters: Vec<Waiter>,
    asked: HashSet<PeerId>,
    refused: HashSet<PeerId>,
}

#[derive(Debug, Default)]
struct State {
    peers: HashMap<PeerId, PeerState>,
    /// Inbound streams being read, over all peers.
    streams: usize,
    fetches: HashMap<Hash, Fetch>,
    stats: BitswapStats,
}

impl State {
    /// `peer` lacks the block of a fetch (said don't-have, or could not be asked): when every
    /// asked peer did, the fetch ends with nothing.
    fn note_refusal(&mut self, digest: Hash, peer: PeerId) {
        if let Some(fetch) = self.fetches.get_mut(&digest) {
            fetch.refused.insert(peer);
            if fetch.refused.len() >= fetch.asked.len()
                && let Some(fetch) = self.fetches.remove(&digest)
            {
                for w in fetch.waiters {
                    let _ = w.send(None);
                }
            }
        }
    }
}

/// The Bitswap server and client of a node.
pub struct Bitswap {
    control: libp2p_stream::Control,
    backend: Arc<dyn Backend>,
    shared: Arc<RwLock<Shared>>,
    state: Mutex<State>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Bitswap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitswap").finish_non_exhaustive()
    }
}

impl Bitswap {
    /// Starts serving: registers both protocol versions on `control` and spawns their accept
    /// loops on the current runtime. `shared` gives the connected peers for fetches.
    pub fn start(
        mut control: libp2p_stream::Control,
        backend: Arc<dyn Backend>,
        shared: Arc<RwLock<Shared>>,
    ) -> Result<Arc<Self>, String> {
        let mut incoming = Vec::new();
        for protocol in [PROTOCOL_1_2, PROTOCOL_1_1] {
            incoming.push(
                control
                    .accept(protocol.clone())
                    .map_err(|e| format!("bitswap: {protocol}: {e}"))?,
            );
        }
        let this = Arc::new(Bitswap {
            control,
            backend,
            shared,
            state: Mutex::new(State::default()),
            runtime: tokio::runtime::Handle::current(),
        });
        for mut streams in incoming {
            let weak = Arc::downgrade(&this);
            tokio::spawn(async move {
                while let Some((peer, stream)) = streams.next().await {
                    let Some(this) = weak.upgrade() else { break };
                    this.on_stream(peer, stream);
                }
            });
        }
        Ok(this)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The counts so far.
    pub fn stats(&self) -> BitswapStats {
        self.state().stats
    }

    fn on_stream(self: &Arc<Self>, peer: PeerId, stream: libp2p::Stream) {
        {
            let mut st = self.state();
            if st.streams >= MAX_STREAMS {
                tracing::debug!(%peer, "bitswap: too many inbound streams, one refused");
                return;
            }
            let p = st.peers.entry(peer).or_insert_with(PeerState::new);
            if p.streams >= MAX_STREAMS_PER_PEER {
                tracing::debug!(%peer, "bitswap: too many streams from the peer, one refused");
                return;
            }
            p.streams += 1;
            st.streams += 1;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut frames = FramedRead::new(stream, codec());
            loop {
                match tokio::time::timeout(STREAM_IDLE, frames.next()).await {
                    Ok(Some(Ok(message))) => this.on_message(peer, message),
                    Ok(Some(Err(e))) => {
                        tracing::info!(%peer, error = %e, "bitswap: bad message from the peer, stream closed");
                        this.state().stats.messages_dropped += 1;
                        break;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let mut st = this.state();
            st.streams -= 1;
            if let Some(p) = st.peers.get_mut(&peer) {
                p.streams -= 1;
                if p.idle() {
                    st.peers.remove(&peer);
                }
            }
        });
    }

    fn on_message(self: &Arc<Self>, peer: PeerId, message: Message) {
        let mut st = self.state();
        let allowed = st
            .peers
            .entry(peer)
            .or_insert_with(PeerState::new)
            .messages
            .try_take(1.0);
        if !allowed {
            st.stats.messages_dropped += 1;
            tracing::info!(%peer, "bitswap: the peer sends messages faster than allowed, one dropped");
            return;
        }
        // Blocks and presences: answers to our fetches.
        let mut found = Vec::new();
        for block in message.payload {
            if block.prefix == CID_PREFIX {
                found.push(block.data);
            }
        }
        found.extend(message.blocks);
        for data in found {
            let digest = sha256(&data);
            if let Some(fetch) = st.fetches.remove(&digest) {
                st.stats.blocks_fetched += 1;
                tracing::debug!(%peer, len = data.len(), "bitswap: fetched a block");
                for w in fetch.waiters {
                    let _ = w.send(Some((data.clone(), peer)));
                }
                let others: Vec<PeerId> = fetch.asked.into_iter().filter(|p| *p != peer).collect();
                if !others.is_empty() {
                    self.send_cancels(digest, others);
                }
            }
        }
        for presence in message.block_presences {
            if presence.r#type != PresenceType::DontHave as i32 {
                continue;
            }
            let Some(digest) = digest_of(&presence.cid) else {
                continue;
            };
            if st
                .fetches
                .get(&digest)
                .is_some_and(|f| f.asked.contains(&peer))
            {
                st.note_refusal(digest, peer);
            }
        }
        // Wants: queue them for the serving task.
        let Some(wantlist) = message.wantlist else {
            return;
        };
        let st = &mut *st;
        let p = st.peers.entry(peer).or_insert_with(PeerState::new);
        if wantlist.full {
            p.wants.clear();
            p.queued.clear();
        }
        let total = wantlist.entries.len();
        // Entries past the cap are not read: a cancel costs a pass over the queue, so an
        // endless want/cancel list would cost CPU for nothing.
        let mut dropped = total.saturating_sub(MAX_ENTRIES_PER_MESSAGE) as u64;
        let mut oversized = 0u64;
        for e in wantlist.entries.into_iter().take(MAX_ENTRIES_PER_MESSAGE) {
            // No CID is this long; queuing such "CIDs" would let a peer hold megabytes.
            if e.block.len() > MAX_CID_BYTES {
                oversized += 1;
                continue;
            }
            if e.cancel {
                if p.queued.remove(&e.block) {
                    p.wants.retain(|w| w.cid != e.block);
                }
                continue;
            }
            if p.queued.contains(&e.block) {
                continue;
            }
            if p.wants.len() >= MAX_WANTS_PER_PEER {
                dropped += 1;
                continue;
            }
            p.queued.insert(e.block.clone());
            p.wants.push_back(Want {
                cid: e.block,
                have_only: e.want_type == WantType::Have as i32,
                send_dont_have: e.send_dont_have,
            });
        }
        if oversized > 0 {
            st.stats.wants_dropped += oversized;
            tracing::info!(%peer, oversized, limit = MAX_CID_BYTES, "bitswap: wants for CIDs longer than any CID ignored");
        }
        if dropped > 0 {
            st.stats.wants_dropped += dropped;
            tracing::info!(%peer, dropped, limit = MAX_WANTS_PER_PEER, "bitswap: the peer's wantlist is over the limit, wants dropped");
        }
        if !p.wants.is_empty() && !p.serving {
            p.serving = true;
            let this = Arc::clone(self);
            tokio::spawn(async move { this.serve(peer).await });
        }
    }

    /// Answers one peer's wants until its queue is empty, within its rate limits.
    async fn serve(self: Arc<Self>, peer: PeerId) {
        let mut answers = Bucket::new(SERVE_PER_SEC, SERVE_BURST);
        let mut bytes = Bucket::new(SERVE_BYTES_PER_SEC, SERVE_BYTES_BURST);
        let mut out: Option<AnswerStream> = None;
        loop {
            let batch: Vec<Want> = {
                let mut st = self.state();
                let Some(p) = st.peers.get_mut(&peer) else {
                    return;
                };
                let n = p.wants.len().min(SERVE_BATCH);
                if n == 0 {
                    p.serving = false;
                    if p.idle() {
                        st.peers.remove(&peer);
                    }
                    return;
                }
                let batch: Vec<Want> = p.wants.drain(..n).collect();
                for w in &batch {
                    p.queued.remove(&w.cid);
                }
                batch
            };
            let backend = Arc::clone(&self.backend);
            let lookups: Vec<Option<Hash>> = batch.iter().map(|w| digest_of(&w.cid)).collect();
            let contents = match tokio::task::spawn_blocking(move || {
                lookups
                    .into_iter()
                    .map(|d| d.and_then(|d| backend.content(&d)))
                    .collect::<Vec<_>>()
            })
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "bitswap: store lookup failed");
                    continue;
                }
            };
            let mut messages = vec![Message::default()];
            let (mut sent_blocks, mut sent_dont_have) = (0u64, 0u64);
            for (want, content) in batch.into_iter().zip(contents) {
                answers.take(1.0).await;
                let msg = messages.last_mut().expect("never empty");
                match content {
                    Some(data) if !want.have_only => {
                        bytes.take(data.len() as f64).await;
                        let size: usize = msg.payload.iter().map(|b| b.data.len()).sum();
                        let block = Block {
                            prefix: CID_PREFIX.to_vec(),
                            data,
                        };
                        sent_blocks += 1;
                        if size > 0 && size + block.data.len() > ANSWER_BYTES {
                            messages.push(Message {
                                payload: vec![block],
                                ..Message::default()
                            });
                        } else {
                            msg.payload.push(block);
                        }
                    }
                    Some(_) => msg.block_presences.push(BlockPresence {
                        cid: want.cid,
                        r#type: PresenceType::Have as i32,
                    }),
                    None if want.send_dont_have => {
                        sent_dont_have += 1;
                        msg.block_presences.push(BlockPresence {
                            cid: want.cid,
                            r#type: PresenceType::DontHave as i32,
                        });
                    }
                    None => {}
                }
            }
            let mut failed = None;
            for message in messages {
                if message.payload.is_empty() && message.block_presences.is_empty() {
                    continue;
                }
                if let Err(e) = self.send(peer, &mut out, message).await {
                    failed = Some(e);
                    break;
                }
            }
            let mut st = self.state();
            if let Some(e) = failed {
                // The peer is gone or refuses our streams: forget its wants rather than
                // dialling it again for each batch.
                tracing::debug!(%peer, error = %e, "bitswap: could not answer the peer; its wants are dropped");
                if let Some(p) = st.peers.get_mut(&peer) {
                    p.wants.clear();
                    p.queued.clear();
                }
                out = None;
                continue;
            }
            st.stats.blocks_sent += sent_blocks;
            st.stats.dont_have_sent += sent_dont_have;
        }
    }

    /// Writes a message on the peer's answer stream, opening one (1.2.0, else 1.1.0) if
    /// needed. Presences are left out for a 1.1.0 peer.
    async fn send(
        &self,
        peer: PeerId,
        out: &mut Option<AnswerStream>,
        mut message: Message,
    ) -> Result<(), String> {
        if out.is_none() {
            *out = Some(self.open(peer).await?);
        }
        let (sink, v12) = out.as_mut().expect("just opened");
        if !*v12 {
            message.block_presences.clear();
            if message.payload.is_empty() {
                return Ok(());
            }
        }
        tokio::time::timeout(SEND_TIMEOUT, sink.send(message))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())
    }

    async fn open(&self, peer: PeerId) -> Result<AnswerStream, String> {
        let mut control = self.control.clone();
        let mut last = String::new();
        for (protocol, v12) in [(PROTOCOL_1_2, true), (PROTOCOL_1_1, false)] {
            match tokio::time::timeout(SEND_TIMEOUT, control.open_stream(peer, protocol)).await {
                Ok(Ok(stream)) => return Ok((FramedWrite::new(stream, codec()), v12)),
                Ok(Err(libp2p_stream::OpenStreamError::UnsupportedProtocol(p))) => {
                    last = format!("does not speak {p}");
                }
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err("timed out opening a stream".into()),
            }
        }
        Err(last)
    }

    /// Sends one message on a new stream and closes it.
    async fn send_once(&self, peer: PeerId, message: Message) -> Result<(), String> {
        let mut out = None;
        self.send(peer, &mut out, message).await?;
        if let Some((mut sink, _)) = out {
            let _ = sink.close().await;
        }
        Ok(())
    }

    fn send_cancels(self: &Arc<Self>, digest: Hash, peers: Vec<PeerId>) {
        for peer in peers {
            let this = Arc::clone(self);
            tokio::spawn(async move {
                let mut entry = want_block(&digest);
                entry.cancel = true;
                let message = Message {
                    wantlist: Some(Wantlist {
                        entries: vec![entry],
                        full: false,
                    }),
                    ..Message::default()
                };
                let _ = this.send_once(peer, message).await;
            });
        }
    }

    /// Asks every connected peer for the content behind `digest` and waits for the first
    /// block whose hash matches, until every peer said it lacks it or `timeout` passed.
    pub async fn fetch(self: &Arc<Self>, digest: Hash, timeout: Duration) -> FetchOutcome {
        let peers: Vec<PeerId> = {
            let shared = self.shared.read().unwrap_or_else(|p| p.into_inner());
            let mut seen = HashSet::new();
            shared
                .peers
                .iter()
                .map(|p| p.peer_id)
                .filter(|p| seen.insert(*p))
                .collect()
        };
        if peers.is_empty() {
            return FetchOutcome::NotFound { asked: 0 };
        }
        let (tx, rx) = oneshot::channel();
        let new_peers: Vec<PeerId> = {
            let mut st = self.state();
            let fetch = st.fetches.entry(digest).or_insert_with(|| Fetch {
                waiters: Vec::new(),
                asked: HashSet::new(),
                refused: HashSet::new(),
            });
            fetch.waiters.push(tx);
            peers
                .into_iter()
                .filter(|p| fetch.asked.insert(*p))
                .collect()
        };
        let asked = {
            let st = self.state();
            st.fetches.get(&digest).map_or(0, |f| f.asked.len())
        };
        tracing::debug!(peers = asked, "bitswap: asking peers for a CID");
        for peer in new_peers {
            let this = Arc::clone(self);
            tokio::spawn(async move {
                let message = Message {
                    wantlist: Some(Wantlist {
                        entries: vec![want_block(&digest)],
                        full: false,
                    }),
                    ..Message::default()
                };
                if let Err(e) = this.send_once(peer, message).await {
                    tracing::debug!(%peer, error = %e, "bitswap: could not ask the peer");
                    this.refused(digest, peer);
                }
            });
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Some((data, peer)))) => FetchOutcome::Found(data, peer),
            Ok(Ok(None)) | Ok(Err(_)) => FetchOutcome::NotFound { asked },
            Err(_) => {
                let mut st = self.state();
                if let Some(f) = st.fetches.get_mut(&digest) {
                    f.waiters.retain(|w| !w.is_closed());
                    if f.waiters.is_empty() {
                        st.fetches.remove(&digest);
                    }
                }
                FetchOutcome::TimedOut { asked }
            }
        }
    }

    /// A peer that cannot answer counts as one that lacks the block.
    fn refused(&self, digest: Hash, peer: PeerId) {
        self.state().note_refusal(digest, peer);
    }

    /// [`Bitswap::fetch`] from a blocking thread (the RPC methods run on one).
    pub fn fetch_blocking(self: &Arc<Self>, digest: Hash, timeout: Duration) -> FetchOutcome {
        let (tx, rx) = std::sync::mpsc::channel();
        let this = Arc::clone(self);
        self.runtime.spawn(async move {
            let _ = tx.send(this.fetch(digest, timeout).await);
        });
        rx.recv().unwrap_or(FetchOutcome::TimedOut { asked: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn message_round_trips_and_matches_the_protobuf_wire_format() {
        let digest = sha256(b"header");
        let m = Message {
            wantlist: Some(Wantlist {
                entries: vec![want_block(&digest)],
                full: false,
            }),
            ..Message::default()
        };
        let bytes = m.encode_to_vec();
        // Field 1 (wantlist, length-delimited), inside it field 1 (entry), inside that field
        // 1 (block): the 36-byte CID.
        assert_eq!(bytes[0], 0x0a);
        assert_eq!(&bytes[4..6], &[0x0a, 36]);
        assert_eq!(&bytes[6..10], &CID_PREFIX);
        assert_eq!(Message::decode(bytes.as_slice()).unwrap(), m);
    }

    #[test]
    fn only_the_chain_s_cid_form_has_a_digest() {
        let d = sha256(b"x");
        assert_eq!(digest_of(&to_cid_bytes(&d)), Some(d));
        let mut other = to_cid_bytes(&d);
        other[1] = 0x70; // dag-pb
        assert_eq!(digest_of(&other), None);
        assert_eq!(digest_of(&to_cid_bytes(&d)[..35]), None);
    }

    #[tokio::test]
    async fn bucket_waits_for_tokens_after_the_burst() {
        let mut b = Bucket::new(1000.0, 5.0);
        assert!(b.try_take(5.0));
        assert!(!b.try_take(5.0));
        let start = Instant::now();
        b.take(5.0).await;
        assert!(start.elapsed() >= Duration::from_millis(4));
    }
}
