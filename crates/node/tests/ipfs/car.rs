//! CAR files: `exportcar` on one node, `importcar` on a fresh one, and hostile files.

use coinrs_core::cid::to_cid_string;
use coinrs_core::merkle::inner_nodes;
use coinrs_testkit::Node;
use serde_json::json;

use crate::{address, block_with_spends, txids_of};

/// A node with 112 blocks, the last one holding several transactions; its tip hash.
fn source() -> (Node, String) {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    node.rpc("generatetoaddress", json!([110, address()]));
    block_with_spends(&node, 1, 4);
    let tip = block_with_spends(&node, 5, 2);
    (node, tip)
}

#[test]
fn an_exported_range_imports_on_a_fresh_node_to_the_same_tip() {
    let (a, tip) = source();
    let out = a.rpc("exportcar", json!([1, 112, "chain.car"]));
    let path = a.chain_dir().join("chain.car");
    let tip_digest: [u8; 32] = hex::decode(&tip).unwrap().try_into().unwrap();
    assert_eq!(out["root"], json!(to_cid_string(&tip_digest)));
    assert_eq!(out["blocks"], json!(112));
    assert_eq!(
        out["bytes"].as_u64().unwrap(),
        std::fs::metadata(&path).unwrap().len()
    );
    // Sections: per block its header, its transactions and its inner merkle nodes.
    let mut sections = 0;
    for h in 1..=112u64 {
        let hash = a.rpc("getblockhash", json!([h]));
        let txids = txids_of(&a, hash.as_str().unwrap());
        sections += 1 + txids.len() + inner_nodes(&txids).len();
    }
    assert_eq!(sections, 112 + 112 + 4 + 2 + 4 + 2);

    let b = Node::start("regtest", &[]).expect("start coinrsd");
    let out = b.rpc("importcar", json!([path.to_str().unwrap()]));
    assert_eq!(out, json!({"imported": 112, "height": 112}));
    assert_eq!(b.rpc("getbestblockhash", json!([])), json!(tip));
    // Loaded again: nothing new.
    let out = b.rpc("importcar", json!([path.to_str().unwrap()]));
    assert_eq!(out, json!({"imported": 0, "height": 112}));
    let log = std::fs::read_to_string(b.log_path()).unwrap();
    assert!(log.contains("importcar: done, 112 blocks read, 112 imported, height 112"));

    // A range not starting at genesis's child does not connect on a fresh node.
    a.rpc("exportcar", json!([50, 60, "part.car"]));
    let c = Node::start("regtest", &[]).expect("start coinrsd");
    let e = c.rpc_err(
        "importcar",
        json!([a.chain_dir().join("part.car").to_str().unwrap()]),
    );
    assert_eq!(e.code, -25, "{e}");
    assert!(e.message.contains("parent"), "{e}");

    let e = a.rpc_err("exportcar", json!([5, 113, "x.car"]));
    assert_eq!(e.code, -8, "{e}");
    let e = a.rpc_err("exportcar", json!([9, 5, "x.car"]));
    assert_eq!(e.code, -8, "{e}");
    assert!(!a.chain_dir().join("x.car").exists());
}

#[test]
fn corrupt_truncated_and_foreign_files_are_refused() {
    let (a, _) = source();
    a.rpc("exportcar", json!([1, 112, "good.car"]));
    let good = std::fs::read(a.chain_dir().join("good.car")).unwrap();
    let b = Node::start("regtest", &[]).expect("start coinrsd");
    let dir = b.chain_dir();
    let try_file = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        b.rpc_err("importcar", json!([name]))
    };

    let e = try_file("truncated.car", &good[..good.len() - 10]);
    assert_eq!(e.code, -22, "{e}");
    assert!(e.message.contains("truncated"), "{e}");

    let mut flipped = good.clone();
    let at = good.len() / 2;
    flipped[at] ^= 0x01;
    let e = try_file("flipped.car", &flipped);
    assert_eq!(e.code, -22, "{e}");

    let mut foreign = good.clone();
    // The root CID's codec byte: raw (0x55) → dag-pb (0x70).
    foreign[1 + 13 + 1] = 0x70;
    let e = try_file("foreign.car", &foreign);
    assert_eq!(e.code, -22, "{e}");
    assert!(e.message.contains("not a coinrs CARv1 file"), "{e}");

    let e = try_file("junk.car", &[0xff; 64]);
    assert_eq!(e.code, -22, "{e}");
    let e = try_file("empty.car", &[]);
    assert_eq!(e.code, -22, "{e}");
    // A section claiming 4 GiB: refused before anything is allocated.
    let mut huge = good[..59].to_vec();
    huge.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x10]);
    let e = try_file("huge.car", &huge);
    assert_eq!(e.code, -22, "{e}");
    assert!(e.message.contains("out of range"), "{e}");

    let e = b.rpc_err("importcar", json!(["missing.car"]));
    assert_eq!(e.code, -1, "{e}");
    // Whatever was refused, the node is unharmed (and took the blocks before the damage).
    assert!(b.rpc("getblockcount", json!([])).as_u64().unwrap() <= 112);
}

/// The independent reader: `@ipld/car` (npm, installed by scripts/test.sh with `npm ci` in
/// crates/node/tests/ipfs/js) lists the CIDs of an exported file; they are the chain's, in
/// exportcar's order, with the root of block TO.
#[test]
fn an_independent_car_reader_lists_the_chain_s_cids() {
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipfs/js");
    assert!(
        js.join("node_modules/@ipld/car").exists(),
        "@ipld/car is not installed: run scripts/test.sh, or `npm ci` in {}",
        js.display()
    );
    let (a, tip) = source();
    a.rpc("exportcar", json!([100, 112, "range.car"]));
    let out = std::process::Command::new("node")
        .arg(js.join("list.mjs"))
        .arg(a.chain_dir().join("range.car"))
        .current_dir(&js)
        .output()
        .expect("run node (Node.js 20)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let digest = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
    let mut expected = Vec::new();
    let mut sizes = Vec::new();
    for h in 100..=112u64 {
        let hash = a.rpc("getblockhash", json!([h]));
        let hash = hash.as_str().unwrap();
        expected.push(to_cid_string(&digest(hash)));
        sizes.push(96);
        let txids = txids_of(&a, hash);
        for t in &txids {
            expected.push(to_cid_string(t));
            let raw = a.rpc("getrawtransaction", json!([hex::encode(t)]));
            sizes.push(raw.as_str().unwrap().len() / 2);
        }
        for n in inner_nodes(&txids) {
            expected.push(to_cid_string(&n.hash));
            sizes.push(64);
        }
    }
    assert_eq!(listed["roots"], json!([to_cid_string(&digest(&tip))]));
    assert_eq!(listed["cids"], json!(expected));
    assert_eq!(listed["sizes"], json!(sizes));
}
