//! One function per subcommand. Each returns the process exit code or an error (exit code 2).

mod comment;
mod env;
mod report;
mod run;

use anyhow::Result;

use crate::cli::Command;

pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Run(args) => run::run(&args),
        Command::Env(args) => env::env(&args),
        Command::Report(args) => report::report(&args),
        Command::Comment(args) => comment::comment(&args),
        Command::Schema => {
            print!("{}", crate::result::json_schema());
            Ok(0)
        }
    }
}
