//! # coinrs-rpc
//!
//! The node's JSON-RPC server: the transport (HTTP/1.1 with keep-alive, JSON-RPC 1.0 and 2.0,
//! batches, basic auth, limits on body size and on requests in progress) in [`server`], the
//! method table in [`methods`], argument reading in [`params`], the JSON shapes of
//! INTERFACE.md in [`json`], and the one place where domain errors become Bitcoin Core's
//! error codes, [`error`].
//!
//! It sits above the subsystems (chain now; mempool, network and wallets as they land) and
//! reaches them through [`context::NodeContext`], which the node crate builds (see
//! docs/adr/0002-rpc-above-subsystems.md). Tasks: one axum server; methods that may take long
//! run on tokio's blocking pool.

pub mod context;
pub mod error;
pub mod json;
pub mod methods;
pub mod netbackend;
pub mod params;
pub mod server;
pub mod template;
pub mod wallets;

pub use context::NodeContext;
pub use error::RpcError;
pub use server::{RpcConfig, serve};
