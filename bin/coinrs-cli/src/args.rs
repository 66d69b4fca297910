//! Turning command-line words into JSON-RPC params, as bitcoin-cli does: a per-method table
//! lists the positions that are JSON (numbers, booleans, arrays, objects); every other
//! argument is sent as a string, so `walletpassphrase 1234 60` sends `["1234", 60]`.

use serde_json::Value;

/// For each method, the zero-based positions of its arguments that are parsed as JSON.
/// Methods not listed (and positions not listed) take plain strings. Positions follow
/// Bitcoin Core's `vRPCConvertParams` for the same methods, so optional arguments that
/// coinrs may not take yet are converted the same way if it ever does.
pub const JSON_PARAMS: &[(&str, &[usize])] = &[
    // Chain
    ("getblockhash", &[0]),          // height
    ("getblockheader", &[1]),        // verbose
    ("getblock", &[1]),              // verbosity
    ("gettxout", &[1, 2]),           // n, include_mempool
    ("gettxoutsetinfo", &[1, 2]),    // hash_or_height, use_index
    ("verifychain", &[0, 1]),        // checklevel, nblocks
    ("waitforblockheight", &[0, 1]), // height, timeout
    ("waitforblock", &[1]),          // timeout
    ("waitfornewblock", &[0]),       // timeout
    // Transactions
    ("getrawtransaction", &[1]),             // verbose
    ("decoderawtransaction", &[1]),          // iswitness
    ("createrawtransaction", &[0, 1, 2, 3]), // inputs, outputs, locktime, replaceable
    ("sendrawtransaction", &[1, 2]),         // maxfeerate, maxburnamount
    ("testmempoolaccept", &[0, 1]),          // rawtxs, maxfeerate
    // Mempool
    ("getrawmempool", &[0, 1]),         // verbose, mempool_sequence
    ("prioritisetransaction", &[1, 2]), // dummy, fee_delta
    ("estimatesmartfee", &[0]),         // conf_target
    // Mining
    ("getblocktemplate", &[0]),     // template_request
    ("generatetoaddress", &[0, 2]), // nblocks, maxtries
    ("generateblock", &[1, 2]),     // transactions, submit
    ("getnetworkhashps", &[0, 1]),  // nblocks, height
    // Network
    ("disconnectnode", &[0, 1]), // address or id (a word that is not JSON stays a string), nodeid
    ("setban", &[2, 3]),         // bantime, absolute
    ("setnetworkactive", &[0]),  // state
    // IPFS
    ("exportcar", &[0, 1]), // from_height, to_height
    // Wallet
    // disable_private_keys, blank; coinrs takes a mnemonic and its BIP39 passphrase (strings)
    // where Core has avoid_reuse and descriptors.
    ("createwallet", &[1, 2]),
    ("loadwallet", &[1]),                       // load_on_startup
    ("unloadwallet", &[1]),                     // load_on_startup
    ("restorewallet", &[2]),                    // load_on_startup
    ("getbalance", &[1, 2, 3]),                 // minconf, include_watchonly, avoid_reuse
    ("listunspent", &[0, 1, 2, 3, 4]), // minconf, maxconf, addresses, include_unsafe, query_options
    ("sendtoaddress", &[1, 4, 5, 6, 8, 9, 10]), // amount, subtractfeefromamount, replaceable, conf_target, avoid_reuse, fee_rate, verbose
    ("sendmany", &[1, 2, 4, 5, 6, 8, 9]), // amounts, minconf, subtractfeefrom, replaceable, conf_target, fee_rate, verbose
    ("settxfee", &[0]),                   // amount
    ("listtransactions", &[1, 2, 3]),     // count, skip, include_watchonly
    ("listsinceblock", &[1, 2, 3]), // target_confirmations, include_watchonly, include_removed
    ("gettransaction", &[1, 2]),    // include_watchonly, verbose
    ("signrawtransactionwithwallet", &[1]), // prevtxs
    ("walletpassphrase", &[1]),     // timeout
    ("getreceivedbyaddress", &[1, 2]), // minconf, include_immature_coinbase
    ("listreceivedbyaddress", &[0, 1, 2]), // minconf, include_empty, include_watchonly
    ("lockunspent", &[0, 1]),       // unlock, transactions
    ("keypoolrefill", &[0]),        // newsize
    ("importprivkey", &[2]),        // rescan
];

