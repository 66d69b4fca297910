//! The [`Wallet`]: one wallet file, its keys, and its secrets locked or unlocked.
//!
//! The whole wallet lives in memory (keys, outputs, transactions: a few hundred bytes per
//! coin) and every change is written to its file in one redb transaction before the call
//! returns (see [`crate::store`]); when a write fails, the in-memory state is read back from
//! the file, so memory never runs ahead of the disk.
//!
//! The RPC layer holds each loaded wallet behind a `std::sync::Mutex`: every method is
//! synchronous and short (argon2 at `unlock`/`encrypt` is the slowest, tens of ms).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use coinrs_core::address::{decode_address, encode_address};
use coinrs_core::encode::decode;
use coinrs_core::params::ChainParams;
use coinrs_core::sig::SigningKey;
use coinrs_core::{BlockHash, OutPoint, Transaction, Txid};
use zeroize::Zeroizing;

use crate::bip32::{ChildNumber, ExtendedPrivKey, ExtendedPubKey};
use crate::crypt::{KdfParams, KdfRecord, SecretBox};
use crate::error::{Result, WalletError};
use crate::keys::{self, Branch, COIN_TYPE};
use crate::store::{
    Batch, KEY_KDF, KEY_SEED, KEY_WALLET, Loaded, MetaRecord, OutputRecord, SeedRecord, Store,
    TxRecord, encode,
};

/// Unused addresses derived ahead on each branch, as Bitcoin Core's keypool and BIP44's gap
/// limit: a restore finds coins up to this many unused addresses past the last used one.
pub const DEFAULT_GAP_LIMIT: u32 = 20;

/// How to make a new wallet.
#[derive(Clone, Debug)]
pub struct CreateOptions {
    /// Restore from this mnemonic; `None` makes a new one.
    pub mnemonic: Option<String>,
    /// Words of a new mnemonic: 12 or 24.
    pub words: usize,
    /// BIP39's optional passphrase (the "25th word"), part of the seed: "" for none.
    pub bip39_passphrase: String,
    /// Height from which to scan (0 for a restore of unknown age).
    pub birth_height: u64,
    /// Unused addresses derived ahead per branch.
    pub gap_limit: u32,
    /// Encrypt at once with this passphrase (the wallet is then locked).
    pub passphrase: Option<String>,
    /// argon2id cost when encrypting.
    pub kdf: KdfParams,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            mnemonic: None,
            words: 12,
            bip39_passphrase: String::new(),
            birth_height: 0,
            gap_limit: DEFAULT_GAP_LIMIT,
            passphrase: None,
            kdf: KdfParams::DEFAULT,
        }
    }
}

/// Where a key of the wallet comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyOrigin {
    /// `m/86'/1'/0'/branch/index`.
    Derived {
        /// Receive or change.
        branch: Branch,
        /// The last path step.
        index: u32,
    },
    /// Imported with [`Wallet::import_private_key`].
    Imported,
}

/// A transaction of the wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletTx {
    /// The transaction.
    pub tx: Transaction,
    /// The block holding it on the chain the wallet follows (hash, height).
    pub block: Option<(BlockHash, u64)>,
    /// Unix time first seen (the block's time when first seen in a block).
    pub time: u64,
    /// A confirmed transaction spends one of its inputs: it will never confirm, and its
    /// outputs count for nothing.
    pub conflicted: bool,
}

impl WalletTx {
    pub(crate) fn record(&self) -> TxRecord {
        TxRecord {
            raw: self.tx.encode(),
            block: self.block,
            time: self.time,
            conflicted: self.conflicted,
        }
    }
}

/// The secrets while unlocked.
struct Unlocked {
    /// The encryption key (`None` for a wallet without passphrase).
    key: Option<Zeroizing<[u8; 32]>>,
    /// `m/86'/1'/0'`.
    account: ExtendedPrivKey,
    /// When the unlock ends (`None`: never).
    until: Option<Instant>,
}

/// One wallet: see the crate documentation.
pub struct Wallet {
    pub(crate) store: Store,
    digest: [u8; 32],
    pub(crate) hrp: String,
    pub(crate) coinbase_maturity: u64,
    pub(crate) meta: MetaRecord,
    xpubs: [ExtendedPubKey; 2],
    seed: SecretBox,
    kdf: Option<KdfRecord>,
    pub(crate) keys: HashMap<[u8; 32], KeyOrigin>,
    /// Output keys by index, per branch (`0..meta.derived[b]`).
    by_index: [Vec<[u8; 32]>; 2],
    imported: HashMap<[u8; 32], SecretBox>,
    pub(crate) outputs: BTreeMap<OutPoint, OutputRecord>,
    pub(crate) txs: HashMap<Txid, WalletTx>,
    unlocked: Option<Unlocked>,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("name", &self.meta.name)
            .field("path", &self.store.path())
            .field("encrypted", &self.kdf.is_some())
            .finish_non_exhaustive()
    }
}

