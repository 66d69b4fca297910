//! Crash safety (issue 4): a real `coinrsd` is killed with SIGKILL at random moments while a
//! driver thread makes it connect blocks, reorganise, take side branches and flush. After
//! every restart the whole unspent-output set the node reports (`gettxoutsetinfo`) is compared
//! with one computed here, independently, by replaying the stored active chain block by
//! block; `verifychain 4 0` must pass, the node must come back with at least every block a
//! completed `generatetoaddress` / `generateblock` made durable, and its tip must be the
//! most-work valid tip it knows.
//!
//! The choices (waits, operations, depths) come from one seeded RNG whose seed is printed:
//! `CRASH_SEED=<seed>` replays them (the timing of a kill against the node's work cannot be
//! replayed exactly). `CRASH_KILLS=<n>` sets the number of kills (default 100).
//!
//! Run with `cargo build --bins && cargo test -p coinrs-node --test crash -- --nocapture`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coinrs_core::address::encode_address;
use coinrs_core::block::{Block, BlockHeader};
use coinrs_core::build::build_child;
use coinrs_core::encode::decode;
use coinrs_core::hash::sha256;
use coinrs_core::params::ChainParams;
use coinrs_core::sig::{SigningKey, sign_transaction};
use coinrs_core::{COIN, OutPoint, Transaction, TxIn, TxOut};
use coinrs_testkit::{Node, RpcError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Kills when `CRASH_KILLS` is not set.
const DEFAULT_KILLS: usize = 100;
/// Blocks mined before the first kill, so that coinbase outputs (maturity 100) can be spent.
const INITIAL_BLOCKS: u64 = 105;
/// At this height the driver invalidates a block 30..60 below the tip (for good), so that the
/// active chain, and every replay, stays small.
const HEIGHT_CAP: u64 = 250;
/// The killer waits this many milliseconds (inclusive range) after the driver starts.
const KILL_AFTER_MS: (u64, u64) = (20, 400);
const COINBASE_MATURITY: u64 = 100;

// ---- what the driver is doing ----

/// The driver's current work, read by the killer just before SIGKILL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Activity {
    /// Between calls: local work (building and grinding blocks, signing).
    Local = 0,
    /// `generatetoaddress` 1..5 on the tip (connects and a flush per block).
    Generate,
    /// `invalidateblock` of a block 1..10 below the tip (disconnects, maybe a reorganisation).
    Invalidate,
    /// `generatetoaddress` on the branch left after an invalidation.
    ReorgGenerate,
    /// `reconsiderblock` (a reorganisation back when the old branch is heavier).
    Reconsider,
    /// `submitblock` of a side-branch block (stores it; a reorganisation when it outgrows).
    SubmitBlock,
    /// `generateblock` with a transaction spending earlier outputs (connect with undo, flush).
    GenerateBlock,
    /// Read-only calls (heights, hashes, headers, blocks, gettxout).
    Query,
    /// `invalidateblock` 30..60 below the tip at the height cap (a deep disconnect).
    Trim,
}

const ACTIVITIES: [Activity; 9] = [
    Activity::Local,
    Activity::Generate,
    Activity::Invalidate,
    Activity::ReorgGenerate,
    Activity::Reconsider,
    Activity::SubmitBlock,
    Activity::GenerateBlock,
    Activity::Query,
    Activity::Trim,
];

impl Activity {
    fn from_u8(v: u8) -> Activity {
        ACTIVITIES[usize::from(v).min(ACTIVITIES.len() - 1)]
    }

    fn name(self) -> &'static str {
        match self {
            Activity::Local => "local work between calls",
            Activity::Generate => "generatetoaddress (connect+flush)",
            Activity::Invalidate => "invalidateblock (disconnect/reorg)",
            Activity::ReorgGenerate => "generatetoaddress on the other branch",
            Activity::Reconsider => "reconsiderblock (reorg back)",
            Activity::SubmitBlock => "submitblock side branch (store/reorg)",
            Activity::GenerateBlock => "generateblock with a spend (connect+undo+flush)",
            Activity::Query => "read-only query",
            Activity::Trim => "invalidateblock 30..60 deep (long disconnect)",
        }
    }
}

/// Shared by the driver and the killer for one run of the node.
#[derive(Debug)]
struct Shared {
    activity: AtomicU8,
    stop: AtomicBool,
}

