//! `help`, `stop`, `uptime`.

use serde_json::{Value, json};

use super::{METHODS, find};
use crate::context::NodeContext;
use crate::error::{RpcError, code};
use crate::params::Args;

pub fn help(_: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    match args.get(0) {
        Some(_) => {
            let name = args.str(0)?;
            let m = find(name).ok_or_else(|| {
                RpcError::new(code::MISC_ERROR, format!("help: unknown command: {name}"))
            })?;
            Ok(json!(m.usage()))
        }
        None => {
            let lines: Vec<String> = METHODS
                .iter()
                .map(|m| m.usage().lines().next().unwrap_or(m.name).to_string())
                .collect();
            Ok(json!(lines.join("\n")))
        }
    }
}

pub fn stop(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    ctx.request_shutdown();
    Ok(json!("coinrs stopping"))
}

pub fn uptime(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    Ok(json!(ctx.started.elapsed().as_secs()))
}
