//! Every chain, raw-transaction and mining method through a real coinrsd, checked against the
//! shapes of INTERFACE.md and against the consensus types of coinrs-core.

use coinrs_core::address::encode_address;
use coinrs_core::block::{Block, BlockHeader};
use coinrs_core::encode::decode;
use coinrs_core::sig::{SigningKey, sign_transaction};
use coinrs_core::transaction::COIN;
use coinrs_core::{Transaction, TxOut};
use coinrs_testkit::Node;
use serde_json::{Value, json};

use crate::support::post_json;

fn hex_of(v: &Value) -> String {
    v.as_str().expect("a hex string").to_string()
}

fn is_hex64(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The raw HTTP body of a call, to see numbers exactly as the node prints them.
fn raw_body(node: &Node, method: &str, params: Value) -> String {
    let reply = post_json(
        node,
        &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn assert_regtest_difficulty(v: &Value) {
    let d = v.as_f64().expect("difficulty is a number");
    assert!((d - 4.6565e-10).abs() < 1e-13, "difficulty {d}");
}

#[test]
fn chain_summary_methods_agree() {
    let node = Node::regtest();
    let genesis = node.rpc("getblockhash", json!([0]));
    let hashes = node.generate(5);
    assert_eq!(hashes.len(), 5);
    let info = node.rpc("getblockchaininfo", json!([]));
    for key in [
        "chain",
        "blocks",
        "headers",
        "bestblockhash",
        "difficulty",
        "time",
        "mediantime",
        "verificationprogress",
        "initialblockdownload",
        "chainwork",
        "size_on_disk",
        "warnings",
    ] {
        assert!(
            info.get(key).is_some(),
            "getblockchaininfo lacks {key}: {info}"
        );
    }
    assert_eq!(info["chain"], "regtest");
    assert_eq!(info["blocks"], 5);
    assert_eq!(info["headers"], 5);
    assert_eq!(info["bestblockhash"], json!(hashes[4]));
    assert_regtest_difficulty(&info["difficulty"]);
    assert!(info["mediantime"].as_u64().unwrap() <= info["time"].as_u64().unwrap());
    assert_eq!(info["verificationprogress"].as_f64(), Some(1.0));
    assert_eq!(info["initialblockdownload"], false);
    assert!(is_hex64(&info["chainwork"]), "{info}");
    assert!(info["size_on_disk"].as_u64().unwrap() > 0);
    assert!(info["warnings"].is_string());

    assert_eq!(node.rpc("getblockcount", json!([])), json!(5));
    assert_eq!(node.rpc("getbestblockhash", json!([])), json!(hashes[4]));
    for (i, h) in hashes.iter().enumerate() {
        assert_eq!(node.rpc("getblockhash", json!([i + 1])), json!(h));
    }
    assert!(is_hex64(&genesis));
    assert_ne!(genesis, json!(hashes[0]));
    let e = node.rpc_err("getblockhash", json!([6]));
    assert_eq!(e.code, -8);
    assert_eq!(e.message, "Block height out of range");
    assert_eq!(node.rpc_err("getblockhash", json!([-1])).code, -8);
    assert_regtest_difficulty(&node.rpc("getdifficulty", json!([])));
    // Core prints difficulty as a JSON number in exponent form.
    let body = raw_body(&node, "getdifficulty", json!([]));
    assert!(body.contains("\"result\":4.656"), "{body}");
}

#[test]
fn getblockheader_verbose_object_and_hex() {
    let node = Node::regtest();
    let hashes = node.generate(3);
    let h = node.rpc("getblockheader", json!([hashes[1]]));
    assert_eq!(h["hash"], json!(hashes[1]));
    assert!(h["cid"].as_str().unwrap().starts_with("bafkrei"), "{h}");
    assert_eq!(h["confirmations"], 2);
    assert_eq!(h["height"], 2);
    assert_eq!(h["version"], 1);
    assert!(is_hex64(&h["merkleroot"]));
    assert!(h["time"].is_u64() && h["mediantime"].is_u64() && h["nonce"].is_u64());
    assert_eq!(h["bits"], "207fffff");
    assert_regtest_difficulty(&h["difficulty"]);
    assert!(is_hex64(&h["chainwork"]));
    assert_eq!(h["nTx"], 1);
    assert_eq!(h["previousblockhash"], json!(hashes[0]));
    assert_eq!(h["nextblockhash"], json!(hashes[2]));
    // The tip has no next block; genesis has no previous one.
    let tip = node.rpc("getblockheader", json!([hashes[2], true]));
    assert!(tip.get("nextblockhash").is_none(), "{tip}");
    assert_eq!(tip["confirmations"], 1);
    let genesis = node.rpc("getblockhash", json!([0]));
    let g = node.rpc("getblockheader", json!([genesis]));
    assert!(g.get("previousblockhash").is_none(), "{g}");
    assert_eq!(g["nextblockhash"], json!(hashes[0]));

    let raw = hex_of(&node.rpc("getblockheader", json!([hashes[1], false])));
    assert_eq!(raw.len(), 192);
    let header: BlockHeader = decode(&hex::decode(&raw).unwrap()).expect("a header");
    assert_eq!(header.hash().to_string(), hashes[1]);
    assert_eq!(header.height, 2);
    assert_eq!(header.prev_hash.to_string(), hashes[0]);
    assert_eq!(
        hex::encode(header.merkle_root),
        h["merkleroot"].as_str().unwrap()
    );
    assert_eq!(format!("{:08x}", header.bits), "207fffff");
    assert_eq!(json!(header.nonce), h["nonce"]);
    assert_eq!(json!(header.time), h["time"]);
    assert_eq!(
        node.rpc_err("getblockheader", json!(["00".repeat(32)]))
            .code,
        -5
    );
}

#[test]
fn getblock_at_each_verbosity() {
    let node = Node::regtest();
    let hashes = node.generate(2);
    let hash = &hashes[0];

    let raw = hex_of(&node.rpc("getblock", json!([hash, 0])));
    let block: Block = decode(&hex::decode(&raw).unwrap()).expect("a block");
    assert_eq!(block.hash().to_string(), *hash);
    assert_eq!(block.transactions.len(), 1);
    let coinbase = &block.transactions[0];
    assert!(coinbase.is_coinbase());
    assert_eq!(coinbase.outputs[0].value, 50 * COIN);
    assert_eq!(coinbase.lock_time, 1);

    let b1 = node.rpc("getblock", json!([hash]));
    assert_eq!(
        b1,
        node.rpc("getblock", json!([hash, 1])),
        "verbosity 1 is the default"
    );
    assert_eq!(b1["hash"], json!(hash));
    assert!(b1["cid"].as_str().unwrap().starts_with("bafkrei"));
    assert_eq!(b1["height"], 1);
    assert_eq!(b1["confirmations"], 2);
    assert_eq!(b1["nTx"], 1);
    assert_eq!(b1["size"], raw.len() / 2);
    assert_eq!(
        b1["previousblockhash"],
        node.rpc("getblockhash", json!([0]))
    );
    assert_eq!(b1["nextblockhash"], json!(hashes[1]));
    assert_eq!(b1["tx"], json!([coinbase.txid().to_string()]));
    for key in [
        "version",
        "merkleroot",
        "time",
        "mediantime",
        "nonce",
        "bits",
        "difficulty",
        "chainwork",
    ] {
        assert!(b1.get(key).is_some(), "getblock lacks {key}: {b1}");
    }

    let b2 = node.rpc("getblock", json!([hash, 2]));
    let tx = &b2["tx"][0];
    assert_eq!(tx["txid"], json!(coinbase.txid().to_string()));
    assert_eq!(tx["cid"], json!(coinbase.txid().cid()));
    assert_eq!(tx["version"], 1);
    assert_eq!(tx["size"], coinbase.encoded_size());
    assert_eq!(tx["locktime"], 1);
    assert_eq!(tx["vin"], json!([]));
    assert_eq!(tx["vout"][0]["n"], 0);
    assert_eq!(tx["vout"][0]["address"], json!(Node::address(0)));
    assert_eq!(
        tx["vout"][0]["pubkey"],
        json!(hex::encode(coinbase.outputs[0].pubkey))
    );
    // Amounts are printed with exactly 8 decimals.
    let body = raw_body(&node, "getblock", json!([hash, 2]));
    assert!(body.contains("\"value\":50.00000000,"), "{body}");
    assert_eq!(node.rpc_err("getblock", json!(["00".repeat(32)])).code, -5);
}

#[test]
fn invalidate_and_reconsider_move_the_tip_and_show_in_chain_tips() {
    let node = Node::regtest();
    let old = node.generate(5);
    let tips = node.rpc("getchaintips", json!([]));
    assert_eq!(
        tips,
        json!([{"height": 5, "hash": old[4], "branchlen": 0, "status": "active"}])
    );

    assert_eq!(node.rpc("invalidateblock", json!([old[2]])), Value::Null);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(2));
    assert_eq!(node.rpc("getbestblockhash", json!([])), json!(old[1]));
    let tips = node.rpc("getchaintips", json!([]));
    let tips = tips.as_array().unwrap();
    assert!(
        tips.contains(&json!({"height": 5, "hash": old[4], "branchlen": 3, "status": "invalid"})),
        "{tips:?}"
    );
    assert!(
        tips.contains(&json!({"height": 2, "hash": old[1], "branchlen": 0, "status": "active"}))
    );

    assert_eq!(node.rpc("reconsiderblock", json!([old[2]])), Value::Null);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(5));
    assert_eq!(node.rpc("getbestblockhash", json!([])), json!(old[4]));

    // A new branch outgrows the invalidated one; reconsidered, the old branch is a valid fork.
    node.rpc("invalidateblock", json!([old[3]]));
    let new = node.generate(3);
    // Mined within the same second as the invalidated blocks, the new blocks must still be
    // new ones, not copies of those.
    assert!(new.iter().all(|h| !old.contains(h)), "{new:?} {old:?}");
    assert_eq!(node.rpc("getblockcount", json!([])), json!(6));
    node.rpc("reconsiderblock", json!([old[3]]));
    assert_eq!(node.rpc("getbestblockhash", json!([])), json!(new[2]));
    let tips = node.rpc("getchaintips", json!([]));
    let tips = tips.as_array().unwrap();
    assert_eq!(tips.len(), 2, "{tips:?}");
    assert!(
        tips.contains(&json!({"height": 6, "hash": new[2], "branchlen": 0, "status": "active"}))
    );
    let fork = tips
        .iter()
        .find(|t| t["hash"] == json!(old[4]))
        .expect("the old branch's tip");
    assert_eq!(
        (&fork["height"], &fork["branchlen"]),
        (&json!(5), &json!(2)),
        "{tips:?}"
    );
    // Core says "valid-fork" (see reconsidered_branch_is_a_valid_fork).
    assert!(
        fork["status"] == "valid-fork" || fork["status"] == "valid-headers",
        "{tips:?}"
    );
    assert_eq!(node.rpc("verifychain", json!([])), json!(true));
    assert_eq!(
        node.rpc_err("invalidateblock", json!(["11".repeat(32)]))
            .code,
        -5
    );
    assert_eq!(
        node.rpc_err("reconsiderblock", json!(["11".repeat(32)]))
            .code,
        -5
    );
}

/// A branch that was active (so fully validated), invalidated, outgrown by another branch and
/// then reconsidered is a "valid-fork" in Core: reconsiderblock clears the failure marks, not
/// the validation already done. coinrs-chain's `reconsider_block` resets such blocks to
/// header-only validity, so they show as "valid-headers" (a bug in crates/chain).
#[test]
fn reconsidered_branch_is_a_valid_fork() {
    let node = Node::regtest();
    let old = node.generate(3);
    node.rpc("invalidateblock", json!([old[1]]));
    let new = node.generate(3);
    node.rpc("reconsiderblock", json!([old[1]]));
    assert_eq!(node.rpc("getbestblockhash", json!([])), json!(new[2]));
    let tips = node.rpc("getchaintips", json!([]));
    assert!(
        tips.as_array().unwrap().contains(
            &json!({"height": 3, "hash": old[2], "branchlen": 2, "status": "valid-fork"})
        ),
        "{tips}"
    );
}

#[test]
fn gettxout_gettxoutsetinfo_and_verifychain() {
    let node = Node::regtest();
    let hashes = node.generate(3);
    let block = node.rpc("getblock", json!([hashes[0]]));
    let cb = block["tx"][0].as_str().unwrap().to_string();
    let out = node.rpc("gettxout", json!([cb, 0]));
    assert_eq!(out["bestblock"], json!(hashes[2]));
    assert_eq!(out["confirmations"], 3);
    assert_eq!(out["value"].to_string(), "50.00000000");
    assert_eq!(out["address"], json!(Node::address(0)));
    assert_eq!(out["coinbase"], true);
    assert_eq!(node.rpc("gettxout", json!([cb, 0, false])), out);
    assert_eq!(node.rpc("gettxout", json!([cb, 1])), Value::Null);
    assert_eq!(
        node.rpc("gettxout", json!(["ab".repeat(32), 0])),
        Value::Null
    );
    // Genesis outputs are not spendable, as in Core.
    let genesis = node.rpc("getblock", json!([node.rpc("getblockhash", json!([0]))]));
    assert_eq!(
        node.rpc("gettxout", json!([genesis["tx"][0], 0])),
        Value::Null
    );

    let set = node.rpc("gettxoutsetinfo", json!([]));
    assert_eq!(set["height"], 3);
    assert_eq!(set["bestblock"], json!(hashes[2]));
    assert_eq!(set["txouts"], 3);
    assert_eq!(set["total_amount"].to_string(), "150.00000000");

    assert_eq!(node.rpc("verifychain", json!([])), json!(true));
    assert_eq!(node.rpc("verifychain", json!([4, 0])), json!(true));
}

#[test]
fn getrawtransaction_and_decoderawtransaction() {
    let node = Node::regtest();
    let hashes = node.generate(2);
    let block = node.rpc("getblock", json!([hashes[0]]));
    let txid = block["tx"][0].as_str().unwrap().to_string();
    let raw = hex_of(&node.rpc("getrawtransaction", json!([txid])));
    let tx: Transaction = decode(&hex::decode(&raw).unwrap()).expect("a transaction");
    assert_eq!(tx.txid().to_string(), txid);
    assert_eq!(
        node.rpc("getrawtransaction", json!([txid, false])),
        json!(raw)
    );
    assert_eq!(
        node.rpc("getrawtransaction", json!([txid, false, hashes[0]])),
        json!(raw)
    );

    let v = node.rpc("getrawtransaction", json!([txid, true]));
    assert_eq!(v["txid"], json!(txid));
    assert_eq!(v["cid"], json!(tx.txid().cid()));
    assert_eq!(v["blockhash"], json!(hashes[0]));
    assert_eq!(v["confirmations"], 2);
    assert_eq!(v["vout"][0]["value"].to_string(), "50.00000000");

    let d = node.rpc("decoderawtransaction", json!([raw]));
    assert_eq!(d["txid"], json!(txid));
    assert_eq!(d["locktime"], 1);
    assert!(d.get("blockhash").is_none());
    assert_eq!(d["vout"], v["vout"]);

    let e = node.rpc_err("getrawtransaction", json!(["cd".repeat(32)]));
    assert_eq!(e.code, -5);
    assert!(
        e.message
            .starts_with("No such mempool or blockchain transaction"),
        "{e}"
    );
    // The genesis coinbase is in no transaction index (as in Core).
    let genesis = node.rpc("getblock", json!([node.rpc("getblockhash", json!([0]))]));
    assert_eq!(
        node.rpc_err("getrawtransaction", json!([genesis["tx"][0]]))
            .code,
        -5
    );
    // Found only in the block named.
    assert_eq!(
        node.rpc_err("getrawtransaction", json!([txid, true, hashes[1]]))
            .code,
        -5
    );

    for bad in ["zz", "abc", "", "00"] {
        let e = node.rpc_err("decoderawtransaction", json!([bad]));
        assert_eq!(e.code, -22, "{bad:?}: {e}");
    }
    let e = node.rpc_err("decoderawtransaction", json!([format!("{raw}00")]));
    assert_eq!(e.code, -22, "trailing bytes: {e}");
    let e = node.rpc_err("decoderawtransaction", json!([&raw[..raw.len() - 2]]));
    assert_eq!(e.code, -22, "truncated: {e}");
}

#[test]
fn createrawtransaction_round_trips_through_decoderawtransaction() {
    let node = Node::regtest();
    let (a0, a1) = (Node::address(0), Node::address(1));
    let txid = "ab".repeat(32);
    let hex = node.rpc(
        "createrawtransaction",
        json!([[{"txid": txid, "vout": 3}, {"txid": "cd".repeat(32), "vout": 0}], {a0.clone(): 1.5, a1.clone(): "0.00000001"}]),
    );
    let d = node.rpc("decoderawtransaction", json!([hex]));
    assert_eq!(d["version"], 1);
    assert_eq!(d["locktime"], 0);
    assert_eq!(
        d["vin"],
        json!([
            {"txid": txid, "vout": 3, "signature": "00".repeat(64)},
            {"txid": "cd".repeat(32), "vout": 0, "signature": "00".repeat(64)},
        ])
    );
    assert_eq!(d["vout"][0]["address"], json!(a0));
    assert_eq!(d["vout"][0]["value"].to_string(), "1.50000000");
    assert_eq!(d["vout"][1]["address"], json!(a1));
    assert_eq!(d["vout"][1]["value"].to_string(), "0.00000001");
    let tx: Transaction = decode(&hex::decode(hex.as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(d["txid"], json!(tx.txid().to_string()));
    assert_eq!(tx.outputs[0].value, 150_000_000);

    let with_locktime = node.rpc(
        "createrawtransaction",
        json!([[{"txid": txid, "vout": 0}], [{a0.clone(): 2}], 7]),
    );
    assert_eq!(
        node.rpc("decoderawtransaction", json!([with_locktime]))["locktime"],
        7
    );

    let inputs = json!([{"txid": txid, "vout": 0}]);
    let e = node.rpc_err("createrawtransaction", json!([inputs, {"notanaddress": 1}]));
    assert_eq!(e.code, -5, "{e}");
    // A devnet address is not a regtest address.
    let pubkey = coinrs_core::address::decode_address("crt", &a0).unwrap();
    let devnet_address = encode_address("cdev", &pubkey).unwrap();
    let e = node.rpc_err("createrawtransaction", json!([inputs, {devnet_address: 1}]));
    assert_eq!(e.code, -5, "{e}");
    let nine_decimals: Value = serde_json::from_str("0.000000001").unwrap();
    for amount in [
        nine_decimals,
        json!(-1),
        json!("-0.5"),
        json!("1.123456789"),
    ] {
        let e = node.rpc_err(
            "createrawtransaction",
            json!([inputs, {a0.clone(): amount}]),
        );
        assert_eq!(e.code, -3, "{amount}: {e}");
    }
    assert_eq!(
        node.rpc_err(
            "createrawtransaction",
            json!([[{"txid": "xyz", "vout": 0}], {}])
        )
        .code,
        -8
    );
}

#[test]
fn submitblock_answers_as_bitcoin_core() {
    let a = Node::regtest();
    let b = Node::regtest();
    let theirs = b.generate(3);
    let block_hex = |h: &String| hex_of(&b.rpc("getblock", json!([h, 0])));
    let (b1, b2, b3) = (
        block_hex(&theirs[0]),
        block_hex(&theirs[1]),
        block_hex(&theirs[2]),
    );

    // A valid new block on the tip.
    assert_eq!(a.rpc("submitblock", json!([b1])), Value::Null);
    assert_eq!(a.rpc("getbestblockhash", json!([])), json!(theirs[0]));
    assert_eq!(a.rpc("submitblock", json!([b1])), json!("duplicate"));
    // Parent unknown (and not kept: submitting it later is not a duplicate).
    assert_eq!(
        a.rpc("submitblock", json!([b3])),
        json!("prev-blk-not-found")
    );
    assert_eq!(a.rpc("getblockcount", json!([])), json!(1));

    // A mutated copy of b2 (a changed byte in its coinbase): a reject reason, and the genuine
    // block is not marked invalid by it.
    let mut bytes = hex::decode(&b2).unwrap();
    let n = bytes.len();
    bytes[n - 9] ^= 1;
    match a
        .call("submitblock", json!([hex::encode(&bytes)]))
        .expect("answer")
    {
        Ok(Value::String(reason)) => assert!(
            reason.starts_with("bad-") || reason == "high-hash",
            "{reason}"
        ),
        Ok(other) => panic!("a mutated block: {other}"),
        Err(e) => assert_eq!(e.code, -22, "{e}"),
    }
    let mut cut = hex::decode(&b2).unwrap();
    cut.truncate(n - 1);
    match a
        .call("submitblock", json!([hex::encode(&cut)]))
        .expect("answer")
    {
        Ok(Value::String(reason)) => assert_eq!(reason, "bad-blk-length"),
        Ok(other) => panic!("a truncated block: {other}"),
        Err(e) => assert_eq!(e.code, -22, "{e}"),
    }

    // Our own block 2 first (paying another address, so it is not their block 2); their
    // block 2 then lands on a side branch.
    let ours = a.rpc("generatetoaddress", json!([1, Node::address(1)]));
    assert_eq!(a.rpc("submitblock", json!([b2])), json!("inconclusive"));
    assert_eq!(a.rpc("getbestblockhash", json!([])), json!(ours[0]));
    assert_eq!(
        a.rpc("submitblock", json!([b2])),
        json!("duplicate-inconclusive")
    );
    // Their block 3 makes their branch the longer one: a reorganisation.
    assert_eq!(a.rpc("submitblock", json!([b3])), Value::Null);
    assert_eq!(a.rpc("getbestblockhash", json!([])), json!(theirs[2]));
    assert_eq!(a.rpc("getblockcount", json!([])), json!(3));
    let tips = a.rpc("getchaintips", json!([]));
    assert!(
        tips.as_array().unwrap().contains(
            &json!({"height": 2, "hash": ours[0], "branchlen": 1, "status": "valid-fork"})
        ),
        "{tips}"
    );

    // An invalidated block offered again.
    a.rpc("invalidateblock", json!([theirs[2]]));
    assert_eq!(
        a.rpc("submitblock", json!([b3])),
        json!("duplicate-invalid")
    );

    assert_eq!(a.rpc_err("submitblock", json!(["zz"])).code, -22);
    assert_eq!(a.rpc_err("submitblock", json!(["0000"])).code, -22);
}

#[test]
fn generatetoaddress_mines_on_regtest_only() {
    let node = Node::regtest();
    let hashes = node.rpc("generatetoaddress", json!([4, Node::address(1)]));
    let hashes = hashes.as_array().unwrap();
    assert_eq!(hashes.len(), 4);
    assert!(hashes.iter().all(is_hex64));
    assert_eq!(node.rpc("getblockcount", json!([])), json!(4));
    assert_eq!(node.rpc("getbestblockhash", json!([])), hashes[3]);
    let cb = node.rpc("getblock", json!([hashes[3], 2]));
    assert_eq!(cb["tx"][0]["vout"][0]["address"], json!(Node::address(1)));
    assert_eq!(
        node.rpc("generatetoaddress", json!([0, Node::address(1)])),
        json!([])
    );
    assert_eq!(
        node.rpc_err("generatetoaddress", json!([1, "crt1qnotanaddress"]))
            .code,
        -5
    );
    assert_eq!(node.rpc_err("generateblock", json!(["bogus"])).code, -5);

    let devnet = Node::start("devnet", &[]).expect("devnet node");
    let e = devnet.rpc_err("generatetoaddress", json!([1, Node::address(0)]));
    assert_eq!((e.code, e.message.as_str()), (-32601, "Method not found"));
    assert_eq!(
        devnet
            .rpc_err("generateblock", json!([Node::address(0)]))
            .code,
        -32601
    );
    assert_eq!(
        devnet.rpc("getblockchaininfo", json!([]))["chain"],
        "devnet"
    );
}

#[test]
fn generateblock_confirms_a_signed_spend_of_a_mature_coinbase() {
    let node = Node::regtest();
    let key = SigningKey::from_secret_bytes([7; 32]).unwrap();
    let address = encode_address("crt", &key.public_key()).unwrap();
    let hashes = node.rpc("generatetoaddress", json!([101, address]));
    let first = &hashes[0];
    let coinbase = node.rpc("getblock", json!([first]))["tx"][0].clone();

    // The node builds the unsigned transaction; we sign it with coinrs-core.
    let unsigned = node.rpc(
        "createrawtransaction",
        json!([[{"txid": coinbase, "vout": 0}], {Node::address(1): "49.9"}]),
    );
    let mut tx: Transaction = decode(&hex::decode(unsigned.as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        tx.outputs,
        vec![TxOut {
            value: 4_990_000_000,
            pubkey: coinrs_core::address::decode_address("crt", &Node::address(1)).unwrap(),
        }]
    );
    sign_transaction(&mut tx, &[key], &[0; 32]).unwrap();
    let signed = hex::encode(tx.encode());
    let txid = tx.txid().to_string();

    let reply = node.rpc("generateblock", json!([Node::address(0), [signed]]));
    let hash = reply["hash"].clone();
    assert!(is_hex64(&hash), "{reply}");
    assert_eq!(node.rpc("getbestblockhash", json!([])), hash);
    let block = node.rpc("getblock", json!([hash, 2]));
    assert_eq!(block["nTx"], 2);
    assert_eq!(block["tx"][1]["txid"], json!(txid));
    // The coinbase collects the 0.1 coin fee.
    assert_eq!(
        block["tx"][0]["vout"][0]["value"].to_string(),
        "50.10000000"
    );

    let found = node.rpc("getrawtransaction", json!([txid, true]));
    assert_eq!(found["blockhash"], hash);
    assert_eq!(found["confirmations"], 1);
    assert_eq!(
        node.rpc("gettxout", json!([coinbase, 0])),
        Value::Null,
        "spent"
    );
    let out = node.rpc("gettxout", json!([txid, 0]));
    assert_eq!(out["value"].to_string(), "49.90000000");
    assert_eq!(out["coinbase"], false);

    // Spending it again: refused with the reject reason, the tip unchanged.
    let e = node.rpc_err(
        "generateblock",
        json!([Node::address(0), [hex::encode(tx.encode())]]),
    );
    assert_eq!(e.code, -25, "{e}");
    assert!(e.message.contains("bad-txns-inputs-missingorspent"), "{e}");
    assert_eq!(node.rpc("getbestblockhash", json!([])), hash);
    // As in Core (TestBlockValidity first), the refused block leaves no trace.
    assert_eq!(
        node.rpc("getchaintips", json!([])),
        json!([{"height": 102, "hash": hash, "branchlen": 0, "status": "active"}])
    );
    // A txid names a mempool transaction; there is none.
    let e = node.rpc_err("generateblock", json!([Node::address(0), [txid]]));
    assert_eq!(e.code, -5, "{e}");
    assert_eq!(
        node.rpc_err("generateblock", json!([Node::address(0), ["zz"]]))
            .code,
        -22
    );
    assert_eq!(node.rpc("getblockcount", json!([])), json!(102));
}
