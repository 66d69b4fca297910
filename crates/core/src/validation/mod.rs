//! The consensus rules of PROTOCOL.md §4 as free functions that return exactly the reject
//! reasons of the protocol, first broken rule first.
//!
//! Nothing here touches storage: the parent's context comes in through [`ParentContext`] and
//! unspent outputs through [`UtxoView`]; the chain crate implements both over its store.
//!
//! - [`check_header`]: the header table (needs the parent and the node's clock).
//! - [`check_block_body`]: the body table (needs only the block).
//! - [`connect_transactions`]: every transaction in block order, then `bad-cb-amount`;
//!   returns the fees and the coins spent and created (the undo data of the chain crate).
//! - [`check_transaction`]: one transaction as if for the next block (the mempool's entry).
//! - [`validate_block`]: all of the above from raw bytes, in the protocol's order; the entry
//!   point for a block from a peer or `submitblock`.

mod block;
mod context;
mod header;
mod reject;
mod tx;

pub use block::{
    BlockEffects, check_block, check_block_body, connect_transactions, connect_transactions_with,
    validate_block,
};
pub use context::{Coin, ParentContext, ParentInfo, ParentState, UtxoView};
pub use header::{HeaderChecked, check_header, median_time_past};
pub use reject::RejectReason;
pub use tx::{
    SequentialVerifier, SigCheck, SigVerifier, TxEffects, check_transaction,
    check_transaction_deferred, check_tx_without_inputs,
};
