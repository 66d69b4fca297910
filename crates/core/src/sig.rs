//! BIP340 Schnorr signatures through libsecp256k1 (the `secp256k1` crate).
//!
//! A thin wrapper over fixed-size byte arrays, so that the rest of the code never handles a
//! parsed key it did not check. Verification goes straight to libsecp256k1: a pubkey that is
//! not a valid x-only key simply does not verify (PROTOCOL.md §4, `bad-txns-sig`).

use secp256k1::schnorr::{self, Signature};
use secp256k1::{Keypair, XOnlyPublicKey};

use crate::error::KeyError;
use crate::hash::Hash;
use crate::sighash::SighashCache;
use crate::transaction::Transaction;

/// True when `sig` is a valid BIP340 signature of `msg` by `pubkey`.
#[inline]
pub fn verify(pubkey: &[u8; 32], msg: &[u8; 32], sig: &[u8; 64]) -> bool {
    match XOnlyPublicKey::from_byte_array(*pubkey) {
        Ok(pk) => schnorr::verify(&Signature::from_byte_array(*sig), msg, &pk).is_ok(),
        Err(_) => false,
    }
}

/// A secret key ready to sign, with its x-only public key.
#[derive(Clone, Copy)]
pub struct SigningKey {
    keypair: Keypair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "SigningKey({})", hex::encode(self.public_key()))
    }
}

impl SigningKey {
    /// From 32 secret bytes; fails for zero or a value not below the group order.
    pub fn from_secret_bytes(secret: [u8; 32]) -> Result<Self, KeyError> {
        let keypair = Keypair::from_secret_bytes(secret).map_err(|_| KeyError::InvalidSecret)?;
        Ok(SigningKey { keypair })
    }

    /// The x-only public key (what outputs carry).
    pub fn public_key(&self) -> [u8; 32] {
        self.keypair.x_only_public_key().0.to_byte_array()
    }

    /// The 32 secret bytes.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.keypair.to_secret_bytes()
    }

    /// BIP340 signature of `msg` with the given auxiliary randomness.
    pub fn sign(&self, msg: &Hash, aux_rand: &[u8; 32]) -> [u8; 64] {
        schnorr::sign_with_aux_rand(msg, &self.keypair, aux_rand).to_byte_array()
    }
}

/// Signs every input of `tx` with the key of the same index, using `aux_rand` for all.
/// `keys.len()` must equal the number of inputs.
pub fn sign_transaction(
    tx: &mut Transaction,
    keys: &[SigningKey],
    aux_rand: &[u8; 32],
) -> Result<(), KeyError> {
    if keys.len() != tx.inputs.len() {
        return Err(KeyError::KeyCount {
            got: keys.len(),
            expected: tx.inputs.len(),
        });
    }
    let cache = SighashCache::new(tx);
    for (i, (input, key)) in tx.inputs.iter_mut().zip(keys).enumerate() {
        input.signature = key.sign(&cache.sighash(i as u32), aux_rand);
    }
    Ok(())
}

/// A transaction spending `inputs` (all locked to `key`) to `outputs`, signed with zero
/// auxiliary randomness: what tests, benchmarks and tools need to make a valid spend.
pub fn signed_spend(
    key: &SigningKey,
    inputs: &[crate::transaction::OutPoint],
    outputs: Vec<crate::transaction::TxOut>,
    lock_time: u64,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: inputs
            .iter()
            .map(|op| crate::transaction::TxIn {
                prevout: *op,
                signature: [0u8; 64],
            })
            .collect(),
        outputs,
        lock_time,
    };
    let keys = vec![*key; inputs.len()];
    sign_transaction(&mut tx, &keys, &[0u8; 32]).expect("one key per input");
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_rejects_a_changed_message() {
        let key = SigningKey::from_secret_bytes([7u8; 32]).unwrap();
        let msg = [9u8; 32];
        let sig = key.sign(&msg, &[0u8; 32]);
        assert!(verify(&key.public_key(), &msg, &sig));
        assert!(!verify(&key.public_key(), &[8u8; 32], &sig));
    }

    #[test]
    fn invalid_xonly_key_does_not_verify() {
        // x = 5 is not on the curve (y^2 = 132 has no root mod p); all-0xff is above p.
        let mut not_on_curve = [0u8; 32];
        not_on_curve[31] = 5;
        assert!(!verify(&not_on_curve, &[1u8; 32], &[1u8; 64]));
        assert!(!verify(&[0xff; 32], &[1u8; 32], &[1u8; 64]));
    }

    #[test]
    fn refuses_zero_and_out_of_range_secrets() {
        assert!(SigningKey::from_secret_bytes([0u8; 32]).is_err());
        assert!(SigningKey::from_secret_bytes([0xff; 32]).is_err());
    }
}
