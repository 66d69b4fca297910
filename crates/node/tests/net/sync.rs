//! Sync and relay between honest nodes.

use coinrs_core::sig::signed_spend;
use coinrs_core::{OutPoint, TxOut, Txid};
use serde_json::json;

use crate::{
    address, connect, height, key, node, own_id, peer_ids, tip, wait_same_tip, wait_until,
};

fn coinbase_outpoint(n: &coinrs_testkit::Node, h: u64) -> OutPoint {
    let hash = n.rpc("getblockhash", json!([h]));
    let block = n.rpc("getblock", json!([hash, 1]));
    let txid: Txid = block["tx"][0].as_str().unwrap().parse().unwrap();
    OutPoint { txid, vout: 0 }
}

#[test]
fn a_line_of_three_follows_the_miner_and_relays_a_transaction_back() {
    let a = node(&[]);
    let b = node(&[]);
    let c = node(&[]);
    connect(&b, &a);
    connect(&c, &b);
    a.rpc("generatetoaddress", json!([200, address()]));
    wait_same_tip(&[&a, &b, &c], 120);
    assert_eq!(height(&c), 200);
    // C never talked to A: everything came through B.
    assert!(!peer_ids(&c).contains(&own_id(&a)));

    // A transaction sent at C reaches A's mempool through B and A mines it.
    let tx = signed_spend(
        &key(),
        &[coinbase_outpoint(&c, 1)],
        vec![TxOut {
            value: 50 * 100_000_000 - 10_000,
            pubkey: key().public_key(),
        }],
        0,
    );
    let txid = tx.txid().to_string();
    c.rpc("sendrawtransaction", json!([hex::encode(tx.encode())]));
    wait_until(60, "the transaction reaches A", || {
        a.rpc("getrawmempool", json!([]))
            .as_array()
            .unwrap()
            .contains(&json!(txid))
    });
    let mined = a.rpc("generatetoaddress", json!([1, address()]));
    let block = a.rpc("getblock", json!([mined[0], 1]));
    assert!(block["tx"].as_array().unwrap().contains(&json!(txid)));
    wait_same_tip(&[&a, &b, &c], 60);
    assert!(
        c.rpc("getrawmempool", json!([]))
            .as_array()
            .unwrap()
            .is_empty()
    );
    let info = c.rpc("getblockchaininfo", json!([]));
    assert_eq!(info["initialblockdownload"], json!(false));
    assert_eq!(info["verificationprogress"], json!(1.0));
}

#[test]
fn a_syncing_node_downloads_blocks_from_two_peers() {
    let a = node(&[]);
    let b = node(&[]);
    connect(&b, &a);
    a.rpc("generatetoaddress", json!([1200, address()]));
    wait_same_tip(&[&a, &b], 120);
    let c = node(&["--addnode", &a.p2p_addr(), "--addnode", &b.p2p_addr()]);
    wait_same_tip(&[&a, &c], 120);
    // The syncing node said how far it was.
    let log = std::fs::read_to_string(c.log_path()).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("sync progress") && l.contains("percent") && l.contains("eta")),
        "no progress line in {}",
        c.log_path().display()
    );
    let peers = c.rpc("getpeerinfo", json!([]));
    let sources = peers
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["blocks_downloaded"].as_u64().unwrap() > 0)
        .count();
    assert!(
        sources >= 2,
        "blocks came from {sources} peer(s): {peers:#}"
    );
    let total: u64 = peers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["blocks_downloaded"].as_u64().unwrap())
        .sum();
    // Blocks are not fetched over and over (a few may come twice, after a request that
    // timed out).
    assert!(total <= 1200 + 32, "downloaded {total} blocks for 1200");
    eprintln!("downloaded {total} blocks for 1200");
}

#[test]
fn kademlia_finds_a_peer_nobody_named() {
    let a = node(&["--dht"]);
    let b = node(&["--dht"]);
    let c = node(&["--dht"]);
    connect(&a, &b);
    connect(&c, &b);
    let c_id = own_id(&c);
    let a_id = own_id(&a);
    wait_until(90, "A and C find each other through B", || {
        peer_ids(&a).contains(&c_id) || peer_ids(&c).contains(&a_id)
    });
}

