//! NAT traversal on loopback (the namespace lab, scripts/netlab.py, covers routers): AutoNAT
//! with `--private-network` finds a node that its peer can dial back public, and the relay
//! service switches on; without the setting a loopback node is never probed.

use serde_json::json;

use crate::{node, wait_until};

#[test]
fn a_node_its_peers_can_dial_back_is_found_public_and_serves_as_relay() {
    let a = node(&["--private-network"]);
    let b = node(&["--private-network", "--addnode", &a.p2p_addr()]);
    wait_until(
        60,
        "AutoNAT finds A public and its relay service starts",
        || {
            let info = a.rpc("getnetworkinfo", json!([]));
            info["reachability"] == "public" && info["relayservice"] == true
        },
    );
    let info = a.rpc("getnetworkinfo", json!([]));
    let external = info["externaladdresses"]
        .as_array()
        .expect("externaladdresses");
    assert!(
        external.iter().any(|e| e
            .as_str()
            .is_some_and(|s| s.contains(&format!("/tcp/{}", a.p2p_port)))),
        "A's listening address is confirmed external: {info}"
    );
    // Regtest maps no ports by default and a public node holds no reservations.
    assert_eq!(info["portmapping"], json!([]), "{info}");
    assert_eq!(info["relays"], json!([]), "{info}");
    assert_eq!(info["holepunching"]["direct_upgrades"], 0, "{info}");
    let peers = b.rpc("getpeerinfo", json!([]));
    assert!(
        peers
            .as_array()
            .expect("peers")
            .iter()
            .all(|p| p["connection"] == "direct"),
        "{peers}"
    );
}

#[test]
fn without_private_network_a_loopback_node_stays_unknown_and_does_not_relay() {
    let a = node(&[]);
    let b = node(&["--addnode", &a.p2p_addr()]);
    wait_until(30, "B connects to A", || {
        b.rpc("getconnectioncount", json!([])).as_u64() == Some(1)
    });
    // AutoNAT's first probe comes 5 s after start; give it three times that.
    std::thread::sleep(std::time::Duration::from_secs(15));
    let info = a.rpc("getnetworkinfo", json!([]));
    assert_eq!(info["reachability"], "unknown", "{info}");
    assert_eq!(info["relayservice"], false, "{info}");
    assert_eq!(info["externaladdresses"], json!([]), "{info}");
}
