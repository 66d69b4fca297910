//! Wallets through a real coinrsd: creation, mining to a wallet, maturity, payments between
//! wallets and between nodes, encryption errors, restore from a mnemonic with a rescan,
//! backups, the `/wallet/NAME` routing and `coinrs-cli --rpcwallet`.

use std::time::{Duration, Instant};

use coinrs_testkit::{Node, RpcError, wait_until};
use serde_json::{Value, json};

/// Calls `method` on wallet `wallet` (`POST /wallet/NAME`).
fn wcall(node: &Node, wallet: &str, method: &str, params: Value) -> Result<Value, RpcError> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let auth = node.auth_header().expect("auth");
    let (status, text) = node
        .post_raw(&format!("/wallet/{wallet}"), body.to_string(), Some(&auth))
        .expect("post");
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).expect("json");
    match reply.get("error") {
        Some(e) if !e.is_null() => Err(RpcError {
            code: e["code"].as_i64().unwrap_or(0),
            message: e["message"].as_str().unwrap_or_default().to_string(),
        }),
        _ => Ok(reply["result"].clone()),
    }
}

fn w(node: &Node, wallet: &str, method: &str, params: Value) -> Value {
    wcall(node, wallet, method, params.clone())
        .unwrap_or_else(|e| panic!("{wallet} {method} {params}: {e:?}"))
}

fn balances(node: &Node, wallet: &str) -> (String, String, String) {
    let b = w(node, wallet, "getbalances", json!([]));
    let m = &b["mine"];
    (
        m["trusted"].to_string(),
        m["untrusted_pending"].to_string(),
        m["immature"].to_string(),
    )
}

#[test]
fn mined_coins_mature_and_pay_another_wallet() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    // No wallet: -18; validateaddress needs none.
    assert_eq!(node.rpc_err("getbalance", json!([])).code, -18);
    let any = Node::address(7);
    assert_eq!(
        node.rpc("validateaddress", json!([any]))["isvalid"],
        json!(true)
    );
    assert_eq!(
        node.rpc("validateaddress", json!(["nonsense"]))["isvalid"],
        json!(false)
    );

    node.rpc("createwallet", json!(["alice"]));
    // The only wallet is the default.
    let a_addr = node
        .rpc("getnewaddress", json!([]))
        .as_str()
        .unwrap()
        .to_string();
    let info = node.rpc("getaddressinfo", json!([a_addr]));
    assert_eq!(info["ismine"], json!(true));
    assert_eq!(info["hdkeypath"], json!("m/86'/1'/0'/0/0"));

    node.rpc("createwallet", json!(["bob"]));
    assert_eq!(node.rpc_err("getbalance", json!([])).code, -19);
    assert_eq!(
        wcall(&node, "nobody", "getbalance", json!([]))
            .unwrap_err()
            .code,
        -18
    );
    let mut names = node.rpc("listwallets", json!([]));
    names.as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    assert_eq!(names, json!(["alice", "bob"]));

    node.rpc("generatetoaddress", json!([1, a_addr]));
    assert_eq!(
        balances(&node, "alice"),
        (
            "0.00000000".into(),
            "0.00000000".into(),
            "50.00000000".into()
        )
    );
    // Mature after coinbase_maturity + 1 = 101 confirmations.
    node.generate(99);
    assert_eq!(balances(&node, "alice").0, "0.00000000");
    node.generate(1);
    assert_eq!(
        balances(&node, "alice"),
        (
            "50.00000000".into(),
            "0.00000000".into(),
            "0.00000000".into()
        )
    );
    assert_eq!(
        w(&node, "alice", "getbalance", json!([])).to_string(),
        "50.00000000"
    );

    let b_addr = w(&node, "bob", "getnewaddress", json!([]));
    let txid = w(&node, "alice", "sendtoaddress", json!([b_addr, 10]));
    let pool = node.rpc("getrawmempool", json!([]));
    assert_eq!(pool, json!([txid]));
    assert_eq!(
        balances(&node, "bob"),
        (
            "0.00000000".into(),
            "10.00000000".into(),
            "0.00000000".into()
        )
    );
    let sent = w(&node, "alice", "gettransaction", json!([txid]));
    assert_eq!(sent["amount"].to_string(), "-10.00000000");
    assert_eq!(sent["confirmations"], json!(0));
    let fee = -sent["fee"].as_f64().unwrap();
    assert!(fee > 0.0 && fee < 0.001, "{fee}");

    node.generate(1);
    assert_eq!(balances(&node, "bob").0, "10.00000000");
    let a_trusted: f64 = balances(&node, "alice").0.parse().unwrap();
    assert!((a_trusted - (40.0 - fee)).abs() < 1e-9, "{a_trusted}");
    let listed = w(&node, "bob", "listtransactions", json!([]));
    assert_eq!(listed[0]["category"], json!("receive"));
    assert_eq!(listed[0]["confirmations"], json!(1));
    let unspent = w(&node, "bob", "listunspent", json!([]));
    assert_eq!(unspent.as_array().unwrap().len(), 1);

    // Unload, and wallets loaded at a stop come back at the next start.
    node.rpc("unloadwallet", json!(["bob"]));
    assert_eq!(node.rpc("listwallets", json!([])), json!(["alice"]));
    node.rpc("loadwallet", json!(["bob"]));
    assert_eq!(balances(&node, "bob").0, "10.00000000");
    let mut node = node;
    node.restart(&[]).expect("restart");
    let mut names = node.rpc("listwallets", json!([]));
    names.as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    assert_eq!(names, json!(["alice", "bob"]));
    assert_eq!(balances(&node, "bob").0, "10.00000000");
}