/// The driver's calls failed: the node is gone (or the killer asked it to stop).
#[derive(Debug)]
struct Dead {
    at: Instant,
    during: Activity,
    detail: String,
}

type Step<T> = Result<T, Dead>;

// ---- state the driver keeps across kills ----

#[derive(Debug)]
struct Driver {
    params: ChainParams,
    rng: StdRng,
    /// Pays `generatetoaddress`, `generateblock` and the spends.
    key_a: SigningKey,
    /// Pays the coinbases of side-branch blocks (so they never equal a generated block).
    key_b: SigningKey,
    /// Pays the new branch after an invalidation of a block paying key a.
    key_c: SigningKey,
    addr_a: String,
    addr_c: String,
    /// Every block seen, by hash (hex): blocks never change under their hash.
    blocks: HashMap<String, Block>,
    /// The lowest tip height the node may come back with: the height of the last block a
    /// completed generate call returned (each is flushed), lowered by every invalidation sent.
    bound: u64,
    /// The blocks the last completed generate call returned: durable, so known after a crash.
    durable: Vec<String>,
    /// Invalidated blocks not yet reconsidered.
    pending: Vec<String>,
    /// The tip height the driver last saw.
    last_height: u64,
    /// Calls completed, by kind.
    done: BTreeMap<Activity, u64>,
    /// Blocks whose submitblock answer was "inconclusive" / made active.
    side_blocks: u64,
    spends: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Driver {
    fn new(seed: u64) -> Self {
        let params = ChainParams::regtest();
        let key_a = SigningKey::from_secret_bytes([0x11; 32]).expect("key a");
        let key_b = SigningKey::from_secret_bytes([0x22; 32]).expect("key b");
        let key_c = SigningKey::from_secret_bytes([0x33; 32]).expect("key c");
        let addr_a = encode_address(&params.hrp, &key_a.public_key()).expect("address a");
        let addr_c = encode_address(&params.hrp, &key_c.public_key()).expect("address c");
        Driver {
            params,
            rng: StdRng::seed_from_u64(seed),
            key_a,
            key_b,
            key_c,
            addr_a,
            addr_c,
            blocks: HashMap::new(),
            bound: 0,
            durable: Vec::new(),
            pending: Vec::new(),
            last_height: 0,
            done: BTreeMap::new(),
            side_blocks: 0,
            spends: 0,
        }
    }

    fn key_for(&self, pubkey: &[u8; 32]) -> Option<SigningKey> {
        [self.key_a, self.key_b, self.key_c]
            .into_iter()
            .find(|k| k.public_key() == *pubkey)
    }
}

/// One run of the driver against one process.
struct Cycle<'a> {
    node: &'a Node,
    sh: &'a Shared,
    d: &'a mut Driver,
}

fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

