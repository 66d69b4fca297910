//! The two redb files of a chain folder and what is in them.
//!
//! - `blocks.redb`: the blocks as received (hash → Borsh bytes). Only ever grows; it is the
//!   source `--reindex` rebuilds everything else from.
//! - `chainstate.redb`: the block index, the active chain by height, the unspent outputs, the
//!   undo data of connected blocks, the transaction index, the tip, and the "utxo best block":
//!   the block of the active chain the `utxo` table reflects (an ancestor of the tip, or the
//!   tip itself; the changes after it are in the in-memory cache of [`crate::utxo`] and are
//!   rolled forward from the stored blocks at open after a crash); optionally the index of
//!   inner merkle nodes ([`crate::content`]).
//!
//! Both carry a schema version and the chain's parameter digest, checked at open, so a store
//! of another chain or of a newer coinrs is refused instead of used. Writes are committed
//! without fsync (`Durability::None`, atomic but possibly lost in a crash) and made durable by
//! [`Store::flush`]; a crash therefore returns each file to its last flush, and because the
//! block file is flushed before the chain state, the chain state never refers to a block the
//! block file lost.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use coinrs_core::validation::Coin;
use coinrs_core::{BlockHash, OutPoint, TxOut, Txid};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{ChainError, Result};

/// The schema this build writes and reads. Version 2: the `utxo` table reflects the block
/// under [`KEY_UTXO_BEST`], not necessarily the tip (version 1 stores are upgraded at open: their
/// table always reflected the tip).
pub const SCHEMA_VERSION: u32 = 2;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const BLOCKS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("blocks");
pub(crate) const INDEX: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("index");
pub(crate) const ACTIVE: TableDefinition<u64, [u8; 32]> = TableDefinition::new("active");
pub(crate) const UTXO: TableDefinition<[u8; 36], [u8; 49]> = TableDefinition::new("utxo");
pub(crate) const UNDO: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("undo");
pub(crate) const TXINDEX: TableDefinition<[u8; 32], [u8; 36]> = TableDefinition::new("txindex");
/// Inner merkle node hash → block hash (32) | level (4, LE) | position (4, LE), for the blocks
/// of the active chain, kept only with `ChainOptions::merkle_index` (see [`crate::content`]).
pub(crate) const MERKLE: TableDefinition<[u8; 32], [u8; 40]> = TableDefinition::new("merkle_nodes");

pub(crate) const KEY_SCHEMA: &str = "schema";
pub(crate) const KEY_DIGEST: &str = "digest";
pub(crate) const KEY_TIP: &str = "tip";
/// Present (one byte, 1) while the `merkle_nodes` table covers every block of the active chain.
pub(crate) const KEY_MERKLE_INDEX: &str = "merkle_index";
/// The block the `utxo` table reflects (schema 2).
pub(crate) const KEY_UTXO_BEST: &str = "utxo_best";

/// File names inside the chain folder.
pub const BLOCKS_FILE: &str = "blocks.redb";
/// See [`BLOCKS_FILE`].
pub const STATE_FILE: &str = "chainstate.redb";

/// The two databases.
pub(crate) struct Store {
    pub blocks: Database,
    pub state: Database,
    pub blocks_path: PathBuf,
    pub state_path: PathBuf,
    /// Schema version found in the chain-state file at open ([`SCHEMA_VERSION`] when new).
    pub state_schema: u32,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("blocks", &self.blocks_path)
            .field("state", &self.state_path)
            .finish()
    }
}

/// `.at(path)` turns any redb result into a chain result naming the file.
pub(crate) trait At<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T, E: Into<redb::Error>> At<T> for std::result::Result<T, E> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| storage_error(path, e))
    }
}

/// Maps any redb error on `path` to a [`ChainError`], recognising a full disk and damage.
pub(crate) fn storage_error(path: &Path, err: impl Into<redb::Error>) -> ChainError {
    let err: redb::Error = err.into();
    let path = path.to_path_buf();
    match err {
        redb::Error::Io(ref io) if is_disk_full(io) => ChainError::DiskFull {
            path,
            detail: io.to_string(),
        },
        redb::Error::Corrupted(detail) => ChainError::Corrupt {
            path,
            detail,
            hint: "",
        },
        redb::Error::UpgradeRequired(v) => ChainError::Corrupt {
            path,
            detail: format!("not a redb file of this format (version {v})"),
            hint: "",
        },
        other => ChainError::Storage {
            path,
            detail: other.to_string(),
        },
    }
}

fn is_disk_full(io: &std::io::Error) -> bool {
    io.kind() == ErrorKind::StorageFull || io.raw_os_error() == Some(28)
}

