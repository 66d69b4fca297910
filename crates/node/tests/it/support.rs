//! What the tests share: a raw HTTP/1.1 client (so that status lines, headers and the exact
//! body text are visible), basic-auth headers, JSON-RPC posting, and [`Daemon`], a coinrsd
//! started by hand for the cases the testkit does not cover (static credentials, config
//! files, environment variables, a second node on the same datadir).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use coinrs_testkit::{Node, bin};
use serde_json::{Value, json};

/// Base64 of `text` (RFC 4648 with padding), for basic-auth headers.
pub fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `Basic <base64(user:password)>`.
pub fn basic_auth(credentials: &str) -> String {
    format!("Basic {}", base64(credentials))
}

/// One HTTP answer.
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body text, exactly as sent.
    pub body: String,
}

impl HttpReply {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("HTTP {} body is not JSON ({e}): {}", self.status, self.body)
        })
    }
}

/// Writes one POST on `stream` (keeping the connection open).
pub fn write_post(stream: &mut TcpStream, path: &str, body: &[u8], auth: Option<&str>) {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .expect("write request head");
    stream.write_all(body).expect("write request body");
    stream.flush().expect("flush request");
}

/// Reads one HTTP/1.1 answer (Content-Length or chunked) from `reader`.
pub fn read_reply(reader: &mut BufReader<TcpStream>) -> HttpReply {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).expect("header line");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = find("content-length") {
        let len: usize = len.parse().expect("content-length");
        body.resize(len, 0);
        reader.read_exact(&mut body).expect("body");
    } else if find("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).expect("chunk size");
            let size = usize::from_str_radix(size.trim(), 16).expect("chunk size hex");
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).expect("chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    HttpReply {
        status,
        headers,
        body: String::from_utf8(body).expect("UTF-8 body"),
    }
}

/// Opens a connection to the node's RPC port.
pub fn connect(port: u16) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to coinrsd");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("read timeout");
    BufReader::new(stream)
}

/// One POST on a fresh connection.
pub fn post(port: u16, path: &str, body: &[u8], auth: Option<&str>) -> HttpReply {
    let mut reader = connect(port);
    write_post(reader.get_mut(), path, body, auth);
    read_reply(&mut reader)
}

/// POSTs a JSON body to a testkit node with its cookie.
pub fn post_json(node: &Node, body: &Value) -> HttpReply {
    let auth = node.auth_header().expect("cookie");
    post(node.rpc_port, "/", body.to_string().as_bytes(), Some(&auth))
}

/// A coinrsd started by hand; killed when dropped. Its stderr goes to a file.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    /// Where stderr goes.
    pub stderr_path: PathBuf,
}

impl Daemon {
    /// Starts `coinrsd ARGS` with extra environment variables (and no inherited `COINRS_*`).
    pub fn spawn(args: &[String], env: &[(&str, String)], log_dir: &Path) -> Self {
        let stderr_path = log_dir.join(format!("coinrsd-{}.stderr", coinrs_testkit::free_port()));
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut cmd = Command::new(bin("coinrsd"));
        for (key, _) in std::env::vars() {
            if key.starts_with("COINRS_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn coinrsd");
        Daemon {
            child: Some(child),
            stderr_path,
        }
    }

    /// Calls a method on `port` with `auth` (JSON-RPC 2.0); `None` while nothing answers.
    pub fn try_call(port: u16, auth: &str, method: &str, params: Value) -> Option<HttpReply> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .ok()?;
        let mut reader = BufReader::new(stream);
        write_post(
            reader.get_mut(),
            "/",
            body.to_string().as_bytes(),
            Some(auth),
        );
        Some(read_reply(&mut reader))
    }

    /// Waits until `port` answers `getblockcount` with `auth` (panics if the process exits).
    pub fn wait_ready(&mut self, port: u16, auth: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "coinrsd exited during start-up ({status}): {}",
                    std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
                );
            }
            if Self::try_call(port, auth, "getblockcount", json!([]))
                .is_some_and(|r| r.status == 200)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "coinrsd did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "coinrsd did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `result` of a JSON-RPC reply that must be a success.
pub fn result_of(reply: &HttpReply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let v = reply.json();
    assert!(
        v.get("error").is_none_or(Value::is_null),
        "unexpected error: {}",
        reply.body
    );
    v["result"].clone()
}

#[test]
fn base64_matches_rfc_4648_vectors() {
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(plain), encoded);
    }
}
