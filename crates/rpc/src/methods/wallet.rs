//! Wallet methods, with Bitcoin Core's names and shapes. A call reaches the wallet named by
//! its path (`/wallet/NAME`, in [`Args::wallet`]), else the only loaded wallet.
//!
//! coinrs extensions: `createwallet NAME ( disable_private_keys blank passphrase mnemonic
//! bip39_passphrase )` restores from a BIP39 mnemonic when one is given (then rescans the
//! chain from the genesis block), and `getmnemonic` shows the mnemonic of an unlocked
//! wallet.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use coinrs_core::address::decode_address;
use coinrs_core::validation::UtxoView;
use coinrs_core::{Transaction, TxOut, Txid};
use coinrs_wallet::{
    Branch, CreateOptions, FeeRate, KdfParams, KeyOrigin, OutputStatus, Wallet, WalletTx,
};
use serde_json::{Map, Value, json};

use crate::context::{NodeContext, now};
use crate::error::{RpcError, code};
use crate::json;
use crate::methods::mempool::{decode_tx, submit};
use crate::params::{Args, parse_amount};
use crate::wallets::{
    LoadedWallet, Wallets, catch_up, check_name, resubmit_transactions, wallet_dir, wallet_error,
    wallet_path,
};

/// Longest unlock, as Core's (about three years).
const MAX_UNLOCK_SECONDS: u64 = 100_000_000;

/// Runs `f` on the wallet the call addresses.
fn with_wallet<T>(
    ctx: &NodeContext,
    args: &Args,
    f: impl FnOnce(&mut LoadedWallet) -> Result<T, RpcError>,
) -> Result<T, RpcError> {
    let mut map = ctx.wallets.lock();
    let name = Wallets::select(&map, args.wallet.as_deref())?;
    let w = map
        .get_mut(&name)
        .ok_or_else(|| RpcError::new(code::WALLET_NOT_FOUND, "wallet not loaded"))?;
    f(w)
}

fn map_err<T>(r: coinrs_wallet::error::Result<T>) -> Result<T, RpcError> {
    r.map_err(wallet_error)
}

fn tip_height(ctx: &NodeContext) -> u64 {
    ctx.chain().height()
}

fn opt_str(args: &Args, i: usize) -> Result<Option<&str>, RpcError> {
    match args.get(i) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(RpcError::wrong_type(other, "string")),
    }
}

pub fn createwallet(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let name = args.str(0)?.to_string();
    check_name(&name)?;
    if args.bool_or(1, false)? {
        return Err(RpcError::new(
            code::WALLET_ERROR,
            "wallets without private keys are not supported",
        ));
    }
    if args.bool_or(2, false)? {
        return Err(RpcError::new(
            code::WALLET_ERROR,
            "blank wallets are not supported: every wallet has an HD seed",
        ));
    }
    let passphrase = opt_str(args, 3)?.filter(|p| !p.is_empty());
    let mnemonic = opt_str(args, 4)?.filter(|m| !m.trim().is_empty());
    let bip39_passphrase = opt_str(args, 5)?.unwrap_or("");
    let path = wallet_path(&ctx.chain_dir, &name);
    if path.exists() {
        return Err(RpcError::new(
            code::WALLET_ERROR,
            format!(
                "Wallet file verification failed. Failed to create database path '{}'. Database already exists.",
                path.display()
            ),
        ));
    }
    std::fs::create_dir_all(wallet_dir(&ctx.chain_dir)).map_err(|e| {
        RpcError::new(
            code::WALLET_ERROR,
            format!("cannot create the wallets folder: {e}"),
        )
    })?;
    let chain = ctx.chain();
    let opts = CreateOptions {
        mnemonic: mnemonic.map(str::to_string),
        bip39_passphrase: bip39_passphrase.to_string(),
        // A restore scans the whole chain; a new wallet has no past.
        birth_height: if mnemonic.is_some() {
            0
        } else {
            chain.height() + 1
        },
        passphrase: passphrase.map(str::to_string),
        kdf: KdfParams::DEFAULT,
        ..CreateOptions::default()
    };
    let wallet = map_err(Wallet::create(&path, &ctx.params, &name, opts))?;
    ctx.wallets.insert(&chain, &ctx.chain_dir, wallet)?;
    drop(chain);
    resubmit_transactions(ctx);
    tracing::info!(wallet = %name, restored = mnemonic.is_some(), "wallet created");
    Ok(json!({ "name": name, "warning": "" }))
}

