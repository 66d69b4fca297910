//! IPFS: the chain's content by CID (`getcid`) and CAR files (`exportcar`, `importcar`), see
//! docs/ipfs.md.

use std::time::Instant;

use coinrs_chain::{BlockOutcome, ChainError};
use coinrs_core::car::{CarError, CarReader, CarWriter};
use coinrs_core::cid::{parse_cid, to_cid_string};
use coinrs_net::FetchOutcome;
use serde_json::{Value, json};

use crate::context::{NodeContext, now};
use crate::error::{RpcError, code};
use crate::params::Args;

/// `getcid CID` → hex of the content behind the CID (a header, a transaction of the active
/// chain, or an inner merkle node of one of its blocks), checked against the CID's digest.
pub fn getcid(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let text = args.str(0)?;
    let digest = parse_cid(text).map_err(|e| {
        RpcError::invalid_parameter(format!(
            "cid must be a CIDv1 of codec raw and sha2-256 in base32 (b...), as the chain prints them: {e}"
        ))
    })?;
    let stored = ctx.chain().content(&digest);
    match stored {
        Ok(Some((_, bytes))) => Ok(json!(hex::encode(bytes))),
        Ok(None) | Err(ChainError::NoMerkleIndex) => {
            let no_index = stored.is_err();
            let Some(net) = ctx.net.get() else {
                return Err(not_found(no_index, "the network is off"));
            };
            match net.fetch_cid(digest, FETCH_TIMEOUT) {
                FetchOutcome::Found(bytes, peer) => {
                    // Bitswap checked the hash; check again, it is cheap and it is the promise.
                    if coinrs_core::hash::sha256(&bytes) != digest {
                        return Err(RpcError::new(
                            code::MISC_ERROR,
                            format!("peer {peer} sent content that does not match the CID"),
                        ));
                    }
                    Ok(json!(hex::encode(bytes)))
                }
                FetchOutcome::NotFound { asked: 0 } => {
                    Err(not_found(no_index, "no peer is connected to ask"))
                }
                FetchOutcome::NotFound { asked } => Err(not_found(
                    no_index,
                    &format!("none of the {asked} connected peers has it (Bitswap)"),
                )),
                FetchOutcome::TimedOut { asked } => Err(not_found(
                    no_index,
                    &format!(
                        "no block from the {asked} peers asked over Bitswap within {} s",
                        FETCH_TIMEOUT.as_secs()
                    ),
                )),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// How long `getcid` waits for peers.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn not_found(no_index: bool, why: &str) -> RpcError {
    if no_index {
        return RpcError::new(
            code::MISC_ERROR,
            format!("{} (and {why})", ChainError::NoMerkleIndex),
        );
    }
    RpcError::new(
        code::INVALID_ADDRESS_OR_KEY,
        format!(
            "CID not found: the store holds no header, transaction of the active chain or inner merkle node of its blocks with this hash, and {why}"
        ),
    )
}

/// A path argument: relative paths are taken from the chain folder.
fn car_path(ctx: &NodeContext, arg: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(arg);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        ctx.chain_dir.join(p)
    }
}

fn io_error(path: &std::path::Path, e: impl std::fmt::Display) -> RpcError {
    RpcError::new(code::MISC_ERROR, format!("{}: {e}", path.display()))
}

/// `exportcar FROM_HEIGHT TO_HEIGHT PATH` → `{root, blocks, bytes}`: the active chain's blocks
/// of that range as a CARv1 file (docs/ipfs.md), written to a temporary file beside PATH,
/// synced, then renamed.
pub fn exportcar(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let from = args.u64(0)?;
    let to = args.u64(1)?;
    let path = car_path(ctx, args.str(2)?);
    // The hashes first (one lock); stored blocks never change, so each is read later.
    let hashes = {
        let chain = ctx.chain();
        if from > to || to > chain.height() {
            return Err(RpcError::invalid_parameter(format!(
                "Invalid range: need 0 <= from_height <= to_height <= {} (the tip), got {from}..{to}",
                chain.height()
            )));
        }
        (from..=to)
            .map(|h| chain.hash_at(h).ok_or_else(RpcError::block_not_found))
            .collect::<Result<Vec<_>, _>>()?
    };
    let root = hashes[hashes.len() - 1];
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export.car".into())
    ));
    let result = (|| -> Result<u64, RpcError> {
        let file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        let mut w = CarWriter::new(std::io::BufWriter::new(file), &root.0)
            .map_err(|e| io_error(&tmp, e))?;
        for hash in &hashes {
            let block = ctx
                .chain()
                .block(hash)?
                .ok_or_else(RpcError::block_not_found)?;
            w.block(&block).map_err(|e| io_error(&tmp, e))?;
        }
        let bytes = w.bytes;
        let file = w
            .into_inner()
            .into_inner()
            .map_err(|e| io_error(&tmp, e.error()))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))?;
        Ok(bytes)
    })();
    let bytes = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    tracing::info!(path = %path.display(), blocks = hashes.len(), bytes, "exported a CAR file");
    Ok(json!({
        "root": to_cid_string(&root.0),
        "blocks": hashes.len(),
        "bytes": bytes,
    }))
}

