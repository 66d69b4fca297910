//! IPFS: the chain's content by CID (`getcid`), see docs/ipfs.md.

use coinrs_chain::ChainError;
use coinrs_core::cid::parse_cid;
use serde_json::{Value, json};

use crate::context::NodeContext;
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
    let chain = ctx.chain();
    match chain.content(&digest) {
        Ok(Some((_, bytes))) => Ok(json!(hex::encode(bytes))),
        Ok(None) => Err(RpcError::new(
            code::INVALID_ADDRESS_OR_KEY,
            "CID not found: the store holds no header, transaction of the active chain or inner merkle node of its blocks with this hash (fetching from peers over Bitswap is not implemented yet)",
        )),
        Err(ChainError::NoMerkleIndex) => Err(RpcError::new(
            code::MISC_ERROR,
            ChainError::NoMerkleIndex.to_string(),
        )),
        Err(e) => Err(e.into()),
    }
}
