//! Damaged and foreign stores are refused at open with a clear error naming the file.

use std::io::{Seek, SeekFrom, Write};

use coinrs_chain::store::{BLOCKS_FILE, STATE_FILE};
use coinrs_chain::{Chain, ChainError};
use coinrs_core::params::ChainParams;

use super::fixture::{NOW, Node, options};

fn filled() -> tempfile::TempDir {
    let mut node = Node::new();
    let genesis = node.chain.tip();
    node.extend(genesis, 30, 0);
    let Node { dir, chain, .. } = node;
    drop(chain);
    dir
}

#[test]
fn another_chains_store_is_refused() {
    let dir = filled();
    let mut devnet = ChainParams::devnet();
    devnet.known_genesis_nonce = Some(coinrs_core::params::DEVNET_GENESIS_NONCE);
    let err = Chain::open(dir.path(), devnet, &options(), NOW).unwrap_err();
    assert!(matches!(err, ChainError::ForeignChain { .. }), "{err}");
    assert!(err.to_string().contains(BLOCKS_FILE), "{err}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = filled();
    let db = redb::Database::create(dir.path().join(STATE_FILE)).unwrap();
    let w = db.begin_write().unwrap();
    {
        let mut meta = w
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
            .unwrap();
        meta.insert("schema", 99u32.to_le_bytes().as_slice())
            .unwrap();
    }
    w.commit().unwrap();
    drop(db);
    let err = Chain::open(dir.path(), ChainParams::regtest(), &options(), NOW).unwrap_err();
    assert!(
        matches!(err, ChainError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(STATE_FILE));
}

#[test]
fn flipped_bytes_are_detected_and_reindex_recovers() {
    let dir = filled();
    let path = dir.path().join(STATE_FILE);
    let len = std::fs::metadata(&path).unwrap().len();
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // Flip bytes across the whole file past the header, where the tables' pages are.
    for pos in (8192..len).step_by(4096) {
        f.seek(SeekFrom::Start(pos + 100)).unwrap();
        f.write_all(&[0x5a; 16]).unwrap();
    }
    drop(f);
    let err = Chain::open(dir.path(), ChainParams::regtest(), &options(), NOW).unwrap_err();
    assert!(matches!(err, ChainError::Corrupt { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(STATE_FILE) && msg.contains("--reindex"),
        "{msg}"
    );
    let reindex = coinrs_chain::ChainOptions {
        reindex: true,
        ..options()
    };
    let chain = Chain::open(dir.path(), ChainParams::regtest(), &reindex, NOW).unwrap();
    assert_eq!(chain.height(), 30);
}

#[test]
fn a_truncated_file_is_detected() {
    let dir = filled();
    let path = dir.path().join(BLOCKS_FILE);
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let err = Chain::open(dir.path(), ChainParams::regtest(), &options(), NOW).unwrap_err();
    assert!(matches!(err, ChainError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(BLOCKS_FILE), "{err}");
}

#[test]
fn a_file_that_is_not_a_store_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(STATE_FILE),
        b"this is not a database at all",
    )
    .unwrap();
    let err = Chain::open(dir.path(), ChainParams::regtest(), &options(), NOW).unwrap_err();
    assert!(matches!(err, ChainError::Corrupt { .. }), "{err}");
}