pub fn loadwallet(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let name = args.str(0)?.to_string();
    check_name(&name)?;
    if ctx.wallets.lock().contains_key(&name) {
        return Err(RpcError::new(
            code::WALLET_ALREADY_LOADED,
            format!("Wallet \"{name}\" is already loaded."),
        ));
    }
    let path = wallet_path(&ctx.chain_dir, &name);
    if !path.exists() {
        return Err(RpcError::new(
            code::WALLET_NOT_FOUND,
            format!(
                "Wallet file verification failed. Path does not exist: {}",
                path.display()
            ),
        ));
    }
    let chain = ctx.chain();
    let wallet = map_err(Wallet::open(&path, &ctx.params))?;
    if wallet.name() != name {
        // A copied file (a backup) keeps the name it was made with: the file's name wins.
        tracing::info!(wallet = %name, stored = %wallet.name(), "wallet file renamed");
    }
    ctx.wallets
        .insert_as(&chain, &ctx.chain_dir, name.clone(), wallet)?;
    drop(chain);
    resubmit_transactions(ctx);
    Ok(json!({ "name": name, "warning": "" }))
}

pub fn unloadwallet(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let given = opt_str(args, 0)?;
    let name = match (given, args.wallet.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(RpcError::invalid_parameter(
                "RPC endpoint wallet and wallet_name parameter specify different wallets",
            ));
        }
        (Some(a), _) => a.to_string(),
        (None, Some(b)) => b.to_string(),
        (None, None) => Wallets::select(&ctx.wallets.lock(), None)?,
    };
    let mut map = ctx.wallets.lock();
    if map.remove(&name).is_none() {
        return Err(RpcError::new(
            code::WALLET_NOT_FOUND,
            "Requested wallet does not exist or is not loaded",
        ));
    }
    ctx.wallets.save_names(&ctx.chain_dir, &map);
    tracing::info!(wallet = %name, "wallet unloaded");
    Ok(json!({ "warning": "" }))
}

pub fn listwallets(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let names: Vec<String> = ctx.wallets.lock().keys().cloned().collect();
    Ok(json!(names))
}

/// Unix time of an `Instant` in the future.
fn unix_time(at: Instant) -> u64 {
    now() + at.saturating_duration_since(Instant::now()).as_secs()
}

fn fee_rate(ctx: &NodeContext, w: &LoadedWallet, min_relay: u64) -> FeeRate {
    w.fee_rate
        .or(ctx.wallets.pay_tx_fee)
        .unwrap_or(FeeRate(min_relay.max(FeeRate::MIN_RELAY.0)))
}

fn last_processed(w: &Wallet) -> Value {
    match w.last_block() {
        Some((hash, height)) => json!({ "hash": hash.to_string(), "height": height }),
        None => Value::Null,
    }
}

