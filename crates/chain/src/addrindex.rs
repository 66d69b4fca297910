//! The address index (`--addressindex`, on in coinrsd, off by default in the library): for
//! every address (an output's 32-byte key, PROTOCOL.md §6) its history, its unspent outputs
//! and running totals, so that the explorer can show an address without scanning the chain.
//!
//! It lives in the chain-state file and is written in the same redb write transaction as each
//! connect and disconnect, so it always matches the tip, whatever is killed when. A store is
//! marked in `meta` when it carries the index from genesis on; a store without the mark is
//! refused when the index is wanted (`--reindex` builds it), and a store opened without the
//! index loses the mark and the tables, so that it can never answer from a stale index.
//!
//! Tables (all keys big-endian where they sort):
//! - `addr_history`: key | height | txid | kind (0 received at output n, 1 spent by input n)
//!   | n → amount;
//! - `addr_utxo`: key | height | txid | vout → amount (height of the coin, so newest sort last);
//! - `addr_totals`: key → received | sent | history entries | unspent outputs (four u64 LE).

use std::collections::HashMap;
use std::path::Path;

use coinrs_core::block::Block;
use coinrs_core::validation::Coin;
use coinrs_core::{OutPoint, Txid};
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::{ChainError, Result};
use crate::store::At;

pub(crate) const ADDR_HISTORY: TableDefinition<[u8; 77], u64> =
    TableDefinition::new("addr_history");
pub(crate) const ADDR_UTXO: TableDefinition<[u8; 76], u64> = TableDefinition::new("addr_utxo");
pub(crate) const ADDR_TOTALS: TableDefinition<[u8; 32], [u8; 32]> =
    TableDefinition::new("addr_totals");

/// Meta key present (value `[1]`) when the chain state carries the address index.
pub(crate) const KEY_ADDR_INDEX: &str = "addrindex";

/// An address's running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressTotals {
    /// Sum of every output paid to it on the active chain.
    pub received: u64,
    /// Sum of those outputs spent on the active chain.
    pub sent: u64,
    /// History entries (outputs received plus inputs spending them).
    pub entries: u64,
    /// Unspent outputs.
    pub unspent: u64,
}

impl AddressTotals {
    /// What it holds now.
    pub fn balance(&self) -> u64 {
        self.received.saturating_sub(self.sent)
    }

    fn encode(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, v) in [self.received, self.sent, self.entries, self.unspent]
            .into_iter()
            .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    fn decode(b: &[u8; 32]) -> Self {
        let at = |i: usize| {
            let mut v = [0u8; 8];
            v.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(v)
        };
        AddressTotals {
            received: at(0),
            sent: at(1),
            entries: at(2),
            unspent: at(3),
        }
    }
}

/// One entry of an address's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressMove {
    /// Height of the block holding the transaction.
    pub height: u64,
    /// The transaction.
    pub txid: Txid,
    /// True: output `n` of the transaction paid the address; false: input `n` spent one of its
    /// outputs.
    pub received: bool,
    /// Output or input position.
    pub n: u32,
    /// The amount.
    pub value: u64,
}

/// One unspent output of an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressCoin {
    /// The output.
    pub outpoint: OutPoint,
    /// Height of the block that created it.
    pub height: u64,
    /// Its value.
    pub value: u64,
}

/// What one block does to the addresses it touches.
struct Movement {
    pubkey: [u8; 32],
    txid: Txid,
    received: bool,
    n: u32,
    value: u64,
    /// For a spend: the coin spent and its height.
    coin: Option<(OutPoint, u64)>,
}

fn history_key(pubkey: &[u8; 32], height: u64, txid: &Txid, received: bool, n: u32) -> [u8; 77] {
    let mut k = [0u8; 77];
    k[..32].copy_from_slice(pubkey);
    k[32..40].copy_from_slice(&height.to_be_bytes());
    k[40..72].copy_from_slice(&txid.0);
    k[72] = u8::from(!received);
    k[73..].copy_from_slice(&n.to_be_bytes());
    k
}

fn utxo_key(pubkey: &[u8; 32], height: u64, op: &OutPoint) -> [u8; 76] {
    let mut k = [0u8; 76];
    k[..32].copy_from_slice(pubkey);
    k[32..40].copy_from_slice(&height.to_be_bytes());
    k[40..72].copy_from_slice(&op.txid.0);
    k[72..].copy_from_slice(&op.vout.to_be_bytes());
    k
}

fn be_u64(b: &[u8]) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[..8]);
    u64::from_be_bytes(v)
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn txid_at(b: &[u8]) -> Txid {
    let mut t = [0u8; 32];
    t.copy_from_slice(&b[..32]);
    Txid(t)
}