/// Rows and in-memory changes of one operation, written by [`Wallet::persist`].
#[derive(Default)]
pub(crate) struct Dirty {
    pub meta: bool,
    pub keys: Vec<([u8; 32], [u8; 5])>,
    pub outputs: std::collections::BTreeSet<OutPoint>,
    pub txs: std::collections::BTreeSet<Txid>,
}

fn key_row(origin: KeyOrigin) -> [u8; 5] {
    let mut row = [0u8; 5];
    match origin {
        KeyOrigin::Derived { branch, index } => {
            row[0] = branch as u8;
            row[1..].copy_from_slice(&index.to_le_bytes());
        }
        KeyOrigin::Imported => row[0] = 2,
    }
    row
}

fn key_origin(row: [u8; 5]) -> Option<KeyOrigin> {
    let index = u32::from_le_bytes(row[1..].try_into().expect("4 bytes"));
    match row[0] {
        0 => Some(KeyOrigin::Derived {
            branch: Branch::Receive,
            index,
        }),
        1 => Some(KeyOrigin::Derived {
            branch: Branch::Change,
            index,
        }),
        2 => Some(KeyOrigin::Imported),
        _ => None,
    }
}

fn account_key(record: &SeedRecord) -> Result<ExtendedPrivKey> {
    let seed = keys::seed(&record.mnemonic, &record.passphrase)?;
    ExtendedPrivKey::master(&*seed)?.derive_path(&keys::account_path(COIN_TYPE)?)
}

fn read_seed(plain: &[u8]) -> Result<Zeroizing<SeedRecord>> {
    borsh::from_slice::<SeedRecord>(plain)
        .map(Zeroizing::new)
        .map_err(|_| WalletError::WrongPassphrase)
}

impl zeroize::Zeroize for SeedRecord {
    fn zeroize(&mut self) {
        self.mnemonic.zeroize();
        self.passphrase.zeroize();
    }
}

impl Wallet {
    /// Creates a wallet file at `path` for the chain `params`.
    pub fn create(
        path: &Path,
        params: &ChainParams,
        name: &str,
        opts: CreateOptions,
    ) -> Result<Wallet> {
        let mnemonic = match &opts.mnemonic {
            Some(m) => keys::normalize_mnemonic(m)?,
            None => keys::generate_mnemonic(opts.words)?,
        };
        let seed_record = Zeroizing::new(SeedRecord {
            mnemonic: mnemonic.to_string(),
            passphrase: opts.bip39_passphrase.clone(),
        });
        let account = account_key(&seed_record)?;
        let xpub = account.to_public();
        let xpubs = [
            xpub.derive_child(ChildNumber::normal(0)?)?,
            xpub.derive_child(ChildNumber::normal(1)?)?,
        ];
        let plain = Zeroizing::new(encode(&*seed_record));
        let (seed, kdf) = match &opts.passphrase {
            Some(pass) => {
                let kdf = KdfRecord::new(opts.kdf)?;
                let key = kdf.derive_key(pass)?;
                (SecretBox::seal(&key, &plain)?, Some(kdf))
            }
            None => (SecretBox::Plain(plain.to_vec()), None),
        };
        let meta = MetaRecord {
            name: name.to_string(),
            birth_height: opts.birth_height,
            gap_limit: opts.gap_limit.max(1),
            next: [0, 0],
            derived: [0, 0],
            xpubs: [xpubs[0].to_bytes().to_vec(), xpubs[1].to_bytes().to_vec()],
            last_block: None,
        };
        let mut wallet = Wallet {
            store: Store::create(path, &params.digest(), Batch::default())?,
            digest: params.digest(),
            hrp: params.hrp.clone(),
            coinbase_maturity: params.coinbase_maturity,
            meta,
            xpubs,
            seed,
            kdf,
            keys: HashMap::new(),
            by_index: [Vec::new(), Vec::new()],
            imported: HashMap::new(),
            outputs: BTreeMap::new(),
            txs: HashMap::new(),
            unlocked: None,
        };
        if wallet.kdf.is_none() {
            wallet.unlocked = Some(Unlocked {
                key: None,
                account,
                until: None,
            });
        }
        let mut dirty = Dirty {
            meta: true,
            ..Dirty::default()
        };
        wallet.top_up(&mut dirty)?;
        let mut batch = Batch::default();
        batch.meta.push((KEY_SEED, encode(&wallet.seed)));
        if let Some(kdf) = &wallet.kdf {
            batch.meta.push((KEY_KDF, encode(kdf)));
        }
        wallet.persist_with(dirty, batch, true)?;
        wallet.store.publish(path)?;
        Ok(wallet)
    }

