//! One function per subcommand. Each returns the process exit code or an error (exit code 2).

mod ab;
mod baseline;
mod compare;
mod env;
mod run;

use anyhow::Result;

use crate::cli::Command;

pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Run(args) => run::run(&args),
        Command::Env(args) => env::env(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Baseline(args) => baseline::baseline(&args),
        Command::Ab(args) => ab::ab(&args),
        Command::Schema => {
            print!("{}", crate::result::json_schema());
            Ok(0)
        }
    }
}
