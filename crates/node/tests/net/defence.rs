//! Hostile peers (on the same libp2p stack, from the test kit) are disconnected and their
//! IP addresses banned, while honest peers carry on.

use std::time::Duration;

use coinrs_core::block::BlockHeader;
use coinrs_core::build::{child_template, grind};
use coinrs_core::encode::decode;
use coinrs_core::params::ChainParams;
use coinrs_core::pow::{bits_to_target, hash_meets_target};
use coinrs_core::{BlockHash, Hash};
use coinrs_testkit::Node;
use coinrs_testkit::hostile::{HostilePeer, Misbehaviour, Seen};
use serde_json::json;

use crate::{address, connect, height, key, node, wait_same_tip};

fn tip_header(n: &Node) -> BlockHeader {
    let hash = n.rpc("getbestblockhash", json!([]));
    let hex_header = n.rpc("getblockheader", json!([hash, false]));
    decode(&hex::decode(hex_header.as_str().unwrap()).unwrap()).unwrap()
}

fn genesis(n: &Node) -> BlockHash {
    let h: Hash =
        coinrs_core::hash::hash_from_hex(n.rpc("getblockhash", json!([0])).as_str().unwrap())
            .unwrap();
    BlockHash(h)
}

/// A block on the tip with proof of work whose coinbase claims a coin too much.
fn invalid_block(n: &Node) -> Vec<u8> {
    let params = ChainParams::regtest();
    let parent = tip_header(n);
    let mut block = child_template(
        &params,
        &parent,
        0,
        vec![],
        100_000_000,
        key().public_key(),
        parent.time + 1,
    );
    grind(&mut block.header);
    block.encode()
}

/// Headers on genesis whose hashes miss the target (bogus proof of work).
fn bogus_headers(n: &Node) -> Vec<BlockHeader> {
    let params = ChainParams::regtest();
    let parent = tip_header(n);
    let mut header = child_template(
        &params,
        &parent,
        0,
        vec![],
        0,
        key().public_key(),
        parent.time + 1,
    )
    .header;
    let target = bits_to_target(header.bits).unwrap();
    while hash_meets_target(&header.hash().0, &target) {
        header.nonce += 1;
    }
    vec![header]
}

fn banned(n: &Node) -> Vec<(String, String)> {
    n.rpc("listbanned", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["address"].as_str().unwrap().to_string(),
                b["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn hostile_peers_are_banned_while_honest_nodes_carry_on() {
    let a = node(&[]);
    let b = node(&[]);
    connect(&b, &a);
    a.rpc("generatetoaddress", json!([3, address()]));
    wait_same_tip(&[&a, &b], 60);
    let digest = ChainParams::regtest().digest();
    let g = genesis(&a);
    let only = std::env::var("HOSTILE_ONLY").ok();
    let cases = [
        (
            "127.0.0.2",
            Misbehaviour::InvalidBlock(invalid_block(&a)),
            "invalid block",
        ),
        (
            "127.0.0.3",
            Misbehaviour::BogusHeaders(bogus_headers(&a)),
            "invalid header",
        ),
        ("127.0.0.4", Misbehaviour::OversizedRequest, "bad request"),
        (
            "127.0.0.5",
            Misbehaviour::RequestFlood(5000),
            "request flood",
        ),
    ];
    for (ip, script, reason) in cases {
        if only.as_deref().is_some_and(|o| o != ip) {
            continue;
        }
        let hostile = HostilePeer::start(ip, g, digest, script).unwrap();
        a.rpc("addnode", json!([hostile.addr, "onetry"]));
        hostile
            .wait(|e| matches!(e, Seen::Connected(_)), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{ip}: not connected: {e}"));
        hostile
            .wait(
                |e| matches!(e, Seen::Disconnected(_)),
                Duration::from_secs(30),
            )
            .unwrap_or_else(|e| {
                let log = std::fs::read_to_string(a.log_path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "{ip}: not disconnected ({reason}): {e}\n{}",
                    tail.join("\n")
                )
            });
        let bans = banned(&a);
        let ban = bans
            .iter()
            .find(|(addr, _)| addr == &format!("{ip}/32"))
            .unwrap_or_else(|| panic!("{ip} not banned: {bans:?}"));
        assert!(
            ban.1.contains(reason),
            "{ip}: reason {:?}, want {reason:?}",
            ban.1
        );
        // A banned address cannot come back.
        a.rpc("addnode", json!([hostile.addr, "onetry"]));
        assert!(
            hostile
                .wait(|e| matches!(e, Seen::Connected(_)), Duration::from_secs(3))
                .is_err(),
            "{ip} reconnected while banned"
        );
    }
    // The honest peers were never banned and still relay.
    assert!(banned(&b).is_empty());
    assert!(
        !banned(&a)
            .iter()
            .any(|(addr, _)| addr.starts_with("127.0.0.1"))
    );
    b.rpc("generatetoaddress", json!([2, address()]));
    wait_same_tip(&[&a, &b], 60);
    assert_eq!(height(&a), 5);
    // Bans can be listed, removed and cleared by hand.
    a.rpc("setban", json!(["127.0.0.2", "remove"]));
    assert!(!banned(&a).iter().any(|(addr, _)| addr == "127.0.0.2/32"));
    a.rpc("setban", json!(["10.9.0.0/16", "add", 60]));
    assert!(
        banned(&a)
            .iter()
            .any(|(addr, r)| addr == "10.9.0.0/16" && r == "manually added")
    );
    assert_eq!(a.rpc_err("setban", json!(["10.9.0.0/16", "add"])).code, -30);
    assert_eq!(a.rpc_err("setban", json!(["not-an-ip", "add"])).code, -30);
    a.rpc("clearbanned", json!([]));
    assert!(banned(&a).is_empty());
}