#[test]
fn locked_wallets_refuse_to_spend_and_restores_find_the_coins() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["w"]));
    let addr = node.rpc("getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, addr]));
    let mnemonic = node
        .rpc("getmnemonic", json!([]))
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(mnemonic.split(' ').count(), 12);

    node.rpc("encryptwallet", json!(["secret"]));
    let other = Node::address(3);
    assert_eq!(node.rpc_err("sendtoaddress", json!([other, 1])).code, -13);
    assert_eq!(node.rpc_err("getmnemonic", json!([])).code, -13);
    assert_eq!(
        node.rpc_err("walletpassphrase", json!(["wrong", 60])).code,
        -14
    );
    node.rpc("walletpassphrase", json!(["secret", 60]));
    assert!(
        node.rpc("getwalletinfo", json!([]))["unlocked_until"]
            .as_u64()
            .unwrap()
            > 0
    );
    node.rpc("sendtoaddress", json!([other, 1]));
    node.rpc("walletlock", json!([]));
    assert_eq!(
        node.rpc("getwalletinfo", json!([]))["unlocked_until"],
        json!(0)
    );
    node.rpc("walletpassphrasechange", json!(["secret", "better"]));
    assert_eq!(
        node.rpc_err("walletpassphrase", json!(["secret", 60])).code,
        -14
    );
    node.generate(1);
    let before = balances(&node, "w");

    // A backup loads as a wallet of its own.
    let backup = node.chain_dir().join("wallets").join("copy.redb");
    node.rpc("backupwallet", json!([backup.to_str().unwrap()]));
    node.rpc("loadwallet", json!(["copy"]));
    assert_eq!(balances(&node, "copy"), before);

    // A fresh node synced from this one, with the mnemonic restored: every coin comes back.
    let fresh = Node::start("regtest", &[]).expect("start coinrsd");
    fresh.rpc("addnode", json!([node.p2p_addr(), "add"]));
    let height = node.rpc("getblockcount", json!([]));
    wait_until(30, "sync", || {
        fresh.rpc("getblockcount", json!([])) == height
    });
    fresh.rpc(
        "createwallet",
        json!(["restored", false, false, "", mnemonic]),
    );
    assert_eq!(balances(&fresh, "restored"), before);
    let txs = fresh.rpc("listtransactions", json!(["*", 1000]));
    assert_eq!(txs.as_array().unwrap().len(), 102, "{txs}");
}

