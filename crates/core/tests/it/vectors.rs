//! Fixed vectors computed outside Rust (tests/data, see its README): our own Python script
//! (genesis, ids, CIDs, a signed transaction, merkle roots, compact targets, subsidy, median
//! time past, ASERT with easy targets) and published ones (BIP340, BIP350, aserti3-2d).

use std::path::PathBuf;

use coinrs_core::address::{decode_address, encode_address};
use coinrs_core::asert::{AsertAnchor, next_target};
use coinrs_core::cid::{parse_cid, to_cid_string};
use coinrs_core::encode::decode;
use coinrs_core::hash::{hash_from_hex, sha256};
use coinrs_core::merkle::{merkle_branch, merkle_root, verify_branch};
use coinrs_core::params::ChainParams;
use coinrs_core::pow::{bits_to_target, target_to_bits, work};
use coinrs_core::sig::{SigningKey, verify};
use coinrs_core::sighash::sighash;
use coinrs_core::validation::{Coin, check_transaction, median_time_past};
use coinrs_core::{Block, OutPoint, Transaction, TxIn, TxOut, Txid};
use ruint::aliases::U256;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(data("vectors.json")).unwrap()).unwrap()
}

fn h32(v: &Value) -> [u8; 32] {
    hash_from_hex(v.as_str().unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn bits(v: &Value) -> u32 {
    u32::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn u256(v: &Value) -> U256 {
    U256::from_str_radix(v.as_str().unwrap(), 16).unwrap()
}

fn tx_from_json(v: &Value) -> Transaction {
    Transaction {
        version: v["version"].as_u64().unwrap() as u32,
        inputs: v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| TxIn {
                prevout: OutPoint {
                    txid: Txid(h32(&i["prevout"]["txid"])),
                    vout: i["prevout"]["vout"].as_u64().unwrap() as u32,
                },
                signature: bytes(&i["signature"]).try_into().unwrap(),
            })
            .collect(),
        outputs: v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| TxOut {
                value: o["value"].as_u64().unwrap(),
                pubkey: h32(&o["pubkey"]),
            })
            .collect(),
        lock_time: v["lock_time"].as_u64().unwrap(),
    }
}

#[test]
fn regtest_genesis_matches_independent_computation() {
    let v = &vectors()["genesis_regtest"];
    let genesis = ChainParams::regtest().genesis();
    assert_eq!(
        hex::encode(genesis.encode()),
        v["block_hex"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(genesis.header.to_bytes()),
        v["header_hex"].as_str().unwrap()
    );
    assert_eq!(
        genesis.hash().to_string(),
        v["block_hash"].as_str().unwrap()
    );
    assert_eq!(genesis.hash().cid(), v["block_hash_cid"].as_str().unwrap());
    let cb = &genesis.transactions[0];
    assert_eq!(
        hex::encode(cb.encode()),
        v["coinbase_hex"].as_str().unwrap()
    );
    assert_eq!(cb.txid().to_string(), v["coinbase_txid"].as_str().unwrap());
    assert_eq!(cb.txid().cid(), v["coinbase_txid_cid"].as_str().unwrap());
    assert_eq!(genesis.header.nonce, v["nonce"].as_u64().unwrap());
    assert_eq!(ChainParams::regtest().pow_limit(), u256(&v["target"]));
    // Reproducible from the parameters alone: grinding instead of the stored nonce.
    let mut p = ChainParams::regtest();
    p.known_genesis_nonce = None;
    assert_eq!(p.genesis(), genesis);
    // And the block decodes back from the independent bytes.
    assert_eq!(decode::<Block>(&bytes(&v["block_hex"])).unwrap(), genesis);
}

#[test]
fn signed_transaction_matches_independent_bip340_signatures() {
    let v = &vectors()["signed_tx"];
    let keys: Vec<SigningKey> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let key = SigningKey::from_secret_bytes(h32(&k["secret_key"])).unwrap();
            assert_eq!(key.public_key(), h32(&k["xonly_pubkey"]));
            key
        })
        .collect();
    let expected = tx_from_json(&v["tx"]);
    let mut tx = expected.clone();
    for input in &mut tx.inputs {
        input.signature = [0; 64];
    }
    assert_eq!(
        hex::encode(tx.encode()),
        v["unsigned_tx_hex"].as_str().unwrap()
    );
    for (i, spend) in v["spends"].as_array().unwrap().iter().enumerate() {
        let index = spend["input"].as_u64().unwrap() as u32;
        let msg = sighash(&tx, index);
        assert_eq!(msg, h32(&v["sighashes"][i]));
        let key = keys[spend["secret_key_index"].as_u64().unwrap() as usize];
        let sig = key.sign(&msg, &h32(&spend["aux_rand"]));
        assert_eq!(hex::encode(sig), v["signatures"][i].as_str().unwrap());
        tx.inputs[index as usize].signature = sig;
    }
    assert_eq!(tx, expected);
    assert_eq!(
        hex::encode(tx.encode()),
        v["signed_tx_hex"].as_str().unwrap()
    );
    assert_eq!(tx.txid().to_string(), v["txid"].as_str().unwrap());
    assert_eq!(tx.txid().cid(), v["txid_cid"].as_str().unwrap());
    assert_eq!(
        tx.encoded_size() as u64,
        v["encoded_length"].as_u64().unwrap()
    );

    // It passes every transaction rule when its inputs are unspent outputs of those keys.
    let mut utxos = std::collections::HashMap::new();
    for (input, spend) in tx.inputs.iter().zip(v["spends"].as_array().unwrap()) {
        let key = keys[spend["secret_key_index"].as_u64().unwrap() as usize];
        utxos.insert(
            input.prevout,
            Coin {
                output: TxOut {
                    value: 3_000_000_000,
                    pubkey: key.public_key(),
                },
                height: 1,
                is_coinbase: false,
            },
        );
    }
    let effects = check_transaction(&tx, 10, 100, &utxos).unwrap();
    assert_eq!(effects.fee, 6_000_000_000 - 4_999_990_000);
}

