//! Blocks in: `submitblock`, and on regtest `generatetoaddress` / `generateblock` with a
//! simple built-in grinder (the fast miner is the miner crate's).

use coinrs_chain::{BlockOutcome, Chain, ChainError};
use coinrs_core::Transaction;
use coinrs_core::address::decode_address;
use coinrs_core::block::Block;
use coinrs_core::encode::decode;
use coinrs_core::midstate::HeaderGrinder;
use coinrs_core::pow::{bits_to_target, target_to_be_bytes};
use coinrs_core::validation::check_block;
use serde_json::{Value, json};

use crate::context::{NodeContext, now};
use crate::error::{RpcError, code};
use crate::params::Args;

pub fn submitblock(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let bytes = args.hex(0, "Block")?;
    let block: Block =
        decode(&bytes).map_err(|e| RpcError::decode(format!("Block decode failed: {e}")))?;
    let mut chain = ctx.chain();
    // As in Core, a block whose parent is unknown is not kept.
    if chain.entry(&block.header.prev_hash).is_none() && chain.entry(&block.hash()).is_none() {
        return Ok(json!("prev-blk-not-found"));
    }
    let result = chain.accept_block(&bytes, now());
    ctx.sync_mempool(&mut chain);
    if matches!(result, Ok(BlockOutcome::Active | BlockOutcome::SideBranch)) {
        chain.flush()?;
    }
    Ok(match result {
        Ok(BlockOutcome::Active) => Value::Null,
        Ok(BlockOutcome::SideBranch) => json!("inconclusive"),
        Ok(BlockOutcome::Duplicate) => json!("duplicate"),
        Ok(BlockOutcome::DuplicateInvalid) => json!("duplicate-invalid"),
        Ok(BlockOutcome::DuplicateInconclusive) => json!("duplicate-inconclusive"),
        Ok(BlockOutcome::Orphan) => json!("prev-blk-not-found"),
        Err(ChainError::Rejected(reason)) => json!(reason.as_str()),
        Err(e) => return Err(e.into()),
    })
}

fn payout(ctx: &NodeContext, address: &str) -> Result<[u8; 32], RpcError> {
    decode_address(&ctx.params.hrp, address).map_err(|e| {
        RpcError::new(
            code::INVALID_ADDRESS_OR_KEY,
            format!("Error: Invalid address: {e}"),
        )
    })
}

