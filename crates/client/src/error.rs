//! What went wrong, as the message for stderr, the process exit code, and what kind of
//! failure it is (so that a program that retries, like the miner, can tell an unreachable
//! node from an error answer).

use serde_json::Value;

/// Exit code of a JSON-RPC error, an authorization failure or a garbled answer.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code when the server cannot be reached or the command line is unusable.
pub const EXIT_USAGE: u8 = 2;

/// What kind of failure it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// Bad options or configuration (including an unreadable cookie file).
    Usage,
    /// No connection to the server, or no answer in time.
    Unreachable,
    /// HTTP 401: the credentials were refused.
    Unauthorized,
    /// A JSON-RPC error answer with its code (when it had one).
    Rpc {
        /// The error's `code`.
        code: Option<i64>,
    },
    /// An answer that is not a JSON-RPC answer (HTTP error, unparseable body, ...).
    BadAnswer,
}

/// A failure of the command: printed to stderr as is, then the program exits with `exit_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1 ([`EXIT_FAILURE`]) or 2 ([`EXIT_USAGE`]).
    pub exit_code: u8,
    /// The message, as bitcoin-cli prints it.
    pub message: String,
    /// What kind of failure.
    pub kind: FailureKind,
}

impl Failure {
    /// An RPC-level failure (unreadable answer, HTTP error): exit code 1.
    pub fn rpc(message: impl Into<String>) -> Self {
        Failure {
            exit_code: EXIT_FAILURE,
            message: message.into(),
            kind: FailureKind::BadAnswer,
        }
    }

    /// Bad options or configuration: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            exit_code: EXIT_USAGE,
            message: message.into(),
            kind: FailureKind::Usage,
        }
    }

    /// No way to reach the server: exit code 2.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Failure {
            exit_code: EXIT_USAGE,
            message: message.into(),
            kind: FailureKind::Unreachable,
        }
    }

    /// HTTP 401: exit code 1.
    pub fn unauthorized() -> Self {
        Failure {
            exit_code: EXIT_FAILURE,
            message: "error: incorrect rpcuser or rpcpassword (authorization failed)".into(),
            kind: FailureKind::Unauthorized,
        }
    }

    /// A JSON-RPC error object (the answer's `error`): exit code 1, the message in
    /// bitcoin-cli's format.
    pub fn rpc_error(error: &Value) -> Self {
        Failure {
            exit_code: EXIT_FAILURE,
            message: format_rpc_error(error),
            kind: FailureKind::Rpc {
                code: error.get("code").and_then(Value::as_i64),
            },
        }
    }

    /// The JSON-RPC error code, for an error answer.
    pub fn rpc_code(&self) -> Option<i64> {
        match self.kind {
            FailureKind::Rpc { code } => code,
            _ => None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A JSON-RPC error object as bitcoin-cli prints it:
/// `error code: N`, `error message:`, then the message.
pub fn format_rpc_error(error: &Value) -> String {
    let Value::Object(fields) = error else {
        return format!("error: {error}");
    };
    let mut text = String::new();
    if let Some(code) = fields.get("code").filter(|c| !c.is_null()) {
        text.push_str(&format!("error code: {code}\n"));
    }
    if let Some(Value::String(message)) = fields.get("message") {
        text.push_str("error message:\n");
        text.push_str(message);
    }
    if fields.get("code").and_then(Value::as_i64) == Some(-19) {
        text.push_str(
            " Or for the CLI, specify the \"--rpcwallet=<walletname>\" option before the \
             command (run \"coinrs-cli --help\" for help or \"coinrs-cli listwallets\" to see \
             which wallets are currently loaded).",
        );
    }
    if text.is_empty() {
        format!("error: {error}")
    } else {
        text.trim_end_matches('\n').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rpc_errors_in_bitcoin_cli_format() {
        let e = json!({"code": -8, "message": "Block height out of range"});
        assert_eq!(
            format_rpc_error(&e),
            "error code: -8\nerror message:\nBlock height out of range"
        );
        let e = json!({"code": -19, "message": "Wallet file not specified (must request wallet RPC through /wallet/<filename> uri-path)."});
        assert!(format_rpc_error(&e).contains("--rpcwallet=<walletname>"));
        assert_eq!(format_rpc_error(&json!("boom")), "error: \"boom\"");
        assert_eq!(format_rpc_error(&json!({})), "error: {}");
    }

    #[test]
    fn kinds_and_exit_codes() {
        let f = Failure::rpc_error(&json!({"code": -32601, "message": "Method not found"}));
        assert_eq!(f.exit_code, EXIT_FAILURE);
        assert_eq!(f.rpc_code(), Some(-32601));
        assert_eq!(
            f.to_string(),
            "error code: -32601\nerror message:\nMethod not found"
        );
        assert_eq!(Failure::rpc_error(&json!("text")).rpc_code(), None);
        assert_eq!(Failure::unreachable("x").exit_code, EXIT_USAGE);
        assert_eq!(Failure::usage("x").kind, FailureKind::Usage);
        assert_eq!(Failure::unauthorized().kind, FailureKind::Unauthorized);
        assert_eq!(Failure::rpc("x").rpc_code(), None);
    }
}
