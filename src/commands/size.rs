//! `bench-gate size`: two one-core measurements -> normalization ratio per model (median and
//! p95, with uncertainty) -> capacity plan, `resources:` YAML, cost -> markdown and JSON.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::size_input::{self, CpuMeasurements, ModelMeasurement};
use crate::cli::{PolicyArg, SizeArgs};
use crate::config::{SizingConfig, load_sizing};
use crate::result::write_atomic;
use crate::sizing::{
    self, Catalogue, FitOptions, PlanInput, Policy, Ratio, RatioTable, SizingReport, cheapest_fit,
};

/// Bumped on any incompatible change of the `size -o` file.
pub const SIZE_OUTPUT_SCHEMA_VERSION: u32 = 1;
/// Peak RSS assumed when no measurement recorded one (baselines keep none); said in the notes.
const ASSUMED_RSS_MIB: f64 = 1024.0;

/// The `size -o` file: one entry per model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SizeOutput {
    pub schema_version: u32,
    pub reference_cpu: String,
    pub target_cpu: String,
    pub production_cpu: String,
    pub models: Vec<ModelSizing>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSizing {
    pub model: String,
    /// Target / reference on the median (with its 95% interval) and on p95.
    pub ratio: Ratio,
    /// Method caveats (different session options, not a one-core run, assumed memory...).
    pub notes: Vec<String>,
    /// The capacity plan; absent without --target-rps.
    pub sizing: Option<SizingReport>,
}

/// The two sides of the ratio: measured target, or a target ratio from a table.
enum Target {
    Measured(CpuMeasurements),
    FromTable {
        table: RatioTable,
        cpu: String,
        path: PathBuf,
    },
}

pub fn size(args: &SizeArgs) -> Result<u8> {
    if let Some(rps) = args.target_rps
        && !(rps.is_finite() && rps > 0.0)
    {
        bail!(
            "--target-rps {rps}: the target load must be a positive number of requests per second\n  fix: pass the expected peak load, e.g. --target-rps 10"
        );
    }
    let outputs: Vec<(&str, &Path)> = [
        ("-o", &args.output),
        ("--markdown", &args.markdown),
        ("--ratio-config", &args.ratio_config),
    ]
    .into_iter()
    .filter_map(|(f, p)| Some((f, p.as_deref()?)))
    .collect();
    let default_config = Path::new("benchmark.toml");
    let read: Vec<(&str, &Path)> = [
        ("--reference", args.reference.as_deref()),
        ("--target", args.target.as_deref()),
        ("--ratios", args.ratios.as_deref()),
        ("-c", args.config.as_deref().or(Some(default_config))),
    ]
    .into_iter()
    .filter_map(|(f, p)| Some((f, p?)))
    .collect();
    crate::result::check_outputs(&outputs, &read)?;
    let config = sizing_config(args.config.as_deref())?;
    let (reference, target, all) = inputs(args)?;
    let target_cpu = match &target {
        Target::Measured(t) => t.cpu_model.clone(),
        Target::FromTable { cpu, .. } => cpu.clone(),
    };
    let production_cpu = match &args.production_cpu {
        None => target_cpu.clone(),
        Some(p) if same_cpu(p, &target_cpu) => target_cpu.clone(),
        Some(p) if same_cpu(p, &reference.cpu_model) => reference.cpu_model.clone(),
        Some(p) => bail!(
            "--production-cpu `{p}` is neither the reference ({}) nor the target ({target_cpu})\n  fix: name one of them; to size a third CPU, measure it (or record its ratio with --ratio-config) first",
            reference.cpu_model
        ),
    };
    let names = model_names(&reference, &target, &args.models)?;
    let mut out = SizeOutput {
        schema_version: SIZE_OUTPUT_SCHEMA_VERSION,
        reference_cpu: reference.cpu_model.clone(),
        target_cpu: target_cpu.clone(),
        production_cpu: production_cpu.clone(),
        models: Vec::new(),
    };
    let mut tables = Vec::new();
    for name in &names {
        let Some(r) = reference.model(name) else {
            continue;
        };
        let (ratio, mut notes, target_m) = match &target {
            Target::Measured(t) => {
                let Some(t_m) = t.model(name) else { continue };
                let ratio = sizing::ratio(&t_m.estimate, &r.estimate)?;
                (ratio, method_notes(r, Some(t_m)), Some(t_m))
            }
            Target::FromTable { table, cpu, path } => (
                table_ratio(table, cpu, r)
                    .map_err(|e| anyhow::anyhow!("--ratios {}: {e}", path.display()))?,
                method_notes(r, None),
                None,
            ),
        };
        tables.push(ratio_table(
            &reference,
            target_m,
            r,
            &ratio,
            all.as_deref(),
        )?);
        let sizing = match args.target_rps {
            Some(rps) => {
                let prod = if production_cpu == reference.cpu_model {
                    Some(r)
                } else {
                    target_m
                };
                let input = plan_input(args, &config, rps, prod, r, &ratio, &mut notes)?;
                let plan = sizing::plan(&input)?;
                let fit = match config.instances.is_empty() {
                    true => None,
                    false => cheapest_fit(
                        &plan,
                        &Catalogue::new(config.instances.clone())?,
                        &FitOptions::default(),
                    ),
                };
                Some(SizingReport::new(&plan, Some(&ratio), fit.as_ref()))
            }
            None => None,
        };
        out.models.push(ModelSizing {
            model: name.clone(),
            ratio,
            notes,
            sizing,
        });
    }
    let md = render_markdown(&out);
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

fn same_cpu(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
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
        let all = size_input::all_from_baselines(dir)?;
        let (Some(rc), Some(tc)) = (&args.reference_cpu, &args.target_cpu) else {
            bail!("--baselines needs --reference-cpu and --target-cpu");
        };
        let reference = size_input::pick_cpu(&all, rc, dir)?;
        let target = size_input::pick_cpu(&all, tc, dir)?;
        return Ok((reference, Target::Measured(target), Some(all)));
    }
    let Some(reference) = &args.reference else {
        bail!(
            "nothing to size\n  fix: pass --reference m4.json --target xeon.json (result files), or --baselines DIR --reference-cpu CPU --target-cpu CPU"
        );
    };
    let reference = size_input::from_result_file(reference)?;
    if let Some(path) = &args.ratios {
        let text = std::fs::read_to_string(path)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the ratio table {}: {e}\n  fix: pass the file `bench-gate size --ratio-config` wrote",
                    path.display()
                )
            })?;
        let table = RatioTable::from_json(&text)
            .map_err(|e| anyhow::anyhow!("--ratios {}: {e}", path.display()))?;
        let cpu = match (&args.production_cpu, table.ratios.len()) {
            (Some(p), _) => p.clone(),
            (None, 1) => table.ratios.keys().next().cloned().unwrap_or_default(),
            (None, _) => bail!(
                "{} has ratios for several CPUs ({})\n  fix: choose one with --production-cpu",
                path.display(),
                table.ratios.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        };
        return Ok((
            reference,
            Target::FromTable {
                table,
                cpu,
                path: path.clone(),
            },
            None,
        ));
    }
    let Some(target) = &args.target else {
        bail!(
            "--reference needs --target (or --ratios)\n  fix: pass the production CPU's result file with --target xeon.json"
        );
    };
    Ok((
        reference,
        Target::Measured(size_input::from_result_file(target)?),
        None,
    ))
}

