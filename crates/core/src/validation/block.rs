//! The body rules and the transactions of a block, in the protocol's order
//! (PROTOCOL.md §4): bytes, header, body, each transaction in block order, coinbase amount.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::context::{Coin, ParentContext, UtxoView};
use super::header::{HeaderChecked, check_header};
use super::reject::RejectReason;
use super::tx::{
    SequentialVerifier, SigCheck, SigVerifier, check_transaction_deferred, check_tx_without_inputs,
};
use crate::block::Block;
use crate::encode::decode;
use crate::hash::{Hash, Txid};
use crate::merkle::merkle_root;
use crate::params::ChainParams;
use crate::transaction::{MAX_MONEY, OutPoint, Transaction};

/// What connecting a valid block does to the set of unspent outputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEffects {
    /// The sum of the fees of its non-coinbase transactions.
    pub fees: u64,
    /// Coins of the parent's set that it spends, in spending order (the undo data).
    pub spent: Vec<(OutPoint, Coin)>,
    /// Coins it creates that are still unspent at its end, in creation order.
    pub created: Vec<(OutPoint, Coin)>,
}

/// The body rules, given the length of the block's encoding. Returns the txids, which the
/// transaction checks reuse.
pub fn check_block_body(
    block: &Block,
    encoded_len: usize,
    params: &ChainParams,
) -> Result<Vec<Txid>, RejectReason> {
    if encoded_len as u64 > params.max_block_size {
        return Err(RejectReason::BadBlkLength);
    }
    match block.transactions.first() {
        Some(tx) if tx.is_coinbase() => {}
        _ => return Err(RejectReason::BadCbMissing),
    }
    if block.transactions[1..].iter().any(Transaction::is_coinbase) {
        return Err(RejectReason::BadCbMultiple);
    }
    let txids: Vec<Txid> = block.transactions.iter().map(Transaction::txid).collect();
    let leaves: Vec<Hash> = txids.iter().map(|t| t.0).collect();
    if merkle_root(&leaves) != block.header.merkle_root {
        return Err(RejectReason::BadTxnMrklRoot);
    }
    let mut seen = HashSet::with_capacity(txids.len());
    if !txids.iter().all(|t| seen.insert(*t)) {
        return Err(RejectReason::BadTxnsDuplicate);
    }
    if block.transactions[0].lock_time != block.header.height {
        return Err(RejectReason::BadCbHeight);
    }
    Ok(txids)
}

/// The parent's unspent outputs plus what the block's earlier transactions did.
struct BlockView<'a, U: UtxoView> {
    base: &'a U,
    created: HashMap<OutPoint, Coin>,
    spent_in_block: HashSet<OutPoint>,
}

impl<U: UtxoView> UtxoView for BlockView<'_, U> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if self.spent_in_block.contains(outpoint) {
            return None;
        }
        self.created
            .get(outpoint)
            .copied()
            .or_else(|| self.base.coin(outpoint))
    }
}

/// Checks every transaction in block order against the parent's unspent outputs `utxos`,
/// then the coinbase amount. `txids` are those returned by [`check_block_body`]. Signatures
/// are verified one after another; see [`connect_transactions_with`].
pub fn connect_transactions(
    block: &Block,
    txids: &[Txid],
    params: &ChainParams,
    utxos: &impl UtxoView,
) -> Result<BlockEffects, RejectReason> {
    connect_transactions_with(block, txids, params, utxos, &SequentialVerifier)
}

