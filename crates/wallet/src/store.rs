//! The wallet file: one redb database per wallet (`wallets/NAME.redb` under the chain
//! folder, the caller's choice), opened, checked and written as the chain crate does its
//! stores (crates/chain/src/store.rs): a schema version and the chain's parameter digest
//! checked at open (a wallet of another chain is refused), redb errors mapped to errors that
//! name the file, integrity checked at open.
//!
//! Tables:
//! - `meta`: `schema` (u32), `digest` (the chain's), `wallet` ([`MetaRecord`]), `seed` (the
//!   sealed or plain [`SeedRecord`]), `kdf` (the argon2 salt and parameters, only when
//!   encrypted);
//! - `keys`: output key → origin (branch 0/1 and index, or 2 for an imported key);
//! - `imported`: output key → its secret ([`SecretBox`] of 32 bytes);
//! - `outputs`: outpoint (txid ‖ vout LE) → [`OutputRecord`];
//! - `txs`: txid → [`TxRecord`].
//!
//! Every change of the wallet is one write transaction committed with `Durability::Immediate`
//! (fsync), so a crash leaves the file at the last complete change, never half of one. The
//! only exception is a block that changed nothing but the "last block" marker, committed
//! without fsync: losing it in a crash only makes the next rescan start a block earlier.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use borsh::{BorshDeserialize, BorshSerialize};
use coinrs_core::{BlockHash, OutPoint, Txid};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::crypt::{KdfRecord, SecretBox};
use crate::error::{Result, WalletError};

/// The schema this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const KEYS: TableDefinition<[u8; 32], [u8; 5]> = TableDefinition::new("keys");
pub(crate) const IMPORTED: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("imported");
pub(crate) const OUTPUTS: TableDefinition<[u8; 36], &[u8]> = TableDefinition::new("outputs");
pub(crate) const TXS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("txs");

const KEY_SCHEMA: &str = "schema";
const KEY_DIGEST: &str = "digest";
pub(crate) const KEY_WALLET: &str = "wallet";
pub(crate) const KEY_SEED: &str = "seed";
pub(crate) const KEY_KDF: &str = "kdf";

/// The wallet's public state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MetaRecord {
    /// The wallet's name.
    pub name: String,
    /// No block below this height can hold a coin of the wallet (rescans start here).
    pub birth_height: u64,
    /// Unused addresses derived ahead on each branch.
    pub gap_limit: u32,
    /// Next index to hand out, per branch (receive, change).
    pub next: [u32; 2],
    /// Keys derived (and in `keys`) per branch: indexes `0..derived`.
    pub derived: [u32; 2],
    /// The account's branch keys `m/86'/1'/0'/0` and `/1` (BIP32 public, 65 bytes each).
    pub xpubs: [Vec<u8>; 2],
    /// The last block fed to the wallet (hash, height).
    pub last_block: Option<([u8; 32], u64)>,
}

/// The seed's secret: the mnemonic and the BIP39 passphrase, Borsh-encoded inside a
/// [`SecretBox`].
#[derive(BorshSerialize, BorshDeserialize)]
pub(crate) struct SeedRecord {
    pub mnemonic: String,
    pub passphrase: String,
}

/// A wallet output as stored.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OutputRecord {
    /// Value in base units.
    pub value: u64,
    /// The output key.
    pub pubkey: [u8; 32],
    /// Height of the block holding it; `None` while unconfirmed.
    pub height: Option<u64>,
    /// Created by a coinbase.
    pub coinbase: bool,
    /// The wallet transaction spending it (confirmed or not; never a conflicted one).
    pub spent_by: Option<Txid>,
}

/// A wallet transaction as stored.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxRecord {
    /// Its encoding.
    pub raw: Vec<u8>,
    /// The block holding it (hash, height) on the chain the wallet follows.
    pub block: Option<(BlockHash, u64)>,
    /// Unix time first seen (block time for a transaction first seen in a block).
    pub time: u64,
    /// A confirmed transaction spends one of its inputs: it can never confirm.
    pub conflicted: bool,
}

