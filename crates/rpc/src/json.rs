//! The JSON shapes of INTERFACE.md: blocks, headers and transactions, each with its `cid`;
//! amounts as coins with exactly 8 decimals.

use coinrs_chain::Chain;
use coinrs_chain::index::IndexEntry;
use coinrs_core::address::encode_address;
use coinrs_core::block::Block;
use coinrs_core::pow::{bits_to_target, difficulty};
use coinrs_core::transaction::COIN;
use coinrs_core::validation::{ParentContext, ParentState, median_time_past};
use coinrs_core::{BlockHash, Transaction};
use serde_json::{Map, Number, Value, json};

/// Base units as a JSON number of coins with 8 decimals (`50.00000000`).
pub fn amount(units: u64) -> Value {
    let text = format!("{}.{:08}", units / COIN, units % COIN);
    // With serde_json's arbitrary_precision the number keeps this exact text.
    Value::Number(
        text.parse::<Number>()
            .expect("a decimal literal is a JSON number"),
    )
}

/// Hex of a 256-bit value, 64 digits.
pub fn u256_hex(v: &ruint::aliases::U256) -> String {
    hex::encode(v.to_be_bytes::<32>())
}

/// A transaction object; `extra` adds fields such as `blockhash` and `confirmations`.
pub fn tx(tx: &Transaction, hrp: &str, extra: Map<String, Value>) -> Value {
    let txid = tx.txid();
    let vin: Vec<Value> = tx
        .inputs
        .iter()
        .map(|i| {
            json!({
                "txid": i.prevout.txid.to_string(),
                "vout": i.prevout.vout,
                "signature": hex::encode(i.signature),
            })
        })
        .collect();
    let vout: Vec<Value> = tx
        .outputs
        .iter()
        .enumerate()
        .map(|(n, o)| {
            json!({
                "value": amount(o.value),
                "n": n,
                "pubkey": hex::encode(o.pubkey),
                "address": encode_address(hrp, &o.pubkey).unwrap_or_default(),
            })
        })
        .collect();
    let mut obj = json!({
        "txid": txid.to_string(),
        "cid": txid.cid(),
        "version": tx.version,
        "size": tx.encoded_size(),
        "locktime": tx.lock_time,
        "vin": vin,
        "vout": vout,
    });
    if let Value::Object(o) = &mut obj {
        o.extend(extra);
    }
    obj
}

/// Median time of a block and its 10 ancestors (Core's `mediantime`).
pub fn median_time(chain: &Chain, hash: &BlockHash) -> u64 {
    match chain.parent(hash) {
        Some(ParentState::Valid(info)) => {
            median_time_past(info.height + 1, &info.recent_times).unwrap_or(info.time)
        }
        _ => chain.entry(hash).map_or(0, |e| e.header.time),
    }
}

/// Confirmations of a block: tip height − height + 1 on the active chain, −1 elsewhere.
pub fn confirmations(chain: &Chain, hash: &BlockHash, height: u64) -> i64 {
    if chain.is_active(hash) {
        (chain.height() - height + 1) as i64
    } else {
        -1
    }
}

/// A header object (`getblockheader` verbose, and the base of `getblock`).
pub fn header(chain: &Chain, entry: &IndexEntry) -> Map<String, Value> {
    let hash = entry.hash();
    let h = &entry.header;
    let diff = bits_to_target(h.bits)
        .map(|t| difficulty(&t))
        .unwrap_or(0.0);
    let mut o = Map::new();
    o.insert("hash".into(), json!(hash.to_string()));
    o.insert("cid".into(), json!(hash.cid()));
    o.insert(
        "confirmations".into(),
        json!(confirmations(chain, &hash, h.height)),
    );
    o.insert("height".into(), json!(h.height));
    o.insert("version".into(), json!(h.version));
    o.insert("merkleroot".into(), json!(hex::encode(h.merkle_root)));
    o.insert("time".into(), json!(h.time));
    o.insert("mediantime".into(), json!(median_time(chain, &hash)));
    o.insert("nonce".into(), json!(h.nonce));
    o.insert("bits".into(), json!(format!("{:08x}", h.bits)));
    o.insert("difficulty".into(), json!(diff));
    o.insert("chainwork".into(), json!(u256_hex(&entry.chainwork)));
    o.insert("nTx".into(), json!(entry.tx_count));
    if h.height > 0 {
        o.insert("previousblockhash".into(), json!(h.prev_hash.to_string()));
    }
    if chain.is_active(&hash)
        && let Some(next) = chain.hash_at(h.height + 1)
    {
        o.insert("nextblockhash".into(), json!(next.to_string()));
    }
    o
}

/// A block object at verbosity 1 (txids) or 2 (transaction objects).
pub fn block(chain: &Chain, entry: &IndexEntry, block: &Block, verbosity: u64) -> Value {
    let mut o = header(chain, entry);
    o.insert("size".into(), json!(block.encoded_size()));
    let hrp = &chain.params().hrp;
    let txs: Vec<Value> = block
        .transactions
        .iter()
        .map(|t| {
            if verbosity >= 2 {
                tx(t, hrp, Map::new())
            } else {
                json!(t.txid().to_string())
            }
        })
        .collect();
    o.insert("tx".into(), Value::Array(txs));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_with_eight_decimals() {
        assert_eq!(
            serde_json::to_string(&amount(50 * COIN)).unwrap(),
            "50.00000000"
        );
        assert_eq!(serde_json::to_string(&amount(1)).unwrap(), "0.00000001");
        assert_eq!(serde_json::to_string(&amount(0)).unwrap(), "0.00000000");
    }
}
