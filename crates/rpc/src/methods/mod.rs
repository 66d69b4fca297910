//! The method table: name, parameters, help, and the function behind each method. Adding a
//! method is one entry here and one function in the module of its subsystem.

mod blockchain;
mod control;
mod ipfs;
pub(crate) mod mempool;
mod mining;
mod network;
mod rawtx;
mod wallet;

use serde_json::Value;

use crate::context::NodeContext;
use crate::error::RpcError;
use crate::params::Args;

/// One parameter of a method.
#[derive(Debug)]
pub struct Param {
    /// Its name (for named arguments and the usage line).
    pub name: &'static str,
    /// Whether it must be given.
    pub required: bool,
}

const fn req(name: &'static str) -> Param {
    Param {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> Param {
    Param {
        name,
        required: false,
    }
}

/// What a method runs.
pub type Handler = fn(&NodeContext, &Args) -> Result<Value, RpcError>;

/// A method of the JSON-RPC interface.
#[derive(Debug)]
pub struct Method {
    /// The name clients call.
    pub name: &'static str,
    /// Its parameters in order.
    pub params: &'static [Param],
    /// One line on what it does.
    pub summary: &'static str,
    /// Runs on a blocking thread: it may take long (grinding, validation, full scans).
    pub blocking: bool,
    /// Only on chains without retargeting where blocks are made on demand (regtest).
    pub regtest_only: bool,
    /// The function.
    pub handler: Handler,
}

impl Method {
    /// `name arg1 ( arg2 )` and the summary, as the -1 error for a wrong argument count
    /// and `help METHOD` show it.
    pub fn usage(&self) -> String {
        let mut line = self.name.to_string();
        for p in self.params {
            if p.required {
                line.push_str(&format!(" {}", p.name));
            } else {
                line.push_str(&format!(" ( {} )", p.name));
            }
        }
        format!("{line}\n\n{}", self.summary)
    }
}

macro_rules! method {
    ($name:literal, [$($p:expr),*], $summary:literal, $handler:path $(, $flag:ident)*) => {
        Method {
            name: $name,
            params: &[$($p),*],
            summary: $summary,
            blocking: method!(@flag blocking $($flag)*),
            regtest_only: method!(@flag regtest $($flag)*),
            handler: $handler,
        }
    };
    (@flag $want:ident) => { false };
    (@flag blocking blocking $($rest:ident)*) => { true };
    (@flag regtest regtest $($rest:ident)*) => { true };
    (@flag $want:ident $other:ident $($rest:ident)*) => { method!(@flag $want $($rest)*) };
}

/// Every method, grouped as `help` lists them.
pub static METHODS: &[Method] = &[
    // control
    method!(
        "help",
        [opt("command")],
        "List all commands, or get help for a specified command.",
        control::help
    ),
    method!(
        "stop",
        [],
        "Request a graceful shutdown of the node.",
        control::stop
    ),
    method!(
        "uptime",
        [],
        "Returns the total uptime of the server in seconds.",
        control::uptime
    ),
    // blockchain
    method!(
        "getblockchaininfo",
        [],
        "Returns an object containing various state info regarding blockchain processing.",
        blockchain::getblockchaininfo
    ),
    method!(
        "getblockcount",
        [],
        "Returns the height of the most-work fully-validated chain.",
        blockchain::getblockcount
    ),
    method!(
        "getbestblockhash",
        [],
        "Returns the hash of the best (tip) block in the most-work fully-validated chain.",
        blockchain::getbestblockhash
    ),
    method!(
        "getblockhash",
        [req("height")],
        "Returns hash of block in best-block-chain at height provided.",
        blockchain::getblockhash
    ),
    method!(
        "getblockheader",
        [req("blockhash"), opt("verbose")],
        "If verbose is false, returns the 96-byte header as hex (192 characters). If verbose is true, returns an object with information about the header.",
        blockchain::getblockheader
    ),
    method!(
        "getblock",
        [req("blockhash"), opt("verbosity")],
        "If verbosity is 0, returns the block as hex. If 1, an object with the txids. If 2, an object with every transaction.",
        blockchain::getblock,
        blocking
    ),
    method!(
        "getchaintips",
        [],
        "Return information about all known tips in the block tree, including the main chain as well as orphaned branches.",
        blockchain::getchaintips
    ),
    method!(
        "getdifficulty",
        [],
        "Returns the proof-of-work difficulty as a multiple of the minimum difficulty of Bitcoin (bits 0x1d00ffff).",
        blockchain::getdifficulty
    ),
    method!(
        "gettxout",
        [req("txid"), req("n"), opt("include_mempool")],
        "Returns details about an unspent transaction output, or null.",
        blockchain::gettxout
    ),
    method!(
        "gettxoutsetinfo",
        [],
        "Returns statistics about the unspent transaction output set.",
        blockchain::gettxoutsetinfo,
        blocking
    ),
    method!(
        "verifychain",
        [opt("checklevel"), opt("nblocks")],
        "Verifies the stored blockchain database (nblocks: how many of the last blocks, default 6, 0 = all) and that the unspent outputs equal a replay of the chain.",
        blockchain::verifychain,
        blocking
    ),
    method!(
        "invalidateblock",
        [req("blockhash")],
        "Permanently marks a block as invalid, as if it violated a consensus rule.",
        blockchain::invalidateblock,
        blocking
    ),
    method!(
        "reconsiderblock",
        [req("blockhash")],
        "Removes invalidity status of a block, its ancestors and its descendants, reconsider them for activation.",
        blockchain::reconsiderblock,
        blocking
    ),
    // network
    method!(
        "getpeerinfo",
        [],
        "Returns data about each connected peer: its libp2p peer id, remote multiaddr, direction, whether direct or relayed, sync heights, ping and traffic.",
        network::getpeerinfo
    ),
    method!(
        "getconnectioncount",
        [],
        "Returns the number of connected peers.",
        network::getconnectioncount
    ),
    method!(
        "getnetworkinfo",
        [],
        "Returns an object containing various state info regarding peer-to-peer networking.",
        network::getnetworkinfo
    ),
    method!(
        "addnode",
        [req("node"), req("command")],
        "Attempts to add or remove a peer (HOST:PORT or multiaddr) from the list of peers kept connected, or to try a connection once. command: add, remove or onetry.",
        network::addnode,
        blocking
    ),
    method!(
        "disconnectnode",
        [opt("address"), opt("nodeid")],
        "Immediately disconnects from the peer given by address (HOST:PORT, multiaddr or libp2p peer id) or by nodeid (the id of getpeerinfo).",
        network::disconnectnode,
        blocking
    ),
    method!(
        "setban",
        [
            req("subnet"),
            req("command"),
            opt("bantime"),
            opt("absolute")
        ],
        "Attempts to add or remove an IP/Subnet from the banned list. bantime in seconds (default --bantime), or a Unix time with absolute=true.",
        network::setban,
        blocking
    ),
    method!(
        "listbanned",
        [],
        "List all manually and automatically banned IPs/Subnets.",
        network::listbanned,
        blocking
    ),
    method!(
        "clearbanned",
        [],
        "Clear all banned IPs.",
        network::clearbanned,
        blocking
    ),
    // IPFS
    method!(
        "getcid",
        [req("cid")],
        "Return the content behind an IPFS CID of the chain (a block header, a transaction of the active chain, an inner merkle node of one of its blocks) as hex, checked against its hash.",
        ipfs::getcid,
        blocking
    ),
    method!(
        "exportcar",
        [req("from_height"), req("to_height"), req("path")],
        "Write the active chain's blocks from_height..=to_height as a CARv1 file (root: block to_height's header CID; headers, transactions, inner merkle nodes). A relative path is taken from the chain folder. Returns {root, blocks, bytes}.",
        ipfs::exportcar,
        blocking
    ),
    method!(
        "importcar",
        [req("path")],
        "Load the blocks of a CARv1 file written by exportcar, each fully validated as if it came from a peer. A relative path is taken from the chain folder. Returns {imported, height}.",
        ipfs::importcar,
        blocking
    ),
    // raw transactions
    method!(
        "getrawtransaction",
        [req("txid"), opt("verbose"), opt("blockhash")],
        "Return the raw transaction data (hex), or an object with verbose.",
        rawtx::getrawtransaction
    ),
    method!(
        "decoderawtransaction",
        [req("hexstring")],
        "Return a JSON object representing the serialized, hex-encoded transaction.",
        rawtx::decoderawtransaction
    ),
    method!(
        "createrawtransaction",
        [req("inputs"), req("outputs"), opt("locktime")],
        "Create a transaction spending the given inputs and creating new outputs, with empty (zero) signatures. Returns hex.",
        rawtx::createrawtransaction
    ),
    // mempool
    method!(
        "sendrawtransaction",
        [req("hexstring"), opt("maxfeerate")],
        "Submit a raw transaction (hex) to the local node and network. Returns the txid.",
        mempool::sendrawtransaction,
        blocking
    ),
    method!(
        "testmempoolaccept",
        [req("rawtxs"), opt("maxfeerate")],
        "Returns for each raw transaction whether it would be accepted by the mempool, with the reject reason if not.",
        mempool::testmempoolaccept,
        blocking
    ),
    method!(
        "getrawmempool",
        [opt("verbose")],
        "Returns all transaction ids in the memory pool, or objects with details when verbose.",
        mempool::getrawmempool
    ),
    method!(
        "getmempoolentry",
        [req("txid")],
        "Returns mempool data for the given transaction.",
        mempool::getmempoolentry
    ),
    method!(
        "getmempoolinfo",
        [],
        "Returns details on the active state of the transaction memory pool.",
        mempool::getmempoolinfo
    ),
    // mining
    method!(
        "getmininginfo",
        [],
        "Returns mining-related information.",
        mempool::getmininginfo
    ),
    method!(
        "getblocktemplate",
        [opt("template_request")],
        "Returns a block template: the data a miner needs to build the next block (the coinbase is left to the miner).",
        mempool::getblocktemplate,
        blocking
    ),
    method!(
        "submitblock",
        [req("hexdata")],
        "Attempts to submit a new block to the network. Returns null when accepted onto the best chain, else a string saying why not.",
        mining::submitblock,
        blocking
    ),
    method!(
        "generatetoaddress",
        [req("nblocks"), req("address"), opt("maxtries")],
        "Mine blocks immediately to a specified address (regtest). Returns the block hashes.",
        mining::generatetoaddress,
        blocking,
        regtest
    ),
    method!(
        "generateblock",
        [req("output"), opt("transactions")],
        "Mine a block with a set of ordered raw transactions immediately to a specified address (regtest).",
        mining::generateblock,
        blocking,
        regtest
    ),
    // wallet
    method!(
        "createwallet",
        [
            req("wallet_name"),
            opt("disable_private_keys"),
            opt("blank"),
            opt("passphrase"),
            opt("mnemonic"),
            opt("bip39_passphrase")
        ],
        "Creates and loads a new wallet (HD, BIP86 keys). coinrs extension: mnemonic restores from a BIP39 mnemonic (12 or 24 words; bip39_passphrase is its optional passphrase) and rescans the chain.",
        wallet::createwallet,
        blocking
    ),
    method!(
        "loadwallet",
        [req("filename"), opt("load_on_startup")],
        "Loads a wallet from a wallet file in the wallets folder and rescans it to the tip.",
        wallet::loadwallet,
        blocking
    ),
    method!(
        "unloadwallet",
        [opt("wallet_name"), opt("load_on_startup")],
        "Unloads the wallet named by the argument or by the endpoint /wallet/NAME.",
        wallet::unloadwallet,
        blocking
    ),
    method!(
        "listwallets",
        [],
        "Returns a list of currently loaded wallets.",
        wallet::listwallets,
        blocking
    ),
    method!(
        "getwalletinfo",
        [],
        "Returns an object containing various wallet state info.",
        wallet::getwalletinfo,
        blocking
    ),
    method!(
        "getnewaddress",
        [opt("label"), opt("address_type")],
        "Returns a new address for receiving payments.",
        wallet::getnewaddress,
        blocking
    ),
    method!(
        "getrawchangeaddress",
        [opt("address_type")],
        "Returns a new address for receiving change.",
        wallet::getrawchangeaddress,
        blocking
    ),
    method!(
        "getbalance",
        [
            opt("dummy"),
            opt("minconf"),
            opt("include_watchonly"),
            opt("avoid_reuse")
        ],
        "Returns the total available balance (trusted).",
        wallet::getbalance,
        blocking
    ),
    method!(
        "getbalances",
        [],
        "Returns an object with all balances in coins: mine.trusted, mine.untrusted_pending, mine.immature.",
        wallet::getbalances,
        blocking
    ),
    method!(
        "listunspent",
        [
            opt("minconf"),
            opt("maxconf"),
            opt("addresses"),
            opt("include_unsafe")
        ],
        "Returns array of unspent transaction outputs with between minconf and maxconf (inclusive) confirmations.",
        wallet::listunspent,
        blocking
    ),
    method!(
        "sendtoaddress",
        [
            req("address"),
            req("amount"),
            opt("comment"),
            opt("comment_to"),
            opt("subtractfeefromamount")
        ],
        "Send an amount to a given address. Returns the txid.",
        wallet::sendtoaddress,
        blocking
    ),
    method!(
        "sendmany",
        [
            req("dummy"),
            req("amounts"),
            opt("minconf"),
            opt("comment"),
            opt("subtractfeefrom")
        ],
        "Send multiple times: amounts is {\"address\": amount, ...}. Returns the txid.",
        wallet::sendmany,
        blocking
    ),
    method!(
        "settxfee",
        [req("amount")],
        "Set the transaction fee rate in coins per 1000 bytes for this wallet (0: the node's default).",
        wallet::settxfee,
        blocking
    ),
    method!(
        "listtransactions",
        [
            opt("label"),
            opt("count"),
            opt("skip"),
            opt("include_watchonly")
        ],
        "Returns up to 'count' most recent transactions skipping the first 'skip'.",
        wallet::listtransactions,
        blocking
    ),
    method!(
        "gettransaction",
        [req("txid"), opt("include_watchonly"), opt("verbose")],
        "Get detailed information about in-wallet transaction txid.",
        wallet::gettransaction,
        blocking
    ),
    method!(
        "getaddressinfo",
        [req("address")],
        "Return information about the given address.",
        wallet::getaddressinfo,
        blocking
    ),
    method!(
        "validateaddress",
        [req("address")],
        "Return information about the given address (needs no wallet).",
        wallet::validateaddress,
        blocking
    ),
    method!(
        "signrawtransactionwithwallet",
        [req("hexstring")],
        "Sign inputs for raw transaction (serialized, hex-encoded) with the wallet's keys.",
        wallet::signrawtransactionwithwallet,
        blocking
    ),
    method!(
        "encryptwallet",
        [req("passphrase")],
        "Encrypts the wallet with 'passphrase' (argon2id, XChaCha20-Poly1305); the wallet is locked afterwards.",
        wallet::encryptwallet,
        blocking
    ),
    method!(
        "walletpassphrase",
        [req("passphrase"), req("timeout")],
        "Stores the wallet decryption key in memory for 'timeout' seconds.",
        wallet::walletpassphrase,
        blocking
    ),
    method!(
        "walletlock",
        [],
        "Removes the wallet encryption key from memory, locking the wallet.",
        wallet::walletlock,
        blocking
    ),
    method!(
        "walletpassphrasechange",
        [req("oldpassphrase"), req("newpassphrase")],
        "Changes the wallet passphrase from 'oldpassphrase' to 'newpassphrase'.",
        wallet::walletpassphrasechange,
        blocking
    ),
    method!(
        "backupwallet",
        [req("destination")],
        "Safely copies the wallet file to destination (a relative path is taken from the chain folder).",
        wallet::backupwallet,
        blocking
    ),
    method!(
        "importprivkey",
        [req("privkey"), opt("label"), opt("rescan")],
        "Adds a private key (64 hex digits, the x-only key is the output key untweaked) to the wallet and rescans.",
        wallet::importprivkey,
        blocking
    ),
    method!(
        "dumpprivkey",
        [req("address")],
        "Reveals the private key of an address (64 hex digits, as importprivkey takes it).",
        wallet::dumpprivkey,
        blocking
    ),
    method!(
        "getmnemonic",
        [],
        "coinrs extension: returns the BIP39 mnemonic of the wallet (only when unlocked).",
        wallet::getmnemonic,
        blocking
    ),
];

/// The method called `name`.
pub fn find(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}
