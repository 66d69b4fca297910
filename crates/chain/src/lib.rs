//! # coinrs-chain
//!
//! The chain state of a node, on disk: the stored blocks, the block index, the active chain,
//! the unspent outputs, undo data and a transaction index, in two redb files of the chain
//! folder (see [`store`]). It always follows the valid chain with the most work, at any depth
//! of reorganisation, and survives a crash at any moment.
//!
//! What it owns: [`Chain`] (accepting headers and blocks, reorganisations, orphans, invalid
//! branches, `invalidateblock` / `reconsiderblock`, chain tips, `verifychain`, `--reindex`)
//! and the storage format. What it must never do: networking, async, consensus rules of its
//! own (those are `coinrs-core`'s, called through its validation functions), or read the
//! clock for consensus (`now` is an argument).
//!
//! It is synchronous; the node holds it behind a mutex. Signature checks of a block run on
//! all cores through rayon ([`verify::ParallelVerifier`]).

pub mod addrindex;
pub mod content;
pub mod error;
pub mod index;
pub mod orphans;
mod state;
pub mod store;
mod utxo;
pub mod verify;

pub use addrindex::{AddressCoin, AddressMove, AddressTotals};
pub use content::ContentKind;
pub use error::ChainError;
pub use state::{
    BlockOutcome, Chain, ChainEvent, ChainOptions, ChainTip, TipStatus, UtxoSnapshot, UtxoStats,
};