#[test]
fn merkle_roots_and_branches_match() {
    for case in vectors()["merkle"].as_array().unwrap() {
        let leaves: Vec<[u8; 32]> = case["leaves"].as_array().unwrap().iter().map(h32).collect();
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(*leaf, sha256(&[i as u8]));
        }
        let root = merkle_root(&leaves);
        assert_eq!(root, h32(&case["root"]), "count {}", case["count"]);
        assert_eq!(to_cid_string(&root), case["root_cid"].as_str().unwrap());
        for b in case["branches"].as_array().unwrap() {
            let index = b["index"].as_u64().unwrap() as usize;
            let ours = merkle_branch(&leaves, index).unwrap();
            let theirs = b["branch"].as_array().unwrap();
            assert_eq!(ours.len(), theirs.len());
            for (step, t) in ours.iter().zip(theirs) {
                assert_eq!(step.sibling, h32(&t["hash"]));
                assert_eq!(step.sibling_is_left, t["left"].as_bool().unwrap());
            }
            assert!(verify_branch(&h32(&b["leaf"]), &ours, &root));
        }
    }
}

#[test]
fn cids_parse_back_to_their_digests() {
    let v = vectors();
    let g = &v["genesis_regtest"];
    assert_eq!(
        parse_cid(g["block_hash_cid"].as_str().unwrap()).unwrap(),
        h32(&g["block_hash"])
    );
    assert_eq!(
        parse_cid(g["coinbase_txid_cid"].as_str().unwrap()).unwrap(),
        h32(&g["coinbase_txid"])
    );
}

