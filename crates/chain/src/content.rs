//! The content behind a CID (PROTOCOL.md §2), from the store without a second copy of the
//! chain: a block hash gives the block's 96-byte header (from the block index), a txid the
//! transaction's encoding (transaction index, then the stored block), an inner merkle node
//! its 64 bytes `left || right`, recomputed from its block.
//!
//! Inner merkle nodes are found through the `merkle_nodes` table (node hash → block, level,
//! position), kept only with [`crate::ChainOptions::merkle_index`]: written in the same
//! transaction as a block's connection and removed at its disconnection, like the
//! transaction index, so it covers exactly the active chain. A marker in the chain state's
//! meta table says the table is complete; a chain state opened with the option and without the
//! marker (never kept, or kept and then opened without the option) has the table rebuilt from
//! the active chain at open, with a progress line. Without the option, a digest that is
//! neither a known header nor an indexed transaction cannot be answered (it may be a merkle
//! node) and [`Chain::content`] says so instead of answering "unknown".

use std::path::Path;
use std::time::Instant;

use coinrs_core::block::Block;
use coinrs_core::hash::{Hash, sha256};
use coinrs_core::merkle::{InnerNode, inner_nodes, merkle_levels};
use coinrs_core::{BlockHash, Txid};
use redb::{ReadableDatabase, WriteTransaction};

use crate::error::{ChainError, Result};
use crate::state::Chain;
use crate::store::{At, KEY_MERKLE_INDEX, MERKLE, META, storage_error};

/// Blocks per write transaction while the index is rebuilt at open.
const BUILD_BATCH: usize = 500;

/// What a CID's digest names in this chain state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentKind {
    /// A block header (96 bytes).
    Header,
    /// A transaction of the active chain.
    Transaction,
    /// An inner merkle node of a block of the active chain (64 bytes).
    MerkleNode,
}

impl ContentKind {
    /// The name used in logs and RPC answers.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Header => "header",
            ContentKind::Transaction => "transaction",
            ContentKind::MerkleNode => "merkle node",
        }
    }
}

fn encode_location(block: &BlockHash, node: &InnerNode) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..32].copy_from_slice(&block.0);
    v[32..36].copy_from_slice(&node.level.to_le_bytes());
    v[36..].copy_from_slice(&node.position.to_le_bytes());
    v
}

fn decode_location(v: &[u8; 40]) -> (BlockHash, u32, u32) {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&v[..32]);
    let level = u32::from_le_bytes([v[32], v[33], v[34], v[35]]);
    let position = u32::from_le_bytes([v[36], v[37], v[38], v[39]]);
    (BlockHash(hash), level, position)
}

fn leaves(txids: &[Txid]) -> Vec<Hash> {
    txids.iter().map(|t| t.0).collect()
}

/// Adds the inner merkle nodes of a block being connected (inside its write transaction).
pub(crate) fn index_block(
    w: &WriteTransaction,
    p: &Path,
    hash: &BlockHash,
    txids: &[Txid],
) -> Result<()> {
    if txids.len() < 2 {
        return Ok(());
    }
    let mut t = w.open_table(MERKLE).at(p)?;
    for node in inner_nodes(&leaves(txids)) {
        t.insert(node.hash, encode_location(hash, &node)).at(p)?;
    }
    Ok(())
}

/// Removes the inner merkle nodes of a block being disconnected (inside its transaction).
pub(crate) fn unindex_block(w: &WriteTransaction, p: &Path, txids: &[Txid]) -> Result<()> {
    if txids.len() < 2 {
        return Ok(());
    }
    let mut t = w.open_table(MERKLE).at(p)?;
    for node in inner_nodes(&leaves(txids)) {
        t.remove(node.hash).at(p)?;
    }
    Ok(())
}

/// The inner node at `level` / `position` of `block`'s tree, if there is one.
fn node_in_block(block: &Block, level: u32, position: u32) -> Option<[u8; 64]> {
    let txids: Vec<Hash> = block.transactions.iter().map(|t| t.txid().0).collect();
    let levels = merkle_levels(&txids);
    let below = levels.get((level as usize).checked_sub(1)?)?;
    let i = position as usize;
    let (left, right) = (below.get(2 * i)?, below.get(2 * i + 1)?);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(left);
    out[32..].copy_from_slice(right);
    Some(out)
}

impl Chain {
    /// Whether this chain state keeps the index of inner merkle nodes.
    pub fn has_merkle_index(&self) -> bool {
        self.merkle_index
    }

    /// The content behind the CID whose digest is `digest`, and what it is: a known header,
    /// a transaction of the active chain, or an inner merkle node of a block of the active
    /// chain. Every answer is checked against the digest before it is returned (a mismatch is
    /// damage of the store). `Ok(None)` when the store holds no such content;
    /// [`ChainError::NoMerkleIndex`] when it might be a merkle node this state does not index.
    pub fn content(&self, digest: &Hash) -> Result<Option<(ContentKind, Vec<u8>)>> {
        let found = self.find_content(digest)?;
        if let Some((kind, bytes)) = &found
            && sha256(bytes) != *digest
        {
            return Err(ChainError::Corrupt {
                path: self.state_path().to_path_buf(),
                detail: format!(
                    "the {} found for digest {} has another hash",
                    kind.as_str(),
                    crate::store::hex_string(digest)
                ),
                hint: "",
            });
        }
        Ok(found)
    }

