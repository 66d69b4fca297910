//! BIP32 hierarchical deterministic keys: the master key of a seed, private child derivation
//! (CKDpriv) and public child derivation (CKDpub), written on HMAC-SHA512 with libsecp256k1
//! doing the scalar and point arithmetic.
//!
//! Public derivation matters here: the wallet keeps the two branch keys of its account
//! (`m/86'/1'/0'/0` and `…/1`) as public extended keys in the clear, so it derives new
//! receive and change addresses, and extends its gap limit while scanning, without the
//! passphrase.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use secp256k1::{PublicKey, Scalar, SecretKey};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::error::{Result, WalletError};

type HmacSha512 = Hmac<Sha512>;

/// Indexes at or above this are hardened (`i'`).
pub const HARDENED: u32 = 0x8000_0000;

/// One step of a derivation path: an index below 2^31, hardened or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildNumber(u32);

impl ChildNumber {
    /// A normal (public-derivable) child; `index` must be below 2^31.
    pub fn normal(index: u32) -> Result<Self> {
        if index >= HARDENED {
            return Err(WalletError::InvalidPath(index.to_string()));
        }
        Ok(ChildNumber(index))
    }

    /// A hardened child `index'`; `index` must be below 2^31.
    pub fn hardened(index: u32) -> Result<Self> {
        if index >= HARDENED {
            return Err(WalletError::InvalidPath(format!("{index}'")));
        }
        Ok(ChildNumber(index | HARDENED))
    }

    /// True for `i'`.
    pub fn is_hardened(self) -> bool {
        self.0 >= HARDENED
    }

