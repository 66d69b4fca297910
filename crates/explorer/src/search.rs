//! The search box: a height, a block hash, a txid, an address or a CID (of a block header or a
//! transaction) → the page that shows it.

use coinrs_core::{BlockHash, Txid};

use crate::Explorer;
use crate::layout::{Reply, echo};

/// Longest query looked at.
pub const MAX_QUERY: usize = 200;

/// Where `q` leads.
pub fn resolve(s: &Explorer, q: &str) -> Reply {
    let q = q.trim();
    if q.is_empty() {
        return Reply::BadRequest("Type a height, block hash, txid, address or CID.".into());
    }
    if q.len() > MAX_QUERY {
        return Reply::BadRequest(format!("A query is at most {MAX_QUERY} characters."));
    }
    let hrp = &s.ctx.params.hrp;
    if q.bytes().all(|b| b.is_ascii_digit()) {
        let chain = s.ctx.chain();
        return match q.parse::<u64>().ok().and_then(|h| chain.hash_at(h)) {
            Some(hash) => Reply::Redirect(format!("/block/{hash}")),
            None => Reply::NotFound(format!(
                "No block at height {} (the tip is at {}).",
                echo(q),
                chain.height()
            )),
        };
    }
    if q.len() == 64 && q.bytes().all(|b| b.is_ascii_hexdigit()) {
        let Ok(bytes) = coinrs_core::hash::hash_from_hex(&q.to_ascii_lowercase()) else {
            return Reply::BadRequest("Malformed hash.".into());
        };
        return by_hash(s, bytes, q);
    }
    let lower = q.to_ascii_lowercase();
    if lower.starts_with(&format!("{hrp}1")) {
        return match coinrs_core::address::decode_address(hrp, &lower) {
            Ok(_) => Reply::Redirect(format!("/address/{lower}")),
            Err(e) => Reply::BadRequest(format!("{} is not an address: {e}.", echo(q))),
        };
    }
    if q.starts_with('b') {
        return match coinrs_core::cid::parse_cid(q) {
            Ok(bytes) => by_hash(s, bytes, q),
            Err(e) => Reply::BadRequest(format!("{} is not a CID of this chain: {e}.", echo(q))),
        };
    }
    Reply::NotFound(format!(
        "Nothing matches {}: type a height, a block hash, a txid, an address ({hrp}1…) or a CID (b…).",
        echo(q)
    ))
}

fn by_hash(s: &Explorer, bytes: [u8; 32], q: &str) -> Reply {
    let chain = s.ctx.chain();
    let block = BlockHash(bytes);
    if chain.entry(&block).is_some() {
        return Reply::Redirect(format!("/block/{block}"));
    }
    let txid = Txid(bytes);
    match chain.tx_location(&txid) {
        Ok(Some(_)) => return Reply::Redirect(format!("/tx/{txid}")),
        Ok(None) => {}
        Err(e) => return Reply::Unavailable(e.to_string()),
    }
    if s.ctx.mempool().contains(&txid) {
        return Reply::Redirect(format!("/tx/{txid}"));
    }
    Reply::NotFound(format!("No block or transaction {} on this node.", echo(q)))
}