#[test]
fn two_nodes_pay_each_other_and_agree_after_each_block() {
    let a = Node::start("regtest", &[]).expect("start a");
    let b = Node::start("regtest", &[]).expect("start b");
    b.rpc("addnode", json!([a.p2p_addr(), "add"]));
    a.rpc("createwallet", json!(["a"]));
    b.rpc("createwallet", json!(["b"]));
    let a_addr = a.rpc("getnewaddress", json!([]));
    a.rpc("generatetoaddress", json!([101, a_addr]));
    wait_until(30, "sync", || {
        b.rpc("getblockcount", json!([])) == json!(101)
    });

    let b_addr = b.rpc("getnewaddress", json!([]));
    let txid = a.rpc("sendmany", json!(["", {b_addr.as_str().unwrap(): "12.5"}]));
    // The payment reaches b's mempool and wallet over the network.
    wait_until(30, "relay", || {
        b.rpc("getrawmempool", json!([])) == json!([txid.clone()])
    });
    assert_eq!(balances(&b, "b").1, "12.50000000");
    let hash = b.generate(1);
    wait_until(30, "block", || {
        a.rpc("getbestblockhash", json!([])) == json!(hash[0])
    });
    assert_eq!(balances(&b, "b").0, "12.50000000");
    assert_eq!(balances(&b, "b").1, "0.00000000");

    // And back, through coinrs-cli --rpcwallet.
    let a_addr2 = a.rpc("getnewaddress", json!([]));
    let out = b.cli(&[
        "--rpcwallet",
        "b",
        "sendtoaddress",
        a_addr2.as_str().unwrap(),
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = b.generate(1);
    wait_until(30, "block", || {
        a.rpc("getbestblockhash", json!([])) == json!(hash[0])
    });
    let b_trusted: f64 = balances(&b, "b").0.parse().unwrap();
    assert!(b_trusted < 10.5 && b_trusted > 10.49, "{b_trusted}");
    let out = a.cli(&["--rpcwallet", "a", "getbalances"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["mine"], w(&a, "a", "getbalances", json!([]))["mine"]);
}

#[test]
fn a_reorganisation_drops_a_payment_and_a_new_block_confirms_it_again() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["alice"]));
    node.rpc("createwallet", json!(["bob"]));
    let a_addr = w(&node, "alice", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, a_addr]));
    let b_addr = w(&node, "bob", "getnewaddress", json!([]));
    let txid = w(&node, "alice", "sendtoaddress", json!([b_addr, "5"]));
    let alice_before = balances(&node, "alice");
    let hash = node.generate(1);
    assert_eq!(balances(&node, "bob").0, "5.00000000");
    let alice_after = balances(&node, "alice");

    node.rpc("invalidateblock", json!([hash[0]]));
    // The payment is unconfirmed again (back in the mempool), for both wallets.
    assert_eq!(node.rpc("getrawmempool", json!([])), json!([txid]));
    assert_eq!(
        balances(&node, "bob"),
        (
            "0.00000000".into(),
            "5.00000000".into(),
            "0.00000000".into()
        )
    );
    assert_eq!(
        w(&node, "bob", "gettransaction", json!([txid]))["confirmations"],
        json!(0)
    );
    // Alice's change is her own: still trusted while unconfirmed (and the coinbase that
    // matured with the dropped block is immature again).
    assert_eq!(balances(&node, "alice"), alice_before);

    node.generate(1);
    assert_eq!(balances(&node, "bob").0, "5.00000000");
    assert_eq!(balances(&node, "alice"), alice_after);
}

#[test]
fn mining_without_an_address_pays_the_wallet_default() {
    let node = Node::start("regtest", &["--mine", "--mine-threads", "1"]).expect("start");
    wait_until(30, "a mined block", || {
        node.rpc("getblockcount", json!([])).as_u64().unwrap() >= 1
    });
    assert_eq!(node.rpc("listwallets", json!([])), json!(["default"]));
    wait_until(30, "immature coins", || {
        balances(&node, "default").2 != "0.00000000"
    });
}

#[test]
fn a_kill_right_after_a_send_loses_and_doubles_nothing() {
    let mut node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["alice"]));
    node.rpc("createwallet", json!(["bob"]));
    let a_addr = w(&node, "alice", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, a_addr]));
    let b_addr = w(&node, "bob", "getnewaddress", json!([]));
    let txid = w(&node, "alice", "sendtoaddress", json!([b_addr, "7"]));
    let alice = balances(&node, "alice");
    let bob = balances(&node, "bob");
    node.kill().expect("kill -9");
    node.restart(&[]).expect("restart");
    // Both wallets come back as they were, and the payment is offered to the mempool again.
    assert_eq!(balances(&node, "alice"), alice);
    assert_eq!(balances(&node, "bob"), bob);
    assert_eq!(node.rpc("getrawmempool", json!([])), json!([txid]));
    node.generate(1);
    assert_eq!(balances(&node, "bob").0, "7.00000000");
    let a_trusted: f64 = balances(&node, "alice").0.parse().unwrap();
    // 50 - 7 - fee, plus the coinbase that matured with the new block.
    assert!(a_trusted > 92.99 && a_trusted < 93.0, "{a_trusted}");
}