pub fn getwalletinfo(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let tip = tip_height(ctx);
    let min_relay = ctx.mempool().policy().min_relay_fee_per_kb;
    with_wallet(ctx, args, |w| {
        let rate = fee_rate(ctx, w, min_relay);
        let wallet = &w.wallet;
        let b = wallet.balances(tip);
        let mut o = Map::new();
        o.insert("walletname".into(), json!(wallet.name()));
        o.insert("walletversion".into(), json!(1));
        o.insert("format".into(), json!("redb"));
        o.insert("balance".into(), json::amount(b.trusted));
        o.insert(
            "unconfirmed_balance".into(),
            json::amount(b.untrusted_pending),
        );
        o.insert("immature_balance".into(), json::amount(b.immature));
        o.insert("txcount".into(), json!(wallet.transactions().len()));
        o.insert("keypoolsize".into(), json!(wallet.gap_limit()));
        o.insert("keypoolsize_hd_internal".into(), json!(wallet.gap_limit()));
        if wallet.is_encrypted() {
            let until = if wallet.is_locked() {
                0
            } else {
                wallet.unlocked_until().map_or(u64::MAX, unix_time)
            };
            o.insert("unlocked_until".into(), json!(until));
        }
        o.insert("paytxfee".into(), json::amount(rate.0));
        o.insert("private_keys_enabled".into(), json!(true));
        o.insert("avoid_reuse".into(), json!(false));
        o.insert("scanning".into(), json!(false));
        o.insert("descriptors".into(), json!(false));
        o.insert("birthheight".into(), json!(wallet.birth_height()));
        o.insert("lastprocessedblock".into(), last_processed(wallet));
        Ok(Value::Object(o))
    })
}

pub fn getnewaddress(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    with_wallet(ctx, args, |w| {
        Ok(json!(map_err(w.wallet.new_address(Branch::Receive))?))
    })
}

pub fn getrawchangeaddress(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    with_wallet(ctx, args, |w| {
        Ok(json!(map_err(w.wallet.new_address(Branch::Change))?))
    })
}

pub fn getbalance(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    if let Some(d) = opt_str(args, 0)?
        && d != "*"
    {
        return Err(RpcError::new(
            code::METHOD_DEPRECATED,
            "dummy first argument must be excluded or set to \"*\".",
        ));
    }
    let tip = tip_height(ctx);
    with_wallet(ctx, args, |w| {
        Ok(json::amount(w.wallet.balances(tip).trusted))
    })
}

pub fn getbalances(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let tip = tip_height(ctx);
    with_wallet(ctx, args, |w| {
        let b = w.wallet.balances(tip);
        Ok(json!({
            "mine": {
                "trusted": json::amount(b.trusted),
                "untrusted_pending": json::amount(b.untrusted_pending),
                "immature": json::amount(b.immature),
            },
            "lastprocessedblock": last_processed(&w.wallet),
        }))
    })
}

pub fn listunspent(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let min_conf = args.u64_or(0, 1)?;
    let max_conf = args.u64_or(1, 9_999_999)?;
    let filter: Option<Vec<String>> = match args.get(2) {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| RpcError::wrong_type(v, "string"))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(other) => return Err(RpcError::wrong_type(other, "array")),
    };
    let tip = tip_height(ctx);
    with_wallet(ctx, args, |w| {
        let wallet = &w.wallet;
        let mut out = Vec::new();
        for u in wallet.unspent(tip, min_conf) {
            if u.status == OutputStatus::Immature || u.confirmations > max_conf {
                continue;
            }
            let address = wallet.address(&u.pubkey);
            if let Some(f) = &filter
                && !f.contains(&address)
            {
                continue;
            }
            let mut o = json!({
                "txid": u.outpoint.txid.to_string(),
                "vout": u.outpoint.vout,
                "address": address,
                "scriptPubKey": hex::encode(u.pubkey),
                "amount": json::amount(u.value),
                "confirmations": u.confirmations,
                "spendable": true,
                "solvable": true,
                "safe": u.status == OutputStatus::Trusted,
                "coinbase": u.coinbase,
            });
            if let Some(path) = wallet.key_path(&u.pubkey) {
                o["hdkeypath"] = json!(path);
            }
            out.push(o);
        }
        Ok(Value::Array(out))
    })
}

