//! Raw transactions: look up, decode, create.

use coinrs_core::address::decode_address;
use coinrs_core::encode::decode;
use coinrs_core::{OutPoint, Transaction, TxIn, TxOut};
use serde_json::{Map, Value, json};

use crate::context::NodeContext;
use crate::error::{RpcError, code};
use crate::json;
use crate::params::{Args, parse_amount, parse_hash};

pub fn getrawtransaction(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let txid = args.txid(0)?;
    let verbose = match args.get(1) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) > 0,
        Some(other) => return Err(RpcError::wrong_type(other, "bool")),
    };
    let chain = ctx.chain();
    let not_found = || {
        RpcError::new(
            code::INVALID_ADDRESS_OR_KEY,
            "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
        )
    };
    let (block_hash, pos) = match args.get(2) {
        Some(_) => {
            let hash = args.block_hash(2)?;
            let block = chain.block(&hash)?.ok_or_else(RpcError::block_not_found)?;
            let pos = block
                .transactions
                .iter()
                .position(|t| t.txid() == txid)
                .ok_or_else(|| {
                    RpcError::new(
                        code::INVALID_ADDRESS_OR_KEY,
                        "No such transaction found in the provided block.",
                    )
                })?;
            (hash, pos as u32)
        }
        None => match chain.tx_location(&txid)? {
            Some(location) => location,
            None => {
                // The mempool, then the loaded wallets (a wallet transaction that left the
                // mempool or never entered it).
                let pool = ctx.mempool();
                let tx = match pool.get(&txid) {
                    Some(entry) => entry.tx.clone(),
                    None => ctx.wallets.find_transaction(&txid).ok_or_else(not_found)?,
                };
                return Ok(if verbose {
                    json::tx(&tx, &ctx.params.hrp, Map::new())
                } else {
                    json!(hex::encode(tx.encode()))
                });
            }
        },
    };
    let block = chain.block(&block_hash)?.ok_or_else(not_found)?;
    let tx = block.transactions.get(pos as usize).ok_or_else(not_found)?;
    if !verbose {
        return Ok(json!(hex::encode(tx.encode())));
    }
    let mut extra = Map::new();
    extra.insert("blockhash".into(), json!(block_hash.to_string()));
    extra.insert(
        "confirmations".into(),
        json!(json::confirmations(
            &chain,
            &block_hash,
            block.header.height
        )),
    );
    extra.insert("time".into(), json!(block.header.time));
    extra.insert("blocktime".into(), json!(block.header.time));
    Ok(json::tx(tx, &ctx.params.hrp, extra))
}

pub fn decoderawtransaction(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let bytes = args.hex(0, "TX")?;
    let tx: Transaction =
        decode(&bytes).map_err(|e| RpcError::decode(format!("TX decode failed: {e}")))?;
    Ok(json::tx(&tx, &ctx.params.hrp, Map::new()))
}

pub fn createrawtransaction(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let inputs = match args.get(0) {
        Some(Value::Array(a)) => a,
        Some(other) => return Err(RpcError::wrong_type(other, "array")),
        None => return Err(RpcError::new(code::MISC_ERROR, "missing inputs")),
    };
    let mut tx = Transaction {
        version: 1,
        inputs: Vec::with_capacity(inputs.len()),
        outputs: Vec::new(),
        lock_time: args.u64_or(2, 0)?,
    };
    for input in inputs {
        let obj = input
            .as_object()
            .ok_or_else(|| RpcError::wrong_type(input, "object"))?;
        let txid = obj
            .get("txid")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_parameter("Invalid parameter, missing txid key"))?;
        let vout = obj
            .get("vout")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| RpcError::invalid_parameter("Invalid parameter, missing vout key"))?;
        tx.inputs.push(TxIn {
            prevout: OutPoint {
                txid: coinrs_core::Txid(parse_hash(txid, "txid")?),
                vout,
            },
            signature: [0u8; 64],
        });
    }
    // Outputs as {address: amount} or [{address: amount}, ...] (Core takes both).
    let pairs: Vec<(&String, &Value)> = match args.get(1) {
        Some(Value::Object(o)) => o.iter().collect(),
        Some(Value::Array(a)) => {
            let mut pairs = Vec::new();
            for item in a {
                let o = item
                    .as_object()
                    .ok_or_else(|| RpcError::wrong_type(item, "object"))?;
                pairs.extend(o.iter());
            }
            pairs
        }
        Some(other) => return Err(RpcError::wrong_type(other, "object")),
        None => return Err(RpcError::new(code::MISC_ERROR, "missing outputs")),
    };
    for (address, amount) in pairs {
        let pubkey = decode_address(&ctx.params.hrp, address).map_err(|e| {
            RpcError::new(
                code::INVALID_ADDRESS_OR_KEY,
                format!("Invalid address {address}: {e}"),
            )
        })?;
        tx.outputs.push(TxOut {
            value: parse_amount(amount)?,
            pubkey,
        });
    }
    Ok(json!(hex::encode(tx.encode())))
}
