#!/usr/bin/env python3
"""NAT traversal lab: real coinrsd processes in Linux network namespaces (needs root).

Topology, private addresses only, made and removed by this script (docs/nat.md):

    P 10.77.1.2 (+ .3) ── wan (router, no route into the LANs) ── RA 10.77.2.2 ── A 192.168.1.2
                                                              └── RB 10.77.3.2 ── B 192.168.2.2

RA and RB are home routers: MASQUERADE from their LAN, unsolicited packets from the WAN
dropped (iptables-legacy, as miniupnpd needs). Nothing is connected to the machine's own
network namespace, so no traffic leaves the lab.

Scenarios ("all", the default, runs each once; scripts/test.sh runs "all"):
  holepunch  A and B know only P: AutoNAT finds P public and A, B private; A and B reserve
             relay slots on P, find each other through P's DHT, connect through the relay,
             and DCUtR makes the connection direct; blocks mined on A reach B and back.
  relayed    as holepunch, but the wan router drops every packet between RA's and RB's WAN
             addresses, so hole punching cannot work: DCUtR reports a failure and A and B
             stay connected through P's relay only (getpeerinfo: "relayed" on both sides, no
             direct connection). P then invalidates B's first block, so it refuses B's
             branch and cannot forward it: the next 100 blocks mined on B reach A, a
             payment sent by B reaches A's mempool (not P's), and the block A mines with it
             reaches B, all over the relayed connection alone (P stays at height 0).
  portmap    miniupnpd (UPnP IGD, NAT-PMP, PCP) on RA, stund on P: A maps its port by UPnP,
             by PCP, then by NAT-PMP alone (RA drops PCP requests with an iptables u32 match
             on the version byte, so the node must fall back), and each time a node on P dials
             A at the mapped address; with mapping off, the same dial fails.

Usage: scripts/netlab.py [--runs N] [--scenario holepunch|relayed|portmap|all] [--keep-logs DIR]
Exit status 0 when every check passed (with --runs N, when every run had at least one direct
upgrade; the success rate is printed).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COINRSD = ROOT / "target" / "debug" / "coinrsd"
P2P_PORT = 19444
RPC_PORT = 19443
ADDR_A = "crt1prwzv24nmzfjypx2a8m264ws9vht3uxp5vpypnluuzl67n4waq78s3uzcem"

RPC_HELPER = r"""
import base64, json, sys, urllib.request
port, method, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
req = urllib.request.Request(
    f"http://127.0.0.1:{port}/",
    data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
    headers={"Content-Type": "application/json",
             "Authorization": "Basic " + base64.b64encode(b"lab:lab").decode()})
try:
    with urllib.request.urlopen(req, timeout=20) as r:
        body = r.read()
except urllib.error.HTTPError as e:
    body = e.read()
print(body.decode())
"""

TCP_PROBE = r"""
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("open")
except OSError as e:
    print("closed", e)