/// Pays `payments` from the wallet the call addresses; returns the txid.
fn send(ctx: &NodeContext, args: &Args, payments: Vec<TxOut>) -> Result<Value, RpcError> {
    let chain = ctx.chain();
    let mut pool = ctx.mempool();
    let min_relay = pool.policy().min_relay_fee_per_kb;
    let tip = chain.height();
    let created = with_wallet(ctx, args, |w| {
        let rate = fee_rate(ctx, w, min_relay);
        map_err(w.wallet.create_transaction(&payments, rate, tip))
    })?;
    // The wallets' lock is released: submit takes it after the mempool's.
    let txid = submit(ctx, &chain, &mut pool, created.tx)?;
    tracing::info!(%txid, fee = created.fee, "wallet transaction sent");
    Ok(json!(txid.to_string()))
}

fn payment(ctx: &NodeContext, address: &str, amount: &Value) -> Result<TxOut, RpcError> {
    let pubkey = decode_address(&ctx.params.hrp, address).map_err(|e| {
        RpcError::new(
            code::INVALID_ADDRESS_OR_KEY,
            format!("Invalid address {address}: {e}"),
        )
    })?;
    let value = parse_amount(amount)?;
    if value == 0 {
        return Err(RpcError::new(code::TYPE_ERROR, "Invalid amount for send"));
    }
    Ok(TxOut { value, pubkey })
}

fn no_subtract(args: &Args, i: usize) -> Result<(), RpcError> {
    let subtract = match args.get(i) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(other) => return Err(RpcError::wrong_type(other, "bool")),
    };
    if subtract {
        return Err(RpcError::invalid_parameter(
            "subtractfeefromamount is not supported",
        ));
    }
    Ok(())
}

pub fn sendtoaddress(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let address = args.str(0)?;
    let amount = args
        .get(1)
        .ok_or_else(|| RpcError::new(code::MISC_ERROR, "missing amount"))?;
    no_subtract(args, 4)?;
    let out = payment(ctx, address, amount)?;
    send(ctx, args, vec![out])
}

pub fn sendmany(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    if let Some(d) = opt_str(args, 0)?
        && !d.is_empty()
    {
        return Err(RpcError::new(
            code::METHOD_DEPRECATED,
            "Dummy value must be set to \"\"",
        ));
    }
    let amounts = match args.get(1) {
        Some(Value::Object(o)) => o,
        Some(other) => return Err(RpcError::wrong_type(other, "object")),
        None => return Err(RpcError::new(code::MISC_ERROR, "missing amounts")),
    };
    no_subtract(args, 4)?;
    let mut payments = Vec::with_capacity(amounts.len());
    for (address, amount) in amounts {
        payments.push(payment(ctx, address, amount)?);
    }
    send(ctx, args, payments)
}

pub fn settxfee(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let v = args
        .get(0)
        .ok_or_else(|| RpcError::new(code::MISC_ERROR, "missing amount"))?;
    let rate = parse_amount(v)?;
    let min_relay = ctx.mempool().policy().min_relay_fee_per_kb;
    if rate != 0 && rate < min_relay {
        return Err(RpcError::new(
            code::WALLET_ERROR,
            format!(
                "txfee cannot be less than min relay tx fee ({} coins/kB)",
                json::amount(min_relay)
            ),
        ));
    }
    with_wallet(ctx, args, |w| {
        w.fee_rate = (rate != 0).then_some(FeeRate(rate));
        Ok(json!(true))
    })
}

/// Confirmations of a wallet transaction: -1 when conflicted, 0 while unconfirmed.
fn confirmations(wtx: &WalletTx, tip: u64) -> i64 {
    if wtx.conflicted {
        return -1;
    }
    match wtx.block {
        Some((_, h)) => (tip + 1).saturating_sub(h) as i64,
        None => 0,
    }
}

/// Signed base units as a JSON amount.
fn signed_amount(units: i128) -> Value {
    let abs = json::amount(u64::try_from(units.unsigned_abs()).unwrap_or(u64::MAX));
    if units < 0 {
        format!("-{abs}")
            .parse::<serde_json::Number>()
            .map_or(abs, Value::Number)
    } else {
        abs
    }
}

