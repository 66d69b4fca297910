//! A `getblocktemplate` answer, and the block the miner builds from it: its own coinbase
//! paying the miner's key, then the template's transactions.

use std::str::FromStr;

use coinrs_core::block::{Block, BlockHeader};
use coinrs_core::encode::decode;
use coinrs_core::merkle::merkle_root;
use coinrs_core::pow::bits_to_target;
use coinrs_core::{BlockHash, Transaction, TxOut, Txid};
use serde_json::Value;

/// The fields of a block template the miner uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Header version.
    pub version: u32,
    /// Height of the block to mine.
    pub height: u64,
    /// The tip to build on.
    pub previous: BlockHash,
    /// Compact target the block must carry.
    pub bits: u32,
    /// The node's clock.
    pub curtime: u64,
    /// The smallest time the block may have (median time past + 1).
    pub mintime: u64,
    /// Subsidy plus the fees of `transactions`, in base units.
    pub coinbasevalue: u64,
    /// The transactions to include after the coinbase, in order.
    pub transactions: Vec<Transaction>,
}

fn field<'a>(template: &'a Value, name: &str) -> Result<&'a Value, String> {
    template
        .get(name)
        .ok_or_else(|| format!("the template has no `{name}`"))
}

fn integer(template: &Value, name: &str) -> Result<u64, String> {
    field(template, name)?
        .as_u64()
        .ok_or_else(|| format!("the template's `{name}` is not a non-negative integer"))
}

fn string<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("the template's `{name}` is not a string"))
}

