//! The coinrs wire protocol: protocol names, messages, size limits and the codec.
//!
//! Two kinds of traffic: request-response on one protocol (`/coinrs/<genesis>/sync/1`) for
//! the status exchange, headers-first sync, block download and mempool fetch; and gossipsub
//! topics for relaying new blocks and transactions. Every name carries the genesis hash, so
//! nodes of different chains never negotiate a protocol with each other; the status message
//! carries the digest of all consensus parameters (PROTOCOL.md §5), checked before anything
//! else is exchanged.
//!
//! Messages are Borsh (like the consensus objects); a frame on the wire is a `u32`
//! little-endian length and that many bytes. A frame over the limit of its kind is refused
//! before it is read, and the sender counts as misbehaving.

use std::io;

use borsh::{BorshDeserialize, BorshSerialize};
use coinrs_core::block::BlockHeader;
use coinrs_core::{BlockHash, Txid};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// Most headers in one `Headers` reply.
pub const MAX_HEADERS: usize = 2000;
/// Most block hashes in one `GetBlocks` request.
pub const MAX_BLOCKS_PER_REQUEST: usize = 16;
/// A `Blocks` reply stops adding blocks once it holds this many bytes (it always holds at
/// least the first block asked for that the server has).
pub const MAX_BLOCKS_REPLY_BYTES: usize = 4 * 1024 * 1024;
/// Most hashes in a block locator.
pub const MAX_LOCATOR: usize = 101;
/// Most txids in one `GetTxs` request.
pub const MAX_TXS_PER_REQUEST: usize = 1000;
/// Most txids in a `Mempool` reply.
pub const MAX_MEMPOOL_IDS: usize = 50_000;
/// Largest request frame: a full locator or txid list with room to spare.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest response frame: a blocks reply at its byte limit plus one maximal block.
pub const MAX_RESPONSE_BYTES: usize = MAX_BLOCKS_REPLY_BYTES + 1_100_000;
/// Largest gossip message: one block of the chain's maximum size with room for the framing.
pub const MAX_GOSSIP_BYTES: usize = 1_100_000;

/// The hash of an encoded block, from its first 96 bytes (the header), without decoding the
/// rest; `None` when the bytes are shorter than a header.
pub fn block_hash_of(bytes: &[u8]) -> Option<BlockHash> {
    let header = bytes.get(..coinrs_core::block::BlockHeader::SIZE)?;
    Some(BlockHash(coinrs_core::hash::sha256(header)))
}

/// The size of a message on the wire (its frame's length prefix included), for the
/// per-peer traffic counters.
pub fn wire_size<M: BorshSerialize>(msg: &M) -> u64 {
    borsh::object_length(msg).map_or(0, |n| n as u64 + 4)
}

/// The `stop` of a `GetHeaders` that asks for as many headers as the reply may hold.
pub const NO_STOP: BlockHash = BlockHash([0; 32]);

/// The lower-case hex of the genesis hash, as used in every protocol name and topic.
pub fn chain_tag(genesis: &BlockHash) -> String {
    hex::encode(genesis.0)
}

/// The request-response protocol of a chain.
pub fn sync_protocol(genesis: &BlockHash) -> StreamProtocol {
    StreamProtocol::try_from_owned(format!("/coinrs/{}/sync/1", chain_tag(genesis)))
        .expect("starts with a slash")
}

/// The Kademlia protocol of a chain (separate from the public IPFS DHT).
pub fn kad_protocol(genesis: &BlockHash) -> StreamProtocol {
    StreamProtocol::try_from_owned(format!("/coinrs/{}/kad/1", chain_tag(genesis)))
        .expect("starts with a slash")
}

/// The identify protocol version string of a chain.
pub fn identify_version(genesis: &BlockHash) -> String {
    format!("/coinrs/{}/1", chain_tag(genesis))
}

/// The gossipsub protocol prefix of a chain.
pub fn gossip_prefix(genesis: &BlockHash) -> String {
    format!("/coinrs/{}/meshsub", chain_tag(genesis))
}

/// The gossip topic of new blocks.
pub fn blocks_topic(genesis: &BlockHash) -> String {
    format!("/coinrs/{}/blocks", chain_tag(genesis))
}

/// The gossip topic of new transactions.
pub fn txs_topic(genesis: &BlockHash) -> String {
    format!("/coinrs/{}/txs", chain_tag(genesis))
}