/// Everything the file holds, read at open.
pub(crate) struct Loaded {
    pub meta: MetaRecord,
    pub seed: SecretBox,
    pub kdf: Option<KdfRecord>,
    pub keys: Vec<([u8; 32], [u8; 5])>,
    pub imported: Vec<([u8; 32], SecretBox)>,
    pub outputs: Vec<(OutPoint, OutputRecord)>,
    pub txs: Vec<(Txid, TxRecord)>,
}

/// One change of the wallet: rows to write and rows to delete, committed together.
#[derive(Default)]
pub(crate) struct Batch {
    pub meta: Vec<(&'static str, Vec<u8>)>,
    pub remove_meta: Vec<&'static str>,
    pub keys: Vec<([u8; 32], [u8; 5])>,
    pub imported: Vec<([u8; 32], Vec<u8>)>,
    pub outputs: Vec<(OutPoint, Option<Vec<u8>>)>,
    pub txs: Vec<(Txid, Option<Vec<u8>>)>,
}

pub(crate) fn outpoint_key(op: &OutPoint) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(&op.txid.0);
    k[32..].copy_from_slice(&op.vout.to_le_bytes());
    k
}

fn outpoint_from_key(k: &[u8; 36]) -> OutPoint {
    OutPoint {
        txid: Txid(k[..32].try_into().expect("32 bytes")),
        vout: u32::from_le_bytes(k[32..].try_into().expect("4 bytes")),
    }
}

pub(crate) fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("writing to a Vec cannot fail")
}

/// `.at(path)` turns any redb result into a wallet result naming the file.
pub(crate) trait At<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T, E: Into<redb::Error>> At<T> for std::result::Result<T, E> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| storage_error(path, e))
    }
}

fn storage_error(path: &Path, err: impl Into<redb::Error>) -> WalletError {
    let err: redb::Error = err.into();
    let path = path.to_path_buf();
    match err {
        redb::Error::Io(ref io)
            if io.kind() == ErrorKind::StorageFull || io.raw_os_error() == Some(28) =>
        {
            WalletError::DiskFull {
                path,
                detail: io.to_string(),
            }
        }
        redb::Error::Corrupted(detail) => WalletError::Corrupt { path, detail },
        redb::Error::UpgradeRequired(v) => WalletError::Corrupt {
            path,
            detail: format!("not a redb file of this format (version {v})"),
        },
        other => WalletError::Storage {
            path,
            detail: other.to_string(),
        },
    }
}

