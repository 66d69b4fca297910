//! coinrs-cli against a real node: the cookie login, bare strings, pretty JSON, JSON arguments,
//! and its exit codes (1 for an RPC error or a refused login, 2 when the node is unreachable).

use std::process::{Command, Output};
use std::time::Duration;

use coinrs_testkit::{Node, bin, free_port};
use serde_json::{Value, json};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn ok(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout {}\nstderr {}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn cli_calls_with_the_cookie_and_prints_like_bitcoin_cli() {
    let node = Node::regtest();
    assert_eq!(ok(node.cli(&["getblockcount"])), "0\n");
    let genesis = node.rpc("getblockhash", json!([0]));
    // A plain string is printed bare.
    assert_eq!(
        ok(node.cli(&["getblockhash", "0"])),
        format!("{}\n", genesis.as_str().unwrap())
    );
    // Numbers given on the command line become JSON numbers for this method.
    let mined = ok(node.cli(&["generatetoaddress", "2", &Node::address(0)]));
    let mined: Value = serde_json::from_str(&mined).expect("JSON array");
    assert_eq!(mined.as_array().map(Vec::len), Some(2));
    assert_eq!(ok(node.cli(&["getblockcount"])), "2\n");

    // Objects as JSON indented by two spaces, keys in the node's order.
    let text = ok(node.cli(&["getblockchaininfo"]));
    assert!(
        text.starts_with("{\n  \"chain\": \"regtest\",\n  \"blocks\": 2,\n"),
        "{text}"
    );
    let parsed: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(parsed["bestblockhash"], mined[1]);

    let best = mined[1].as_str().unwrap();
    let text = ok(node.cli(&["getblock", best, "2"]));
    assert!(text.contains("\n      \"vout\": [\n"), "{text}");
    assert!(
        text.contains("\"value\": 50.00000000,"),
        "amounts keep 8 decimals: {text}"
    );
    let parsed: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(parsed, node.rpc("getblock", json!([best, 2])));
    let hex = ok(node.cli(&["getblock", best, "0"]));
    assert_eq!(
        hex.trim_end(),
        node.rpc("getblock", json!([best, 0])).as_str().unwrap()
    );
    // null prints nothing.
    assert_eq!(ok(node.cli(&["gettxout", &"ab".repeat(32), "0"])), "");
    // Arrays and objects as arguments.
    let raw = ok(node.cli(&[
        "createrawtransaction",
        &format!("[{{\"txid\":\"{}\",\"vout\":1}}]", "ab".repeat(32)),
        &format!("{{\"{}\":0.5}}", Node::address(1)),
    ]));
    let decoded = node.rpc("decoderawtransaction", json!([raw.trim_end()]));
    assert_eq!(decoded["vin"][0]["vout"], 1);
    assert_eq!(decoded["vout"][0]["value"].to_string(), "0.50000000");
    // help with a method
    assert!(ok(node.cli(&["help", "getblock"])).starts_with("getblock blockhash ( verbosity )"));
}

#[test]
fn cli_exit_code_1_for_an_rpc_error_with_bitcoin_clis_message() {
    let node = Node::regtest();
    let out = node.cli(&["getblockhash", "99"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.contains("error code: -8\nerror message:\nBlock height out of range"),
        "{err}"
    );
    let out = node.cli(&["nosuchmethod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error code: -32601"),
        "{}",
        stderr(&out)
    );
    let out = node.cli(&["getblockhash"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error code: -1"), "{}", stderr(&out));
    // A refused login is exit code 1 too.
    let out = node.cli(&[
        "--rpcuser",
        "__cookie__",
        "--rpcpassword",
        "wrong",
        "getblockcount",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn cli_exit_code_2_when_the_node_is_not_running() {
    let mut node = Node::regtest();
    let port = node.rpc_port.to_string();
    let datadir = node.datadir.clone();
    assert_eq!(ok(node.cli(&["stop"])), "coinrs stopping\n");
    let status = node.wait_exit(Duration::from_secs(60)).expect("exit");
    assert_eq!(status.code(), Some(0));
    // No cookie any more, and nothing listens.
    let out = node.cli(&["getblockcount"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(".cookie"), "{}", stderr(&out));
    let out = Command::new(bin("coinrs-cli"))
        .args([
            "--chain",
            "regtest",
            "--rpcport",
            &port,
            "--rpcuser",
            "u",
            "--rpcpassword",
            "p",
        ])
        .arg("--datadir")
        .arg(&datadir)
        .arg("getblockcount")
        .output()
        .expect("run coinrs-cli");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).is_empty());
    let out = Command::new(bin("coinrs-cli"))
        .args(["--chain", "regtest", "--rpcport", &free_port().to_string()])
        .args(["--rpcpassword", "p", "getblockcount"])
        .output()
        .expect("run coinrs-cli");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Bad usage is 2 as well.
    let out = Command::new(bin("coinrs-cli"))
        .output()
        .expect("run coinrs-cli");
    assert_eq!(out.status.code(), Some(2));
}
