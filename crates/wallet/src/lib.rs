//! # coinrs-wallet
//!
//! The wallet of a coinrs node: keys (BIP39 mnemonic, BIP32 derivation, BIP86 taproot output
//! keys on `m/86'/1'/0'/{0,1}/i`, see [`keys`]) and the encryption of its secrets
//! ([`crypt`]).
//!
//! What it must never do: print or log a secret, keep a secret outside a `zeroize` type, or
//! reach "up" into the node (rpc, net): it is fed blocks and transactions by its caller.

pub mod bip32;
pub mod crypt;
pub mod error;
pub mod keys;
pub mod select;
