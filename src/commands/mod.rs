//! One function per subcommand. Each returns the process exit code or an error (exit code 2).

mod env;
mod load;
mod run;
mod size;
mod size_input;
mod sweep;

use anyhow::Result;

use crate::cli::Command;

pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Run(args) => run::run(&args),
        Command::Env(args) => env::env(&args),
        Command::Size(args) => size::size(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Load(args) => load::load(&args),
        Command::Schema => {
            print!("{}", crate::result::json_schema());
            Ok(0)
        }
    }
}
