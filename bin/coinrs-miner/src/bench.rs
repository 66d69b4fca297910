//! `--benchmark SECONDS`: the grinding threads on a header of zeros with an impossible
//! target, no node needed, and the rate they reach.
//!
//! The count is exact: at the deadline the work turns stale, each thread finishes (and
//! counts) its current chunk and parks; the time each thread was busy is recorded, so the
//! rate is the hashes over the busy time, not a sample of a counter that moves in chunks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use coinrs_core::BlockHash;
use coinrs_core::block::{Block, BlockHeader};
use coinrs_core::midstate::HeaderGrinder;
use coinrs_miner_core::{Miner, WorkSource};

/// Compact bits of target 1: no hash will meet it.
pub const IMPOSSIBLE_BITS: u32 = 0x0300_0001;

/// A header of zeros but for the impossible bits.
fn zeros() -> Block {
    Block {
        header: BlockHeader {
            version: 0,
            height: 0,
            prev_hash: BlockHash([0; 32]),
            merkle_root: [0; 32],
            time: 0,
            bits: IMPOSSIBLE_BITS,
            nonce: 0,
        },
        transactions: vec![],
    }
}

/// Always the same unsolvable work until the deadline, then none.
#[derive(Debug)]
struct Zeros {
    deadline: Instant,
    /// Per thread: when it first got work, and when it found none any more.
    busy: Mutex<HashMap<ThreadId, (Instant, Option<Instant>)>>,
}

impl WorkSource for Zeros {
    fn template(&self) -> Option<Block> {
        let now = Instant::now();
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = busy
            .entry(std::thread::current().id())
            .or_insert((now, None));
        if now < self.deadline {
            Some(zeros())
        } else {
            entry.1.get_or_insert(now);
            None
        }
    }
    fn is_stale(&self, _parent: &BlockHash) -> bool {
        Instant::now() >= self.deadline
    }
    fn submit(&self, _block: Block) {}
}

/// What a benchmark measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Benchmark {
    /// Hashes tried by all threads.
    pub hashes: u64,
    /// The time the threads spent grinding, added up.
    pub busy: Duration,
    /// Grinding threads.
    pub threads: usize,
    /// Whether the SHA-NI kernel was used.
    pub sha_ni: bool,
}

impl Benchmark {
    /// Hashes per second of one thread.
    pub fn rate_per_thread(&self) -> f64 {
        let secs = self.busy.as_secs_f64();
        if secs > 0.0 {
            self.hashes as f64 / secs
        } else {
            0.0
        }
    }

    /// Hashes per second, all threads together.
    pub fn rate(&self) -> f64 {
        self.rate_per_thread() * self.threads as f64
    }

    /// The line printed: total rate first, then the per-thread rate and the details.
    pub fn line(&self) -> String {
        format!(
            "{} ({} per thread, {} thread{}, {} hashes, {})",
            format_rate(self.rate()),
            format_rate(self.rate_per_thread()),
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.hashes,
            if self.sha_ni {
                "SHA-NI"
            } else {
                "portable SHA-256"
            }
        )
    }
}

/// A rate in hashes per second as `12.34 MH/s`.
pub fn format_rate(hashes_per_second: f64) -> String {
    format!("{:.2} MH/s", hashes_per_second / 1e6)
}

/// Grinds for about `duration` on `threads` threads and measures.
pub fn run(duration: Duration, threads: usize) -> Benchmark {
    let threads = threads.max(1);
    let sha_ni = HeaderGrinder::new(&zeros().header.to_bytes()).uses_sha_ni();
    let source = Arc::new(Zeros {
        deadline: Instant::now() + duration,
        busy: Mutex::new(HashMap::new()),
    });
    let miner = Miner::start(Arc::clone(&source) as Arc<dyn WorkSource>, threads);
    std::thread::sleep(duration);
    // Wait until every thread has finished its last chunk (a chunk is well under a second;
    // give up after a minute, in case a thread never started).
    let give_up = Instant::now() + Duration::from_secs(60);
    let busy = loop {
        let times = source.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let parked: Vec<Duration> = times
            .values()
            .filter_map(|(start, end)| end.map(|end| end - *start))
            .collect();
        if parked.len() >= threads || Instant::now() >= give_up {
            break parked.iter().sum::<Duration>();
        }
        drop(times);
        std::thread::sleep(Duration::from_millis(10));
    };
    let hashes = miner.tries();
    miner.stop();
    Benchmark {
        hashes,
        busy,
        threads,
        sha_ni,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::pow::{bits_to_target, target_to_be_bytes};

    #[test]
    fn rate_line_format() {
        assert_eq!(format_rate(12_345_678.0), "12.35 MH/s");
        assert_eq!(format_rate(0.0), "0.00 MH/s");
        let bench = Benchmark {
            hashes: 200_000_000,
            busy: Duration::from_secs(8),
            threads: 2,
            sha_ni: true,
        };
        assert_eq!(bench.rate_per_thread(), 25_000_000.0);
        assert_eq!(bench.rate(), 50_000_000.0);
        assert_eq!(
            bench.line(),
            "50.00 MH/s (25.00 MH/s per thread, 2 threads, 200000000 hashes, SHA-NI)"
        );
        let one = Benchmark {
            threads: 1,
            sha_ni: false,
            ..bench
        };
        assert!(one.line().contains(", 1 thread, "), "{}", one.line());
        assert!(one.line().ends_with("portable SHA-256)"), "{}", one.line());
    }

    #[test]
    fn the_benchmark_header_cannot_be_solved() {
        let target = target_to_be_bytes(&bits_to_target(IMPOSSIBLE_BITS).unwrap());
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(target, one);
        let grinder = HeaderGrinder::new(&zeros().header.to_bytes());
        assert!(grinder.grind(0, 100_000, &target).is_none());
    }

    #[test]
    fn a_short_benchmark_counts_every_hash() {
        let bench = run(Duration::from_millis(300), 2);
        assert_eq!(bench.threads, 2);
        assert!(bench.hashes > 0);
        assert!(bench.busy >= Duration::from_millis(300), "{bench:?}");
        assert!(bench.line().contains(" MH/s ("), "{}", bench.line());
    }
}