    fn find_content(&self, digest: &Hash) -> Result<Option<(ContentKind, Vec<u8>)>> {
        if let Some(entry) = self.entry(&BlockHash(*digest)) {
            return Ok(Some((
                ContentKind::Header,
                entry.header.to_bytes().to_vec(),
            )));
        }
        if let Some((block_hash, pos)) = self.tx_location(&Txid(*digest))? {
            let block = self
                .block(&block_hash)?
                .ok_or_else(|| self.missing_block(&block_hash))?;
            let tx = block
                .transactions
                .get(pos as usize)
                .ok_or_else(|| self.bad_location(&block_hash, "transaction"))?;
            return Ok(Some((ContentKind::Transaction, tx.encode())));
        }
        if !self.merkle_index {
            return Err(ChainError::NoMerkleIndex);
        }
        let p = self.state_path().to_path_buf();
        let location = {
            let r = self.state_db().begin_read().at(&p)?;
            let t = match r.open_table(MERKLE) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(storage_error(&p, e)),
            };
            t.get(*digest).at(&p)?.map(|v| decode_location(&v.value()))
        };
        let Some((block_hash, level, position)) = location else {
            return Ok(None);
        };
        let block = self
            .block(&block_hash)?
            .ok_or_else(|| self.missing_block(&block_hash))?;
        let node = node_in_block(&block, level, position)
            .ok_or_else(|| self.bad_location(&block_hash, "merkle node"))?;
        Ok(Some((ContentKind::MerkleNode, node.to_vec())))
    }

    fn missing_block(&self, hash: &BlockHash) -> ChainError {
        ChainError::Corrupt {
            path: self.state_path().to_path_buf(),
            detail: format!("an index names block {hash}, which is not stored"),
            hint: "",
        }
    }

    fn bad_location(&self, hash: &BlockHash, what: &str) -> ChainError {
        ChainError::Corrupt {
            path: self.state_path().to_path_buf(),
            detail: format!("the index places a {what} in block {hash} where it has none"),
            hint: "",
        }
    }

    /// At open: makes the stored index agree with the option. With it and without the
    /// completeness marker, rebuilds the table from the active chain (progress line) and sets
    /// the marker; without it, drops the marker (connections stop maintaining the table).
    pub(crate) fn prepare_merkle_index(&mut self, created: bool) -> Result<()> {
        let p = self.state_path().to_path_buf();
        let marked = {
            let r = self.state_db().begin_read().at(&p)?;
            let meta = r.open_table(META).at(&p)?;
            meta.get(KEY_MERKLE_INDEX).at(&p)?.is_some()
        };
        if !self.merkle_index {
            if marked {
                let w = self.state_write()?;
                w.open_table(META).at(&p)?.remove(KEY_MERKLE_INDEX).at(&p)?;
                w.commit().at(&p)?;
                tracing::info!("the index of inner merkle nodes is no longer kept");
            }
            return Ok(());
        }
        if marked {
            return Ok(());
        }
        if !created {
            self.build_merkle_index()?;
        }
        let w = self.state_write()?;
        w.open_table(META)
            .at(&p)?
            .insert(KEY_MERKLE_INDEX, [1u8].as_slice())
            .at(&p)?;
        w.commit().at(&p)?;
        Ok(())
    }

    /// Rebuilds the `merkle_nodes` table from the blocks of the active chain.
    fn build_merkle_index(&mut self) -> Result<()> {
        let p = self.state_path().to_path_buf();
        let w = self.state_write()?;
        match w.delete_table(MERKLE) {
            Ok(_) => {}
            Err(e) => return Err(storage_error(&p, e)),
        }
        w.commit().at(&p)?;
        let tip = self.height();
        let started = Instant::now();
        let mut last_report = Instant::now();
        tracing::info!(blocks = tip + 1, "building the index of inner merkle nodes");
        let mut height = 0u64;
        while height <= tip {
            let w = self.state_write()?;
            let end = (height + BUILD_BATCH as u64).min(tip + 1);
            for h in height..end {
                let hash = self
                    .hash_at(h)
                    .ok_or_else(|| self.bad_location(&self.tip(), "height"))?;
                let block = self
                    .block(&hash)?
                    .ok_or_else(|| self.missing_block(&hash))?;
                let txids: Vec<Txid> = block.transactions.iter().map(|t| t.txid()).collect();
                index_block(&w, &p, &hash, &txids)?;
            }
            w.commit().at(&p)?;
            height = end;
            if last_report.elapsed().as_secs() >= 2 || height > tip {
                tracing::info!(
                    "merkle index: {}/{} blocks ({:.1}%), {:.1} s",
                    height,
                    tip + 1,
                    100.0 * height as f64 / (tip + 1) as f64,
                    started.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_round_trip() {
        let node = InnerNode {
            hash: [1; 32],
            left: [2; 32],
            right: [3; 32],
            level: 7,
            position: 70_000,
        };
        let v = encode_location(&BlockHash([9; 32]), &node);
        assert_eq!(decode_location(&v), (BlockHash([9; 32]), 7, 70_000));
    }
}