"""


class LabError(Exception):
    pass


def log(msg):
    print(f"[netlab {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(*args, check=True, capture=False):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise LabError(f"{' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout if capture else r


class Node:
    def __init__(self, lab, name, ns, ip, extra, p2p_port=P2P_PORT, rpc_port=RPC_PORT):
        self.lab, self.name, self.ns, self.ip = lab, name, ns, ip
        self.rpc_port = rpc_port
        self.datadir = lab.tmp / name
        self.datadir.mkdir()
        self.logfile = lab.tmp / f"{name}.log"
        args = [
            "ip", "netns", "exec", ns, str(COINRSD), "--chain", "regtest",
            "--datadir", str(self.datadir), f"--bind=0.0.0.0:{p2p_port}",
            f"--rpcbind=127.0.0.1:{rpc_port}", "--rpcuser=lab", "--rpcpassword=lab",
            "--mdns=false", *extra,
        ]
        env = dict(os.environ, RUST_LOG=os.environ.get("NETLAB_LOG", "info"))
        self.out = open(self.logfile, "w")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT, env=env)
        lab.procs.append(self.proc)
        self.peer_id = None

    def rpc(self, method, *params):
        out = run("ip", "netns", "exec", self.ns, sys.executable, "-c", RPC_HELPER,
                  str(self.rpc_port), method, json.dumps(list(params)), check=False, capture=True)
        try:
            answer = json.loads(out)
        except json.JSONDecodeError:
            raise LabError(f"{self.name}: {method}: no JSON answer ({out.strip()[:200]!r})")
        if answer.get("error"):
            raise LabError(f"{self.name}: {method}: {answer['error']}")
        return answer["result"]

    def try_rpc(self, method, *params):
        try:
            return self.rpc(method, *params)
        except LabError:
            return None

    def wait_ready(self):
        wait(lambda: self.proc.poll() is None and self.try_rpc("getnetworkinfo"), 60,
             f"{self.name} answers RPC")
        self.peer_id = self.rpc("getnetworkinfo")["peerid"]

    def netinfo(self):
        return self.try_rpc("getnetworkinfo") or {}

    def peer(self, peer_id):
        for p in self.try_rpc("getpeerinfo") or []:
            if p["peerid"] == peer_id:
                return p
        return None

    def height(self):
        return self.try_rpc("getblockcount") or 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()

    def tail(self, n=40):
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def wait(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.5)
    raise LabError(f"timed out after {timeout} s waiting for: {what}")


class Lab:
    """The namespaces, links, routers and processes of one run; `close` removes them all."""

    def __init__(self, tag):
        self.tag = tag
        self.namespaces = []
        self.procs = []
        self.nodes = []
        self.tmp = Path(tempfile.mkdtemp(prefix="coinrs-netlab-"))

    def ns(self, name):
        full = f"{self.tag}-{name}"
        run("ip", "netns", "add", full)
        self.namespaces.append(full)
        self.sh(full, "ip link set lo up")
        return full

    def sh(self, ns, command):
        return run("ip", "netns", "exec", ns, "sh", "-c", command)

    def link(self, ns1, if1, addr1, ns2, if2, addr2):
        run("ip", "-n", ns1, "link", "add", if1, "type", "veth", "peer", "name", if2,
            "netns", ns2)
        for ns, ifname, addrs in ((ns1, if1, addr1), (ns2, if2, addr2)):
            for a in addrs.split(","):
                run("ip", "-n", ns, "addr", "add", a, "dev", ifname)
            run("ip", "-n", ns, "link", "set", ifname, "up")

    def forward(self, ns):
        self.sh(ns, "echo 1 > /proc/sys/net/ipv4/ip_forward")

    def ipt(self, ns, rule):
        self.sh(ns, f"iptables-legacy {rule}")

    def build(self, firewall=True):
        wan, p, ra, rb, a, b = (self.ns(n) for n in ("wan", "p", "ra", "rb", "a", "b"))
        self.names = dict(wan=wan, p=p, ra=ra, rb=rb, a=a, b=b)
        self.link(wan, "p0", "10.77.1.1/24", p, "eth0", "10.77.1.2/24,10.77.1.3/24")
        self.link(wan, "ra0", "10.77.2.1/24", ra, "wan0", "10.77.2.2/24")
        self.link(wan, "rb0", "10.77.3.1/24", rb, "wan0", "10.77.3.2/24")
        self.link(ra, "lan0", "192.168.1.1/24", a, "eth0", "192.168.1.2/24")
        self.link(rb, "lan0", "192.168.2.1/24", b, "eth0", "192.168.2.2/24")
        self.forward(wan)
        run("ip", "-n", p, "route", "add", "default", "via", "10.77.1.1")
        for r, gw in ((ra, "10.77.2.1"), (rb, "10.77.3.1")):
            run("ip", "-n", r, "route", "add", "default", "via", gw)
            self.forward(r)
            self.home_router(r, firewall)
        run("ip", "-n", a, "route", "add", "default", "via", "192.168.1.1")
        run("ip", "-n", b, "route", "add", "default", "via", "192.168.2.1")

    def home_router(self, r, firewall):
        """MASQUERADE out, established back in, unsolicited forwarding from the WAN refused
        (with `firewall`, also anything unsolicited to the router itself dropped, as most home
        routers do); the MINIUPNPD chains miniupnpd fills (empty while it does not run)."""
        for table, chain, hook, match in (
            ("nat", "MINIUPNPD", "PREROUTING", "-i wan0"),
            ("mangle", "MINIUPNPD", "PREROUTING", "-i wan0"),
            ("filter", "MINIUPNPD", "FORWARD", "-i wan0 ! -o wan0"),
            ("nat", "MINIUPNPD-POSTROUTING", "POSTROUTING", "-o wan0"),
        ):
            self.ipt(r, f"-t {table} -N {chain}")
            self.ipt(r, f"-t {table} -A {hook} {match} -j {chain}")
        self.ipt(r, "-t nat -A POSTROUTING -o wan0 -j MASQUERADE")
        self.ipt(r, "-P FORWARD DROP")
        self.ipt(r, "-A FORWARD -i lan0 -o wan0 -j ACCEPT")
        self.ipt(r, "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
        if firewall:
            self.ipt(r, "-A INPUT -i wan0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
            self.ipt(r, "-A INPUT -i wan0 -j DROP")

    def node(self, name, ns_key, ip, *extra, p2p_port=P2P_PORT, rpc_port=RPC_PORT):
        n = Node(self, name, self.names[ns_key], ip, list(extra), p2p_port, rpc_port)
        self.nodes.append(n)
        return n

    def daemon(self, ns_key, name, *args):
        out = open(self.tmp / f"{name}.log", "w")
        proc = subprocess.Popen(["ip", "netns", "exec", self.names[ns_key], *args],
                                stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def tcp_open(self, ns_key, host, port, timeout=5):
        out = run("ip", "netns", "exec", self.names[ns_key], sys.executable, "-c", TCP_PROBE,
                  host, str(port), str(timeout), check=False, capture=True)
        return out.startswith("open")

    def dump_logs(self):
        for n in self.nodes:
            print(f"----- last lines of {n.name}'s log -----\n{n.tail()}", flush=True)
        for f in sorted(self.tmp.glob("*.log")):
            if f.stem not in {n.name for n in self.nodes}:
                text = f.read_text(errors="replace").splitlines()[-15:]
                print(f"----- last lines of {f.name} -----\n" + "\n".join(text), flush=True)

    def close(self, keep_logs=None):
        for n in self.nodes:
            n.stop()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False)
        if keep_logs:
            dest = Path(keep_logs) / self.tag
            dest.mkdir(parents=True, exist_ok=True)
            for f in self.tmp.glob("*.log"):
                shutil.copy(f, dest / f.name)
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_behind_routers(lab):
    """P, and A and B behind their routers knowing only P: waits until AutoNAT finds P public
    (serving as a relay) and A, B private with a reservation on P, and until A and B are
    connected to each other (found through P's DHT). Returns the nodes P, A, B."""
    common = ["--dht=true", "--private-network=true", "--upnp=false", "--natpmp=false"]
    p = lab.node("p", "p", "10.77.1.2", *common)
    p.wait_ready()
    seed = f"10.77.1.2:{P2P_PORT}"
    a = lab.node("a", "a", "192.168.1.2", *common, f"--addnode={seed}")
    b = lab.node("b", "b", "192.168.2.2", *common, f"--addnode={seed}")
    a.wait_ready()
    b.wait_ready()

    info = wait(lambda: (lambda i: i if i.get("reachability") == "public"
                         and i.get("relayservice") else None)(p.netinfo()),
                90, "P found public by AutoNAT, serving as a relay")
    log(f"P: reachability public, external {info['externaladdresses']}, relay service on")
    for n in (a, b):
        wait(lambda n=n: n.netinfo().get("reachability") == "private", 90,
             f"{n.name} found private by AutoNAT")
        info = wait(lambda n=n: (lambda i: i if any(r["reserved"] for r in i.get("relays", []))
                                 else None)(n.netinfo()),
                    60, f"{n.name} holds a relay reservation on P")
        relayed = [x for x in info["localaddresses"] if "/p2p-circuit" in x]
        if not relayed:
            raise LabError(f"{n.name} does not advertise a relayed address: {info}")
        log(f"{n.name}: private, reserved on P, advertises {relayed[0]}")

    wait(lambda: a.peer(b.peer_id) and b.peer(a.peer_id), 90,
         "A and B connected to each other (found through P)")
    first = a.peer(b.peer_id)
    log(f"A–B connected: {first['connection']} at {first['addr']}")
    return p, a, b


def scenario_holepunch(lab):
    """Returns True when the A–B connection became direct by hole punching."""
    lab.build()
    p, a, b = start_behind_routers(lab)

    def direct():
        pa, pb = a.peer(b.peer_id), b.peer(a.peer_id)
        return pa and pb and pa["connection"] == "direct" and pb["connection"] == "direct"

    upgraded = False
    try:
        wait(direct, 45, "the A–B connection to become direct (DCUtR)")
        upgrades = sum(n.netinfo()["holepunching"]["direct_upgrades"] for n in (a, b))
        upgraded = upgrades >= 1
        log(f"A–B direct: {a.peer(b.peer_id)['addr']} (hole punching upgrades: {upgrades})")
    except LabError as e:
        log(f"no direct upgrade: {e}; holepunching A {a.netinfo().get('holepunching')}, "
            f"B {b.netinfo().get('holepunching')}")

    a.rpc("generatetoaddress", 3, ADDR_A)
    for n in (b, p):
        wait(lambda n=n: n.height() >= 3, 60, f"{n.name} syncs the 3 blocks mined on A")
    b.rpc("generatetoaddress", 2, ADDR_A)
    for n in (a, p):
        wait(lambda n=n: n.height() >= 5, 60, f"{n.name} gets the 2 blocks mined on B")
    tips = {n.name: n.rpc("getbestblockhash") for n in (p, a, b)}
    if len(set(tips.values())) != 1:
        raise LabError(f"tips differ: {tips}")
    log("blocks mined on A reached B and blocks mined on B reached A (height 5, one tip)")
    return upgraded


def drop_counts(lab, ns_key, chain, table="filter"):
    """Packets counted by each DROP rule of an iptables-legacy chain, in rule order."""
    out = lab.sh(lab.names[ns_key], f"iptables-legacy -t {table} -L {chain} -v -n -x").stdout
    return [int(line.split()[0]) for line in out.splitlines()[2:]
            if len(line.split()) > 2 and line.split()[2] == "DROP"]


def scenario_relayed(lab):
    """Hole punching cannot work: the wan router drops every packet between the two home
    routers' WAN addresses (as between two carriers' NATs that cannot reach each other), so
    A and B stay connected through P's relay; blocks both ways and a payment from B to A go
    over that relayed connection."""
    lab.build()
    for src, dst in (("10.77.2.2", "10.77.3.2"), ("10.77.3.2", "10.77.2.2")):
        lab.ipt(lab.names["wan"], f"-A FORWARD -s {src} -d {dst} -j DROP")
    p, a, b = start_behind_routers(lab)

    def relayed_only(when):
        """A and B connected both ways, each through P's relay only. getpeerinfo says
        `direct` as soon as a peer has any direct connection besides the relayed one, so
        `relayed` means no direct connection exists."""
        peers = {}
        for x, y in ((a, b), (b, a)):
            peer = x.peer(y.peer_id)
            if peer is None:
                raise LabError(f"{when}: {x.name} is no longer connected to {y.name}")
            if peer["connection"] != "relayed" or "/p2p-circuit" not in peer["addr"] \
                    or not peer["addr"].startswith(f"/ip4/10.77.1.2/tcp/{P2P_PORT}/"):
                raise LabError(f"{when}: {x.name}'s connection to {y.name} is not relayed "
                               f"through P only: {peer}")
            peers[x.name] = peer
        return peers

    relayed_only("after connecting")
    # Hole punching is tried and fails: the direct dials (DCUtR's simultaneous ones, and dials
    # to the addresses the peers were observed at) hit the cut between the routers, where both
    # DROP rules count packets, and DCUtR gives up (it retries every address three times).
    wait(lambda: all(n > 0 for n in drop_counts(lab, "wan", "FORWARD")), 30,
         "direct A–B packets dropped between RA and RB (a direct attempt was made)")
    wait(lambda: any(n.netinfo()["holepunching"]["failures"] for n in (a, b)), 90,
         "DCUtR to report a hole punching failure on A or B")
    punch = {n.name: n.netinfo()["holepunching"] for n in (a, b)}
    if any(h["direct_upgrades"] for h in punch.values()):
        raise LabError(f"a direct upgrade through a cut path: {punch}")
    relayed_only("after hole punching failed")
    log(f"hole punching failed ({punch}); direct packets dropped between the routers "
        f"{drop_counts(lab, 'wan', 'FORWARD')}; A–B stay relayed through P, no direct connection")

    a.rpc("createwallet", "a")
    b.rpc("createwallet", "b")
    addr_a, addr_b = a.rpc("getnewaddress"), b.rpc("getnewaddress")
    # P would forward B's blocks to A over its direct connections, so the relayed one would
    # not have to carry them. P is made to refuse B's branch: it invalidates B's first block
    # (an honest refusal, no ban), so from then on every block and transaction of that branch
    # can reach A only over the relayed A-B connection.
    first = b.rpc("generatetoaddress", 1, addr_b)[0]
    wait(lambda: p.try_rpc("getbestblockhash") == first, 30, "P gets B's first block")
    p.rpc("invalidateblock", first)
    wait(lambda: a.try_rpc("getbestblockhash") == first, 30, "A gets B's first block")
    before = relayed_only("before mining")
    b.rpc("generatetoaddress", 100, addr_b)
    wait(lambda: a.height() >= 101, 90, "A gets the 100 blocks mined on B, over the relay only")
    if p.height() != 0:
        raise LabError(f"P took B's branch after invalidating it: height {p.height()}")
    after = relayed_only("after B's blocks")
    got = after["a"]["bytesrecv"] - before["a"]["bytesrecv"]
    log(f"100 blocks mined on B reached A over the relayed connection alone (P refuses that "
        f"branch and stayed at height 0; A received {got} bytes from B)")

    txid = b.rpc("sendtoaddress", addr_a, 12.5)
    wait(lambda: txid in (a.try_rpc("getrawmempool") or []), 30,
         f"B's payment {txid} in A's mempool")
    if txid in (p.try_rpc("getrawmempool") or []):
        raise LabError(f"P accepted B's payment {txid} on a branch it refuses")
    mined = a.rpc("generatetoaddress", 1, addr_a)[0]
    wait(lambda: b.try_rpc("getbestblockhash") == mined, 30,
         f"B gets block {mined} mined on A")
    if txid not in a.rpc("getblock", mined)["tx"]:
        raise LabError(f"A's block {mined} does not hold B's payment {txid}")
    if b.rpc("getrawmempool"):
        raise LabError(f"B's mempool not empty after A's block: {b.rpc('getrawmempool')}")
    end = relayed_only("at the end")
    log(f"B's payment reached A's mempool, A mined it at height 102, B got that block (B "
        f"received {end['b']['bytesrecv'] - after['b']['bytesrecv']} bytes from A over the "
        "relay); still relayed, no direct connection")
    tips = {n.name: n.rpc("getbestblockhash") for n in (a, b)}
    if len(set(tips.values())) != 1 or p.height() != 0:
        raise LabError(f"tips differ: {tips}, P at height {p.height()}")


MINIUPNPD_CONF = """ext_ifname=wan0
listening_ip=lan0
port=0
enable_upnp=yes
enable_natpmp=yes
secure_mode=yes
system_uptime=yes
ext_perform_stun=yes
ext_stun_host=10.77.1.2
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b
allow 1024-65535 192.168.1.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
"""


def scenario_portmap(lab):
    """miniupnpd on RA: A gets a mapping by UPnP, then by PCP; a node on P dials A at the
    mapped address; with mapping off it cannot."""
    for tool in ("miniupnpd", "stund"):
        if not shutil.which(tool):
            raise LabError(f"{tool} is missing (scripts/test.sh installs miniupnpd-iptables "
                           "and stun-server)")
    lab.build(firewall=False)
    lab.daemon("p", "stund", "stund", "-h", "10.77.1.2", "-a", "10.77.1.3")
    conf = lab.tmp / "miniupnpd.conf"
    conf.write_text(MINIUPNPD_CONF)
    lab.daemon("ra", "miniupnpd", "miniupnpd", "-d", "-f", str(conf),
               "-P", str(lab.tmp / "miniupnpd.pid"))
    wait(lambda: "Port forwarding is now enabled" in (lab.tmp / "miniupnpd.log").read_text(
        errors="replace"), 30, "miniupnpd enables port forwarding (STUN through stund on P)")
    log("RA: miniupnpd running, port forwarding enabled (private WAN address 10.77.2.2)")
    mapped = f"10.77.2.2:{P2P_PORT}"
    base = ["--dht=false", "--private-network=true"]

    def dialler(name):
        return lab.node(name, "p", "10.77.1.2", *base, f"--addnode={mapped}",
                        p2p_port=19544, rpc_port=19543)

    # Without port mapping: nothing reaches A from outside.
    a = lab.node("a-nomap", "a", "192.168.1.2", *base, "--upnp=false", "--natpmp=false")
    a.wait_ready()
    p = dialler("p-nomap")
    p.wait_ready()
    time.sleep(12)
    if p.peer(a.peer_id) or lab.tcp_open("p", "10.77.2.2", P2P_PORT):
        raise LabError("P reached A at 10.77.2.2 with port mapping off")
    if a.netinfo().get("portmapping"):
        raise LabError(f"portmapping not empty with mapping off: {a.netinfo()['portmapping']}")
    log("mapping off: P cannot reach A at the router's address (negative check)")
    p.stop()
    a.stop()

    # NAT-PMP on its own: miniupnpd answers PCP first, so RA then drops every PCP request
    # (UDP to 5351 whose payload starts with version 2; NAT-PMP's is version 0), as a
    # NAT-PMP-only router that ignores PCP would. The node must fall back to NAT-PMP.
    drop_pcp = ("INPUT -i lan0 -p udp --dport 5351 -m u32 --u32 '0>>22&0x3C@8>>24=2' -j DROP")
    for protocol, flags in (("upnp", ["--upnp=true", "--natpmp=false"]),
                            ("pcp", ["--upnp=false", "--natpmp=true"]),
                            ("natpmp", ["--upnp=false", "--natpmp=true"])):
        if protocol == "natpmp":
            try:
                lab.ipt(lab.names["ra"], f"-I {drop_pcp}")
            except LabError as e:
                raise LabError(f"cannot drop PCP requests at RA (the kernel's xt_u32 module, "
                               f"CONFIG_NETFILTER_XT_MATCH_U32, is needed): {e}")
        a = lab.node(f"a-{protocol}", "a", "192.168.1.2", *base, *flags)
        a.wait_ready()

        def mapping(a=a, protocol=protocol):
            for m in a.netinfo().get("portmapping", []):
                if m["protocol"] == protocol and m["external_address"]:
                    return m
            return None

        m = wait(mapping, 60, f"A maps its port by {protocol}")
        if m["external_address"] != "10.77.2.2" or m["external_port"] != P2P_PORT \
                or m["private"] is not True:
            raise LabError(f"unexpected {protocol} mapping: {m}")
        ext = a.netinfo()["externaladdresses"]
        if not any(x.startswith(f"/ip4/10.77.2.2/tcp/{P2P_PORT}") for x in ext):
            raise LabError(f"mapped address not among the external addresses: {ext}")
        p = dialler(f"p-{protocol}")
        p.wait_ready()
        peer = wait(lambda p=p, a=a: p.peer(a.peer_id), 30,
                    f"P dials A at the {protocol} mapping {mapped}")
        if peer["connection"] != "direct" or peer["inbound"]:
            raise LabError(f"P's connection to A is not a direct outbound one: {peer}")
        log(f"{protocol}: A mapped {mapped} (private external address); P dialled A there "
            f"directly ({peer['addr']})")
        if protocol == "natpmp":
            dropped = drop_counts(lab, "ra", "INPUT")
            if not dropped or dropped[0] == 0:
                raise LabError("RA dropped no PCP request: the NAT-PMP check proves nothing "
                               f"(counters {dropped})")
            log(f"natpmp: RA dropped {dropped[0]} PCP request(s); A fell back to NAT-PMP")
        p.stop()
        a.stop()
        wait(lambda: f"dpt:{P2P_PORT}" not in lab.sh(
            lab.names["ra"], "iptables-legacy -t nat -L MINIUPNPD -n").stdout, 20,
             f"the {protocol} mapping removed from the router when A stops")
        log(f"{protocol}: mapping removed when A stopped")


SCENARIOS = {"holepunch": scenario_holepunch, "relayed": scenario_relayed,
             "portmap": scenario_portmap}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1, help="hole punching runs (success rate)")
    ap.add_argument("--scenario", default="all", choices=["all", *SCENARIOS])
    ap.add_argument("--keep-logs", help="copy every run's logs into this folder")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("netlab.py needs root (network namespaces, iptables)")
    if not COINRSD.exists():
        sys.exit(f"{COINRSD} is missing: cargo build --bins first")
    for tool in ("ip", "iptables-legacy"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (scripts/test.sh installs iproute2 and iptables)")

    def on_signal(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    plan = []
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    for name in names:
        plan += [name] * (args.runs if name == "holepunch" else 1)
    failures, punched, punch_runs = [], 0, 0
    for i, name in enumerate(plan):
        lab = Lab(f"nl{os.getpid() % 100000}r{i}")
        log(f"run {i + 1}/{len(plan)}: {name} (namespaces {lab.tag}-*)")
        try:
            result = SCENARIOS[name](lab)
            if name == "holepunch":
                punch_runs += 1
                punched += bool(result)
                if not result:
                    failures.append(f"run {i + 1}: no direct upgrade")
        except LabError as e:
            log(f"FAILED: {e}")
            lab.dump_logs()
            failures.append(f"run {i + 1} ({name}): {e}")
        finally:
            lab.close(args.keep_logs)
    if punch_runs:
        log(f"hole punching: {punched}/{punch_runs} runs upgraded A–B to a direct connection")
    if failures:
        log("FAILED: " + "; ".join(failures))
        sys.exit(1)
    log("all checks passed")


if __name__ == "__main__":
    main()