/// `importcar PATH` → `{imported, height}`: the blocks of a CARv1 file (as `exportcar` writes
/// them) handed to the chain one by one as blocks from a peer are (full validation), with a
/// progress line; blocks the node already has are skipped.
pub fn importcar(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let path = car_path(ctx, args.str(0)?);
    let file = std::fs::File::open(&path).map_err(|e| io_error(&path, e))?;
    let max_block = ctx.params.max_block_size;
    let bad = |e: CarError| {
        RpcError::new(
            code::DESERIALIZATION_ERROR,
            format!("{}: {e}", path.display()),
        )
    };
    let mut reader = CarReader::new(std::io::BufReader::new(file), max_block).map_err(bad)?;
    let (mut imported, mut seen) = (0u64, 0u64);
    let started = Instant::now();
    let mut last_report = Instant::now();
    while let Some(block) = reader.next_block().map_err(bad)? {
        seen += 1;
        let hash = block.hash();
        let mut chain = ctx.chain();
        if chain.entry(&block.header.prev_hash).is_none() && chain.entry(&hash).is_none() {
            return Err(RpcError::new(
                code::VERIFY_ERROR,
                format!(
                    "block {seen} of the file ({hash}, height {}) does not connect: its parent {} is unknown to this node ({imported} imported before it)",
                    block.header.height, block.header.prev_hash
                ),
            ));
        }
        let result = chain.accept_block(&block.encode(), now());
        ctx.sync_mempool(&mut chain);
        match result {
            Ok(BlockOutcome::Active | BlockOutcome::SideBranch) => imported += 1,
            Ok(
                BlockOutcome::Duplicate
                | BlockOutcome::DuplicateInconclusive
                | BlockOutcome::DuplicateInvalid,
            ) => {}
            Ok(BlockOutcome::Orphan) => {
                return Err(RpcError::new(
                    code::VERIFY_ERROR,
                    format!("block {hash} of the file does not connect"),
                ));
            }
            Err(ChainError::Rejected(reason)) => {
                chain.flush()?;
                return Err(RpcError::new(
                    code::VERIFY_ERROR,
                    format!(
                        "block {seen} of the file ({hash}, height {}) is invalid: {reason} ({imported} imported before it)",
                        block.header.height
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        if last_report.elapsed().as_secs() >= 2 {
            chain.flush()?;
            tracing::info!(
                "importcar: {seen} blocks read, {imported} imported, height {}, {:.0} blocks/s",
                chain.height(),
                seen as f64 / started.elapsed().as_secs_f64().max(1e-9)
            );
            last_report = Instant::now();
        }
    }
    let mut chain = ctx.chain();
    chain.flush()?;
    tracing::info!(
        "importcar: done, {seen} blocks read, {imported} imported, height {}",
        chain.height()
    );
    Ok(json!({ "imported": imported, "height": chain.height() }))
}
