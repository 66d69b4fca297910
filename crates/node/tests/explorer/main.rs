//! The web explorer of a real coinrsd: a chain with a fork (a stale valid branch) and an
//! invalid block, every page, the search box, hostile input, limits, the live event stream,
//! `--addressindex=false`; and (ignored by default, run by scripts/test.sh once Chromium
//! and the npm packages are installed) the browser tests in crates/explorer/tests/browser.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use coinrs_testkit::Node;
use serde_json::{Value, json};

/// A chain worth looking at:
///
/// ```text
/// 1 … 101 ─ x1 (stale: valid, less work)              x1 held the payment first
///        └─ y1 ─ y2 (active tip) ─ y3 (invalidateblock)
/// ```
/// with a wallet payment of 1.5 to `payee` confirmed in y1 and one waiting in the mempool.
struct Fixture {
    node: Node,
    miner: String,
    payee: String,
    paid: String,
    waiting: String,
    x1: String,
    y: Vec<String>,
}

fn fixture() -> Fixture {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("createwallet", json!(["w"]));
    let miner = node
        .rpc("getnewaddress", json!([]))
        .as_str()
        .unwrap()
        .to_string();
    let payee = Node::address(1);
    node.rpc("generatetoaddress", json!([101, miner]));
    let paid = node
        .rpc("sendtoaddress", json!([payee, 1.5]))
        .as_str()
        .unwrap()
        .to_string();
    let x1 = hashes(&node.rpc("generatetoaddress", json!([1, miner])))[0].clone();
    node.rpc("invalidateblock", json!([x1]));
    let y = hashes(&node.rpc("generatetoaddress", json!([3, miner])));
    node.rpc("reconsiderblock", json!([x1]));
    node.rpc("invalidateblock", json!([y[2]]));
    let waiting = node
        .rpc("sendtoaddress", json!([payee, 0.25]))
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(node.rpc("getbestblockhash", json!([])), json!(y[1]));
    Fixture {
        node,
        miner,
        payee,
        paid,
        waiting,
        x1,
        y,
    }
}

