//! Block headers and blocks (PROTOCOL.md §1).

use borsh::{BorshDeserialize, BorshSerialize};

use crate::encode::{Decode, Reader, decode_vec, encode};
use crate::error::DecodeError;
use crate::hash::{BlockHash, Hash, sha256};
use crate::merkle;
use crate::transaction::Transaction;

/// The 96-byte header. Its first 64 bytes (version, height, prev_hash and the first 20 bytes
/// of merkle_root) are hashed once per template; a miner only re-hashes the last 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    /// Must be 1.
    pub version: u32,
    /// Height of this block (genesis is 0).
    pub height: u64,
    /// Hash of the parent header (all zero for genesis).
    pub prev_hash: BlockHash,
    /// Merkle root of the block's txids.
    pub merkle_root: Hash,
    /// Unix seconds.
    pub time: u64,
    /// Compact target.
    pub bits: u32,
    /// Free for the miner.
    pub nonce: u64,
}

/// A header and its transactions, the coinbase first.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions.
    pub transactions: Vec<Transaction>,
}

impl BlockHeader {
    /// Encoded size in bytes.
    pub const SIZE: usize = 96;

    /// The 96-byte encoding.
    pub fn to_bytes(&self) -> [u8; 96] {
        let mut out = [0u8; 96];
        out[0..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..12].copy_from_slice(&self.height.to_le_bytes());
        out[12..44].copy_from_slice(&self.prev_hash.0);
        out[44..76].copy_from_slice(&self.merkle_root);
        out[76..84].copy_from_slice(&self.time.to_le_bytes());
        out[84..88].copy_from_slice(&self.bits.to_le_bytes());
        out[88..96].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    /// `SHA256(borsh(header))`, also the proof-of-work hash.
    pub fn hash(&self) -> BlockHash {
        BlockHash(sha256(&self.to_bytes()))
    }
}

impl Block {
    /// The block hash (of its header).
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The Borsh encoding.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Encoded size, computed without encoding.
    pub fn encoded_size(&self) -> usize {
        BlockHeader::SIZE
            + 4
            + self
                .transactions
                .iter()
                .map(Transaction::encoded_size)
                .sum::<usize>()
    }

    /// The merkle root of this block's transactions (not the one in its header).
    pub fn compute_merkle_root(&self) -> Hash {
        let txids: Vec<Hash> = self.transactions.iter().map(|t| t.txid().0).collect();
        merkle::merkle_root(&txids)
    }
}

impl Decode for BlockHeader {
    const MIN_SIZE: usize = Self::SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHeader {
            version: r.u32()?,
            height: r.u64()?,
            prev_hash: BlockHash(r.array::<32>()?),
            merkle_root: r.array::<32>()?,
            time: r.u64()?,
            bits: r.u32()?,
            nonce: r.u64()?,
        })
    }
}

impl Decode for Block {
    const MIN_SIZE: usize = BlockHeader::SIZE + 4;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Block {
            header: BlockHeader::decode_from(r)?,
            transactions: decode_vec(r)?,
        })
    }
}