/// A block on the tip paying `pubkey`, with `txs` and their `fees`, at the clock's time (or
/// just after the median time past), its nonce ground within `max_tries`.
fn mine_on_tip(
    chain: &Chain,
    txs: Vec<Transaction>,
    fees: u64,
    pubkey: [u8; 32],
    max_tries: u64,
) -> Result<Option<Block>, RpcError> {
    let mut block = crate::template::block_on_tip(chain, txs, fees, pubkey)?;
    let target = bits_to_target(block.header.bits)
        .map_err(|e| RpcError::new(code::MISC_ERROR, e.to_string()))?;
    let grinder = HeaderGrinder::new(&block.header.to_bytes());
    let target = target_to_be_bytes(&target);
    // Within one second, after an `invalidateblock`, the same block can come out again (same
    // parent, time, coinbase): skip nonces that give a block the chain already knows, or the
    // "new" block would be a duplicate (of an invalid block) and the tip would not move.
    let (mut start, mut left) = (0u64, max_tries);
    while let Some((nonce, _)) = grinder.grind(start, left, &target) {
        block.header.nonce = nonce;
        if chain.entry(&block.hash()).is_none() {
            return Ok(Some(block));
        }
        let tried = nonce - start + 1;
        left = left.saturating_sub(tried);
        start = match nonce.checked_add(1) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(None)
}

pub fn generatetoaddress(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let n = args.u64(0)?;
    let pubkey = payout(ctx, args.str(1)?)?;
    let max_tries = args.u64_or(2, 1_000_000)?;
    let mut hashes = Vec::new();
    for _ in 0..n {
        let mut chain = ctx.chain();
        let template = ctx
            .mempool()
            .assemble(crate::template::tx_budget(&ctx.params));
        let Some(block) =
            mine_on_tip(&chain, template.txs, template.total_fees, pubkey, max_tries)?
        else {
            break;
        };
        let result = chain.accept_block(&block.encode(), now());
        ctx.sync_mempool(&mut chain);
        match result {
            Ok(BlockOutcome::Active) => hashes.push(json!(block.hash().to_string())),
            Ok(other) => {
                return Err(RpcError::new(
                    code::MISC_ERROR,
                    format!("block not accepted: {other:?}"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        chain.flush()?;
    }
    Ok(Value::Array(hashes))
}

pub fn generateblock(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let pubkey = payout(ctx, args.str(0)?)?;
    let raw = match args.get(1) {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => return Err(RpcError::wrong_type(other, "array")),
    };
    let mut chain = ctx.chain();
    let mut txs = Vec::with_capacity(raw.len());
    let mut fees: u64 = 0;
    for item in &raw {
        let s = item
            .as_str()
            .ok_or_else(|| RpcError::wrong_type(item, "string"))?;
        // 64 hex digits is a txid (no transaction encodes to 32 bytes): take it from the
        // mempool.
        if s.len() == 64 {
            let txid = coinrs_core::Txid(crate::params::parse_hash(s, "txid")?);
            let pool = ctx.mempool();
            let entry = pool.get(&txid).ok_or_else(|| {
                RpcError::new(
                    code::INVALID_ADDRESS_OR_KEY,
                    format!("Transaction {s} not in mempool."),
                )
            })?;
            fees = fees.saturating_add(entry.fee);
            txs.push(entry.tx.clone());
            continue;
        }
        let bytes = hex::decode(s)
            .map_err(|_| RpcError::decode(format!("Transaction decode failed for {s}")))?;
        let tx: Transaction = decode(&bytes)
            .map_err(|_| RpcError::decode(format!("Transaction decode failed for {s}")))?;
        // Fees from the inputs the chain knows; a transaction with unknown inputs is refused
        // by validation below with its reason.
        let mut input_total: u64 = 0;
        for i in &tx.inputs {
            if let Some(c) = chain.coin(&i.prevout)? {
                input_total = input_total.saturating_add(c.output.value);
            }
        }
        let output_total = u64::try_from(tx.output_total()).unwrap_or(u64::MAX);
        fees = fees.saturating_add(input_total.saturating_sub(output_total));
        txs.push(tx);
    }
    let block = mine_on_tip(&chain, txs, fees, pubkey, u64::MAX)?
        .ok_or_else(|| RpcError::new(code::MISC_ERROR, "no nonce met the target"))?;
    let bytes = block.encode();
    // As Core's TestBlockValidity: a block of bad transactions is refused before the chain
    // sees it, so it is not stored as an invalid tip.
    let utxos = chain.utxo_snapshot()?;
    if let Err(reason) = check_block(&block, bytes.len(), &ctx.params, &*chain, &utxos, now()) {
        return Err(RpcError::new(
            code::VERIFY_ERROR,
            format!("TestBlockValidity failed: {reason}"),
        ));
    }
    drop(utxos);
    let result = chain.accept_block(&bytes, now());
    ctx.sync_mempool(&mut chain);
    match result {
        Ok(BlockOutcome::Active) => {
            chain.flush()?;
            Ok(json!({ "hash": block.hash().to_string() }))
        }
        Ok(other) => Err(RpcError::new(
            code::VERIFY_ERROR,
            format!("block not accepted: {other:?}"),
        )),
        Err(ChainError::Rejected(reason)) => Err(RpcError::new(
            code::VERIFY_ERROR,
            format!("TestBlockValidity failed: {reason}"),
        )),
        Err(e) => Err(e.into()),
    }
}
