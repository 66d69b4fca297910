#!/usr/bin/env python3
"""Independent test vectors for coinrs, computed outside Rust.

Run:  python3 make_vectors.py          (rewrites vectors.json next to this file)
      python3 make_vectors.py --stdout (prints the JSON instead)

Only the Python 3 standard library is used (hashlib, base64, json).  Everything
else (Borsh encoding, compact targets, secp256k1 + BIP340, bech32m, merkle
trees, aserti3-2d) is written here from PROTOCOL.md and the BIP texts.  The
output is deterministic: running the script again reproduces vectors.json
byte for byte.
"""

import base64
import hashlib
import json
import os
import sys

# ---------------------------------------------------------------------------
# hashing, ids
# ---------------------------------------------------------------------------


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def tagged_hash(tag: str, msg: bytes) -> bytes:
    t = sha256(tag.encode())
    return sha256(t + t + msg)


def cid(digest: bytes) -> str:
    """CIDv1, codec raw (0x55), multihash sha2-256 (0x12, 0x20), base32 lower, no padding."""
    assert len(digest) == 32
    raw = bytes([0x01, 0x55, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


# ---------------------------------------------------------------------------
# Borsh encoding of the consensus objects (PROTOCOL.md section 1)
# ---------------------------------------------------------------------------


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def enc_txin(txin) -> bytes:
    txid, vout, sig = txin
    assert len(txid) == 32 and len(sig) == 64
    return txid + u32(vout) + sig


def enc_txout(txout) -> bytes:
    value, pubkey = txout
    assert len(pubkey) == 32
    return u64(value) + pubkey


def enc_tx(tx) -> bytes:
    out = u32(tx["version"])
    out += u32(len(tx["inputs"])) + b"".join(enc_txin(i) for i in tx["inputs"])
    out += u32(len(tx["outputs"])) + b"".join(enc_txout(o) for o in tx["outputs"])
    out += u64(tx["lock_time"])
    assert len(out) == 20 + 100 * len(tx["inputs"]) + 40 * len(tx["outputs"])
    return out


def enc_header(h) -> bytes:
    out = (u32(h["version"]) + u64(h["height"]) + h["prev_hash"] + h["merkle_root"]
           + u64(h["time"]) + u32(h["bits"]) + u64(h["nonce"]))
    assert len(out) == 96
    return out


def enc_block(header, txs) -> bytes:
    return enc_header(header) + u32(len(txs)) + b"".join(enc_tx(t) for t in txs)


def txid(tx) -> bytes:
    return sha256(enc_tx(tx))


# ---------------------------------------------------------------------------
# compact targets (Bitcoin Core arith_uint256::SetCompact / GetCompact)
# ---------------------------------------------------------------------------


def set_compact(bits: int):
    """Returns (target, negative, overflow) with Core's flags; target exact (no 256-bit wrap)."""
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        target = word << (8 * (size - 3))
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return target, negative, overflow


def get_compact(target: int) -> int:
    assert target >= 0
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = target << (8 * (3 - size))
    else:
        compact = target >> (8 * (size - 3))
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    assert compact & ~0x007FFFFF == 0 and size < 256
    return compact | (size << 24)


def bits_valid(bits: int, pow_limit: int) -> bool:
    """PROTOCOL section 3: sign bit with non-zero mantissa, zero target, or target above pow_limit are invalid."""
    mantissa = bits & 0x007FFFFF
    if bits & 0x00800000 and mantissa != 0:
        return False
    target, negative, _ = set_compact(bits)
    if negative:
        return False
    return 0 < target <= pow_limit


def work(target: int) -> int:
    return (1 << 256) // (target + 1)


def hex256(n: int) -> str:
    h = format(n, "x")
    return h.rjust(64, "0")


# ---------------------------------------------------------------------------
# secp256k1 and BIP340 (written from the BIP340 text)
# ---------------------------------------------------------------------------

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def point_add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], P - 2, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], P - 2, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return (x, (lam * (a[0] - x) - a[1]) % P)


def point_mul(pt, k: int):
    acc = None
    while k:
        if k & 1:
            acc = point_add(acc, pt)
        pt = point_add(pt, pt)
        k >>= 1
    return acc


def b32(n: int) -> bytes:
    return n.to_bytes(32, "big")


def i(b: bytes) -> int:
    return int.from_bytes(b, "big")


