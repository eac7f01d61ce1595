//! `bench-gate run`: config -> pin -> workload -> runner -> result -> table/JSON.

use std::num::NonZeroU32;

use anyhow::{Result, bail};

use crate::cli::{OutputFormat, RunArgs};
use crate::config::{AutoKeyword, Config, Iterations};
use crate::output;
use crate::platform::Environment;
use crate::publish::k8s::{RESULT_MARKERS_ENV, wrap_result};
use crate::report;
use crate::result::{OrtInfo, Profile, RunResult, SCHEMA_VERSION, measure_model};
use crate::runtime::Runtime;

pub fn run(args: &RunArgs) -> Result<u8> {
    let mut config = Config::load(&args.config.config)?;
    apply_overrides(&mut config, args)?;
    super::touches::run(args).check()?;
    config.cpu_choice(None)?.pin()?;
    let environment = Environment::detect(config.cpu_label.as_deref());
    let runtime = Runtime::load(args.ort.path())?;
    output::status(
        args.quiet,
        format!(
            "bench-gate {}: {} ({}), ONNX Runtime {}, pinned to CPUs {:?}",
            env!("CARGO_PKG_VERSION"),
            environment.cpu.model,
            environment.cpu.architecture,
            runtime.version,
            config.cpus
        ),
    );
    let mut models = Vec::with_capacity(config.models.len());
    for model in &config.models {
        let profile = Profile {
            enabled: !args.select.no_profile,
            keep: args
                .select
                .keep_profiles
                .as_ref()
                .map(|d| d.join(&model.name)),
        };
        models.push(measure_model(
            &runtime,
            &config,
            model,
            &environment,
            &profile,
            args.quiet,
        )?);
    }
    let result = RunResult {
        schema_version: SCHEMA_VERSION,
        bench_gate_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp: crate::result::now(),
        host: environment.hostname.clone().unwrap_or_default(),
        git_commit: super::head_commit(&config.path),
        config_file: config.path.display().to_string(),
        ort: OrtInfo {
            version: runtime.version.clone(),
            library: runtime.library.display().to_string(),
        },
        environment,
        models,
    };
    if let Some(out) = &args.output {
        result.write(out)?;
        output::status(args.quiet, format!("wrote {}", out.display()));
    }
    if std::env::var_os(RESULT_MARKERS_ENV).is_some_and(|v| v == "1") {
        // Inside the Kubernetes Job: the result goes back through the pod log.
        print!("{}", wrap_result(&result.to_json()));
        return Ok(0);
    }
    match args.format {
        OutputFormat::Json => print!("{}", result.to_json()),
        OutputFormat::Table if !args.quiet => println!("{}", report::table::run_summary(&result)),
        OutputFormat::Table => {}
    }
    Ok(0)
}

fn apply_overrides(config: &mut Config, args: &RunArgs) -> Result<()> {
    config.keep_models(&args.select.models)?;
    let cpus = config.cpu_choice(args.select.cpus.as_deref())?;
    (config.cpus, config.cpus_origin) = (cpus.cpus, cpus.origin);
    if let Some(it) = &args.select.iterations {
        let parsed = parse_iterations(it)?;
        for m in &mut config.models {
            m.iterations = parsed;
        }
    }
    if let Some(w) = args.warmup {
        for m in &mut config.models {
            m.warmup = w;
        }
    }
    Ok(())
}

fn parse_iterations(s: &str) -> Result<Iterations> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Iterations::Auto(AutoKeyword::Auto));
    }
    match s.parse::<u32>().ok().and_then(NonZeroU32::new) {
        Some(n) => Ok(Iterations::Fixed(n)),
        None => bail!(
            "--iterations {s}: expected a positive whole number or \"auto\"\n  fix: e.g. --iterations 50"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterations_flag_accepts_numbers_and_auto_only() {
        assert_eq!(
            parse_iterations("50").unwrap(),
            Iterations::Fixed(NonZeroU32::new(50).unwrap())
        );
        assert_eq!(
            parse_iterations("AUTO").unwrap(),
            Iterations::Auto(AutoKeyword::Auto)
        );
        for bad in ["0", "-3", "ten", ""] {
            assert!(parse_iterations(bad).is_err(), "{bad}");
        }
    }
}
