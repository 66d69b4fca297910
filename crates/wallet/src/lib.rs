//! # coinrs-wallet
//!
//! The wallet of a coinrs node, as a library the RPC layer drives (issue 8). What it owns:
//!
//! - keys ([`keys`], [`bip32`]): a BIP39 mnemonic (12 or 24 words, optional BIP39
//!   passphrase), BIP32 derivation written here on HMAC-SHA512 and libsecp256k1, BIP86
//!   taproot output keys on `m/86'/1'/0'/0/i` (receive) and `m/86'/1'/0'/1/i` (change);
//!   coin type 1 on every coinrs chain (see [`keys`] for why);
//! - the secrets' encryption ([`crypt`]): argon2id and XChaCha20-Poly1305, `zeroize` types;
//! - the wallet file ([`store`]): one redb database per wallet, every change in one
//!   transaction, a chain digest so a wallet of another chain is refused, consistent backups;
//! - the [`Wallet`] ([`wallet`]): create/restore/open, addresses, import/dump of single
//!   keys, encrypt/unlock/lock/change passphrase;
//! - following the chain ([`scan`]): connected and disconnected blocks and mempool
//!   transactions update outputs, spends, conflicts and the gap limit; balances;
//! - spending ([`select`], [`spend`]): branch-and-bound coin selection with a largest-first
//!   fallback, fees from the exact size, no dust, change to a fresh change key, signing.
//!
//! ```no_run
//! # use coinrs_wallet::*;
//! # use coinrs_core::{params::ChainParams, TxOut, Block};
//! # fn blocks() -> Vec<Block> { vec![] }
//! let params = ChainParams::regtest();
//! let mut w = Wallet::create("wallets/alice.redb".as_ref(), &params, "alice",
//!                            CreateOptions::default())?;
//! let address = w.new_address(Branch::Receive)?;           // crt1p…
//! for block in blocks() { w.block_connected(&block)?; }    // the node feeds its chain
//! let tip = 120;
//! let balances = w.balances(tip);
//! let pubkey = w.parse_address(&address)?;
//! let created = w.create_transaction(&[TxOut { value: 50_000, pubkey }], FeeRate(1000), tip)?;
//! // the node's mempool accepts created.tx, then:
//! w.add_unconfirmed_transaction(&created.tx, 1_700_000_000)?;
//! # Ok::<(), WalletError>(())
//! ```
//!
//! What it must never do: print, log or return a secret except through the explicit
//! `mnemonic`/`dump_private_key` calls (and only while unlocked); keep a secret outside a
//! `zeroize` type; read the chain or the mempool itself or reach "up" into rpc/net/node: the
//! caller feeds it blocks and transactions in chain order and tells it the tip's height;
//! hold locks of its own or start threads (the caller keeps each `Wallet` behind a mutex).

pub mod bip32;
pub mod crypt;
pub mod error;
pub mod keys;
pub mod scan;
pub mod select;
pub mod spend;
pub mod store;
pub mod wallet;

pub use crypt::KdfParams;
pub use error::WalletError;
pub use keys::Branch;
pub use scan::{Balances, OutputStatus, TxAmounts, Unspent};
pub use select::FeeRate;
pub use spend::CreatedTransaction;
pub use wallet::{CreateOptions, DEFAULT_GAP_LIMIT, KeyOrigin, Wallet, WalletTx};