impl Cycle<'_> {
    fn call(&self, act: Activity, method: &str, params: Value) -> Step<Result<Value, RpcError>> {
        if self.sh.stop.load(Ordering::SeqCst) {
            return Err(Dead {
                at: Instant::now(),
                during: act,
                detail: "stopped".into(),
            });
        }
        self.sh.activity.store(act as u8, Ordering::SeqCst);
        let result = self.node.call(method, params);
        self.sh
            .activity
            .store(Activity::Local as u8, Ordering::SeqCst);
        result.map_err(|e| Dead {
            at: Instant::now(),
            during: act,
            detail: format!("{method}: {e:#}"),
        })
    }

    /// A call that must succeed while the node lives.
    fn rpc(&mut self, act: Activity, method: &str, params: Value) -> Step<Value> {
        match self.call(act, method, params.clone())? {
            Ok(v) => {
                *self.d.done.entry(act).or_default() += 1;
                Ok(v)
            }
            Err(e) => panic!("{method} {params}: {e}"),
        }
    }

    fn height(&mut self) -> Step<u64> {
        let v = self.rpc(Activity::Query, "getblockcount", json!([]))?;
        Ok(v.as_u64().expect("a height"))
    }

    fn hash_at(&mut self, height: u64) -> Step<String> {
        let v = self.rpc(Activity::Query, "getblockhash", json!([height]))?;
        Ok(v.as_str().expect("a hash").to_string())
    }

    fn header(&mut self, hash: &str) -> Step<BlockHeader> {
        if let Some(b) = self.d.blocks.get(hash) {
            return Ok(b.header);
        }
        let v = self.rpc(Activity::Query, "getblockheader", json!([hash, false]))?;
        let text = v.as_str().expect("header hex");
        assert_eq!(text.len(), 192, "getblockheader false is 96 bytes");
        let header: BlockHeader =
            decode(&hex::decode(text).expect("hex")).expect("a header that decodes");
        assert_eq!(header.hash().to_string(), hash, "header hashes to its id");
        Ok(header)
    }

    fn block(&mut self, hash: &str) -> Step<Block> {
        if let Some(b) = self.d.blocks.get(hash) {
            return Ok(b.clone());
        }
        let v = self.rpc(Activity::Query, "getblock", json!([hash, 0]))?;
        let block = decode_block(v.as_str().expect("block hex"), hash);
        self.d.blocks.insert(hash.to_string(), block.clone());
        Ok(block)
    }

    fn unspent(&mut self, op: &OutPoint) -> Step<bool> {
        let v = self.rpc(
            Activity::Query,
            "gettxout",
            json!([op.txid.to_string(), op.vout]),
        )?;
        Ok(!v.is_null())
    }

    /// Records a completed generate call whose last block is at `height`: flushed, durable.
    fn durable(&mut self, hashes: Vec<String>, height: u64) {
        self.d.bound = self.d.bound.max(height);
        self.d.durable = hashes;
        self.d.last_height = height;
    }

    /// Until the node dies.
    fn run(mut self) -> Dead {
        loop {
            if let Err(dead) = self.step() {
                return dead;
            }
        }
    }

    fn step(&mut self) -> Step<()> {
        let tip = self.height()?;
        self.d.last_height = tip;
        if !self.d.pending.is_empty() && self.d.rng.random_range(0..8) == 0 {
            // An invalidation left over (by a kill, or on purpose): reconsider it.
            let i = self.d.rng.random_range(0..self.d.pending.len());
            let hash = self.d.pending.swap_remove(i);
            match self.call(Activity::Reconsider, "reconsiderblock", json!([hash]))? {
                Ok(_) => *self.d.done.entry(Activity::Reconsider).or_default() += 1,
                // A block lost in a crash before it was flushed.
                Err(e) if e.message.contains("not found") => {}
                Err(e) => panic!("reconsiderblock {hash}: {e}"),
            }
            return Ok(());
        }
        if tip >= HEIGHT_CAP {
            return self.trim(tip);
        }
        match self.d.rng.random_range(0..100) {
            0..35 => self.generate(tip),
            35..60 => self.reorg(tip),
            60..80 => self.side_branch(tip),
            _ => self.spend(tip).map(drop),
        }
    }

    /// (a) generatetoaddress 1..5: connects and a flush per block.
    fn generate(&mut self, tip: u64) -> Step<()> {
        let n = self.d.rng.random_range(1..=5u64);
        let addr = self.d.addr_a.clone();
        self.generate_to(Activity::Generate, n, addr, tip)?;
        Ok(())
    }

    /// generatetoaddress `n` blocks on the tip at `tip`; returns the height after it. Every
    /// block it returns was flushed, so the tip it leaves is durable.
    fn generate_to(&mut self, act: Activity, n: u64, addr: String, tip: u64) -> Step<u64> {
        let v = self.rpc(act, "generatetoaddress", json!([n, addr]))?;
        let hashes = hash_list(&v);
        assert_eq!(hashes.len() as u64, n, "generatetoaddress {n}: {v}");
        let best = self.rpc(Activity::Query, "getbestblockhash", json!([]))?;
        let height = self.height()?;
        // Every block it reports must have been connected (it once reported a block identical
        // to an invalidated one, mined again within the same second, as new).
        assert!(
            best.as_str() == hashes.last().map(String::as_str) && height == tip + n,
            "generatetoaddress {n} on height {tip} returned {hashes:?} but the tip is {best} at {height}"
        );
        self.durable(hashes, height);
        Ok(height)
    }

    /// (b) invalidateblock a few blocks below the tip, grow the other branch (past the old
    /// tip, or not as far so that the reconsider reorganises back), reconsiderblock.
    fn reorg(&mut self, tip: u64) -> Step<()> {
        if tip < 3 {
            return self.generate(tip);
        }
        let depth = self.d.rng.random_range(1..=10.min(tip - 1));
        let height = tip + 1 - depth;
        let target = self.hash_at(height)?;
        // The new branch pays another key than the invalidated block, so that its first block
        // is not that block again.
        let invalidated_payee = self.block(&target)?.transactions[0].outputs[0].pubkey;
        let addr = if invalidated_payee == self.d.key_a.public_key() {
            self.d.addr_c.clone()
        } else {
            self.d.addr_a.clone()
        };
        // From here the node may durably go below the old tip.
        self.d.bound = self.d.bound.min(height - 1);
        self.d.pending.push(target.clone());
        self.rpc(Activity::Invalidate, "invalidateblock", json!([target]))?;
        let mut cur = self.height()?;
        assert!(
            cur <= tip,
            "invalidating took the tip from {tip} up to {cur}"
        );
        self.d.last_height = cur;
        let outgrow = self.d.rng.random_bool(0.67);
        let mut want = if outgrow {
            tip + 1 - cur
        } else {
            self.d.rng.random_range(0..=tip - cur)
        };
        while want > 0 {
            if self.d.rng.random_bool(0.25) {
                // A spend on the new branch: its undo data is used if we reorganise back.
                if self.spend(cur)? {
                    cur += 1;
                    want -= 1;
                    continue;
                }
            }
            let n = self.d.rng.random_range(1..=want.min(5));
            let addr = addr.clone();
            let after = self.generate_to(Activity::ReorgGenerate, n, addr, cur)?;
            want = want.saturating_sub(after.saturating_sub(cur).max(1));
            cur = after;
        }
        if self.d.rng.random_bool(0.85) {
            self.rpc(Activity::Reconsider, "reconsiderblock", json!([target]))?;
            self.d.pending.retain(|h| *h != target);
        }
        Ok(())
    }

    /// (e) at the height cap: invalidateblock 30..60 blocks below the tip, for good (a deep
    /// disconnect), so that the active chain, and each replay, stays small.
    fn trim(&mut self, tip: u64) -> Step<()> {
        let depth = self.d.rng.random_range(30..=60);
        let height = tip + 1 - depth;
        let target = self.hash_at(height)?;
        self.d.bound = self.d.bound.min(height - 1);
        self.rpc(Activity::Trim, "invalidateblock", json!([target]))?;
        Ok(())
    }

    /// (c) a side branch of 1.. blocks on an active block 1..10 below the tip, built here and
    /// sent with submitblock; one that outgrows the active chain makes the node reorganise.
    fn side_branch(&mut self, tip: u64) -> Step<()> {
        if tip < 2 {
            return self.generate(tip);
        }
        let below = self.d.rng.random_range(1..=10.min(tip - 1));
        let fork = tip - below;
        let fork_hash = self.hash_at(fork)?;
        let mut parent = self.header(&fork_hash)?;
        let block1 = self.hash_at(1)?;
        let mut block1_time = self.header(&block1)?.time;
        let len = self.d.rng.random_range(1..=below + 2);
        for i in 0..len {
            let (txs, fees) = if i == 0 && self.d.rng.random_bool(0.4) {
                // Coins unspent at the tip and created at or below the fork are unspent on
                // the side branch too.
                let coins = self.pick_coins((fork + 1).checked_sub(COINBASE_MATURITY), fork)?;
                match self.make_tx(&coins) {
                    Some((tx, fee)) => (vec![tx], fee),
                    None => (vec![], 0),
                }
            } else {
                (vec![], 0)
            };
            let time = (parent.time + 1).max(now_secs()) + self.d.rng.random_range(0..3);
            let pubkey = self.d.key_b.public_key();
            let block = build_child(
                &self.d.params,
                &parent,
                block1_time,
                txs,
                fees,
                pubkey,
                time,
            );
            let hash = block.hash().to_string();
            let answer = self.rpc(
                Activity::SubmitBlock,
                "submitblock",
                json!([hex_of(&block.encode())]),
            )?;
            match answer.as_str() {
                None if answer.is_null() => {}
                Some("inconclusive" | "duplicate" | "duplicate-inconclusive") => {}
                // The same block was built before (same parent, payee and second) on a branch
                // that is invalid now: nothing to build on.
                Some("duplicate-invalid") => return Ok(()),
                _ => panic!(
                    "submitblock of side block {hash} (height {}): {answer}",
                    block.header.height
                ),
            }
            self.d.side_blocks += 1;
            if block.header.height == 1 {
                block1_time = block.header.time;
            }
            parent = block.header;
            self.d.blocks.insert(hash, block);
        }
        Ok(())
    }

    /// (d) generateblock with a transaction spending 1..2 outputs of the active chain. False
    /// when no spendable output was found.
    fn spend(&mut self, tip: u64) -> Step<bool> {
        let coins = self.pick_coins((tip + 1).checked_sub(COINBASE_MATURITY), tip)?;
        let Some((tx, _fee)) = self.make_tx(&coins) else {
            return Ok(false);
        };
        let addr = self.d.addr_a.clone();
        let v = self.rpc(
            Activity::GenerateBlock,
            "generateblock",
            json!([addr, [hex_of(&tx.encode())]]),
        )?;
        let hash = v["hash"].as_str().expect("generateblock hash").to_string();
        self.d.spends += 1;
        self.durable(vec![hash], tip + 1);
        Ok(true)
    }

    /// Up to two outputs of the active chain that are unspent at the tip: coinbase outputs
    /// created at most at `coinbase_max`, others at most at `other_max`.
    fn pick_coins(
        &mut self,
        coinbase_max: Option<u64>,
        other_max: u64,
    ) -> Step<Vec<(OutPoint, TxOut)>> {
        let want = self.d.rng.random_range(1..=2);
        let mut coins: Vec<(OutPoint, TxOut)> = Vec::new();
        if other_max == 0 {
            return Ok(coins);
        }
        for _ in 0..8 {
            if coins.len() >= want {
                break;
            }
            let height = self.d.rng.random_range(1..=other_max);
            let hash = self.hash_at(height)?;
            let block = self.block(&hash)?;
            let index = self.d.rng.random_range(0..block.transactions.len());
            if index == 0 && coinbase_max.is_none_or(|m| height > m) {
                continue;
            }
            let tx = &block.transactions[index];
            let vout = self.d.rng.random_range(0..tx.outputs.len()) as u32;
            let op = tx.outpoint(vout);
            let out = tx.outputs[vout as usize];
            if coins.iter().any(|(o, _)| *o == op) || self.d.key_for(&out.pubkey).is_none() {
                continue;
            }
            if self.unspent(&op)? {
                coins.push((op, out));
            }
        }
        Ok(coins)
    }

    /// A signed transaction spending `coins` to key a (one or two outputs) and its fee.
    fn make_tx(&mut self, coins: &[(OutPoint, TxOut)]) -> Option<(Transaction, u64)> {
        if coins.is_empty() {
            return None;
        }
        let total: u64 = coins.iter().map(|(_, o)| o.value).sum();
        let fee = self.d.rng.random_range(0..=total.min(10_000));
        let rest = total - fee;
        let pubkey = self.d.key_a.public_key();
        let outputs = if rest >= 2 && self.d.rng.random_bool(0.5) {
            vec![
                TxOut {
                    value: rest / 2,
                    pubkey,
                },
                TxOut {
                    value: rest - rest / 2,
                    pubkey,
                },
            ]
        } else {
            vec![TxOut {
                value: rest,
                pubkey,
            }]
        };
        let mut tx = Transaction {
            version: 1,
            inputs: coins
                .iter()
                .map(|(op, _)| TxIn {
                    prevout: *op,
                    signature: [0; 64],
                })
                .collect(),
            outputs,
            lock_time: 0,
        };
        let keys: Vec<SigningKey> = coins
            .iter()
            .map(|(_, o)| self.d.key_for(&o.pubkey).expect("our key"))
            .collect();
        let aux: [u8; 32] = self.d.rng.random();
        sign_transaction(&mut tx, &keys, &aux).expect("one key per input");
        Some((tx, fee))
    }
}

