//! # coinrs-miner-core
//!
//! Mining threads: each takes a block template from a [`WorkSource`], grinds its nonces with
//! the core's SHA-256 midstate grinder, hands a solved block back, and starts over on a new
//! tip. Synchronous (std threads); the node provides the templates and the chain.
//!
//! Tasks: `threads` grinding threads, each owning a disjoint nonce range; they stop when the
//! [`Miner`] is stopped or dropped. (Templates with mempool transactions and the external
//! `coinrs-miner` arrive with the mining issue.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use coinrs_core::BlockHash;
use coinrs_core::block::Block;
use coinrs_core::midstate::HeaderGrinder;
use coinrs_core::pow::{bits_to_target, target_to_be_bytes};

/// Where templates come from and solved blocks go.
pub trait WorkSource: Send + Sync + 'static {
    /// A block to solve on the current best tip (nonce free), or `None` if none can be made now.
    fn template(&self) -> Option<Block>;
    /// True once `parent` is no longer the tip (the template is stale).
    fn is_stale(&self, parent: &BlockHash) -> bool;
    /// A solved block.
    fn submit(&self, block: Block);
}

/// Nonces tried between checks for a stale template or a stop: about 70 ms at 58 M tries/s.
const CHUNK: u64 = 1 << 22;
/// A template is rebuilt at least this often: new mempool transactions get in, and block
/// times stay close to the clock.
const REFRESH: Duration = Duration::from_secs(3);

/// Running mining threads.
#[derive(Debug)]
pub struct Miner {
    stop: Arc<AtomicBool>,
    tries: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Miner {
    /// Starts `threads` grinding threads on `source`.
    pub fn start(source: Arc<dyn WorkSource>, threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let tries = Arc::new(AtomicU64::new(0));
        let threads = (0..threads.max(1))
            .map(|i| {
                let (source, stop, tries) =
                    (Arc::clone(&source), Arc::clone(&stop), Arc::clone(&tries));
                std::thread::Builder::new()
                    .name(format!("miner-{i}"))
                    .spawn(move || grind_loop(&*source, &stop, &tries, i as u64))
                    .expect("spawn a mining thread")
            })
            .collect();
        Miner {
            stop,
            tries,
            threads,
        }
    }

    /// Nonces tried so far by all threads.
    pub fn tries(&self) -> u64 {
        self.tries.load(Ordering::Relaxed)
    }

    /// Stops the threads and waits for them.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.halt();
    }
}

fn grind_loop(source: &dyn WorkSource, stop: &AtomicBool, tries: &AtomicU64, lane: u64) {
    // Each thread owns 1/256 of the nonce space.
    let base = lane.wrapping_mul(1 << 56);
    while !stop.load(Ordering::Acquire) {
        let Some(mut block) = source.template() else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        let Ok(target) = bits_to_target(block.header.bits) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        let target = target_to_be_bytes(&target);
        let parent = block.header.prev_hash;
        let grinder = HeaderGrinder::new(&block.header.to_bytes());
        let started = Instant::now();
        let mut next = base;
        loop {
            if stop.load(Ordering::Acquire)
                || source.is_stale(&parent)
                || started.elapsed() > REFRESH
            {
                break;
            }
            let found = grinder.grind(next, CHUNK, &target);
            tries.fetch_add(CHUNK, Ordering::Relaxed);
            if let Some((nonce, _)) = found {
                block.header.nonce = nonce;
                tracing::info!(height = block.header.height, hash = %block.hash(), "mined a block");
                source.submit(block);
                break;
            }
            next = next.wrapping_add(CHUNK);
        }
    }
}
