//! Signature checks of a block on all cores (rayon). The reject reason does not depend on the
//! order the checks finish in: see `coinrs_core::validation::connect_transactions_with`.

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
