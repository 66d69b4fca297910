//! The wallet's keys: a BIP39 mnemonic, its seed, the BIP86 paths and the taproot key-path
//! tweak that turns a derived key into the `pubkey` of an output (PROTOCOL.md §1, §6).
//!
//! ## Coin type 1
//!
//! Receive keys are `m/86'/1'/0'/0/i` and change keys `m/86'/1'/0'/1/i` on every coinrs
//! chain. SLIP-44 coin type 1 is the one Bitcoin's test networks share ("testnet, all
//! coins"): coinrs chains are learning and test chains whose coins have no value, so a
//! mnemonic used here never derives the keys of real Bitcoin (coin type 0) by accident, and a
//! wallet restored on another coinrs chain finds its keys at the same paths. The derivation
//! functions take the whole path, so BIP86's published vectors (coin type 0) run unchanged.
//!
//! ## The output key
//!
//! As BIP86 says, a derived key `P` (x-only, the "internal key") is not used directly: the
//! output carries `Q = P + t·G` with `t = TaggedHash("TapTweak", P)` (BIP341 with no script
//! tree), and the spend signs with the matching secret (`d` negated first when `d·G` has an
//! odd Y, as BIP341 requires; libsecp256k1's `keypair_xonly_tweak_add` does both steps).

use bip39::{Language, Mnemonic};
use coinrs_core::hash::tagged_hash;
use coinrs_core::sig::SigningKey;
use secp256k1::{Keypair, Scalar, XOnlyPublicKey};
use zeroize::Zeroizing;

use crate::bip32::{ChildNumber, DerivationPath, ExtendedPrivKey};
use crate::error::{Result, WalletError, random_bytes};

/// BIP44 purpose of single-key taproot outputs (BIP86).
pub const PURPOSE: u32 = 86;
/// SLIP-44 coin type of every coinrs chain (see the module documentation).
pub const COIN_TYPE: u32 = 1;
/// The one account a coinrs wallet uses.
pub const ACCOUNT: u32 = 0;

/// The two chains of addresses of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Branch {
    /// `…/0/i`: addresses handed out to receive payments.
    Receive = 0,
    /// `…/1/i`: change of the wallet's own transactions.
    Change = 1,
}

impl Branch {
    /// Both, in path order.
    pub const ALL: [Branch; 2] = [Branch::Receive, Branch::Change];

    /// The path step (0 or 1).
    pub fn index(self) -> u32 {
        self as u32
    }
}

/// `m/86'/coin_type'/0'`.
pub fn account_path(coin_type: u32) -> Result<DerivationPath> {
    Ok(DerivationPath(vec![
        ChildNumber::hardened(PURPOSE)?,
        ChildNumber::hardened(coin_type)?,
        ChildNumber::hardened(ACCOUNT)?,
    ]))
}

/// `m/86'/coin_type'/0'/branch/index`.
pub fn bip86_path(coin_type: u32, branch: Branch, index: u32) -> Result<DerivationPath> {
    let mut path = account_path(coin_type)?;
    path.0.push(ChildNumber::normal(branch.index())?);
    path.0.push(ChildNumber::normal(index)?);
    Ok(path)
}

/// A fresh English mnemonic of 12 or 24 words from the operating system's random source.
pub fn generate_mnemonic(words: usize) -> Result<Zeroizing<String>> {
    let len = match words {
        12 => 16,
        24 => 32,
        got => return Err(WalletError::WordCount { got }),
    };
    let mut entropy = Zeroizing::new([0u8; 32]);
    random_bytes(&mut entropy[..len])?;
    let mnemonic = Mnemonic::from_entropy_in(Language::English, &entropy[..len])
        .map_err(|e| WalletError::InvalidMnemonic(e.to_string()))?;
    Ok(Zeroizing::new(mnemonic.to_string()))
}

/// Checks an English mnemonic of 12 or 24 words (checksum included) and returns it
/// normalised: lower case, single spaces.
pub fn normalize_mnemonic(phrase: &str) -> Result<Zeroizing<String>> {
    let lower = Zeroizing::new(phrase.to_lowercase());
    let mnemonic = Mnemonic::parse_in(Language::English, lower.as_str())
        .map_err(|e| WalletError::InvalidMnemonic(e.to_string()))?;
    match mnemonic.word_count() {
        12 | 24 => Ok(Zeroizing::new(mnemonic.to_string())),
        got => Err(WalletError::WordCount { got }),
    }
}

