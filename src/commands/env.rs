//! `bench-gate env`: what bench-gate detects here. The first thing to run when a number looks wrong.

use anyhow::Result;

use crate::cli::{EnvArgs, OutputFormat};
use crate::config::Config;
use crate::platform::Environment;
use crate::runtime::{Runtime, RuntimeError};

pub fn env(args: &EnvArgs) -> Result<u8> {
    let label = match &args.config {
        Some(p) => Config::load(p)?.cpu_label,
        None => None,
    };
    let environment = Environment::detect(label.as_deref());
    let runtime: Result<Runtime, RuntimeError> = Runtime::load(args.ort.path());
    let ort = match &runtime {
        Ok(rt) => {
            serde_json::json!({ "version": rt.version, "library": rt.library.display().to_string() })
        }
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    match args.format {
        OutputFormat::Json => {
            let v = serde_json::json!({ "environment": environment, "ort": ort });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutputFormat::Table => {
            println!("{}", crate::report::table::environment(&environment, &ort))
        }
    }
    // A missing ORT library is reported, not fatal: `env` is how users find out it is missing.
    Ok(0)
}
