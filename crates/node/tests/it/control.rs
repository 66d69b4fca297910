//! The node as a process: help and uptime, a clean stop by RPC and by signal, the datadir lock,
//! static credentials, and options from a config file and the environment.

use std::process::Command;
use std::time::Duration;

use coinrs_testkit::{Node, bin, free_port};
use serde_json::json;

use crate::support::{Daemon, basic_auth, result_of};

#[test]
fn help_lists_every_method_and_shows_one_methods_usage() {
    let node = Node::regtest();
    let list = node.rpc("help", json!([]));
    let list = list.as_str().expect("help is text");
    for method in [
        "getblockchaininfo",
        "getblockcount",
        "getblock blockhash ( verbosity )",
        "getblockhash height",
        "gettxout txid n ( include_mempool )",
        "submitblock hexdata",
        "generatetoaddress nblocks address ( maxtries )",
        "stop",
        "uptime",
    ] {
        assert!(
            list.lines().any(|l| l == method),
            "help lacks {method:?}:\n{list}"
        );
    }
    let usage = node.rpc("help", json!(["getblock"]));
    let usage = usage.as_str().expect("usage is text");
    assert!(
        usage.starts_with("getblock blockhash ( verbosity )\n"),
        "{usage}"
    );
    assert!(usage.contains("verbosity is 0"), "{usage}");
    let e = node.rpc_err("help", json!(["nosuchmethod"]));
    assert_eq!(e.code, -1);
    assert!(e.message.contains("nosuchmethod"), "{e}");
}

#[test]
fn uptime_counts_seconds_since_start() {
    let node = Node::regtest();
    let up = node.rpc("uptime", json!([])).as_u64().expect("a number");
    assert!(up < 60, "uptime {up}");
}

#[test]
fn stop_rpc_exits_zero_removes_the_cookie_and_logs_the_stop() {
    let mut node = Node::regtest();
    node.generate(3);
    let cookie = node.chain_dir().join(".cookie");
    assert!(cookie.exists());
    assert_eq!(node.rpc("stop", json!([])), json!("coinrs stopping"));
    let status = node.wait_exit(Duration::from_secs(60)).expect("exit");
    assert!(status.success(), "{status}");
    assert_eq!(status.code(), Some(0));
    assert!(!cookie.exists(), "the cookie is removed at a clean stop");
    let log = std::fs::read_to_string(node.log_path()).expect("debug.log");
    assert!(log.contains("stop requested"), "{log}");
    assert!(log.contains("coinrsd stopped"), "{log}");
    // Everything was flushed: the blocks are there after a restart.
    node.restart(&[]).expect("restart");
    assert_eq!(node.rpc("getblockcount", json!([])), json!(3));
}

fn stops_cleanly_on(signal: &str) {
    let mut node = Node::regtest();
    node.generate(2);
    let cookie = node.chain_dir().join(".cookie");
    assert!(cookie.exists());
    node.signal(signal).expect("kill");
    let status = node.wait_exit(Duration::from_secs(60)).expect("exit");
    assert_eq!(status.code(), Some(0), "SIG{signal}: {status}");
    assert!(!cookie.exists(), "SIG{signal} leaves the cookie behind");
    let log = std::fs::read_to_string(node.log_path()).expect("debug.log");
    assert!(log.contains(&format!("SIG{signal}: stopping")), "{log}");
    assert!(log.contains("coinrsd stopped"), "{log}");
    node.restart(&[]).expect("restart");
    assert_eq!(node.rpc("getblockcount", json!([])), json!(2));
}

#[test]
fn sigterm_stops_cleanly() {
    stops_cleanly_on("TERM");
}

#[test]
fn sigint_stops_cleanly() {
    stops_cleanly_on("INT");
}

#[test]
fn a_second_node_on_the_same_datadir_fails_with_a_clear_message() {
    let node = Node::regtest();
    let cookie_before = node.cookie().expect("cookie");
    let out = Command::new(bin("coinrsd"))
        .arg("--chain")
        .arg("regtest")
        .arg("--datadir")
        .arg(&node.datadir)
        .arg("--rpcbind")
        .arg(format!("127.0.0.1:{}", free_port()))
        .output()
        .expect("run coinrsd");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot obtain a lock on the data folder")
            && stderr.contains("another coinrsd"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&node.chain_dir().display().to_string()),
        "{stderr}"
    );
    // The first node is untouched: same cookie, still answering.
    assert_eq!(node.cookie().expect("cookie"), cookie_before);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(0));
}

