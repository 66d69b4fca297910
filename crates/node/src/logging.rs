//! Log lines with `tracing` to stderr and to `debug.log` in the chain folder, filtered by
//! `RUST_LOG` (default `info`).

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(chain_dir: &Path) -> Result<()> {
    let path = chain_dir.join("debug.log");
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(Mutex::new(file)))
        .try_init();
    Ok(())
}