#[test]
fn compact_targets_and_work_match() {
    let c = &vectors()["compact"];
    for case in c["bits_to_target"].as_array().unwrap() {
        let b = bits(&case["bits"]);
        let invalid = case["negative"].as_bool().unwrap()
            || case["overflow"].as_bool().unwrap()
            || case["zero"].as_bool().unwrap()
            || !case["fits_256_bits"].as_bool().unwrap();
        match bits_to_target(b) {
            Ok(t) => {
                assert!(!invalid, "{b:#x} must be refused");
                assert_eq!(t, u256(&case["target"]), "{b:#x}");
                assert_eq!(target_to_bits(t), bits(&case["canonical_bits"]), "{b:#x}");
                let under_regtest = t <= ChainParams::regtest().pow_limit();
                assert_eq!(
                    under_regtest,
                    case["valid_under_regtest_pow_limit"].as_bool().unwrap()
                );
            }
            Err(_) => assert!(invalid, "{b:#x} must decode"),
        }
    }
    for case in c["target_to_bits"].as_array().unwrap() {
        assert_eq!(target_to_bits(u256(&case["target"])), bits(&case["bits"]));
    }
    for case in c["work"].as_array().unwrap() {
        let t = bits_to_target(bits(&case["bits"])).unwrap();
        assert_eq!(work(&t), u256(&case["work"]));
    }
    let mut chainwork = U256::ZERO;
    let w = work(&ChainParams::regtest().pow_limit());
    for case in c["regtest_chainwork"].as_array().unwrap() {
        chainwork += w;
        assert_eq!(
            chainwork,
            u256(&case["chainwork"]),
            "height {}",
            case["height"]
        );
    }
}

#[test]
fn addresses_match() {
    for case in vectors()["addresses"].as_array().unwrap() {
        let hrp = case["hrp"].as_str().unwrap();
        let pk = h32(&case["pubkey"]);
        let a = encode_address(hrp, &pk).unwrap();
        assert_eq!(a, case["address"].as_str().unwrap());
        assert_eq!(decode_address(hrp, &a).unwrap(), pk);
    }
}

#[test]
fn subsidy_matches() {
    for case in vectors()["subsidy"].as_array().unwrap() {
        let mut p = ChainParams::regtest();
        p.halving_interval = case["halving_interval"].as_u64().unwrap();
        p.initial_subsidy = case["initial_subsidy"].as_u64().unwrap();
        assert_eq!(
            p.subsidy(case["height"].as_u64().unwrap()),
            case["subsidy"].as_u64().unwrap()
        );
    }
}

#[test]
fn median_time_past_matches() {
    for case in vectors()["median_time_past"].as_array().unwrap() {
        let times: Vec<u64> = case["times"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .collect();
        for m in case["mtp"].as_array().unwrap() {
            let height = m["height"].as_u64().unwrap();
            // The blocks before `height`, newest first.
            let previous: Vec<u64> = times[..height as usize].iter().rev().copied().collect();
            assert_eq!(
                median_time_past(height, &previous),
                m["mtp"].as_u64(),
                "{}",
                case["name"]
            );
        }
    }
}

#[test]
fn asert_with_easy_targets_matches() {
    for case in vectors()["asert_examples"].as_array().unwrap() {
        let pow_limit = bits_to_target(bits(&case["pow_limit_bits"])).unwrap();
        let anchor = AsertAnchor {
            target: bits_to_target(bits(&case["anchor_bits"])).unwrap(),
            parent_time: case["anchor_parent_time"].as_i64().unwrap().into(),
            height: case["anchor_height"].as_i64().unwrap().into(),
        };
        let t = next_target(
            &anchor,
            &pow_limit,
            case["parent_height"].as_u64().unwrap(),
            case["parent_time"].as_u64().unwrap(),
            case["target_spacing"].as_u64().unwrap(),
            case["half_life"].as_u64().unwrap(),
        );
        assert_eq!(
            target_to_bits(t),
            bits(&case["next_bits"]),
            "{}",
            case["name"]
        );
        // `next_target` is the target the block carries: the compact form decoded again.
        assert_eq!(
            bits_to_target(target_to_bits(t)).unwrap(),
            u256(&case["next_target"]),
            "{}",
            case["name"]
        );
    }
}

/// The published aserti3-2d vectors (Bitcoin Cash): each line is a parent (height, time) and
/// the bits required of its child; spacing 600 s, half life 2 days, pow_limit 2^224 − 1.
#[test]
fn asert_matches_published_aserti3_2d_vectors() {
    let pow_limit = (U256::from(1u8) << 224) - U256::from(1u8);
    let mut lines = 0;
    for n in 1..=12 {
        let path = data(&format!("asert/run{n:02}.txt"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let header = |key: &str| -> String {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix("##")
                        .and_then(|l| l.trim().strip_prefix(key))
                })
                .unwrap_or_else(|| panic!("{key} in {path:?}"))
                .trim()
                .to_string()
        };
        let anchor = AsertAnchor {
            target: bits_to_target(
                u32::from_str_radix(header("anchor nBits:").trim_start_matches("0x"), 16).unwrap(),
            )
            .unwrap(),
            parent_time: header("anchor ancestor time:").parse().unwrap(),
            height: header("anchor height:").parse().unwrap(),
        };
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (height, time) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            let expected = u32::from_str_radix(f[3].trim_start_matches("0x"), 16).unwrap();
            let t = next_target(&anchor, &pow_limit, height, time, 600, 172_800);
            assert_eq!(target_to_bits(t), expected, "{path:?}: {line}");
            lines += 1;
        }
    }
    assert!(lines >= 3000, "only {lines} vector lines found");
}

