//! Hostile and mistaken requests: each gets a clear JSON-RPC error with Bitcoin Core's code,
//! never a panic or a hang; and the limits (body size, requests in progress) hold.

use std::time::{Duration, Instant};

use coinrs_testkit::Node;
use serde_json::{Value, json};

use crate::support::{HttpReply, post, post_json};

fn raw(node: &Node, body: &[u8]) -> HttpReply {
    post(node.rpc_port, "/", body, Some(&node.auth_header().unwrap()))
}

fn error_code(reply: &HttpReply) -> i64 {
    reply.json()["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error code in HTTP {}: {}", reply.status, reply.body))
}

#[test]
fn malformed_requests_get_protocol_errors() {
    let node = Node::regtest();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let parse_errors: [&[u8]; 7] = [
        b"{not json",
        b"",
        b"{\"method\": \"getblockcount\"",
        b"{\"method\": \"getblockcount\"} trailing",
        b"\xff\xfe{}",
        b"nul",
        deep.as_bytes(),
    ];
    for body in parse_errors {
        let reply = raw(&node, body);
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).to_string();
        assert_eq!(reply.status, 500, "{shown}: {}", reply.body);
        assert_eq!(error_code(&reply), -32700, "{shown}");
        assert_eq!(reply.json()["result"], Value::Null);
    }
    // Valid JSON that is not a request object.
    for body in [
        "5",
        "\"getblockcount\"",
        "null",
        "true",
        "[]",
        "{}",
        "{\"method\": 5}",
        "{\"method\": null}",
    ] {
        let reply = raw(&node, body.as_bytes());
        assert_eq!(error_code(&reply), -32600, "{body}: {}", reply.body);
    }
    let reply = raw(&node, br#"{"id":1,"method":"getblockcount","params":"x"}"#);
    assert_eq!(error_code(&reply), -32600);
    let reply = raw(&node, br#"{"id":1,"method":"getblockcount","params":7}"#);
    assert_eq!(error_code(&reply), -32600);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(0));
}

#[test]
fn unknown_methods_are_32601() {
    let node = Node::regtest();
    for m in [
        "nosuchmethod",
        "",
        "GETBLOCKCOUNT",
        "getblockcount ",
        "help\0",
    ] {
        let e = node.rpc_err(m, json!([]));
        assert_eq!(e.code, -32601, "{m:?}");
        assert_eq!(e.message, "Method not found");
    }
}

#[test]
fn wrong_argument_types_are_3() {
    let node = Node::regtest();
    let hash = node.generate(1).remove(0);
    let txid = "ab".repeat(32);
    let cases = [
        ("getblockhash", json!(["0"])),
        ("getblockhash", json!([true])),
        ("getblockhash", json!([[0]])),
        ("getblock", json!([5])),
        ("getblock", json!([hash, "2"])),
        ("getblockheader", json!([hash, "yes"])),
        ("getblockheader", json!([{"hash": hash}])),
        ("gettxout", json!([txid, "0"])),
        ("gettxout", json!([txid, 0, "true"])),
        ("getrawtransaction", json!([txid, "yes"])),
        ("decoderawtransaction", json!([1234])),
        ("createrawtransaction", json!(["[]", {}])),
        ("createrawtransaction", json!([[], "{}"])),
        (
            "createrawtransaction",
            json!([[], {Node::address(0): true}]),
        ),
        ("submitblock", json!([{}])),
        ("generatetoaddress", json!(["1", Node::address(0)])),
        ("generatetoaddress", json!([1, 7])),
        ("generateblock", json!([Node::address(0), "not-an-array"])),
        ("generateblock", json!([Node::address(0), [1]])),
        ("verifychain", json!(["4"])),
        ("help", json!([5])),
        ("invalidateblock", json!([null, 1])),
    ];
    for (method, params) in cases {
        let e = node.rpc_err(method, params.clone());
        if method == "invalidateblock" {
            // null for a required argument counts as missing, and the count is wrong.
            assert_eq!(e.code, -1, "{method} {params}: {e}");
            continue;
        }
        assert_eq!(e.code, -3, "{method} {params}: {e}");
    }
    assert_eq!(node.rpc("getblockcount", json!([])), json!(1));
}

#[test]
fn wrong_argument_counts_are_1_with_the_usage() {
    let node = Node::regtest();
    let cases = [
        ("getblockhash", json!([]), "getblockhash height"),
        ("getblockhash", json!([0, 1]), "getblockhash height"),
        ("getblockcount", json!([1]), "getblockcount"),
        ("getblock", json!([]), "getblock blockhash ( verbosity )"),
        (
            "getblock",
            json!(["00", 1, 2]),
            "getblock blockhash ( verbosity )",
        ),
        (
            "gettxout",
            json!(["00"]),
            "gettxout txid n ( include_mempool )",
        ),
        (
            "createrawtransaction",
            json!([[]]),
            "createrawtransaction inputs outputs ( locktime )",
        ),
        ("stop", json!(["now"]), "stop"),
        (
            "generatetoaddress",
            json!([1]),
            "generatetoaddress nblocks address ( maxtries )",
        ),
    ];
    for (method, params, usage) in cases {
        let e = node.rpc_err(method, params.clone());
        assert_eq!(e.code, -1, "{method} {params}: {e}");
        assert!(
            e.message.starts_with(usage),
            "{method} {params}: {}",
            e.message
        );
    }
    // The node did not stop.
    assert_eq!(node.rpc("getblockcount", json!([])), json!(0));
}