#[test]
fn a_block_close_to_the_maximum_size_crosses_the_line() {
    let a = node(&[]);
    let b = node(&[]);
    let c = node(&[]);
    connect(&b, &a);
    connect(&c, &b);
    a.rpc("generatetoaddress", json!([101, address()]));
    wait_same_tip(&[&a, &b, &c], 120);
    // One transaction with 24 900 outputs: 20 + 100 + 24 900 × 40 = 996 120 bytes.
    let outputs: Vec<TxOut> = (0..24_900)
        .map(|_| TxOut {
            value: 200_000,
            pubkey: key().public_key(),
        })
        .collect();
    let tx = signed_spend(&key(), &[coinbase_outpoint(&a, 1)], outputs, 0);
    let hash = a.rpc(
        "generateblock",
        json!([address(), [hex::encode(tx.encode())]]),
    )["hash"]
        .clone();
    let size = a.rpc("getblock", json!([hash, 1]))["size"]
        .as_u64()
        .unwrap();
    assert!(size > 990_000 && size <= 1_000_000, "block of {size} bytes");
    wait_same_tip(&[&a, &b, &c], 120);
    assert_eq!(tip(&c), hash);
}

#[test]
fn partitioned_groups_converge_on_the_most_work_chain() {
    let a = node(&[]);
    let b = node(&[]);
    let c = node(&[]);
    let d = node(&[]);
    connect(&b, &a);
    connect(&d, &c);
    a.rpc("generatetoaddress", json!([5, address()]));
    // Another payee, or both groups would mine the very same blocks in the same second.
    c.rpc(
        "generatetoaddress",
        json!([8, coinrs_testkit::Node::address(7)]),
    );
    wait_same_tip(&[&a, &b], 60);
    wait_same_tip(&[&c, &d], 60);
    assert_ne!(tip(&a), tip(&c));
    let winner = tip(&c);
    // The partition heals: B meets D.
    connect(&b, &d);
    wait_same_tip(&[&a, &b, &c, &d], 120);
    assert_eq!(tip(&a), winner);
    assert_eq!(height(&a), 8);
    // A fork is not a fault: nobody was banned.
    for n in [&a, &b, &c, &d] {
        assert_eq!(n.rpc("listbanned", json!([])), json!([]));
    }
    // A's stale branch is still known as a fork.
    let tips = a.rpc("getchaintips", json!([]));
    assert!(
        tips.as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == "valid-fork" && t["height"] == 5),
        "{tips:#}"
    );
}

#[test]
fn a_restarted_node_rejoins_its_saved_peers() {
    let a = node(&[]);
    let mut b = node(&[]);
    b.rpc("addnode", json!([a.p2p_addr(), "onetry"]));
    let a_id = own_id(&a);
    wait_until(30, "B connects to A", || peer_ids(&b).contains(&a_id));
    b.stop().unwrap();
    a.rpc("generatetoaddress", json!([10, address()]));
    // No --addnode: B finds A in its saved peers.
    b.restart(&[]).unwrap();
    wait_until(60, "B redials A", || peer_ids(&b).contains(&a_id));
    wait_same_tip(&[&a, &b], 60);
    assert_eq!(height(&b), 10);
}

#[test]
fn nodes_of_two_chains_do_not_connect() {
    let r = node(&[]);
    let d = coinrs_testkit::Node::start("devnet", &[]).expect("start devnet node");
    r.rpc("addnode", json!([d.p2p_addr(), "add"]));
    d.rpc("addnode", json!([r.p2p_addr(), "onetry"]));
    let log = r.log_path();
    wait_until(30, "the regtest node notices the other chain", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("another chain"))
    });
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(r.rpc("getconnectioncount", json!([])), json!(0));
        assert_eq!(d.rpc("getconnectioncount", json!([])), json!(0));
    }
    assert_eq!(height(&r), 0);
}

