//! An independent JSON-RPC client from PyPI, python-bitcoinrpc's `AuthServiceProxy` (made for
//! Bitcoin Core), logs in with the cookie and calls several methods; its answers must equal
//! the node's own. The test command installs it (`pip install python-bitcoinrpc`).

use std::path::Path;
use std::process::Command;

use coinrs_testkit::Node;
use serde_json::{Value, json};

#[test]
fn python_bitcoinrpc_authserviceproxy_talks_to_coinrsd() {
    let check = Command::new("python3")
        .args(["-c", "import bitcoinrpc.authproxy"])
        .output()
        .expect("python3 is needed for this test");
    assert!(
        check.status.success(),
        "python-bitcoinrpc is not installed: run the test command (bash scripts/test.sh), which \
         installs it, or `python3 -m pip install python-bitcoinrpc`: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    let node = Node::regtest();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/python/client.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(node.chain_dir().join(".cookie"))
        .arg(node.rpc_port.to_string())
        .arg(Node::address(1))
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "client.py failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");

    assert_eq!(s["count_before"], 0);
    let generated = s["generated"].as_array().expect("hashes");
    assert_eq!(generated.len(), 3);
    assert_eq!(s["count"], 3);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(3));
    assert_eq!(s["best"], node.rpc("getbestblockhash", json!([])));
    assert_eq!(s["best"], generated[2]);
    assert_eq!(s["genesis"], node.rpc("getblockhash", json!([0])));
    for (i, h) in generated.iter().enumerate() {
        assert_eq!(node.rpc("getblockhash", json!([i + 1])), *h);
    }

    // The whole block object equals the node's answer (difficulty compared as text, since
    // Python parsed it as a Decimal).
    let mut ours = node.rpc("getblock", json!([s["best"]]));
    ours["difficulty"] = json!(ours["difficulty"].to_string());
    assert_eq!(s["block"], ours);
    assert_eq!(s["coinbase_value_type"], "Decimal");
    assert_eq!(s["coinbase_value"], "50.00000000");
    assert_eq!(s["difficulty_type"], "Decimal");

    let info = &s["info"];
    assert_eq!(info["chain"], "regtest");
    assert_eq!(info["blocks"], 3);
    assert_eq!(info["bestblockhash"], s["best"]);

    assert_eq!(
        s["amounts"],
        json!({
            "0.00001": "0.00001000",
            "0.5": "0.50000000",
            "21": "21.00000000",
            "0.00000001": "0.00000001",
        })
    );
    assert_eq!(
        s["errors"]["height_out_of_range"],
        json!({"code": -8, "message": "Block height out of range"})
    );
    assert_eq!(
        s["errors"]["unknown_block"],
        json!({"code": -5, "message": "Block not found"})
    );
    assert_eq!(s["errors"]["unknown_method"]["code"], -32601);
    assert_eq!(s["count_after_errors"], 3);
}