#[test]
fn non_hex_strings_and_unknown_hashes() {
    let node = Node::regtest();
    node.generate(1);
    let not_hex = "zz".repeat(32);
    for (method, params) in [
        ("getblock", json!([not_hex])),
        ("getblock", json!(["abc"])),
        ("getblock", json!(["ab".repeat(33)])),
        ("getblockheader", json!([not_hex])),
        ("getblockheader", json!([""])),
        ("gettxout", json!([not_hex, 0])),
        ("getrawtransaction", json!([not_hex])),
        ("getrawtransaction", json!(["ab".repeat(32), true, "xyz"])),
        ("invalidateblock", json!([not_hex])),
        ("reconsiderblock", json!(["0x".repeat(32)])),
        ("getblockhash", json!([-1])),
        ("getblockhash", json!([1.5])),
        ("getblockhash", json!([1e30])),
        ("gettxout", json!(["ab".repeat(32), -1])),
        ("gettxout", json!(["ab".repeat(32), 4_294_967_296u64])),
        ("generatetoaddress", json!([-1, Node::address(0)])),
    ] {
        let e = node.rpc_err(method, params.clone());
        assert_eq!(e.code, -8, "{method} {params}: {e}");
    }
    for (method, params) in [
        ("decoderawtransaction", json!(["xyz"])),
        ("decoderawtransaction", json!(["0"])),
        ("decoderawtransaction", json!(["ff".repeat(1000)])),
        ("submitblock", json!(["not hex"])),
        ("submitblock", json!(["ab".repeat(96)])),
        ("generateblock", json!([Node::address(0), ["0g"]])),
    ] {
        let e = node.rpc_err(method, params.clone());
        assert_eq!(e.code, -22, "{method} {params}: {e}");
    }
    let unknown = "00".repeat(32);
    for (method, params) in [
        ("getblock", json!([unknown])),
        ("getblock", json!([unknown, 0])),
        ("getblockheader", json!([unknown, false])),
        ("getrawtransaction", json!([unknown])),
        ("getrawtransaction", json!([unknown, true, unknown])),
        ("invalidateblock", json!([unknown])),
        ("reconsiderblock", json!([unknown])),
    ] {
        let e = node.rpc_err(method, params.clone());
        assert_eq!(e.code, -5, "{method} {params}: {e}");
    }
    assert_eq!(node.rpc("gettxout", json!([unknown, 0])), Value::Null);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(1));
    assert_eq!(node.rpc("verifychain", json!([])), json!(true));
}

#[test]
fn a_body_past_rpcmaxbody_is_413() {
    let node = Node::start("regtest", &["--rpcmaxbody", "4096"]).expect("start");
    let padding = "x".repeat(10 * 1024);
    let big = json!({"id": 1, "method": "help", "params": [padding]}).to_string();
    let reply = raw(&node, big.as_bytes());
    assert_eq!(reply.status, 413, "{}", reply.body);
    // A batch past the limit too.
    let batch: Vec<Value> = (0..200)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "getblockcount"}))
        .collect();
    let reply = post_json(&node, &Value::Array(batch));
    assert_eq!(reply.status, 413);
    // Just under the limit is fine.
    let small = json!({"id": 1, "method": "getblockcount", "params": [], "pad": "y".repeat(3900)});
    let reply = post_json(&node, &small);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(0));
}

#[test]
fn requests_beyond_the_work_queue_get_503_and_the_rest_succeed() {
    let node =
        Node::start("regtest", &["--rpcthreads", "1", "--rpcworkqueue", "1"]).expect("start");
    let auth = node.auth_header().unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "generatetoaddress", "params": [100, Node::address(0)]})
        .to_string();
    let started = Instant::now();
    let replies: Vec<HttpReply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| post(node.rpc_port, "/", body.as_bytes(), Some(&auth))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let busy = replies.iter().filter(|r| r.status == 503).count();
    let ok: Vec<&HttpReply> = replies.iter().filter(|r| r.status == 200).collect();
    assert!(
        busy >= 1,
        "no request was refused: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(busy + ok.len(), 20, "every answer is 200 or 503");
    for r in &ok {
        assert_eq!(
            r.json()["result"].as_array().map(Vec::len),
            Some(100),
            "{}",
            r.body
        );
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    // Afterwards the node answers, and exactly the accepted requests mined.
    assert_eq!(node.rpc("getblockcount", json!([])), json!(100 * ok.len()));
    assert_eq!(node.rpc("verifychain", json!([4, 0])), json!(true));
}

#[test]
fn after_all_the_bad_input_the_node_still_answers() {
    let node = Node::regtest();
    let auth = node.auth_header().unwrap();
    let junk: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        vec![0u8; 5000],
        b"[[[[[[[[[[".to_vec(),
        br#"{"method":"getblock","params":["00"],"id":{"nested":[1,2,3]}}"#.to_vec(),
        br#"{"method":"getblockhash","params":[18446744073709551616]}"#.to_vec(),
        br#"{"method":"createrawtransaction","params":[[{"txid":"ab","vout":-1}],{}]}"#.to_vec(),
        br#"{"method":"createrawtransaction","params":[[{}],{}]}"#.to_vec(),
        br#"[{"method":"getblockcount"},[],{}]"#.to_vec(),
    ];
    for body in &junk {
        let reply = post(node.rpc_port, "/", body, Some(&auth));
        assert!(
            reply.status != 200 || reply.body.contains("error"),
            "{}",
            reply.body
        );
    }
    // Headers that are not what a client sends.
    for path in ["/", "/wallet/x"] {
        assert!(post(node.rpc_port, path, b"{}", Some("Basic")).status == 401);
    }
    assert_eq!(node.rpc("getblockcount", json!([])), json!(0));
    assert!(node.rpc("uptime", json!([])).is_u64());
}
