//! The HTTP side: JSON-RPC 1.0 / 2.0 and batches over HTTP/1.1 keep-alive (axum), basic
//! auth, a body size limit, and a bounded number of requests in progress with a bounded
//! queue behind them (HTTP 503 beyond it), so that no client can exhaust the node.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use base64::Engine;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::context::NodeContext;
use crate::error::{RpcError, code};
use crate::methods;
use crate::params::Args;

/// Default largest request body: a maximum block (1 MB) in hex is 2 MB; 8 MiB leaves room for
/// JSON around it and for batches.
pub const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;
/// Default requests run at once (`--rpcthreads`).
pub const DEFAULT_THREADS: usize = 16;
/// Default requests waiting for a slot (`--rpcworkqueue`); beyond it, HTTP 503.
pub const DEFAULT_QUEUE: usize = 64;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// `user:password` accepted in HTTP basic auth (the cookie or `--rpcuser/--rpcpassword`).
    pub credentials: String,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Requests run at once.
    pub threads: usize,
    /// Requests waiting for a slot.
    pub queue: usize,
}

struct Shared {
    ctx: Arc<NodeContext>,
    expected_auth: String,
    slots: Semaphore,
    admitted: AtomicUsize,
    admit_limit: usize,
}

/// Serves JSON-RPC on `listener` until `shutdown` completes, with the routes of `pages`
/// (the explorer's GET pages, which need no credentials; `Router::new()` for none) beside
/// `POST /` and `POST /wallet/NAME`.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<NodeContext>,
    config: RpcConfig,
    pages: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        ctx,
        expected_auth: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&config.credentials)
        ),
        slots: Semaphore::new(config.threads.max(1)),
        admitted: AtomicUsize::new(0),
        admit_limit: config.threads.max(1) + config.queue,
    });
    let app = Router::new()
        .route("/", post(handle))
        .route("/wallet/{name}", post(handle_wallet))
        .layer(DefaultBodyLimit::max(config.max_body))
        .with_state(shared)
        .merge(pages);
    // Small answers on keep-alive connections: send them at once (no Nagle delay).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Releases an admission when the request ends, however it ends.
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Compares without an early exit, so the time taken does not reveal how much matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    handle_request(s, headers, body, None).await
}

/// `POST /wallet/NAME`: the wallet methods act on wallet NAME.
async fn handle_wallet(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle_request(s, headers, body, Some(name)).await
}

async fn handle_request(
    s: Arc<Shared>,
    headers: HeaderMap,
    body: Bytes,
    wallet: Option<String>,
) -> Response {
    let authorised = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| same(v.as_bytes(), s.expected_auth.as_bytes()));
    if !authorised {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"jsonrpc\""),
        );
        return r;
    }
    if s.admitted.fetch_add(1, Ordering::AcqRel) >= s.admit_limit {
        s.admitted.fetch_sub(1, Ordering::AcqRel);
        return (StatusCode::SERVICE_UNAVAILABLE, "Work queue depth exceeded").into_response();
    }
    let _admission = Admission(&s.admitted);
    let Ok(_slot) = s.slots.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };

    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let err = RpcError::new(code::PARSE_ERROR, format!("Parse error: {e}"));
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &v1_reply(Value::Null, Err(err)),
            );
        }
    };
    match request {
        Value::Array(batch) => {
            if batch.is_empty() {
                let err =
                    RpcError::new(code::INVALID_REQUEST, "Invalid Request object: empty batch");
                return json_response(StatusCode::OK, &v1_reply(Value::Null, Err(err)));
            }
            let mut replies = Vec::with_capacity(batch.len());
            for item in batch {
                if let Some((_, reply)) = one(&s.ctx, item, wallet.as_deref()).await {
                    replies.push(reply);
                }
            }
            json_response(StatusCode::OK, &Value::Array(replies))
        }
        single => match one(&s.ctx, single, wallet.as_deref()).await {
            Some((status, reply)) => json_response(status, &reply),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn v1_reply(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(v) => json!({ "result": v, "error": null, "id": id }),
        Err(e) => json!({ "result": null, "error": e.to_json(), "id": id }),
    }
}

/// Runs one request object; `None` for a JSON-RPC 2.0 notification (no id: no answer).
async fn one(
    ctx: &Arc<NodeContext>,
    request: Value,
    wallet: Option<&str>,
) -> Option<(StatusCode, Value)> {
    let Value::Object(obj) = request else {
        let err = RpcError::new(code::INVALID_REQUEST, "Invalid Request object");
        return Some((StatusCode::BAD_REQUEST, v1_reply(Value::Null, Err(err))));
    };
    let v2 = obj.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let id = obj.get("id").cloned();
    let result = run(ctx, &obj, wallet).await;
    if v2 {
        let id = id?;
        let reply = match result {
            Ok(v) => json!({ "jsonrpc": "2.0", "result": v, "id": id }),
            Err(e) => json!({ "jsonrpc": "2.0", "error": e.to_json(), "id": id }),
        };
        return Some((StatusCode::OK, reply));
    }
    let status = match &result {
        Ok(_) => StatusCode::OK,
        Err(e) if e.code == code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        Err(e) if e.code == code::INVALID_REQUEST => StatusCode::BAD_REQUEST,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Some((status, v1_reply(id.unwrap_or(Value::Null), result)))
}

async fn run(
    ctx: &Arc<NodeContext>,
    obj: &serde_json::Map<String, Value>,
    wallet: Option<&str>,
) -> Result<Value, RpcError> {
    let name = match obj.get("method") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(RpcError::new(
                code::INVALID_REQUEST,
                "Method must be a string",
            ));
        }
        None => return Err(RpcError::new(code::INVALID_REQUEST, "Missing method")),
    };
    let method = methods::find(name)
        .filter(|m| !m.regtest_only || ctx.params.name == "regtest")
        .ok_or_else(|| RpcError::new(code::METHOD_NOT_FOUND, "Method not found"))?;
    let mut args = Args::new(method, obj.get("params"))?;
    args.wallet = wallet.map(str::to_string);
    if method.blocking {
        let ctx = Arc::clone(ctx);
        tokio::task::spawn_blocking(move || (method.handler)(&ctx, &args))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(method = method.name, error = %e, "method panicked");
                Err(RpcError::new(code::INTERNAL_ERROR, "internal error"))
            })
    } else {
        (method.handler)(ctx, &args)
    }
}