/// Opens (or creates) one database and checks its schema and chain digest. redb verifies the
/// checksum of every page at open (`set_check_integrity_on_open`), so flipped bytes and a
/// truncated file are reported as damage instead of being read; after an unclean stop (a
/// crash, SIGKILL) redb's own recovery returns the file to its last durable commit.
/// Returns the database and the schema version it had (`None` when it was created).
fn open_db(path: &Path, digest: &[u8; 32], cache_bytes: usize) -> Result<(Database, Option<u32>)> {
    let db = Database::builder()
        .set_cache_size(cache_bytes)
        .set_check_integrity_on_open(true)
        .create(path)
        .map_err(|e| damaged_on_open(path, e))?;
    let schema = check_meta(&db, path, digest)?;
    Ok((db, schema))
}

fn damaged_on_open(path: &Path, err: impl Into<redb::Error>) -> ChainError {
    match storage_error(path, err) {
        ChainError::Storage { path, detail } => ChainError::Corrupt {
            path,
            detail,
            hint: "",
        },
        other => other,
    }
}

/// Writes schema and digest into a new file; checks them in an existing one. Returns the
/// stored schema version, `None` when the file was new.
fn check_meta(db: &Database, path: &Path, digest: &[u8; 32]) -> Result<Option<u32>> {
    let p: &Path = path;
    let read = db.begin_read().at(p)?;
    let stored = match read.open_table(META) {
        Ok(meta) => {
            let schema = meta.get(KEY_SCHEMA).at(p)?.map(|v| v.value().to_vec());
            let dig = meta.get(KEY_DIGEST).at(p)?.map(|v| v.value().to_vec());
            Some((schema, dig))
        }
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(storage_error(p, e)),
    };
    drop(read);
    match stored {
        None => {
            let mut w = db.begin_write().at(p)?;
            w.set_durability(Durability::Immediate).at(p)?;
            {
                let mut meta = w.open_table(META).at(p)?;
                meta.insert(KEY_SCHEMA, SCHEMA_VERSION.to_le_bytes().as_slice())
                    .at(p)?;
                meta.insert(KEY_DIGEST, digest.as_slice()).at(p)?;
            }
            w.commit().at(p)?;
            Ok(None)
        }
        Some((schema, dig)) => {
            let corrupt = |detail: &str| ChainError::Corrupt {
                path: path.to_path_buf(),
                detail: detail.into(),
                hint: "",
            };
            let schema = schema.ok_or_else(|| corrupt("no schema version"))?;
            let schema: [u8; 4] = schema
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("malformed schema version"))?;
            let schema = u32::from_le_bytes(schema);
            if schema > SCHEMA_VERSION {
                return Err(ChainError::SchemaTooNew {
                    path: path.to_path_buf(),
                    found: schema,
                    supported: SCHEMA_VERSION,
                });
            }
            let dig = dig.ok_or_else(|| corrupt("no chain digest"))?;
            if dig.as_slice() != digest {
                return Err(ChainError::ForeignChain {
                    path: path.to_path_buf(),
                    expected: hex_string(digest),
                    found: hex_string(&dig),
                });
            }
            Ok(Some(schema))
        }
    }
}

pub(crate) fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Opens the chain folder `dir` (created if missing), giving redb `cache_bytes` for the
    /// chain state and half as much for the block file. With `fresh_state` the chain-state
    /// file is deleted first (for `--reindex`). Returns the store and whether the chain state
    /// is new (and must be initialised).
    pub fn open(
        dir: &Path,
        digest: &[u8; 32],
        cache_bytes: usize,
        fresh_state: bool,
    ) -> Result<(Store, bool)> {
        std::fs::create_dir_all(dir).map_err(|e| ChainError::Storage {
            path: dir.to_path_buf(),
            detail: e.to_string(),
        })?;
        let blocks_path = dir.join(BLOCKS_FILE);
        let state_path = dir.join(STATE_FILE);
        let (blocks, _) = open_db(&blocks_path, digest, cache_bytes / 2).map_err(|e| match e {
            ChainError::Corrupt { path, detail, .. } => ChainError::Corrupt {
                path,
                detail,
                hint: " if the block file itself is damaged, move it away and let the node download the chain again",
            },
            other => other,
        })?;
        if fresh_state && state_path.exists() {
            std::fs::remove_file(&state_path).map_err(|e| ChainError::Storage {
                path: state_path.clone(),
                detail: e.to_string(),
            })?;
        }
        let (state, schema) = open_db(&state_path, digest, cache_bytes)?;
        Ok((
            Store {
                blocks,
                state,
                blocks_path,
                state_path,
                state_schema: schema.unwrap_or(SCHEMA_VERSION),
            },
            schema.is_none(),
        ))
    }

    /// Stores a block's bytes (not yet durable).
    pub fn put_block(&self, hash: &BlockHash, bytes: &[u8]) -> Result<()> {
        let p: &Path = &self.blocks_path;
        let mut w = self.blocks.begin_write().at(p)?;
        w.set_durability(Durability::None).at(p)?;
        {
            let mut t = w.open_table(BLOCKS).at(p)?;
            t.insert(hash.0, bytes).at(p)?;
        }
        w.commit().at(p)
    }

    /// A stored block's bytes.
    pub fn get_block(&self, hash: &BlockHash) -> Result<Option<Vec<u8>>> {
        let p: &Path = &self.blocks_path;
        let r = self.blocks.begin_read().at(p)?;
        let t = match r.open_table(BLOCKS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage_error(p, e)),
        };
        Ok(t.get(hash.0).at(p)?.map(|v| v.value().to_vec()))
    }

    /// Every stored block hash (for `--reindex`).
    pub fn block_hashes(&self) -> Result<Vec<BlockHash>> {
        let p: &Path = &self.blocks_path;
        let r = self.blocks.begin_read().at(p)?;
        let t = match r.open_table(BLOCKS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![]),
            Err(e) => return Err(storage_error(p, e)),
        };
        let mut out = Vec::new();
        for item in t.iter().at(p)? {
            let (k, _) = item.at(p)?;
            out.push(BlockHash(k.value()));
        }
        Ok(out)
    }

    /// Makes every commit so far durable: the block file first, then the chain state.
    pub fn flush(&self) -> Result<()> {
        for (db, p) in [
            (&self.blocks, &self.blocks_path),
            (&self.state, &self.state_path),
        ] {
            let p: &Path = p;
            let mut w = db.begin_write().at(p)?;
            w.set_durability(Durability::Immediate).at(p)?;
            w.commit().at(p)?;
        }
        Ok(())
    }
}