#[test]
fn a_restore_follows_coins_past_the_first_gap_and_the_cli_unlocks_with_a_numeric_passphrase() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["miner"]));
    let m_addr = w(&node, "miner", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, m_addr]));

    // Through the cli: a passphrase of digits stays a string, the timeout is a number.
    let out = node.cli(&["createwallet", "saver", "false", "false", "1234"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let addrs: Vec<String> = (0..31)
        .map(|_| {
            w(&node, "saver", "getnewaddress", json!([]))
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Index 15 is within the first gap of 20; index 30 is found only once 15 is.
    let txid = w(
        &node,
        "miner",
        "sendmany",
        json!(["", {addrs[15].as_str(): 1, addrs[30].as_str(): 2}]),
    );
    node.generate(1);
    let shown = wcall(&node, "saver", "getmnemonic", json!([])).unwrap_err();
    assert_eq!(shown.code, -13);
    let out = node.cli(&["--rpcwallet", "saver", "walletpassphrase", "1234", "60"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mnemonic = w(&node, "saver", "getmnemonic", json!([]));
    let saved = balances(&node, "saver");
    assert_eq!(saved.0, "3.00000000");

    node.rpc(
        "createwallet",
        json!(["restored", false, false, null, mnemonic]),
    );
    assert_eq!(balances(&node, "restored"), saved);
    let got = w(&node, "restored", "gettransaction", json!([txid]));
    assert_eq!(got["amount"].to_string(), "3.00000000");
    assert_eq!(
        w(&node, "restored", "getaddressinfo", json!([addrs[30]]))["hdkeypath"],
        json!("m/86'/1'/0'/0/30")
    );
}

#[test]
fn a_conflicting_spend_mined_in_a_reorganisation_voids_the_payment() {
    use coinrs_core::encode::decode;
    use coinrs_core::sig::{SigningKey, signed_spend};
    use coinrs_core::{Transaction, TxOut};

    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["alice"]));
    node.rpc("createwallet", json!(["bob"]));
    let a_addr = w(&node, "alice", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, a_addr]));
    let b_addr = w(&node, "bob", "getnewaddress", json!([]));
    let txid = w(&node, "alice", "sendtoaddress", json!([b_addr, "5"]));
    let hash = node.generate(1);
    assert_eq!(balances(&node, "bob").0, "5.00000000");

    // The coin the payment spent, spent again elsewhere in a block of a longer branch.
    let raw = w(&node, "alice", "gettransaction", json!([txid]))["hex"]
        .as_str()
        .unwrap()
        .to_string();
    let paid: Transaction = decode(&hex::decode(raw).unwrap()).unwrap();
    assert_eq!(paid.inputs.len(), 1);
    let secret = w(&node, "alice", "dumpprivkey", json!([a_addr]));
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(secret.as_str().unwrap(), &mut bytes).unwrap();
    let key = SigningKey::from_secret_bytes(bytes).unwrap();
    let elsewhere = coinrs_core::address::decode_address("crt", &Node::address(9)).unwrap();
    let conflict = signed_spend(
        &key,
        &[paid.inputs[0].prevout],
        vec![TxOut {
            value: 49 * 100_000_000,
            pubkey: elsewhere,
        }],
        0,
    );
    node.rpc("invalidateblock", json!([hash[0]]));
    node.rpc(
        "generateblock",
        json!([Node::address(9), [hex::encode(conflict.encode())]]),
    );
    node.generate(1);

    // The payment can never confirm: bob has nothing, alice lost the coin to the conflict.
    assert_eq!(
        balances(&node, "bob"),
        (
            "0.00000000".into(),
            "0.00000000".into(),
            "0.00000000".into()
        )
    );
    assert_eq!(
        w(&node, "bob", "gettransaction", json!([txid]))["confirmations"],
        json!(-1)
    );
    assert_eq!(node.rpc("getrawmempool", json!([])), json!([]));
    // Alice: the coinbases of heights 2 and 3 are mature now (103 blocks), the first is gone.
    assert_eq!(balances(&node, "alice").0, "100.00000000");
}

#[test]
fn a_payment_the_mempool_dropped_is_offered_again_after_the_next_block() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["alice"]));
    let a_addr = w(&node, "alice", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, a_addr]));
    let h100 = node.rpc("getblockhash", json!([100]));
    let txid = node.rpc("sendtoaddress", json!([Node::address(4), "1"]));
    // Without blocks 100 and 101 the coin it spends cannot be spent in the next block: the
    // mempool drops the payment.
    node.rpc("invalidateblock", json!([h100]));
    assert_eq!(node.rpc("getrawmempool", json!([])), json!([]));
    // Once the coin can be spent again, the wallet's payment is back in the mempool.
    node.generate(1);
    assert_eq!(node.rpc("getrawmempool", json!([])), json!([txid]));
    node.generate(1);
    assert!(node.rpc("gettransaction", json!([txid]))["confirmations"] == json!(1));
}

