#!/usr/bin/env bash
# The project's one test command (README.md): formatting, lints, the purity of the core crate,
# every test (unit, integration with real coinrsd processes, the explorer in headless Chromium,
# doc), the release-mode tests, and the independent vector script. It installs what it needs
# itself (python-bitcoinrpc from PyPI, @ipld/car and playwright-core from npm, Debian's
# chromium); a fresh machine needs only the Rust toolchain, cargo-nextest (optional: falls back
# to cargo test), Python 3 and Node.js 20 with npm. The full-disk test mounts a tmpfs and the
# NAT lab makes network namespaces, so they run as root (as CI); the lab installs its Debian
# packages itself.
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

step "IPFS test tools (npm, for crates/node/tests/ipfs): @ipld/car, Helia with Bitswap, js-libp2p with kad-dht, Node 22"
ipfs_js=crates/node/tests/ipfs/js
# Installed again only when the lock file changed since the last install.
if ! cmp -s "$ipfs_js/package-lock.json" "$ipfs_js/node_modules/.coinrs-installed-lock" 2>/dev/null; then
    (cd "$ipfs_js" && npm ci --no-audit --no-fund --silent \
        && cp package-lock.json node_modules/.coinrs-installed-lock)
fi

step "browser test tools: Debian's chromium and playwright-core (npm) for the explorer's tests"
if ! command -v chromium >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
browser_js=crates/explorer/tests/browser
if ! cmp -s "$browser_js/package-lock.json" "$browser_js/node_modules/.coinrs-installed-lock" 2>/dev/null; then
    (cd "$browser_js" && npm ci --no-audit --no-fund --silent \
        && cp package-lock.json node_modules/.coinrs-installed-lock)
fi

step "binaries (integration tests run the real coinrsd and coinrs-cli)"
cargo build --bins --locked

step "tests (debug)"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi

step "explorer browser tests (headless Chromium; screenshots in target/explorer-screenshots/)"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run -p coinrs-node --test explorer --locked --run-ignored ignored-only --no-capture
else
    cargo test -p coinrs-node --test explorer --locked -- --ignored --nocapture
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

step "NAT lab: relays, hole punching, relayed-only sync and port mapping in network namespaces (scripts/netlab.py)"
# Needs root (namespaces, iptables) and Debian's iproute2, iptables, miniupnpd-iptables (UPnP
# IGD, NAT-PMP and PCP on the lab's router) and stun-server; installed here when missing.
if [ "$(id -u)" -eq 0 ]; then
    need=()
    command -v ip >/dev/null || need+=(iproute2)
    command -v iptables-legacy >/dev/null || need+=(iptables)
    command -v miniupnpd >/dev/null || need+=(miniupnpd-iptables)
    command -v stund >/dev/null || need+=(stun-server)
    if [ ${#need[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null; }
    fi
    python3 scripts/netlab.py
else
    echo "skipped: the NAT lab needs root (run: sudo python3 scripts/netlab.py)"
fi

step "all checks passed"