fn hash_list(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array of hashes")
        .iter()
        .map(|h| h.as_str().expect("a hash").to_string())
        .collect()
}

fn decode_block(hex_text: &str, hash: &str) -> Block {
    let bytes = hex::decode(hex_text).expect("block hex");
    let block: Block = decode(&bytes).expect("a stored block that decodes");
    assert_eq!(block.hash().to_string(), hash, "block hashes to its id");
    block
}

// ---- the independent replay ----

/// What one check found.
#[derive(Debug)]
struct Checked {
    height: u64,
    txouts: u64,
    tips: usize,
}

/// The unspent-output set of `chain` (blocks from height 1 up), hashed like gettxoutsetinfo:
/// SHA-256 over key (txid 32 | vout u32 BE) and value (value u64 LE | pubkey 32 | height u64
/// LE | coinbase 1) of every output in key order. Returns (count, total, hash hex).
fn replay(chain: &[&Block]) -> (u64, u128, String) {
    let mut set: BTreeMap<[u8; 36], [u8; 49]> = BTreeMap::new();
    for (i, block) in chain.iter().enumerate() {
        let height = i as u64 + 1;
        for (index, tx) in block.transactions.iter().enumerate() {
            for input in &tx.inputs {
                set.remove(&key_of(&input.prevout));
            }
            let txid = tx.txid();
            for (vout, out) in tx.outputs.iter().enumerate() {
                let mut value = [0u8; 49];
                value[..8].copy_from_slice(&out.value.to_le_bytes());
                value[8..40].copy_from_slice(&out.pubkey);
                value[40..48].copy_from_slice(&height.to_le_bytes());
                value[48] = u8::from(index == 0);
                set.insert(
                    key_of(&OutPoint {
                        txid,
                        vout: vout as u32,
                    }),
                    value,
                );
            }
        }
    }
    let mut bytes = Vec::with_capacity(set.len() * 85);
    let mut total = 0u128;
    for (k, v) in &set {
        bytes.extend_from_slice(k);
        bytes.extend_from_slice(v);
        total += u128::from(u64::from_le_bytes(v[..8].try_into().expect("8 bytes")));
    }
    (set.len() as u64, total, hex::encode(sha256(&bytes)))
}

