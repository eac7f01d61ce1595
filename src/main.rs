//! The `bench-gate` binary: parse the command line, dispatch, map errors to exit codes
//! (0 ok, 1 regressed, 2 user error, 3 inconclusive when configured to fail).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Read the CPU mask the launcher gave (taskset, a cpuset) before anything pins.
    let _ = bench_gate::platform::affinity::inherited_affinity();
    let cli = bench_gate::cli::Cli::parse();
    match bench_gate::commands::dispatch(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let top = e.to_string();
            eprintln!("error: {top}");
            // Layer errors already quote their source; print only causes that add something.
            for cause in e.chain().skip(1).map(|c| c.to_string()) {
                if !top.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::from(bench_gate::EXIT_USER_ERROR)
        }
    }
}
