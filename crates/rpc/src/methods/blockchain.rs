//! Chain methods: blocks, headers, tips, unspent outputs, verification, invalidation.

use coinrs_chain::TipStatus;
use coinrs_core::OutPoint;
use coinrs_core::address::encode_address;
use coinrs_core::pow::{bits_to_target, difficulty};
use serde_json::{Value, json};

use crate::context::{NodeContext, now};
use crate::error::{RpcError, code};
use crate::json;
use crate::params::Args;

pub fn getblockchaininfo(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let chain = ctx.chain();
    let tip = chain.tip();
    let entry = chain.entry(&tip).ok_or_else(RpcError::block_not_found)?;
    let headers = chain.best_header_height().max(chain.height());
    // Progress is measured against the best of our headers and the heights peers announced;
    // without a network, against our headers alone.
    let (ibd, peer_height) = match ctx.net.get() {
        Some(net) => {
            let s = net.shared().sync;
            (s.initial_download, s.best_peer_height)
        }
        None => (headers > chain.height(), 0),
    };
    let target = headers.max(peer_height);
    // The network's latch is refreshed asynchronously: a block mined a moment ago by this
    // very call's predecessor must already count (as in Core: a tip less than a day old at
    // the best known height ends the initial download).
    let ibd = ibd && !(chain.height() >= target && entry.header.time + 24 * 3600 >= now());
    let progress = if target == 0 {
        1.0
    } else {
        (chain.height() as f64 / target as f64).min(1.0)
    };
    Ok(json!({
        "chain": ctx.params.name,
        "blocks": chain.height(),
        "headers": headers,
        "bestblockhash": tip.to_string(),
        "difficulty": bits_to_target(entry.header.bits).map(|t| difficulty(&t)).unwrap_or(0.0),
        "time": entry.header.time,
        "mediantime": json::median_time(&chain, &tip),
        "verificationprogress": progress,
        "initialblockdownload": ibd,
        "chainwork": json::u256_hex(&entry.chainwork),
        "size_on_disk": chain.size_on_disk(),
        "warnings": "",
    }))
}

pub fn getblockcount(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    Ok(json!(ctx.chain().height()))
}

pub fn getbestblockhash(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    Ok(json!(ctx.chain().tip().to_string()))
}

pub fn getblockhash(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let height = args.u64(0)?;
    let chain = ctx.chain();
    chain
        .hash_at(height)
        .map(|h| json!(h.to_string()))
        .ok_or_else(|| RpcError::invalid_parameter("Block height out of range"))
}

pub fn getblockheader(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let hash = args.block_hash(0)?;
    let verbose = args.bool_or(1, true)?;
    let chain = ctx.chain();
    let entry = chain.entry(&hash).ok_or_else(RpcError::block_not_found)?;
    if verbose {
        Ok(Value::Object(json::header(&chain, entry)))
    } else {
        Ok(json!(hex::encode(entry.header.to_bytes())))
    }
}

pub fn getblock(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let hash = args.block_hash(0)?;
    let verbosity = match args.get(1) {
        None => 1,
        Some(Value::Bool(b)) => u64::from(*b),
        Some(_) => args.u64(1)?,
    };
    let chain = ctx.chain();
    let entry = chain.entry(&hash).ok_or_else(RpcError::block_not_found)?;
    let block = chain.block(&hash)?.ok_or_else(|| {
        RpcError::new(
            code::MISC_ERROR,
            "Block not available (not fully downloaded)",
        )
    })?;
    if verbosity == 0 {
        return Ok(json!(hex::encode(block.encode())));
    }
    Ok(json::block(&chain, entry, &block, verbosity))
}

pub fn getchaintips(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let chain = ctx.chain();
    let tips: Vec<Value> = chain
        .chain_tips()
        .into_iter()
        .map(|t| {
            json!({
                "height": t.height,
                "hash": t.hash.to_string(),
                "branchlen": t.branch_len,
                "status": t.status.as_str(),
            })
        })
        .collect();
    debug_assert!(
        tips.iter()
            .any(|t| t["status"] == TipStatus::Active.as_str())
    );
    Ok(Value::Array(tips))
}

pub fn getdifficulty(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let chain = ctx.chain();
    let entry = chain
        .entry(&chain.tip())
        .ok_or_else(RpcError::block_not_found)?;
    Ok(json!(
        bits_to_target(entry.header.bits)
            .map(|t| difficulty(&t))
            .unwrap_or(0.0)
    ))
}

pub fn gettxout(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let txid = args.txid(0)?;
    let n = args.u64(1)?;
    let include_mempool = args.bool_or(2, true)?;
    let vout = u32::try_from(n).map_err(|_| RpcError::invalid_parameter("n out of range"))?;
    let op = OutPoint { txid, vout };
    let chain = ctx.chain();
    let coin = if include_mempool {
        // Spent by a waiting transaction: gone; created by one: 0 confirmations.
        let snapshot = chain.utxo_snapshot()?;
        ctx.mempool().coin(&snapshot, &op)
    } else {
        chain.coin(&op)?
    };
    let Some(coin) = coin else {
        return Ok(Value::Null);
    };
    let confirmations = (chain.height() + 1).saturating_sub(coin.height);
    Ok(json!({
        "bestblock": chain.tip().to_string(),
        "confirmations": confirmations,
        "value": json::amount(coin.output.value),
        "pubkey": hex::encode(coin.output.pubkey),
        "address": encode_address(&ctx.params.hrp, &coin.output.pubkey).unwrap_or_default(),
        "coinbase": coin.is_coinbase,
    }))
}

pub fn gettxoutsetinfo(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let chain = ctx.chain();
    let stats = chain.utxo_stats()?;
    let total = u64::try_from(stats.total).unwrap_or(u64::MAX);
    Ok(json!({
        "height": chain.height(),
        "bestblock": chain.tip().to_string(),
        "txouts": stats.count,
        "hash": hex::encode(stats.hash),
        "total_amount": json::amount(total),
    }))
}

pub fn verifychain(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let _level = args.u64_or(0, 4)?;
    let depth = args.u64_or(1, 6)?;
    let chain = ctx.chain();
    match chain.verify_chain(depth) {
        Ok(()) => Ok(json!(true)),
        Err(e) => {
            tracing::error!(error = %e, "verifychain failed");
            Ok(json!(false))
        }
    }
}

pub fn invalidateblock(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let hash = args.block_hash(0)?;
    let mut chain = ctx.chain();
    let result = chain.invalidate_block(&hash);
    ctx.sync_mempool(&mut chain);
    result?;
    Ok(Value::Null)
}

pub fn reconsiderblock(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let hash = args.block_hash(0)?;
    let mut chain = ctx.chain();
    let result = chain.reconsider_block(&hash);
    ctx.sync_mempool(&mut chain);
    result?;
    Ok(Value::Null)
}