/// The entries of `listtransactions` and the `details` of `gettransaction`: one per output
/// paid to others (`send`) and one per output paid to the wallet that is not change
/// (`receive`, `generate`, `immature`).
fn details(wallet: &Wallet, wtx: &WalletTx, tip: u64, maturity: u64) -> Vec<Map<String, Value>> {
    let amounts = wallet.amounts(wtx);
    let from_me = amounts.sent > 0;
    let coinbase = wtx.tx.is_coinbase();
    let mut out = Vec::new();
    for (n, o) in wtx.tx.outputs.iter().enumerate() {
        let origin = wallet.key_origin(&o.pubkey);
        let address = wallet.address(&o.pubkey);
        if from_me {
            let change = matches!(
                origin,
                Some(KeyOrigin::Derived {
                    branch: Branch::Change,
                    ..
                })
            );
            if change {
                continue;
            }
            let mut e = Map::new();
            e.insert("address".into(), json!(address));
            e.insert("category".into(), json!("send"));
            e.insert("amount".into(), signed_amount(-i128::from(o.value)));
            e.insert("vout".into(), json!(n));
            if let Some(fee) = amounts.fee {
                e.insert("fee".into(), signed_amount(-i128::from(fee)));
            }
            out.push(e);
        }
        if origin.is_some() {
            let category = if coinbase {
                let conf = confirmations(wtx, tip);
                if conf < 1 {
                    "orphan"
                } else if (conf as u64) <= maturity {
                    "immature"
                } else {
                    "generate"
                }
            } else {
                "receive"
            };
            let mut e = Map::new();
            e.insert("address".into(), json!(address));
            e.insert("category".into(), json!(category));
            e.insert("amount".into(), json::amount(o.value));
            e.insert("vout".into(), json!(n));
            out.push(e);
        }
    }
    out
}

/// The fields every transaction entry has.
fn tx_fields(e: &mut Map<String, Value>, txid: &Txid, wtx: &WalletTx, tip: u64) {
    let conf = confirmations(wtx, tip);
    e.insert("confirmations".into(), json!(conf));
    if wtx.tx.is_coinbase() {
        e.insert("generated".into(), json!(true));
    }
    if conf == 0 {
        e.insert("trusted".into(), json!(false));
    }
    if let Some((hash, height)) = wtx.block {
        e.insert("blockhash".into(), json!(hash.to_string()));
        e.insert("blockheight".into(), json!(height));
    }
    e.insert("txid".into(), json!(txid.to_string()));
    e.insert("time".into(), json!(wtx.time));
    e.insert("timereceived".into(), json!(wtx.time));
}

pub fn listtransactions(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    if let Some(l) = opt_str(args, 0)?
        && l != "*"
    {
        return Err(RpcError::invalid_parameter(
            "labels are not supported: use \"*\"",
        ));
    }
    let count = usize::try_from(args.u64_or(1, 10)?).unwrap_or(usize::MAX);
    let skip = usize::try_from(args.u64_or(2, 0)?).unwrap_or(usize::MAX);
    let tip = tip_height(ctx);
    let maturity = ctx.params.coinbase_maturity;
    with_wallet(ctx, args, |w| {
        let wallet = &w.wallet;
        let mut all = Vec::new();
        for (txid, wtx) in wallet.transactions() {
            for mut e in details(wallet, wtx, tip, maturity) {
                tx_fields(&mut e, &txid, wtx, tip);
                all.push(Value::Object(e));
            }
        }
        // The most recent `count` after skipping `skip` from the end, oldest first.
        let end = all.len().saturating_sub(skip);
        let start = end.saturating_sub(count);
        Ok(Value::Array(all[start..end].to_vec()))
    })
}