/// The open wallet file.
pub(crate) struct Store {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn corrupt(path: &Path, detail: impl Into<String>) -> WalletError {
    WalletError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn open_database(path: &Path) -> Result<Database> {
    Database::builder()
        .set_check_integrity_on_open(true)
        .create(path)
        .map_err(|e| match storage_error(path, e) {
            WalletError::Storage { path, detail } => WalletError::Corrupt { path, detail },
            other => other,
        })
}

impl Store {
    /// Creates a new wallet file holding `batch` (its whole first state). Refuses an
    /// existing file.
    pub fn create(path: &Path, digest: &[u8; 32], mut batch: Batch) -> Result<Store> {
        if path.exists() {
            return Err(WalletError::AlreadyExists(path.to_path_buf()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| WalletError::Storage {
                path: dir.to_path_buf(),
                detail: e.to_string(),
            })?;
        }
        // Built under a temporary name and renamed by `publish` once complete, so a crash
        // during creation never leaves a half-made wallet under the real name.
        let building = sibling(path, ".creating");
        let _ = std::fs::remove_file(&building);
        let store = Store {
            db: open_database(&building)?,
            path: building,
        };
        batch
            .meta
            .push((KEY_SCHEMA, SCHEMA_VERSION.to_le_bytes().to_vec()));
        batch.meta.push((KEY_DIGEST, digest.to_vec()));
        store.commit(batch, true)?;
        Ok(store)
    }

    /// Gives a store made by [`Store::create`] its real name.
    pub fn publish(&mut self, path: &Path) -> Result<()> {
        if path.exists() {
            return Err(WalletError::AlreadyExists(path.to_path_buf()));
        }
        std::fs::rename(&self.path, path).map_err(|e| WalletError::Storage {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        self.path = path.to_path_buf();
        Ok(())
    }

    /// Opens an existing wallet file and checks its schema and chain.
    pub fn open(path: &Path, digest: &[u8; 32]) -> Result<(Store, Loaded)> {
        if !path.is_file() {
            return Err(WalletError::NotFound(path.to_path_buf()));
        }
        let store = Store {
            db: open_database(path)?,
            path: path.to_path_buf(),
        };
        let loaded = store.load(digest)?;
        Ok((store, loaded))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self, digest: &[u8; 32]) -> Result<Loaded> {
        let p = self.path.as_path();
        let read = self.db.begin_read().at(p)?;
        let meta = match read.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Err(corrupt(p, "no meta table")),
            Err(e) => return Err(storage_error(p, e)),
        };
        let get = |key: &str| -> Result<Option<Vec<u8>>> {
            Ok(meta.get(key).at(p)?.map(|v| v.value().to_vec()))
        };
        let schema = get(KEY_SCHEMA)?.ok_or_else(|| corrupt(p, "no schema version"))?;
        let schema = u32::from_le_bytes(
            schema
                .as_slice()
                .try_into()
                .map_err(|_| corrupt(p, "malformed schema version"))?,
        );
        if schema > SCHEMA_VERSION {
            return Err(WalletError::SchemaTooNew {
                path: p.to_path_buf(),
                found: schema,
                supported: SCHEMA_VERSION,
            });
        }
        let stored = get(KEY_DIGEST)?.ok_or_else(|| corrupt(p, "no chain digest"))?;
        if stored.as_slice() != digest {
            return Err(WalletError::ForeignChain {
                path: p.to_path_buf(),
                expected: hex::encode(digest),
                found: hex::encode(&stored),
            });
        }
        let decode = |key: &str| -> Result<Vec<u8>> {
            get(key)?.ok_or_else(|| corrupt(p, format!("no {key} record")))
        };
        let meta_rec: MetaRecord = borsh::from_slice(&decode(KEY_WALLET)?)
            .map_err(|e| corrupt(p, format!("wallet record: {e}")))?;
        let seed: SecretBox = borsh::from_slice(&decode(KEY_SEED)?)
            .map_err(|e| corrupt(p, format!("seed record: {e}")))?;
        let kdf = match get(KEY_KDF)? {
            Some(b) => Some(
                borsh::from_slice::<KdfRecord>(&b)
                    .map_err(|e| corrupt(p, format!("kdf record: {e}")))?,
            ),
            None => None,
        };
        let mut loaded = Loaded {
            meta: meta_rec,
            seed,
            kdf,
            keys: Vec::new(),
            imported: Vec::new(),
            outputs: Vec::new(),
            txs: Vec::new(),
        };
        let table_missing =
            |e: &redb::TableError| matches!(e, redb::TableError::TableDoesNotExist(_));
        match read.open_table(KEYS) {
            Ok(t) => {
                for row in t.iter().at(p)? {
                    let (k, v) = row.at(p)?;
                    loaded.keys.push((k.value(), v.value()));
                }
            }
            Err(e) if table_missing(&e) => {}
            Err(e) => return Err(storage_error(p, e)),
        }
        match read.open_table(IMPORTED) {
            Ok(t) => {
                for row in t.iter().at(p)? {
                    let (k, v) = row.at(p)?;
                    let b = borsh::from_slice(v.value())
                        .map_err(|e| corrupt(p, format!("imported key: {e}")))?;
                    loaded.imported.push((k.value(), b));
                }
            }
            Err(e) if table_missing(&e) => {}
            Err(e) => return Err(storage_error(p, e)),
        }
        match read.open_table(OUTPUTS) {
            Ok(t) => {
                for row in t.iter().at(p)? {
                    let (k, v) = row.at(p)?;
                    let r = borsh::from_slice(v.value())
                        .map_err(|e| corrupt(p, format!("output record: {e}")))?;
                    loaded.outputs.push((outpoint_from_key(&k.value()), r));
                }
            }
            Err(e) if table_missing(&e) => {}
            Err(e) => return Err(storage_error(p, e)),
        }
        match read.open_table(TXS) {
            Ok(t) => {
                for row in t.iter().at(p)? {
                    let (k, v) = row.at(p)?;
                    let r = borsh::from_slice(v.value())
                        .map_err(|e| corrupt(p, format!("transaction record: {e}")))?;
                    loaded.txs.push((Txid(k.value()), r));
                }
            }
            Err(e) if table_missing(&e) => {}
            Err(e) => return Err(storage_error(p, e)),
        }
        Ok(loaded)
    }

    /// Writes `batch` in one transaction; `durable` commits with fsync.
    pub fn commit(&self, batch: Batch, durable: bool) -> Result<()> {
        let p = self.path.as_path();
        let mut w = self.db.begin_write().at(p)?;
        w.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        })
        .at(p)?;
        {
            let mut meta = w.open_table(META).at(p)?;
            for (k, v) in &batch.meta {
                meta.insert(*k, v.as_slice()).at(p)?;
            }
            for k in &batch.remove_meta {
                meta.remove(*k).at(p)?;
            }
            let mut keys = w.open_table(KEYS).at(p)?;
            for (k, v) in &batch.keys {
                keys.insert(k, v).at(p)?;
            }
            let mut imported = w.open_table(IMPORTED).at(p)?;
            for (k, v) in &batch.imported {
                imported.insert(k, v.as_slice()).at(p)?;
            }
            let mut outputs = w.open_table(OUTPUTS).at(p)?;
            for (op, v) in &batch.outputs {
                match v {
                    Some(v) => outputs.insert(outpoint_key(op), v.as_slice()).at(p)?,
                    None => outputs.remove(outpoint_key(op)).at(p)?,
                };
            }
            let mut txs = w.open_table(TXS).at(p)?;
            for (txid, v) in &batch.txs {
                match v {
                    Some(v) => txs.insert(txid.0, v.as_slice()).at(p)?,
                    None => txs.remove(txid.0).at(p)?,
                };
            }
        }
        w.commit().at(p)
    }

