#!/usr/bin/env bash
# A local coinrs network in one command, for demos and classes: N connected coinrsd nodes on
# loopback, some of them mining, a table of how to reach each one, a status line every 10 s,
# and everything stopped on Ctrl-C. See README.md ("A local network in one command").
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/localnet.sh [-n NODES] [-m MINERS] [-c regtest|devnet] [-d DIR] [-b BASEPORT]
                           [--release] [--keep]

Starts NODES coinrsd nodes on 127.0.0.1, connected to each other, and stops them all on
Ctrl-C (or SIGTERM).

  -n NODES     number of nodes, 1 to 16 (default 3)
  -m MINERS    how many of them mine: the first MINERS nodes (default 1)
               devnet: real proof of work (--mine --mine-threads 1, coins to each miner's
               mining.key); regtest: a block on demand every 10 s (generatetoaddress 1)
               paid to a fixed throwaway regtest address
  -c CHAIN     regtest or devnet (default devnet)
  -d DIR       data folder, one subfolder per node (DIR/node0, DIR/node1, ...); kept at exit,
               and a second run with the same DIR restarts the same nodes with their chains
               (default: a fresh temporary folder, removed at exit unless --keep)
  -b BASEPORT  node i uses RPC port BASEPORT+2i and p2p port BASEPORT+2i+1, TCP and QUIC
               (default 28400)
  --release    use target/release binaries (default: target/debug)
  --keep       keep the temporary folder at exit
  -h, --help   this text

Binaries: $COINRSD and $COINRS_CLI when set, otherwise REPO/target/{debug,release}.
Logs: DIR/node<i>/debug-stderr.log (and DIR/node<i>/<chain>/debug.log).
Exit status: 0 after Ctrl-C, 1 when a node fails, 2 on bad usage or missing binaries.
EOF
}

# A fixed, valid regtest address (bech32m, crt1p...). Its key is thrown away: the coins mined
# on regtest are not spendable by anyone until wallets exist (issue 8).
REGTEST_ADDRESS=crt1prwzv24nmzfjypx2a8m264ws9vht3uxp5vpypnluuzl67n4waq78s3uzcem
STATUS_EVERY=10
GENERATE_EVERY=10
READY_TIMEOUT=60
STOP_TIMEOUT=10

die_usage() {
    echo "localnet: $*" >&2
    echo "Try 'scripts/localnet.sh --help'." >&2
    exit 2
}

