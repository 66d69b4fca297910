//! # coinrs-testkit
//!
//! Test-only helpers that run coinrs the way users do: real `coinrsd` processes on free
//! loopback ports with temporary datadirs, talked to over JSON-RPC (and through `coinrs-cli`).
//! Every integration test of the project starts its nodes here.
//!
//! The binaries are taken from the target folder of the running test (`target/debug/`): the
//! test command builds them first (`cargo build --bins`); a missing binary is a clear panic.

pub mod bitswap;
pub mod hostile;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use serde_json::{Value, json};

/// A JSON-RPC error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// Bitcoin Core's code.
    pub code: i64,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RPC error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// The path of one of the project's binaries next to the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target folder");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --bins)",
        path.display()
    );
    path
}

/// Waits until `cond` holds, polling every 50 ms; panics with `what` after `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running `coinrsd`.
#[derive(Debug)]
pub struct Node {
    child: Option<Child>,
    /// The root datadir (`--datadir`).
    pub datadir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    /// The chain name (folder under the datadir).
    pub chain: String,
    /// The JSON-RPC port.
    pub rpc_port: u16,
    /// The peer-to-peer port on 127.0.0.1 (TCP and QUIC), kept across restarts.
    pub p2p_port: u16,
    /// Extra options it was started with.
    pub args: Vec<String>,
    agent: ureq::Agent,
    /// The Authorization header, read from the cookie once it exists.
    auth: std::sync::Mutex<Option<String>>,
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build();
    ureq::Agent::new_with_config(config)
}

impl Node {
    /// Starts a regtest node in a fresh temporary datadir.
    pub fn regtest() -> Self {
        Self::start("regtest", &[]).expect("start coinrsd")
    }

