//! JSON-RPC errors with Bitcoin Core's codes. Every domain error becomes an RPC error here and
//! only here.

use coinrs_chain::ChainError;
use serde_json::{Value, json};

/// Bitcoin Core's error codes (src/rpc/protocol.h), the ones coinrs uses.
pub mod code {
    /// Standard JSON-RPC: the request is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// Standard JSON-RPC: no such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// A deprecated use of a method (Core's RPC_METHOD_DEPRECATED).
    pub const METHOD_DEPRECATED: i64 = -32;
    /// Standard JSON-RPC: internal error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Standard JSON-RPC: the body is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Misc error, also a wrong number of arguments (with the usage).
    pub const MISC_ERROR: i64 = -1;
    /// An argument of the wrong JSON type.
    pub const TYPE_ERROR: i64 = -3;
    /// Not found, or an invalid address or key.
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    /// A wallet error (storage, a key it does not hold).
    pub const WALLET_ERROR: i64 = -4;
    /// Not enough funds.
    pub const WALLET_INSUFFICIENT_FUNDS: i64 = -6;
    /// An invalid parameter value (bad hex, out of range).
    pub const INVALID_PARAMETER: i64 = -8;
    /// The wallet is locked.
    pub const WALLET_UNLOCK_NEEDED: i64 = -13;
    /// Wrong wallet passphrase.
    pub const WALLET_PASSPHRASE_INCORRECT: i64 = -14;
    /// The command does not fit the wallet's encryption state.
    pub const WALLET_WRONG_ENC_STATE: i64 = -15;
    /// No such wallet.
    pub const WALLET_NOT_FOUND: i64 = -18;
    /// Several wallets loaded and none named.
    pub const WALLET_NOT_SPECIFIED: i64 = -19;
    /// The wallet is already loaded.
    pub const WALLET_ALREADY_LOADED: i64 = -35;
    /// Hex or bytes that do not decode.
    pub const DESERIALIZATION_ERROR: i64 = -22;
    /// Missing or spent inputs, or another verification error.
    pub const VERIFY_ERROR: i64 = -25;
    /// Rejected by consensus or policy.
    pub const VERIFY_REJECTED: i64 = -26;
    /// Already in the chain.
    pub const VERIFY_ALREADY_IN_CHAIN: i64 = -27;
    /// The node has no network (started without it).
    pub const CLIENT_P2P_DISABLED: i64 = -9;
    /// `addnode add` for a peer already added.
    pub const CLIENT_NODE_ALREADY_ADDED: i64 = -23;
    /// `addnode remove` for a peer never added.
    pub const CLIENT_NODE_NOT_ADDED: i64 = -24;
    /// `disconnectnode` for a peer not connected.
    pub const CLIENT_NODE_NOT_CONNECTED: i64 = -29;
    /// An IP or subnet that does not parse, or a ban that cannot be changed.
    pub const CLIENT_INVALID_IP_OR_SUBNET: i64 = -30;
}

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// Bitcoin Core's code.
    pub code: i64,
    /// What went wrong, for a person.
    pub message: String,
}

impl RpcError {
    /// An error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// -8.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMETER, message)
    }

    /// -5 for a block hash the node does not know.
    pub fn block_not_found() -> Self {
        Self::new(code::INVALID_ADDRESS_OR_KEY, "Block not found")
    }

    /// -3 for a value of the wrong JSON type.
    pub fn wrong_type(value: &Value, expected: &str) -> Self {
        Self::new(
            code::TYPE_ERROR,
            format!(
                "JSON value of type {} is not of expected type {expected}",
                json_type(value)
            ),
        )
    }

    /// -22.
    pub fn decode(message: impl Into<String>) -> Self {
        Self::new(code::DESERIALIZATION_ERROR, message)
    }

    /// The JSON-RPC error object.
    pub fn to_json(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }
}

/// JSON's name for the type of a value, as Core's messages use it.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl From<ChainError> for RpcError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::UnknownBlock(_) => RpcError::block_not_found(),
            ChainError::Genesis | ChainError::NoMerkleIndex | ChainError::AddressIndexOff => {
                RpcError::new(code::MISC_ERROR, e.to_string())
            }
            ChainError::Rejected(reason) => RpcError::new(code::VERIFY_ERROR, reason.to_string()),
            ChainError::Corrupt { .. }
            | ChainError::ForeignChain { .. }
            | ChainError::SchemaTooNew { .. }
            | ChainError::DiskFull { .. }
            | ChainError::NoAddressIndex { .. }
            | ChainError::Storage { .. } => RpcError::new(code::INTERNAL_ERROR, e.to_string()),
        }
    }
}
