//! Integration tests of coinrsd: real processes on free loopback ports with temporary
//! datadirs (coinrs-testkit), driven through JSON-RPC, raw HTTP, coinrs-cli and an independent
//! client from PyPI. Build the binaries first: `cargo build --bins`.
//!
//! - [`control`]: help, uptime, stop and signals, the datadir lock, credentials, config file
//!   and environment;
//! - [`chain`]: every chain, raw-transaction and mining method;
//! - [`transport`]: JSON-RPC 1.0 / 2.0 shapes and HTTP statuses, batches, notifications,
//!   basic auth, named parameters, keep-alive, `/wallet/NAME`;
//! - [`bad_input`]: hostile and mistaken requests, each a clear error, and the limits
//!   (body size, HTTP 503 beyond the work queue);
//! - [`python_client`]: python-bitcoinrpc's `AuthServiceProxy` with the cookie;
//! - [`cli`]: coinrs-cli against a node.

mod bad_input;
mod chain;
mod cli;
mod control;
mod python_client;
mod support;
mod transport;