    /// Starts a node on `chain` with extra options in a fresh temporary datadir, and waits
    /// until its JSON-RPC answers.
    ///
    /// The ports come from [`free_port`], which another process may take before coinrsd binds
    /// them: a node that exits because an address is in use is started again on new ports
    /// (up to three tries).
    pub fn start(chain: &str, args: &[&str]) -> Result<Self> {
        let mut tries = 0;
        loop {
            tries += 1;
            let tmp = tempfile::tempdir()?;
            let datadir = tmp.path().to_path_buf();
            let mut node = Self::spawn(
                datadir,
                Some(tmp),
                chain,
                args.iter().map(|s| s.to_string()).collect(),
                None,
            )?;
            match node.wait_ready() {
                Ok(()) => return Ok(node),
                Err(e) if tries < 3 && node.lost_a_port_race() => {
                    eprintln!("coinrsd could not bind a port ({e}); starting it again");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// True when the node has exited and its log says an address was in use.
    fn lost_a_port_race(&mut self) -> bool {
        let exited = self
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
        exited
            && std::fs::read_to_string(self.log_path()).is_ok_and(|log| {
                let log = log.to_lowercase();
                log.contains("address already in use") || log.contains("addrinuse")
            })
    }

    /// Starts a node on `chain` in an existing datadir (kept when the node is dropped), and
    /// waits until its JSON-RPC answers (a `--reindex` start may take a while: up to 10
    /// minutes).
    pub fn start_in(datadir: &Path, chain: &str, args: &[&str]) -> Result<Self> {
        let mut node = Self::spawn(
            datadir.to_path_buf(),
            None,
            chain,
            args.iter().map(|s| s.to_string()).collect(),
            None,
        )?;
        node.wait_ready_for(Duration::from_secs(600))?;
        Ok(node)
    }

    fn spawn(
        datadir: PathBuf,
        tmp: Option<tempfile::TempDir>,
        chain: &str,
        args: Vec<String>,
        p2p_port: Option<u16>,
    ) -> Result<Self> {
        let rpc_port = free_port();
        let p2p_port = p2p_port.unwrap_or_else(free_port);
        // Loopback only, and no discovery that would reach the real network, unless the
        // test asks for it.
        let mut defaults = Vec::new();
        let given = |name: &str| {
            args.iter()
                .any(|a| a == name || a.starts_with(&format!("{name}=")))
        };
        if !given("--bind") {
            defaults.push(format!("--bind=127.0.0.1:{p2p_port}"));
        }
        for off in ["--mdns", "--dht"] {
            if !given(off) {
                defaults.push(format!("{off}=false"));
            }
        }
        let child = Command::new(bin("coinrsd"))
            .arg("--chain")
            .arg(chain)
            .arg("--datadir")
            .arg(&datadir)
            .arg("--rpcbind")
            .arg(format!("127.0.0.1:{rpc_port}"))
            .args(&defaults)
            .args(&args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn coinrsd")?;
        let chain_name = Path::new(chain)
            .file_stem()
            .map(|_| chain_folder_name(chain))
            .unwrap_or_else(|| chain.to_string());
        Ok(Node {
            child: Some(child),
            datadir,
            _tmp: tmp,
            chain: chain_name,
            rpc_port,
            p2p_port,
            args,
            agent: agent(),
            auth: std::sync::Mutex::new(None),
        })
    }

    /// The peer-to-peer address to give other nodes (`--addnode`, `--connect`).
    pub fn p2p_addr(&self) -> String {
        format!("127.0.0.1:{}", self.p2p_port)
    }

    /// The chain folder.
    pub fn chain_dir(&self) -> PathBuf {
        self.datadir.join(&self.chain)
    }

    /// Waits until the node answers `getblockcount` (or fails if it exits first).
    pub fn wait_ready(&mut self) -> Result<()> {
        self.wait_ready_for(Duration::from_secs(60))
    }

    fn wait_ready_for(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "coinrsd exited during start-up ({status}); see {}",
                    self.log_path().display()
                );
            }
            if self.cookie().is_ok() && self.call("getblockcount", json!([])).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("coinrsd did not answer within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `debug.log` of the node.
    pub fn log_path(&self) -> PathBuf {
        self.chain_dir().join("debug.log")
    }

    /// `user:password` from the cookie file.
    pub fn cookie(&self) -> Result<String> {
        let text = std::fs::read_to_string(self.chain_dir().join(".cookie"))?;
        Ok(text.trim().to_string())
    }

    /// The basic-auth header value.
    pub fn auth_header(&self) -> Result<String> {
        Ok(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(self.cookie()?)
        ))
    }

    /// The JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.rpc_port)
    }

    /// Posts a raw body with an optional Authorization header; returns status and body.
    pub fn post_raw(
        &self,
        path: &str,
        body: impl Into<Vec<u8>>,
        auth: Option<&str>,
    ) -> Result<(u16, String)> {
        let url = format!("http://127.0.0.1:{}{path}", self.rpc_port);
        let mut req = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req
            .send(body.into())
            .map_err(|e| anyhow!("POST {url}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text))
    }

    /// Calls a method (JSON-RPC 2.0); an error answer becomes `Err(RpcError)` inside `Ok`.
    pub fn call(&self, method: &str, params: Value) -> Result<Result<Value, RpcError>> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let auth = {
            let mut cached = self.auth.lock().unwrap_or_else(|p| p.into_inner());
            match cached.as_ref() {
                Some(a) => a.clone(),
                None => {
                    let a = self.auth_header()?;
                    *cached = Some(a.clone());
                    a
                }
            }
        };
        let (status, text) = self.post_raw("/", body.to_string(), Some(&auth))?;
        if status == 401 {
            // A cookie left by a killed process: read the new one next time.
            *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        if status != 200 {
            bail!("HTTP {status}: {text}");
        }
        let reply: Value = serde_json::from_str(&text).with_context(|| format!("reply {text}"))?;
        Ok(match reply.get("error") {
            Some(e) if !e.is_null() => Err(RpcError {
                code: e["code"].as_i64().unwrap_or(0),
                message: e["message"].as_str().unwrap_or_default().to_string(),
            }),
            _ => Ok(reply.get("result").cloned().unwrap_or(Value::Null)),
        })
    }

    /// Calls a method that must succeed.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        match self.call(method, params.clone()) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("{method} {params}: {e}"),
            Err(e) => panic!("{method} {params}: {e:#}"),
        }
    }

    /// Calls a method that must fail; returns the error.
    pub fn rpc_err(&self, method: &str, params: Value) -> RpcError {
        match self.call(method, params.clone()) {
            Ok(Ok(v)) => panic!("{method} {params} should fail, got {v}"),
            Ok(Err(e)) => e,
            Err(e) => panic!("{method} {params}: {e:#}"),
        }
    }

    /// Runs `coinrs-cli` against this node with `args`.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin("coinrs-cli"))
            .arg("--chain")
            .arg(&self.chain)
            .arg("--datadir")
            .arg(&self.datadir)
            .arg("--rpcport")
            .arg(self.rpc_port.to_string())
            .args(args)
            .output()
            .expect("run coinrs-cli")
    }

    /// A fresh regtest address (of a throw-away key derived from `seed`).
    pub fn address(seed: u8) -> String {
        // x-only keys of small secrets are fixed; the address only needs to be valid.
        let programs = [
            "crt1prwzv24nmzfjypx2a8m264ws9vht3uxp5vpypnluuzl67n4waq78s3uzcem",
            "crt1pf49ke5fkzqev4x7j46uajq92f4zan6kcpty5yvm5c3g6wf2dqanq75dxpw",
        ];
        programs[usize::from(seed) % programs.len()].to_string()
    }

    /// Mines `n` blocks (regtest) and returns their hashes.
    pub fn generate(&self, n: u64) -> Vec<String> {
        self.rpc("generatetoaddress", json!([n, Self::address(0)]))
            .as_array()
            .expect("array of hashes")
            .iter()
            .map(|h| h.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Asks the node to stop and waits for the process to exit (at most 60 s).
    pub fn stop(&mut self) -> Result<std::process::ExitStatus> {
        let _ = self.call("stop", json!([]));
        self.wait_exit(Duration::from_secs(60))
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let child = self.child.as_mut().ok_or_else(|| anyhow!("not running"))?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("coinrsd did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (e.g. "TERM", "INT", "KILL") to the process.
    pub fn signal(&self, sig: &str) -> Result<()> {
        let child = self.child.as_ref().ok_or_else(|| anyhow!("not running"))?;
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(child.id().to_string())
            .status()?;
        if !status.success() {
            bail!("kill -{sig} failed");
        }
        Ok(())
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut() {
            child.kill()?;
            child.wait()?;
        }
        self.child = None;
        Ok(())
    }

    /// Starts the node again in the same datadir, with the same options plus `extra`.
    pub fn restart(&mut self, extra: &[&str]) -> Result<()> {
        if self.child.is_some() {
            self.stop()?;
        }
        let mut args = self.args.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        let tmp = self._tmp.take();
        let chain = self.chain.clone();
        let fresh = Self::spawn(self.datadir.clone(), tmp, &chain, args, Some(self.p2p_port))?;
        *self = fresh;
        self.wait_ready()
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// The folder name of a chain argument: a built-in name, or a chain file's `name` key.
fn chain_folder_name(chain: &str) -> String {
    if chain == "regtest" || chain == "devnet" {
        return chain.to_string();
    }
    std::fs::read_to_string(chain)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| chain.to_string())
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
