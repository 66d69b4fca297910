"""An independent JSON-RPC client against coinrsd: python-bitcoinrpc's AuthServiceProxy,
logging in with the node's cookie. Used by crates/node/tests/it/python_client.rs.

usage: client.py COOKIE_FILE PORT ADDRESS

Prints one JSON object summarising the answers (Decimals as strings, exactly as parsed).
"""

import decimal
import json
import sys

from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException


def plain(value):
    """JSON-ready copy of an answer: Decimals become their exact text (exponent as "e")."""
    if isinstance(value, decimal.Decimal):
        return str(value).replace("E", "e")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main():
    cookie_file, port, address = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(cookie_file) as f:
        user, password = f.read().strip().split(":", 1)
    assert user == "__cookie__", user
    rpc = AuthServiceProxy("http://%s:%s@127.0.0.1:%d" % (user, password, port), timeout=60)

    summary = {}
    summary["count_before"] = rpc.getblockcount()
    summary["generated"] = rpc.generatetoaddress(3, address)
    summary["count"] = rpc.getblockcount()
    summary["best"] = rpc.getbestblockhash()
    summary["genesis"] = rpc.getblockhash(0)
    block = rpc.getblock(summary["best"])
    summary["block"] = plain(block)
    verbose = rpc.getblock(summary["best"], 2)
    value = verbose["tx"][0]["vout"][0]["value"]
    summary["coinbase_value_type"] = type(value).__name__
    summary["coinbase_value"] = str(value)
    summary["info"] = plain(rpc.getblockchaininfo())
    summary["difficulty_type"] = type(rpc.getdifficulty()).__name__
    # python-bitcoinrpc sends Decimals as floats, so small amounts go out in exponent form
    # (0.00001 as 1e-05), which Core accepts.
    amounts = {}
    for amount in ["0.00001", "0.5", "21", "0.00000001"]:
        try:
            raw = rpc.createrawtransaction(
                [{"txid": "ab" * 32, "vout": 0}], {address: decimal.Decimal(amount)}
            )
            amounts[amount] = format(rpc.decoderawtransaction(raw)["vout"][0]["value"], "f")
        except JSONRPCException as e:
            amounts[amount] = {"code": e.code, "message": e.message}
    summary["amounts"] = amounts
    errors = {}
    for name, call in [
        ("height_out_of_range", lambda: rpc.getblockhash(1000)),
        ("unknown_block", lambda: rpc.getblock("00" * 32)),
        ("unknown_method", lambda: rpc.nosuchmethod()),
    ]:
        try:
            call()
            errors[name] = None
        except JSONRPCException as e:
            errors[name] = {"code": e.code, "message": e.message}
    summary["errors"] = errors
    # The connection is kept alive between calls; it still works after the errors.
    summary["count_after_errors"] = rpc.getblockcount()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