/// The transaction `txid` of wallet `wallet`, decoded from `gettransaction`'s hex.
fn wallet_tx(node: &Node, wallet: &str, txid: &Value) -> coinrs_core::Transaction {
    let raw = w(node, wallet, "gettransaction", json!([txid]))["hex"]
        .as_str()
        .unwrap()
        .to_string();
    coinrs_core::encode::decode(&hex::decode(raw).unwrap()).unwrap()
}

/// Base units of a JSON amount.
fn units(v: &Value) -> i64 {
    let s = v.to_string();
    let (sign, s) = s.strip_prefix('-').map_or((1, s.as_str()), |r| (-1, r));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<8}");
    sign * (whole.parse::<i64>().unwrap() * 100_000_000 + frac.parse::<i64>().unwrap())
}

/// `sendtoaddress` from `wallet` of an amount given in units; returns the txid.
fn send_units(node: &Node, wallet: &str, to: &str, units: u64) -> Value {
    w(
        node,
        wallet,
        "sendtoaddress",
        json!([
            to,
            format!("{}.{:08}", units / 100_000_000, units % 100_000_000)
        ]),
    )
}

/// The smallest output or change the wallet makes (docs/wallet.md), in base units.
const DUST: u64 = 1000;

#[test]
fn coin_selection_pays_an_exact_match_without_change_and_never_makes_dust_change() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["miner"]));
    node.rpc("createwallet", json!(["payer"]));
    let m_addr = w(&node, "miner", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, m_addr]));
    let fund = |coins: &[&str]| {
        let mut to = serde_json::Map::new();
        for c in coins {
            let a = w(&node, "payer", "getnewaddress", json!([]));
            to.insert(a.as_str().unwrap().to_string(), json!(c));
        }
        w(&node, "miner", "sendmany", json!(["", to]));
        node.generate(1);
    };
    let outsider = Node::address(5);
    // Fees at the default rate (0.00001 coins per 1000 bytes = 1 unit per byte), sizes from
    // PROTOCOL.md: 20 bytes + 100 per input + 40 per output.
    let fee = |inputs: u64, outputs: u64| 20 + 100 * inputs + 40 * outputs;

    // Coins of 1, 2 and 4: 3 coins minus the fee of 2 inputs and 1 output is exactly the 1
    // and the 2 (largest first would have taken the 4 and made change).
    fund(&["1", "2", "4"]);
    let unspent = w(&node, "payer", "listunspent", json!([]));
    let outpoint_of = |amount: i64| {
        let u = unspent
            .as_array()
            .unwrap()
            .iter()
            .find(|u| units(&u["amount"]) == amount)
            .unwrap();
        (
            u["txid"].as_str().unwrap().to_string(),
            u["vout"].as_u64().unwrap(),
        )
    };
    let mut want = vec![outpoint_of(100_000_000), outpoint_of(200_000_000)];
    want.sort();
    let amount = 300_000_000 - fee(2, 1);
    let txid = send_units(&node, "payer", &outsider, amount);
    let tx = wallet_tx(&node, "payer", &txid);
    let mut spent: Vec<(String, u64)> = tx
        .inputs
        .iter()
        .map(|i| (i.prevout.txid.to_string(), u64::from(i.prevout.vout)))
        .collect();
    spent.sort();
    assert_eq!(spent, want, "the exact match is the 1 and the 2");
    assert_eq!(tx.outputs.len(), 1, "no change: {tx:?}");
    assert_eq!(tx.outputs[0].value, amount);
    let got = w(&node, "payer", "gettransaction", json!([txid]));
    assert_eq!(units(&got["fee"]), -(fee(2, 1) as i64));
    // The verbose decode of the node agrees.
    let decoded = node.rpc("getrawtransaction", json!([txid, true]));
    assert_eq!(decoded["vout"].as_array().unwrap().len(), 1, "{decoded}");
    node.generate(1);
    assert_eq!(
        balances(&node, "payer"),
        (
            "4.00000000".into(),
            "0.00000000".into(),
            "0.00000000".into()
        )
    );

    // The 4 alone is left. Paying it minus the fee minus 1020 units: change would be 980
    // after its own 40 bytes of fee, below the dust threshold: no change, the 1020 go to
    // the fee.
    let amount = 400_000_000 - fee(1, 1) - 1020;
    let txid = send_units(&node, "payer", &outsider, amount);
    let tx = wallet_tx(&node, "payer", &txid);
    assert_eq!(
        tx.outputs.len(),
        1,
        "dust change folded into the fee: {tx:?}"
    );
    assert_eq!(
        units(&w(&node, "payer", "gettransaction", json!([txid]))["fee"]),
        -((fee(1, 1) + 1020) as i64)
    );
    node.generate(1);
    assert_eq!(balances(&node, "payer").0, "0.00000000");

    // 20 units more (40 pay the change output's own bytes) and the change is exactly the
    // threshold: 1000 units.
    fund(&["5"]);
    let amount = 500_000_000 - fee(1, 1) - 1040;
    let txid = send_units(&node, "payer", &outsider, amount);
    let tx = wallet_tx(&node, "payer", &txid);
    assert_eq!(tx.outputs.len(), 2, "{tx:?}");
    let mut values: Vec<u64> = tx.outputs.iter().map(|o| o.value).collect();
    values.sort_unstable();
    assert_eq!(values, vec![DUST, amount]);
    assert!(values.iter().all(|&v| v >= DUST));
    node.generate(1);
    assert_eq!(balances(&node, "payer").0, "0.00001000");

    // A payment below the dust threshold is refused with the reason.
    fund(&["1"]);
    let err = wcall(
        &node,
        "payer",
        "sendtoaddress",
        json!([outsider, "0.00000999"]),
    )
    .unwrap_err();
    assert_eq!(err.code, -8, "{err:?}");
    assert!(err.message.contains("dust"), "{err:?}");
}