/// Models both sides measured (or the ones asked for). Refuses when there is nothing in common,
/// because a ratio across different models measures nothing.
fn model_names(
    reference: &CpuMeasurements,
    target: &Target,
    asked: &[String],
) -> Result<Vec<String>> {
    let in_target = |n: &str| match target {
        Target::Measured(t) => t.model(n).is_some(),
        Target::FromTable { .. } => true,
    };
    for name in asked {
        if reference.model(name).is_none() || !in_target(name) {
            bail!(
                "model `{name}` is not measured on both CPUs (reference {} has: {})\n  fix: choose a model both measured",
                reference.cpu_model,
                reference.names().join(", ")
            );
        }
    }
    let names: Vec<String> = reference
        .models
        .iter()
        .map(|m| m.name.clone())
        .filter(|n| asked.is_empty() || asked.contains(n))
        .filter(|n| in_target(n))
        .collect();
    if names.is_empty() {
        let Target::Measured(t) = target else {
            bail!("the reference measured no model");
        };
        bail!(
            "no model in common: {} ({}) measured [{}], {} ({}) measured [{}]; a ratio only means something for the same model on the same fixture\n  fix: measure the same model on both CPUs",
            reference.cpu_model,
            reference.source,
            reference.names().join(", "),
            t.cpu_model,
            t.source,
            t.names().join(", ")
        );
    }
    Ok(names)
}

/// Caveats of the one-core method: both runs should use one CPU, one thread, the same options.
fn method_notes(r: &ModelMeasurement, t: Option<&ModelMeasurement>) -> Vec<String> {
    let mut notes = Vec::new();
    for m in std::iter::once(r).chain(t) {
        let cpu = &m.estimate.cpu_model;
        if m.pinned_cpus > 1 || m.intra_op_threads > 1 {
            notes.push(format!(
                "{cpu}: measured on {} pinned CPUs with {} intra-op threads; the ratio method assumes exactly one CPU and one thread",
                m.pinned_cpus, m.intra_op_threads
            ));
        }
        if let Some(l) = m.cpu_limit.filter(|l| (*l - 1.0).abs() > 1e-6) {
            notes.push(format!(
                "{cpu}: measured under a {l} CPU limit (1 is the method's)"
            ));
        }
    }
    if let Some(t) = t
        && t.config_hash != r.config_hash
    {
        notes.push(
            "the two runs used different session or decoding options (fingerprint config hash differs): the ratio mixes CPU and configuration".into(),
        );
    }
    notes
}