#[test]
fn static_credentials_work_and_no_cookie_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut d = Daemon::spawn(
        &[
            "--chain".into(),
            "regtest".into(),
            "--datadir".into(),
            tmp.path().display().to_string(),
            "--rpcbind".into(),
            format!("127.0.0.1:{port}"),
            "--rpcuser".into(),
            "alice".into(),
            "--rpcpassword".into(),
            "s3cret pass".into(),
        ],
        &[],
        tmp.path(),
    );
    let auth = basic_auth("alice:s3cret pass");
    d.wait_ready(port, &auth);
    assert!(!tmp.path().join("regtest/.cookie").exists());
    let reply = Daemon::try_call(port, &auth, "getblockchaininfo", json!([])).expect("answer");
    assert_eq!(result_of(&reply)["chain"], "regtest");
    for wrong in ["alice:wrong", "bob:s3cret pass", "__cookie__:s3cret pass"] {
        let reply =
            Daemon::try_call(port, &basic_auth(wrong), "getblockcount", json!([])).expect("answer");
        assert_eq!(reply.status, 401, "{wrong}");
        assert!(reply.body.is_empty());
    }
    result_of(&Daemon::try_call(port, &auth, "stop", json!([])).expect("answer"));
    assert_eq!(d.wait_exit(Duration::from_secs(60)).code(), Some(0));
}

#[test]
fn rpcuser_without_rpcpassword_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(bin("coinrsd"))
        .args(["--chain", "regtest", "--rpcuser", "alice", "--datadir"])
        .arg(tmp.path())
        .arg("--rpcbind")
        .arg(format!("127.0.0.1:{}", free_port()))
        .output()
        .expect("run coinrsd");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--rpcpassword"), "{stderr}");
}

#[test]
fn a_config_file_sets_options() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let conf = tmp.path().join("node.toml");
    std::fs::write(
        &conf,
        format!(
            "chain = \"regtest\"\nrpcbind = \"127.0.0.1:{port}\"\nrpcuser = \"carol\"\nrpcpassword = \"from-file\"\nrpcthreads = 2\n"
        ),
    )
    .expect("write conf");
    let datadir = tmp.path().join("data");
    let mut d = Daemon::spawn(
        &[
            "--datadir".into(),
            datadir.display().to_string(),
            "--conf".into(),
            conf.display().to_string(),
        ],
        &[],
        tmp.path(),
    );
    let auth = basic_auth("carol:from-file");
    d.wait_ready(port, &auth);
    let info =
        result_of(&Daemon::try_call(port, &auth, "getblockchaininfo", json!([])).expect("answer"));
    assert_eq!(info["chain"], "regtest");
    assert!(datadir.join("regtest/debug.log").exists());
    assert!(!datadir.join("regtest/.cookie").exists());
}

#[test]
fn a_config_file_with_an_unknown_key_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = tmp.path().join("bad.toml");
    std::fs::write(&conf, "chain = \"regtest\"\nrpcbnid = \"x\"\n").expect("write conf");
    let out = Command::new(bin("coinrsd"))
        .arg("--datadir")
        .arg(tmp.path())
        .arg("--conf")
        .arg(&conf)
        .output()
        .expect("run coinrsd");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rpcbnid") && stderr.contains("bad.toml"),
        "{stderr}"
    );
}

/// The file in DATADIR/coinrs.toml is read without --conf; the environment wins over it and
/// the command line wins over the environment.
#[test]
fn environment_beats_the_file_and_the_command_line_beats_both() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let datadir = tmp.path().join("data");
    std::fs::create_dir_all(&datadir).expect("datadir");
    let (file_port, env_port, cli_port) = (free_port(), free_port(), free_port());
    std::fs::write(
        datadir.join("coinrs.toml"),
        format!(
            "chain = \"devnet\"\nrpcbind = \"127.0.0.1:{file_port}\"\nrpcuser = \"filer\"\nrpcpassword = \"file-pw\"\n"
        ),
    )
    .expect("write conf");
    let mut d = Daemon::spawn(
        &[
            "--datadir".into(),
            datadir.display().to_string(),
            "--rpcbind".into(),
            format!("127.0.0.1:{cli_port}"),
        ],
        &[
            ("COINRS_CHAIN", "regtest".into()),
            ("COINRS_RPCBIND", format!("127.0.0.1:{env_port}")),
            ("COINRS_RPCPASSWORD", "env-pw".into()),
        ],
        tmp.path(),
    );
    // user from the file, password from the environment, port from the command line.
    let auth = basic_auth("filer:env-pw");
    d.wait_ready(cli_port, &auth);
    let info = result_of(
        &Daemon::try_call(cli_port, &auth, "getblockchaininfo", json!([])).expect("answer"),
    );
    assert_eq!(
        info["chain"], "regtest",
        "the environment's chain wins over the file's"
    );
    assert!(datadir.join("regtest").is_dir());
    assert!(!datadir.join("devnet").exists());
    for port in [file_port, env_port] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "nothing listens on the overridden port {port}"
        );
    }
    let wrong = Daemon::try_call(
        cli_port,
        &basic_auth("filer:file-pw"),
        "getblockcount",
        json!([]),
    )
    .expect("answer");
    assert_eq!(wrong.status, 401);
    // A clean stop removes nothing it did not create and exits 0.
    result_of(&Daemon::try_call(cli_port, &auth, "stop", json!([])).expect("answer"));
    assert_eq!(d.wait_exit(Duration::from_secs(60)).code(), Some(0));
    let log = std::fs::read_to_string(datadir.join("regtest/debug.log")).expect("debug.log");
    assert!(log.contains("coinrsd stopped"), "{log}");
    assert!(
        d.stderr().contains("coinrsd stopped"),
        "log lines also go to stderr"
    );
}