/// What a node says about itself on connect and when asked again.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Status {
    /// Digest of all consensus parameters (PROTOCOL.md §5): a mismatch ends the connection.
    pub params_digest: [u8; 32],
    /// The genesis block hash (the chain id).
    pub genesis: BlockHash,
    /// The active tip.
    pub tip: BlockHash,
    /// Its height.
    pub height: u64,
    /// Its timestamp.
    pub tip_time: u64,
    /// Its chainwork, big-endian.
    pub chainwork: [u8; 32],
    /// The most-work header the node knows (it may not have the blocks yet).
    pub best_header: BlockHash,
    /// Its height.
    pub best_header_height: u64,
}

/// A request on the sync protocol.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Request {
    /// The asker's status; answered with the server's.
    Status(Status),
    /// Headers of the server's active chain after the first locator hash it has on that
    /// chain (genesis when none), up to `MAX_HEADERS` or up to and including `stop`.
    GetHeaders {
        /// Hashes from the asker's best header back to genesis, dense then sparse.
        locator: Vec<BlockHash>,
        /// Where to stop ([`NO_STOP`]: no stop).
        stop: BlockHash,
    },
    /// Full blocks by hash (at most `MAX_BLOCKS_PER_REQUEST`).
    GetBlocks(Vec<BlockHash>),
    /// The txids of the server's mempool.
    GetMempool,
    /// Mempool transactions by txid (at most `MAX_TXS_PER_REQUEST`).
    GetTxs(Vec<Txid>),
}

/// A response on the sync protocol.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Response {
    /// The server's status.
    Status(Status),
    /// Consecutive headers, each the child of the one before.
    Headers(Vec<BlockHeader>),
    /// Encoded blocks, in the order asked, skipping those the server does not have.
    Blocks(Vec<Vec<u8>>),
    /// Txids of the mempool.
    Mempool(Vec<Txid>),
    /// Encoded transactions, skipping those no longer in the mempool.
    Txs(Vec<Vec<u8>>),
    /// The request was refused (it broke a limit); the reason says which.
    Refused(String),
}

impl Request {
    /// Checks the counts a peer may ask for; `Err` names the limit broken.
    pub fn check_limits(&self) -> Result<(), String> {
        match self {
            Request::GetHeaders { locator, .. } if locator.len() > MAX_LOCATOR => Err(format!(
                "locator of {} hashes (limit {MAX_LOCATOR})",
                locator.len()
            )),
            Request::GetBlocks(h) if h.len() > MAX_BLOCKS_PER_REQUEST => Err(format!(
                "{} blocks asked (limit {MAX_BLOCKS_PER_REQUEST})",
                h.len()
            )),
            Request::GetTxs(t) if t.len() > MAX_TXS_PER_REQUEST => Err(format!(
                "{} transactions asked (limit {MAX_TXS_PER_REQUEST})",
                t.len()
            )),
            _ => Ok(()),
        }
    }

    /// A short name for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Status(_) => "status",
            Request::GetHeaders { .. } => "getheaders",
            Request::GetBlocks(_) => "getblocks",
            Request::GetMempool => "getmempool",
            Request::GetTxs(_) => "gettxs",
        }
    }
}

/// The marker of a frame that broke a size limit or did not decode: the peer misbehaved.
/// Carried as the inner error of an `io::Error` of kind `InvalidData`.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is over the limit.
    #[error("frame of {got} bytes over the limit of {limit}")]
    Oversized {
        /// Announced length.
        got: usize,
        /// The limit for this kind of frame.
        limit: usize,
    },
    /// The bytes are not a valid message.
    #[error("message does not decode: {0}")]
    Malformed(String),
}

/// Whether an I/O error of a stream is a peer's fault (a [`FrameError`]).
pub fn frame_error(e: &io::Error) -> Option<&FrameError> {
    e.get_ref()?.downcast_ref::<FrameError>()
}

