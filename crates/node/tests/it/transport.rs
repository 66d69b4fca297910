//! The JSON-RPC transport as clients see it on the wire: 1.0 and 2.0 answer shapes and HTTP
//! statuses, batches, notifications, basic auth, named parameters, keep-alive, wallet paths.

use coinrs_testkit::Node;
use serde_json::{Value, json};

use crate::support::{basic_auth, connect, post, post_json, read_reply, write_post};

#[test]
fn json_rpc_2_answers_with_200_and_the_jsonrpc_field() {
    let node = Node::regtest();
    let ok = post_json(
        &node,
        &json!({"jsonrpc": "2.0", "id": 7, "method": "getblockcount"}),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-type"), Some("application/json"));
    assert_eq!(ok.json(), json!({"jsonrpc": "2.0", "result": 0, "id": 7}));

    let err = post_json(
        &node,
        &json!({"jsonrpc": "2.0", "id": "x", "method": "nosuchmethod"}),
    );
    assert_eq!(err.status, 200, "2.0 errors are HTTP 200");
    assert_eq!(
        err.json(),
        json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "x"})
    );
    let err = post_json(
        &node,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "getblockhash", "params": [9]}),
    );
    assert_eq!(err.status, 200);
    let v = err.json();
    assert_eq!(v["error"]["code"], -8);
    assert!(v.get("result").is_none(), "{v}");
}

#[test]
fn json_rpc_1_answers_with_result_and_error_and_cores_statuses() {
    let node = Node::regtest();
    // No version field, "1.0" and python-bitcoinrpc's "1.1" are all 1.0 requests.
    for version in [None, Some(json!("1.0")), Some(json!("1.1"))] {
        let mut req = json!({"id": 1, "method": "getblockcount", "params": []});
        if let Some(v) = &version {
            req["version"] = v.clone();
        }
        let ok = post_json(&node, &req);
        assert_eq!(ok.status, 200);
        assert_eq!(
            ok.json(),
            json!({"result": 0, "error": null, "id": 1}),
            "{version:?}"
        );
    }
    let not_found = post_json(
        &node,
        &json!({"id": 2, "method": "nosuchmethod", "params": []}),
    );
    assert_eq!(not_found.status, 404);
    assert_eq!(
        not_found.json(),
        json!({"result": null, "error": {"code": -32601, "message": "Method not found"}, "id": 2})
    );
    let other = post_json(
        &node,
        &json!({"id": 3, "method": "getblockhash", "params": [1]}),
    );
    assert_eq!(other.status, 500);
    assert_eq!(
        other.json(),
        json!({"result": null, "error": {"code": -8, "message": "Block height out of range"}, "id": 3})
    );
    // "2.0" is the only value that asks for a 2.0 answer.
    let odd = post_json(
        &node,
        &json!({"jsonrpc": "3.0", "id": 4, "method": "getblockcount"}),
    );
    assert_eq!(odd.json(), json!({"result": 0, "error": null, "id": 4}));
}

#[test]
fn batches_are_answered_in_order_and_one_error_spoils_nothing() {
    let node = Node::regtest();
    let hashes = node.generate(2);
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "getblockcount"},
        {"jsonrpc": "2.0", "id": 2, "method": "getblockhash", "params": [99]},
        {"id": 3, "method": "getbestblockhash"},
        {"jsonrpc": "2.0", "id": 4, "method": "nosuchmethod"},
        {"jsonrpc": "2.0", "method": "getblockcount"},
        5,
        {"jsonrpc": "2.0", "id": 6, "method": "getblockhash", "params": {"height": 1}},
    ]);
    let reply = post_json(&node, &batch);
    assert_eq!(reply.status, 200, "a batch is HTTP 200 whatever its items");
    let items = reply.json();
    let items = items.as_array().expect("an array");
    assert_eq!(items.len(), 6, "the notification gets no answer: {items:?}");
    assert_eq!(items[0], json!({"jsonrpc": "2.0", "result": 2, "id": 1}));
    assert_eq!(items[1]["error"]["code"], -8);
    assert_eq!(items[1]["id"], 2);
    assert_eq!(
        items[2],
        json!({"result": hashes[1], "error": null, "id": 3})
    );
    assert_eq!(items[3]["error"]["code"], -32601);
    assert_eq!(items[4]["error"]["code"], -32600);
    assert_eq!(items[4]["id"], Value::Null);
    assert_eq!(
        items[5],
        json!({"jsonrpc": "2.0", "result": hashes[0], "id": 6})
    );
}

