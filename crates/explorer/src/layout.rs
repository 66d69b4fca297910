//! The page shell (navigation, search box, live status) and the answers a page can give.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// What a page handler produces.
pub enum Reply {
    /// A page: title and main content.
    Page { title: String, body: Markup },
    /// Go elsewhere (search results, `/height/N`).
    Redirect(String),
    /// Nothing by that id (404), with a sentence saying what was looked for.
    NotFound(String),
    /// The request itself is wrong (400): a malformed id or parameter.
    BadRequest(String),
    /// The node cannot answer now (503 or 500): busy, stopping, a storage error.
    Unavailable(String),
}

/// Context every page shows: the chain's name, the tip and the change counter the live
/// script compares with.
#[derive(Clone, Debug)]
pub struct Frame {
    pub chain: String,
    pub height: u64,
    pub changes: u64,
}

impl Reply {
    pub fn into_response(self, frame: &Frame) -> Response {
        let (status, title, body) = match self {
            Reply::Page { title, body } => (StatusCode::OK, title, body),
            Reply::Redirect(to) => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
            }
            Reply::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found".to_string(),
                html! { h1 { "Not found" } p.error { (what) } },
            ),
            Reply::BadRequest(what) => (
                StatusCode::BAD_REQUEST,
                "Bad request".to_string(),
                html! { h1 { "Bad request" } p.error { (what) } },
            ),
            Reply::Unavailable(what) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable".to_string(),
                html! { h1 { "Unavailable" } p.error { (what) } },
            ),
        };
        let mut r = (status, shell(frame, &title, body)).into_response();
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        r
    }
}

/// Cuts what a user typed to a length fit to be shown back.
pub fn echo(s: &str) -> String {
    let mut out: String = s.chars().take(100).collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}

fn shell(frame: &Frame, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · coinrs explorer" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/explorer.js" defer {}
            }
            body {
                header {
                    nav {
                        a.brand href="/" { "coinrs" }
                        span.chain { (frame.chain) }
                        a href="/tree" { "Tree" }
                        a href="/mempool" { "Mempool" }
                        a href="/peers" { "Peers" }
                    }
                    form.search action="/search" method="get" role="search" {
                        input type="search" name="q" maxlength="200" aria-label="Search"
                            placeholder="height, block hash, txid, address or CID";
                        button type="submit" { "Search" }
                    }
                }
                main id="live" data-changes=(frame.changes) {
                    (body)
                }
                footer {
                    "Tip height " span id="tip-height" { (frame.height) }
                    " · " span id="live-status" { "static" }
                }
            }
        }
    }
}
