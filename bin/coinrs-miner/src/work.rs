//! Work over JSON-RPC: a [`WorkSource`] for the mining threads of `coinrs-miner-core`, fed by
//! a loop that polls the node.
//!
//! The loop (run on the main thread by [`Poller::run`]) asks `getbestblockhash` every
//! [`POLL`], fetches a new `getblocktemplate` when the tip moves or every [`REFRESH`] (new
//! mempool transactions, a fresh time), and hands the solved blocks in with `submitblock`.
//! Each new template gets a new generation number; a thread grinding an older generation
//! finds its work stale and takes the new one. Grinding threads never talk to the node.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use coinrs_client::{Auth, Client, Failure, FailureKind};
use coinrs_core::block::Block;
use coinrs_core::{BlockHash, Hash};
use coinrs_miner_core::{Miner, WorkSource};
use serde_json::{Value, json};

use crate::log;
use crate::template::Template;

/// How often the tip is checked.
pub const POLL: Duration = Duration::from_millis(300);
/// How often the template is fetched again on an unchanged tip.
pub const REFRESH: Duration = Duration::from_secs(5);
/// How long to wait before trying an unreachable node again.
pub const RETRY: Duration = Duration::from_secs(1);
/// How often the hash rate is logged.
pub const RATE_EVERY: Duration = Duration::from_secs(10);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Current {
    /// Bumped at each new template and when the current one is withdrawn.
    generation: u64,
    /// The unsolved block of the current template, if there is one to mine.
    block: Option<Block>,
}

/// What each grinding thread was last handed: the generation and how often.
#[derive(Debug, Clone, Copy)]
struct Handed {
    generation: u64,
    times: u64,
}

/// The current work, shared by the grinding threads and the poller.
#[derive(Debug)]
pub struct RpcWork {
    current: Mutex<Current>,
    handed: Mutex<HashMap<ThreadId, Handed>>,
    solved: Mutex<Sender<Block>>,
}

impl RpcWork {
    /// New, without work; solved blocks arrive on the returned receiver.
    pub fn new() -> (Self, Receiver<Block>) {
        let (sender, receiver) = channel();
        let work = RpcWork {
            current: Mutex::new(Current::default()),
            handed: Mutex::new(HashMap::new()),
            solved: Mutex::new(sender),
        };
        (work, receiver)
    }

    /// Replaces the work with `block` (unsolved).
    pub fn set(&self, block: Block) {
        let mut current = lock(&self.current);
        current.generation += 1;
        current.block = Some(block);
    }

    /// Withdraws the work: the threads wait until there is a new one.
    pub fn clear(&self) {
        let mut current = lock(&self.current);
        if current.block.is_some() {
            current.generation += 1;
            current.block = None;
        }
    }

    /// The parent of the current work.
    pub fn parent(&self) -> Option<BlockHash> {
        lock(&self.current)
            .block
            .as_ref()
            .map(|b| b.header.prev_hash)
    }

    fn handed_here(&self) -> Option<Handed> {
        lock(&self.handed)
            .get(&std::thread::current().id())
            .copied()
    }
}

impl WorkSource for RpcWork {
    fn template(&self) -> Option<Block> {
        let current = lock(&self.current);
        let mut block = current.block.clone()?;
        let mut handed = lock(&self.handed);
        let entry = handed.entry(std::thread::current().id()).or_insert(Handed {
            generation: current.generation,
            times: 0,
        });
        if entry.generation == current.generation {
            // The same work again for this thread: it has been through its nonces (or the
            // miner-core's own refresh came first); a later time gives it fresh headers.
            block.header.time += entry.times;
            entry.times += 1;
        } else {
            *entry = Handed {
                generation: current.generation,
                times: 1,
            };
        }
        Some(block)
    }

    fn is_stale(&self, _parent: &BlockHash) -> bool {
        let generation = lock(&self.current).generation;
        self.handed_here()
            .is_none_or(|handed| handed.generation != generation)
    }

    fn submit(&self, block: Block) {
        let mut current = lock(&self.current);
        // Only the first solution of a generation goes to the node: after it, the others
        // would be siblings of the same height.
        let mine = self
            .handed_here()
            .is_some_and(|handed| handed.generation == current.generation);
        if mine && current.block.is_some() {
            current.generation += 1;
            current.block = None;
            let _ = lock(&self.solved).send(block);
        }
    }
}

/// The loop that keeps the work current, hands blocks in and logs.
#[derive(Debug)]
pub struct Poller {
    client: Client,
    auth: Auth,
    pubkey: [u8; 32],
    /// The tip the current template builds on.
    tip: Option<Hash>,
    fetched: Option<Instant>,
    /// The credentials must be (re)read before the next call.
    login: bool,
    /// The failure being retried, and when it was last logged.
    failing: Option<(String, Instant)>,
}

impl Poller {
    /// A poller paying `pubkey`, logging in with `auth` (re-read after a refused login or a
    /// lost connection, since the node writes a new cookie at each start).
    pub fn new(client: Client, auth: Auth, pubkey: [u8; 32]) -> Self {
        Poller {
            client,
            auth,
            pubkey,
            tip: None,
            fetched: None,
            login: true,
            failing: None,
        }
    }

