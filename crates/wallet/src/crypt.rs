//! Encryption of the wallet's secrets with a passphrase.
//!
//! argon2id turns the passphrase and a random 16-byte salt into a 32-byte key; each secret
//! (the mnemonic record, every imported key) is sealed with XChaCha20-Poly1305 under that key
//! and its own random 24-byte nonce (random nonces of that length never repeat in practice).
//! The AEAD tag is what tells a wrong passphrase: nothing else about the passphrase is stored.
//!
//! The argon2 parameters are stored with the salt, so a wallet keeps opening when the
//! defaults change. The default is OWASP's minimum for argon2id: 19 MiB of memory, 2 passes,
//! 1 lane (about 50 ms on one core of a laptop, paid at `walletpassphrase`, not per
//! signature); tests use [`KdfParams::INSECURE_FOR_TESTS`].

use argon2::{Algorithm, Argon2, Params, Version};
use borsh::{BorshDeserialize, BorshSerialize};
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::{Result, WalletError, random_bytes};

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// OWASP's minimum for argon2id: 19 MiB, t = 2, p = 1.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The smallest argon2 allows: for tests only, where the passphrase protects nothing.
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a wallet stores to re-derive its key: the parameters and the salt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KdfRecord {
    /// argon2id parameters.
    pub params: KdfParams,
    /// Random salt.
    pub salt: [u8; 16],
}

impl KdfRecord {
    /// New parameters with a fresh random salt.
    pub fn new(params: KdfParams) -> Result<Self> {
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        Ok(KdfRecord { params, salt })
    }

    /// The 32-byte encryption key of `passphrase`.
    pub fn derive_key(&self, passphrase: &str) -> Result<Zeroizing<[u8; 32]>> {
        if passphrase.is_empty() {
            return Err(WalletError::EmptyPassphrase);
        }
        let p = self.params;
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32))
            .map_err(|e| WalletError::KdfParams(e.to_string()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &self.salt, &mut *key)
            .map_err(|e| WalletError::KdfParams(e.to_string()))?;
        Ok(key)
    }
}

/// A secret as stored: in the clear (a wallet without a passphrase) or sealed.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SecretBox {
    /// Not encrypted.
    Plain(Vec<u8>),
    /// XChaCha20-Poly1305 ciphertext and tag under the wallet key.
    Sealed {
        /// Random nonce.
        nonce: [u8; 24],
        /// Ciphertext followed by the 16-byte tag.
        ciphertext: Vec<u8>,
    },
}

impl SecretBox {
    /// Seals `plain` under `key` with a fresh nonce.
    pub fn seal(key: &[u8; 32], plain: &[u8]) -> Result<Self> {
        let mut nonce = [0u8; 24];
        random_bytes(&mut nonce)?;
        let cipher = XChaCha20Poly1305::new(key.into());
        let ciphertext = cipher
            .encrypt(&XNonce::from(nonce), plain)
            .map_err(|_| WalletError::KdfParams("secret too long to encrypt".into()))?;
        Ok(SecretBox::Sealed { nonce, ciphertext })
    }

    /// The secret: `key` is needed (and checked) for a sealed one. A plain one ignores it.
    pub fn open(&self, key: Option<&[u8; 32]>) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            SecretBox::Plain(bytes) => Ok(Zeroizing::new(bytes.clone())),
            SecretBox::Sealed { nonce, ciphertext } => {
                let key = key.ok_or(WalletError::Locked)?;
                let cipher = XChaCha20Poly1305::new(key.into());
                cipher
                    .decrypt(&XNonce::from(*nonce), ciphertext.as_slice())
                    .map(Zeroizing::new)
                    .map_err(|_| WalletError::WrongPassphrase)
            }
        }
    }

    /// True when sealed.
    pub fn is_sealed(&self) -> bool {
        matches!(self, SecretBox::Sealed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_with_the_right_passphrase_only() {
        let kdf = KdfRecord::new(KdfParams::INSECURE_FOR_TESTS).unwrap();
        let key = kdf.derive_key("correct horse").unwrap();
        let sealed = SecretBox::seal(&key, b"twelve words").unwrap();
        assert!(sealed.is_sealed());
        assert_eq!(&**sealed.open(Some(&key)).unwrap(), b"twelve words");
        let wrong = kdf.derive_key("battery staple").unwrap();
        assert!(matches!(
            sealed.open(Some(&wrong)),
            Err(WalletError::WrongPassphrase)
        ));
        assert!(matches!(sealed.open(None), Err(WalletError::Locked)));
    }

    #[test]
    fn ciphertext_hides_the_secret_and_changes_with_each_seal() {
        let key = [7u8; 32];
        let a = SecretBox::seal(&key, b"secret secret secret").unwrap();
        let b = SecretBox::seal(&key, b"secret secret secret").unwrap();
        assert_ne!(a, b, "fresh nonce each time");
        let SecretBox::Sealed { ciphertext, .. } = &a else {
            panic!("sealed")
        };
        assert!(!ciphertext.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn a_flipped_ciphertext_bit_is_refused() {
        let key = [7u8; 32];
        let SecretBox::Sealed {
            nonce,
            mut ciphertext,
        } = SecretBox::seal(&key, b"x").unwrap()
        else {
            panic!("sealed")
        };
        ciphertext[0] ^= 1;
        let tampered = SecretBox::Sealed { nonce, ciphertext };
        assert!(matches!(
            tampered.open(Some(&key)),
            Err(WalletError::WrongPassphrase)
        ));
    }

    #[test]
    fn key_depends_on_salt_and_parameters_and_refuses_empty_passphrases() {
        let a = KdfRecord::new(KdfParams::INSECURE_FOR_TESTS).unwrap();
        let mut b = a;
        b.salt[0] ^= 1;
        let mut c = a;
        c.params.iterations = 2;
        let ka = a.derive_key("p").unwrap();
        assert_eq!(*ka, *a.derive_key("p").unwrap());
        assert_ne!(*ka, *b.derive_key("p").unwrap());
        assert_ne!(*ka, *c.derive_key("p").unwrap());
        assert!(matches!(
            a.derive_key(""),
            Err(WalletError::EmptyPassphrase)
        ));
        let mut bad = a;
        bad.params.memory_kib = 1;
        assert!(matches!(
            bad.derive_key("p"),
            Err(WalletError::KdfParams(_))
        ));
    }

    #[test]
    fn default_parameters_are_owasp_minimum() {
        assert_eq!(KdfParams::default().memory_kib, 19 * 1024);
        assert_eq!(KdfParams::default().iterations, 2);
        // And they are accepted by argon2 (one real derivation, opt-level 3 in tests).
        let kdf = KdfRecord::new(KdfParams::DEFAULT).unwrap();
        assert_eq!(kdf.derive_key("p").unwrap().len(), 32);
    }
}
