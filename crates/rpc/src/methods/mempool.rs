//! Mempool and mining-template methods: `sendrawtransaction`, `testmempoolaccept`,
//! `getrawmempool`, `getmempoolinfo`, `getmempoolentry`, `getmininginfo`, `getblocktemplate`.

use coinrs_chain::Chain;
use coinrs_core::encode::decode;
use coinrs_core::pow::{bits_to_target, difficulty};
use coinrs_core::validation::UtxoView;
use coinrs_core::{OutPoint, Transaction, Txid};
use coinrs_mempool::{Entry, Mempool, MempoolReject};
use serde_json::{Map, Value, json};

use crate::context::{NodeContext, now};
use crate::error::{RpcError, code};
use crate::json;
use crate::params::Args;

/// Fee rate in base units per 1000 bytes as coins per 1000 bytes (INTERFACE.md).
fn fee_rate(units_per_kb: u64) -> Value {
    json::amount(units_per_kb)
}

pub(crate) fn decode_tx(hex_str: &str) -> Result<Transaction, RpcError> {
    let bytes = hex::decode(hex_str).map_err(|_| RpcError::decode("TX decode failed: not hex"))?;
    decode(&bytes).map_err(|e| RpcError::decode(format!("TX decode failed: {e}")))
}

/// The -25/-26/-27 errors of `sendrawtransaction` for a refusal.
fn reject_error(reason: MempoolReject) -> RpcError {
    if reason.is_missing_inputs() {
        RpcError::new(code::VERIFY_ERROR, reason.to_string())
    } else {
        RpcError::new(code::VERIFY_REJECTED, reason.to_string())
    }
}

/// True when an output of `tx` is an unspent output of the chain: the transaction is already
/// confirmed (Core's test for -27).
fn confirmed(utxos: &impl UtxoView, tx: &Transaction) -> bool {
    let txid = tx.txid();
    (0..tx.outputs.len() as u32).any(|vout| utxos.coin(&OutPoint { txid, vout }).is_some())
}

pub fn sendrawtransaction(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let tx = decode_tx(args.str(0)?)?;
    let chain = ctx.chain();
    let mut pool = ctx.mempool();
    let txid = submit(ctx, &chain, &mut pool, tx)?;
    Ok(json!(txid.to_string()))
}

/// Puts `tx` into the mempool (Ok also when it is there already), announces it to the
/// network and offers it to the loaded wallets. The caller holds the chain and the mempool
/// (and not the wallets: lock order chain, mempool, wallets).
pub(crate) fn submit(
    ctx: &NodeContext,
    chain: &Chain,
    pool: &mut Mempool,
    tx: Transaction,
) -> Result<Txid, RpcError> {
    let txid = tx.txid();
    if pool.contains(&txid) {
        return Ok(txid);
    }
    let snapshot = chain.utxo_snapshot()?;
    if confirmed(&snapshot, &tx) {
        return Err(RpcError::new(
            code::VERIFY_ALREADY_IN_CHAIN,
            "Transaction already in block chain",
        ));
    }
    let result = pool.accept(
        tx,
        chain.height(),
        ctx.params.coinbase_maturity,
        &snapshot,
        now(),
    );
    if let Some(e) = snapshot.error() {
        return Err(RpcError::new(
            code::INTERNAL_ERROR,
            format!("storage error: {e}"),
        ));
    }
    match result {
        Ok(evicted) => {
            if !evicted.is_empty() {
                tracing::info!(count = evicted.len(), "mempool full: evicted transactions");
            }
            if let Some(entry) = pool.get(&txid) {
                if let Some(net) = ctx.net.get() {
                    net.announce_tx(entry.tx.encode());
                }
                ctx.wallets.mempool_transaction(&entry.tx, entry.time);
            }
            Ok(txid)
        }
        Err(reason) => Err(reject_error(reason)),
    }
}

pub fn testmempoolaccept(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let raw = match args.get(0) {
        Some(Value::Array(a)) => a.clone(),
        Some(other) => return Err(RpcError::wrong_type(other, "array")),
        None => return Err(RpcError::new(code::MISC_ERROR, "missing rawtxs")),
    };
    let chain = ctx.chain();
    let pool = ctx.mempool();
    let snapshot = chain.utxo_snapshot()?;
    let mut out = Vec::with_capacity(raw.len());
    for item in &raw {
        let s = item
            .as_str()
            .ok_or_else(|| RpcError::wrong_type(item, "string"))?;
        let tx = decode_tx(s)?;
        let txid = tx.txid();
        let mut o = Map::new();
        o.insert("txid".into(), json!(txid.to_string()));
        o.insert("cid".into(), json!(txid.cid()));
        let verdict = if confirmed(&snapshot, &tx) {
            Err("txn-already-known".to_string())
        } else {
            pool.check(&tx, chain.height(), ctx.params.coinbase_maturity, &snapshot)
                .map_err(|r| r.to_string())
        };
        match verdict {
            Ok(fee) => {
                o.insert("allowed".into(), json!(true));
                o.insert("size".into(), json!(tx.encoded_size()));
                o.insert("fees".into(), json!({ "base": json::amount(fee) }));
            }
            Err(reason) => {
                o.insert("allowed".into(), json!(false));
                o.insert("reject-reason".into(), json!(reason));
            }
        }
        out.push(Value::Object(o));
    }
    Ok(Value::Array(out))
}

