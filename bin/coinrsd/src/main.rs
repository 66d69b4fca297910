//! coinrsd: the coinrs node. Parses the options and runs the node (crates/node).

use std::process::ExitCode;

fn main() -> ExitCode {
    let options = match coinrs_node::config::parse(std::env::args().collect()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(coinrs_node::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            tracing::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}
