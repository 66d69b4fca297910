#!/usr/bin/env python3
"""Cross-check the published vectors in this folder against the helpers of make_vectors.py.

  python3 check_published.py      -> prints a summary, exit status 1 on any mismatch

Checks:
  * bip340_vectors.csv: every row verifies (or fails) as stated; rows with a secret key
    also reproduce the public key and the signature byte for byte (BIP340 sign with aux_rand).
  * bip350_vectors.json: bech32m valid/invalid strings, valid segwit addresses (decode to the
    given scriptPubKey and re-encode), invalid addresses rejected (HRP tried: "bc" and "tb").
  * asert/runNN.txt: every line reproduced by asert_next_bits() with the BCH mainnet
    parameters (target spacing 600 s, half-life 172800 s, pow_limit 2^224 - 1).
"""

import csv
import glob
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vectors as mv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check_bip340():
    n = 0
    with open(os.path.join(HERE, "bip340_vectors.csv"), newline="") as f:
        for row in csv.DictReader(f):
            n += 1
            idx = row["index"]
            pk = bytes.fromhex(row["public key"])
            msg = bytes.fromhex(row["message"])
            sig = bytes.fromhex(row["signature"])
            want = row["verification result"] == "TRUE"
            if row["secret key"]:
                sk = bytes.fromhex(row["secret key"])
                if mv.xonly_pubkey(sk) != pk:
                    failures.append("bip340 %s: pubkey" % idx)
                got_sig = mv.bip340_sign(sk, msg, bytes.fromhex(row["aux_rand"]))
                if got_sig != sig:
                    failures.append("bip340 %s: signature" % idx)
            if mv.bip340_verify(pk, msg, sig) != want:
                failures.append("bip340 %s: verify" % idx)
    return n


def script_pubkey(witver, prog):
    return bytes([witver + 0x50 if witver else 0, len(prog)]) + prog


def check_bip350():
    with open(os.path.join(HERE, "bip350_vectors.json")) as f:
        d = json.load(f)
    n = 0
    for s in d["bech32m_valid_strings"]:
        n += 1
        dec = mv.bech32_decode(s)
        if dec is None or dec[2] != mv.BECH32M_CONST:
            failures.append("bech32m valid: " + s)
    for e in d["bech32m_invalid_strings"]:
        n += 1
        dec = mv.bech32_decode(e["string"])
        if dec is not None and dec[2] == mv.BECH32M_CONST:
            failures.append("bech32m invalid accepted: %r" % e["string"])
    for e in d["valid_addresses"]:
        n += 1
        addr = e["address"]
        hrp = addr.lower()[:2]
        res = mv.segwit_decode(hrp, addr)
        if res is None or script_pubkey(*res).hex() != e["scriptPubKey"]:
            failures.append("segwit valid: " + addr)
            continue
        if mv.segwit_encode(hrp, res[0], res[1]) != addr.lower():
            failures.append("segwit re-encode: " + addr)
    for e in d["invalid_addresses"]:
        n += 1
        if any(mv.segwit_decode(hrp, e["address"]) is not None for hrp in ("bc", "tb")):
            failures.append("segwit invalid accepted: " + e["address"])
    return n


def parse_run(path):
    hdr, rows = {}, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("##"):
                k, _, v = line[2:].partition(":")
                hdr[k.strip()] = v.strip()
            elif line.startswith("#") or not line.strip():
                continue
            else:
                it, height, time, bits = line.split()
                rows.append((int(it), int(height), int(time), int(bits, 16)))
    return hdr, rows


def check_asert():
    pow_limit = (1 << 224) - 1  # BCH mainnet powLimit
    results = {}
    for path in sorted(glob.glob(os.path.join(HERE, "asert", "run*.txt"))):
        hdr, rows = parse_run(path)
        anchor_height = int(hdr["anchor height"])
        anchor_parent_time = int(hdr.get("anchor parent time", hdr.get("anchor ancestor time")))
        anchor_bits = int(hdr["anchor nBits"], 16)
        assert int(hdr["iterations"]) == len(rows), path
        assert rows[0][1] == int(hdr["start height"]) and rows[0][2] == int(hdr["start time"]), path
        bad = 0
        for it, height, time, bits in rows:
            got = mv.asert_next_bits(anchor_height, anchor_parent_time, anchor_bits, height, time,
                                     600, 172800, pow_limit)
            if got != bits:
                bad += 1
                failures.append("%s iteration %d: got 0x%08x want 0x%08x" % (os.path.basename(path), it, got, bits))
        results[os.path.basename(path)] = (len(rows), bad)
    return results


def main():
    print("bip340_vectors.csv: %d rows checked" % check_bip340())
    print("bip350_vectors.json: %d items checked" % check_bip350())
    for name, (n, bad) in check_asert().items():
        print("%s: %d lines, %d mismatches" % (name, n, bad))
    if failures:
        print("FAILURES:")
        for x in failures[:50]:
            print("  " + x)
        sys.exit(1)
    print("all published vectors reproduced")


if __name__ == "__main__":
    main()