fn hashes(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect()
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// GET `path` without credentials: (status, Location header, body).
fn get(node: &Node, path: &str) -> (u16, String, String) {
    let url = format!("http://127.0.0.1:{}{path}", node.rpc_port);
    let mut resp = agent().get(&url).call().expect("GET");
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    (status, location, body)
}

fn page(node: &Node, path: &str) -> String {
    let (status, _, body) = get(node, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    assert!(body.starts_with("<!DOCTYPE html>"), "{path}");
    body
}

fn redirect(node: &Node, path: &str) -> String {
    let (status, location, body) = get(node, path);
    assert_eq!(status, 303, "GET {path}: {body}");
    location
}

#[test]
fn every_page_shows_the_chain_its_fork_and_its_invalid_block() {
    let f = fixture();
    let n = &f.node;
    let tip = &f.y[1];

    let home = page(n, "/");
    assert!(
        home.contains("<strong id=\"home-height\">103</strong>"),
        "{home}"
    );
    assert!(home.contains(&format!("/block/{tip}")));
    assert!(home.contains("This node does not mine."));
    assert!(
        home.contains("1 transactions"),
        "the waiting payment is counted"
    );
    assert!(home.contains("<svg"));

    // The active tip, the stale block and the invalid one, each with its status.
    let b = page(n, &format!("/block/{tip}"));
    assert!(b.contains("Block 103") && b.contains("active chain"));
    assert!(
        b.contains(&format!("/block/{}", f.y[0])),
        "link to the parent"
    );
    let stale = page(n, &format!("/block/{}", f.x1));
    assert!(stale.contains("valid, stale branch"), "{stale}");
    assert!(
        stale.contains(&format!("?block={}", f.x1)),
        "its txs link through the block"
    );
    let bad = page(n, &format!("/block/{}", f.y[2]));
    assert!(
        bad.contains("invalid") && bad.contains("invalidateblock"),
        "{bad}"
    );
    assert_eq!(redirect(n, "/height/102"), format!("/block/{}", f.y[0]));
    assert_eq!(
        get(n, "/height/104").0,
        404,
        "the invalid block is not active"
    );

    // The payment: its input links to the output it spends, its outputs to addresses.
    let tx = page(n, &format!("/tx/{}", f.paid));
    assert!(
        tx.contains(&format!("/block/{}", f.y[0])),
        "confirmed in y1"
    );
    assert!(tx.contains("1 confirmation(s)") || tx.contains("2 confirmation(s)"));
    let payment: Value = n.rpc("getrawtransaction", json!([f.paid, true]));
    let spent = &payment["vin"][0];
    let link = format!(
        "/tx/{}#out-{}",
        spent["txid"].as_str().unwrap(),
        spent["vout"]
    );
    assert!(tx.contains(&link), "input links to {link}");
    assert!(tx.contains(&format!("/address/{}", f.payee)));
    assert!(tx.contains("1.50000000"));
    // The spent output shows as spent there.
    let source = page(n, link.split('#').next().unwrap());
    assert!(source.contains("spent"));
    // The same transaction inside the stale block.
    let in_stale = page(n, &format!("/tx/{}?block={}", f.paid, f.x1));
    assert!(in_stale.contains("in a block off the active chain"));
    // The waiting one, from the mempool.
    let w = page(n, &format!("/tx/{}", f.waiting));
    assert!(w.contains("in the mempool"));

    // The payee: balance of the confirmed payment, its unspent output and history.
    let a = page(n, &format!("/address/{}", f.payee));
    assert!(a.contains("<td id=\"balance\">1.50000000</td>"), "{a}");
    assert!(a.contains(&format!("/tx/{}#out-", f.paid)));
    let m = page(n, &format!("/address/{}", f.miner));
    assert!(
        m.contains("spent by input"),
        "the miner's history shows its spends"
    );

    let pool = page(n, "/mempool");
    assert!(pool.contains(&f.waiting) && pool.contains("1 transaction(s)"));
    let peers = page(n, "/peers");
    assert!(peers.contains("No peers connected."));

    // The tree: the active chain, the stale block and the invalid one, marked apart.
    let tree = page(n, "/tree?n=10");
    for (hash, class) in [(tip, "active"), (&f.x1, "stale"), (&f.y[2], "invalid")] {
        let at = tree.find(&format!("/block/{hash}")).expect("block drawn");
        let rect = &tree[at..at + 200];
        assert!(
            rect.contains(&format!("class=\"blk {class}\"")),
            "{class}: {rect}"
        );
    }
    assert!(tree.contains("2 fork(s), 1 invalid"), "{tree}");
    assert!(tree.contains("Heights 95 to 104"));

    // The search box: height, hash, txid, address, CIDs.
    assert_eq!(redirect(n, "/search?q=102"), format!("/block/{}", f.y[0]));
    assert_eq!(
        redirect(n, &format!("/search?q={}", f.x1)),
        format!("/block/{}", f.x1)
    );
    assert_eq!(
        redirect(n, &format!("/search?q=%20{}%20", f.paid.to_uppercase())),
        format!("/tx/{}", f.paid)
    );
    assert_eq!(
        redirect(n, &format!("/search?q={}", f.waiting)),
        format!("/tx/{}", f.waiting)
    );
    assert_eq!(
        redirect(n, &format!("/search?q={}", f.payee)),
        format!("/address/{}", f.payee)
    );
    let block_cid = n.rpc("getblock", json!([tip]))["cid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        redirect(n, &format!("/search?q={block_cid}")),
        format!("/block/{tip}")
    );
    let tx_cid = payment["cid"].as_str().unwrap().to_string();
    assert_eq!(
        redirect(n, &format!("/search?q={tx_cid}")),
        format!("/tx/{}", f.paid)
    );
}

#[test]
fn bad_input_is_refused_or_escaped_and_nothing_needs_credentials() {
    let f = fixture();
    let n = &f.node;
    let (status, _, body) = get(n, "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(status, 404);
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
    assert!(!body.contains("<script>alert"));
    let (status, _, body) = get(n, "/block/%3Cimg%20src=x%3E");
    assert_eq!(status, 400);
    assert!(body.contains("&lt;img src=x&gt;") && !body.contains("<img"));
    assert_eq!(get(n, &format!("/block/{}", "0".repeat(64))).0, 404);
    assert_eq!(get(n, &format!("/tx/{}", "0".repeat(64))).0, 404);
    assert_eq!(get(n, "/tx/xyz").0, 400);
    assert_eq!(get(n, &format!("/tx/{}?block=nope", f.paid)).0, 400);
    assert_eq!(get(n, "/address/crt1qqqq").0, 400);
    assert_eq!(get(n, "/height/-1").0, 400);
    assert_eq!(get(n, "/height/99999999").0, 404);
    assert_eq!(get(n, "/search?q=").0, 400);
    assert_eq!(get(n, &format!("/search?q={}", "9".repeat(300))).0, 400);
    assert_eq!(get(n, "/search?q=bafynotacid").0, 400);
    assert_eq!(get(n, "/search?q=hello").0, 404);
    assert_eq!(get(n, "/nothing/here").0, 404);
    // Limits: the tree draws at most 500 heights; a page number past the end is 404.
    assert_eq!(get(n, "/tree?n=0").0, 400);
    assert_eq!(get(n, "/tree?n=501").0, 400);
    assert_eq!(get(n, "/tree?n=abc").0, 400);
    page(n, "/tree?n=500");
    assert_eq!(get(n, &format!("/block/{}?page=1", f.y[1])).0, 404);
    // Assets are embedded, and pages are not cached.
    let (status, _, css) = get(n, "/static/style.css");
    assert!(status == 200 && css.contains("svg.tree"));
    let (status, _, js) = get(n, "/static/explorer.js");
    assert!(status == 200 && js.contains("EventSource"));
    // JSON-RPC still wants credentials; the explorer's pages need none and change nothing.
    let (status, _) = n
        .post_raw("/", json!({"method": "getblockcount"}).to_string(), None)
        .unwrap();
    assert_eq!(status, 401);
    let (status, _) = n
        .post_raw("/", json!({"method": "stop"}).to_string(), None)
        .unwrap();
    assert_eq!(status, 401);
    assert_eq!(n.rpc("getblockcount", json!([])), json!(103));
}

#[test]
fn the_event_stream_announces_each_new_block() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.generate(2);
    let url = format!("http://127.0.0.1:{}/events", node.rpc_port);
    let resp = agent().get(&url).call().expect("GET /events");
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        let reader = BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data: ")
                && let Ok(v) = serde_json::from_str::<Value>(data)
                && tx.send(v).is_err()
            {
                return;
            }
        }
    });
    let wait_for = |height: u64| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = rx.recv_timeout(left).expect("an event in time");
            if v["height"] == json!(height) {
                return v;
            }
        }
    };
    let first = wait_for(2);
    let mined = node.generate(1);
    let news = wait_for(3);
    assert_eq!(news["hash"], json!(mined[0]));
    assert!(news["changes"].as_u64() > first["changes"].as_u64());
}