#[test]
fn a_backup_restores_on_a_fresh_node_and_catches_up_with_later_coins() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["miner"]));
    node.rpc("createwallet", json!(["w", false, false, "pass"]));
    let m_addr = w(&node, "miner", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, m_addr]));
    let w_addr = w(&node, "w", "getnewaddress", json!([]));
    w(&node, "miner", "sendtoaddress", json!([w_addr, "10"]));
    node.generate(1);
    w(&node, "w", "walletpassphrase", json!(["pass", 60]));
    w(&node, "w", "sendtoaddress", json!([Node::address(6), "3"]));
    w(&node, "w", "walletlock", json!([]));
    node.generate(1);

    let saved = tempfile::tempdir().unwrap();
    let backup = saved.path().join("w-backup.redb");
    w(
        &node,
        "w",
        "backupwallet",
        json!([backup.to_str().unwrap()]),
    );
    // After the backup: a payment to an address the backup has never handed out.
    let later = w(&node, "w", "getnewaddress", json!([]));
    w(&node, "miner", "sendtoaddress", json!([later, "2"]));
    node.generate(1);
    let want_balances = balances(&node, "w");
    let want_txs = w(&node, "w", "listtransactions", json!(["*", 100]));
    let want_unspent = w(&node, "w", "listunspent", json!([]));

    // A fresh node synced from this one loads the backup copied into its wallets folder.
    let fresh = Node::start("regtest", &[]).expect("start coinrsd");
    fresh.rpc("addnode", json!([node.p2p_addr(), "add"]));
    let height = node.rpc("getblockcount", json!([]));
    wait_until(30, "sync", || {
        fresh.rpc("getblockcount", json!([])) == height
    });
    let wallets = fresh.chain_dir().join("wallets");
    std::fs::create_dir_all(&wallets).unwrap();
    std::fs::copy(&backup, wallets.join("restored.redb")).unwrap();
    fresh.rpc("loadwallet", json!(["restored"]));
    assert_eq!(balances(&fresh, "restored"), want_balances);
    assert_eq!(fresh.rpc("listunspent", json!([])), want_unspent);
    // The same history, including the payment made after the backup.
    let got_txs = fresh.rpc("listtransactions", json!(["*", 100]));
    let key = |v: &Value| -> Vec<(String, String, String, String)> {
        let mut k: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["txid"].to_string(),
                    e["category"].to_string(),
                    e["amount"].to_string(),
                    e["confirmations"].to_string(),
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&got_txs), key(&want_txs));

    // Still encrypted with the same passphrase: it spends once unlocked.
    assert_eq!(
        fresh
            .rpc_err("sendtoaddress", json!([Node::address(6), "1"]))
            .code,
        -13
    );
    assert_eq!(
        fresh.rpc_err("walletpassphrase", json!(["other", 60])).code,
        -14
    );
    fresh.rpc("walletpassphrase", json!(["pass", 60]));
    let txid = fresh.rpc("sendtoaddress", json!([Node::address(6), "1"]));
    wait_until(30, "relay", || {
        node.rpc("getrawmempool", json!([])) == json!([txid.clone()])
    });
}