impl Template {
    /// Reads a `getblocktemplate` result. Every transaction's `data` is decoded and checked
    /// against its `txid` (when given).
    pub fn from_json(template: &Value) -> Result<Self, String> {
        let version = u32::try_from(integer(template, "version")?)
            .map_err(|_| "the template's `version` does not fit 32 bits".to_string())?;
        let height = integer(template, "height")?;
        let previous = string(field(template, "previousblockhash")?, "previousblockhash")?;
        let previous = BlockHash::from_str(previous)
            .map_err(|e| format!("the template's `previousblockhash` {previous:?}: {e}"))?;
        let bits = match field(template, "bits")? {
            Value::String(hex) if hex.len() == 8 => u32::from_str_radix(hex, 16)
                .map_err(|_| format!("the template's `bits` {hex:?} is not 8 hex digits"))?,
            other => return Err(format!("the template's `bits` {other} is not 8 hex digits")),
        };
        bits_to_target(bits).map_err(|e| format!("the template's `bits`: {e}"))?;
        let curtime = integer(template, "curtime")?;
        let mintime = match template.get("mintime") {
            None | Some(Value::Null) => 0,
            Some(_) => integer(template, "mintime")?,
        };
        let coinbasevalue = integer(template, "coinbasevalue")?;
        let entries = match template.get("transactions") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(entries)) => &entries[..],
            Some(_) => return Err("the template's `transactions` is not an array".into()),
        };
        let transactions = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let data = string(field(entry, "data")?, "transactions[].data")?;
                let bytes = hex::decode(data)
                    .map_err(|e| format!("transaction {i} of the template: bad hex: {e}"))?;
                let tx: Transaction = decode(&bytes)
                    .map_err(|e| format!("transaction {i} of the template does not decode: {e}"))?;
                if let Some(txid) = entry.get("txid").and_then(Value::as_str) {
                    let given = Txid::from_str(txid)
                        .map_err(|e| format!("transaction {i} of the template: txid: {e}"))?;
                    if given != tx.txid() {
                        return Err(format!(
                            "transaction {i} of the template: txid {txid} is not the txid of its data ({})",
                            tx.txid()
                        ));
                    }
                }
                Ok(tx)
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Template {
            version,
            height,
            previous,
            bits,
            curtime,
            mintime,
            coinbasevalue,
            transactions,
        })
    }

    /// The coinbase paying `coinbasevalue` to `pubkey`; its `lock_time` is the height, which
    /// keeps coinbases of different heights distinct.
    pub fn coinbase(&self, pubkey: [u8; 32]) -> Transaction {
        Transaction {
            version: 1,
            inputs: vec![],
            outputs: vec![TxOut {
                value: self.coinbasevalue,
                pubkey,
            }],
            lock_time: self.height,
        }
    }

    /// The unsolved block (nonce 0): the coinbase, then the template's transactions, the
    /// merkle root over their txids, time `max(curtime, mintime)`.
    pub fn block(&self, pubkey: [u8; 32]) -> Block {
        let mut transactions = Vec::with_capacity(self.transactions.len() + 1);
        transactions.push(self.coinbase(pubkey));
        transactions.extend(self.transactions.iter().cloned());
        let txids: Vec<_> = transactions.iter().map(|tx| tx.txid().0).collect();
        Block {
            header: BlockHeader {
                version: self.version,
                height: self.height,
                prev_hash: self.previous,
                merkle_root: merkle_root(&txids),
                time: self.curtime.max(self.mintime),
                bits: self.bits,
                nonce: 0,
            },
            transactions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::hash::sha256_pair;
    use coinrs_core::{OutPoint, TxIn};
    use serde_json::json;

    fn spend(seed: u8, value: u64) -> Transaction {
        Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: Txid([seed; 32]),
                    vout: 0,
                },
                signature: [seed; 64],
            }],
            outputs: vec![TxOut {
                value,
                pubkey: [seed.wrapping_add(1); 32],
            }],
            lock_time: 0,
        }
    }

    fn template_json(txs: &[Transaction]) -> Value {
        json!({
            "version": 1,
            "height": 7,
            "previousblockhash": "ab".repeat(32),
            "bits": "207fffff",
            "target": format!("7fffff{}", "0".repeat(58)),
            "curtime": 1_700_000_100u64,
            "mintime": 1_700_000_000u64,
            "coinbasevalue": 5_000_000_300u64,
            "transactions": txs.iter().map(|tx| json!({
                "data": hex::encode(tx.encode()),
                "txid": tx.txid().to_string(),
                "fee": 100,
            })).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn a_template_becomes_a_block_with_our_coinbase() {
        let txs = [spend(1, 10), spend(2, 20)];
        let template = Template::from_json(&template_json(&txs)).unwrap();
        assert_eq!(template.height, 7);
        assert_eq!(template.bits, 0x207f_ffff);
        let key = [9u8; 32];
        let block = template.block(key);

        // The coinbase: no inputs, one output of coinbasevalue to the key, lock_time = height.
        let coinbase = &block.transactions[0];
        assert!(coinbase.is_coinbase());
        assert_eq!(coinbase.version, 1);
        assert_eq!(coinbase.lock_time, 7);
        assert_eq!(
            coinbase.outputs,
            vec![TxOut {
                value: 5_000_000_300,
                pubkey: key
            }]
        );
        assert_eq!(&block.transactions[1..], &txs[..]);

        // The merkle root over [coinbase, tx1, tx2]: the odd last one moves up unpaired.
        let (c, a, b) = (coinbase.txid().0, txs[0].txid().0, txs[1].txid().0);
        let expected = sha256_pair(&sha256_pair(&c, &a), &b);
        assert_eq!(block.header.merkle_root, expected);
        assert_eq!(block.header.merkle_root, block.compute_merkle_root());

        let header = block.header;
        assert_eq!(header.version, 1);
        assert_eq!(header.height, 7);
        assert_eq!(header.prev_hash, BlockHash([0xab; 32]));
        assert_eq!(header.time, 1_700_000_100);
        assert_eq!(header.bits, 0x207f_ffff);
        assert_eq!(header.nonce, 0);
    }

    #[test]
    fn time_is_at_least_mintime_and_an_empty_template_is_the_coinbase_alone() {
        let mut value = template_json(&[]);
        value["curtime"] = json!(1_600_000_000u64);
        let template = Template::from_json(&value).unwrap();
        let block = template.block([3; 32]);
        assert_eq!(block.header.time, 1_700_000_000);
        assert_eq!(block.transactions.len(), 1);
        // A single leaf is its own root.
        assert_eq!(block.header.merkle_root, block.transactions[0].txid().0);
        // The block survives the trip through the wire encoding.
        let decoded: Block = decode(&block.encode()).unwrap();
        assert_eq!(decoded, block);
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        let bad = |edit: &dyn Fn(&mut Value)| {
            let mut value = template_json(&[spend(1, 10)]);
            edit(&mut value);
            Template::from_json(&value).unwrap_err()
        };
        assert!(bad(&|v| v["bits"] = json!("7fff")).contains("bits"));
        assert!(bad(&|v| v["bits"] = json!("00000000")).contains("bits"));
        assert!(bad(&|v| v["previousblockhash"] = json!("00")).contains("previousblockhash"));
        assert!(
            bad(&|v| {
                v.as_object_mut().unwrap().remove("coinbasevalue");
            })
            .contains("coinbasevalue")
        );
        assert!(bad(&|v| v["coinbasevalue"] = json!(-1)).contains("coinbasevalue"));
        assert!(bad(&|v| v["transactions"][0]["data"] = json!("zz")).contains("bad hex"));
        assert!(bad(&|v| v["transactions"][0]["data"] = json!("00")).contains("does not decode"));
        assert!(bad(&|v| v["transactions"][0]["txid"] = json!("cd".repeat(32))).contains("txid"));
    }
}