#[test]
fn a_json_rpc_2_notification_gets_no_answer() {
    let node = Node::regtest();
    let reply = post_json(&node, &json!({"jsonrpc": "2.0", "method": "getblockcount"}));
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty(), "{}", reply.body);
    // Yet it runs: a notification that mines a block.
    let reply = post_json(
        &node,
        &json!({"jsonrpc": "2.0", "method": "generatetoaddress", "params": [1, Node::address(0)]}),
    );
    assert_eq!(reply.status, 204);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(1));
}

#[test]
fn requests_without_valid_credentials_get_401_and_no_data() {
    let node = Node::regtest();
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#;
    let cookie = node.cookie().unwrap();
    let (user, password) = cookie.split_once(':').unwrap();
    assert_eq!(user, "__cookie__");
    assert_eq!(password.len(), 64);
    let wrong_password = basic_auth(&format!("__cookie__:{}", "0".repeat(64)));
    let wrong_user = basic_auth(&format!("someone:{password}"));
    let bearer = format!("Bearer {password}");
    let cases: [Option<&str>; 5] = [
        None,
        Some(&wrong_password),
        Some(&wrong_user),
        Some("Basic !!!notbase64"),
        Some(&bearer),
    ];
    for auth in cases {
        let reply = post(node.rpc_port, "/", body, auth);
        assert_eq!(reply.status, 401, "{auth:?}");
        assert!(reply.body.is_empty(), "{auth:?}: {}", reply.body);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"jsonrpc\"")
        );
    }
    // Also before the body is looked at: garbage without credentials is still just 401.
    assert_eq!(post(node.rpc_port, "/", b"{garbage", None).status, 401);
    let ok = post(node.rpc_port, "/", body, Some(&basic_auth(&cookie)));
    assert_eq!(ok.status, 200);
    // The cookie is private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(node.chain_dir().join(".cookie"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn named_parameters_are_accepted() {
    let node = Node::regtest();
    let hashes = node.generate(1);
    assert_eq!(
        node.rpc("getblockhash", json!({"height": 0})),
        node.rpc("getblockhash", json!([0]))
    );
    assert_eq!(
        node.rpc("getblock", json!({"blockhash": hashes[0], "verbosity": 0})),
        node.rpc("getblock", json!([hashes[0], 0]))
    );
    // A later parameter alone; the earlier optional ones keep their defaults.
    assert_eq!(
        node.rpc(
            "getblockheader",
            json!({"verbose": false, "blockhash": hashes[0]})
        ),
        node.rpc("getblockheader", json!([hashes[0], false]))
    );
    let e = node.rpc_err("getblockhash", json!({"height": 0, "bogus": 1}));
    assert_eq!(e.code, -8, "{e}");
    assert!(e.message.contains("bogus"), "{e}");
    let e = node.rpc_err("getblockhash", json!({}));
    assert_eq!(e.code, -1, "{e}");
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let node = Node::regtest();
    let auth = node.auth_header().unwrap();
    let mut conn = connect(node.rpc_port);
    for i in 0..5 {
        let body = json!({"jsonrpc": "2.0", "id": i, "method": "getblockcount"}).to_string();
        write_post(conn.get_mut(), "/", body.as_bytes(), Some(&auth));
        let reply = read_reply(&mut conn);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["id"], i);
    }
    // Even an error answer keeps the connection.
    write_post(conn.get_mut(), "/", b"{oops", Some(&auth));
    assert_eq!(read_reply(&mut conn).json()["error"]["code"], -32700);
    write_post(
        conn.get_mut(),
        "/",
        br#"{"id":9,"method":"uptime"}"#,
        Some(&auth),
    );
    assert_eq!(read_reply(&mut conn).json()["id"], 9);
}

#[test]
fn wallet_paths_accept_chain_methods() {
    let node = Node::regtest();
    let auth = node.auth_header().unwrap();
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#;
    for path in ["/wallet/default", "/wallet/some%20name"] {
        let reply = post(node.rpc_port, path, body, Some(&auth));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.json()["result"], 0, "{path}");
    }
    assert_eq!(
        post(node.rpc_port, "/wallet/default", body, None).status,
        401
    );
    let unknown = post(node.rpc_port, "/nosuchpath", body, Some(&auth));
    assert_eq!(unknown.status, 404);
}
