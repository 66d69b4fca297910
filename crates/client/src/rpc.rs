//! The HTTP side: one JSON-RPC 1.0 POST with basic auth, and what its answer means.
//!
//! A 1.0 request (not 2.0) makes the node answer `{result, error, id}` with Bitcoin Core's
//! HTTP statuses (404 unknown method, 500 other errors), so the body is read on those too.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::config::Endpoint;
use crate::error::Failure;

/// The name a [`Client`] gives itself unless told otherwise (user agent and request id).
pub const DEFAULT_NAME: &str = "coinrs-client";

/// A connection to the node's JSON-RPC. It keeps its HTTP agent, so a program that calls
/// many times (the miner) reuses the keep-alive connection.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    path: String,
    authorization: String,
    name: String,
    timeout: Option<Duration>,
    agent: ureq::Agent,
}

impl Client {
    /// `wallet` addresses `/wallet/NAME`; `timeout` of `None` waits as long as it takes.
    pub fn new(
        endpoint: Endpoint,
        wallet: Option<&str>,
        user: &str,
        password: &str,
        timeout: Option<Duration>,
    ) -> Self {
        Client {
            endpoint,
            path: request_path(wallet),
            authorization: basic_auth(user, password),
            name: DEFAULT_NAME.to_string(),
            timeout,
            agent: agent(DEFAULT_NAME, timeout),
        }
    }

    /// The same client with another name (its HTTP user agent and the JSON-RPC request id).
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self.agent = agent(name, self.timeout);
        self
    }

    /// Logs in with other credentials from now on (the node's cookie changes when it restarts).
    pub fn set_credentials(&mut self, user: &str, password: &str) {
        self.authorization = basic_auth(user, password);
    }

    /// The server's address.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `http://HOST:PORT/PATH`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.endpoint.authority(), self.path)
    }

    /// Calls `method` and returns its result, or the failure to report.
    pub fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, Failure> {
        let mut response = self
            .agent
            .post(self.url())
            .header("Content-Type", "application/json")
            .header("Authorization", &self.authorization)
            .send(request_body(&self.name, method, params))
            .map_err(|e| self.connect_failure(&e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => self.connect_failure(&e),
                e => Failure::rpc(format!(
                    "error: could not read the answer of the server {}: {e}",
                    self.endpoint.authority()
                )),
            })?;
        interpret(status, &body)
    }

    fn connect_failure(&self, error: &ureq::Error) -> Failure {
        let detail = match error {
            ureq::Error::Timeout(_) => "no answer within --rpcclienttimeout".to_string(),
            e => e.to_string(),
        };
        Failure::unreachable(format!(
            "error: Could not connect to the server {}\n\n\
             Make sure the coinrsd server is running and that you are connecting to the correct \
             RPC port.\n({detail})",
            self.endpoint.authority()
        ))
    }
}

/// The HTTP agent: every status is an answer to read, no proxy, no redirects.
fn agent(name: &str, timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .timeout_global(timeout)
        .user_agent(name)
        .build()
        .into()
}

/// `/`, or `/wallet/NAME` with NAME percent-encoded.
pub fn request_path(wallet: Option<&str>) -> String {
    match wallet {
        Some(name) => format!("/wallet/{}", url_encode(name)),
        None => "/".to_string(),
    }
}

