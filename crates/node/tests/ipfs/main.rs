//! IPFS through a real coinrsd: the content behind every CID of the chain (headers,
//! transactions, inner merkle nodes) from the node's store by `getcid`, CAR files, Bitswap
//! and the IPFS DHT (with Helia and js-libp2p as the independent IPFS implementations).

mod bitswap;
mod car;

use coinrs_core::address::encode_address;
use coinrs_core::cid::to_cid_string;
use coinrs_core::hash::sha256;
use coinrs_core::merkle::{InnerNode, inner_nodes};
use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_core::{Hash, OutPoint, Transaction, TxOut, Txid};
use coinrs_testkit::Node;
use serde_json::json;

pub(crate) fn key() -> SigningKey {
    SigningKey::from_secret_bytes([0x44; 32]).unwrap()
}

pub(crate) fn address() -> String {
    encode_address("crt", &key().public_key()).unwrap()
}

fn coinbase_outpoint(node: &Node, height: u64) -> OutPoint {
    let hash = node.rpc("getblockhash", json!([height]));
    let block = node.rpc("getblock", json!([hash, 1]));
    let txid: Txid = block["tx"][0].as_str().unwrap().parse().unwrap();
    OutPoint { txid, vout: 0 }
}

fn spend(op: OutPoint) -> Transaction {
    signed_spend(
        &key(),
        &[op],
        vec![TxOut {
            value: 50 * 100_000_000 - 10_000,
            pubkey: key().public_key(),
        }],
        0,
    )
}

/// Mines a block holding the coinbase and `n` spends of the mature coinbases at heights
/// `first..first + n`; returns its hash.
pub(crate) fn block_with_spends(node: &Node, first: u64, n: u64) -> String {
    for h in first..first + n {
        let tx = spend(coinbase_outpoint(node, h));
        node.rpc("sendrawtransaction", json!([hex::encode(tx.encode())]));
    }
    let hash = node.rpc("generatetoaddress", json!([1, address()]))[0].clone();
    assert_eq!(
        node.rpc("getblock", json!([hash, 1]))["tx"]
            .as_array()
            .unwrap()
            .len() as u64,
        n + 1
    );
    hash.as_str().unwrap().to_string()
}

pub(crate) fn txids_of(node: &Node, hash: &str) -> Vec<Hash> {
    node.rpc("getblock", json!([hash, 1]))["tx"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().parse::<Txid>().unwrap().0)
        .collect()
}