/// [`connect_transactions`] with the signatures handed to `verifier` in batches, so that
/// they can be checked on all cores while the reason stays the one a sequential check gives.
///
/// Why that holds: no rule of a transaction depends on whether an earlier transaction's
/// signatures verify (the unspent outputs evolve the same either way). So the other rules run
/// in block order first; if transaction `k` breaks one, the signatures of transactions before
/// `k` decide between `bad-txns-sig` (an earlier transaction's last rule) and `k`'s reason.
/// If none breaks, all signatures are verified before `bad-cb-amount`, which comes last.
pub fn connect_transactions_with(
    block: &Block,
    txids: &[Txid],
    params: &ChainParams,
    utxos: &impl UtxoView,
    verifier: &impl SigVerifier,
) -> Result<BlockEffects, RejectReason> {
    let height = block.header.height;
    let (inputs, outputs) = block.transactions.iter().fold((0, 0), |(i, o), tx| {
        (i + tx.inputs.len(), o + tx.outputs.len())
    });
    let mut view = BlockView {
        base: utxos,
        created: HashMap::with_capacity(outputs),
        spent_in_block: HashSet::with_capacity(inputs),
    };
    let mut created_order: Vec<OutPoint> = Vec::new();
    let mut spent_from_base = Vec::new();
    let mut fees: u128 = 0;
    let mut sig_checks: Vec<SigCheck> = Vec::new();
    let sigs_first = |checks: &[SigCheck], reason: RejectReason| {
        if verifier.all_valid(checks) {
            reason
        } else {
            RejectReason::BadTxnsSig
        }
    };

    for (index, (tx, txid)) in block.transactions.iter().zip(txids).enumerate() {
        let is_coinbase = index == 0;
        if is_coinbase {
            check_tx_without_inputs(tx)?;
        } else {
            let effects = check_transaction_deferred(
                tx,
                height,
                params.coinbase_maturity,
                &view,
                &mut sig_checks,
            )
            .map_err(|reason| sigs_first(&sig_checks, reason))?;
            verifier.progress(&sig_checks);
            fees += u128::from(effects.fee);
            for (outpoint, coin) in effects.spent {
                if view.created.remove(&outpoint).is_none() {
                    spent_from_base.push((outpoint, coin));
                }
                view.spent_in_block.insert(outpoint);
            }
        }
        for (vout, output) in tx.outputs.iter().enumerate() {
            let outpoint = OutPoint {
                txid: *txid,
                vout: vout as u32,
            };
            view.created.insert(
                outpoint,
                Coin {
                    output: *output,
                    height,
                    is_coinbase,
                },
            );
            created_order.push(outpoint);
        }
    }

    if !verifier.all_valid(&sig_checks) {
        return Err(RejectReason::BadTxnsSig);
    }
    let allowed = u128::from(params.subsidy(height)) + fees;
    // A fee sum above MAX_MONEY breaks the rule it is in (PROTOCOL.md §4).
    if fees > u128::from(MAX_MONEY) || block.transactions[0].output_total() > allowed {
        return Err(RejectReason::BadCbAmount);
    }
    let created = created_order
        .into_iter()
        .filter_map(|op| view.created.get(&op).map(|c| (op, *c)))
        .collect();
    Ok(BlockEffects {
        fees: fees as u64,
        spent: spent_from_base,
        created,
    })
}

/// All rules for a decoded block whose encoding is `encoded_len` bytes long.
pub fn check_block(
    block: &Block,
    encoded_len: usize,
    params: &ChainParams,
    parents: &impl ParentContext,
    utxos: &impl UtxoView,
    now: u64,
) -> Result<(HeaderChecked, BlockEffects), RejectReason> {
    let header = check_header(&block.header, params, parents, now)?;
    let txids = check_block_body(block, encoded_len, params)?;
    let effects = connect_transactions(block, &txids, params, utxos)?;
    Ok((header, effects))
}

/// All rules for a block as received: bytes that do not decode as a whole block (trailing
/// bytes included) are `bad-blk-length` before anything else.
pub fn validate_block(
    bytes: &[u8],
    params: &ChainParams,
    parents: &impl ParentContext,
    utxos: &impl UtxoView,
    now: u64,
) -> Result<(Block, HeaderChecked, BlockEffects), RejectReason> {
    let block: Block = decode(bytes).map_err(|_| RejectReason::BadBlkLength)?;
    let (header, effects) = check_block(&block, bytes.len(), params, parents, utxos, now)?;
    Ok((block, header, effects))
}