/// Percent-encodes everything but ASCII letters, digits and `-._~` (as bitcoin-cli).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The value of the `Authorization` header for HTTP basic auth.
pub fn basic_auth(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// The JSON-RPC 1.0 request, with `id` naming the caller.
pub fn request_body(id: &str, method: &str, params: Vec<Value>) -> String {
    json!({"jsonrpc": "1.0", "id": id, "method": method, "params": params}).to_string()
}

/// The result of an HTTP answer, or the failure to report (all with exit code 1).
pub fn interpret(status: u16, body: &str) -> Result<Value, Failure> {
    if status == 401 {
        return Err(Failure::unauthorized());
    }
    let snippet = || {
        let body = body.trim();
        if body.is_empty() {
            String::new()
        } else {
            format!(": {}", body.chars().take(500).collect::<String>())
        }
    };
    if status >= 400 && !matches!(status, 400 | 404 | 500) {
        return Err(Failure::rpc(format!(
            "error: server returned HTTP error {status}{}",
            snippet()
        )));
    }
    if body.trim().is_empty() {
        return Err(Failure::rpc(format!(
            "error: no response from server (HTTP {status})"
        )));
    }
    let answer: Value = serde_json::from_str(body).map_err(|_| {
        Failure::rpc(format!(
            "error: couldn't parse reply from server (HTTP {status}){}",
            snippet()
        ))
    })?;
    let Value::Object(mut answer) = answer else {
        return Err(Failure::rpc(format!(
            "error: expected a JSON-RPC answer object from the server, got {answer}"
        )));
    };
    match answer.remove("error") {
        None | Some(Value::Null) => Ok(answer.remove("result").unwrap_or(Value::Null)),
        Some(error) => Err(Failure::rpc_error(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    /// A one-request HTTP server: answers `response` and hands back the request it got.
    fn serve_once(status: &'static str, body: &'static str) -> (u16, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
                request.push_str(&line);
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut content = vec![0; length];
            reader.read_exact(&mut content).unwrap();
            request.push_str(&String::from_utf8(content).unwrap());
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            request
        });
        (port, handle)
    }

    fn client(port: u16, wallet: Option<&str>) -> Client {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port,
        };
        Client::new(
            endpoint,
            wallet,
            "__cookie__",
            "abc",
            Some(Duration::from_secs(10)),
        )
        .with_name("coinrs-cli")
    }

    #[test]
    fn sends_a_json_rpc_1_request_with_basic_auth() {
        let (port, server) = serve_once("200 OK", r#"{"result":7,"error":null,"id":"coinrs-cli"}"#);
        let result = client(port, None)
            .call("getblockhash", vec![json!(5)])
            .unwrap();
        assert_eq!(result, json!(7));
        let request = server.join().unwrap();
        assert!(request.starts_with("POST / HTTP/1.1\r\n"), "{request}");
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/json\r\n"),
            "{request}"
        );
        assert!(lower.contains("user-agent: coinrs-cli\r\n"), "{request}");
        // base64("__cookie__:abc")
        assert!(request.contains("X19jb29raWVfXzphYmM="), "{request}");
        let body = request.split("\r\n\r\n").nth(1).unwrap();
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            body,
            json!({"jsonrpc": "1.0", "id": "coinrs-cli", "method": "getblockhash", "params": [5]})
        );
    }

    #[test]
    fn wallet_requests_go_to_the_wallet_path() {
        let (port, server) = serve_once("200 OK", r#"{"result":null,"error":null,"id":1}"#);
        let result = client(port, Some("my wallet/1"))
            .call("getbalance", vec![])
            .unwrap();
        assert_eq!(result, Value::Null);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /wallet/my%20wallet%2F1 HTTP/1.1\r\n"),
            "{request}"
        );
    }

    #[test]
    fn error_bodies_are_read_on_500_and_404() {
        let (port, server) = serve_once(
            "500 Internal Server Error",
            r#"{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":"coinrs-cli"}"#,
        );
        let failure = client(port, None)
            .call("getblockhash", vec![json!(99)])
            .unwrap_err();
        server.join().unwrap();
        assert_eq!(failure.exit_code, 1);
        assert_eq!(
            failure.message,
            "error code: -8\nerror message:\nBlock height out of range"
        );
        let (port, server) = serve_once(
            "404 Not Found",
            r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":"coinrs-cli"}"#,
        );
        let failure = client(port, None).call("nosuch", vec![]).unwrap_err();
        server.join().unwrap();
        assert_eq!(
            failure.message,
            "error code: -32601\nerror message:\nMethod not found"
        );
    }

    #[test]
    fn unauthorized_is_exit_1() {
        let (port, server) = serve_once("401 Unauthorized", "");
        let failure = client(port, None)
            .call("getblockcount", vec![])
            .unwrap_err();
        server.join().unwrap();
        assert_eq!(failure.exit_code, 1);
        assert_eq!(failure.kind, crate::FailureKind::Unauthorized);
        assert_eq!(
            failure.message,
            "error: incorrect rpcuser or rpcpassword (authorization failed)"
        );
    }

    #[test]
    fn refused_connection_is_exit_2() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let failure = client(port, None)
            .call("getblockcount", vec![])
            .unwrap_err();
        assert_eq!(failure.exit_code, 2);
        assert_eq!(failure.kind, crate::FailureKind::Unreachable);
        assert!(
            failure.message.starts_with(&format!(
                "error: Could not connect to the server 127.0.0.1:{port}\n\nMake sure the coinrsd \
                 server is running and that you are connecting to the correct RPC port."
            )),
            "{}",
            failure.message
        );
    }

    #[test]
    fn interpret_answers() {
        assert_eq!(
            interpret(200, r#"{"result":50.00000000,"error":null,"id":"x"}"#)
                .unwrap()
                .to_string(),
            "50.00000000"
        );
        assert_eq!(
            interpret(200, r#"{"result":"ab","id":"x"}"#).unwrap(),
            json!("ab")
        );
        assert_eq!(
            interpret(503, "busy").unwrap_err().message,
            "error: server returned HTTP error 503: busy"
        );
        assert!(
            interpret(200, "")
                .unwrap_err()
                .message
                .contains("no response")
        );
        assert!(
            interpret(500, "<html>")
                .unwrap_err()
                .message
                .contains("couldn't parse")
        );
        assert!(interpret(200, "[1]").is_err());
        let e = interpret(200, r#"{"result":null,"error":"text","id":1}"#).unwrap_err();
        assert_eq!((e.exit_code, e.message.as_str()), (1, "error: \"text\""));
    }

    #[test]
    fn url_encoding() {
        assert_eq!(url_encode("default"), "default");
        assert_eq!(url_encode("a b/c%é"), "a%20b%2Fc%25%C3%A9");
        assert_eq!(request_path(None), "/");
        assert_eq!(request_path(Some("")), "/wallet/");
    }

    #[test]
    fn the_request_id_is_the_clients_name() {
        let body: Value =
            serde_json::from_str(&request_body("coinrs-miner", "getblocktemplate", vec![]))
                .unwrap();
        assert_eq!(
            body,
            json!({"jsonrpc": "1.0", "id": "coinrs-miner", "method": "getblocktemplate", "params": []})
        );
    }
}
