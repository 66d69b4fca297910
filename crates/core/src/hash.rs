//! The one hash function of the protocol (PROTOCOL.md §2): single SHA-256, and the ids built on
//! it. Hex shows the bytes in their natural order (no reversal, unlike Bitcoin), so proof of
//! work shows as leading zeros.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};

use crate::error::HexError;

/// A raw 32-byte hash as it appears inside encoded objects.
pub type Hash = [u8; 32];

/// `SHA256(data)`.
pub fn sha256(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

/// `SHA256(left || right)`: an inner merkle node.
pub fn sha256_pair(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A SHA-256 state already fed with `SHA256(tag) || SHA256(tag)` (BIP340 tagged hashes), so
/// that callers hashing many messages under one tag pay for the prefix once.
pub fn tagged_hasher(tag: &str) -> Sha256 {
    let tag_hash = sha256(tag.as_bytes());
    let mut h = Sha256::new();
    h.update(tag_hash);
    h.update(tag_hash);
    h
}

/// `TaggedHash(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m)` as in BIP340.
pub fn tagged_hash(tag: &str, msg: &[u8]) -> Hash {
    let mut h = tagged_hasher(tag);
    h.update(msg);
    h.finalize().into()
}

/// Parses 64 hex digits into 32 bytes (natural order).
pub fn hash_from_hex(s: &str) -> Result<Hash, HexError> {
    if s.len() != 64 {
        return Err(HexError::Length {
            got: s.len(),
            expected: 64,
        });
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| HexError::Digit)?;
    Ok(out)
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
        )]
        pub struct $name(pub Hash);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &Hash {
                &self.0
            }
            /// The IPFS CID of the content behind this id (PROTOCOL.md §2).
            pub fn cid(&self) -> String {
                crate::cid::to_cid_string(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                hash_from_hex(s).map($name)
            }
        }

        impl From<Hash> for $name {
            fn from(h: Hash) -> Self {
                $name(h)
            }
        }
    };
}

hash_newtype!(
    /// `SHA256(borsh(tx))`, signatures included.
    Txid
);
hash_newtype!(
    /// `SHA256(borsh(header))`; also the proof-of-work hash.
    BlockHash
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_matches_fips_180_2() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tagged_hash_equals_its_definition() {
        let tag = sha256(b"coinrs/sighash");
        let mut m = tag.to_vec();
        m.extend_from_slice(&tag);
        m.extend_from_slice(b"msg");
        assert_eq!(tagged_hash("coinrs/sighash", b"msg"), sha256(&m));
    }

    #[test]
    fn hex_round_trips_in_natural_order() {
        let mut h = [0u8; 32];
        h[0] = 0x01;
        h[31] = 0xff;
        let id = Txid(h);
        let s = id.to_string();
        assert!(s.starts_with("01") && s.ends_with("ff"));
        assert_eq!(s.parse::<Txid>().unwrap(), id);
        assert!("00".parse::<Txid>().is_err());
        assert!("zz".repeat(32).parse::<Txid>().is_err());
    }
}
