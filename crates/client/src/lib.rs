//! # coinrs-client
//!
//! The client side of the coinrs node's JSON-RPC, shared by `coinrs-cli` and `coinrs-miner`:
//!
//! - [`config`]: where the node is and how to log in, from the options both programs take
//!   (`--chain NAME|FILE`, `--datadir`, `--rpcconnect HOST[:PORT]`, `--rpcport`,
//!   `--rpcuser`/`--rpcpassword`, else the `.cookie` file in `DATADIR/<chain name>/`). Chain
//!   files are read with [`coinrs_core::ChainParams::from_toml`], so the client accepts
//!   exactly the chain files the node does.
//! - [`rpc`]: one JSON-RPC 1.0 POST with HTTP basic auth (blocking `ureq`; no async runtime),
//!   and what its answer means.
//! - [`error`]: a [`Failure`] is the message to print and the exit code of bitcoin-cli's
//!   conventions (1 for an RPC error or a refused login, 2 for bad usage or an unreachable
//!   node), plus its [`FailureKind`] for programs that retry.
//!
//! ```no_run
//! use coinrs_client::{Client, NodeOptions};
//!
//! let options = NodeOptions {
//!     chain: "regtest".into(),
//!     ..NodeOptions::default()
//! };
//! let node = options.resolve().expect("usable options");
//! let (user, password) = node.auth.credentials().expect("the node's cookie");
//! let client = Client::new(node.endpoint.clone(), None, &user, &password, None);
//! let count = client.call("getblockcount", vec![]).expect("an answer");
//! println!("{count}");
//! ```

pub mod config;
pub mod error;
pub mod rpc;

pub use config::{Auth, Endpoint, NodeConfig, NodeOptions};
pub use error::{EXIT_FAILURE, EXIT_USAGE, Failure, FailureKind};
pub use rpc::Client;