fn key_of(op: &OutPoint) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(&op.txid.0);
    k[32..].copy_from_slice(&op.vout.to_be_bytes());
    k
}

fn amount_text(units: u128) -> String {
    let coin = u128::from(COIN);
    format!("{}.{:08}", units / coin, units % coin)
}

/// The last lines of the node's log, for a failure message.
fn log_tail(node: &Node) -> String {
    let text = std::fs::read_to_string(node.log_path()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn must(node: &Node, method: &str, params: Value) -> Value {
    match node.call(method, params.clone()) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!(
            "{method} {params}: {e}\n--- debug.log ---\n{}",
            log_tail(node)
        ),
        Err(e) => panic!(
            "{method} {params}: {e:#}\n--- debug.log ---\n{}",
            log_tail(node)
        ),
    }
}

/// Checks the restarted node against a replay of its own active chain.
fn check(node: &Node, d: &mut Driver, label: &str) -> Checked {
    let fail = |what: String| -> ! {
        panic!(
            "[{label}] {what}\n--- debug.log (tail) ---\n{}",
            log_tail(node)
        )
    };
    let info = must(node, "gettxoutsetinfo", json!([]));
    let height = must(node, "getblockcount", json!([]))
        .as_u64()
        .expect("height");
    let best = must(node, "getbestblockhash", json!([]))
        .as_str()
        .expect("hash")
        .to_string();
    if info["height"].as_u64() != Some(height) || info["bestblock"].as_str() != Some(&best) {
        fail(format!(
            "gettxoutsetinfo {info} is not about the tip {best} at {height}"
        ));
    }

    // The active chain as stored: each block by getblockhash + getblock hex, linked.
    let genesis = must(node, "getblockhash", json!([0]));
    let mut prev = d.params.genesis().hash().to_string();
    if genesis.as_str() != Some(&prev) {
        fail(format!(
            "getblockhash 0 is {genesis}, not the regtest genesis"
        ));
    }
    let mut hashes = Vec::with_capacity(height as usize);
    for h in 1..=height {
        let hash = must(node, "getblockhash", json!([h]))
            .as_str()
            .expect("hash")
            .to_string();
        if !d.blocks.contains_key(&hash) {
            let hex_text = must(node, "getblock", json!([hash, 0]));
            let block = decode_block(hex_text.as_str().expect("hex"), &hash);
            d.blocks.insert(hash.clone(), block);
        }
        let header = d.blocks[&hash].header;
        if header.height != h || header.prev_hash.to_string() != prev {
            fail(format!(
                "active block {hash} at {h} has height {} and parent {}, expected parent {prev}",
                header.height, header.prev_hash
            ));
        }
        prev = hash.clone();
        hashes.push(hash);
    }
    if prev != best {
        fail(format!(
            "the active chain ends at {prev}, the tip is {best}"
        ));
    }
    let chain: Vec<&Block> = hashes.iter().map(|h| &d.blocks[h]).collect();
    let (count, total, hash) = replay(&chain);
    let reported = (
        info["txouts"].as_u64(),
        info["total_amount"].to_string(),
        info["hash"].as_str().unwrap_or_default().to_string(),
    );
    let expected = (Some(count), amount_text(total), hash);
    if reported != expected {
        fail(format!(
            "the unspent outputs differ from a replay of the chain at {height}: node {reported:?}, replay {expected:?}"
        ));
    }

    if must(node, "verifychain", json!([4, 0])) != json!(true) {
        fail("verifychain 4 0 is false".into());
    }
    if height < d.bound {
        fail(format!(
            "the node came back at height {height}, below {} that a completed generate call made durable",
            d.bound
        ));
    }
    for hash in &d.durable {
        if !matches!(node.call("getblockheader", json!([hash])), Ok(Ok(_))) {
            fail(format!(
                "block {hash} returned by a completed generate call is unknown after the restart"
            ));
        }
    }

    // The active tip has the most work (every regtest block has the same work): no valid
    // branch may be higher.
    let tips = must(node, "getchaintips", json!([]));
    let tips = tips.as_array().expect("tips");
    let active: Vec<&Value> = tips.iter().filter(|t| t["status"] == "active").collect();
    if active.len() != 1 || active[0]["hash"].as_str() != Some(&best) {
        fail(format!("getchaintips' active tip is not {best}: {tips:?}"));
    }
    for t in tips {
        let status = t["status"].as_str().unwrap_or_default();
        if (status == "valid-fork" || status == "valid-headers")
            && t["height"].as_u64().unwrap_or(0) > height
        {
            fail(format!(
                "a {status} tip {} is higher than the active tip at {height}",
                t["hash"]
            ));
        }
    }
    Checked {
        height,
        txouts: count,
        tips: tips.len(),
    }
}

/// What the last start-up did after loading the chain state: whether it moved the tip
/// (finishing work a kill interrupted) and how many "reorganising" lines it logged.
fn startup_moves(node: &Node) -> (bool, usize) {
    let text = std::fs::read_to_string(node.log_path()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.contains("coinrsd starting"))
        .unwrap_or(0);
    let startup: Vec<&str> = lines[start..]
        .iter()
        .copied()
        .take_while(|l| !l.contains("JSON-RPC listening"))
        .collect();
    let tip_in = |marker: &str| {
        startup
            .iter()
            .find(|l| l.contains(marker))
            .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("tip=")))
            .map(str::to_string)
    };
    let moved = tip_in("chain state loaded") != tip_in("chain state ready");
    let reorgs = startup
        .iter()
        .filter(|l| l.contains("reorganising"))
        .count();
    (moved, reorgs)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn sigkill_during_connects_reorganisations_and_flushes_keeps_a_consistent_chain_state() {
    let started = Instant::now();
    let seed: u64 = env_or("CRASH_SEED", rand::rng().random());
    let kills: usize = env_or("CRASH_KILLS", DEFAULT_KILLS);
    println!("crash test: seed {seed} (CRASH_SEED={seed} replays the choices), {kills} kills");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut driver = Driver::new(rng.random());

    let mut node = Node::start("regtest", &[]).expect("start coinrsd");
    let v = node.rpc(
        "generatetoaddress",
        json!([INITIAL_BLOCKS, driver.addr_a.clone()]),
    );
    driver.durable = hash_list(&v);
    driver.bound = INITIAL_BLOCKS;
    let first = check(&node, &mut driver, "before the first kill");
    assert_eq!(first.height, INITIAL_BLOCKS);

    let mut by_activity: BTreeMap<Activity, u32> = BTreeMap::new();
    let mut restart_ms: Vec<u128> = Vec::new();
    let mut rolled_back = 0u32;
    let mut blocks_lost = 0u64;
    let mut finished_reorgs = 0usize;
    let mut moved_at_open = 0u32;
    let mut replay_ms = 0u128;
    let mut max_height = first.height;

    for round in 1..=kills {
        let wait = rng.random_range(KILL_AFTER_MS.0..=KILL_AFTER_MS.1);
        let shared = Shared {
            activity: AtomicU8::new(Activity::Local as u8),
            stop: AtomicBool::new(false),
        };
        let (activity, dead, killed_at) = std::thread::scope(|s| {
            let cycle = Cycle {
                node: &node,
                sh: &shared,
                d: &mut driver,
            };
            let handle = s.spawn(move || cycle.run());
            std::thread::sleep(Duration::from_millis(wait));
            let activity = Activity::from_u8(shared.activity.load(Ordering::SeqCst));
            let killed_at = Instant::now();
            node.signal("KILL").expect("SIGKILL coinrsd");
            shared.stop.store(true, Ordering::SeqCst);
            let dead = handle
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (activity, dead, killed_at)
        });
        assert!(
            dead.at >= killed_at,
            "round {round}: the node stopped answering before the kill ({:?}: {})\n--- debug.log ---\n{}",
            dead.during,
            dead.detail,
            log_tail(&node)
        );
        node.wait_exit(Duration::from_secs(10))
            .expect("coinrsd gone after SIGKILL");
        *by_activity.entry(activity).or_default() += 1;
        let before = driver.last_height;

        let t = Instant::now();
        if let Err(e) = node.restart(&[]) {
            panic!(
                "round {round}: coinrsd does not start after SIGKILL during {}: {e:#}\n--- debug.log ---\n{}",
                activity.name(),
                log_tail(&node)
            );
        }
        let ms = t.elapsed().as_millis();
        restart_ms.push(ms);
        let (moved, reorgs) = startup_moves(&node);
        finished_reorgs += reorgs;
        moved_at_open += u32::from(moved);

        let t = Instant::now();
        let checked = check(&node, &mut driver, &format!("round {round}"));
        replay_ms += t.elapsed().as_millis();
        max_height = max_height.max(checked.height);
        if checked.height < before {
            rolled_back += 1;
            blocks_lost += before - checked.height;
        }
        driver.last_height = checked.height;
        println!(
            "kill {round:>3} after {wait:>3} ms during {:<48} height seen {before:>3} -> {:>3} after restart ({ms} ms{}), {} utxos, {} tips: consistent",
            activity.name(),
            checked.height,
            if moved { ", open moved the tip" } else { "" },
            checked.txouts,
            checked.tips,
        );
    }

    // A clean stop and start keeps it too.
    node.stop().expect("stop coinrsd");
    node.restart(&[]).expect("restart coinrsd");
    let last = check(&node, &mut driver, "after a clean restart");

    restart_ms.sort_unstable();
    let median = restart_ms.get(restart_ms.len() / 2).copied().unwrap_or(0);
    println!("--- crash test summary (seed {seed}) ---");
    println!("kills: {kills}, all followed by a consistent restart");
    for (activity, n) in &by_activity {
        println!("  killed during {:<48} {n}", activity.name());
    }
    println!(
        "restart (spawn to first RPC answer): min {} ms, median {median} ms, max {} ms",
        restart_ms.first().copied().unwrap_or(0),
        restart_ms.last().copied().unwrap_or(0)
    );
    println!(
        "came back below the height the driver last saw: {rolled_back} times ({blocks_lost} blocks in all); start-ups that moved the tip after loading: {moved_at_open} ({finished_reorgs} reorganisations)"
    );
    println!("calls completed by the driver:");
    for (activity, n) in &driver.done {
        println!("  {:<48} {n}", activity.name());
    }
    println!(
        "side-branch blocks submitted: {}, spends mined with generateblock: {}, blocks seen: {}",
        driver.side_blocks,
        driver.spends,
        driver.blocks.len()
    );
    println!(
        "final height {} (max {max_height}), {} utxos, {} chain tips; replay checks took {replay_ms} ms in all; test {:.1} s",
        last.height,
        last.txouts,
        last.tips,
        started.elapsed().as_secs_f64()
    );
}