#[test]
fn a_busy_rpc_port_is_a_clear_error_and_leaves_no_cookie() {
    let node = Node::regtest();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(bin("coinrsd"))
        .args(["--chain", "regtest", "--datadir"])
        .arg(tmp.path())
        .arg("--rpcbind")
        .arg(format!("127.0.0.1:{}", node.rpc_port))
        .output()
        .expect("run coinrsd");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen for JSON-RPC on 127.0.0.1:{}",
            node.rpc_port
        )),
        "{stderr}"
    );
    assert!(!tmp.path().join("regtest/.cookie").exists());
    // The lock was released: a node can start there now.
    let port = free_port();
    let mut d = Daemon::spawn(
        &[
            "--chain".into(),
            "regtest".into(),
            "--datadir".into(),
            tmp.path().display().to_string(),
            "--rpcbind".into(),
            format!("127.0.0.1:{port}"),
        ],
        &[],
        tmp.path(),
    );
    wait_for_cookie(&tmp.path().join("regtest/.cookie"));
    let cookie = std::fs::read_to_string(tmp.path().join("regtest/.cookie")).expect("cookie");
    d.wait_ready(port, &basic_auth(cookie.trim()));
}

fn wait_for_cookie(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no cookie at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn each_chain_has_its_own_folder_in_one_datadir() {
    let regtest = Node::regtest();
    regtest.generate(2);
    let port = free_port();
    let mut devnet = Daemon::spawn(
        &[
            "--chain".into(),
            "devnet".into(),
            "--datadir".into(),
            regtest.datadir.display().to_string(),
            "--rpcbind".into(),
            format!("127.0.0.1:{port}"),
        ],
        &[],
        &regtest.datadir,
    );
    let cookie_path = regtest.datadir.join("devnet/.cookie");
    wait_for_cookie(&cookie_path);
    let cookie = std::fs::read_to_string(&cookie_path).expect("cookie");
    let auth = basic_auth(cookie.trim());
    devnet.wait_ready(port, &auth);
    let info =
        result_of(&Daemon::try_call(port, &auth, "getblockchaininfo", json!([])).expect("answer"));
    assert_eq!(
        (&info["chain"], &info["blocks"]),
        (&json!("devnet"), &json!(0))
    );
    assert_ne!(cookie.trim(), regtest.cookie().expect("regtest cookie"));
    assert!(regtest.datadir.join("devnet/debug.log").exists());
    assert_eq!(regtest.rpc("getblockcount", json!([])), json!(2));
    result_of(&Daemon::try_call(port, &auth, "stop", json!([])).expect("answer"));
    assert_eq!(devnet.wait_exit(Duration::from_secs(60)).code(), Some(0));
    assert!(!cookie_path.exists());
    assert!(
        regtest.chain_dir().join(".cookie").exists(),
        "the other chain's cookie stays"
    );
}

/// The README's first command: `coinrsd` with no options at all is a devnet node with its data
/// in the platform's data folder (HOME points at a temporary folder here) and JSON-RPC on
/// devnet's port; `--mine` is the same plus mining (checked by the mempool tests on regtest).
#[test]
fn no_options_start_a_devnet_node_in_the_default_datadir() {
    let home = tempfile::tempdir().expect("tempdir");
    let port = 19332;
    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        panic!("something already listens on devnet's RPC port {port}: stop it to run this test");
    }
    let mut d = Daemon::spawn(
        &[],
        &[
            ("HOME", home.path().display().to_string()),
            ("XDG_DATA_HOME", String::new()),
        ],
        home.path(),
    );
    let folder = home.path().join(".local/share/coinrs/devnet");
    wait_for_cookie(&folder.join(".cookie"));
    let cookie = std::fs::read_to_string(folder.join(".cookie")).expect("cookie");
    let auth = basic_auth(cookie.trim());
    d.wait_ready(port, &auth);
    let info =
        result_of(&Daemon::try_call(port, &auth, "getblockchaininfo", json!([])).expect("answer"));
    assert_eq!(info["chain"], "devnet");
    assert!(folder.join("chainstate.redb").exists() && folder.join("debug.log").exists());
    result_of(&Daemon::try_call(port, &auth, "stop", json!([])).expect("answer"));
    assert_eq!(d.wait_exit(Duration::from_secs(60)).code(), Some(0));
}
