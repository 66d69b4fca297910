//! What went wrong, as the message for stderr and the process exit code.

/// Exit code of a JSON-RPC error, an authorization failure or a garbled answer.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code when the server cannot be reached or the command line is unusable.
pub const EXIT_USAGE: u8 = 2;

/// A failure of the command: printed to stderr as is, then the program exits with `exit_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub exit_code: u8,
    pub message: String,
}

impl Failure {
    /// An RPC-level failure (error answer, HTTP 401, unreadable answer): exit code 1.
    pub fn rpc(message: impl Into<String>) -> Self {
        Failure {
            exit_code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// Bad options or no way to reach the server: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            exit_code: EXIT_USAGE,
            message: message.into(),
        }
    }
}