/// The BIP39 seed of a mnemonic and an optional passphrase ("" when none).
pub fn seed(phrase: &str, passphrase: &str) -> Result<Zeroizing<[u8; 64]>> {
    let mnemonic = Mnemonic::parse_in(Language::English, phrase)
        .map_err(|e| WalletError::InvalidMnemonic(e.to_string()))?;
    Ok(Zeroizing::new(mnemonic.to_seed(passphrase)))
}

/// The tweak `t = TaggedHash("TapTweak", P)` of BIP341 for a key with no script tree.
fn tap_tweak(internal: &XOnlyPublicKey) -> Result<Scalar> {
    let t = tagged_hash("TapTweak", &internal.to_byte_array());
    // Above the group order with probability about 2^-128: such a key cannot be used.
    Scalar::from_be_bytes(t).map_err(|_| WalletError::Derivation("TapTweak".into()))
}

/// The output key `Q = P + t·G` (x-only bytes: an output's `pubkey`) of an internal key.
pub fn output_key(internal: &XOnlyPublicKey) -> Result<[u8; 32]> {
    let (q, _parity) = internal
        .add_tweak(&tap_tweak(internal)?)
        .map_err(|_| WalletError::Derivation("TapTweak".into()))?;
    Ok(q.to_byte_array())
}

/// The key that signs for [`output_key`] of `secret`'s public key.
pub fn tweaked_signing_key(secret: &[u8; 32]) -> Result<SigningKey> {
    let keypair = Keypair::from_secret_bytes(*secret)
        .map_err(|_| WalletError::Derivation("secret".into()))?;
    let (internal, _) = keypair.x_only_public_key();
    let tweaked = keypair
        .add_xonly_tweak(&tap_tweak(&internal)?)
        .map_err(|_| WalletError::Derivation("TapTweak".into()))?;
    let bytes = Zeroizing::new(tweaked.to_secret_bytes());
    SigningKey::from_secret_bytes(*bytes).map_err(|_| WalletError::Derivation("TapTweak".into()))
}

/// A derived key at `path` below `master`: its internal x-only key, output key and the
/// signing key of the output key.
#[derive(Debug)]
pub struct DerivedKey {
    /// `P`, the BIP86 internal key.
    pub internal: [u8; 32],
    /// `Q`, the output key (an output's `pubkey`).
    pub output: [u8; 32],
    /// Signs for `Q`.
    pub signing: SigningKey,
}