    /// Opens the wallet file at `path`; refuses one of another chain.
    pub fn open(path: &Path, params: &ChainParams) -> Result<Wallet> {
        let digest = params.digest();
        let (store, loaded) = Store::open(path, &digest)?;
        let placeholder = ExtendedPrivKey::master(&[0u8; 32])?.to_public();
        let mut wallet = Wallet {
            store,
            digest,
            hrp: params.hrp.clone(),
            coinbase_maturity: params.coinbase_maturity,
            meta: loaded.meta.clone(),
            xpubs: [placeholder, placeholder],
            seed: SecretBox::Plain(Vec::new()),
            kdf: None,
            keys: HashMap::new(),
            by_index: [Vec::new(), Vec::new()],
            imported: HashMap::new(),
            outputs: BTreeMap::new(),
            txs: HashMap::new(),
            unlocked: None,
        };
        wallet.apply(loaded)?;
        if wallet.kdf.is_none() {
            let plain = wallet.seed.open(None)?;
            let record = read_seed(&plain)?;
            wallet.unlocked = Some(Unlocked {
                key: None,
                account: account_key(&record)?,
                until: None,
            });
        }
        Ok(wallet)
    }

    /// Replaces the in-memory state with what the file holds.
    fn apply(&mut self, loaded: Loaded) -> Result<()> {
        let path = self.store.path().to_path_buf();
        let corrupt = |detail: &str| WalletError::Corrupt {
            path: path.clone(),
            detail: detail.to_string(),
        };
        for (b, bytes) in loaded.meta.xpubs.iter().enumerate() {
            self.xpubs[b] =
                ExtendedPubKey::from_bytes(bytes).ok_or_else(|| corrupt("branch key"))?;
        }
        self.meta = loaded.meta;
        self.seed = loaded.seed;
        self.kdf = loaded.kdf;
        self.keys.clear();
        self.by_index = [
            vec![[0u8; 32]; self.meta.derived[0] as usize],
            vec![[0u8; 32]; self.meta.derived[1] as usize],
        ];
        for (pubkey, row) in loaded.keys {
            let origin = key_origin(row).ok_or_else(|| corrupt("key origin"))?;
            if let KeyOrigin::Derived { branch, index } = origin {
                let slot = self.by_index[branch as usize]
                    .get_mut(index as usize)
                    .ok_or_else(|| corrupt("key index beyond the derived count"))?;
                *slot = pubkey;
            }
            self.keys.insert(pubkey, origin);
        }
        self.imported = loaded.imported.into_iter().collect();
        self.outputs = loaded.outputs.into_iter().collect();
        self.txs.clear();
        for (txid, r) in loaded.txs {
            let tx: Transaction = decode(&r.raw).map_err(|_| corrupt("transaction bytes"))?;
            self.txs.insert(
                txid,
                WalletTx {
                    tx,
                    block: r.block,
                    time: r.time,
                    conflicted: r.conflicted,
                },
            );
        }
        Ok(())
    }

