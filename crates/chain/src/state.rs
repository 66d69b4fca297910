//! The chain state: accepting headers and blocks, choosing the best chain, connecting and
//! disconnecting blocks (reorganisations of any depth), invalid branches, `invalidateblock`
//! / `reconsiderblock`, chain tips, `verifychain` and `--reindex`.
//!
//! Every connect and every disconnect is one redb write transaction that also moves the tip,
//! so the stored state is always a consistent tip whatever is killed when. The in-memory
//! index mirrors the store and is only changed after a commit succeeded.
//!
//! The unspent outputs are the exception: a connect changes the in-memory cache of
//! [`crate::utxo`], which is written to redb together with the "utxo best block" marker in one
//! transaction when it outgrows its budget, before any disconnect, when it is old, and at
//! close. After a crash the stored blocks between that marker and the tip are rolled forward
//! at open.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use coinrs_core::block::{Block, BlockHeader};
use coinrs_core::encode::decode;
use coinrs_core::params::ChainParams;
use coinrs_core::pow::work;
use coinrs_core::validation::{
    Coin, ParentContext, ParentInfo, ParentState, UtxoView, check_block_body, check_header,
    connect_transactions_with,
};
use coinrs_core::{BlockHash, Hash, OutPoint, RejectReason, Txid};
use redb::{Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};
use ruint::aliases::U256;

use crate::addrindex::{self, AddressCoin, AddressMove, AddressTotals};
use crate::error::{ChainError, Result};
use crate::index::{BlockIndex, Failure, IndexEntry, Validity};
use crate::orphans::{DEFAULT_MAX_ORPHAN_BYTES, DEFAULT_MAX_ORPHANS, OrphanPool};
use crate::store::{
    ACTIVE, At, INDEX, KEY_SCHEMA, KEY_TIP, KEY_UTXO_BEST, META, SCHEMA_VERSION, Store, TXINDEX,
    UNDO, UTXO, decode_coin, decode_undo, encode_coin, encode_undo, outpoint_key, storage_error,
};
use crate::utxo::{CachedView, MergeError, StatsHasher, UtxoCache, merged_stats};
use crate::verify::{ParallelVerifier, StreamingVerifier};

/// [`Chain::flush`] writes the unspent-output cache when its oldest change is this old, so
/// that the roll-forward after a crash stays short on a node that never fills its budget.
const UTXO_FLUSH_AGE: Duration = Duration::from_secs(600);

/// How the chain state is opened.
#[derive(Clone, Debug)]
pub struct ChainOptions {
    /// Memory for the unspent-output cache (half), redb's caches (a quarter for the chain
    /// state, an eighth for the block file) and changes not yet made durable (`--dbcache`), in
    /// bytes.
    pub cache_bytes: usize,
    /// Rebuild the chain state from the stored blocks (`--reindex`).
    pub reindex: bool,
    /// Most orphan blocks held.
    pub max_orphans: usize,
    /// Most bytes of orphan blocks held.
    pub max_orphan_bytes: usize,
    /// Keep the index of inner merkle nodes, so that [`Chain::content`] answers for them
    /// (built at open if missing; see [`crate::content`]). Off by default.
    pub merkle_index: bool,
    /// Keep the address index ([`crate::addrindex`]; `--addressindex`, on in coinrsd).
    pub address_index: bool,
}

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions {
            cache_bytes: 450 * 1024 * 1024,
            reindex: false,
            max_orphans: DEFAULT_MAX_ORPHANS,
            max_orphan_bytes: DEFAULT_MAX_ORPHAN_BYTES,
            merkle_index: false,
            address_index: false,
        }
    }
}

/// What became of a block handed to [`Chain::accept_block`] (the `submitblock` answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOutcome {
    /// Valid and on the best chain.
    Active,
    /// Stored on a side branch with less work (or not yet validated).
    SideBranch,
    /// Its parent is unknown: kept in the orphan pool until the parent arrives.
    Orphan,
    /// Already known and valid.
    Duplicate,
    /// Already known to be invalid.
    DuplicateInvalid,
    /// Already stored on a side branch.
    DuplicateInconclusive,
}

/// The status of a chain tip, as `getchaintips` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TipStatus {
    /// The tip of the best chain.
    Active,
    /// A fully validated branch that is not active.
    ValidFork,
    /// All blocks stored, some not validated.
    ValidHeaders,
    /// Some blocks of the branch are missing.
    HeadersOnly,
    /// The branch contains an invalid block.
    Invalid,
}

impl TipStatus {
    /// Bitcoin Core's string.
    pub fn as_str(self) -> &'static str {
        match self {
            TipStatus::Active => "active",
            TipStatus::ValidFork => "valid-fork",
            TipStatus::ValidHeaders => "valid-headers",
            TipStatus::HeadersOnly => "headers-only",
            TipStatus::Invalid => "invalid",
        }
    }
}

/// One entry of `getchaintips`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTip {
    /// Height of the tip.
    pub height: u64,
    /// Hash of the tip.
    pub hash: BlockHash,
    /// Blocks between the tip and the active chain.
    pub branch_len: u64,
    /// Its status.
    pub status: TipStatus,
}

/// A change of the active chain, for subsystems that follow it (the mempool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainEvent {
    /// The block was connected as the new tip.
    Connected(BlockHash),
    /// The block was disconnected from the tip.
    Disconnected(BlockHash),
}

/// A summary of the unspent outputs (`gettxoutsetinfo`, crash tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtxoStats {
    /// Number of unspent outputs.
    pub count: u64,
    /// Sum of their values.
    pub total: u128,
    /// SHA-256 over every (key, value) in key order.
    pub hash: Hash,
}

/// Ordered so that the first element is the best chain candidate: most work, then earliest
/// arrival.
type CandidateKey = (Reverse<U256>, u64, BlockHash);

/// The chain state of one chain folder.
///
/// The in-memory index is one entry per known block and little else: a block is *complete*
/// when it and all its ancestors have data, which is every block with data except the few
/// in `incomplete` (blocks received before an ancestor, in headers-first order). Candidates
/// for the best tip are only the complete, not invalid blocks with at least the tip's work
/// (Bitcoin Core's `setBlockIndexCandidates`); after the tip loses work (a disconnect) or
/// failure marks are cleared, the set is rebuilt from the index.
#[derive(Debug)]
pub struct Chain {
    params: ChainParams,
    store: Store,
    index: BlockIndex,
    /// Blocks with data of which an ancestor has no data.
    incomplete: HashSet<BlockHash>,
    /// The blocks of `incomplete` by parent: they become complete with it.
    unlinked: HashMap<BlockHash, Vec<BlockHash>>,
    /// Complete blocks that are not invalid and have at least the tip's work (possibly some
    /// with less, until pruned): the first is the best chain's tip.
    candidates: BTreeSet<CandidateKey>,
    /// `candidates` must be rebuilt from the index before it is used.
    candidates_stale: bool,
    active: Vec<BlockHash>,
    orphans: OrphanPool,
    next_seq: u64,
    dirty_bytes: usize,
    cache_bytes: usize,
    /// Changes of the unspent outputs after `utxo_best`.
    utxo: UtxoCache,
    /// Transaction-index entries of the blocks connected after `utxo_best`, written with the
    /// cache (a crash loses nothing: the roll-forward at open puts them back).
    txindex_cache: HashMap<Txid, [u8; 36]>,
    /// The block of the active chain the stored `utxo` table reflects.
    utxo_best: BlockHash,
    /// The block `accept_one` just stored, with its txids, while it activates the best chain.
    just_stored: Option<(BlockHash, Block, Vec<Txid>)>,
    events: Vec<ChainEvent>,
    /// Connections keep the index of inner merkle nodes ([`crate::content`]).
    pub(crate) merkle_index: bool,
    /// The address index is kept (and present in the store).
    address_index: bool,
    /// Counts changes of the block index and the active chain, so that followers (the
    /// explorer's live view) can tell cheaply whether anything changed.
    changes: u64,
}

