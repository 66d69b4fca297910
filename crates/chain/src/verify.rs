//! Signature checks of a block on all cores (rayon). The reject reason does not depend on the
//! order the checks finish in: see `coinrs_core::validation::connect_transactions_with`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use coinrs_core::validation::{SigCheck, SigVerifier};
use rayon::prelude::*;

/// Below this many checks the batch runs on the calling thread: spreading a handful of
/// signatures over threads costs more than it saves.
const PARALLEL_THRESHOLD: usize = 16;

/// Verifies batches on rayon's global pool.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParallelVerifier;

impl SigVerifier for ParallelVerifier {
    fn all_valid(&self, checks: &[SigCheck]) -> bool {
        if checks.len() < PARALLEL_THRESHOLD {
            checks.iter().all(SigCheck::verify)
        } else {
            checks.par_iter().all(SigCheck::verify)
        }
    }
}

/// Checks handed to one pool task: about 0.3 ms of work, so the pool starts while the
/// block's first transactions are still being checked, the workers finish a block within a
/// task of each other, and the hand-off (a copy, a lock) stays below 1 % of the work.
const CHUNK: usize = 8;

/// Outcome of the tasks a [`StreamingVerifier`] started.
#[derive(Debug, Default)]
struct Shared {
    failed: AtomicBool,
    pending: Mutex<usize>,
    idle: Condvar,
}

/// Starts verifying a block's signatures on rayon's pool while its other rules are still
/// being checked (it is fed through [`SigVerifier::progress`]). Its `all_valid` only hands the
/// last checks to the pool and answers true: the answer is [`StreamingVerifier::finish`], so
/// that the caller can write the block's changes while the pool finishes. Like the collecting
/// verifier it replaces, a block that fails another rule must be checked again with a real
/// verifier to get the sequential reason.
#[derive(Debug, Default)]
pub struct StreamingVerifier {
    shared: Arc<Shared>,
    started: std::cell::Cell<usize>,
}

impl StreamingVerifier {
    fn start(&self, checks: &[SigCheck]) {
        *self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner()) += 1;
        let chunk = checks.to_vec();
        let shared = Arc::clone(&self.shared);
        rayon::spawn(move || {
            // After a failure the block is invalid whatever the rest says.
            if !shared.failed.load(Ordering::Relaxed) && !chunk.iter().all(SigCheck::verify) {
                shared.failed.store(true, Ordering::Relaxed);
            }
            let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
            *pending -= 1;
            if *pending == 0 {
                shared.idle.notify_all();
            }
        });
    }

    /// Hands `checks[started..upto]` to the pool in chunks; a last partial chunk only when
    /// `all` (the block's checks are complete).
    fn start_up_to(&self, checks: &[SigCheck], all: bool) {
        let mut from = self.started.get();
        while checks.len() - from >= CHUNK || (all && from < checks.len()) {
            let to = (from + CHUNK).min(checks.len());
            self.start(&checks[from..to]);
            from = to;
        }
        self.started.set(from);
    }

    /// Waits for every started check; true when all verified.
    pub fn finish(&self) -> bool {
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        while *pending > 0 {
            pending = self
                .shared
                .idle
                .wait(pending)
                .unwrap_or_else(|p| p.into_inner());
        }
        !self.shared.failed.load(Ordering::Relaxed)
    }
}

impl SigVerifier for StreamingVerifier {
    fn all_valid(&self, checks: &[SigCheck]) -> bool {
        self.start_up_to(checks, true);
        true
    }

    fn progress(&self, checks_so_far: &[SigCheck]) {
        self.start_up_to(checks_so_far, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::sig::SigningKey;

    fn checks(n: usize, bad: Option<usize>) -> Vec<SigCheck> {
        let key = SigningKey::from_secret_bytes([7; 32]).unwrap();
        (0..n)
            .map(|i| {
                let msg = coinrs_core::hash::sha256(&(i as u64).to_le_bytes());
                let mut signature = key.sign(&msg, &[1; 32]);
                if bad == Some(i) {
                    signature[5] ^= 1;
                }
                SigCheck {
                    pubkey: key.public_key(),
                    msg,
                    signature,
                }
            })
            .collect()
    }

    /// Feeds prefixes as `connect_transactions_with` does (one transaction's checks at a time).
    fn stream(all: &[SigCheck], step: usize) -> bool {
        let v = StreamingVerifier::default();
        let mut n = 0;
        while n < all.len() {
            n = (n + step).min(all.len());
            v.progress(&all[..n]);
        }
        assert!(v.all_valid(all), "all_valid defers the answer to finish");
        v.finish()
    }

    #[test]
    fn every_check_is_verified_once_whatever_the_feeding() {
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5] {
            let good = checks(n, None);
            for step in [1, 3, CHUNK, 100] {
                assert!(stream(&good, step), "n={n} step={step}");
            }
            for bad in [0, n / 2, n.saturating_sub(1)] {
                if n == 0 {
                    continue;
                }
                let all = checks(n, Some(bad));
                for step in [1, 7, CHUNK + 1] {
                    assert!(!stream(&all, step), "n={n} bad={bad} step={step}");
                }
            }
        }
    }

    #[test]
    fn a_verifier_fed_nothing_finishes_valid() {
        assert!(StreamingVerifier::default().finish());
    }
}