pub fn gettransaction(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let txid = args.txid(0)?;
    let tip = tip_height(ctx);
    let maturity = ctx.params.coinbase_maturity;
    with_wallet(ctx, args, |w| {
        let wallet = &w.wallet;
        let wtx = wallet.transaction(&txid).ok_or_else(|| {
            RpcError::new(
                code::INVALID_ADDRESS_OR_KEY,
                "Invalid or non-wallet transaction id",
            )
        })?;
        let amounts = wallet.amounts(wtx);
        let fee = i128::from(amounts.fee.unwrap_or(0));
        let net = i128::from(amounts.received) - i128::from(amounts.sent);
        let mut o = Map::new();
        o.insert("amount".into(), signed_amount(net + fee));
        if amounts.sent > 0
            && let Some(f) = amounts.fee
        {
            o.insert("fee".into(), signed_amount(-i128::from(f)));
        }
        tx_fields(&mut o, &txid, wtx, tip);
        let details: Vec<Value> = details(wallet, wtx, tip, maturity)
            .into_iter()
            .map(Value::Object)
            .collect();
        o.insert("details".into(), Value::Array(details));
        o.insert("hex".into(), json!(hex::encode(wtx.tx.encode())));
        Ok(Value::Object(o))
    })
}

fn address_fields(address: &str, pubkey: &[u8; 32]) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("address".into(), json!(address));
    o.insert("scriptPubKey".into(), json!(hex::encode(pubkey)));
    o.insert("isscript".into(), json!(false));
    o.insert("iswitness".into(), json!(true));
    o.insert("witness_version".into(), json!(1));
    o.insert("witness_program".into(), json!(hex::encode(pubkey)));
    o
}

pub fn validateaddress(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let address = args.str(0)?;
    match decode_address(&ctx.params.hrp, address) {
        Ok(pubkey) => {
            let mut o = Map::new();
            o.insert("isvalid".into(), json!(true));
            o.extend(address_fields(address, &pubkey));
            Ok(Value::Object(o))
        }
        Err(e) => Ok(json!({ "isvalid": false, "error": e.to_string() })),
    }
}

pub fn getaddressinfo(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let address = args.str(0)?.to_string();
    let pubkey = decode_address(&ctx.params.hrp, &address).map_err(|e| {
        RpcError::new(
            code::INVALID_ADDRESS_OR_KEY,
            format!("Invalid address: {e}"),
        )
    })?;
    with_wallet(ctx, args, |w| {
        let wallet = &w.wallet;
        let origin = wallet.key_origin(&pubkey);
        let mut o = address_fields(&address, &pubkey);
        o.insert("ismine".into(), json!(origin.is_some()));
        o.insert("solvable".into(), json!(origin.is_some()));
        o.insert("iswatchonly".into(), json!(false));
        o.insert("pubkey".into(), json!(hex::encode(pubkey)));
        o.insert(
            "ischange".into(),
            json!(matches!(
                origin,
                Some(KeyOrigin::Derived {
                    branch: Branch::Change,
                    ..
                })
            )),
        );
        if let Some(path) = wallet.key_path(&pubkey) {
            o.insert("hdkeypath".into(), json!(path));
        }
        if origin == Some(KeyOrigin::Imported) {
            o.insert("imported".into(), json!(true));
        }
        o.insert("labels".into(), json!([]));
        Ok(Value::Object(o))
    })
}

pub fn signrawtransactionwithwallet(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let mut tx: Transaction = decode_tx(args.str(0)?)?;
    let chain = ctx.chain();
    let pool = ctx.mempool();
    let snapshot = chain.utxo_snapshot()?;
    let lookup = |op: &coinrs_core::OutPoint| -> Option<TxOut> {
        if let Some(c) = snapshot.coin(op) {
            return Some(c.output);
        }
        pool.get(&op.txid)
            .and_then(|e| e.tx.outputs.get(op.vout as usize).cloned())
    };
    let complete = with_wallet(ctx, args, |w| {
        map_err(w.wallet.sign_transaction(&mut tx, lookup))
    })?;
    Ok(json!({ "hex": hex::encode(tx.encode()), "complete": complete }))
}