fn table_ratio(table: &RatioTable, cpu: &str, r: &ModelMeasurement) -> Result<Ratio> {
    if !same_cpu(&table.reference_cpu, &r.estimate.cpu_model) {
        bail!(
            "the ratio table's reference CPU is {}, but the reference measurement is from {}\n  fix: use a table made with this reference CPU",
            table.reference_cpu,
            r.estimate.cpu_model
        );
    }
    if table.what != r.estimate.what {
        bail!(
            "the ratio table is for `{}`, but the reference measured `{}`: a ratio only transfers to the same model on the same fixture\n  fix: measure the production CPU, or make a table for this model",
            table.what,
            r.estimate.what
        );
    }
    table
        .ratios
        .iter()
        .find(|(k, _)| same_cpu(k, cpu))
        .map(|(_, v)| v.clone())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the ratio table has no ratio for `{cpu}` (it has: {})",
                table.ratios.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
}

/// The ratio table of this model: every CPU with a baseline of the same workload when reading
/// baselines, else just the two measurements (or the table's ratio).
fn ratio_table(
    reference: &CpuMeasurements,
    target: Option<&ModelMeasurement>,
    r: &ModelMeasurement,
    ratio: &Ratio,
    all: Option<&[CpuMeasurements]>,
) -> Result<RatioTable> {
    let mut estimates = vec![r.estimate.clone()];
    match all {
        Some(all) => estimates.extend(
            all.iter()
                .filter(|c| c.cpu_model != reference.cpu_model)
                .filter_map(|c| c.model(&r.name))
                .filter(|m| m.estimate.what == r.estimate.what)
                .map(|m| m.estimate.clone()),
        ),
        None => match target {
            Some(t) => estimates.push(t.estimate.clone()),
            None => {
                return Ok(RatioTable {
                    schema_version: sizing::RATIO_TABLE_SCHEMA_VERSION,
                    what: r.estimate.what.clone(),
                    reference_cpu: reference.cpu_model.clone(),
                    ratios: [(ratio.target_cpu.clone(), ratio.clone())].into(),
                });
            }
        },
    }
    Ok(RatioTable::build(&reference.cpu_model, &estimates)?)
}

fn plan_input(
    args: &SizeArgs,
    config: &SizingConfig,
    rps: f64,
    production: Option<&ModelMeasurement>,
    reference: &ModelMeasurement,
    ratio: &Ratio,
    notes: &mut Vec<String>,
) -> Result<PlanInput> {
    let rss = production
        .and_then(|p| p.peak_rss_mib)
        .or(reference.peak_rss_mib);
    let rss = rss.unwrap_or_else(|| {
        notes.push(format!(
            "no peak RSS was recorded: {ASSUMED_RSS_MIB} MiB assumed for the memory request; measure with `bench-gate run` for a real figure"
        ));
        ASSUMED_RSS_MIB
    });
    let mut input = match production {
        Some(p) => {
            let mut i = PlanInput::measured(&p.estimate.cpu_model, rps, p.estimate.median_ms, rss);
            i.p95_ms = Some(p.estimate.p95_ms);
            i
        }
        None => {
            notes.push(format!(
                "{} has no measurement of its own here: its latency is derived as {} x ratio {}",
                ratio.target_cpu, reference.estimate.cpu_model, ratio.value
            ));
            let mut i = PlanInput::derived(rps, reference.estimate.median_ms, ratio, rss);
            i.p95_ms = Some(reference.estimate.p95_ms * ratio.p95_ratio);
            i
        }
    };
    input.target_utilisation = args.utilisation.unwrap_or(config.utilisation);
    input.min_pods = args.min_pods.unwrap_or(config.min_pods);
    input.max_cpu_per_pod = config.max_cpu_per_pod;
    input.memory_headroom = config.memory_headroom;
    input.p95_slo_ms = args.p95_slo_ms;
    input.threads_per_request = args.threads_per_request;
    input.policy = match args.policy {
        None => config.policy,
        Some(PolicyArg::Guaranteed) => Policy::Guaranteed,
        Some(PolicyArg::Headroom) => Policy::Headroom {
            limit_factor: config.limit_factor,
        },
    };
    Ok(input)
}

fn render_markdown(out: &SizeOutput) -> String {
    let mut md = String::new();
    for m in &out.models {
        md.push_str(&format!("# Sizing: {}\n\n", m.model));
        match &m.sizing {
            Some(s) => {
                md.push_str(&sizing::markdown(&s.plan, Some(&m.ratio), s.fit.as_ref()));
                md.push('\n');
            }
            None => {
                let r = &m.ratio;
                md.push_str(&format!(
                    "**Normalization ratio** {} / {}: **{:.2} ± {:.2}** (95% interval {:.2}–{:.2}; p95 ratio {:.2}). Pass `--target-rps` for a capacity plan.\n",
                    r.target_cpu, r.reference_cpu, r.value, r.half_width(), r.ci.0, r.ci.1, r.p95_ratio
                ));
            }
        }
        if !m.notes.is_empty() {
            md.push_str("\n**Method notes**\n\n");
            for n in &m.notes {
                md.push_str(&format!("- {n}\n"));
            }
        }
        md.push('\n');
    }
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
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