/// Reads one frame: `Ok(Err(_))` when the peer sent a frame over `limit` (not read) or bytes
/// that do not decode; `Err` for a broken stream.
async fn read_frame<T, M>(io: &mut T, limit: usize) -> io::Result<Result<M, FrameError>>
where
    T: AsyncRead + Unpin + Send,
    M: BorshDeserialize,
{
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > limit {
        return Ok(Err(FrameError::Oversized { got: len, limit }));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(borsh::from_slice(&buf).map_err(|e| FrameError::Malformed(e.to_string())))
}

/// A response frame, with a peer's fault turned into an error the behaviour reports.
async fn read_response_frame<T>(io: &mut T) -> io::Result<Response>
where
    T: AsyncRead + Unpin + Send,
{
    read_frame(io, MAX_RESPONSE_BYTES)
        .await?
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A request as it came off the wire. libp2p's request-response drops a request that fails
/// to read without telling the behaviour, so a bad frame is delivered as `Bad` and the event
/// loop can hold the sender to account.
#[derive(Debug)]
pub enum Inbound {
    /// A well-formed request.
    Request(Request),
    /// A frame over the size limit or that does not decode.
    Bad(FrameError),
}

impl From<Request> for Inbound {
    fn from(r: Request) -> Self {
        Inbound::Request(r)
    }
}

async fn write_frame<T, M>(io: &mut T, msg: &M) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
    M: BorshSerialize,
{
    let bytes = borsh::to_vec(msg)?;
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too large"))?;
    io.write_all(&len.to_le_bytes()).await?;
    io.write_all(&bytes).await?;
    io.close().await
}

/// The request-response codec of the sync protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncCodec;

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Inbound;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Inbound>
    where
        T: AsyncRead + Unpin + Send,
    {
        Ok(match read_frame(io, MAX_REQUEST_BYTES).await? {
            Ok(r) => Inbound::Request(r),
            Err(e) => Inbound::Bad(e),
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_response_frame(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Inbound,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            Inbound::Request(r) => write_frame(io, &r).await,
            Inbound::Bad(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    fn status() -> Status {
        Status {
            params_digest: [1; 32],
            genesis: BlockHash([2; 32]),
            tip: BlockHash([3; 32]),
            height: 7,
            tip_time: 8,
            chainwork: [4; 32],
            best_header: BlockHash([5; 32]),
            best_header_height: 9,
        }
    }

    #[test]
    fn a_request_survives_the_wire() {
        let req = Request::GetHeaders {
            locator: vec![BlockHash([9; 32]); 3],
            stop: BlockHash([0; 32]),
        };
        let mut buf = Vec::new();
        block_on(write_frame(&mut Cursor::new(&mut buf), &req)).unwrap();
        let back: Request = block_on(read_frame(&mut Cursor::new(&buf), MAX_REQUEST_BYTES))
            .unwrap()
            .unwrap();
        assert_eq!(back, req);
        let res = Response::Status(status());
        let mut buf = Vec::new();
        block_on(write_frame(&mut Cursor::new(&mut buf), &res)).unwrap();
        let back: Response = block_on(read_response_frame(&mut Cursor::new(&buf))).unwrap();
        assert_eq!(back, res);
    }

    #[test]
    fn refuses_an_oversized_frame_before_reading_it() {
        let mut buf = ((MAX_REQUEST_BYTES + 1) as u32).to_le_bytes().to_vec();
        buf.extend([0u8; 16]);
        let err = block_on(read_frame::<_, Request>(
            &mut Cursor::new(&buf),
            MAX_REQUEST_BYTES,
        ))
        .unwrap()
        .unwrap_err();
        assert!(matches!(
            err,
            FrameError::Oversized { got, .. } if got == MAX_REQUEST_BYTES + 1
        ));
        // A response over its limit is an I/O error that names the fault.
        let mut buf = ((MAX_RESPONSE_BYTES + 1) as u32).to_le_bytes().to_vec();
        buf.extend([0u8; 16]);
        let err = block_on(read_response_frame(&mut Cursor::new(&buf))).unwrap_err();
        assert!(matches!(
            frame_error(&err),
            Some(FrameError::Oversized { .. })
        ));
    }

    #[test]
    fn refuses_garbage_as_malformed() {
        let mut buf = 3u32.to_le_bytes().to_vec();
        buf.extend([200u8, 1, 2]);
        let err = block_on(read_frame::<_, Request>(
            &mut Cursor::new(&buf),
            MAX_REQUEST_BYTES,
        ))
        .unwrap()
        .unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)));
    }

    #[test]
    fn limits_name_the_count_broken() {
        assert!(
            Request::GetBlocks(vec![BlockHash([0; 32]); 17])
                .check_limits()
                .is_err()
        );
        assert!(
            Request::GetBlocks(vec![BlockHash([0; 32]); 16])
                .check_limits()
                .is_ok()
        );
        assert!(
            Request::GetTxs(vec![Txid([0; 32]); 1001])
                .check_limits()
                .is_err()
        );
        let locator = vec![BlockHash([0; 32]); MAX_LOCATOR + 1];
        let req = Request::GetHeaders {
            locator,
            stop: BlockHash([0; 32]),
        };
        assert!(req.check_limits().unwrap_err().contains("locator"));
    }

    #[test]
    fn names_carry_the_genesis_hash() {
        let g = BlockHash([0xab; 32]);
        assert!(sync_protocol(&g).as_ref().contains(&"ab".repeat(32)));
        assert_ne!(sync_protocol(&g), sync_protocol(&BlockHash([0xac; 32])));
        assert!(blocks_topic(&g).ends_with("/blocks"));
    }
}