#[test]
fn bip340_vectors_pass_through_our_wrapper() {
    let text = std::fs::read_to_string(data("bip340_vectors.csv")).unwrap();
    let mut checked = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (secret, pubkey, aux, msg, sig, result) = (f[1], f[2], f[3], f[4], f[5], f[6]);
        let msg = hex::decode(msg).unwrap();
        // Our messages are always 32-byte sighashes; rows with other lengths test
        // libsecp256k1's variable-length API, which coinrs does not use.
        let Ok(msg) = <[u8; 32]>::try_from(msg) else {
            continue;
        };
        let sig: [u8; 64] = hex::decode(sig).unwrap().try_into().unwrap();
        let pk: [u8; 32] = hex::decode(pubkey).unwrap().try_into().unwrap();
        assert_eq!(verify(&pk, &msg, &sig), result == "TRUE", "row {}", f[0]);
        if !secret.is_empty() {
            let key =
                SigningKey::from_secret_bytes(hex::decode(secret).unwrap().try_into().unwrap())
                    .unwrap();
            assert_eq!(key.public_key(), pk);
            let aux: [u8; 32] = hex::decode(aux).unwrap().try_into().unwrap();
            assert_eq!(key.sign(&msg, &aux), sig, "row {}", f[0]);
        }
        checked += 1;
    }
    assert!(checked >= 15);
}

#[test]
fn bip350_addresses_decode_only_as_version_one_32_byte_programs() {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(data("bip350_vectors.json")).unwrap())
            .unwrap();
    let mut taproot = 0;
    for case in v["valid_addresses"].as_array().unwrap() {
        let address = case["address"].as_str().unwrap();
        let hrp = address[..address.rfind('1').unwrap()].to_lowercase();
        let spk = bytes(&case["scriptPubKey"]);
        match decode_address(&hrp, address) {
            Ok(program) => {
                assert_eq!(&spk[..2], &[0x51, 0x20], "{address}");
                assert_eq!(program.as_slice(), &spk[2..]);
                taproot += 1;
            }
            Err(_) => assert!(spk[..2] != [0x51, 0x20], "{address} must decode"),
        }
    }
    assert!(taproot >= 1);
    for case in v["invalid_addresses"].as_array().unwrap() {
        let address = case["address"].as_str().unwrap();
        for hrp in ["bc", "tb", "bcrt"] {
            assert!(
                decode_address(hrp, address).is_err(),
                "{address}: {}",
                case["reason"]
            );
        }
    }
}