fn parse_hash(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn getcid(node: &Node, digest: &Hash) -> Vec<u8> {
    let v = node.rpc("getcid", json!([to_cid_string(digest)]));
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn nodes_of(node: &Node, hash: &str) -> Vec<InnerNode> {
    inner_nodes(&txids_of(node, hash))
}

#[test]
fn headers_transactions_and_every_inner_merkle_node_by_cid() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("generatetoaddress", json!([110, address()]));
    // Coinbase + 6 spends: 7 leaves, 6 inner nodes over 3 levels, one leaf moving up alone.
    let hash = block_with_spends(&node, 1, 6);

    let header = getcid(&node, &parse_hash(&hash));
    assert_eq!(header.len(), 96);
    assert_eq!(
        hex::encode(&header),
        node.rpc("getblockheader", json!([hash, false]))
            .as_str()
            .unwrap()
    );
    assert_eq!(hex::encode(sha256(&header)), hash);

    let txids = txids_of(&node, &hash);
    for txid in &txids {
        let tx = getcid(&node, txid);
        assert_eq!(sha256(&tx), *txid);
        assert_eq!(
            hex::encode(&tx),
            node.rpc("getrawtransaction", json!([hex::encode(txid)]))
                .as_str()
                .unwrap()
        );
    }

    let nodes = nodes_of(&node, &hash);
    assert_eq!(nodes.len(), 6);
    for n in &nodes {
        let content = getcid(&node, &n.hash);
        assert_eq!(
            content,
            n.content().to_vec(),
            "level {} position {}",
            n.level,
            n.position
        );
    }
    // The root is the header's merkle root: the top node.
    let root = nodes.last().unwrap().hash;
    assert_eq!(
        node.rpc("getblockheader", json!([hash, true]))["merkleroot"],
        json!(hex::encode(root))
    );

    // coinrs-cli passes it through and prints the hex.
    let out = node.cli(&["getcid", &to_cid_string(&root)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        hex::encode(nodes.last().unwrap().content())
    );
}

#[test]
fn unknown_and_malformed_cids_are_refused_with_their_reason() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("generatetoaddress", json!([2, address()]));
    let unknown = to_cid_string(&sha256(b"not in this chain"));
    let e = node.rpc_err("getcid", json!([unknown]));
    assert_eq!(e.code, -5, "{e}");
    assert!(e.message.contains("no peer is connected to ask"), "{e}");

    let genesis = node.rpc("getblockhash", json!([0]));
    let good = to_cid_string(&parse_hash(genesis.as_str().unwrap()));
    for bad in [
        "".to_string(),
        "bafy".to_string(),
        good.to_uppercase(),
        // base58btc of the same CID: another string for it, refused.
        format!("z{}", &good[1..]),
        // CIDv0.
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG".to_string(),
        // A dag-pb CID (codec 0x70).
        "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi".to_string(),
    ] {
        let e = node.rpc_err("getcid", json!([bad]));
        assert_eq!(e.code, -8, "{bad}: {e}");
        assert!(e.message.contains("CIDv1"), "{bad}: {e}");
    }
    let e = node.rpc_err("getcid", json!([42]));
    assert_eq!(e.code, -3, "{e}");
    let out = node.cli(&["getcid", &unknown]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CID not found"));
}

#[test]
fn a_disconnected_block_s_merkle_nodes_are_no_longer_served() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("generatetoaddress", json!([110, address()]));
    let stale = block_with_spends(&node, 1, 3);
    let nodes = nodes_of(&node, &stale);
    assert_eq!(nodes.len(), 3);
    node.rpc("invalidateblock", json!([stale]));
    for n in &nodes {
        let e = node.rpc_err("getcid", json!([to_cid_string(&n.hash)]));
        assert_eq!(e.code, -5, "{e}");
    }
    // A replacement block at the same height, paying another key: its spends came back to
    // the mempool and are mined again in the same order, so the nodes over them alone are
    // the same content again, and those over the stale coinbase are gone for good.
    node.rpc("generatetoaddress", json!([1, Node::address(9)]));
    let mut served = 0;
    for n in &nodes {
        match node
            .call("getcid", json!([to_cid_string(&n.hash)]))
            .unwrap()
        {
            Ok(v) => {
                assert_eq!(
                    hex::decode(v.as_str().unwrap()).unwrap(),
                    n.content().to_vec()
                );
                served += 1;
            }
            Err(e) => assert_eq!(e.code, -5, "{e}"),
        }
    }
    assert_eq!(
        served, 1,
        "only the node over the last two spends is shared"
    );
    // The stale header is still known content; its transactions now sit in the new block.
    assert_eq!(getcid(&node, &parse_hash(&stale)).len(), 96);
    let tip = node.rpc("getbestblockhash", json!([]));
    for n in nodes_of(&node, tip.as_str().unwrap()) {
        assert_eq!(getcid(&node, &n.hash), n.content().to_vec());
    }
}

#[test]
fn the_index_is_built_at_start_when_missing_and_refused_without_it() {
    let mut node = Node::start("regtest", &["--merkleindex=false"]).expect("start coinrsd");
    node.rpc("generatetoaddress", json!([110, address()]));
    let hash = block_with_spends(&node, 1, 2);
    let nodes = nodes_of(&node, &hash);
    // Headers and transactions need no merkle index; a merkle node (or anything unknown)
    // cannot be answered without it.
    assert_eq!(getcid(&node, &parse_hash(&hash)).len(), 96);
    let e = node.rpc_err("getcid", json!([to_cid_string(&nodes[0].hash)]));
    assert_eq!(e.code, -1, "{e}");
    assert!(e.message.contains("--merkleindex"), "{e}");

    node.stop().expect("stop");
    // Started again in the same folder with the default (the index on): built at start.
    let again = Node::start_in(&node.datadir, "regtest", &[]).expect("restart with the index");
    for n in &nodes {
        assert_eq!(getcid(&again, &n.hash), n.content().to_vec());
    }
    let log = std::fs::read_to_string(again.log_path()).unwrap();
    assert!(
        log.contains("merkle index: 112/112 blocks"),
        "no progress line in the log"
    );
}

#[test]
fn the_merkle_index_agrees_with_the_active_chain_after_a_sigkill() {
    let mut node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("generatetoaddress", json!([110, address()]));
    let first = block_with_spends(&node, 1, 3);
    let second = block_with_spends(&node, 4, 2);
    let all: Vec<(String, Vec<InnerNode>)> = [first, second]
        .into_iter()
        .map(|h| {
            let n = nodes_of(&node, &h);
            (h, n)
        })
        .collect();
    // No flush asked for: whatever the kill loses, the index must match what survives.
    node.kill().expect("SIGKILL");
    node.restart(&[]).expect("restart");
    for (hash, nodes) in &all {
        // A block the kill lost entirely is unknown (-5): not active either.
        let active = match node.call("getblockheader", json!([hash, true])).unwrap() {
            Ok(h) => h["confirmations"].as_i64().is_some_and(|c| c > 0),
            Err(_) => false,
        };
        for n in nodes {
            match node
                .call("getcid", json!([to_cid_string(&n.hash)]))
                .unwrap()
            {
                Ok(v) => {
                    assert!(
                        active,
                        "a node of a block not on the active chain is served"
                    );
                    assert_eq!(
                        hex::decode(v.as_str().unwrap()).unwrap(),
                        n.content().to_vec()
                    );
                }
                Err(e) => {
                    assert!(!active, "a node of an active block is missing: {e}");
                    assert_eq!(e.code, -5, "{e}");
                }
            }
        }
    }
}