    /// Copies a consistent snapshot (one read transaction) of every table into a new file
    /// at `dest`, written beside it first and renamed into place, so `dest` is either the old
    /// file or the complete copy.
    pub fn backup(&self, dest: &Path) -> Result<()> {
        let p = self.path.as_path();
        let tmp = sibling(dest, ".tmp");
        let _ = std::fs::remove_file(&tmp);
        let read = self.db.begin_read().at(p)?;
        let copy = open_database(&tmp)?;
        let t = tmp.as_path();
        let mut w = copy.begin_write().at(t)?;
        w.set_durability(Durability::Immediate).at(t)?;
        copy_table(&read, &w, META, p, t)?;
        copy_table(&read, &w, KEYS, p, t)?;
        copy_table(&read, &w, IMPORTED, p, t)?;
        copy_table(&read, &w, OUTPUTS, p, t)?;
        copy_table(&read, &w, TXS, p, t)?;
        w.commit().at(t)?;
        drop(copy);
        std::fs::rename(&tmp, dest).map_err(|e| WalletError::Storage {
            path: dest.to_path_buf(),
            detail: e.to_string(),
        })
    }
}

fn copy_table<K, V>(
    read: &redb::ReadTransaction,
    w: &redb::WriteTransaction,
    def: TableDefinition<K, V>,
    p: &Path,
    t: &Path,
) -> Result<()>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
{
    let src = match read.open_table(def) {
        Ok(src) => src,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(storage_error(p, e)),
    };
    let mut dst = w.open_table(def).at(t)?;
    for row in src.iter().at(p)? {
        let (k, v) = row.at(p)?;
        dst.insert(k.value(), v.value()).at(t)?;
    }
    Ok(())
}