/// A consistent read-only view of the unspent outputs of the active chain as they are while
/// it lives: the chain's cache over a redb read transaction (the borrow of the chain keeps
/// both from changing), for checks that make many lookups (the mempool). A storage error is
/// remembered and reported by [`UtxoSnapshot::error`] instead of passing for a missing coin.
pub struct UtxoSnapshot<'c> {
    cache: &'c UtxoCache,
    table: redb::ReadOnlyTable<[u8; 36], [u8; 49]>,
    error: std::cell::RefCell<Option<String>>,
}

impl std::fmt::Debug for UtxoSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UtxoSnapshot")
    }
}

impl UtxoSnapshot<'_> {
    /// The first storage error met by a lookup, if any.
    pub fn error(&self) -> Option<String> {
        self.error.borrow().clone()
    }
}

impl UtxoView for UtxoSnapshot<'_> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        let view = CachedView::new(self.cache, &self.table);
        let coin = view.coin(outpoint);
        if let Some(e) = view.error.into_inner() {
            *self.error.borrow_mut() = Some(e.to_string());
        }
        coin
    }
}

impl Chain {
    /// A read-only view of the unspent outputs of the active chain as they are now.
    pub fn utxo_snapshot(&self) -> Result<UtxoSnapshot<'_>> {
        let p = &self.store.state_path;
        let r = self.store.state.begin_read().at(p)?;
        Ok(UtxoSnapshot {
            cache: &self.utxo,
            table: r.open_table(UTXO).at(p)?,
            error: std::cell::RefCell::new(None),
        })
    }

    /// Opens the chain state in `dir` (the chain folder), creating it with the genesis block
    /// if it is new, checking it belongs to `params` and is undamaged, and rebuilding it from
    /// the stored blocks with `options.reindex`. `now` is the clock (Unix seconds), used for
    /// `time-too-new` while reindexing.
    pub fn open(dir: &Path, params: ChainParams, options: &ChainOptions, now: u64) -> Result<Self> {
        let (store, created) = Store::open(
            dir,
            &params.digest(),
            options.cache_bytes / 4,
            options.reindex,
        )?;
        let genesis = params.genesis().hash();
        let mut chain = Chain {
            params,
            store,
            index: BlockIndex::default(),
            incomplete: HashSet::new(),
            unlinked: HashMap::new(),
            candidates: BTreeSet::new(),
            candidates_stale: false,
            active: Vec::new(),
            orphans: OrphanPool::new(options.max_orphans, options.max_orphan_bytes),
            next_seq: 1,
            dirty_bytes: 0,
            cache_bytes: options.cache_bytes,
            utxo: UtxoCache::new(options.cache_bytes / 2),
            txindex_cache: HashMap::new(),
            utxo_best: genesis,
            just_stored: None,
            events: Vec::new(),
            merkle_index: options.merkle_index,
            address_index: options.address_index,
            changes: 0,
        };
        if created {
            chain.init_genesis()?;
            if options.reindex {
                chain.reindex(now)?;
            }
        } else {
            chain.check_address_index()?;
            chain.load()?;
            chain.roll_forward()?;
            // A crash in the middle of a reorganisation leaves a consistent tip that may not be
            // the best one: finish the job.
            chain.activate_best_chain()?;
        }
        chain.prepare_merkle_index(created)?;
        // Nothing follows the chain before it is open.
        chain.events.clear();
        Ok(chain)
    }

    fn corrupt(&self, detail: impl Into<String>) -> ChainError {
        ChainError::Corrupt {
            path: self.store.state_path.clone(),
            detail: detail.into(),
            hint: "",
        }
    }

    pub(crate) fn state_path(&self) -> &Path {
        &self.store.state_path
    }

    pub(crate) fn state_db(&self) -> &redb::Database {
        &self.store.state
    }

    pub(crate) fn state_write(&self) -> Result<WriteTransaction> {
        self.begin_state_write()
    }

    fn begin_state_write(&self) -> Result<WriteTransaction> {
        let p = &self.store.state_path;
        let mut w = self.store.state.begin_write().at(p)?;
        w.set_durability(Durability::None).at(p)?;
        Ok(w)
    }

    fn init_genesis(&mut self) -> Result<()> {
        let genesis = self.params.genesis();
        let hash = genesis.hash();
        let bytes = genesis.encode();
        self.store.put_block(&hash, &bytes)?;
        let entry = IndexEntry {
            header: genesis.header,
            chainwork: work(&self.params.pow_limit()),
            validity: Validity::Valid,
            has_data: true,
            validated_once: true,
            seq: 0,
            block1_time: 0,
            size: bytes.len() as u32,
            tx_count: 1,
        };
        let p = self.store.state_path.clone();
        let w = self.begin_state_write()?;
        {
            let mut index = w.open_table(INDEX).at(&p)?;
            index.insert(hash.0, entry.encode().as_slice()).at(&p)?;
            let mut active = w.open_table(ACTIVE).at(&p)?;
            active.insert(0, hash.0).at(&p)?;
            let mut meta = w.open_table(META).at(&p)?;
            meta.insert(KEY_TIP, hash.0.as_slice()).at(&p)?;
            meta.insert(KEY_UTXO_BEST, hash.0.as_slice()).at(&p)?;
            // Create the other tables so that readers find them.
            w.open_table(UTXO).at(&p)?;
            w.open_table(UNDO).at(&p)?;
            w.open_table(TXINDEX).at(&p)?;
        }
        if self.address_index {
            addrindex::create(&w, &p)?;
        }
        w.commit().at(&p)?;
        self.store.flush()?;
        self.active.push(hash);
        self.utxo_best = hash;
        self.insert_entry_in_memory(hash, entry);
        Ok(())
    }

    /// An existing store has the address index exactly when it is wanted: a store without it
    /// is refused (it would answer wrongly), a store with it, opened without, drops it (it
    /// would go stale).
    fn check_address_index(&mut self) -> Result<()> {
        let p = self.store.state_path.clone();
        let r = self.store.state.begin_read().at(&p)?;
        let present = r
            .open_table(META)
            .at(&p)?
            .get(addrindex::KEY_ADDR_INDEX)
            .at(&p)?
            .is_some();
        drop(r);
        match (self.address_index, present) {
            (true, false) => Err(ChainError::NoAddressIndex { path: p }),
            (false, true) => {
                let w = self.begin_state_write()?;
                addrindex::drop_index(&w, &p)?;
                w.commit().at(&p)?;
                self.store.flush()?;
                tracing::info!(file = %p.display(), "address index removed (--addressindex=false)");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn load(&mut self) -> Result<()> {
        let p = self.store.state_path.clone();
        let r = self.store.state.begin_read().at(&p)?;
        let index = r.open_table(INDEX).at(&p)?;
        let count = index.len().at(&p)? as usize;
        self.index.reserve(count);
        // (height, hash) of every entry, to derive completeness parents first.
        let mut by_height = Vec::with_capacity(count);
        for item in index.iter().at(&p)? {
            let (k, v) = item.at(&p)?;
            let entry = IndexEntry::decode(v.value())
                .map_err(|e| self.corrupt(format!("block index entry: {e}")))?;
            let hash = BlockHash(k.value());
            if entry.hash() != hash {
                return Err(self.corrupt("block index entry under the wrong hash"));
            }
            self.next_seq = self.next_seq.max(entry.seq + 1);
            by_height.push((entry.height(), hash));
            self.index.insert(hash, entry);
        }
        let active_table = r.open_table(ACTIVE).at(&p)?;
        let mut active = Vec::with_capacity(active_table.len().at(&p)? as usize);
        for (height, item) in active_table.iter().at(&p)?.enumerate() {
            let (k, v) = item.at(&p)?;
            if k.value() != height as u64 {
                return Err(self.corrupt("gap in the active chain"));
            }
            active.push(BlockHash(v.value()));
        }
        let meta = r.open_table(META).at(&p)?;
        let tip = meta.get(KEY_TIP).at(&p)?.map(|v| v.value().to_vec());
        let utxo_best = meta.get(KEY_UTXO_BEST).at(&p)?.map(|v| v.value().to_vec());
        drop((index, active_table, meta, r));

        let genesis = self.params.genesis().hash();
        if self.index.get(&genesis).is_none_or(|e| e.height() != 0) {
            return Err(self.corrupt("the block index does not start at this chain's genesis"));
        }
        if active.first() != Some(&genesis)
            || tip.as_deref() != active.last().map(|h| h.0.as_slice())
        {
            return Err(self.corrupt("the tip does not match the active chain"));
        }
        for (height, hash) in active.iter().enumerate() {
            match self.index.get(hash) {
                Some(e)
                    if e.height() == height as u64
                        && e.validity == Validity::Valid
                        && e.has_data => {}
                _ => {
                    return Err(self.corrupt(format!(
                        "active block {hash} at height {height} is not a valid indexed block"
                    )));
                }
            }
        }
        self.active = active;
        self.utxo_best = match utxo_best {
            Some(bytes) => BlockHash(
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| self.corrupt("malformed utxo best block"))?,
            ),
            // Schema 1 wrote the unspent outputs with every block: they reflect the tip.
            None if self.store.state_schema < 2 => self.upgrade_schema_1()?,
            None => return Err(self.corrupt("no utxo best block")),
        };

        // Parents before children: a block with data is complete when its parent is.
        by_height.sort_unstable();
        let tip_work = self.index[&self.tip()].chainwork;
        for (height, hash) in by_height {
            let e = &self.index[&hash];
            if !e.has_data {
                continue;
            }
            let parent = e.header.prev_hash;
            if height == 0 || self.is_complete(&parent) {
                if !e.validity.is_invalid() && e.chainwork >= tip_work {
                    self.candidates.insert((Reverse(e.chainwork), e.seq, hash));
                }
            } else {
                self.incomplete.insert(hash);
                self.unlinked.entry(parent).or_default().push(hash);
            }
        }
        tracing::info!(height = self.height(), tip = %self.tip(), blocks = self.index.len(), "chain state loaded");
        Ok(())
    }

    /// A schema-1 store kept its unspent outputs at the tip: records that, and the new schema.
    fn upgrade_schema_1(&mut self) -> Result<BlockHash> {
        let p = self.store.state_path.clone();
        let tip = self.tip();
        let w = self.begin_state_write()?;
        {
            let mut meta = w.open_table(META).at(&p)?;
            meta.insert(KEY_UTXO_BEST, tip.0.as_slice()).at(&p)?;
            meta.insert(KEY_SCHEMA, SCHEMA_VERSION.to_le_bytes().as_slice())
                .at(&p)?;
        }
        w.commit().at(&p)?;
        self.store.flush()?;
        self.store.state_schema = SCHEMA_VERSION;
        tracing::info!(
            file = %p.display(),
            "chain state upgraded to schema {SCHEMA_VERSION}"
        );
        Ok(tip)
    }

    /// Brings the unspent outputs from the utxo best block to the tip after a crash lost the
    /// cache: the active blocks after it are applied again (they were validated when first
    /// connected), then written.
    fn roll_forward(&mut self) -> Result<()> {
        if self.utxo_best == self.tip() {
            return Ok(());
        }
        let from = match self.index.get(&self.utxo_best) {
            Some(e) if self.is_active(&self.utxo_best) => e.height(),
            _ => {
                return Err(self.corrupt(format!(
                    "the unspent outputs reflect block {}, which is not on the active chain",
                    self.utxo_best
                )));
            }
        };
        let to = self.height();
        tracing::info!(
            from = from,
            to = to,
            "rolling the unspent outputs forward to the tip"
        );
        let started = Instant::now();
        let mut last_report = Instant::now();
        for height in from + 1..=to {
            let hash = self.active[height as usize];
            let block = self.read_stored_block(&hash)?;
            let additional = block
                .transactions
                .iter()
                .map(|t| t.inputs.len() + t.outputs.len())
                .sum();
            if self.cache_needs_flush_for(additional, block.transactions.len()) {
                self.flush_utxo(self.active[height as usize - 1])?;
            }
            for (i, tx) in block.transactions.iter().enumerate() {
                if i > 0 {
                    for input in &tx.inputs {
                        self.utxo.spend(input.prevout);
                    }
                }
                let txid = tx.txid();
                self.txindex_cache
                    .insert(txid, tx_location_value(&hash, i as u32));
                for (vout, output) in tx.outputs.iter().enumerate() {
                    self.utxo.add(
                        OutPoint {
                            txid,
                            vout: vout as u32,
                        },
                        Coin {
                            output: *output,
                            height,
                            is_coinbase: i == 0,
                        },
                    );
                }
            }
            if last_report.elapsed().as_secs() >= 2 {
                tracing::info!(
                    "roll-forward: height {height} of {to} ({:.1}%), {:.0} blocks/s",
                    100.0 * (height - from) as f64 / (to - from) as f64,
                    (height - from) as f64 / started.elapsed().as_secs_f64().max(1e-9)
                );
                last_report = Instant::now();
            }
        }
        self.flush_utxo(self.tip())?;
        tracing::info!(
            blocks = to - from,
            seconds = started.elapsed().as_secs_f64(),
            "unspent outputs rolled forward"
        );
        Ok(())
    }

    /// The block and all its ancestors have data.
    fn is_complete(&self, hash: &BlockHash) -> bool {
        self.index.get(hash).is_some_and(|e| e.has_data) && !self.incomplete.contains(hash)
    }

    /// Work of the tip (zero before the active chain is set).
    fn tip_work(&self) -> U256 {
        self.active
            .last()
            .and_then(|t| self.index.get(t))
            .map_or(U256::ZERO, |e| e.chainwork)
    }

    /// Adds a new entry to the in-memory index (and, when it and its ancestors have data, to
    /// the candidates).
    fn insert_entry_in_memory(&mut self, hash: BlockHash, entry: IndexEntry) {
        let has_data = entry.has_data;
        self.changes += 1;
        self.index.insert(hash, entry);
        if has_data {
            self.data_arrived(hash);
        }
    }

    /// The block `hash` (in the index) now has data: it is complete when its parent is, and
    /// then so are the blocks that waited for it; the valid ones with enough work become
    /// candidates.
    fn data_arrived(&mut self, hash: BlockHash) {
        let Some(e) = self.index.get(&hash) else {
            return;
        };
        let parent = e.header.prev_hash;
        if e.height() != 0 && !self.is_complete(&parent) {
            self.incomplete.insert(hash);
            self.unlinked.entry(parent).or_default().push(hash);
            return;
        }
        let tip_work = self.tip_work();
        let mut queue = VecDeque::from([hash]);
        while let Some(h) = queue.pop_front() {
            self.incomplete.remove(&h);
            let Some(e) = self.index.get(&h) else {
                continue;
            };
            if !e.validity.is_invalid() && e.chainwork >= tip_work {
                self.candidates.insert((Reverse(e.chainwork), e.seq, h));
            }
            if let Some(kids) = self.unlinked.remove(&h) {
                queue.extend(kids);
            }
        }
    }

    /// Rebuilds the candidates from the index: every complete block that is not invalid and
    /// has at least the tip's work.
    fn rebuild_candidates(&mut self) {
        let tip_work = self.tip_work();
        self.candidates = self
            .index
            .iter()
            .filter(|(h, e)| {
                e.has_data
                    && !e.validity.is_invalid()
                    && e.chainwork >= tip_work
                    && !self.incomplete.contains(*h)
            })
            .map(|(h, e)| (Reverse(e.chainwork), e.seq, *h))
            .collect();
        self.candidates_stale = false;
    }

    /// Drops the candidates with less work than the tip.
    fn prune_candidates(&mut self) {
        let tip_work = self.tip_work();
        while let Some(last) = self.candidates.last() {
            if last.0.0 < tip_work {
                self.candidates.pop_last();
            } else {
                break;
            }
        }
    }

    /// `root` and every known descendant of it, parents before children.
    fn descendants(&self, root: BlockHash) -> Vec<BlockHash> {
        let Some(base) = self.index.get(&root).map(IndexEntry::height) else {
            return vec![];
        };
        let mut above: Vec<(u64, BlockHash)> = self
            .index
            .iter()
            .filter(|(_, e)| e.height() > base)
            .map(|(h, e)| (e.height(), *h))
            .collect();
        above.sort_unstable();
        let mut found = HashSet::from([root]);
        let mut out = vec![root];
        for (_, h) in above {
            if found.contains(&self.index[&h].header.prev_hash) {
                found.insert(h);
                out.push(h);
            }
        }
        out
    }

    // ---- reading ----

    /// The chain's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Hash of the active tip.
    pub fn tip(&self) -> BlockHash {
        *self
            .active
            .last()
            .expect("the active chain holds at least genesis")
    }

    /// Height of the active tip.
    pub fn height(&self) -> u64 {
        (self.active.len() - 1) as u64
    }

    /// The index entry of a block.
    pub fn entry(&self, hash: &BlockHash) -> Option<&IndexEntry> {
        self.index.get(hash)
    }

    /// The active block at `height`.
    pub fn hash_at(&self, height: u64) -> Option<BlockHash> {
        self.active.get(usize::try_from(height).ok()?).copied()
    }

    /// True when `hash` is on the active chain.
    pub fn is_active(&self, hash: &BlockHash) -> bool {
        self.index
            .get(hash)
            .is_some_and(|e| self.hash_at(e.height()) == Some(*hash))
    }

    /// Number of headers known (the height of the best known header chain that is not invalid).
    pub fn best_header_height(&self) -> u64 {
        self.index
            .values()
            .filter(|e| !e.validity.is_invalid())
            .map(IndexEntry::height)
            .max()
            .unwrap_or(0)
    }

    /// The most-work header that is not known invalid (the tip when none has more work), and
    /// its height: what headers-first sync downloads towards. One pass over the index.
    pub fn best_header(&self) -> (BlockHash, u64) {
        let tip = self.tip();
        let mut best = (self.index[&tip].chainwork, tip, self.height());
        for (hash, e) in self.index.iter() {
            if e.chainwork > best.0 && !e.validity.is_invalid() {
                best = (e.chainwork, *hash, e.height());
            }
        }
        (best.1, best.2)
    }

    /// A stored block.
    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>> {
        let Some(bytes) = self.store.get_block(hash)? else {
            return Ok(None);
        };
        let block: Block = decode(&bytes).map_err(|e| ChainError::Corrupt {
            path: self.store.blocks_path.clone(),
            detail: format!("stored block {hash} does not decode: {e}"),
            hint: "",
        })?;
        if block.hash() != *hash {
            return Err(ChainError::Corrupt {
                path: self.store.blocks_path.clone(),
                detail: format!("stored block {hash} has another hash"),
                hint: "",
            });
        }
        Ok(Some(block))
    }

    /// An unspent output of the active chain.
    pub fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>> {
        if let Some(e) = self.utxo.get(outpoint) {
            return Ok(e.coin);
        }
        let p = self.store.state_path.clone();
        let r = self.store.state.begin_read().at(&p)?;
        let t = r.open_table(UTXO).at(&p)?;
        match t.get(outpoint_key(outpoint)).at(&p)? {
            None => Ok(None),
            Some(v) => decode_coin(&v.value())
                .map(Some)
                .ok_or_else(|| self.corrupt("malformed unspent output")),
        }
    }

    /// Entries of the unspent-output cache (changes not yet written to redb) and the heap
    /// bytes it holds.
    pub fn utxo_cache_usage(&self) -> (usize, usize) {
        (self.utxo.len(), self.utxo.memory())
    }

    /// The block of the active chain the stored (flushed) unspent outputs reflect.
    pub fn utxo_best_block(&self) -> BlockHash {
        self.utxo_best
    }

    /// The active block holding a transaction and its position there.
    pub fn tx_location(&self, txid: &Txid) -> Result<Option<(BlockHash, u32)>> {
        let decode = |v: &[u8; 36]| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&v[..32]);
            (
                BlockHash(hash),
                u32::from_le_bytes([v[32], v[33], v[34], v[35]]),
            )
        };
        if let Some(v) = self.txindex_cache.get(txid) {
            return Ok(Some(decode(v)));
        }
        let p = self.store.state_path.clone();
        let r = self.store.state.begin_read().at(&p)?;
        let t = r.open_table(TXINDEX).at(&p)?;
        Ok(t.get(txid.0).at(&p)?.map(|v| decode(&v.value())))
    }

    /// True when a block of `outputs_and_inputs` coin changes and `txs` transactions would take
    /// the caches past their budgets: the unspent outputs (half of `--dbcache`) or the
    /// transaction-index entries (an eighth).
    fn cache_needs_flush_for(&self, outputs_and_inputs: usize, txs: usize) -> bool {
        self.utxo.needs_flush_for(outputs_and_inputs)
            || (!self.txindex_cache.is_empty()
                && (self.txindex_cache.len() + txs).saturating_mul(TXINDEX_ENTRY_BYTES)
                    > self.cache_bytes / 8)
    }

    /// Bytes of the two store files.
    pub fn size_on_disk(&self) -> u64 {
        [&self.store.blocks_path, &self.store.state_path]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// The changes of the active chain since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<ChainEvent> {
        std::mem::take(&mut self.events)
    }

    /// A number that changes whenever the block index or the active chain does (a block or
    /// header arrives, a block is connected or disconnected, blocks are marked invalid or
    /// reconsidered).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Every indexed block at `min_height` or above, with its entry (the explorer's tree).
    pub fn entries_from_height(&self, min_height: u64) -> Vec<(BlockHash, &IndexEntry)> {
        self.index
            .iter()
            .filter(|(_, e)| e.height() >= min_height)
            .map(|(h, e)| (*h, e))
            .collect()
    }

    /// The coins an active block spent from its parent's set, in spending order (its undo
    /// data); `None` for a block that is not connected.
    pub fn spent_coins(&self, hash: &BlockHash) -> Result<Option<Vec<(OutPoint, Coin)>>> {
        let p = self.store.state_path.clone();
        let r = self.store.state.begin_read().at(&p)?;
        let t = r.open_table(UNDO).at(&p)?;
        match t.get(hash.0).at(&p)? {
            None => Ok(None),
            Some(v) => decode_undo(v.value())
                .map(Some)
                .ok_or_else(|| self.corrupt(format!("undo data of block {hash} malformed"))),
        }
    }

    /// True when the chain state keeps the address index.
    pub fn has_address_index(&self) -> bool {
        self.address_index
    }

    fn address_read(&self) -> Result<redb::ReadTransaction> {
        if !self.address_index {
            return Err(ChainError::AddressIndexOff);
        }
        self.store.state.begin_read().at(&self.store.state_path)
    }

    /// An address's totals on the active chain (all zero for an address never paid).
    pub fn address_totals(&self, pubkey: &[u8; 32]) -> Result<AddressTotals> {
        let r = self.address_read()?;
        addrindex::totals(&r, &self.store.state_path, pubkey)
    }

    /// Up to `limit` unspent outputs of an address, newest first.
    pub fn address_unspent(&self, pubkey: &[u8; 32], limit: usize) -> Result<Vec<AddressCoin>> {
        let r = self.address_read()?;
        addrindex::unspent(&r, &self.store.state_path, pubkey, limit)
    }

    /// An address's history below height `before`, newest first: `limit` entries, completed
    /// to the end of the last height shown (at most `hard_limit`).
    pub fn address_history(
        &self,
        pubkey: &[u8; 32],
        before: u64,
        limit: usize,
        hard_limit: usize,
    ) -> Result<Vec<AddressMove>> {
        let r = self.address_read()?;
        addrindex::history(
            &r,
            &self.store.state_path,
            pubkey,
            before,
            limit,
            hard_limit,
        )
    }

    /// Number of orphan blocks held.
    pub fn orphan_count(&self) -> usize {
        self.orphans.len()
    }

    // ---- accepting ----

    /// Accepts a header (headers-first sync): checks it and adds it to the index.
    pub fn accept_header(&mut self, header: &BlockHeader, now: u64) -> Result<BlockHash> {
        let hash = header.hash();
        if let Some(e) = self.index.get(&hash) {
            return match e.validity {
                Validity::Failed(Failure::Rule(r)) => Err(ChainError::Rejected(r)),
                Validity::Failed(Failure::Manual) | Validity::FailedParent => {
                    Err(ChainError::Rejected(RejectReason::BadPrevblk))
                }
                _ => Ok(hash),
            };
        }
        self.check_and_index_header(header, now)
    }

    fn check_and_index_header(&mut self, header: &BlockHeader, now: u64) -> Result<BlockHash> {
        let hash = header.hash();
        match check_header(header, &self.params, &*self, now) {
            Ok(checked) => {
                let parent = &self.index[&header.prev_hash];
                let entry = IndexEntry {
                    header: *header,
                    chainwork: parent.chainwork + checked.work,
                    validity: Validity::Header,
                    has_data: false,
                    validated_once: false,
                    seq: 0,
                    block1_time: if header.height == 1 {
                        header.time
                    } else {
                        parent.block1_time
                    },
                    size: 0,
                    tx_count: 0,
                };
                self.persist_entries(&[(hash, entry.clone())])?;
                self.insert_entry_in_memory(hash, entry);
                Ok(hash)
            }
            Err(reason) => {
                // Headers with valid proof of work and a known parent that break a later rule
                // are remembered as invalid, so that their descendants are refused cheaply.
                // Bad proof of work costs nothing to make and an early time may be fine later.
                let remember = matches!(
                    reason,
                    RejectReason::BadPrevblk
                        | RejectReason::BadHeight
                        | RejectReason::BadDiffbits
                        | RejectReason::TimeTooOld
                );
                if remember {
                    let parent = &self.index[&header.prev_hash];
                    let entry = IndexEntry {
                        header: *header,
                        chainwork: parent.chainwork,
                        validity: if reason == RejectReason::BadPrevblk {
                            Validity::FailedParent
                        } else {
                            Validity::Failed(Failure::Rule(reason))
                        },
                        has_data: false,
                        validated_once: false,
                        seq: 0,
                        block1_time: parent.block1_time,
                        size: 0,
                        tx_count: 0,
                    };
                    self.persist_entries(&[(hash, entry.clone())])?;
                    self.insert_entry_in_memory(hash, entry);
                }
                Err(ChainError::Rejected(reason))
            }
        }
    }

    /// Accepts a block as received from a peer or `submitblock`: checks it, stores it, moves
    /// to the best valid chain, and connects orphans waiting for it.
    pub fn accept_block(&mut self, bytes: &[u8], now: u64) -> Result<BlockOutcome> {
        let outcome = self.accept_one(bytes, now, true)?;
        if matches!(outcome, BlockOutcome::Active | BlockOutcome::SideBranch) {
            let hash = coinrs_core::hash::sha256(&bytes[..BlockHeader::SIZE]);
            self.connect_orphans(BlockHash(hash), now)?;
        }
        Ok(outcome)
    }

    fn connect_orphans(&mut self, parent: BlockHash, now: u64) -> Result<()> {
        let mut queue = VecDeque::from([parent]);
        while let Some(p) = queue.pop_front() {
            for bytes in self.orphans.take_children(&p) {
                let hash = BlockHash(coinrs_core::hash::sha256(&bytes[..BlockHeader::SIZE]));
                match self.accept_one(&bytes, now, true) {
                    Ok(BlockOutcome::Active | BlockOutcome::SideBranch) => queue.push_back(hash),
                    Ok(_) | Err(ChainError::Rejected(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    fn accept_one(&mut self, bytes: &[u8], now: u64, store_bytes: bool) -> Result<BlockOutcome> {
        let block: Block =
            decode(bytes).map_err(|_| ChainError::Rejected(RejectReason::BadBlkLength))?;
        let hash = block.hash();
        if let Some(e) = self.index.get(&hash) {
            if e.validity.is_invalid() {
                return Ok(BlockOutcome::DuplicateInvalid);
            }
            if e.has_data {
                return Ok(if self.is_active(&hash) || e.validity == Validity::Valid {
                    BlockOutcome::Duplicate
                } else {
                    BlockOutcome::DuplicateInconclusive
                });
            }
        } else if self.orphans.contains(&hash) {
            return Ok(BlockOutcome::Orphan);
        } else {
            match self.check_and_index_header(&block.header, now) {
                Ok(_) => {}
                Err(ChainError::Rejected(RejectReason::PrevBlkNotFound)) => {
                    self.orphans
                        .insert(hash, block.header.prev_hash, bytes.to_vec());
                    return Ok(BlockOutcome::Orphan);
                }
                Err(e) => return Err(e),
            }
        }
        let txids = match check_block_body(&block, bytes.len(), &self.params) {
            Ok(txids) => txids,
            Err(reason) => {
                // Only a body that its header commits to condemns the header: a wrong merkle
                // root may be a peer's mangling of a good block.
                if block.compute_merkle_root() == block.header.merkle_root {
                    self.mark_failed(hash, Failure::Rule(reason))?;
                }
                return Err(ChainError::Rejected(reason));
            }
        };
        if store_bytes {
            self.store.put_block(&hash, bytes)?;
        }
        let mut entry = self.index[&hash].clone();
        entry.has_data = true;
        entry.seq = self.next_seq;
        entry.size = bytes.len() as u32;
        entry.tx_count = block.transactions.len() as u32;
        self.persist_entries(&[(hash, entry.clone())])?;
        self.next_seq += 1;
        self.index.insert(hash, entry);
        self.data_arrived(hash);
        // Most blocks are connected right away: spare the connect reading, decoding and
        // hashing them again.
        self.just_stored = Some((hash, block, txids));
        let activated = self.activate_best_chain();
        self.just_stored = None;
        activated?;
        let e = &self.index[&hash];
        if let Validity::Failed(Failure::Rule(reason)) = e.validity {
            return Err(ChainError::Rejected(reason));
        }
        Ok(if self.is_active(&hash) {
            BlockOutcome::Active
        } else {
            BlockOutcome::SideBranch
        })
    }

    fn persist_entries(&mut self, entries: &[(BlockHash, IndexEntry)]) -> Result<()> {
        let p = self.store.state_path.clone();
        let w = self.begin_state_write()?;
        {
            let mut index = w.open_table(INDEX).at(&p)?;
            for (hash, entry) in entries {
                index.insert(hash.0, entry.encode().as_slice()).at(&p)?;
            }
        }
        w.commit().at(&p)?;
        self.note_dirty(entries.len() * 200)
    }

    /// Counts bytes committed without fsync; at a quarter of the budget they are made durable
    /// (redb cannot reuse the pages that non-durable commits free before a durable one).
    fn note_dirty(&mut self, bytes: usize) -> Result<()> {
        self.dirty_bytes += bytes;
        if self.dirty_bytes > self.cache_bytes / 4 {
            self.sync()?;
        }
        Ok(())
    }

    /// Makes every commit so far durable (fsync of both files).
    fn sync(&mut self) -> Result<()> {
        self.store.flush()?;
        self.dirty_bytes = 0;
        Ok(())
    }

    /// Makes every block connected or disconnected so far durable (fsync): after a crash the
    /// node restarts at this tip or a later one. The unspent-output cache is written too when
    /// its oldest change is older than ten minutes; otherwise it stays in memory (a crash
    /// loses nothing: its changes are rolled forward from the durable blocks at open). Called
    /// by the node on a timer and after blocks it mined or was sent.
    pub fn flush(&mut self) -> Result<()> {
        if self
            .utxo
            .dirty_since()
            .is_some_and(|t| t.elapsed() >= UTXO_FLUSH_AGE)
        {
            self.flush_utxo(self.tip())
        } else {
            self.sync()
        }
    }

    /// [`Chain::flush`] and the unspent-output cache written: nothing is left to roll forward.
    /// For a clean stop (also done when the chain is dropped).
    pub fn flush_all(&mut self) -> Result<()> {
        self.flush_utxo(self.tip())
    }

    /// Writes the unspent-output cache, which reflects block `best` of the active chain, to
    /// redb with `best` as the utxo best block in one write transaction, makes everything
    /// durable and empties the cache.
    fn flush_utxo(&mut self, best: BlockHash) -> Result<()> {
        if best == self.utxo_best && self.utxo.is_empty() && self.txindex_cache.is_empty() {
            return self.sync();
        }
        let p = self.store.state_path.clone();
        let changes = self.utxo.sorted_changes();
        let w = self.begin_state_write()?;
        {
            let mut utxo = w.open_table(UTXO).at(&p)?;
            for (key, value) in &changes {
                match value {
                    Some(v) => {
                        utxo.insert(key, v).at(&p)?;
                    }
                    None => {
                        utxo.remove(key).at(&p)?;
                    }
                }
            }
            let mut txs: Vec<_> = self.txindex_cache.iter().collect();
            txs.sort_unstable_by_key(|(txid, _)| txid.0);
            let mut txindex = w.open_table(TXINDEX).at(&p)?;
            for (txid, location) in txs {
                txindex.insert(txid.0, location).at(&p)?;
            }
            let mut meta = w.open_table(META).at(&p)?;
            meta.insert(KEY_UTXO_BEST, best.0.as_slice()).at(&p)?;
        }
        w.commit().at(&p)?;
        self.utxo_best = best;
        self.utxo.clear();
        let txs = self.txindex_cache.len();
        self.txindex_cache = HashMap::new();
        tracing::debug!(entries = changes.len(), txs, best = %best, "unspent-output cache written");
        self.sync()
    }

    // ---- the best chain ----

    /// Moves to the valid chain with the most work: disconnects to the fork point and connects
    /// the new branch block by block; a block that fails is marked (with its descendants) and
    /// the search starts again, so the node ends on the best chain that is valid.
    pub fn activate_best_chain(&mut self) -> Result<()> {
        loop {
            if self.candidates_stale {
                self.rebuild_candidates();
            }
            let Some(&(_, _, best)) = self.candidates.first() else {
                return Ok(());
            };
            if best == self.tip() {
                self.prune_candidates();
                return Ok(());
            }
            let best_work = self.index[&best].chainwork;
            let tip_work = self.index[&self.tip()].chainwork;
            let tip_is_candidate = self.candidates.contains(&(
                Reverse(tip_work),
                self.index[&self.tip()].seq,
                self.tip(),
            ));
            if tip_is_candidate && best_work <= tip_work && self.is_active(&best) {
                self.prune_candidates();
                return Ok(());
            }
            let fork = self.fork_point(&best);
            let path = self.path_from(&fork, &best);
            let depth = self.height() - self.index[&fork].height();
            if depth > 0 {
                tracing::info!(from = %self.tip(), to = %best, depth, "reorganising");
            }
            while self.tip() != fork {
                self.disconnect_tip()?;
            }
            for hash in path {
                match self.connect(&hash) {
                    Ok(()) => {}
                    Err(ChainError::Rejected(reason)) => {
                        tracing::warn!(block = %hash, %reason, "invalid block on the best chain");
                        self.mark_failed(hash, Failure::Rule(reason))?;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }

    /// The last block of the active chain that is an ancestor of `hash`.
    fn fork_point(&self, hash: &BlockHash) -> BlockHash {
        let mut cursor = *hash;
        while !self.is_active(&cursor) {
            cursor = self.index[&cursor].header.prev_hash;
        }
        cursor
    }

    /// The blocks after `from` up to and including `to`, oldest first.
    fn path_from(&self, from: &BlockHash, to: &BlockHash) -> Vec<BlockHash> {
        let mut path = Vec::new();
        let mut cursor = *to;
        while cursor != *from {
            path.push(cursor);
            cursor = self.index[&cursor].header.prev_hash;
        }
        path.reverse();
        path
    }

    fn read_stored_block(&self, hash: &BlockHash) -> Result<Block> {
        self.block(hash)?.ok_or_else(|| ChainError::Corrupt {
            path: self.store.blocks_path.clone(),
            detail: format!("block {hash} is indexed as stored but missing"),
            hint: "",
        })
    }

    /// Connects a child of the tip in one write transaction: its undo data, its transactions
    /// in the index, the active chain and the tip; then its changes of the unspent outputs go
    /// to the cache (which is written first if they would take it past its budget).
    fn connect(&mut self, hash: &BlockHash) -> Result<()> {
        let (block, txids) = match self.just_stored.take() {
            Some((h, block, txids)) if h == *hash => (block, txids),
            other => {
                self.just_stored = other;
                let block = self.read_stored_block(hash)?;
                let txids = check_block_body(&block, block.encoded_size(), &self.params)
                    .map_err(ChainError::Rejected)?;
                (block, txids)
            }
        };
        let p = self.store.state_path.clone();
        let additional = block
            .transactions
            .iter()
            .map(|t| t.inputs.len() + t.outputs.len())
            .sum();
        if self.cache_needs_flush_for(additional, txids.len()) {
            self.flush_utxo(self.tip())?;
        }
        let w = self.begin_state_write()?;
        let effects;
        let undo = {
            let utxo = w.open_table(UTXO).at(&p)?;
            // The other rules first; their signature checks start on the pool as each
            // transaction passes, and finish while this thread writes the changes. A failure
            // of another rule is checked again with real verification, so that the reason is
            // the one a sequential check gives.
            let streaming = StreamingVerifier::default();
            effects = {
                let view = CachedView::new(&self.utxo, &utxo);
                let mut result =
                    connect_transactions_with(&block, &txids, &self.params, &view, &streaming);
                if result.is_err() {
                    streaming.finish();
                    result = connect_transactions_with(
                        &block,
                        &txids,
                        &self.params,
                        &view,
                        &ParallelVerifier,
                    );
                }
                if let Some(e) = view.error.into_inner() {
                    streaming.finish();
                    return Err(storage_error(&p, e));
                }
                result.map_err(ChainError::Rejected)?
            };
            drop(utxo);
            let written = (|| -> Result<()> {
                let undo = encode_undo(&effects.spent);
                let mut undo_t = w.open_table(UNDO).at(&p)?;
                undo_t.insert(hash.0, undo.as_slice()).at(&p)?;
                if self.merkle_index {
                    crate::content::index_block(&w, &p, hash, &txids)?;
                }
                let mut active = w.open_table(ACTIVE).at(&p)?;
                active.insert(block.header.height, hash.0).at(&p)?;
                let mut entry = self.index[hash].clone();
                entry.validity = Validity::Valid;
                entry.validated_once = true;
                let mut index = w.open_table(INDEX).at(&p)?;
                index.insert(hash.0, entry.encode().as_slice()).at(&p)?;
                let mut meta = w.open_table(META).at(&p)?;
                meta.insert(KEY_TIP, hash.0.as_slice()).at(&p)?;
                if self.address_index {
                    addrindex::connect(
                        &w,
                        &p,
                        &block,
                        &txids,
                        &effects.spent,
                        block.header.height,
                    )?;
                }
                Ok(())
            })();
            // The cache takes the block's changes while the pool finishes, and gives them
            // back if the block fails or its commit does.
            let undo = self.utxo.apply_block(&effects.spent, &effects.created);
            let sigs_ok = streaming.finish();
            if let Err(e) = written {
                self.utxo.revert(undo);
                return Err(e);
            }
            if !sigs_ok {
                self.utxo.revert(undo);
                return Err(ChainError::Rejected(RejectReason::BadTxnsSig));
            }
            undo
        };
        if let Err(e) = w.commit().at(&p) {
            self.utxo.revert(undo);
            return Err(e);
        }
        // The transaction index follows the cache: written at its flush.
        self.txindex_cache.reserve(txids.len());
        for (pos, txid) in txids.iter().enumerate() {
            self.txindex_cache
                .insert(*txid, tx_location_value(hash, pos as u32));
        }
        if let Some(e) = self.index.get_mut(hash) {
            e.validity = Validity::Valid;
            e.validated_once = true;
        }
        self.active.push(*hash);
        self.changes += 1;
        self.events.push(ChainEvent::Connected(*hash));
        self.note_dirty(effects.spent.len() * 90 + txids.len() * 70 + 300)
    }

    /// Disconnects the tip in one write transaction, restoring the coins it spent. The cache
    /// is written first, so the stored unspent outputs are those of the tip and the utxo best
    /// block moves back with it.
    fn disconnect_tip(&mut self) -> Result<()> {
        let hash = self.tip();
        let height = self.height();
        if height == 0 {
            return Err(ChainError::Genesis);
        }
        if self.utxo_best != hash || !self.utxo.is_empty() || !self.txindex_cache.is_empty() {
            self.flush_utxo(hash)?;
        }
        let block = self.read_stored_block(&hash)?;
        let p = self.store.state_path.clone();
        let w = self.begin_state_write()?;
        {
            let mut undo_t = w.open_table(UNDO).at(&p)?;
            let undo = undo_t
                .remove(hash.0)
                .at(&p)?
                .and_then(|v| decode_undo(v.value()))
                .ok_or_else(|| {
                    self.corrupt(format!("undo data of block {hash} missing or malformed"))
                })?;
            let mut utxo = w.open_table(UTXO).at(&p)?;
            let mut txindex = w.open_table(TXINDEX).at(&p)?;
            for tx in &block.transactions {
                let txid = tx.txid();
                for vout in 0..tx.outputs.len() as u32 {
                    utxo.remove(outpoint_key(&OutPoint { txid, vout })).at(&p)?;
                }
                txindex.remove(txid.0).at(&p)?;
            }
            if self.merkle_index {
                let txids: Vec<Txid> = block.transactions.iter().map(|t| t.txid()).collect();
                crate::content::unindex_block(&w, &p, &txids)?;
            }
            for (op, coin) in &undo {
                utxo.insert(outpoint_key(op), encode_coin(coin)).at(&p)?;
            }
            let mut active = w.open_table(ACTIVE).at(&p)?;
            active.remove(height).at(&p)?;
            let mut meta = w.open_table(META).at(&p)?;
            let parent = block.header.prev_hash;
            meta.insert(KEY_TIP, parent.0.as_slice()).at(&p)?;
            meta.insert(KEY_UTXO_BEST, parent.0.as_slice()).at(&p)?;
            drop((undo_t, utxo, txindex, active, meta));
            if self.address_index {
                addrindex::disconnect(&w, &p, &block, &undo, height)?;
            }
        }
        w.commit().at(&p)?;
        self.changes += 1;
        self.active.pop();
        self.utxo_best = block.header.prev_hash;
        // The tip lost work: blocks pruned from the candidates may be candidates again.
        self.candidates_stale = true;
        self.events.push(ChainEvent::Disconnected(hash));
        self.note_dirty(block.encoded_size())
    }

    /// Marks `hash` failed and its descendants as descending from a failed block, removing
    /// them from the candidates; persisted in one transaction.
    fn mark_failed(&mut self, hash: BlockHash, failure: Failure) -> Result<()> {
        let mut changed = Vec::new();
        for h in self.descendants(hash) {
            let mut e = self.index[&h].clone();
            e.validity = if h == hash {
                Validity::Failed(failure)
            } else {
                Validity::FailedParent
            };
            changed.push((h, e));
        }
        self.persist_entries(&changed)?;
        for (h, e) in &changed {
            self.candidates.remove(&(Reverse(e.chainwork), e.seq, *h));
        }
        for (h, e) in changed {
            self.index.insert(h, e);
        }
        self.changes += 1;
        Ok(())
    }

    /// `invalidateblock`: marks the block invalid (with its descendants), leaves the active
    /// chain if it is on it, and moves to the best remaining valid chain.
    pub fn invalidate_block(&mut self, hash: &BlockHash) -> Result<()> {
        let entry = self
            .index
            .get(hash)
            .ok_or_else(|| ChainError::UnknownBlock(hash.to_string()))?;
        if entry.height() == 0 {
            return Err(ChainError::Genesis);
        }
        if self.is_active(hash) {
            let parent_height = entry.height() - 1;
            while self.height() > parent_height {
                self.disconnect_tip()?;
            }
        }
        self.mark_failed(*hash, Failure::Manual)?;
        self.activate_best_chain()
    }

    /// `reconsiderblock`: clears the failure marks of the block, its descendants and its
    /// ancestors (back to `Valid` for blocks that were connected once, else to checked
    /// header), then moves to the best valid chain (which may fail them again).
    pub fn reconsider_block(&mut self, hash: &BlockHash) -> Result<()> {
        if !self.index.contains_key(hash) {
            return Err(ChainError::UnknownBlock(hash.to_string()));
        }
        let mut changed = Vec::new();
        for h in self.descendants(*hash) {
            let e = &self.index[&h];
            if e.validity.is_invalid() {
                changed.push((h, cleared(e)));
            }
        }
        let mut cursor = self.index[hash].header.prev_hash;
        while let Some(e) = self.index.get(&cursor) {
            if e.validity.is_invalid() {
                changed.push((cursor, cleared(e)));
            }
            if e.height() == 0 {
                break;
            }
            cursor = e.header.prev_hash;
        }
        self.persist_entries(&changed)?;
        for (h, e) in changed {
            self.index.insert(h, e);
        }
        self.changes += 1;
        self.candidates_stale = true;
        self.activate_best_chain()
    }

    /// `getchaintips`: every block without children, and the active tip.
    pub fn chain_tips(&self) -> Vec<ChainTip> {
        let parents: HashSet<BlockHash> = self
            .index
            .values()
            .filter(|e| e.height() > 0)
            .map(|e| e.header.prev_hash)
            .collect();
        let mut tips: Vec<ChainTip> = self
            .index
            .iter()
            .filter(|(h, _)| !parents.contains(*h) || **h == self.tip())
            .map(|(h, e)| {
                let fork = self.fork_point(h);
                let branch_len = e.height() - self.index[&fork].height();
                let status = if *h == self.tip() {
                    TipStatus::Active
                } else if e.validity.is_invalid() {
                    TipStatus::Invalid
                } else {
                    let path = self.path_from(&fork, h);
                    if path.iter().any(|p| !self.index[p].has_data) {
                        TipStatus::HeadersOnly
                    } else if path
                        .iter()
                        .all(|p| self.index[p].validity == Validity::Valid)
                    {
                        TipStatus::ValidFork
                    } else {
                        TipStatus::ValidHeaders
                    }
                };
                ChainTip {
                    height: e.height(),
                    hash: *h,
                    branch_len,
                    status,
                }
            })
            .collect();
        tips.sort_by_key(|t| (Reverse(t.height), t.hash));
        tips
    }

    // ---- checking and rebuilding ----

    /// Hash and totals of the whole unspent-output set of the tip: the stored outputs with the
    /// cache's changes over them.
    pub fn utxo_stats(&self) -> Result<UtxoStats> {
        let p = self.store.state_path.clone();
        let r = self.store.state.begin_read().at(&p)?;
        let t = r.open_table(UTXO).at(&p)?;
        let mut stats = StatsHasher::default();
        merged_stats(&self.utxo, &t, &mut stats).map_err(|e| match e {
            MergeError::Storage(e) => storage_error(&p, e),
            MergeError::Malformed => self.corrupt("malformed unspent output"),
        })?;
        let (count, total, hash) = stats.finish();
        Ok(UtxoStats { count, total, hash })
    }

    /// The same summary computed by replaying the stored blocks of the active chain from
    /// genesis, independent of the stored unspent outputs and undo data.
    pub fn replay_utxo_stats(&self) -> Result<UtxoStats> {
        let mut set: BTreeMap<[u8; 36], [u8; 49]> = BTreeMap::new();
        for (height, hash) in self.active.iter().enumerate().skip(1) {
            let block = self.read_stored_block(hash)?;
            for (i, tx) in block.transactions.iter().enumerate() {
                for input in &tx.inputs {
                    set.remove(&outpoint_key(&input.prevout));
                }
                let txid = tx.txid();
                for (vout, output) in tx.outputs.iter().enumerate() {
                    let coin = Coin {
                        output: *output,
                        height: height as u64,
                        is_coinbase: i == 0,
                    };
                    set.insert(
                        outpoint_key(&OutPoint {
                            txid,
                            vout: vout as u32,
                        }),
                        encode_coin(&coin),
                    );
                }
            }
        }
        let mut stats = StatsHasher::default();
        for (k, v) in &set {
            stats.add(k, v);
        }
        let (count, total, hash) = stats.finish();
        Ok(UtxoStats { count, total, hash })
    }

    /// `verifychain`: checks the last `depth` active blocks (0: all) as stored (they decode,
    /// hash to their key, pass the body rules, and have undo data matching their inputs), then
    /// compares the stored unspent outputs with a replay of the chain.
    pub fn verify_chain(&self, depth: u64) -> Result<()> {
        let depth = if depth == 0 {
            self.height()
        } else {
            depth.min(self.height())
        };
        let p = self.store.state_path.clone();
        let r = self.store.state.begin_read().at(&p)?;
        let undo_t = r.open_table(UNDO).at(&p)?;
        for height in (self.height() + 1 - depth)..=self.height() {
            let hash = self.active[height as usize];
            let block = self.read_stored_block(&hash)?;
            check_block_body(&block, block.encoded_size(), &self.params)
                .map_err(|r| self.corrupt(format!("active block {hash} breaks {r}")))?;
            let undo = undo_t
                .get(hash.0)
                .at(&p)?
                .and_then(|v| decode_undo(v.value()))
                .ok_or_else(|| {
                    self.corrupt(format!("undo data of block {hash} missing or malformed"))
                })?;
            // The undo data holds the coins taken from the parent's set: inputs spending an
            // output created earlier in the same block are not in it.
            let created: HashSet<Txid> = block.transactions.iter().map(|t| t.txid()).collect();
            let inputs = block
                .transactions
                .iter()
                .flat_map(|t| &t.inputs)
                .filter(|i| !created.contains(&i.prevout.txid))
                .count();
            if undo.len() != inputs {
                return Err(self.corrupt(format!(
                    "undo data of block {hash} does not match its inputs"
                )));
            }
        }
        if self.utxo_stats()? != self.replay_utxo_stats()? {
            return Err(self.corrupt("the unspent outputs differ from a replay of the chain"));
        }
        Ok(())
    }

    /// Rebuilds the index and the chain state from the stored blocks, in height order, as if
    /// each came from a peer (full validation), with a progress line.
    fn reindex(&mut self, now: u64) -> Result<()> {
        let hashes = self.store.block_hashes()?;
        let mut headers = Vec::with_capacity(hashes.len());
        for hash in &hashes {
            if let Some(bytes) = self.store.get_block(hash)? {
                match decode::<BlockHeader>(&bytes[..BlockHeader::SIZE.min(bytes.len())]) {
                    Ok(h) if h.hash() == *hash => headers.push((h.height, *hash)),
                    _ => {
                        tracing::warn!(block = %hash, "skipping a stored block that does not decode")
                    }
                }
            }
        }
        headers.sort();
        let total = headers.len();
        let started = Instant::now();
        let mut last_report = Instant::now();
        tracing::info!(blocks = total, "reindexing from the stored blocks");
        for (done, (_, hash)) in headers.into_iter().enumerate() {
            if self.index.contains_key(&hash) {
                continue;
            }
            let Some(bytes) = self.store.get_block(&hash)? else {
                continue;
            };
            match self.accept_one(&bytes, now, false) {
                Ok(BlockOutcome::Orphan) => {}
                Ok(_) => self.connect_orphans(hash, now)?,
                Err(ChainError::Rejected(reason)) => {
                    tracing::warn!(block = %hash, %reason, "stored block is invalid");
                }
                Err(e) => return Err(e),
            }
            if last_report.elapsed().as_secs() >= 2 || done + 1 == total {
                let rate = (done + 1) as f64 / started.elapsed().as_secs_f64().max(1e-9);
                tracing::info!(
                    "reindex: {}/{} blocks ({:.1}%), height {}, {:.0} blocks/s",
                    done + 1,
                    total,
                    100.0 * (done + 1) as f64 / total.max(1) as f64,
                    self.height(),
                    rate
                );
                last_report = Instant::now();
            }
        }
        self.flush_all()
    }
}

/// An entry with its failure mark cleared.
/// Bytes one cached transaction-index entry takes (key, value, hashbrown's slot overhead and
/// free slots).
const TXINDEX_ENTRY_BYTES: usize = 128;

/// A transaction's location as the index stores it: block hash, then position (u32 LE).
fn tx_location_value(block: &BlockHash, pos: u32) -> [u8; 36] {
    let mut v = [0u8; 36];
    v[..32].copy_from_slice(&block.0);
    v[32..].copy_from_slice(&pos.to_le_bytes());
    v
}

fn cleared(e: &IndexEntry) -> IndexEntry {
    let mut e = e.clone();
    e.validity = if e.validated_once {
        Validity::Valid
    } else {
        Validity::Header
    };
    e
}

impl ParentContext for Chain {
    fn parent(&self, hash: &BlockHash) -> Option<ParentState> {
        let entry = self.index.get(hash)?;
        if entry.validity.is_invalid() {
            return Some(ParentState::Invalid);
        }
        let mut recent_times = Vec::with_capacity(11);
        let mut cursor = Some(entry);
        while let Some(e) = cursor {
            recent_times.push(e.header.time);
            if recent_times.len() == 11 || e.height() == 0 {
                break;
            }
            cursor = self.index.get(&e.header.prev_hash);
        }
        Some(ParentState::Valid(ParentInfo {
            height: entry.height(),
            time: entry.header.time,
            recent_times,
            block1_time: entry.block1_time,
        }))
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        // A chain refused at open has no active chain and nothing to write.
        if self.active.is_empty() {
            return;
        }
        if let Err(e) = self.flush_all() {
            tracing::error!(error = %e, "could not flush the chain state at close");
        }
    }
}