fn entry_json(e: &Entry) -> Value {
    let mut depends: Vec<String> = e.parents.iter().map(Txid::to_string).collect();
    depends.sort();
    let mut spentby: Vec<String> = e.children.iter().map(Txid::to_string).collect();
    spentby.sort();
    json!({
        "size": e.size,
        "fee": json::amount(e.fee),
        "fees": { "base": json::amount(e.fee) },
        "time": e.time,
        "height": e.height,
        "depends": depends,
        "spentby": spentby,
        "cid": e.txid.cid(),
    })
}

pub fn getrawmempool(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let verbose = args.bool_or(0, false)?;
    let pool = ctx.mempool();
    let entries = pool.entries();
    if !verbose {
        return Ok(Value::Array(
            entries.iter().map(|e| json!(e.txid.to_string())).collect(),
        ));
    }
    let mut o = Map::new();
    for e in entries {
        o.insert(e.txid.to_string(), entry_json(e));
    }
    Ok(Value::Object(o))
}

pub fn getmempoolentry(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let txid = args.txid(0)?;
    let pool = ctx.mempool();
    let e = pool
        .get(&txid)
        .ok_or_else(|| RpcError::new(code::INVALID_ADDRESS_OR_KEY, "Transaction not in mempool"))?;
    Ok(entry_json(e))
}

pub fn getmempoolinfo(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let pool = ctx.mempool();
    let policy = pool.policy();
    Ok(json!({
        "loaded": true,
        "size": pool.len(),
        "bytes": pool.bytes(),
        "usage": pool.bytes(),
        "maxmempool": policy.max_bytes,
        "mempoolminfee": fee_rate(policy.min_relay_fee_per_kb),
        "minrelaytxfee": fee_rate(policy.min_relay_fee_per_kb),
    }))
}

pub fn getmininginfo(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let chain = ctx.chain();
    let entry = chain
        .entry(&chain.tip())
        .ok_or_else(RpcError::block_not_found)?;
    let diff = bits_to_target(entry.header.bits)
        .map(|t| difficulty(&t))
        .unwrap_or(0.0);
    let pooled = ctx.mempool().len();
    Ok(json!({
        "blocks": chain.height(),
        "difficulty": diff,
        "bits": format!("{:08x}", entry.header.bits),
        "target": hex::encode(bits_to_target(entry.header.bits).map(|t| t.to_be_bytes::<32>()).unwrap_or([0; 32])),
        "pooledtx": pooled,
        "chain": ctx.params.name,
        "warnings": "",
    }))
}

pub fn getblocktemplate(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let chain = ctx.chain();
    let pool = ctx.mempool();
    let t = crate::template::for_tip(&ctx.params, &chain, &pool)?;
    let txs: Vec<Value> = t
        .template
        .txs
        .iter()
        .zip(&t.template.fees)
        .map(|(tx, fee)| {
            let txid = tx.txid();
            let depends: Vec<usize> = tx
                .inputs
                .iter()
                .filter_map(|i| {
                    t.template
                        .txs
                        .iter()
                        .position(|p| p.txid() == i.prevout.txid)
                })
                .map(|p| p + 1)
                .collect();
            json!({
                "data": hex::encode(tx.encode()),
                "txid": txid.to_string(),
                "hash": txid.to_string(),
                "fee": fee,
                "size": tx.encoded_size(),
                "depends": depends,
            })
        })
        .collect();
    let target =
        bits_to_target(t.bits).map_err(|e| RpcError::new(code::MISC_ERROR, e.to_string()))?;
    Ok(json!({
        "version": 1,
        "height": t.height,
        "previousblockhash": t.parent.to_string(),
        "bits": format!("{:08x}", t.bits),
        "target": hex::encode(target.to_be_bytes::<32>()),
        "curtime": t.time,
        "mintime": t.mintime,
        "coinbasevalue": t.coinbase_value,
        "sizelimit": ctx.params.max_block_size,
        "transactions": txs,
        "mutable": ["time", "transactions"],
        "noncerange": "0000000000000000ffffffffffffffff",
    }))
}
