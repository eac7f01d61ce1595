//! `bench-gate size`: two one-core measurements -> normalization ratio per model (median and
//! p95, with uncertainty) -> capacity plan, `resources:` YAML, cost -> markdown and JSON. The
//! pipeline is `crate::size`; this file parses, reads and writes.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cli::{PolicyArg, SizeArgs};
use crate::config::{SizingConfig, load_sizing};
use crate::result::write_atomic;
use crate::size::input::{self, CpuMeasurements};
use crate::size::{PlanRequest, PolicyChoice, Target};
use crate::sizing::RatioTable;

pub fn size(args: &SizeArgs) -> Result<u8> {
    if let Some(rps) = args.target_rps
        && !(rps.is_finite() && rps > 0.0)
    {
        bail!(
            "--target-rps {rps}: the target load must be a positive number of requests per second\n  fix: pass the expected peak load, e.g. --target-rps 10"
        );
    }
    super::touches::size(args).check()?;
    let config = sizing_config(args.config.as_deref())?;
    let (reference, target, all) = inputs(args)?;
    let request = PlanRequest {
        models: args.models.clone(),
        target_rps: args.target_rps,
        p95_slo_ms: args.p95_slo_ms,
        utilisation: args.utilisation,
        min_pods: args.min_pods,
        policy: args.policy.map(|p| match p {
            PolicyArg::Guaranteed => PolicyChoice::Guaranteed,
            PolicyArg::Headroom => PolicyChoice::Headroom,
        }),
        threads_per_request: args.threads_per_request,
        production_cpu: args.production_cpu.clone(),
    };
    let (out, tables) = crate::size::size(&reference, &target, all.as_deref(), &request, &config)?;
    let md = crate::report::plan::size_markdown(&out);
    if let Some(path) = &args.ratio_config {
        write_tables(path, &tables)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.output {
        let mut json = serde_json::to_string_pretty(&out)?;
        json.push('\n');
        write_atomic(path, json.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    match &args.markdown {
        Some(path) => {
            write_atomic(path, md.as_bytes())?;
            eprintln!("wrote {}", path.display());
            for m in &out.models {
                if let Some(s) = &m.sizing {
                    println!("# {}\n{}", m.model, s.resources_yaml);
                }
            }
        }
        None => print!("{md}"),
    }
    Ok(0)
}

/// `-c FILE`, else ./benchmark.toml when present, else defaults. Only `[sizing]` is read.
fn sizing_config(path: Option<&Path>) -> Result<SizingConfig> {
    match path {
        Some(p) => Ok(load_sizing(p)?),
        None if Path::new("benchmark.toml").is_file() => {
            Ok(load_sizing(Path::new("benchmark.toml"))?)
        }
        None => Ok(SizingConfig::default()),
    }
}

type Inputs = (CpuMeasurements, Target, Option<Vec<CpuMeasurements>>);

fn inputs(args: &SizeArgs) -> Result<Inputs> {
    if let Some(dir) = &args.baselines {
        let all = input::all_from_baselines(dir)?;
        let (Some(rc), Some(tc)) = (&args.reference_cpu, &args.target_cpu) else {
            bail!(
                "--baselines needs --reference-cpu and --target-cpu\n  fix: pass both, e.g. --reference-cpu apple-m4 --target-cpu xeon-8480 (the CPU folders under --baselines)"
            );
        };
        let reference = input::pick_cpu(&all, rc, dir)?;
        let target = input::pick_cpu(&all, tc, dir)?;
        return Ok((reference, Target::Measured(target), Some(all)));
    }
    let Some(reference) = &args.reference else {
        bail!(
            "nothing to size\n  fix: pass --reference m4.json --target xeon.json (result files), or --baselines DIR --reference-cpu CPU --target-cpu CPU"
        );
    };
    let reference = input::from_result_file(reference)?;
    if let Some(path) = &args.ratios {
        let target = crate::size::ratio_target(path, args.production_cpu.as_deref())?;
        return Ok((reference, target, None));
    }
    let Some(target) = &args.target else {
        bail!(
            "--reference needs --target (or --ratios)\n  fix: pass the production CPU's result file with --target xeon.json"
        );
    };
    Ok((
        reference,
        Target::Measured(input::from_result_file(target)?),
        None,
    ))
}

/// One table: `path`. Several models: `stem.<model>.json` beside it, one table per model.
fn write_tables(path: &Path, tables: &[RatioTable]) -> Result<()> {
    if let [one] = tables {
        write_atomic(path, one.to_json().as_bytes())?;
        return Ok(());
    }
    let stem = path.file_stem().map_or_else(
        || "ratio_config".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    for t in tables {
        let model = t.what.split(' ').next().unwrap_or("model");
        let file: PathBuf = path.with_file_name(format!("{stem}.{model}.json"));
        write_atomic(&file, t.to_json().as_bytes())?;
    }
    Ok(())
}
