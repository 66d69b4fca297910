//! # coinrs-core
//!
//! The consensus core of coinrs: everything of `PROTOCOL.md` that is pure computation.
//!
//! What it owns:
//! - the consensus types and their Borsh encoding ([`transaction`], [`block`]) and the
//!   hostile-input decoder ([`encode`]);
//! - the hashes and ids ([`hash`]), merkle roots and proofs ([`merkle`]), IPFS CIDs ([`cid`]);
//! - proof of work ([`pow`], [`asert`], [`midstate`] for fast header grinding);
//! - signatures ([`sighash`], [`sig`]) and addresses ([`address`]);
//! - chain parameters and genesis blocks ([`params`]); building blocks on a parent ([`build`]);
//! - the validation rules with the protocol's exact reject reasons ([`validation`]).
//!
//! ```
//! use coinrs_core::memchain::MemChain;
//! use coinrs_core::params::ChainParams;
//! use coinrs_core::sig::SigningKey;
//!
//! // A regtest chain in memory; mine a block paying a key and connect it.
//! let mut chain = MemChain::new(ChainParams::regtest());
//! let key = SigningKey::from_secret_bytes([7; 32]).unwrap();
//! let time = chain.tip_header().time + 600;
//! let block = chain.build_block(vec![], 0, key.public_key(), time);
//! chain.submit(&block.encode(), time).unwrap();
//! assert_eq!(chain.height(), 1);
//!
//! // Its id is a CID, and a changed byte is a reject reason.
//! assert!(block.hash().cid().starts_with("bafkrei"));
//! let mut bytes = block.encode();
//! bytes.push(0);
//! assert_eq!(chain.submit(&bytes, time).unwrap_err().to_string(), "bad-blk-length");
//! ```
//!
//! What it must never do: I/O of any kind, async, reading the clock (time is an argument),
//! global state. Storage reaches it only through the traits of [`validation`]. The test
//! command checks that `cargo tree -p coinrs-core` contains no tokio, redb or libp2p.

pub mod address;
pub mod asert;
pub mod block;
pub mod build;
pub mod car;
pub mod cid;
pub mod encode;
pub mod error;
pub mod hash;
pub mod memchain;
pub mod merkle;
pub mod midstate;
pub mod params;
pub mod pow;
pub mod sig;
pub mod sighash;
pub mod transaction;
pub mod validation;

pub use block::{Block, BlockHeader};
pub use hash::{BlockHash, Hash, Txid};
pub use params::ChainParams;
pub use transaction::{COIN, MAX_MONEY, OutPoint, Transaction, TxIn, TxOut};
pub use validation::RejectReason;
