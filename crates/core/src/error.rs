//! The errors of this crate, one enum per concern, each variant named for its cause.
//! Consensus reject reasons live in [`crate::validation::RejectReason`].

use thiserror::Error;

/// Bytes that are not a valid encoding (PROTOCOL.md §1).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end inside an object.
    #[error("unexpected end of data: needed {needed} bytes, {remaining} left")]
    UnexpectedEnd {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A count of items that cannot fit in the bytes left.
    #[error(
        "impossible count {count}: items of at least {item_size} bytes, {remaining} bytes left"
    )]
    ImpossibleCount {
        /// The count read.
        count: usize,
        /// Minimum size of one item.
        item_size: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// Bytes after the end of the object.
    #[error("{count} trailing bytes after the object")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// A hex string that is not a hash.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum HexError {
    /// Wrong number of digits.
    #[error("expected {expected} hex digits, got {got}")]
    Length {
        /// Digits given.
        got: usize,
        /// Digits wanted.
        expected: usize,
    },
    /// A character that is not a hex digit.
    #[error("invalid hex digit")]
    Digit,
}

/// A string that is not the canonical CID of a coinrs id (PROTOCOL.md §2).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CidError {
    /// Not a CID at all.
    #[error("not a cid: {0}")]
    Malformed(String),
    /// CIDv0.
    #[error("cid version must be 1")]
    Version,
    /// Not the `raw` codec.
    #[error("cid codec must be raw (0x55), got {got:#x}")]
    Codec {
        /// The codec found.
        got: u64,
    },
    /// Not SHA-256.
    #[error("cid hash must be sha2-256 (0x12), got {got:#x}")]
    HashFunction {
        /// The multihash code found.
        got: u64,
    },
    /// A digest of the wrong size.
    #[error("cid digest must be 32 bytes, got {got}")]
    DigestLength {
        /// Its length.
        got: usize,
    },
    /// Another base or letter case than `b` + lower-case base32.
    #[error("cid is not in the canonical b… (base32 lower case) form")]
    NotCanonical,
}

/// Compact `bits` that encode no usable target (PROTOCOL.md §3).
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum BitsError {
    /// The sign bit is set with a non-zero mantissa.
    #[error("bits {bits:#010x} encode a negative target")]
    Negative {
        /// The bits.
        bits: u32,
    },
    /// The target does not fit in 256 bits.
    #[error("bits {bits:#010x} encode a target above 2^256")]
    Overflow {
        /// The bits.
        bits: u32,
    },
    /// The target is zero.
    #[error("bits {bits:#010x} encode a zero target")]
    Zero {
        /// The bits.
        bits: u32,
    },
}

/// Keys that cannot sign.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// Zero, or not below the curve order.
    #[error("invalid secret key")]
    InvalidSecret,
    /// One key per input is needed.
    #[error("{got} keys for {expected} inputs")]
    KeyCount {
        /// Keys given.
        got: usize,
        /// Inputs to sign.
        expected: usize,
    },
}

/// A string that is not an address of this chain (PROTOCOL.md §6).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AddressError {
    /// Not valid bech32m.
    #[error("invalid address encoding: {0}")]
    Encoding(String),
    /// The human-readable prefix is not valid.
    #[error("invalid address prefix: {0}")]
    Hrp(String),
    /// An address of another chain.
    #[error("address is for prefix {got}, this chain uses {expected}")]
    WrongChain {
        /// Prefix found.
        got: String,
        /// This chain's prefix.
        expected: String,
    },
    /// Not witness version 1.
    #[error("address witness version must be 1, got {got}")]
    WitnessVersion {
        /// Version found.
        got: u8,
    },
    /// Not a 32-byte program.
    #[error("address program must be 32 bytes, got {got}")]
    ProgramLength {
        /// Length found.
        got: usize,
    },
}

/// Chain parameters that cannot make a chain (PROTOCOL.md §5).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ParamsError {
    /// The file is not TOML of the expected shape.
    #[error("chain file does not parse: {0}")]
    Parse(String),
    /// A parameter below its minimum.
    #[error("{name} must be at least {min}, got {got}")]
    TooSmall {
        /// Parameter.
        name: &'static str,
        /// Smallest allowed.
        min: u64,
        /// Value given.
        got: u64,
    },
    /// A parameter above its maximum.
    #[error("{name} must be at most {max}, got {got}")]
    TooLarge {
        /// Parameter.
        name: &'static str,
        /// Largest allowed.
        max: u64,
        /// Value given.
        got: u64,
    },
    /// `genesis_bits` encode no target.
    #[error("invalid genesis_bits: {0}")]
    GenesisBits(BitsError),
    /// A genesis target so hard that grinding the genesis block would take too long.
    #[error(
        "genesis_bits {bits:#010x} need more than 2^40 expected tries to grind the genesis block"
    )]
    GenesisTooHard {
        /// The bits.
        bits: u32,
    },
    /// The name cannot be a folder name or shadows a built-in chain.
    #[error("invalid chain name {name:?}: {why}")]
    Name {
        /// Name given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The address prefix is not a valid bech32 human-readable part.
    #[error("invalid address prefix {hrp:?}: {why}")]
    Hrp {
        /// Prefix given.
        hrp: String,
        /// What is wrong with it.
        why: String,
    },
    /// A port of zero.
    #[error("{name} must not be 0")]
    Port {
        /// Parameter.
        name: &'static str,
    },
}
