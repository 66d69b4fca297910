//! Every id is an IPFS content id (PROTOCOL.md §2): CIDv1, codec `raw` (0x55), multihash
//! `sha2-256` (0x12) over the id's 32 bytes, printed as `b` + lower-case base32 without padding.

use cid::Cid;
use cid::multihash::Multihash;

use crate::error::CidError;
use crate::hash::Hash;

/// Multicodec `raw`.
pub const RAW_CODEC: u64 = 0x55;
/// Multihash code of `sha2-256`.
pub const SHA2_256: u64 = 0x12;

/// The CID of the content whose SHA-256 is `digest`.
pub fn to_cid(digest: &Hash) -> Cid {
    // A 32-byte digest always fits the 64-byte multihash buffer.
    let mh = Multihash::<64>::wrap(SHA2_256, digest).expect("32 bytes fit in 64");
    Cid::new_v1(RAW_CODEC, mh)
}

/// The `b…` string form.
pub fn to_cid_string(digest: &Hash) -> String {
    to_cid(digest).to_string()
}

/// The raw binary form: `01 55 12 20 || digest`.
pub fn to_cid_bytes(digest: &Hash) -> [u8; 36] {
    let mut out = [0u8; 36];
    out[..4].copy_from_slice(&[0x01, 0x55, 0x12, 0x20]);
    out[4..].copy_from_slice(digest);
    out
}

/// Parses the canonical `b…` form back to the digest. Anything else (another base, upper
/// case, CIDv0, another codec or hash, a digest not 32 bytes) is refused, so that one id has
/// exactly one string.
pub fn parse_cid(s: &str) -> Result<Hash, CidError> {
    let cid = Cid::try_from(s).map_err(|e| CidError::Malformed(e.to_string()))?;
    if cid.version() != cid::Version::V1 {
        return Err(CidError::Version);
    }
    if cid.codec() != RAW_CODEC {
        return Err(CidError::Codec { got: cid.codec() });
    }
    let mh = cid.hash();
    if mh.code() != SHA2_256 {
        return Err(CidError::HashFunction { got: mh.code() });
    }
    let digest: Hash = mh.digest().try_into().map_err(|_| CidError::DigestLength {
        got: mh.digest().len(),
    })?;
    if cid.to_string() != s {
        return Err(CidError::NotCanonical);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256;

    #[test]
    fn cid_string_is_b_base32_of_prefixed_digest() {
        let d = sha256(b"hello");
        let s = to_cid_string(&d);
        assert!(s.starts_with("bafkrei"), "{s}");
        // Independent base32 (RFC 4648, lower case, no padding) of the binary form.
        let bytes = to_cid_bytes(&d);
        let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut expected = String::from("b");
        for b in bytes {
            bits = (bits << 8) | u32::from(b);
            nbits += 8;
            while nbits >= 5 {
                nbits -= 5;
                expected.push(alphabet[((bits >> nbits) & 31) as usize] as char);
            }
        }
        if nbits > 0 {
            expected.push(alphabet[((bits << (5 - nbits)) & 31) as usize] as char);
        }
        assert_eq!(s, expected);
        assert_eq!(parse_cid(&s).unwrap(), d);
    }

    #[test]
    fn refuses_other_forms() {
        let d = sha256(b"x");
        let s = to_cid_string(&d);
        assert!(parse_cid(&s.to_uppercase()).is_err());
        assert!(parse_cid("").is_err());
        assert!(parse_cid("bafy").is_err());
        // dag-pb codec (0x70) instead of raw.
        let mh = Multihash::<64>::wrap(SHA2_256, &d).unwrap();
        let other = Cid::new_v1(0x70, mh).to_string();
        assert_eq!(parse_cid(&other), Err(CidError::Codec { got: 0x70 }));
        // CIDv0 (base58 "Qm…").
        let v0 = Cid::new_v0(mh).unwrap().to_string();
        assert_eq!(parse_cid(&v0), Err(CidError::Version));
    }
}
