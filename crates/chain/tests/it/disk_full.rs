//! A full disk, for real: the chain folder on a small tmpfs. The node gets a clear
//! `DiskFull` error, the store is not damaged, and once there is space again it opens at a
//! consistent tip and goes on. Needs root (mount); CI runs as root.

use std::path::Path;
use std::process::Command;

use coinrs_chain::{Chain, ChainError};
use coinrs_core::build::build_child;
use coinrs_core::params::ChainParams;

use super::fixture::{NOW, options};

struct Mount<'a>(&'a Path);

impl Drop for Mount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

fn mount_tmpfs(dir: &Path, size: &str, remount: bool) {
    let opts = if remount {
        format!("remount,size={size}")
    } else {
        format!("size={size}")
    };
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
        .arg(dir)
        .status()
        .expect("run mount");
    assert!(
        status.success(),
        "mounting a tmpfs needs root (CI runs as root)"
    );
}

/// Extends the tip until the disk is full; returns how many blocks went in.
fn fill(chain: &mut Chain, limit: usize) -> (usize, Option<ChainError>) {
    for i in 0..limit {
        let tip = chain.entry(&chain.tip()).unwrap().clone();
        let b = build_child(
            chain.params(),
            &tip.header,
            tip.block1_time,
            vec![],
            0,
            [i as u8; 32],
            tip.header.time + 600,
        );
        let result = chain.accept_block(&b.encode(), NOW).and_then(|_| {
            // Durable every block, as the node does at the tip.
            chain.flush()
        });
        if let Err(e) = result {
            return (i, Some(e));
        }
    }
    (limit, None)
}

#[test]
fn a_full_disk_stops_cleanly_and_the_store_recovers_when_space_is_free() {
    let base = tempfile::tempdir().unwrap();
    let mnt = base.path().join("disk");
    std::fs::create_dir(&mnt).unwrap();
    mount_tmpfs(&mnt, "2m", false);
    let _guard = Mount(&mnt);
    let dir = mnt.join("regtest");

    let mut chain = Chain::open(&dir, ChainParams::regtest(), &options(), NOW).unwrap();
    let (added, err) = fill(&mut chain, 100_000);
    let err = err.expect("a 2 MiB disk fills up");
    assert!(matches!(err, ChainError::DiskFull { .. }), "{err}");
    assert!(err.to_string().contains("full"), "{err}");
    assert!(added > 0);
    drop(chain);

    // Space again: the store opens, is consistent, and takes new blocks.
    mount_tmpfs(&mnt, "64m", true);
    let mut chain = Chain::open(&dir, ChainParams::regtest(), &options(), NOW).unwrap();
    let height = chain.height();
    assert!(
        height as usize + 1 >= added,
        "at most the block being written is lost: {height} vs {added}"
    );
    assert_eq!(
        chain.utxo_stats().unwrap(),
        chain.replay_utxo_stats().unwrap()
    );
    chain.verify_chain(0).unwrap();
    let (more, err) = fill(&mut chain, 20);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(more, 20);
    assert_eq!(chain.height(), height + 20);
}
