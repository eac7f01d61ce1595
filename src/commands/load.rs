//! `bench-gate load`: N concurrent inference streams per stream count, then RPS, percentiles,
//! CPU use, scale efficiency, the knee and the grade.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::cli::{LoadArgs, LoadModeArg};
use crate::config::Config;
use crate::output;
use crate::platform::{Environment, affinity};
use crate::report::sizing as render;
use crate::runner::load::{LoadPlan, Mode, Stop, drive};
use crate::runtime::Runtime;
use crate::sizing::load_report::{LOAD_SCHEMA_VERSION, LoadReport, LoadRow, finish_rows};
use crate::workload;

const DEFAULT_DURATION: Duration = Duration::from_secs(20);

/// "20s", "2m", "500ms", "1.5s" or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let v: f64 = num.trim().parse().map_err(|_| {
        anyhow::anyhow!("--duration {s}: not a duration\n  fix: e.g. 20s, 2m or 500ms")
    })?;
    let secs = match unit {
        "ms" => v / 1e3,
        "s" => v,
        "m" | "min" => v * 60.0,
        _ => bail!("--duration {s}: unknown unit `{unit}`\n  fix: use ms, s or m"),
    };
    if !(secs.is_finite() && secs > 0.0) {
        bail!("--duration {s}: must be longer than zero\n  fix: pass e.g. --duration 30s");
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn load(args: &LoadArgs) -> Result<u8> {
    let mut config = Config::load(&args.config.config)?;
    if args.streams.is_empty() || args.streams.contains(&0) {
        bail!("--streams: stream counts must be >= 1\n  fix: pass e.g. --streams 1,2,4");
    }
    let mut streams = args.streams.clone();
    streams.sort_unstable();
    streams.dedup();
    let stop = match (args.requests, &args.duration) {
        (Some(0), _) => bail!(
            "--requests 0: run at least one request\n  fix: pass e.g. --requests 100, or --duration 30s"
        ),
        (Some(n), _) => Stop::Requests(n),
        (None, Some(d)) => Stop::Duration(parse_duration(d)?),
        (None, None) => Stop::Duration(DEFAULT_DURATION),
    };
    let mode = match (args.mode, args.rate) {
        (LoadModeArg::Closed, _) => Mode::Closed,
        (LoadModeArg::Open, Some(r)) if r.is_finite() && r > 0.0 => Mode::Open {
            rate: r,
            seed: args.seed,
        },
        (LoadModeArg::Open, r) => {
            bail!("--mode open needs --rate R > 0 (got {r:?})\n  fix: e.g. --mode open --rate 5")
        }
    };
    super::touches::load(args).check()?;
    let choice = config.cpu_choice(args.cpus.as_deref())?;
    (config.cpus, config.cpus_origin) = (choice.cpus.clone(), choice.origin.clone());
    let model = config.one_model(args.model.as_deref())?.clone();
    choice.pin()?;
    let environment = Environment::detect(config.cpu_label.as_deref());
    let runtime = Runtime::load(args.ort.path())?;
    let mut warnings = Vec::new();
    let cpus = config.cpus.len();
    if let Some(&max) = streams.last()
        && max * usize::from(model.session.intra_op_threads.get()) > cpus
    {
        warnings.push(format!(
            "{max} streams x {} intra-op threads exceed the {cpus} pinned CPUs: streams compete for cores, so RPS stops scaling there (that is what the sweep shows, not a bug)",
            model.session.intra_op_threads
        ));
    }
    for w in &warnings {
        output::status(args.quiet, format!("warning: {w}"));
    }
    let warmup = args.warmup.unwrap_or(model.warmup);
    let mut rows = Vec::new();
    for &n in &streams {
        output::status(
            args.quiet,
            format!(
                "load: {} x{n} streams on CPUs {}",
                model.name,
                affinity::format_cpu_list(&config.cpus)
            ),
        );
        let plan = LoadPlan {
            streams: n,
            mode,
            stop,
            warmup,
        };
        let run = drive(&plan, || workload::build(&runtime, &model))?;
        let row = LoadRow::from_run(
            n,
            &run.latencies_ms,
            run.errors,
            run.wall.as_secs_f64(),
            run.cpu_time.map(|c| c.as_secs_f64()),
            cpus,
        );
        match row {
            Some(r) => rows.push(r),
            None => bail!(
                "{} streams: no request succeeded ({} errors); first error: {}\n  fix: check that the model runs at all (`bench-gate run -c CONFIG`), or pass fewer --streams",
                n,
                run.errors,
                run.first_error.unwrap_or_default()
            ),
        }
    }
    let knee_streams = finish_rows(&mut rows, &config.sizing.grades);
    let report = LoadReport {
        schema_version: LOAD_SCHEMA_VERSION,
        cpu_model: environment.cpu.model.clone(),
        model: model.name.clone(),
        mode: match mode {
            Mode::Closed => "closed".to_string(),
            Mode::Open { rate, seed } => format!("open at {rate} RPS (seed {seed})"),
        },
        pinned_cpus: config.cpus.clone(),
        intra_op_threads: model.session.intra_op_threads.get(),
        rows,
        knee_streams,
        warnings,
    };
    super::write_report_files(
        &report,
        args.output.as_deref(),
        args.markdown.as_deref(),
        render::load_markdown,
        args.quiet,
    )?;
    println!("{}", render::load_table(&report));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_common_units() {
        assert_eq!(parse_duration("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        for bad in ["0s", "-1s", "ten", "5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
