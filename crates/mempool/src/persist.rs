//! Saving the mempool at stop and loading it at start (`mempool.dat` in the chain folder).
//! Format: magic `coinrs-mempool\0\1` | count (u32 LE) | (time u64 LE | length u32 LE | tx)* |
//! SHA-256 of everything before it. Written to a temporary file and renamed, so a crash
//! leaves the old file or the new one. Loaded entries are re-validated by the caller.

use std::io::Write;
use std::path::Path;

use coinrs_core::Transaction;
use coinrs_core::encode::{Reader, decode};
use coinrs_core::hash::sha256;

const MAGIC: &[u8; 16] = b"coinrs-mempool\0\x01";

/// Writes the transactions and their arrival times.
pub fn save(path: &Path, txs: &[(Transaction, u64)]) -> std::io::Result<()> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(txs.len() as u32).to_le_bytes());
    for (tx, time) in txs {
        let bytes = tx.encode();
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    let digest = sha256(&out);
    out.extend_from_slice(&digest);
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&out)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Reads a saved mempool; `Err` with a reason when the file is damaged (the caller starts
/// empty and says so).
pub fn load(path: &Path) -> Result<Vec<(Transaction, u64)>, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    if data.len() < MAGIC.len() + 4 + 32 || &data[..MAGIC.len()] != MAGIC {
        return Err("not a coinrs mempool file".into());
    }
    let (body, digest) = data.split_at(data.len() - 32);
    if sha256(body) != digest {
        return Err("checksum mismatch".into());
    }
    let mut r = Reader::new(&body[MAGIC.len()..]);
    let count = r.count(12).map_err(|e| e.to_string())?;
    let mut txs = Vec::with_capacity(count);
    for _ in 0..count {
        let time = r.u64().map_err(|e| e.to_string())?;
        let len = r.u32().map_err(|e| e.to_string())? as usize;
        let bytes = r.take(len).map_err(|e| e.to_string())?;
        txs.push((
            decode::<Transaction>(bytes).map_err(|e| e.to_string())?,
            time,
        ));
    }
    r.finish().map_err(|e| e.to_string())?;
    Ok(txs)
}
