//! Live updates: one task polls the chain's change counter (a few times a second, a lock
//! held for microseconds) and publishes the tip on a watch channel; `/events` streams it to
//! browsers as server-sent events (`event: tip`, data `{"height","hash","changes"}`), which
//! the pages' script answers by fetching the page again and swapping its content.
//!
//! Polling rather than hooks in the chain keeps the explorer out of the block path, and it
//! sees every change of the tree (side branches, invalidations), not only new tips.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use coinrs_rpc::NodeContext;
use tokio::sync::watch;

use crate::Explorer;

/// Event streams open at once; more get HTTP 503.
pub const MAX_LIVE_CLIENTS: usize = 64;

/// How often the poller looks at the chain.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// The tip as last seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TipNews {
    /// Active height.
    pub height: u64,
    /// Active tip (hex).
    pub hash: String,
    /// The chain's change counter.
    pub changes: u64,
}

fn read(ctx: &NodeContext) -> TipNews {
    let chain = ctx.chain();
    TipNews {
        height: chain.height(),
        hash: chain.tip().to_string(),
        changes: chain.changes(),
    }
}

/// Starts the poller; it stops when the node stops (dropping the sender ends every stream).
pub(crate) fn start(ctx: Arc<NodeContext>) -> watch::Receiver<TipNews> {
    let (tx, rx) = watch::channel(TipNews::default());
    let mut stop = ctx.shutdown.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = tick.tick() => {}
            }
            let c = Arc::clone(&ctx);
            let Ok(news) = tokio::task::spawn_blocking(move || read(&c)).await else {
                break;
            };
            tx.send_if_modified(|old| {
                if *old == news {
                    false
                } else {
                    *old = news;
                    true
                }
            });
        }
        tracing::debug!("explorer live poller stopped");
    });
    rx
}

/// Counts an open stream; released when the stream is dropped.
struct Client(Arc<Explorer>);

impl Drop for Client {
    fn drop(&mut self) {
        self.0.live_clients.fetch_sub(1, Ordering::AcqRel);
    }
}

fn event(news: &TipNews) -> Event {
    Event::default().event("tip").data(
        serde_json::json!({
            "height": news.height,
            "hash": news.hash,
            "changes": news.changes,
        })
        .to_string(),
    )
}

/// `GET /events`: the current tip at once, then one event per change.
pub(crate) async fn events(State(s): State<Arc<Explorer>>) -> Response {
    if s.live_clients.fetch_add(1, Ordering::AcqRel) >= MAX_LIVE_CLIENTS {
        s.live_clients.fetch_sub(1, Ordering::AcqRel);
        return (StatusCode::SERVICE_UNAVAILABLE, "too many live clients").into_response();
    }
    let client = Client(Arc::clone(&s));
    let mut rx = s.live.clone();
    rx.mark_changed();
    let stream = futures::stream::unfold((rx, client), |(mut rx, client)| async move {
        rx.changed().await.ok()?;
        let news = rx.borrow_and_update().clone();
        Some((Ok::<Event, Infallible>(event(&news)), (rx, client)))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