/// Derives the key at `path` (e.g. [`bip86_path`]) from a master key.
pub fn derive(master: &ExtendedPrivKey, path: &DerivationPath) -> Result<DerivedKey> {
    let key = master.derive_path(path)?;
    let keypair = Keypair::from_secret_bytes(*key.secret_bytes())
        .map_err(|_| WalletError::Derivation(path.to_string()))?;
    let (internal, _) = keypair.x_only_public_key();
    Ok(DerivedKey {
        internal: internal.to_byte_array(),
        output: output_key(&internal)?,
        signing: tweaked_signing_key(key.secret_bytes())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bip32::tests::parts;
    use coinrs_core::address::encode_address;
    use coinrs_core::sig::verify;

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                           abandon abandon abandon about";

    fn abandon_master() -> ExtendedPrivKey {
        ExtendedPrivKey::master(&*seed(ABANDON, "").unwrap()).unwrap()
    }

    #[test]
    fn bip86_vectors_root_and_account() {
        let master = abandon_master();
        let (cc, data) = parts(
            "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu",
        );
        assert_eq!(master.chain_code(), &cc);
        assert_eq!(master.secret_bytes(), &data[1..]);
        let account = master.derive_path(&account_path(0).unwrap()).unwrap();
        let (cc, data) = parts(
            "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ",
        );
        assert_eq!(account.to_public().chain_code, cc);
        assert_eq!(account.to_public().public_key.serialize(), data);
    }

    #[test]
    fn bip86_vectors_internal_and_output_keys_and_addresses() {
        let master = abandon_master();
        let vectors = [
            (
                Branch::Receive,
                0,
                "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115",
                "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
                "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
            ),
            (
                Branch::Receive,
                1,
                "83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145",
                "a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
                "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh",
            ),
            (
                Branch::Change,
                0,
                "399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef",
                "882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc",
                "bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7",
            ),
        ];
        for (branch, index, internal, output, address) in vectors {
            let path = bip86_path(0, branch, index).unwrap();
            let key = derive(&master, &path).unwrap();
            assert_eq!(hex::encode(key.internal), internal, "{path}");
            assert_eq!(hex::encode(key.output), output, "{path}");
            assert_eq!(encode_address("bc", &key.output).unwrap(), address);
            // The tweaked secret signs for Q (vector 1's internal key has an odd Y, so the
            // negation of BIP341 is exercised too).
            assert_eq!(key.signing.public_key(), key.output, "{path}");
            let msg = [5u8; 32];
            assert!(verify(&key.output, &msg, &key.signing.sign(&msg, &[0; 32])));
            assert!(!verify(
                &key.internal,
                &msg,
                &key.signing.sign(&msg, &[0; 32])
            ));
        }
    }

    #[test]
    fn public_derivation_gives_the_same_output_keys() {
        let master = abandon_master();
        let account = master
            .derive_path(&account_path(COIN_TYPE).unwrap())
            .unwrap();
        let receive = account
            .to_public()
            .derive_child(ChildNumber::normal(0).unwrap())
            .unwrap();
        for i in 0..5 {
            let from_public = receive
                .derive_child(ChildNumber::normal(i).unwrap())
                .unwrap();
            let (p, _) = from_public.public_key.x_only_public_key();
            let private = derive(&master, &bip86_path(COIN_TYPE, Branch::Receive, i).unwrap());
            assert_eq!(output_key(&p).unwrap(), private.unwrap().output);
        }
    }

    #[test]
    fn coin_type_1_gives_other_keys_than_bitcoin() {
        let master = abandon_master();
        let test = derive(&master, &bip86_path(1, Branch::Receive, 0).unwrap()).unwrap();
        let main = derive(&master, &bip86_path(0, Branch::Receive, 0).unwrap()).unwrap();
        assert_ne!(test.output, main.output);
        assert_eq!(
            bip86_path(COIN_TYPE, Branch::Change, 3)
                .unwrap()
                .to_string(),
            "m/86'/1'/0'/1/3"
        );
    }

    #[test]
    fn mnemonics_are_generated_checked_and_normalised() {
        for words in [12, 24] {
            let m = generate_mnemonic(words).unwrap();
            assert_eq!(m.split(' ').count(), words);
            assert_eq!(*normalize_mnemonic(&m.to_uppercase()).unwrap(), *m);
        }
        assert_ne!(
            *generate_mnemonic(12).unwrap(),
            *generate_mnemonic(12).unwrap()
        );
        assert!(matches!(
            generate_mnemonic(15),
            Err(WalletError::WordCount { got: 15 })
        ));
        // A wrong checksum word, an unknown word, a count BIP39 allows but coinrs does not.
        let bad_checksum = ABANDON.replace("about", "abandon");
        assert!(matches!(
            normalize_mnemonic(&bad_checksum),
            Err(WalletError::InvalidMnemonic(_))
        ));
        assert!(normalize_mnemonic("hello world").is_err());
        let fifteen = Mnemonic::from_entropy(&[0u8; 20]).unwrap().to_string();
        assert!(matches!(
            normalize_mnemonic(&fifteen),
            Err(WalletError::WordCount { got: 15 })
        ));
    }

    #[test]
    fn passphrase_changes_the_seed() {
        // BIP39's vector for this mnemonic with the passphrase "TREZOR".
        assert_eq!(
            hex::encode(*seed(ABANDON, "TREZOR").unwrap()),
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e5349553\
             1f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
        );
        assert_ne!(
            *seed(ABANDON, "").unwrap(),
            *seed(ABANDON, "TREZOR").unwrap()
        );
    }
}