#[test]
fn the_cli_names_one_of_two_loaded_wallets_with_rpcwallet() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["a"]));
    node.rpc("createwallet", json!(["b"]));
    let a_addr = w(&node, "a", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, a_addr]));

    // Two wallets and none named: Core's -19, exit status 1.
    let out = node.cli(&["getbalance"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error code: -19"), "{err}");
    assert!(err.contains("Wallet file not specified"), "{err}");
    // An unknown wallet: -18.
    let out = node.cli(&["--rpcwallet", "nobody", "getbalance"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error code: -18"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cli_ok = |args: &[&str]| -> String {
        let out = node.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let b_addr = cli_ok(&["--rpcwallet", "b", "getnewaddress"]);
    assert_eq!(
        w(&node, "b", "getaddressinfo", json!([b_addr]))["ismine"],
        json!(true)
    );
    assert_eq!(
        w(&node, "a", "getaddressinfo", json!([b_addr]))["ismine"],
        json!(false)
    );
    cli_ok(&["--rpcwallet", "a", "sendtoaddress", &b_addr, "1.5"]);
    node.generate(1);
    assert_eq!(cli_ok(&["--rpcwallet", "b", "getbalance"]), "1.50000000");
    let a: f64 = cli_ok(&["--rpcwallet", "a", "getbalance"]).parse().unwrap();
    assert!(a > 98.49 && a < 98.5, "{a}");
    let info: Value =
        serde_json::from_str(&cli_ok(&["--rpcwallet", "b", "getwalletinfo"])).unwrap();
    assert_eq!(info["walletname"], json!("b"));

    // Once one is unloaded, the other is the default again.
    cli_ok(&["unloadwallet", "a"]);
    assert_eq!(cli_ok(&["getbalance"]), "1.50000000");
}

/// trusted + untrusted_pending + immature, in units.
fn total(node: &Node, wallet: &str) -> i64 {
    let b = w(node, wallet, "getbalances", json!([]));
    ["trusted", "untrusted_pending", "immature"]
        .iter()
        .map(|k| units(&b["mine"][*k]))
        .sum()
}

/// Kill -9 at random moments while a client sends payment after payment: after each restart
/// every acknowledged payment is still in the wallet, the coins listed are distinct and add up
/// to the balance, and once everything is mined the two wallets and the fees paid add up to
/// what alice had (no coin lost, none counted twice).
#[test]
fn kills_during_a_stream_of_sends_lose_and_double_nothing() {
    let mut node = Node::start("regtest", &[]).expect("start coinrsd");
    for name in ["alice", "bob", "miner"] {
        node.rpc("createwallet", json!([name]));
    }
    let a_addr = w(&node, "alice", "getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([110, a_addr]));
    let miner = w(&node, "miner", "getnewaddress", json!([]));
    let initial = total(&node, "alice");
    let mut acknowledged: Vec<String> = Vec::new();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    for round in 0..6 {
        let b_addr = w(&node, "bob", "getnewaddress", json!([]))
            .as_str()
            .unwrap()
            .to_string();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(30 + (seed >> 33) % 400);
        let sent = std::thread::scope(|s| {
            let sender = s.spawn(|| {
                let auth = node.auth_header().expect("auth");
                let mut sent = Vec::new();
                loop {
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "sendtoaddress",
                        "params": [b_addr, "0.5"]});
                    match node.post_raw("/wallet/alice", body.to_string(), Some(&auth)) {
                        Ok((200, text)) => {
                            let reply: Value = serde_json::from_str(&text).expect("json");
                            // A refusal (a chain of unconfirmed change too long for the
                            // mempool) is a normal answer: try again.
                            if let Some(txid) = reply["result"].as_str() {
                                sent.push(txid.to_string());
                            }
                        }
                        // The node is gone.
                        _ => return sent,
                    }
                }
            });
            std::thread::sleep(delay);
            node.signal("KILL").expect("kill -9");
            sender.join().expect("sender")
        });
        let _ = node.kill();
        node.restart(&[]).expect("restart after kill -9");
        for txid in &sent {
            let tx = w(&node, "alice", "gettransaction", json!([txid]));
            assert!(
                tx["confirmations"].as_i64().unwrap() >= 0,
                "round {round}: acknowledged payment {txid} is conflicted"
            );
        }
        acknowledged.extend(sent);
        // The listed coins are distinct and add up to the spendable balance.
        let coins = w(&node, "alice", "listunspent", json!([0]));
        let coins = coins.as_array().unwrap();
        let mut outpoints: Vec<_> = coins
            .iter()
            .map(|c| (c["txid"].to_string(), c["vout"].as_u64().unwrap()))
            .collect();
        outpoints.sort();
        outpoints.dedup();
        assert_eq!(
            outpoints.len(),
            coins.len(),
            "round {round}: a coin listed twice"
        );
        let b = w(&node, "alice", "getbalances", json!([]));
        let spendable = units(&b["mine"]["trusted"]) + units(&b["mine"]["untrusted_pending"]);
        let listed: i64 = coins.iter().map(|c| units(&c["amount"])).sum();
        assert_eq!(
            listed, spendable,
            "round {round}: listunspent vs getbalances"
        );
        // Every payment alice still holds unconfirmed is offered to the mempool again after
        // the restart, and mined.
        let unconfirmed = || -> Vec<String> {
            w(&node, "alice", "listtransactions", json!(["*", 100000]))
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["confirmations"] == 0)
                .map(|t| t["txid"].as_str().unwrap().to_string())
                .collect()
        };
        // (a payment the mempool refused for a too-long chain of unconfirmed change gets in
        // once its parents are mined: a few blocks at most).
        for _ in 0..10 {
            if unconfirmed().is_empty() {
                break;
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                let pool = node.rpc("getrawmempool", json!([]));
                let pool = pool.as_array().unwrap();
                if unconfirmed().iter().all(|t| pool.contains(&json!(t))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            node.rpc("generatetoaddress", json!([1, miner]));
        }
        assert_eq!(unconfirmed(), Vec::<String>::new(), "round {round}");
        assert_eq!(
            node.rpc("getrawmempool", json!([])),
            json!([]),
            "round {round}"
        );
    }
    assert!(
        !acknowledged.is_empty(),
        "no payment was acknowledged before a kill: the test proved nothing"
    );
    let fees: i64 = w(&node, "alice", "listtransactions", json!(["*", 100000]))
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["category"] == "send" && t["confirmations"].as_i64().unwrap_or(0) > 0)
        .map(|t| -units(&t["fee"]))
        .sum();
    assert_eq!(
        total(&node, "alice") + total(&node, "bob") + fees,
        initial,
        "alice + bob + fees against what alice had"
    );
}