def lift_x(x: int):
    if x >= P:
        return None
    c = (pow(x, 3, P) + 7) % P
    y = pow(c, (P + 1) // 4, P)
    if y * y % P != c:
        return None
    return (x, y if y % 2 == 0 else P - y)


def xonly_pubkey(seckey: bytes) -> bytes:
    d = i(seckey)
    assert 0 < d < N
    return b32(point_mul(G, d)[0])


def bip340_sign(seckey: bytes, msg: bytes, aux: bytes) -> bytes:
    d0 = i(seckey)
    if not 0 < d0 < N:
        raise ValueError("bad secret key")
    Pt = point_mul(G, d0)
    d = d0 if Pt[1] % 2 == 0 else N - d0
    t = bytes(x ^ y for x, y in zip(b32(d), tagged_hash("BIP0340/aux", aux)))
    k0 = i(tagged_hash("BIP0340/nonce", t + b32(Pt[0]) + msg)) % N
    if k0 == 0:
        raise ValueError("k = 0")
    R = point_mul(G, k0)
    k = k0 if R[1] % 2 == 0 else N - k0
    e = i(tagged_hash("BIP0340/challenge", b32(R[0]) + b32(Pt[0]) + msg)) % N
    sig = b32(R[0]) + b32((k + e * d) % N)
    assert bip340_verify(b32(Pt[0]), msg, sig)
    return sig


def bip340_verify(pubkey: bytes, msg: bytes, sig: bytes) -> bool:
    if len(pubkey) != 32 or len(sig) != 64:
        return False
    Pt = lift_x(i(pubkey))
    if Pt is None:
        return False
    r, s = i(sig[:32]), i(sig[32:])
    if r >= P or s >= N:
        return False
    e = i(tagged_hash("BIP0340/challenge", sig[:32] + pubkey + msg)) % N
    R = point_add(point_mul(G, s), point_mul(Pt, N - e))
    if R is None or R[1] % 2 != 0 or R[0] != r:
        return False
    return True


# ---------------------------------------------------------------------------
# bech32 / bech32m (written from the BIP173 / BIP350 texts)
# ---------------------------------------------------------------------------

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3


def polymod(values) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for k in range(5):
            if (top >> k) & 1:
                chk ^= gen[k]
    return chk


def hrp_expand(hrp: str):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_create_checksum(hrp: str, data, const: int):
    pm = polymod(hrp_expand(hrp) + list(data) + [0] * 6) ^ const
    return [(pm >> 5 * (5 - k)) & 31 for k in range(6)]


def bech32_encode(hrp: str, data, const: int) -> str:
    full = list(data) + bech32_create_checksum(hrp, data, const)
    return hrp + "1" + "".join(CHARSET[d] for d in full)


def bech32_decode(s: str):
    """Returns (hrp, data, const) or None."""
    if any(ord(c) < 33 or ord(c) > 126 for c in s):
        return None
    if s.lower() != s and s.upper() != s:
        return None
    if len(s) > 90:
        return None
    s = s.lower()
    pos = s.rfind("1")
    if pos < 1 or pos + 7 > len(s):
        return None
    if any(c not in CHARSET for c in s[pos + 1:]):
        return None
    hrp = s[:pos]
    data = [CHARSET.find(c) for c in s[pos + 1:]]
    pm = polymod(hrp_expand(hrp) + data)
    if pm == BECH32_CONST:
        return hrp, data[:-6], BECH32_CONST
    if pm == BECH32M_CONST:
        return hrp, data[:-6], BECH32M_CONST
    return None


def convertbits(data, frombits: int, tobits: int, pad: bool):
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for v in data:
        if v < 0 or v >> frombits:
            return None
        acc = (acc << frombits) | v
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def segwit_encode(hrp: str, witver: int, program: bytes) -> str:
    const = BECH32_CONST if witver == 0 else BECH32M_CONST
    addr = bech32_encode(hrp, [witver] + convertbits(program, 8, 5, True), const)
    assert segwit_decode(hrp, addr) == (witver, program)
    return addr


def segwit_decode(hrp: str, addr: str):
    """Returns (witver, program) or None."""
    dec = bech32_decode(addr)
    if dec is None:
        return None
    hrpgot, data, const = dec
    if hrpgot != hrp or len(data) < 1 or data[0] > 16:
        return None
    prog = convertbits(data[1:], 5, 8, False)
    if prog is None or len(prog) < 2 or len(prog) > 40:
        return None
    if data[0] == 0 and len(prog) not in (20, 32):
        return None
    if (data[0] == 0) != (const == BECH32_CONST):
        return None
    return data[0], bytes(prog)


def coinrs_address(hrp: str, pubkey: bytes) -> str:
    """PROTOCOL section 6: segwit v1, bech32m, 32-byte program = pubkey."""
    assert len(pubkey) == 32
    return segwit_encode(hrp, 1, pubkey)


# ---------------------------------------------------------------------------
# merkle tree (PROTOCOL section 2: odd last hash moves up unchanged)
# ---------------------------------------------------------------------------


def merkle_root(hashes):
    level = list(hashes)
    assert level
    while len(level) > 1:
        nxt = [sha256(level[k] + level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_branch(hashes, index):
    """List of (sibling, sibling_is_left), from the leaf level upwards.
    A level where the node has no sibling (it moves up unchanged) adds nothing."""
    level = list(hashes)
    branch = []
    while len(level) > 1:
        if index % 2 == 1:
            branch.append((level[index - 1], True))
        elif index + 1 < len(level):
            branch.append((level[index + 1], False))
        nxt = [sha256(level[k] + level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        index //= 2
    return branch


def merkle_apply_branch(leaf, branch):
    h = leaf
    for sib, left in branch:
        h = sha256(sib + h) if left else sha256(h + sib)
    return h


# ---------------------------------------------------------------------------
# aserti3-2d (PROTOCOL section 3; BCH Nov 2020 spec)
# ---------------------------------------------------------------------------


def div_trunc(a: int, b: int) -> int:
    """Integer division truncating toward zero (like C/Rust), b > 0."""
    assert b > 0
    q = abs(a) // b
    return q if a >= 0 else -q


def asert_target(anchor_target, spacing, half_life, time_delta, height_delta, pow_limit):
    exponent = div_trunc((time_delta - spacing * (height_delta + 1)) * 65536, half_life)
    shifts = exponent >> 16          # arithmetic (floor) shift
    frac = exponent & 0xFFFF         # 0 <= frac < 65536
    factor = 65536 + ((195766423245049 * frac + 971821376 * frac ** 2
                       + 5127 * frac ** 3 + 2 ** 47) >> 48)
    t = anchor_target * factor
    t = t << shifts if shifts >= 0 else t >> -shifts
    t >>= 16
    if t == 0:
        t = 1
    if t > pow_limit:
        t = pow_limit
    return t


def asert_next_bits(anchor_height, anchor_parent_time, anchor_bits, parent_height, parent_time,
                    spacing, half_life, pow_limit):
    anchor_target = set_compact(anchor_bits)[0]
    t = asert_target(anchor_target, spacing, half_life, parent_time - anchor_parent_time,
                     parent_height - anchor_height, pow_limit)
    return get_compact(t)


# ---------------------------------------------------------------------------
# chain helpers
# ---------------------------------------------------------------------------


def subsidy(height, initial, halving_interval):
    halvings = height // halving_interval
    return 0 if halvings >= 64 else initial >> halvings


def median_time_past(times, height):
    """times[h] = time of block h; MTP for a block at `height` (uses blocks height-n .. height-1)."""
    n = min(11, height)
    prev = sorted(times[height - n:height])
    return prev[n // 2]


# ---------------------------------------------------------------------------
# vector generation
# ---------------------------------------------------------------------------

ZERO32 = bytes(32)
COIN = 100_000_000


def h(b: bytes) -> str:
    return b.hex()


def tx_json(tx):
    return {
        "version": tx["version"],
        "inputs": [{"prevout": {"txid": h(t), "vout": v}, "signature": h(s)} for t, v, s in tx["inputs"]],
        "outputs": [{"value": val, "pubkey": h(pk)} for val, pk in tx["outputs"]],
        "lock_time": tx["lock_time"],
    }


def header_json(hd):
    return {
        "version": hd["version"], "height": hd["height"], "prev_hash": h(hd["prev_hash"]),
        "merkle_root": h(hd["merkle_root"]), "time": hd["time"], "bits": "0x%08x" % hd["bits"],
        "nonce": hd["nonce"],
    }


def make_genesis():
    genesis_time = 1523724808
    genesis_bits = 0x207FFFFF
    initial_subsidy = 50 * COIN
    target = set_compact(genesis_bits)[0]
    coinbase = {"version": 1, "inputs": [], "outputs": [(initial_subsidy, ZERO32)], "lock_time": 0}
    cb_id = txid(coinbase)
    header = {"version": 1, "height": 0, "prev_hash": ZERO32, "merkle_root": merkle_root([cb_id]),
              "time": genesis_time, "bits": genesis_bits, "nonce": 0}
    tries = []
    while True:
        bh = sha256(enc_header(header))
        if i(bh) <= target:
            break
        tries.append({"nonce": header["nonce"], "hash": h(bh)})
        header["nonce"] += 1
    block_hash = sha256(enc_header(header))
    return {
        "chain": "regtest",
        "params": {"genesis_time": genesis_time, "genesis_bits": "0x%08x" % genesis_bits,
                   "initial_subsidy": initial_subsidy},
        "target": hex256(target),
        "coinbase": tx_json(coinbase),
        "coinbase_hex": h(enc_tx(coinbase)),
        "coinbase_txid": h(cb_id),
        "coinbase_txid_cid": cid(cb_id),
        "header": header_json(header),
        "header_hex": h(enc_header(header)),
        "nonce": header["nonce"],
        "rejected_nonces": tries,
        "block_hash": h(block_hash),
        "block_hash_cid": cid(block_hash),
        "block_hex": h(enc_block(header, [coinbase])),
    }


def make_compact():
    regtest_limit = set_compact(0x207FFFFF)[0]
    cases = [
        (0x207FFFFF, "regtest genesis bits / pow_limit"),
        (0x1D00FFFF, "Bitcoin mainnet pow limit"),
        (0x1E0FFFFF, "4-byte-ish easy target"),
        (0x1B0404CB, "Bitcoin wiki example"),
        (0x1802AEE8, "ASERT vector anchor"),
        (0x03123456, "exponent 3: target = mantissa"),
        (0x02123456, "exponent 2: mantissa shifted right 8"),
        (0x01123456, "exponent 1: mantissa shifted right 16"),
        (0x01010000, "smallest positive target, 1"),
        (0x04123456, "exponent 4"),
        (0x05009234, "non-canonical but valid (leading zero byte in mantissa)"),
        (0x20123456, "exponent 32"),
        (0x21000001, "exponent 33, tiny mantissa: fits 256 bits, far above regtest pow_limit"),
        (0x207FFFFF + 1, "0x20800000: sign bit set but mantissa zero -> target 0"),
        (0x04923456, "sign bit with non-zero mantissa (negative)"),
        (0x01FEDCBA, "sign bit, exponent 1: word 0x7e after shift -> negative (Core), target 0x7e"),
        (0x01803456, "sign bit + non-zero mantissa, but exponent 1 shifts the word to 0: Core negative=false, target 0; invalid either way"),
        (0x01003456, "exponent 1, mantissa < 2^16 -> target 0"),
        (0x00123456, "exponent 0 -> target 0"),
        (0x00000000, "all zero -> target 0"),
        (0x22000100, "exponent 34, mantissa 0x100: exceeds 256 bits (Core overflow)"),
        (0x23000001, "exponent 35: exceeds 256 bits (Core overflow)"),
        (0x21010000, "exponent 33, mantissa > 0xffff: exceeds 256 bits (Core overflow)"),
        (0xFF123456, "exponent 255: huge exact target (Core overflow)"),
        (0x2100FFFF, "exponent 33, mantissa 0xffff: 2^256 > target, no overflow, above pow_limit"),
    ]
    out = []
    for bits, note in cases:
        target, negative, overflow = set_compact(bits)
        canonical = get_compact(target) if target and not negative and target < (1 << 256) else None
        out.append({
            "bits": "0x%08x" % bits,
            "note": note,
            "target": hex256(target),
            "negative": negative,
            "overflow": overflow,
            "zero": target == 0,
            "fits_256_bits": target < (1 << 256),
            "valid_under_regtest_pow_limit": bits_valid(bits, regtest_limit),
            "canonical_bits": None if canonical is None else "0x%08x" % canonical,
        })
    to_compact = []
    for t in [1, 0x7F, 0x80, 0xFF, 0x1234, 0x123456, 0x800000, 0x12345678,
              0xFFFF << 208, (1 << 224) - 1, regtest_limit, (1 << 255), (1 << 256) - 1,
              0x92340000, 0x00923456 << 8]:
        to_compact.append({"target": hex256(t), "bits": "0x%08x" % get_compact(t)})
    works = []
    for bits in [0x207FFFFF, 0x1D00FFFF, 0x1E0FFFFF, 0x1802AEE8, 0x01010000]:
        t = set_compact(bits)[0]
        works.append({"bits": "0x%08x" % bits, "target": hex256(t), "work": hex256(work(t)),
                      "work_dec": str(work(t))})
    # cumulative chainwork example: genesis + 2 blocks at regtest bits
    chainwork = [{"height": k, "chainwork": hex256(work(regtest_limit) * (k + 1))} for k in range(3)]
    return {"regtest_pow_limit": hex256(regtest_limit), "bits_to_target": out,
            "target_to_bits": to_compact, "work": works, "regtest_chainwork": chainwork}


def make_signed_tx():
    sk = [bytes([0x01] * 32), bytes([0x02] * 32)]
    pk = [xonly_pubkey(k) for k in sk]
    aux = [bytes(32), bytes([0x11] * 32)]
    inputs = [(bytes([0xAA] * 32), 0, bytes(64)), (bytes([0xBB] * 32), 1, bytes(64))]
    outputs = [(30 * COIN, pk[1]), (19 * COIN + 99_990_000, pk[0])]
    tx = {"version": 1, "inputs": inputs, "outputs": outputs, "lock_time": 5}
    unsigned = enc_tx(tx)  # every signature is 64 zero bytes
    sighashes = [tagged_hash("coinrs/sighash", unsigned + u32(k)) for k in range(len(inputs))]
    sigs = [bip340_sign(sk[k], sighashes[k], aux[k]) for k in range(len(inputs))]
    signed = dict(tx, inputs=[(t, v, sigs[k]) for k, (t, v, _) in enumerate(inputs)])
    for k in range(len(inputs)):
        assert bip340_verify(pk[k], sighashes[k], sigs[k])
    # sighash does not depend on the signatures already present
    assert tagged_hash("coinrs/sighash", enc_tx(dict(signed, inputs=[(t, v, bytes(64)) for t, v, _ in signed["inputs"]])) + u32(0)) == sighashes[0]
    signed_id = txid(signed)
    return {
        "keys": [{"secret_key": h(sk[k]), "xonly_pubkey": h(pk[k])} for k in range(2)],
        "spends": [{"input": k, "secret_key_index": k, "aux_rand": h(aux[k])} for k in range(2)],
        "tx": tx_json(signed),
        "unsigned_tx_hex": h(unsigned),
        "sighash_preimage_input0_hex": h(unsigned + u32(0)),
        "sighashes": [h(s) for s in sighashes],
        "signatures": [h(s) for s in sigs],
        "signed_tx_hex": h(enc_tx(signed)),
        "txid": h(signed_id),
        "txid_cid": cid(signed_id),
        "unsigned_txid": h(sha256(unsigned)),
        "encoded_length": len(enc_tx(signed)),
    }


def make_merkle():
    out = []
    for count in [1, 2, 3, 4, 5, 7, 8, 11]:
        leaves = [sha256(bytes([k])) for k in range(count)]
        root = merkle_root(leaves)
        idxs = sorted(set([0, count - 1, count // 2]))
        branches = []
        for idx in idxs:
            br = merkle_branch(leaves, idx)
            assert merkle_apply_branch(leaves[idx], br) == root
            branches.append({"index": idx, "leaf": h(leaves[idx]),
                             "branch": [{"hash": h(s), "left": left} for s, left in br]})
        out.append({"count": count, "leaves": [h(x) for x in leaves], "root": h(root),
                    "root_cid": cid(root), "branches": branches})
    return out


def make_addresses(signed):
    keys = [bytes.fromhex(k["xonly_pubkey"]) for k in signed["keys"]]
    out = []
    for pk in keys + [ZERO32]:
        for hrp in ["crt", "cdev"]:
            out.append({"pubkey": h(pk), "hrp": hrp, "address": coinrs_address(hrp, pk)})
    return out


def make_subsidy():
    out = []
    for chain, interval in [("regtest", 150), ("devnet", 210_000)]:
        for hh in [0, 149, 150, 299, 300, 4800, 4950, 9450, 9600] if chain == "regtest" else \
                [0, 209_999, 210_000, 420_000, 6_720_000, 6_930_000, 13_230_000, 13_440_000]:
            out.append({"chain": chain, "halving_interval": interval, "initial_subsidy": 50 * COIN,
                        "height": hh, "halvings": hh // interval,
                        "subsidy": subsidy(hh, 50 * COIN, interval)})
    return out


def make_mtp():
    examples = []
    lists = [
        ("increasing by 600 from genesis", [1523724808 + 600 * k for k in range(15)]),
        ("out of order times", [1000, 1600, 1500, 2200, 1900, 2600, 2500, 3000, 2900, 3500, 3400, 4000, 3900,
                                4600, 100, 4400]),
        ("all equal", [5000] * 14),
    ]
    for name, times in lists:
        res = []
        for height in range(1, len(times) + 1):
            res.append({"height": height, "mtp": median_time_past(times, height)})
        examples.append({"name": name, "times": times, "mtp": res})
    return examples


def make_asert_examples():
    """Extra aserti3-2d cases with coinrs-like (easy) parameters; the pow_limit is above 2^224,
    so the intermediate product needs more than 256 bits."""
    out = []
    limit_bits = 0x207FFFFF
    pow_limit = set_compact(limit_bits)[0]
    spacing, half_life = 10, 3600
    t1 = 1_700_000_000
    anchor_parent_time = t1 - spacing
    cases = [
        ("block 2 on schedule", 1, t1),
        ("block 3 on schedule", 2, t1 + 10),
        ("1000 blocks on schedule", 1000, t1 + 9990),
        ("slow: clamps to pow_limit", 10, t1 + 10_000),
        ("one half-life ahead", 361, t1 + 3600 - 3600),
        ("two half-lives ahead", 721, t1 + 7200 - 7200),
        ("half a half-life ahead", 181, t1 + 1800 - 1800),
        ("fast by 1 second", 101, t1 + 999),
        ("very fast: 40 half-lives ahead", 14_401, t1),
        ("extremely fast: clamps to target 1", 1_000_001, t1),
        ("parent time before anchor parent time", 5, t1 - 1000),
    ]
    for name, parent_height, parent_time in cases:
        nb = asert_next_bits(1, anchor_parent_time, limit_bits, parent_height, parent_time,
                             spacing, half_life, pow_limit)
        out.append({"name": name, "anchor_height": 1, "anchor_parent_time": anchor_parent_time,
                    "anchor_bits": "0x%08x" % limit_bits, "pow_limit_bits": "0x%08x" % limit_bits,
                    "target_spacing": spacing, "half_life": half_life,
                    "parent_height": parent_height, "parent_time": parent_time,
                    "next_height": parent_height + 1, "next_bits": "0x%08x" % nb,
                    "next_target": hex256(set_compact(nb)[0])})
    # same idea with an anchor below the pow limit (so "slow" makes it easier, not clamped)
    anchor_bits = 0x1F00FFFF
    for name, parent_height, parent_time in [("anchor below limit, slow by one half-life", 10, t1 + 90 + 3600),
                                             ("anchor below limit, fast by one half-life", 370, t1 + 3690 - 3600)]:
        nb = asert_next_bits(1, anchor_parent_time, anchor_bits, parent_height, parent_time,
                             spacing, half_life, pow_limit)
        out.append({"name": name, "anchor_height": 1, "anchor_parent_time": anchor_parent_time,
                    "anchor_bits": "0x%08x" % anchor_bits, "pow_limit_bits": "0x%08x" % limit_bits,
                    "target_spacing": spacing, "half_life": half_life,
                    "parent_height": parent_height, "parent_time": parent_time,
                    "next_height": parent_height + 1, "next_bits": "0x%08x" % nb,
                    "next_target": hex256(set_compact(nb)[0])})
    return out


def make_all():
    signed = make_signed_tx()
    return {
        "generator": "make_vectors.py (Python 3 standard library only); see README.md",
        "genesis_regtest": make_genesis(),
        "compact": make_compact(),
        "signed_tx": signed,
        "merkle": make_merkle(),
        "addresses": make_addresses(signed),
        "subsidy": make_subsidy(),
        "median_time_past": make_mtp(),
        "asert_examples": make_asert_examples(),
    }


def main():
    text = json.dumps(make_all(), indent=2) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
        return
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
    with open(path, "w") as f:
        f.write(text)
    print("wrote", path)


if __name__ == "__main__":
    main()