    /// The 32-bit value hashed into the child (hardened ones with the top bit set).
    pub fn to_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ChildNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_hardened() {
            write!(f, "{}'", self.0 - HARDENED)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A path such as `m/86'/1'/0'/0/5` (`h` is accepted for `'`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DerivationPath(pub Vec<ChildNumber>);

impl FromStr for DerivationPath {
    type Err = WalletError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || WalletError::InvalidPath(s.to_string());
        let mut parts = s.split('/');
        if parts.next() != Some("m") {
            return Err(bad());
        }
        parts
            .map(|p| {
                let (digits, hardened) = match p.strip_suffix(['\'', 'h', 'H']) {
                    Some(d) => (d, true),
                    None => (p, false),
                };
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let index: u32 = digits.parse().map_err(|_| bad())?;
                if hardened {
                    ChildNumber::hardened(index)
                } else {
                    ChildNumber::normal(index)
                }
                .map_err(|_| bad())
            })
            .collect::<Result<Vec<_>>>()
            .map(DerivationPath)
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for c in &self.0 {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// A private extended key: secret and chain code, both wiped from memory when dropped.
#[derive(Clone)]
pub struct ExtendedPrivKey {
    secret: Zeroizing<[u8; 32]>,
    chain_code: Zeroizing<[u8; 32]>,
    depth: u8,
}

impl fmt::Debug for ExtendedPrivKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("ExtendedPrivKey")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

/// A public extended key: a compressed point and a chain code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ExtendedPubKey {
    /// The public key.
    pub public_key: PublicKey,
    /// The chain code.
    pub chain_code: [u8; 32],
}

impl fmt::Debug for ExtendedPubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ExtendedPubKey({})",
            hex::encode(self.public_key.serialize())
        )
    }
}

fn hmac512(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 64]> {
    let mut mac = HmacSha512::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    let mut out = Zeroizing::new([0u8; 64]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// Splits `I = IL || IR` into a tweak scalar (refused when `IL >= n`) and a chain code.
fn split(i: &[u8; 64], at: &dyn fmt::Display) -> Result<(Scalar, Zeroizing<[u8; 32]>)> {
    let mut il = Zeroizing::new([0u8; 32]);
    il.copy_from_slice(&i[..32]);
    let mut ir = Zeroizing::new([0u8; 32]);
    ir.copy_from_slice(&i[32..]);
    let tweak = Scalar::from_be_bytes(*il).map_err(|_| WalletError::Derivation(at.to_string()))?;
    Ok((tweak, ir))
}

impl ExtendedPrivKey {
    /// The master key of a seed: `I = HMAC-SHA512("Bitcoin seed", seed)`.
    pub fn master(seed: &[u8]) -> Result<Self> {
        let i = hmac512(b"Bitcoin seed", &[seed]);
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&i[..32]);
        SecretKey::from_secret_bytes(*secret).map_err(|_| WalletError::Derivation("m".into()))?;
        let mut chain_code = Zeroizing::new([0u8; 32]);
        chain_code.copy_from_slice(&i[32..]);
        Ok(ExtendedPrivKey {
            secret,
            chain_code,
            depth: 0,
        })
    }

    fn secret_key(&self) -> SecretKey {
        SecretKey::from_secret_bytes(*self.secret).expect("checked when made")
    }

    /// CKDpriv: the child `child` of this key.
    pub fn derive_child(&self, child: ChildNumber) -> Result<Self> {
        let sk = self.secret_key();
        let i = if child.is_hardened() {
            hmac512(
                &*self.chain_code,
                &[&[0u8], &*self.secret, &child.to_u32().to_be_bytes()],
            )
        } else {
            hmac512(
                &*self.chain_code,
                &[&sk.public_key().serialize(), &child.to_u32().to_be_bytes()],
            )
        };
        let (tweak, chain_code) = split(&i, &child)?;
        let child_key = sk
            .add_tweak(&tweak)
            .map_err(|_| WalletError::Derivation(child.to_string()))?;
        Ok(ExtendedPrivKey {
            secret: Zeroizing::new(child_key.to_secret_bytes()),
            chain_code,
            depth: self.depth.saturating_add(1),
        })
    }

    /// The key at `path` below this one.
    pub fn derive_path(&self, path: &DerivationPath) -> Result<Self> {
        path.0
            .iter()
            .try_fold(self.clone(), |key, &c| key.derive_child(c))
    }

    /// The public extended key (`N(k, c)`).
    pub fn to_public(&self) -> ExtendedPubKey {
        ExtendedPubKey {
            public_key: self.secret_key().public_key(),
            chain_code: *self.chain_code,
        }
    }

    /// The 32 secret bytes.
    pub fn secret_bytes(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The chain code.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// How many derivations below the master key.
    pub fn depth(&self) -> u8 {
        self.depth
    }
}

impl ExtendedPubKey {
    /// CKDpub: the normal child `child`; hardened children need the private key.
    pub fn derive_child(&self, child: ChildNumber) -> Result<Self> {
        if child.is_hardened() {
            return Err(WalletError::HardenedFromPublic);
        }
        let i = hmac512(
            &self.chain_code,
            &[&self.public_key.serialize(), &child.to_u32().to_be_bytes()],
        );
        let (tweak, chain_code) = split(&i, &child)?;
        let public_key = self
            .public_key
            .add_exp_tweak(&tweak)
            .map_err(|_| WalletError::Derivation(child.to_string()))?;
        Ok(ExtendedPubKey {
            public_key,
            chain_code: *chain_code,
        })
    }

    /// 33-byte compressed key followed by the chain code, as the wallet file stores it.
    pub fn to_bytes(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[..33].copy_from_slice(&self.public_key.serialize());
        out[33..].copy_from_slice(&self.chain_code);
        out
    }

    /// Reads [`ExtendedPubKey::to_bytes`] back.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 65 {
            return None;
        }
        let public_key = PublicKey::from_slice(&bytes[..33]).ok()?;
        let chain_code = bytes[33..].try_into().ok()?;
        Some(ExtendedPubKey {
            public_key,
            chain_code,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Base58Check decoding, enough to read the test vectors' xprv/xpub strings.
    pub(crate) fn base58check_decode(s: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut bytes: Vec<u8> = Vec::new(); // big-endian
        for c in s.bytes() {
            let mut carry = ALPHABET.iter().position(|&a| a == c).expect("base58") as u32;
            for b in bytes.iter_mut().rev() {
                carry += u32::from(*b) * 58;
                *b = (carry & 0xff) as u8;
                carry >>= 8;
            }
            while carry > 0 {
                bytes.insert(0, (carry & 0xff) as u8);
                carry >>= 8;
            }
        }
        let zeros = s.bytes().take_while(|&c| c == b'1').count();
        let mut out = vec![0u8; zeros];
        out.extend(bytes);
        let (payload, check) = out.split_at(out.len() - 4);
        let sum = Sha256::digest(Sha256::digest(payload));
        assert_eq!(&sum[..4], check, "checksum of {s}");
        payload.to_vec()
    }

    /// (chain code, key data) of a serialized extended key: 33 bytes, `00 || k` or `K`.
    pub(crate) fn parts(xkey: &str) -> ([u8; 32], [u8; 33]) {
        let b = base58check_decode(xkey);
        assert_eq!(b.len(), 78);
        (b[13..45].try_into().unwrap(), b[45..78].try_into().unwrap())
    }

    fn assert_xprv(key: &ExtendedPrivKey, xprv: &str) {
        let (cc, data) = parts(xprv);
        assert_eq!(key.chain_code(), &cc, "chain code of {xprv}");
        assert_eq!(data[0], 0);
        assert_eq!(key.secret_bytes(), &data[1..], "key of {xprv}");
    }

    fn assert_xpub(key: &ExtendedPubKey, xpub: &str) {
        let (cc, data) = parts(xpub);
        assert_eq!(key.chain_code, cc, "chain code of {xpub}");
        assert_eq!(key.public_key.serialize(), data, "key of {xpub}");
    }

    // BIP32 test vector 1 (seed 000102…0f), every step of m/0H/1/2H/2/1000000000.
    const VECTOR1: [(&str, &str, &str); 6] = [
        (
            "m",
            "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
            "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
        ),
        (
            "m/0H",
            "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
            "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7",
        ),
        (
            "m/0H/1",
            "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
            "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs",
        ),
        (
            "m/0H/1/2H",
            "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
            "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM",
        ),
        (
            "m/0H/1/2H/2",
            "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
            "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334",
        ),
        (
            "m/0H/1/2H/2/1000000000",
            "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
            "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76",
        ),
    ];

    #[test]
    fn bip32_vector_1_private_derivation() {
        let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let master = ExtendedPrivKey::master(&seed).unwrap();
        for (path, xpub, xprv) in VECTOR1 {
            let path: DerivationPath = path.parse().unwrap();
            let key = master.derive_path(&path).unwrap();
            assert_eq!(usize::from(key.depth()), path.0.len());
            assert_xprv(&key, xprv);
            assert_xpub(&key.to_public(), xpub);
        }
    }

    #[test]
    fn bip32_vector_1_public_derivation_of_normal_children() {
        let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let master = ExtendedPrivKey::master(&seed).unwrap();
        // m/0H/1 from the public m/0H, and m/0H/1/2H/2/1000000000 from the public m/0H/1/2H.
        let m0h = master.derive_path(&"m/0H".parse().unwrap()).unwrap();
        let pub1 = m0h
            .to_public()
            .derive_child(ChildNumber::normal(1).unwrap())
            .unwrap();
        assert_xpub(&pub1, VECTOR1[2].1);
        let m0h1_2h = master.derive_path(&"m/0H/1/2H".parse().unwrap()).unwrap();
        let last = m0h1_2h
            .to_public()
            .derive_child(ChildNumber::normal(2).unwrap())
            .unwrap()
            .derive_child(ChildNumber::normal(1_000_000_000).unwrap())
            .unwrap();
        assert_xpub(&last, VECTOR1[5].1);
    }

    #[test]
    fn public_derivation_refuses_hardened_children() {
        let master = ExtendedPrivKey::master(&[1u8; 32]).unwrap();
        assert!(matches!(
            master
                .to_public()
                .derive_child(ChildNumber::hardened(0).unwrap()),
            Err(WalletError::HardenedFromPublic)
        ));
    }

    #[test]
    fn paths_parse_and_print() {
        let p: DerivationPath = "m/86'/1h/0'/1/7".parse().unwrap();
        assert_eq!(p.to_string(), "m/86'/1'/0'/1/7");
        assert_eq!(p.0[0].to_u32(), 86 | HARDENED);
        assert_eq!(p.0[3].to_u32(), 1);
        assert_eq!("m".parse::<DerivationPath>().unwrap().0.len(), 0);
        for bad in [
            "",
            "86'/0",
            "m/",
            "m/x",
            "m/2147483648",
            "m/-1",
            "m//1",
            "m/1''",
        ] {
            assert!(bad.parse::<DerivationPath>().is_err(), "{bad}");
        }
    }

    #[test]
    fn extended_public_keys_round_trip_through_bytes() {
        let xpub = ExtendedPrivKey::master(&[3u8; 32]).unwrap().to_public();
        assert_eq!(ExtendedPubKey::from_bytes(&xpub.to_bytes()), Some(xpub));
        assert_eq!(ExtendedPubKey::from_bytes(&[0u8; 65]), None);
    }
}
