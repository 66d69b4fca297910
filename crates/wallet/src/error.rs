//! Errors of the wallet crate. The RPC layer maps each variant to one JSON-RPC code in one
//! place: [`WalletError::Locked`] → -13, [`WalletError::WrongPassphrase`] → -14,
//! [`WalletError::InsufficientFunds`] → -6, [`WalletError::Address`] → -5,
//! [`WalletError::NotMine`] → -4 (Core's "private key not known"), [`WalletError::NotEncrypted`]
//! → -15, the argument errors ([`WalletError::Dust`], [`WalletError::InvalidMnemonic`], …)
//! → -8, storage → -4.

use std::path::PathBuf;

use thiserror::Error;

/// What went wrong in a wallet.
#[derive(Debug, Error)]
pub enum WalletError {
    /// The operation needs the secrets and the wallet is encrypted and locked (or its unlock
    /// time ran out).
    #[error("please enter the wallet passphrase with walletpassphrase first")]
    Locked,
    /// The passphrase does not decrypt the wallet.
    #[error("the wallet passphrase entered was incorrect")]
    WrongPassphrase,
    /// `encrypt` on a wallet that already is.
    #[error("the wallet is already encrypted; use walletpassphrasechange to change the passphrase")]
    AlreadyEncrypted,
    /// `unlock`, `lock` or a passphrase change on a wallet that has no passphrase.
    #[error("the wallet is not encrypted")]
    NotEncrypted,
    /// An empty passphrase cannot protect anything.
    #[error("the passphrase cannot be empty")]
    EmptyPassphrase,
    /// The key-derivation parameters are out of argon2's range.
    #[error("invalid key-derivation parameters: {0}")]
    KdfParams(String),
    /// Not a valid BIP39 English mnemonic of 12 or 24 words.
    #[error("invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// A word count other than 12 or 24.
    #[error("a mnemonic has 12 or 24 words, not {got}")]
    WordCount {
        /// The count asked for.
        got: usize,
    },
    /// A derivation path that does not parse (`m/86'/1'/0'/0/5`).
    #[error("invalid derivation path {0:?}")]
    InvalidPath(String),
    /// A derivation step that lands outside the group (probability below 2^-127).
    #[error("key derivation failed at {0}; this index cannot be used")]
    Derivation(String),
    /// A public derivation of a hardened child.
    #[error("a hardened child cannot be derived from a public key")]
    HardenedFromPublic,
    /// A private key that is not 64 hex digits of a valid secp256k1 secret.
    #[error("invalid private key encoding: {0}")]
    InvalidPrivateKey(String),
    /// A key, address or output the wallet does not hold.
    #[error("{0} is not known to this wallet")]
    NotMine(String),
    /// An address that does not decode for this chain.
    #[error("invalid address: {0}")]
    Address(#[from] coinrs_core::error::AddressError),
    /// A payment below the dust threshold.
    #[error("amount {value} is below the dust threshold of {threshold} units")]
    Dust {
        /// The amount asked for.
        value: u64,
        /// The smallest payment the wallet makes.
        threshold: u64,
    },
    /// No outputs to pay, or an amount of zero.
    #[error("a transaction needs at least one output of a positive amount")]
    NoRecipients,
    /// The amounts add up to more than MAX_MONEY.
    #[error("the amounts add up to more than the maximum amount of money")]
    AmountTooLarge,
    /// The spendable coins do not cover the amount and its fee.
    #[error("insufficient funds: {available} units spendable, {needed} needed")]
    InsufficientFunds {
        /// The spendable total.
        available: u64,
        /// Amount plus the fee of the smallest transaction that could pay it.
        needed: u64,
    },
    /// Bytes that do not decode as a transaction.
    #[error("transaction does not decode: {0}")]
    Decode(String),
    /// The wallet file belongs to another chain.
    #[error(
        "the wallet {path} belongs to another chain (parameter digest {found}, this chain's is {expected})"
    )]
    ForeignChain {
        /// The file.
        path: PathBuf,
        /// This chain's digest (hex).
        expected: String,
        /// The stored digest (hex).
        found: String,
    },
    /// The wallet file was written by a newer coinrs.
    #[error(
        "the wallet {path} has schema version {found}, newer than this coinrs supports ({supported})"
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The stored version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// `create` on a path that already holds a file.
    #[error("a wallet already exists at {0}")]
    AlreadyExists(PathBuf),
    /// `open` on a path that holds no wallet.
    #[error("no wallet at {0}")]
    NotFound(PathBuf),
    /// The file cannot be read as a wallet: damaged bytes, a missing record.
    #[error("the wallet {path} is damaged: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The disk is full: nothing was changed by the operation that hit it.
    #[error("the disk holding {path} is full: {detail}")]
    DiskFull {
        /// The file.
        path: PathBuf,
        /// The error reported.
        detail: String,
    },
    /// Another storage failure.
    #[error("storage error on {path}: {detail}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// The error reported.
        detail: String,
    },
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// Shorthand.
pub type Result<T, E = WalletError> = std::result::Result<T, E>;

/// Fills `buf` from the operating system's random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| WalletError::Random(e.to_string()))
}
