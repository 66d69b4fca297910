//! The style sheet and the script, compiled into the binary (no CDN: the explorer works
//! offline).

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("../assets/style.css");
const JS: &str = include_str!("../assets/explorer.js");

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        JS,
    )
}