/// The movements of a block at `height`: every output, then every input with the coin it
/// spends (from `spent`, the coins of the parent's set in spending order, or from an earlier
/// transaction of the same block).
fn movements(
    block: &Block,
    txids: &[Txid],
    spent: &[(OutPoint, Coin)],
    height: u64,
) -> Option<Vec<Movement>> {
    let mut out = Vec::new();
    let mut next_spent = spent.iter().peekable();
    let mut in_block: Option<HashMap<Txid, usize>> = None;
    for (t, tx) in block.transactions.iter().enumerate() {
        let txid = *txids.get(t)?;
        if t > 0 {
            for (i, input) in tx.inputs.iter().enumerate() {
                let (output, coin_height) = match next_spent.peek() {
                    Some((op, coin)) if *op == input.prevout => {
                        next_spent.next();
                        (coin.output, coin.height)
                    }
                    _ => {
                        let map = in_block.get_or_insert_with(|| {
                            txids.iter().enumerate().map(|(i, t)| (*t, i)).collect()
                        });
                        let source = *map.get(&input.prevout.txid)?;
                        if source >= t {
                            return None;
                        }
                        let output = *block.transactions[source]
                            .outputs
                            .get(input.prevout.vout as usize)?;
                        (output, height)
                    }
                };
                out.push(Movement {
                    pubkey: output.pubkey,
                    txid,
                    received: false,
                    n: i as u32,
                    value: output.value,
                    coin: Some((input.prevout, coin_height)),
                });
            }
        }
        for (vout, output) in tx.outputs.iter().enumerate() {
            out.push(Movement {
                pubkey: output.pubkey,
                txid,
                received: true,
                n: vout as u32,
                value: output.value,
                coin: None,
            });
        }
    }
    if next_spent.next().is_some() {
        return None;
    }
    Some(out)
}

fn malformed(p: &Path, height: u64) -> ChainError {
    ChainError::Corrupt {
        path: p.to_path_buf(),
        detail: format!("the spent coins of block {height} do not match its inputs"),
        hint: "",
    }
}

/// Creates the tables and sets the mark (a new chain state with the index on).
pub(crate) fn create(w: &WriteTransaction, p: &Path) -> Result<()> {
    w.open_table(ADDR_HISTORY).at(p)?;
    w.open_table(ADDR_UTXO).at(p)?;
    w.open_table(ADDR_TOTALS).at(p)?;
    let mut meta = w.open_table(crate::store::META).at(p)?;
    meta.insert(KEY_ADDR_INDEX, [1u8].as_slice()).at(p)?;
    Ok(())
}

/// Deletes the tables and the mark (a chain state opened with the index off).
pub(crate) fn drop_index(w: &WriteTransaction, p: &Path) -> Result<()> {
    w.delete_table(ADDR_HISTORY).at(p)?;
    w.delete_table(ADDR_UTXO).at(p)?;
    w.delete_table(ADDR_TOTALS).at(p)?;
    let mut meta = w.open_table(crate::store::META).at(p)?;
    meta.remove(KEY_ADDR_INDEX).at(p)?;
    Ok(())
}

/// Records a block being connected at `height` (inside its write transaction).
pub(crate) fn connect(
    w: &WriteTransaction,
    p: &Path,
    block: &Block,
    txids: &[Txid],
    spent: &[(OutPoint, Coin)],
    height: u64,
) -> Result<()> {
    let moves = movements(block, txids, spent, height).ok_or_else(|| malformed(p, height))?;
    apply(w, p, &moves, height, true)
}

/// Undoes [`connect`] for the tip at `height`, given its undo data.
pub(crate) fn disconnect(
    w: &WriteTransaction,
    p: &Path,
    block: &Block,
    spent: &[(OutPoint, Coin)],
    height: u64,
) -> Result<()> {
    let txids: Vec<Txid> = block.transactions.iter().map(|t| t.txid()).collect();
    let moves = movements(block, &txids, spent, height).ok_or_else(|| malformed(p, height))?;
    apply(w, p, &moves, height, false)
}