#[test]
fn nodes_sync_over_quic_and_fetch_a_new_peers_mempool() {
    let a = node(&[]);
    a.rpc("generatetoaddress", json!([101, address()]));
    let tx = signed_spend(
        &key(),
        &[coinbase_outpoint(&a, 1)],
        vec![TxOut {
            value: 50 * 100_000_000 - 10_000,
            pubkey: key().public_key(),
        }],
        0,
    );
    let txid = tx.txid().to_string();
    a.rpc("sendrawtransaction", json!([hex::encode(tx.encode())]));
    // B knows A only by its QUIC address.
    let quic = format!("/ip4/127.0.0.1/udp/{}/quic-v1", a.p2p_port);
    let b = node(&["--connect", &quic]);
    wait_same_tip(&[&a, &b], 60);
    let peers = b.rpc("getpeerinfo", json!([]));
    assert!(
        peers[0]["addr"].as_str().unwrap().contains("quic-v1"),
        "{peers:#}"
    );
    // The waiting transaction came with the status exchange, not with a block.
    wait_until(30, "B fetches A's mempool", || {
        b.rpc("getrawmempool", json!([]))
            .as_array()
            .unwrap()
            .contains(&json!(txid))
    });
}

#[test]
fn a_node_that_does_not_listen_still_dials_out() {
    let a = node(&[]);
    let b = node(&["--listen=false", "--addnode", &a.p2p_addr()]);
    a.rpc("generatetoaddress", json!([3, address()]));
    wait_same_tip(&[&a, &b], 60);
    let info = b.rpc("getnetworkinfo", json!([]));
    assert_eq!(info["localaddresses"], json!([]));
    assert_eq!(info["connections_out"], json!(1));
    // Nobody can dial it: its port is closed.
    assert!(std::net::TcpStream::connect(b.p2p_addr()).is_err());
    let c = node(&[]);
    c.rpc("addnode", json!([b.p2p_addr(), "onetry"]));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(c.rpc("getconnectioncount", json!([])), json!(0));
}

#[test]
fn peers_are_added_listed_and_disconnected_by_rpc() {
    let a = node(&[]);
    let b = node(&[]);
    connect(&b, &a);
    // Added twice: Core's -23; removing what was never added: -24.
    assert_eq!(b.rpc_err("addnode", json!([a.p2p_addr(), "add"])).code, -23);
    assert_eq!(
        b.rpc_err("addnode", json!(["127.0.0.1:1", "remove"])).code,
        -24
    );
    assert_eq!(b.rpc_err("addnode", json!(["nonsense", "add"])).code, -8);
    let info = b.rpc("getnetworkinfo", json!([]));
    assert_eq!(info["connections"], json!(1));
    assert_eq!(info["connections_out"], json!(1));
    let local = info["localaddresses"].as_array().unwrap();
    assert!(
        local.iter().any(|a| a
            .as_str()
            .unwrap()
            .ends_with(&format!("/p2p/{}", own_id(&b)))),
        "{info:#}"
    );
    let peer = &b.rpc("getpeerinfo", json!([]))[0];
    assert_eq!(peer["inbound"], json!(false));
    assert_eq!(peer["connection"], json!("direct"));
    assert_eq!(peer["peerid"], json!(own_id(&a)));
    // Disconnected by its number; kept peers come back, so remove it first.
    b.rpc("addnode", json!([a.p2p_addr(), "remove"]));
    b.rpc("disconnectnode", json!(["", peer["id"]]));
    wait_until(10, "B drops A", || peer_ids(&b).is_empty());
    assert_eq!(b.rpc_err("disconnectnode", json!([own_id(&a)])).code, -29);
    // By peer id, from A's side.
    b.rpc("addnode", json!([a.p2p_addr(), "onetry"]));
    wait_until(10, "B reconnects", || peer_ids(&b).contains(&own_id(&a)));
    a.rpc("disconnectnode", json!([own_id(&b)]));
    wait_until(10, "A drops B", || peer_ids(&a).is_empty());
}
