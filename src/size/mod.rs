//! The `bench-gate size` pipeline below the command: measurements in (result files or
//! baselines, [`input`]), the pure arithmetic of [`crate::sizing`] applied to every model both
//! sides measured, the `size -o` record ([`SizeOutput`]) and the ratio tables out. The command
//! parses flags and writes files; `report` renders the record.

pub mod input;

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::config::SizingConfig;
use crate::sizing::{
    self, Catalogue, FitOptions, PlanInput, Policy, Ratio, RatioTable, SizingReport, cheapest_fit,
};
use input::{CpuMeasurements, ModelMeasurement};

/// Bumped on any incompatible change of the `size -o` file.
pub const SIZE_OUTPUT_SCHEMA_VERSION: u32 = 1;
/// Peak RSS assumed when no measurement recorded one; said in the notes.
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
    /// The capacity plan; absent without a target load.
    pub sizing: Option<SizingReport>,
}

/// The two sides of the ratio: measured target, or a target ratio from a table.
pub enum Target {
    Measured(CpuMeasurements),
    FromTable {
        table: RatioTable,
        cpu: String,
        path: PathBuf,
    },
}

impl Target {
    fn cpu(&self) -> &str {
        match self {
            Target::Measured(t) => &t.cpu_model,
            Target::FromTable { cpu, .. } => cpu,
        }
    }
}

/// Per-pod CPU policy asked for on the command line (else the config's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyChoice {
    Guaranteed,
    Headroom,
}

/// What the user asked for beyond the measurements; `None` takes `[sizing]`'s value.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// Models to size; empty: every model both sides measured.
    pub models: Vec<String>,
    /// The peak load; without it only ratios are computed.
    pub target_rps: Option<f64>,
    pub p95_slo_ms: Option<f64>,
    pub utilisation: Option<f64>,
    pub min_pods: Option<u32>,
    pub policy: Option<PolicyChoice>,
    pub threads_per_request: u32,
    /// The CPU the pods run on (default: the target's).
    pub production_cpu: Option<String>,
}

/// Sizes every model of `reference` and `target` (`all`: every CPU's baselines, for the ratio
/// table); returns the record and one ratio table per model.
pub fn size(
    reference: &CpuMeasurements,
    target: &Target,
    all: Option<&[CpuMeasurements]>,
    req: &PlanRequest,
    config: &SizingConfig,
) -> Result<(SizeOutput, Vec<RatioTable>)> {
    let target_cpu = target.cpu().to_string();
    let production_cpu = match &req.production_cpu {
        None => target_cpu.clone(),
        Some(p) if same_cpu(p, &target_cpu) => target_cpu.clone(),
        Some(p) if same_cpu(p, &reference.cpu_model) => reference.cpu_model.clone(),
        Some(p) => bail!(
            "--production-cpu `{p}` is neither the reference ({}) nor the target ({target_cpu})\n  fix: name one of them; to size a third CPU, measure it (or record its ratio with --ratio-config) first",
            reference.cpu_model
        ),
    };
    let names = model_names(reference, target, &req.models)?;
    let mut out = SizeOutput {
        schema_version: SIZE_OUTPUT_SCHEMA_VERSION,
        reference_cpu: reference.cpu_model.clone(),
        target_cpu,
        production_cpu: production_cpu.clone(),
        models: Vec::new(),
    };
    let mut tables = Vec::new();
    for name in &names {
        let Some(r) = reference.model(name) else {
            continue;
        };
        let (ratio, mut notes, target_m) = match target {
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
        tables.push(ratio_table(reference, target_m, r, &ratio, all)?);
        let sizing = match req.target_rps {
            Some(rps) => {
                let prod = if production_cpu == reference.cpu_model {
                    Some(r)
                } else {
                    target_m
                };
                let input = plan_input(req, config, rps, prod, r, &ratio, &mut notes)?;
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
    Ok((out, tables))
}

/// Reads `--ratios FILE` and picks the production CPU's entry (the only one, or `cpu`).
pub fn ratio_target(path: &std::path::Path, cpu: Option<&str>) -> Result<Target> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the ratio table {}: {e}\n  fix: pass the file `bench-gate size --ratio-config` wrote",
            path.display()
        )
    })?;
    let table = RatioTable::from_json(&text)
        .map_err(|e| anyhow::anyhow!("--ratios {}: {e}", path.display()))?;
    let cpu = match (cpu, table.ratios.len()) {
        (Some(p), _) => p.to_string(),
        (None, 1) => table.ratios.keys().next().cloned().unwrap_or_default(),
        (None, _) => bail!(
            "{} has ratios for several CPUs ({})\n  fix: choose one with --production-cpu",
            path.display(),
            table.ratios.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    Ok(Target::FromTable {
        table,
        cpu,
        path: path.to_path_buf(),
    })
}

fn same_cpu(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
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
            bail!(
                "the reference measured no model\n  fix: pass a --reference result that holds at least one model (from `bench-gate run -o`)"
            );
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
                "the ratio table has no ratio for `{cpu}` (it has: {})\n  fix: choose one of those with --production-cpu, or measure `{cpu}` and add it",
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
    req: &PlanRequest,
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
    input.target_utilisation = req.utilisation.unwrap_or(config.utilisation);
    input.min_pods = req.min_pods.unwrap_or(config.min_pods);
    input.max_cpu_per_pod = config.max_cpu_per_pod;
    input.memory_headroom = config.memory_headroom;
    input.p95_slo_ms = req.p95_slo_ms;
    input.threads_per_request = req.threads_per_request;
    input.policy = match req.policy {
        None => config.policy,
        Some(PolicyChoice::Guaranteed) => Policy::Guaranteed,
        Some(PolicyChoice::Headroom) => Policy::Headroom {
            limit_factor: config.limit_factor,
        },
    };
    Ok(input)
}