pub fn encryptwallet(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let pass = args.str(0)?;
    if pass.is_empty() {
        return Err(RpcError::invalid_parameter("passphrase cannot be empty"));
    }
    with_wallet(ctx, args, |w| {
        map_err(w.wallet.encrypt(pass, KdfParams::DEFAULT))?;
        Ok(json!(
            "wallet encrypted; the mnemonic is unchanged: keep your backup of it"
        ))
    })
}

pub fn walletpassphrase(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let pass = args.str(0)?;
    let seconds = match args.get(1) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(s) if s < 0 => {
                return Err(RpcError::invalid_parameter("Timeout cannot be negative."));
            }
            Some(s) => s as u64,
            None => n.as_f64().map_or(0, |f| f.max(0.0) as u64),
        },
        Some(other) => return Err(RpcError::wrong_type(other, "number")),
        None => return Err(RpcError::new(code::MISC_ERROR, "missing timeout")),
    };
    if pass.is_empty() {
        return Err(RpcError::invalid_parameter("passphrase cannot be empty"));
    }
    let seconds = seconds.min(MAX_UNLOCK_SECONDS);
    with_wallet(ctx, args, |w| {
        map_err(w.wallet.unlock(pass, Duration::from_secs(seconds)))?;
        Ok(Value::Null)
    })
}

pub fn walletlock(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    with_wallet(ctx, args, |w| {
        map_err(w.wallet.lock())?;
        Ok(Value::Null)
    })
}

pub fn walletpassphrasechange(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let old = args.str(0)?;
    let new = args.str(1)?;
    if old.is_empty() || new.is_empty() {
        return Err(RpcError::invalid_parameter("passphrase cannot be empty"));
    }
    with_wallet(ctx, args, |w| {
        map_err(w.wallet.change_passphrase(old, new, KdfParams::DEFAULT))?;
        Ok(Value::Null)
    })
}

pub fn backupwallet(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let dest = PathBuf::from(args.str(0)?);
    // A relative path is taken from the chain folder (as `exportcar`).
    let dest = if dest.is_relative() {
        ctx.chain_dir.join(dest)
    } else {
        dest
    };
    with_wallet(ctx, args, |w| {
        map_err(w.wallet.backup(&dest))?;
        Ok(Value::Null)
    })
}

pub fn importprivkey(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let secret = args.str(0)?;
    let rescan = args.bool_or(2, true)?;
    let chain = ctx.chain();
    with_wallet(ctx, args, |w| {
        let pubkey = map_err(w.wallet.import_private_key(secret))?;
        if rescan {
            let tip = chain.height();
            for height in 0..=tip {
                let Some(hash) = chain.hash_at(height) else {
                    break;
                };
                if let Some(block) = chain.block(&hash)? {
                    map_err(w.wallet.block_connected(&block))?;
                }
            }
            // Whatever the wallet had seen beyond is already in; make sure it is at the tip.
            catch_up(&chain, &mut w.wallet)?;
        }
        tracing::info!(address = %w.wallet.address(&pubkey), "private key imported");
        Ok(Value::Null)
    })
}

pub fn dumpprivkey(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let address = args.str(0)?;
    let pubkey = decode_address(&ctx.params.hrp, address).map_err(|e| {
        RpcError::new(
            code::INVALID_ADDRESS_OR_KEY,
            format!("Invalid address: {e}"),
        )
    })?;
    with_wallet(ctx, args, |w| {
        if w.wallet.key_origin(&pubkey).is_none() {
            return Err(RpcError::new(
                code::WALLET_ERROR,
                format!("Private key for address {address} is not known"),
            ));
        }
        let secret = map_err(w.wallet.dump_private_key(&pubkey))?;
        Ok(json!(secret.as_str()))
    })
}

pub fn getmnemonic(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    with_wallet(ctx, args, |w| {
        let m = map_err(w.wallet.mnemonic())?;
        Ok(json!(m.as_str()))
    })
}