NODES=3
MINERS=1
CHAIN=devnet
DIR=
BASE=28400
PROFILE=debug
KEEP=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) [[ $# -ge 2 ]] || die_usage "-n needs a value"; NODES=$2; shift 2 ;;
        -m) [[ $# -ge 2 ]] || die_usage "-m needs a value"; MINERS=$2; shift 2 ;;
        -c) [[ $# -ge 2 ]] || die_usage "-c needs a value"; CHAIN=$2; shift 2 ;;
        -d) [[ $# -ge 2 ]] || die_usage "-d needs a value"; DIR=$2; shift 2 ;;
        -b) [[ $# -ge 2 ]] || die_usage "-b needs a value"; BASE=$2; shift 2 ;;
        --release) PROFILE=release; shift ;;
        --keep) KEEP=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die_usage "unknown argument: $1" ;;
    esac
done
# All nodes share 127.0.0.1 and a node accepts at most 16 connections from one IP address
# (docs/network.md), so 16 nodes is as many as stay fully connected.
[[ $NODES =~ ^[0-9]+$ && $NODES -ge 1 && $NODES -le 16 ]] || die_usage "-n: a number of nodes from 1 to 16"
[[ $MINERS =~ ^[0-9]+$ && $MINERS -le $NODES ]] || die_usage "-m: a number of miners from 0 to $NODES"
[[ $CHAIN == regtest || $CHAIN == devnet ]] || die_usage "-c: regtest or devnet, not '$CHAIN'"
[[ $BASE =~ ^[0-9]+$ && $BASE -ge 1024 && $((BASE + 2 * NODES)) -le 65535 ]] ||
    die_usage "-b: a port from 1024 such that BASEPORT+2*NODES <= 65535"

# ---- binaries ----
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COINRSD=${COINRSD:-$REPO/target/$PROFILE/coinrsd}
COINRS_CLI=${COINRS_CLI:-$REPO/target/$PROFILE/coinrs-cli}
release_flag=
[[ $PROFILE == release ]] && release_flag=" --release"
for bin in "$COINRSD" "$COINRS_CLI"; do
    if [[ ! -x $bin ]]; then
        echo "localnet: $bin not found." >&2
        echo "Build the binaries first:  cargo build$release_flag --bins" >&2
        echo "(or point \$COINRSD and \$COINRS_CLI at them)" >&2
        exit 2
    fi
done
if ! "$COINRSD" --help 2>/dev/null | grep -q -- '--dht'; then
    echo "localnet: $COINRSD has no peer-to-peer options (built before the network landed)." >&2
    echo "Rebuild it:  cargo build$release_flag --bins" >&2
    exit 2
fi

# ---- ports ----
rpc_port() { echo $((BASE + 2 * $1)); }
p2p_port() { echo $((BASE + 2 * $1 + 1)); }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for ((i = 0; i < NODES; i++)); do
    for port in $(rpc_port "$i") $(p2p_port "$i"); do
        if port_busy "$port"; then
            echo "localnet: port $port on 127.0.0.1 is in use; pick other ports with -b BASEPORT" >&2
            exit 2
        fi
    done
done

# ---- data folder ----
MADE_DIR=false
if [[ -z $DIR ]]; then
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/coinrs-localnet.XXXXXX")
    MADE_DIR=true
else
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
fi

# ---- stopping everything, whatever happens ----
NODE_PIDS=()
GEN_PIDS=()
SLEEP_PID=
FAILED=false
CLEANED=false

cli() { # cli NODE METHOD ARGS... : one call to node NODE, quiet on errors
    local n=$1
    shift
    "$COINRS_CLI" --chain "$CHAIN" --datadir "$DIR/node$n" --rpcconnect "127.0.0.1:$(rpc_port "$n")" \
        --rpcclienttimeout 5 "$@" 2>/dev/null
}

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

cleanup() {
    $CLEANED && return
    CLEANED=true
    trap '' INT TERM
    local pid i
    alive "$SLEEP_PID" && kill "$SLEEP_PID" 2>/dev/null
    for pid in "${GEN_PIDS[@]}"; do
        alive "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    if [[ ${#NODE_PIDS[@]} -gt 0 ]]; then
        echo
        echo "Stopping ${#NODE_PIDS[@]} node(s)..."
        for i in "${!NODE_PIDS[@]}"; do
            pid=${NODE_PIDS[$i]}
            if alive "$pid"; then
                # A graceful stop through RPC; a node whose RPC is not up yet gets SIGTERM
                # (the same shutdown path).
                cli "$i" stop >/dev/null || kill -TERM "$pid" 2>/dev/null || true
            fi
        done
        local deadline=$((SECONDS + STOP_TIMEOUT))
        while ((SECONDS < deadline)); do
            local running=0
            for pid in "${NODE_PIDS[@]}"; do
                alive "$pid" && running=$((running + 1))
            done
            ((running == 0)) && break
            sleep 0.2
        done
        for i in "${!NODE_PIDS[@]}"; do
            pid=${NODE_PIDS[$i]}
            if alive "$pid"; then
                echo "node$i (pid $pid) did not stop within ${STOP_TIMEOUT} s: killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
    fi
    for pid in "${NODE_PIDS[@]}" "${GEN_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if $FAILED; then
        echo "Logs kept in $DIR"
    elif $MADE_DIR && ! $KEEP; then
        rm -rf "$DIR"
        echo "All nodes stopped; removed $DIR"
    else
        echo "All nodes stopped; data kept in $DIR"
    fi
}
on_signal() {
    cleanup
    trap - EXIT
    exit 0
}
trap cleanup EXIT
trap on_signal INT TERM

fail_node() { # fail_node NODE WHY
    local n=$1
    FAILED=true
    echo "localnet: node$n $2. Last lines of $DIR/node$n/debug-stderr.log:" >&2
    tail -n 25 "$DIR/node$n/debug-stderr.log" >&2 || true
    exit 1
}

# ---- starting the nodes ----
echo "coinrs local network: $NODES node(s) on $CHAIN, $MINERS miner(s), data in $DIR"
for ((i = 0; i < NODES; i++)); do
    mkdir -p "$DIR/node$i"
    args=(--chain "$CHAIN" --datadir "$DIR/node$i"
        --rpcbind "127.0.0.1:$(rpc_port "$i")" --bind "127.0.0.1:$(p2p_port "$i")"
        --mdns=false --dht=true)
    # A line (each node keeps a connection to the one before) plus node0 (so the network is
    # connected even before the DHT finds the rest).
    ((i >= 1)) && args+=(--addnode "127.0.0.1:$(p2p_port $((i - 1)))")
    ((i >= 2)) && args+=(--addnode "127.0.0.1:$(p2p_port 0)")
    if [[ $CHAIN == devnet ]] && ((i < MINERS)); then
        args+=(--mine --mine-threads 1)
    fi
    NO_COLOR=1 "$COINRSD" "${args[@]}" </dev/null >"$DIR/node$i/debug-stderr.log" 2>&1 &
    NODE_PIDS+=($!)
done

# ---- waiting for every node's RPC ----
declare -a PEERIDS
for ((i = 0; i < NODES; i++)); do
    deadline=$((SECONDS + READY_TIMEOUT))
    until info=$(cli "$i" getnetworkinfo); do
        alive "${NODE_PIDS[$i]}" || fail_node "$i" "exited during start"
        ((SECONDS < deadline)) || fail_node "$i" "did not answer RPC within ${READY_TIMEOUT} s"
        sleep 0.2
    done
    PEERIDS[i]=$(sed -n 's/^ *"peerid": "\([^"]*\)".*/\1/p' <<<"$info")
done

# ---- regtest: blocks on demand every 10 s from the first MINERS nodes ----
if [[ $CHAIN == regtest ]]; then
    for ((i = 0; i < MINERS; i++)); do
        (
            trap 'kill $sp 2>/dev/null; exit 0' TERM
            trap '' INT
            # Miners take turns within each period (so that they rarely make competing
            # blocks at one height), half a period away from the status lines.
            sleep $(((2 * i + 1) * GENERATE_EVERY * 5 / MINERS / 10)).$((RANDOM % 10)) & sp=$!
            wait $sp
            while :; do
                cli "$i" generatetoaddress 1 "$REGTEST_ADDRESS" >/dev/null || true
                sleep "$GENERATE_EVERY" & sp=$!
                wait $sp
            done
        ) &
        GEN_PIDS+=($!)
    done
fi

# ---- how to reach each node ----
role() {
    if (($1 >= MINERS)); then
        echo "peer"
    elif [[ $CHAIN == devnet ]]; then
        echo "miner"
    else
        echo "miner/10s"
    fi
}
echo
printf '%-6s %-10s %-16s %-16s %s\n' node role RPC p2p "peer id"
for ((i = 0; i < NODES; i++)); do
    printf '%-6s %-10s %-16s %-16s %s\n' "node$i" "$(role "$i")" "127.0.0.1:$(rpc_port "$i")" \
        "127.0.0.1:$(p2p_port "$i")" "${PEERIDS[$i]}"
done
echo
echo "Talk to a node (copy a line, add a method such as getpeerinfo or getblockchaininfo):"
for ((i = 0; i < NODES; i++)); do
    echo "  $COINRS_CLI --chain $CHAIN --datadir $DIR/node$i --rpcconnect 127.0.0.1:$(rpc_port "$i")"
done
# The same as shell functions: `source DIR/cli.sh`, then `cli0 getpeerinfo`.
{
    echo "# source this file: cli0 ... cli$((NODES - 1)) call the nodes of the local network"
    for ((i = 0; i < NODES; i++)); do
        printf 'cli%d() { %q --chain %q --datadir %q --rpcconnect 127.0.0.1:%d "$@"; }\n' \
            "$i" "$COINRS_CLI" "$CHAIN" "$DIR/node$i" "$(rpc_port "$i")"
    done
} >"$DIR/cli.sh"
echo "Or: source $DIR/cli.sh   then   cli0 getpeerinfo"
if [[ $CHAIN == regtest && $MINERS -gt 0 ]]; then
    echo "Regtest miners call generatetoaddress 1 every ${GENERATE_EVERY} s, paying a throwaway address"
    echo "($REGTEST_ADDRESS) until wallets exist."
elif [[ $MINERS -gt 0 ]]; then
    echo "Devnet miners pay the key in DIR/node<i>/devnet/mining.key (one mining thread each)."
    if [[ $COINRSD == */target/debug/coinrsd ]]; then
        echo "Note: a debug coinrsd grinds about 100 times slower than a release one: devnet blocks"
        echo "may take many minutes. For a lively demo: cargo build --release --bins, then --release."
    fi
fi
echo "Logs: $DIR/node<i>/debug-stderr.log. Ctrl-C stops every node."
echo

# ---- a status line every 10 s ----
while :; do
    line=$(date +%H:%M:%S)
    tips=()
    for ((i = 0; i < NODES; i++)); do
        alive "${NODE_PIDS[$i]}" || fail_node "$i" "exited"
        info=$(cli "$i" getblockchaininfo) || info=
        height=$(sed -n 's/^ *"blocks": \([0-9]*\).*/\1/p' <<<"$info")
        tip=$(sed -n 's/^ *"bestblockhash": "\([0-9a-f]*\)".*/\1/p' <<<"$info")
        peers=$(cli "$i" getconnectioncount) || peers="?"
        line+="  node$i h=${height:-?} peers=$peers"
        tips+=("${tip:-?}")
    done
    if [[ $(printf '%s\n' "${tips[@]}" | sort -u | wc -l) -eq 1 && ${tips[0]} != "?" ]]; then
        line+="  (same tip ${tips[0]:0:12}…)"
    else
        line+="  (tips differ)"
    fi
    echo "$line"
    sleep "$STATUS_EVERY" &
    SLEEP_PID=$!
    wait "$SLEEP_PID" || true
done