fn apply(w: &WriteTransaction, p: &Path, moves: &[Movement], height: u64, up: bool) -> Result<()> {
    let mut history = w.open_table(ADDR_HISTORY).at(p)?;
    let mut utxo = w.open_table(ADDR_UTXO).at(p)?;
    // Totals per address summed over the block first: a miner's address is touched once.
    let mut deltas: HashMap<[u8; 32], (u64, u64, u64, i64)> = HashMap::new();
    for m in moves {
        let hk = history_key(&m.pubkey, height, &m.txid, m.received, m.n);
        let d = deltas.entry(m.pubkey).or_default();
        d.2 += 1;
        if m.received {
            d.0 += m.value;
            d.3 += 1;
        } else {
            d.1 += m.value;
            d.3 -= 1;
        }
        if up {
            history.insert(hk, m.value).at(p)?;
        } else {
            history.remove(hk).at(p)?;
        }
        match (m.received, m.coin) {
            (true, _) => {
                let op = OutPoint {
                    txid: m.txid,
                    vout: m.n,
                };
                let k = utxo_key(&m.pubkey, height, &op);
                if up {
                    utxo.insert(k, m.value).at(p)?;
                } else {
                    utxo.remove(k).at(p)?;
                }
            }
            (false, Some((op, coin_height))) => {
                let k = utxo_key(&m.pubkey, coin_height, &op);
                if up {
                    utxo.remove(k).at(p)?;
                } else if coin_height < height {
                    // Coins created in this same block are gone with it.
                    utxo.insert(k, m.value).at(p)?;
                }
            }
            (false, None) => {}
        }
    }
    let mut totals = w.open_table(ADDR_TOTALS).at(p)?;
    for (pubkey, (received, sent, entries, unspent)) in deltas {
        let mut t = totals
            .get(pubkey)
            .at(p)?
            .map(|v| AddressTotals::decode(&v.value()))
            .unwrap_or_default();
        if up {
            t.received += received;
            t.sent += sent;
            t.entries += entries;
            t.unspent = t.unspent.saturating_add_signed(unspent);
        } else {
            t.received = t.received.saturating_sub(received);
            t.sent = t.sent.saturating_sub(sent);
            t.entries = t.entries.saturating_sub(entries);
            t.unspent = t.unspent.saturating_add_signed(-unspent);
        }
        if t.entries == 0 {
            totals.remove(pubkey).at(p)?;
        } else {
            totals.insert(pubkey, t.encode()).at(p)?;
        }
    }
    Ok(())
}

/// Reading the index (a read transaction of the chain-state file).
pub(crate) fn totals(
    r: &redb::ReadTransaction,
    p: &Path,
    pubkey: &[u8; 32],
) -> Result<AddressTotals> {
    let t = r.open_table(ADDR_TOTALS).at(p)?;
    Ok(t.get(*pubkey)
        .at(p)?
        .map(|v| AddressTotals::decode(&v.value()))
        .unwrap_or_default())
}

/// Up to `limit` unspent outputs of `pubkey`, newest first.
pub(crate) fn unspent(
    r: &redb::ReadTransaction,
    p: &Path,
    pubkey: &[u8; 32],
    limit: usize,
) -> Result<Vec<AddressCoin>> {
    let t = r.open_table(ADDR_UTXO).at(p)?;
    let mut lo = [0u8; 76];
    lo[..32].copy_from_slice(pubkey);
    let mut hi = [0xffu8; 76];
    hi[..32].copy_from_slice(pubkey);
    let mut out = Vec::new();
    for item in t.range(lo..=hi).at(p)?.rev().take(limit) {
        let (k, v) = item.at(p)?;
        let k = k.value();
        out.push(AddressCoin {
            outpoint: OutPoint {
                txid: txid_at(&k[40..72]),
                vout: be_u32(&k[72..76]),
            },
            height: be_u64(&k[32..40]),
            value: v.value(),
        });
    }
    Ok(out)
}

/// History of `pubkey` below height `before` (exclusive), newest first: at least `limit`
/// entries when there are that many, completed to the end of the last height shown (at most
/// `hard_limit` in all), so that `before = last height` continues without gaps.
pub(crate) fn history(
    r: &redb::ReadTransaction,
    p: &Path,
    pubkey: &[u8; 32],
    before: u64,
    limit: usize,
    hard_limit: usize,
) -> Result<Vec<AddressMove>> {
    let t = r.open_table(ADDR_HISTORY).at(p)?;
    let mut lo = [0u8; 77];
    lo[..32].copy_from_slice(pubkey);
    let mut hi = [0u8; 77];
    hi[..32].copy_from_slice(pubkey);
    hi[32..40].copy_from_slice(&before.to_be_bytes());
    let mut out: Vec<AddressMove> = Vec::new();
    for item in t.range(lo..hi).at(p)?.rev() {
        let (k, v) = item.at(p)?;
        let k = k.value();
        let height = be_u64(&k[32..40]);
        if out.len() >= hard_limit
            || (out.len() >= limit && out.last().is_some_and(|m| m.height != height))
        {
            break;
        }
        out.push(AddressMove {
            height,
            txid: txid_at(&k[40..72]),
            received: k[72] == 0,
            n: be_u32(&k[73..77]),
            value: v.value(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_address_then_height() {
        let a = [1u8; 32];
        let t = Txid([9; 32]);
        assert!(history_key(&a, 2, &t, true, 0) > history_key(&a, 1, &t, false, 7));
        assert!(history_key(&[2u8; 32], 0, &t, true, 0) > history_key(&a, u64::MAX, &t, true, 0));
        let totals = AddressTotals {
            received: 5,
            sent: 3,
            entries: 2,
            unspent: 1,
        };
        assert_eq!(AddressTotals::decode(&totals.encode()), totals);
        assert_eq!(totals.balance(), 2);
    }
}
