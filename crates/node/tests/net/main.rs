//! The peer-to-peer network with real coinrsd processes on loopback: sync along a line,
//! downloads from several peers, Kademlia discovery, a near-maximum block, transaction relay,
//! partitions that heal, restarts, chains that must not mix, and hostile peers.

mod defence;
mod nat;
mod sync;

use coinrs_core::address::encode_address;
use coinrs_core::sig::SigningKey;
use coinrs_testkit::Node;
use serde_json::{Value, json};

/// The key the tests' coinbases pay.
pub fn key() -> SigningKey {
    SigningKey::from_secret_bytes([0x44; 32]).unwrap()
}

/// Its regtest address.
pub fn address() -> String {
    encode_address("crt", &key().public_key()).unwrap()
}

/// A regtest node on loopback with extra options.
pub fn node(args: &[&str]) -> Node {
    Node::start("regtest", args).expect("start coinrsd")
}

pub use coinrs_testkit::wait_until;

/// The node's tip hash.
pub fn tip(n: &Node) -> Value {
    n.rpc("getbestblockhash", json!([]))
}

/// The node's height.
pub fn height(n: &Node) -> u64 {
    n.rpc("getblockcount", json!([])).as_u64().unwrap()
}

/// The libp2p peer ids of the node's peers.
pub fn peer_ids(n: &Node) -> Vec<String> {
    n.rpc("getpeerinfo", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["peerid"].as_str().unwrap().to_string())
        .collect()
}

/// The node's own peer id.
pub fn own_id(n: &Node) -> String {
    n.rpc("getnetworkinfo", json!([]))["peerid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asks `from` to keep a connection to `to` and waits until they are connected.
pub fn connect(from: &Node, to: &Node) {
    from.rpc("addnode", json!([to.p2p_addr(), "add"]));
    let id = own_id(to);
    wait_until(30, "peers connect", || peer_ids(from).contains(&id));
}

/// Waits until all nodes have the same tip as the first.
pub fn wait_same_tip(nodes: &[&Node], secs: u64) {
    wait_until(secs, "nodes agree on the tip", || {
        let t = tip(nodes[0]);
        nodes.iter().all(|n| tip(n) == t)
    });
}