/// Whether argument `index` (zero-based) of `method` is parsed as JSON.
pub fn is_json_param(method: &str, index: usize) -> bool {
    JSON_PARAMS
        .iter()
        .find(|(name, _)| *name == method)
        .is_some_and(|(_, positions)| positions.contains(&index))
}

/// The JSON-RPC params for `method` called with the command-line words `args`.
///
/// A JSON position whose word does not parse as JSON is sent as a string: bitcoin-cli would
/// refuse it, but the server's answer (a type error, -3) says more about what was expected.
pub fn convert_params(method: &str, args: &[String]) -> Vec<Value> {
    args.iter()
        .enumerate()
        .map(|(index, arg)| {
            if is_json_param(method, index) {
                serde_json::from_str(arg).unwrap_or_else(|_| Value::String(arg.clone()))
            } else {
                Value::String(arg.clone())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(method: &str, args: &[&str]) -> Value {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Value::Array(convert_params(method, &args))
    }

    #[test]
    fn walletpassphrase_keeps_the_passphrase_a_string() {
        assert_eq!(
            convert("walletpassphrase", &["1234", "60"]),
            json!(["1234", 60])
        );
    }

    #[test]
    fn json_positions_become_numbers_and_booleans() {
        assert_eq!(convert("getblockhash", &["5"]), json!([5]));
        assert_eq!(convert("getblock", &["abc", "2"]), json!(["abc", 2]));
        assert_eq!(
            convert("getblockheader", &["abc", "false"]),
            json!(["abc", false])
        );
        assert_eq!(
            convert("gettxout", &["00ff", "1", "true"]),
            json!(["00ff", 1, true])
        );
        assert_eq!(
            convert("generatetoaddress", &["101", "bcrt1xyz", "1000"]),
            json!([101, "bcrt1xyz", 1000])
        );
        assert_eq!(
            convert("exportcar", &["0", "10", "out.car"]),
            json!([0, 10, "out.car"])
        );
    }

    #[test]
    fn arrays_and_objects_are_parsed() {
        let got = convert(
            "createrawtransaction",
            &[r#"[{"txid":"ab","vout":0}]"#, r#"{"addr":1.5}"#],
        );
        assert_eq!(got, json!([[{"txid": "ab", "vout": 0}], {"addr": 1.5}]));
        assert_eq!(
            convert("testmempoolaccept", &[r#"["00"]"#]),
            json!([["00"]])
        );
    }

    #[test]
    fn amounts_keep_their_exact_text() {
        let got = convert("sendtoaddress", &["addr", "0.10000000"]);
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            r#"["addr",0.10000000]"#
        );
    }

    #[test]
    fn unparseable_json_position_is_sent_as_a_string() {
        assert_eq!(convert("getblockhash", &["tip"]), json!(["tip"]));
        assert_eq!(
            convert("sendtoaddress", &["addr", "1.2.3"]),
            json!(["addr", "1.2.3"])
        );
        assert_eq!(
            convert("disconnectnode", &["127.0.0.1:19444"]),
            json!(["127.0.0.1:19444"])
        );
        assert_eq!(convert("disconnectnode", &["7"]), json!([7]));
    }

    #[test]
    fn unlisted_methods_and_positions_take_strings() {
        assert_eq!(
            convert("addnode", &["1.2.3.4:5", "add"]),
            json!(["1.2.3.4:5", "add"])
        );
        assert_eq!(convert("help", &["getblock"]), json!(["getblock"]));
        assert_eq!(convert("importcar", &["123"]), json!(["123"]));
        assert_eq!(convert("getnewaddress", &["7"]), json!(["7"]));
        // getblock's hash position stays a string even when it looks like a number.
        assert_eq!(convert("getblock", &["0000", "0"]), json!(["0000", 0]));
        assert_eq!(convert("getblockcount", &[]), json!([]));
    }

    #[test]
    fn table_has_each_method_once() {
        let mut names: Vec<&str> = JSON_PARAMS.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