    /// Runs forever: keeps `work` current and submits what `solved` brings.
    pub fn run(&mut self, work: &RpcWork, solved: &Receiver<Block>, miner: &Miner) -> ! {
        let mut rate_since = (Instant::now(), miner.tries());
        loop {
            let result = if self.login {
                self.log_in().and_then(|()| self.step(work))
            } else {
                self.step(work)
            };
            match result {
                Ok(()) => {
                    if self.failing.take().is_some() {
                        log(&format!(
                            "connected to the node at {}",
                            self.client.endpoint().authority()
                        ));
                    }
                }
                Err(failure) => {
                    work.clear();
                    self.tip = None;
                    self.report(&failure);
                    std::thread::sleep(RETRY);
                    self.login = true;
                    continue;
                }
            }
            match solved.recv_timeout(POLL) {
                Ok(block) => {
                    self.submit(&block);
                    // Build on the new tip at once.
                    self.tip = None;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
            }
            let elapsed = rate_since.0.elapsed();
            if elapsed >= RATE_EVERY {
                let tries = miner.tries();
                let rate = (tries - rate_since.1) as f64 / elapsed.as_secs_f64();
                log(&format!("hash rate {}", crate::bench::format_rate(rate)));
                rate_since = (Instant::now(), tries);
            }
        }
    }

    /// One check of the tip; a new template if it moved or the current one is old.
    fn step(&mut self, work: &RpcWork) -> Result<(), Failure> {
        let best = self.client.call("getbestblockhash", vec![])?;
        let best = best
            .as_str()
            .and_then(|h| h.parse::<BlockHash>().ok())
            .ok_or_else(|| Failure::rpc(format!("getbestblockhash answered {best}")))?;
        let old = self.fetched.is_none_or(|at| at.elapsed() >= REFRESH);
        if self.tip == Some(best.0) && !old && work.parent().is_some() {
            return Ok(());
        }
        let answer = self.client.call("getblocktemplate", vec![])?;
        let template = Template::from_json(&answer)
            .map_err(|e| Failure::rpc(format!("error: unusable block template: {e}")))?;
        if self.tip != Some(template.previous.0) {
            log(&format!(
                "mining block {} on {} ({} transactions from the mempool)",
                template.height,
                template.previous,
                template.transactions.len()
            ));
        }
        self.tip = Some(template.previous.0);
        self.fetched = Some(Instant::now());
        work.set(template.block(self.pubkey));
        Ok(())
    }

    fn submit(&mut self, block: &Block) {
        let hash = block.hash();
        let hex = hex::encode(block.encode());
        let answer = match self.client.call("submitblock", vec![json!(hex)]) {
            Ok(Value::Null) => "accepted".to_string(),
            Ok(Value::String(reason)) => format!("not accepted: {reason}"),
            Ok(other) => format!("answered {other}"),
            Err(failure) => format!("failed: {}", failure.message.replace('\n', " ")),
        };
        log(&format!(
            "found block {} at height {} (nonce {}, {} transactions); submitblock: {answer}",
            hash,
            block.header.height,
            block.header.nonce,
            block.transactions.len()
        ));
    }

    /// Logs a failure when it is new, then every 10 seconds while it lasts.
    fn report(&mut self, failure: &Failure) {
        let what = match failure.kind {
            FailureKind::Unreachable => format!(
                "cannot reach the node at {} (is coinrsd running? check --rpcconnect/--rpcport)",
                self.client.endpoint().authority()
            ),
            _ => failure.message.replace('\n', " "),
        };
        let due = match &self.failing {
            Some((last, at)) => *last != what || at.elapsed() >= Duration::from_secs(10),
            None => true,
        };
        if due {
            log(&format!("{what}; retrying every second"));
            self.failing = Some((what, Instant::now()));
        }
    }

    /// Reads the credentials (again: the node writes a new cookie at each start).
    fn log_in(&mut self) -> Result<(), Failure> {
        let (user, password) = self.auth.credentials()?;
        self.client.set_credentials(&user, &password);
        self.login = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::block::BlockHeader;

    fn block(parent: u8) -> Block {
        Block {
            header: BlockHeader {
                version: 1,
                height: 1,
                prev_hash: BlockHash([parent; 32]),
                merkle_root: [0; 32],
                time: 1000,
                bits: 0x207f_ffff,
                nonce: 0,
            },
            transactions: vec![],
        }
    }

    #[test]
    fn new_work_makes_the_old_stale_and_one_solution_goes_out() {
        let (work, solved) = RpcWork::new();
        assert!(work.template().is_none());
        work.set(block(1));
        let first = work.template().unwrap();
        assert_eq!(first.header.time, 1000);
        assert!(!work.is_stale(&first.header.prev_hash));
        // Handed again to the same thread: a later time, so no header is ground twice.
        assert_eq!(work.template().unwrap().header.time, 1001);
        work.set(block(2));
        assert!(work.is_stale(&first.header.prev_hash));
        let second = work.template().unwrap();
        assert_eq!(second.header.time, 1000);
        assert!(!work.is_stale(&second.header.prev_hash));
        work.submit(second.clone());
        assert_eq!(solved.try_recv().unwrap(), second);
        // Solved: the work is withdrawn, and a second solution of it is not sent.
        assert!(work.is_stale(&second.header.prev_hash));
        assert!(work.template().is_none());
        work.submit(second);
        assert!(solved.try_recv().is_err());
        work.set(block(3));
        work.clear();
        assert!(work.template().is_none());
        assert_eq!(work.parent(), None);
    }

    #[test]
    fn another_threads_work_is_its_own() {
        let (work, _solved) = RpcWork::new();
        work.set(block(1));
        let here = work.template().unwrap();
        let work = std::sync::Arc::new(work);
        let other = std::sync::Arc::clone(&work);
        let there = std::thread::spawn(move || {
            // Not handed anything yet on this thread: stale until it asks.
            let stale_before = other.is_stale(&BlockHash([1; 32]));
            let block = other.template().unwrap();
            (
                stale_before,
                block.header.time,
                other.is_stale(&block.header.prev_hash),
            )
        })
        .join()
        .unwrap();
        assert_eq!(there, (true, 1000, false));
        assert!(!work.is_stale(&here.header.prev_hash));
    }
}
