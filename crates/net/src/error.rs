//! Errors of the network crate.

use std::path::PathBuf;

/// What can go wrong starting or steering the network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A peer or listen address that cannot be used.
    #[error("bad address {addr}: {reason}")]
    BadAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Listening failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The listen address.
        addr: String,
        /// The transport's error.
        reason: String,
    },
    /// A file of the chain folder (node key, peers, bans) cannot be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The libp2p stack could not be built.
    #[error("network setup: {0}")]
    Setup(String),
    /// The network task has stopped.
    #[error("the network is not running")]
    Stopped,
    /// A subnet or IP that does not parse.
    #[error("invalid IP/Subnet: {0}")]
    BadSubnet(String),
}