/// Encodes an unspent output: value (8, LE) | pubkey (32) | height (8, LE) | coinbase (1).
pub(crate) fn encode_coin(coin: &Coin) -> [u8; 49] {
    let mut out = [0u8; 49];
    out[..8].copy_from_slice(&coin.output.value.to_le_bytes());
    out[8..40].copy_from_slice(&coin.output.pubkey);
    out[40..48].copy_from_slice(&coin.height.to_le_bytes());
    out[48] = u8::from(coin.is_coinbase);
    out
}

/// Decodes [`encode_coin`]; `None` for a flag byte that is neither 0 nor 1.
pub(crate) fn decode_coin(b: &[u8; 49]) -> Option<Coin> {
    let mut value = [0u8; 8];
    value.copy_from_slice(&b[..8]);
    let mut pubkey = [0u8; 32];
    pubkey.copy_from_slice(&b[8..40]);
    let mut height = [0u8; 8];
    height.copy_from_slice(&b[40..48]);
    let is_coinbase = match b[48] {
        0 => false,
        1 => true,
        _ => return None,
    };
    Some(Coin {
        output: TxOut {
            value: u64::from_le_bytes(value),
            pubkey,
        },
        height: u64::from_le_bytes(height),
        is_coinbase,
    })
}

/// The key of an outpoint: txid (32) | vout (4, big-endian, so one transaction's outputs sort
/// in order).
/// The key of an outpoint in the unspent-output table.
pub fn outpoint_key(op: &OutPoint) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(&op.txid.0);
    k[32..].copy_from_slice(&op.vout.to_be_bytes());
    k
}

/// The outpoint of a key (the inverse of [`outpoint_key`]).
pub fn outpoint_from_key(k: &[u8; 36]) -> OutPoint {
    let mut txid = [0u8; 32];
    txid.copy_from_slice(&k[..32]);
    OutPoint {
        txid: Txid(txid),
        vout: u32::from_be_bytes([k[32], k[33], k[34], k[35]]),
    }
}

/// Undo data of a block: the coins it spent, in order: count (4, LE) | (key 36 | coin 49)*.
pub(crate) fn encode_undo(spent: &[(OutPoint, Coin)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + spent.len() * 85);
    out.extend_from_slice(&(spent.len() as u32).to_le_bytes());
    for (op, coin) in spent {
        out.extend_from_slice(&outpoint_key(op));
        out.extend_from_slice(&encode_coin(coin));
    }
    out
}

pub(crate) fn decode_undo(bytes: &[u8]) -> Option<Vec<(OutPoint, Coin)>> {
    let count = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let body = &bytes[4..];
    if body.len() != count.checked_mul(85)? {
        return None;
    }
    body.chunks_exact(85)
        .map(|c| {
            let key: [u8; 36] = c[..36].try_into().ok()?;
            let coin: [u8; 49] = c[36..].try_into().ok()?;
            Some((outpoint_from_key(&key), decode_coin(&coin)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coins_and_undo_round_trip() {
        let coin = Coin {
            output: TxOut {
                value: 5,
                pubkey: [7; 32],
            },
            height: 9,
            is_coinbase: true,
        };
        assert_eq!(decode_coin(&encode_coin(&coin)), Some(coin));
        let op = OutPoint {
            txid: Txid([1; 32]),
            vout: 258,
        };
        assert_eq!(outpoint_from_key(&outpoint_key(&op)), op);
        let undo = vec![(op, coin), (op, coin)];
        assert_eq!(decode_undo(&encode_undo(&undo)), Some(undo.clone()));
        let bytes = encode_undo(&undo);
        assert_eq!(decode_undo(&bytes[..bytes.len() - 1]), None);
    }
}