    /// Writes the rows `dirty` names (as they now are in memory) and `batch` in one
    /// transaction. On failure the memory is read back from the file.
    pub(crate) fn persist_with(
        &mut self,
        dirty: Dirty,
        mut batch: Batch,
        durable: bool,
    ) -> Result<()> {
        if dirty.meta {
            batch.meta.push((KEY_WALLET, encode(&self.meta)));
        }
        batch.keys = dirty.keys;
        for op in dirty.outputs {
            batch.outputs.push((op, self.outputs.get(&op).map(encode)));
        }
        for txid in dirty.txs {
            batch
                .txs
                .push((txid, self.txs.get(&txid).map(|t| encode(&t.record()))));
        }
        match self.store.commit(batch, durable) {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Ok(loaded) = self.store.load(&self.digest) {
                    let _ = self.apply(loaded);
                }
                Err(e)
            }
        }
    }

    pub(crate) fn persist(&mut self, dirty: Dirty, durable: bool) -> Result<()> {
        self.persist_with(dirty, Batch::default(), durable)
    }

    /// Derives keys so that each branch has `gap_limit` unused ones after `next`.
    pub(crate) fn top_up(&mut self, dirty: &mut Dirty) -> Result<()> {
        for branch in Branch::ALL {
            let b = branch as usize;
            let want = self.meta.next[b].saturating_add(self.meta.gap_limit);
            while self.meta.derived[b] < want {
                let index = self.meta.derived[b];
                let child = self.xpubs[b].derive_child(ChildNumber::normal(index)?)?;
                let (internal, _) = child.public_key.x_only_public_key();
                let output = keys::output_key(&internal)?;
                let origin = KeyOrigin::Derived { branch, index };
                self.keys.insert(output, origin);
                self.by_index[b].push(output);
                dirty.keys.push((output, key_row(origin)));
                self.meta.derived[b] += 1;
                dirty.meta = true;
            }
        }
        Ok(())
    }

    /// Notes that `pubkey` received coins: the next address handed out on its branch comes
    /// after it, and the lookahead moves along.
    pub(crate) fn mark_used(&mut self, pubkey: &[u8; 32], dirty: &mut Dirty) -> Result<()> {
        if let Some(KeyOrigin::Derived { branch, index }) = self.keys.get(pubkey).copied() {
            let b = branch as usize;
            if index >= self.meta.next[b] {
                self.meta.next[b] = index + 1;
                dirty.meta = true;
                self.top_up(dirty)?;
            }
        }
        Ok(())
    }

    // ---- identity -----------------------------------------------------------------------

    /// The wallet's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Rescans start here.
    pub fn birth_height(&self) -> u64 {
        self.meta.birth_height
    }

    /// The last block fed with [`Wallet::block_connected`] (or the parent of the last one
    /// disconnected): where the node resumes feeding blocks after a load.
    pub fn last_block(&self) -> Option<(BlockHash, u64)> {
        self.meta
            .last_block
            .map(|(h, height)| (BlockHash(h), height))
    }

    /// Unused addresses kept derived ahead per branch.
    pub fn gap_limit(&self) -> u32 {
        self.meta.gap_limit
    }

    /// Keys known: derived on both branches and imported.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The address of an output key on this wallet's chain.
    pub fn address(&self, pubkey: &[u8; 32]) -> String {
        encode_address(&self.hrp, pubkey).expect("the chain's prefix is valid")
    }

    /// Decodes an address of this wallet's chain into an output key.
    pub fn parse_address(&self, address: &str) -> Result<[u8; 32]> {
        Ok(decode_address(&self.hrp, address)?)
    }

    /// Where a key of the wallet comes from, `None` when it is not the wallet's.
    pub fn key_origin(&self, pubkey: &[u8; 32]) -> Option<KeyOrigin> {
        self.keys.get(pubkey).copied()
    }

    /// The BIP32 path of a derived key (`m/86'/1'/0'/0/5`).
    pub fn key_path(&self, pubkey: &[u8; 32]) -> Option<String> {
        match self.key_origin(pubkey)? {
            KeyOrigin::Derived { branch, index } => keys::bip86_path(COIN_TYPE, branch, index)
                .ok()
                .map(|p| p.to_string()),
            KeyOrigin::Imported => None,
        }
    }

    // ---- addresses ----------------------------------------------------------------------

    /// A fresh output key on `branch` (`getnewaddress` on Receive, `getrawchangeaddress` on
    /// Change); works while locked (public derivation).
    pub fn new_key(&mut self, branch: Branch) -> Result<[u8; 32]> {
        let b = branch as usize;
        let index = self.meta.next[b];
        let mut dirty = Dirty {
            meta: true,
            ..Dirty::default()
        };
        self.meta.next[b] = index
            .checked_add(1)
            .filter(|&n| n < crate::bip32::HARDENED)
            .ok_or_else(|| WalletError::Derivation(format!("index {index}")))?;
        self.top_up(&mut dirty)?;
        let key = self.by_index[b][index as usize];
        self.persist(dirty, true)?;
        Ok(key)
    }

    /// [`Wallet::new_key`] as an address.
    pub fn new_address(&mut self, branch: Branch) -> Result<String> {
        let key = self.new_key(branch)?;
        Ok(self.address(&key))
    }

    // ---- secrets ------------------------------------------------------------------------

    /// True when the secrets are sealed with a passphrase.
    pub fn is_encrypted(&self) -> bool {
        self.kdf.is_some()
    }

    /// True when signing needs `unlock` first.
    pub fn is_locked(&self) -> bool {
        match &self.unlocked {
            None => true,
            Some(u) => u.until.is_some_and(|t| Instant::now() >= t),
        }
    }

    /// When the current unlock ends (`None` when locked, unencrypted, or without limit).
    pub fn unlocked_until(&self) -> Option<Instant> {
        if self.is_locked() {
            return None;
        }
        self.unlocked.as_ref().and_then(|u| u.until)
    }

    fn unlocked(&mut self) -> Result<&Unlocked> {
        if self.is_locked() {
            self.unlocked = None;
            return Err(WalletError::Locked);
        }
        self.unlocked.as_ref().ok_or(WalletError::Locked)
    }

    /// Encrypts a wallet that has no passphrase yet; it is locked afterwards (as Core).
    pub fn encrypt(&mut self, passphrase: &str, params: KdfParams) -> Result<()> {
        if self.kdf.is_some() {
            return Err(WalletError::AlreadyEncrypted);
        }
        let kdf = KdfRecord::new(params)?;
        let key = kdf.derive_key(passphrase)?;
        self.reseal(None, kdf, &key)?;
        self.unlocked = None;
        Ok(())
    }

    /// Seals every secret under `new_key` (opening them with `old_key`) in one commit.
    fn reseal(
        &mut self,
        old_key: Option<&[u8; 32]>,
        kdf: KdfRecord,
        new_key: &[u8; 32],
    ) -> Result<()> {
        let seed = SecretBox::seal(new_key, &self.seed.open(old_key)?)?;
        let mut imported = Vec::new();
        for (pubkey, secret) in &self.imported {
            imported.push((*pubkey, SecretBox::seal(new_key, &secret.open(old_key)?)?));
        }
        let mut batch = Batch::default();
        batch.meta.push((KEY_SEED, encode(&seed)));
        batch.meta.push((KEY_KDF, encode(&kdf)));
        batch.imported = imported.iter().map(|(k, b)| (*k, encode(b))).collect();
        self.persist_with(Dirty::default(), batch, true)?;
        self.seed = seed;
        self.kdf = Some(kdf);
        self.imported = imported.into_iter().collect();
        Ok(())
    }

    /// Unlocks for `duration` (`walletpassphrase`); a new unlock replaces the old one.
    pub fn unlock(&mut self, passphrase: &str, duration: Duration) -> Result<()> {
        let kdf = self.kdf.ok_or(WalletError::NotEncrypted)?;
        let key = kdf.derive_key(passphrase).map_err(|e| match e {
            WalletError::EmptyPassphrase => WalletError::WrongPassphrase,
            other => other,
        })?;
        let plain = self.seed.open(Some(&key))?;
        let account = account_key(&*read_seed(&plain)?)?;
        self.unlocked = Some(Unlocked {
            key: Some(key),
            account,
            until: Instant::now().checked_add(duration),
        });
        Ok(())
    }

    /// Forgets the secrets now (`walletlock`).
    pub fn lock(&mut self) -> Result<()> {
        if self.kdf.is_none() {
            return Err(WalletError::NotEncrypted);
        }
        self.unlocked = None;
        Ok(())
    }

    /// Changes the passphrase (`walletpassphrasechange`); the lock state stays as it was.
    pub fn change_passphrase(&mut self, old: &str, new: &str, params: KdfParams) -> Result<()> {
        let kdf = self.kdf.ok_or(WalletError::NotEncrypted)?;
        let old_key = kdf.derive_key(old).map_err(|e| match e {
            WalletError::EmptyPassphrase => WalletError::WrongPassphrase,
            other => other,
        })?;
        self.seed.open(Some(&old_key))?;
        let new_kdf = KdfRecord::new(params)?;
        let new_key = new_kdf.derive_key(new)?;
        self.reseal(Some(&old_key), new_kdf, &new_key)?;
        if let Some(u) = self.unlocked.as_mut() {
            u.key = Some(new_key);
        }
        Ok(())
    }

    /// The mnemonic (`getmnemonic`): only while unlocked.
    pub fn mnemonic(&mut self) -> Result<Zeroizing<String>> {
        let key = self.unlocked()?.key.clone();
        let plain = self.seed.open(key.as_deref())?;
        let record = read_seed(&plain)?;
        Ok(Zeroizing::new(record.mnemonic.clone()))
    }

    /// Imports a single key (`importprivkey`): 64 hex digits of a secp256k1 secret whose
    /// x-only public key is the output key itself, untweaked, the encoding of the node's
    /// `mining.key` and of coinpy's keys. Needs the wallet unlocked when encrypted. Returns
    /// the output key; the caller rescans for its coins.
    pub fn import_private_key(&mut self, hex_secret: &str) -> Result<[u8; 32]> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_secret.trim(), &mut *bytes)
            .map_err(|_| WalletError::InvalidPrivateKey("expected 64 hex digits".into()))?;
        let key = SigningKey::from_secret_bytes(*bytes)
            .map_err(|_| WalletError::InvalidPrivateKey("not a valid secret key".into()))?;
        let pubkey = key.public_key();
        if self.keys.contains_key(&pubkey) {
            return Ok(pubkey);
        }
        let secret = match self.kdf {
            Some(_) => {
                let key = self.unlocked()?.key.clone().ok_or(WalletError::Locked)?;
                SecretBox::seal(&key, &*bytes)?
            }
            None => SecretBox::Plain(bytes.to_vec()),
        };
        let mut batch = Batch::default();
        batch.imported.push((pubkey, encode(&secret)));
        let dirty = Dirty {
            keys: vec![(pubkey, key_row(KeyOrigin::Imported))],
            ..Dirty::default()
        };
        self.persist_with(dirty, batch, true)?;
        self.keys.insert(pubkey, KeyOrigin::Imported);
        self.imported.insert(pubkey, secret);
        Ok(pubkey)
    }

    /// The key that signs for an output key of the wallet (the BIP86-tweaked secret of a
    /// derived key, the secret itself of an imported one). Needs the wallet unlocked.
    pub fn signing_key(&mut self, pubkey: &[u8; 32]) -> Result<SigningKey> {
        let origin = self
            .key_origin(pubkey)
            .ok_or_else(|| WalletError::NotMine(hex::encode(pubkey)))?;
        let unlocked = self.unlocked()?;
        match origin {
            KeyOrigin::Derived { branch, index } => {
                let key = unlocked
                    .account
                    .derive_child(ChildNumber::normal(branch.index())?)?
                    .derive_child(ChildNumber::normal(index)?)?;
                keys::tweaked_signing_key(key.secret_bytes())
            }
            KeyOrigin::Imported => {
                let key = unlocked.key.clone();
                let plain = self.imported[pubkey].open(key.as_deref())?;
                let bytes: [u8; 32] = plain
                    .as_slice()
                    .try_into()
                    .map_err(|_| WalletError::WrongPassphrase)?;
                SigningKey::from_secret_bytes(bytes)
                    .map_err(|_| WalletError::InvalidPrivateKey("stored key".into()))
            }
        }
    }

    /// The secret of an output key in [`Wallet::import_private_key`]'s encoding
    /// (`dumpprivkey`): importing it elsewhere spends the same coins.
    pub fn dump_private_key(&mut self, pubkey: &[u8; 32]) -> Result<Zeroizing<String>> {
        let key = self.signing_key(pubkey)?;
        let secret = Zeroizing::new(key.secret_bytes());
        Ok(Zeroizing::new(hex::encode(*secret)))
    }

    /// Copies a consistent snapshot of the wallet file to `dest` (`backupwallet`); open the
    /// copy with [`Wallet::open`] to restore.
    pub fn backup(&self, dest: &Path) -> Result<()> {
        self.store.backup(dest)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon \
                                      abandon abandon abandon abandon about";

    pub(crate) fn options() -> CreateOptions {
        CreateOptions {
            mnemonic: Some(ABANDON.into()),
            kdf: KdfParams::INSECURE_FOR_TESTS,
            ..CreateOptions::default()
        }
    }

    pub(crate) fn new_wallet(dir: &Path) -> Wallet {
        Wallet::create(&dir.join("w.redb"), &ChainParams::regtest(), "w", options()).unwrap()
    }

    #[test]
    fn addresses_follow_bip86_with_coin_type_1_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.redb");
        let mut w = new_wallet(dir.path());
        assert_eq!(w.key_count(), 2 * DEFAULT_GAP_LIMIT as usize);
        let first = w.new_key(Branch::Receive).unwrap();
        let second = w.new_key(Branch::Receive).unwrap();
        let change = w.new_key(Branch::Change).unwrap();
        let master = ExtendedPrivKey::master(&*keys::seed(ABANDON, "").unwrap()).unwrap();
        for (key, branch, index) in [
            (first, Branch::Receive, 0),
            (second, Branch::Receive, 1),
            (change, Branch::Change, 0),
        ] {
            let path = keys::bip86_path(1, branch, index).unwrap();
            assert_eq!(keys::derive(&master, &path).unwrap().output, key);
            assert_eq!(w.key_path(&key).unwrap(), path.to_string());
        }
        assert!(w.address(&first).starts_with("crt1p"));
        assert_eq!(w.parse_address(&w.address(&first)).unwrap(), first);
        drop(w);
        let mut w = Wallet::open(&path, &ChainParams::regtest()).unwrap();
        assert_eq!(w.name(), "w");
        assert_eq!(
            w.key_origin(&second),
            Some(KeyOrigin::Derived {
                branch: Branch::Receive,
                index: 1
            })
        );
        let third = w.new_key(Branch::Receive).unwrap();
        assert_eq!(w.key_path(&third).unwrap(), "m/86'/1'/0'/0/2");
        assert_eq!(w.key_count(), 2 * DEFAULT_GAP_LIMIT as usize + 4);
    }

    #[test]
    fn refuses_another_chains_wallet_and_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.redb");
        drop(new_wallet(dir.path()));
        assert!(matches!(
            Wallet::open(&path, &ChainParams::devnet()),
            Err(WalletError::ForeignChain { .. })
        ));
        assert!(matches!(
            Wallet::create(&path, &ChainParams::regtest(), "w", options()),
            Err(WalletError::AlreadyExists(_))
        ));
        assert!(matches!(
            Wallet::open(&dir.path().join("none.redb"), &ChainParams::regtest()),
            Err(WalletError::NotFound(_))
        ));
    }

    #[test]
    fn encryption_locks_and_unlocks_with_distinct_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.redb");
        let mut w = new_wallet(dir.path());
        let key = w.new_key(Branch::Receive).unwrap();
        let plain_secret = w.dump_private_key(&key).unwrap();
        assert!(!w.is_encrypted() && !w.is_locked());
        assert!(matches!(w.lock(), Err(WalletError::NotEncrypted)));
        assert!(matches!(
            w.unlock("x", Duration::from_secs(9)),
            Err(WalletError::NotEncrypted)
        ));

        w.encrypt("hunter2", KdfParams::INSECURE_FOR_TESTS).unwrap();
        assert!(w.is_encrypted() && w.is_locked());
        assert!(matches!(
            w.encrypt("again", KdfParams::INSECURE_FOR_TESTS),
            Err(WalletError::AlreadyEncrypted)
        ));
        assert!(matches!(w.dump_private_key(&key), Err(WalletError::Locked)));
        assert!(matches!(w.mnemonic(), Err(WalletError::Locked)));
        assert!(matches!(
            w.unlock("wrong", Duration::from_secs(60)),
            Err(WalletError::WrongPassphrase)
        ));
        assert!(matches!(
            w.unlock("", Duration::from_secs(60)),
            Err(WalletError::WrongPassphrase)
        ));
        // Addresses still come while locked.
        w.new_key(Branch::Receive).unwrap();

        w.unlock("hunter2", Duration::from_secs(60)).unwrap();
        assert!(!w.is_locked() && w.unlocked_until().is_some());
        assert_eq!(*w.dump_private_key(&key).unwrap(), *plain_secret);
        assert_eq!(
            *w.mnemonic().unwrap(),
            ABANDON.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        w.lock().unwrap();
        assert!(matches!(w.mnemonic(), Err(WalletError::Locked)));

        // An unlock that has run out is a lock.
        w.unlock("hunter2", Duration::ZERO).unwrap();
        assert!(w.is_locked());
        assert!(matches!(w.dump_private_key(&key), Err(WalletError::Locked)));

        // The secret is not in the file in the clear, and the encryption survives reopening.
        drop(w);
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(7).any(|win| win == b"abandon"));
        let mut w = Wallet::open(&path, &ChainParams::regtest()).unwrap();
        assert!(w.is_encrypted() && w.is_locked());
        w.change_passphrase("hunter2", "correct horse", KdfParams::INSECURE_FOR_TESTS)
            .unwrap();
        assert!(matches!(
            w.change_passphrase("hunter2", "x", KdfParams::INSECURE_FOR_TESTS),
            Err(WalletError::WrongPassphrase)
        ));
        assert!(matches!(
            w.unlock("hunter2", Duration::from_secs(60)),
            Err(WalletError::WrongPassphrase)
        ));
        w.unlock("correct horse", Duration::from_secs(60)).unwrap();
        assert_eq!(*w.dump_private_key(&key).unwrap(), *plain_secret);
    }

    #[test]
    fn imported_keys_sign_for_themselves_and_are_sealed_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.redb");
        let mut w = new_wallet(dir.path());
        let secret = hex::encode([7u8; 32]);
        let expected = SigningKey::from_secret_bytes([7u8; 32])
            .unwrap()
            .public_key();
        assert_eq!(w.import_private_key(&secret).unwrap(), expected);
        assert_eq!(w.key_origin(&expected), Some(KeyOrigin::Imported));
        assert_eq!(*w.dump_private_key(&expected).unwrap(), secret);
        assert!(matches!(
            w.import_private_key("zz"),
            Err(WalletError::InvalidPrivateKey(_))
        ));
        assert!(matches!(
            w.import_private_key(&"00".repeat(32)),
            Err(WalletError::InvalidPrivateKey(_))
        ));
        assert!(matches!(
            w.dump_private_key(&[9u8; 32]),
            Err(WalletError::NotMine(_))
        ));

        w.encrypt("p", KdfParams::INSECURE_FOR_TESTS).unwrap();
        let other = hex::encode([8u8; 32]);
        assert!(matches!(
            w.import_private_key(&other),
            Err(WalletError::Locked)
        ));
        w.unlock("p", Duration::from_secs(60)).unwrap();
        let other_pk = w.import_private_key(&other).unwrap();
        drop(w);
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes
                .windows(32)
                .any(|win| win == [7u8; 32] || win == [8u8; 32])
        );
        let mut w = Wallet::open(&path, &ChainParams::regtest()).unwrap();
        w.unlock("p", Duration::from_secs(60)).unwrap();
        assert_eq!(*w.dump_private_key(&expected).unwrap(), secret);
        assert_eq!(*w.dump_private_key(&other_pk).unwrap(), other);
    }

    #[test]
    fn a_restore_with_a_bip39_passphrase_gives_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = new_wallet(dir.path());
        let opts = CreateOptions {
            bip39_passphrase: "TREZOR".into(),
            ..options()
        };
        let mut b = Wallet::create(
            &dir.path().join("b.redb"),
            &ChainParams::regtest(),
            "b",
            opts,
        )
        .unwrap();
        assert_ne!(
            a.new_key(Branch::Receive).unwrap(),
            b.new_key(Branch::Receive).unwrap()
        );
        let fresh = CreateOptions {
            mnemonic: None,
            words: 24,
            ..options()
        };
        let mut c = Wallet::create(
            &dir.path().join("c.redb"),
            &ChainParams::regtest(),
            "c",
            fresh,
        )
        .unwrap();
        assert_eq!(c.mnemonic().unwrap().split(' ').count(), 24);
    }

    #[test]
    fn a_damaged_or_foreign_file_is_refused_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.redb");
        std::fs::write(&garbage, vec![0x5a; 4096]).unwrap();
        assert!(matches!(
            Wallet::open(&garbage, &ChainParams::regtest()),
            Err(WalletError::Corrupt { .. })
        ));
        // A creation that never finished leaves no wallet under the real name.
        let path = dir.path().join("w.redb");
        std::fs::write(dir.path().join("w.redb.creating"), b"half").unwrap();
        drop(new_wallet(dir.path()));
        assert!(Wallet::open(&path, &ChainParams::regtest()).is_ok());
        assert!(!dir.path().join("w.redb.creating").exists());
    }

    #[test]
    fn a_backup_opens_as_the_same_wallet() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = new_wallet(dir.path());
        let key = w.new_key(Branch::Receive).unwrap();
        let dest = dir.path().join("backup.redb");
        w.backup(&dest).unwrap();
        w.backup(&dest).unwrap(); // overwrites
        let mut copy = Wallet::open(&dest, &ChainParams::regtest()).unwrap();
        assert_eq!(copy.key_origin(&key), w.key_origin(&key));
        assert_eq!(
            copy.new_key(Branch::Receive).unwrap(),
            w.new_key(Branch::Receive).unwrap()
        );
    }
}
