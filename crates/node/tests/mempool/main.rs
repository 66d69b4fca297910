//! The mempool through a real coinrsd: transactions in, blocks out (by fee rate, with
//! packages), templates turned into blocks, reorganisations and restarts, and a miner that
//! picks up a transaction arriving while it works.

use std::time::{Duration, Instant};

use coinrs_core::address::encode_address;
use coinrs_core::block::{Block, BlockHeader};
use coinrs_core::build::grind;
use coinrs_core::encode::decode;
use coinrs_core::merkle::merkle_root;
use coinrs_core::sig::{SigningKey, signed_spend};
use coinrs_core::{Hash, OutPoint, Transaction, TxOut, Txid};
use coinrs_testkit::Node;
use serde_json::{Value, json};

fn key() -> SigningKey {
    SigningKey::from_secret_bytes([0x33; 32]).unwrap()
}

fn address() -> String {
    encode_address("crt", &key().public_key()).unwrap()
}

/// A regtest node with 110 blocks paying our key: the coinbases of heights 1..=10 are mature.
fn funded(args: &[&str]) -> Node {
    let node = Node::start("regtest", args).expect("start coinrsd");
    node.rpc("generatetoaddress", json!([110, address()]));
    node
}

/// The coinbase outpoint of the block at `height` (50 coins).
fn coinbase(node: &Node, height: u64) -> (OutPoint, u64) {
    let hash = node.rpc("getblockhash", json!([height]));
    let block = node.rpc("getblock", json!([hash, 1]));
    let txid: Txid = block["tx"][0].as_str().unwrap().parse().unwrap();
    (OutPoint { txid, vout: 0 }, 50 * 100_000_000)
}

fn spend(inputs: &[OutPoint], value_in: u64, fee: u64) -> Transaction {
    signed_spend(
        &key(),
        inputs,
        vec![TxOut {
            value: value_in - fee,
            pubkey: key().public_key(),
        }],
        0,
    )
}

fn send(node: &Node, tx: &Transaction) -> Value {
    node.rpc("sendrawtransaction", json!([hex::encode(tx.encode())]))
}

