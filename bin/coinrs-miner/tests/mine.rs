//! coinrs-miner against a real regtest node: it mines blocks paying its address through
//! getblocktemplate/submitblock; bad usage is exit code 2; an unreachable node is waited for;
//! the benchmark prints its rate. Build the binaries first (`cargo build --bins`).

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coinrs_testkit::{Node, bin, free_port};
use serde_json::json;

/// Kills the miner when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn mines_blocks_that_pay_the_address() {
    let node = Node::start("regtest", &[]).expect("start coinrsd");
    let address = Node::address(1);
    let log_path = node.datadir.join("miner.log");
    let log = File::create(&log_path).expect("miner log");
    let miner = Command::new(bin("coinrs-miner"))
        .args(["--chain", "regtest", "--datadir"])
        .arg(&node.datadir)
        .args(["--rpcport", &node.rpc_port.to_string()])
        .args(["--address", &address, "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("run coinrs-miner");
    let mut miner = Running(miner);

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut count = 0;
    while count < 3 {
        if let Some(status) = miner.0.try_wait().expect("miner status") {
            panic!(
                "coinrs-miner exited with {status}:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "only {count} blocks after 60 s; miner log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
        count = node
            .rpc("getblockcount", json!([]))
            .as_u64()
            .expect("a count");
    }
    drop(miner);

    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(log.contains("submitblock: accepted"), "{log}");
    for height in 1..=3u64 {
        let hash = node.rpc("getblockhash", json!([height]));
        let block = node.rpc("getblock", json!([hash, 2]));
        let coinbase = &block["tx"][0];
        assert_eq!(coinbase["vout"][0]["address"], json!(address), "{block}");
        assert_eq!(coinbase["vin"], json!([]), "{block}");
        assert_eq!(coinbase["locktime"], json!(height), "{block}");
        assert_eq!(block["height"], json!(height));
    }
}

#[test]
fn bad_usage_is_exit_code_2() {
    let run = |args: &[&str]| {
        Command::new(bin("coinrs-miner"))
            .args(args)
            .output()
            .expect("run coinrs-miner")
    };
    // No --address.
    let out = run(&["--chain", "regtest"]);
    assert_eq!(out.status.code(), Some(2));
    // An address of another chain: a clear message.
    let out = run(&["--chain", "devnet", "--address", &Node::address(0)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--address") && stderr.contains("cdev"),
        "{stderr}"
    );
    // Not an address at all, an unreadable chain file, a bad option.
    assert_eq!(
        run(&["--chain", "regtest", "--address", "xyz"])
            .status
            .code(),
        Some(2)
    );
    let out = run(&["--chain", "/nonexistent/chain.toml", "--address", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(run(&["--bogus"]).status.code(), Some(2));
}

#[test]
fn an_unreachable_node_is_retried() {
    let dir = std::env::temp_dir().join(format!("coinrs-miner-unreachable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("miner.log");
    let miner = Command::new(bin("coinrs-miner"))
        .args(["--chain", "regtest", "--rpcport", &free_port().to_string()])
        .args(["--rpcuser", "u", "--rpcpassword", "p"])
        .args(["--address", &Node::address(0), "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(File::create(&log_path).unwrap())
        .spawn()
        .expect("run coinrs-miner");
    let mut miner = Running(miner);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(miner.0.try_wait().unwrap().is_none(), "the miner gave up");
    drop(miner);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("cannot reach the node"), "{log}");
    assert!(log.contains("retrying every second"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn benchmark_prints_the_rate() {
    let out = Command::new(bin("coinrs-miner"))
        .args(["--benchmark", "0.5", "--threads", "1"])
        .output()
        .expect("run coinrs-miner");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rate = stdout.split(" MH/s").next().unwrap_or_default();
    assert!(rate.parse::<f64>().is_ok_and(|r| r > 0.0), "{stdout}");
    assert!(stdout.contains("MH/s per thread, 1 thread"), "{stdout}");
}
