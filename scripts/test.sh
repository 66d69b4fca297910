#!/usr/bin/env bash
# The project's one test command (README.md): formatting, lints, the purity of the core crate,
# every test (unit, integration with real coinrsd processes, doc), the release-mode tests, and
# the independent vector script. It installs what it needs itself (python-bitcoinrpc from
# PyPI); a fresh machine needs only the Rust toolchain, cargo-nextest (optional: falls back
# to cargo test) and Python 3. The full-disk test mounts a tmpfs, so it runs as root (as CI).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "coinrs-core stays pure (no tokio, redb or libp2p)"
if cargo tree -p coinrs-core -e normal --prefix none --locked | grep -E '^(tokio|redb|libp2p)( |-)' ; then
    echo "coinrs-core must not depend on the crates above" >&2
    exit 1
fi

step "test tools: python-bitcoinrpc (an independent JSON-RPC client)"
if ! python3 -c 'import bitcoinrpc' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check python-bitcoinrpc
fi

step "binaries (integration tests run the real coinrsd and coinrs-cli)"
cargo build --bins --locked

step "tests (debug)"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi

step "doc tests"
cargo test --workspace --doc --locked

step "release-mode tests (grinding devnet's genesis again)"
cargo test --release --locked -p coinrs-core --test release

step "independent vectors reproduce (python3 crates/core/tests/data/make_vectors.py)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 crates/core/tests/data/make_vectors.py --stdout > "$tmp/vectors.json"
cmp "$tmp/vectors.json" crates/core/tests/data/vectors.json
python3 crates/core/tests/data/check_published.py

step "all checks passed"