#[test]
fn without_the_address_index_the_page_says_so_and_turning_it_on_needs_a_reindex() {
    let mut node = Node::start("regtest", &["--addressindex=false"]).expect("start coinrsd");
    node.generate(3);
    let (status, _, body) = get(&node, &format!("/address/{}", Node::address(0)));
    assert_eq!(status, 404);
    assert!(body.contains("--addressindex=false"), "{body}");
    node.stop().unwrap();
    // Asked for the index without --reindex: refused, saying how to build it.
    let out = Command::new(coinrs_testkit::bin("coinrsd"))
        .args(["--chain", "regtest", "--datadir"])
        .arg(&node.datadir)
        .arg(format!(
            "--rpcbind=127.0.0.1:{}",
            coinrs_testkit::free_port()
        ))
        .arg(format!("--bind=127.0.0.1:{}", coinrs_testkit::free_port()))
        .args(["--mdns=false", "--dht=false"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no address index") && stderr.contains("--reindex"),
        "{stderr}"
    );
    // (The stopped node keeps the temporary folder alive.)
    let again = Node::start_in(&node.datadir, "regtest", &["--reindex"]).unwrap();
    let a = page(&again, &format!("/address/{}", Node::address(0)));
    assert!(a.contains("<td id=\"balance\">150.00000000</td>"), "{a}");
}

/// The browser tests: headless Chromium (Debian's) driven by playwright-core through the
/// node script crates/explorer/tests/browser/explore.mjs, against this fixture. Run by
/// scripts/test.sh after it installed both; screenshots go to target/explorer-screenshots/.
#[test]
#[ignore = "needs Chromium and the npm packages: scripts/test.sh installs them and runs it"]
fn browser_navigates_searches_and_sees_live_updates() {
    let f = fixture();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script_dir = root.join("crates/explorer/tests/browser");
    let shots = std::env::var("EXPLORER_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target/explorer-screenshots"));
    let fixture = json!({
        "url": format!("http://127.0.0.1:{}", f.node.rpc_port),
        "auth": f.node.auth_header().unwrap(),
        "miner": f.miner,
        "payee": f.payee,
        "paid": f.paid,
        "waiting": f.waiting,
        "stale": f.x1,
        "invalid": f.y[2],
        "tip": f.y[1],
        "screenshots": shots,
    });
    let node_bin = std::env::var("EXPLORER_NODE").unwrap_or_else(|_| "node".into());
    let status = Command::new(node_bin)
        .arg(script_dir.join("explore.mjs"))
        .env("EXPLORER_FIXTURE", fixture.to_string())
        .current_dir(&script_dir)
        .status()
        .expect("run node (Node.js) on explore.mjs");
    assert!(status.success(), "browser tests failed: {status}");
}