fn mempool(node: &Node) -> Vec<String> {
    node.rpc("getrawmempool", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn block_txids(node: &Node, hash: &Value) -> Vec<String> {
    node.rpc("getblock", json!([hash, 1]))["tx"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_sent_transaction_waits_then_is_mined_with_its_fee() {
    let node = funded(&[]);
    let (op, value) = coinbase(&node, 1);
    let tx = spend(&[op], value, 10_000);
    assert_eq!(send(&node, &tx), json!(tx.txid().to_string()));
    // Sending it again answers the txid (as Core); testmempoolaccept names the reason.
    assert_eq!(send(&node, &tx), json!(tx.txid().to_string()));
    let verdict = node.rpc("testmempoolaccept", json!([[hex::encode(tx.encode())]]));
    assert_eq!(verdict[0]["allowed"], json!(false));
    assert_eq!(verdict[0]["reject-reason"], json!("txn-already-in-mempool"));
    assert_eq!(mempool(&node), vec![tx.txid().to_string()]);
    let entry = node.rpc("getmempoolentry", json!([tx.txid().to_string()]));
    assert_eq!(entry["fee"].to_string(), "0.00010000");
    assert_eq!(node.rpc("getmempoolinfo", json!([]))["size"], json!(1));
    // Unconfirmed: gettxout sees the new output with 0 confirmations and the spent one gone.
    let out = node.rpc("gettxout", json!([tx.txid().to_string(), 0]));
    assert_eq!(out["confirmations"], json!(0));
    assert_eq!(
        node.rpc("gettxout", json!([op.txid.to_string(), 0])),
        Value::Null
    );
    assert!(
        node.rpc("gettxout", json!([op.txid.to_string(), 0, false]))
            .is_object()
    );
    let hash = node.rpc("generatetoaddress", json!([1, address()]))[0].clone();
    let txids = block_txids(&node, &hash);
    assert_eq!(txids[1], tx.txid().to_string());
    let block = node.rpc("getblock", json!([hash, 2]));
    assert_eq!(
        block["tx"][0]["vout"][0]["value"].to_string(),
        "50.00010000",
        "coinbase takes the fee"
    );
    assert!(mempool(&node).is_empty());
    // Confirmed now: -27.
    let err = node.rpc_err("sendrawtransaction", json!([hex::encode(tx.encode())]));
    assert_eq!(err.code, -27);
}

#[test]
fn refusals_carry_their_codes_and_reasons() {
    let node = funded(&[]);
    let (op, value) = coinbase(&node, 1);
    let missing = spend(
        &[OutPoint {
            txid: Txid([7; 32]),
            vout: 0,
        }],
        1_000_000,
        1000,
    );
    let err = node.rpc_err("sendrawtransaction", json!([hex::encode(missing.encode())]));
    assert_eq!(
        (err.code, err.message.as_str()),
        (-25, "bad-txns-inputs-missingorspent")
    );
    let no_fee = spend(&[op], value, 0);
    let err = node.rpc_err("sendrawtransaction", json!([hex::encode(no_fee.encode())]));
    assert_eq!(
        (err.code, err.message.as_str()),
        (-26, "min relay fee not met")
    );
    let first = spend(&[op], value, 1000);
    send(&node, &first);
    let second = spend(&[op], value, 5000);
    let err = node.rpc_err("sendrawtransaction", json!([hex::encode(second.encode())]));
    assert_eq!(
        (err.code, err.message.as_str()),
        (-26, "txn-mempool-conflict")
    );
    let (young, v) = coinbase(&node, 60);
    let err = node.rpc_err(
        "sendrawtransaction",
        json!([hex::encode(spend(&[young], v, 1000).encode())]),
    );
    assert_eq!(
        (err.code, err.message.as_str()),
        (-26, "bad-txns-premature-spend-of-coinbase")
    );
    let err = node.rpc_err("sendrawtransaction", json!(["zz"]));
    assert_eq!(err.code, -22);
}

#[test]
fn a_high_fee_child_pays_for_its_parent() {
    let node = funded(&[]);
    let (op1, v1) = coinbase(&node, 1);
    let (op2, v2) = coinbase(&node, 2);
    let parent = spend(&[op1], v1, 200);
    let medium = spend(&[op2], v2, 1_600);
    let child = spend(
        &[OutPoint {
            txid: parent.txid(),
            vout: 0,
        }],
        v1 - 200,
        8_000,
    );
    for tx in [&parent, &medium, &child] {
        send(&node, tx);
    }
    let template = node.rpc("getblocktemplate", json!([]));
    let order: Vec<&str> = template["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["txid"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            parent.txid().to_string(),
            child.txid().to_string(),
            medium.txid().to_string()
        ]
    );
    assert_eq!(
        template["coinbasevalue"],
        json!(50 * 100_000_000u64 + 200 + 1_600 + 8_000)
    );
    let hash = node.rpc("generatetoaddress", json!([1, address()]))[0].clone();
    assert_eq!(
        &block_txids(&node, &hash)[1..],
        &[
            parent.txid().to_string(),
            child.txid().to_string(),
            medium.txid().to_string()
        ]
    );
}

#[test]
fn a_template_turned_into_a_block_is_accepted_by_submitblock() {
    let node = funded(&[]);
    let (op, value) = coinbase(&node, 1);
    let tx = spend(&[op], value, 5_000);
    send(&node, &tx);
    let t = node.rpc("getblocktemplate", json!([]));
    let height = t["height"].as_u64().unwrap();
    let coinbase_tx = Transaction {
        version: 1,
        inputs: vec![],
        outputs: vec![TxOut {
            value: t["coinbasevalue"].as_u64().unwrap(),
            pubkey: key().public_key(),
        }],
        lock_time: height,
    };
    let mut txs = vec![coinbase_tx];
    for item in t["transactions"].as_array().unwrap() {
        txs.push(
            decode::<Transaction>(&hex::decode(item["data"].as_str().unwrap()).unwrap()).unwrap(),
        );
    }
    let leaves: Vec<Hash> = txs.iter().map(|t| t.txid().0).collect();
    let mut header = BlockHeader {
        version: t["version"].as_u64().unwrap() as u32,
        height,
        prev_hash: t["previousblockhash"].as_str().unwrap().parse().unwrap(),
        merkle_root: merkle_root(&leaves),
        time: t["curtime"].as_u64().unwrap(),
        bits: u32::from_str_radix(t["bits"].as_str().unwrap(), 16).unwrap(),
        nonce: 0,
    };
    grind(&mut header);
    let block = Block {
        header,
        transactions: txs,
    };
    assert_eq!(
        node.rpc("submitblock", json!([hex::encode(block.encode())])),
        Value::Null
    );
    assert_eq!(
        node.rpc("getbestblockhash", json!([])),
        json!(block.hash().to_string())
    );
    assert!(
        mempool(&node).is_empty(),
        "the mined transaction left the mempool"
    );
}

#[test]
fn transactions_of_a_disconnected_block_come_back() {
    let node = funded(&[]);
    let (op, value) = coinbase(&node, 1);
    let tx = spend(&[op], value, 5_000);
    send(&node, &tx);
    let hash = node.rpc("generatetoaddress", json!([1, address()]))[0].clone();
    assert!(mempool(&node).is_empty());
    node.rpc("invalidateblock", json!([hash]));
    assert_eq!(mempool(&node), vec![tx.txid().to_string()]);
    node.rpc("reconsiderblock", json!([hash]));
    assert!(mempool(&node).is_empty());
}

#[test]
fn the_mempool_survives_a_restart() {
    let mut node = funded(&[]);
    let (op, value) = coinbase(&node, 1);
    let tx = spend(&[op], value, 5_000);
    send(&node, &tx);
    node.restart(&[]).unwrap();
    assert_eq!(mempool(&node), vec![tx.txid().to_string()]);
    assert_eq!(
        node.rpc("getmempoolentry", json!([tx.txid().to_string()]))["fee"].to_string(),
        "0.00005000"
    );
}

#[test]
fn a_transaction_sent_while_the_miner_works_lands_in_a_block() {
    // The node's own miner pays our key; on regtest it finds blocks at once.
    let node = Node::start(
        "regtest",
        &[
            "--mine",
            "--mine-threads",
            "1",
            "--mine-address",
            &address(),
        ],
    )
    .expect("start");
    let deadline = Instant::now() + Duration::from_secs(60);
    while node.rpc("getblockcount", json!([])).as_u64().unwrap() < 105 {
        assert!(
            Instant::now() < deadline,
            "the miner did not reach height 105"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (op, value) = coinbase(&node, 1);
    let tx = spend(&[op], value, 5_000);
    send(&node, &tx);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = node.rpc("getrawtransaction", json!([tx.txid().to_string(), true]));
        if found.get("blockhash").is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the transaction was not mined within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
