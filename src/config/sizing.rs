//! `[sizing]` of `benchmark.toml`: the capacity-plan policy, the instance catalogue and the load
//! grading bands. Parsed with positions so a bad price or factor points at its line and column.
//!
//! `bench-gate size` needs only this table, and may run where the models are not present (a
//! laptop holding two result files), so [`load_sizing`] reads it without validating the rest of
//! the file; `Config::load` validates it too, so `run` catches a bad catalogue early.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::limits::in_range;
use super::{ConfigError, Ctx};
use crate::sizing::{Band, GradeBands, Instance, Policy};

/// `[sizing]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSizing {
    /// "guaranteed" (integer CPUs, requests == limits) or "headroom" (request + limit headroom).
    #[serde(default)]
    pub policy: Option<PolicyKind>,
    /// Headroom policy: limit = request x this, rounded up to a whole CPU.
    #[serde(default)]
    pub limit_factor: Option<Spanned<f64>>,
    /// Share of the requested CPU the load may use, (0, 1].
    #[serde(default)]
    pub utilisation: Option<Spanned<f64>>,
    /// Pods at least, for availability.
    #[serde(default)]
    pub min_pods: Option<Spanned<u32>>,
    /// Extra memory over the measured peak RSS, as a fraction.
    #[serde(default)]
    pub memory_headroom: Option<Spanned<f64>>,
    /// Largest CPU share per pod before another pod is added.
    #[serde(default)]
    pub max_cpu_per_pod: Option<Spanned<f64>>,
    #[serde(default)]
    pub instances: Vec<Spanned<RawInstance>>,
    #[serde(default)]
    pub grades: Option<RawGrades>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    Guaranteed,
    Headroom,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstance {
    pub name: String,
    pub vcpus: Spanned<f64>,
    pub memory_gib: Spanned<f64>,
    pub price_per_hour: Spanned<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrades {
    #[serde(default)]
    pub excellent: Option<RawBand>,
    #[serde(default)]
    pub acceptable: Option<RawBand>,
}

/// Every key optional: missing ones keep the brief's default for that band.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBand {
    pub min_rps: Option<Spanned<f64>>,
    pub max_p95_ms: Option<Spanned<f64>>,
    pub max_error_rate: Option<Spanned<f64>>,
    pub max_cpu_utilisation: Option<Spanned<f64>>,
}

/// The validated `[sizing]` table, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SizingConfig {
    pub policy: Policy,
    /// `limit_factor` as configured (1.2 by default), also when the policy is Guaranteed, so a
    /// `--policy headroom` on the command line uses it.
    pub limit_factor: f64,
    pub utilisation: f64,
    pub min_pods: u32,
    pub memory_headroom: f64,
    pub max_cpu_per_pod: f64,
    /// Empty when the file lists no instances (then no cost is shown).
    pub instances: Vec<Instance>,
    pub grades: GradeBands,
}

impl Default for SizingConfig {
    /// Guaranteed QoS (the incident's fix), 70% utilisation, 2 pods, 25% memory headroom.
    fn default() -> Self {
        SizingConfig {
            policy: Policy::Guaranteed,
            limit_factor: 1.2,
            utilisation: 0.70,
            min_pods: 2,
            memory_headroom: 0.25,
            max_cpu_per_pod: 4.0,
            instances: Vec::new(),
            grades: GradeBands::default(),
        }
    }
}

/// Only the `[sizing]` table; every other key of the file is ignored here.
#[derive(Debug, Deserialize)]
struct OnlySizing {
    #[serde(default)]
    sizing: Option<RawSizing>,
}

/// Reads and validates only `[sizing]` of the config at `path` (defaults when the table is absent).
pub fn load_sizing(path: &Path) -> Result<SizingConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_sizing(&text, path)
}

/// [`load_sizing`] on text already read.
pub fn parse_sizing(text: &str, path: &Path) -> Result<SizingConfig, ConfigError> {
    let ctx = Ctx { text, path };
    let de = toml::Deserializer::parse(text).map_err(|e| ctx.toml_error(&e, None))?;
    let raw: OnlySizing = serde_path_to_error::deserialize(de)
        .map_err(|e| ctx.toml_error(e.inner(), Some(super::key_path(e.path()))))?;
    ctx.sizing(raw.sizing)
}

impl Ctx<'_> {
    pub(super) fn sizing(&self, raw: Option<RawSizing>) -> Result<SizingConfig, ConfigError> {
        let mut out = SizingConfig::default();
        let Some(raw) = raw else { return Ok(out) };
        let check = |v: &Spanned<f64>, ok: bool, key: &str, rule: &str, help: &str| {
            if ok {
                Ok(*v.get_ref())
            } else {
                Err(self.error(
                    v.span(),
                    format!("`sizing.{key}` is {}: {rule}", v.get_ref()),
                    help,
                ))
            }
        };
        let limit_factor = match &raw.limit_factor {
            Some(v) => check(
                v,
                in_range(*v.get_ref(), 1.0, true, 10.0),
                "limit_factor",
                "it must be between 1 (a limit below the request is invalid) and 10",
                "use 1.2 (request 2.5 -> limit 3)",
            )?,
            None => 1.2,
        };
        out.limit_factor = limit_factor;
        out.policy = match raw.policy {
            Some(PolicyKind::Headroom) => Policy::Headroom { limit_factor },
            Some(PolicyKind::Guaranteed) | None => Policy::Guaranteed,
        };
        if let Some(v) = &raw.utilisation {
            let u = *v.get_ref();
            out.utilisation = check(
                v,
                u.is_finite() && u > 0.0 && u <= 1.0,
                "utilisation",
                "it must be in (0, 1]",
                "use 0.70 to leave room for bursts",
            )?;
        }
        if let Some(v) = &raw.min_pods {
            if *v.get_ref() == 0 {
                return Err(self.error(
                    v.span(),
                    "`sizing.min_pods` is 0: a service needs at least one pod",
                    "use 2 so one pod can fail or be rescheduled",
                ));
            }
            if *v.get_ref() > MAX_PODS {
                return Err(self.error(
                    v.span(),
                    format!(
                        "`sizing.min_pods` is {}: it must be between 1 and {MAX_PODS}",
                        v.get_ref()
                    ),
                    "use 2 so one pod can fail or be rescheduled",
                ));
            }
            out.min_pods = *v.get_ref();
        }
        if let Some(v) = &raw.memory_headroom {
            out.memory_headroom = check(
                v,
                in_range(*v.get_ref(), 0.0, true, 10.0),
                "memory_headroom",
                "it must be a fraction between 0 and 10",
                "use 0.25 (25% over the measured peak RSS)",
            )?;
        }
        if let Some(v) = &raw.max_cpu_per_pod {
            out.max_cpu_per_pod = check(
                v,
                in_range(*v.get_ref(), 1.0, true, 1024.0),
                "max_cpu_per_pod",
                "it must be between 1 and 1024 CPUs",
                "use 4, or the largest pod your nodes schedule comfortably",
            )?;
        }
        for (i, inst) in raw.instances.iter().enumerate() {
            let r = inst.get_ref();
            let pos = |v: &Spanned<f64>, key: &str, rule: &str, max: f64| {
                check(
                    v,
                    in_range(*v.get_ref(), 0.0, false, max),
                    &format!("instances[{i}].{key}"),
                    rule,
                    "correct the catalogue entry",
                )
            };
            let instance = Instance {
                name: r.name.clone(),
                vcpus: pos(
                    &r.vcpus,
                    "vcpus",
                    "it must be a number of vCPUs in (0, 4096]",
                    4096.0,
                )?,
                memory_gib: pos(
                    &r.memory_gib,
                    "memory_gib",
                    "it must be a number of GiB in (0, 65536]",
                    65_536.0,
                )?,
                price_per_hour: pos(
                    &r.price_per_hour,
                    "price_per_hour",
                    &format!(
                        "instance `{}` needs a positive price per hour, at most 100000 (zero would make every plan free)",
                        r.name
                    ),
                    100_000.0,
                )?,
            };
            if out.instances.iter().any(|o| o.name == instance.name) {
                return Err(self.error(
                    inst.span(),
                    format!(
                        "instance `{}` appears twice in [[sizing.instances]]",
                        r.name
                    ),
                    "give each instance type a unique name",
                ));
            }
            out.instances.push(instance);
        }
        if let Some(g) = raw.grades {
            self.merge_band(&mut out.grades.excellent, g.excellent, "excellent")?;
            self.merge_band(&mut out.grades.acceptable, g.acceptable, "acceptable")?;
        }
        Ok(out)
    }

    /// Overrides the band's defaults with the keys given, each within its range.
    fn merge_band(
        &self,
        band: &mut Band,
        raw: Option<RawBand>,
        name: &str,
    ) -> Result<(), ConfigError> {
        let Some(r) = raw else { return Ok(()) };
        let field = |v: Option<Spanned<f64>>,
                     key: &str,
                     (low, low_incl, high): (f64, bool, f64),
                     rule: &str,
                     help: &str| {
            match v {
                None => Ok(None),
                Some(v) if in_range(*v.get_ref(), low, low_incl, high) => Ok(Some(*v.get_ref())),
                Some(v) => Err(self.error(
                    v.span(),
                    format!("`sizing.grades.{name}.{key}` is {}: {rule}", v.get_ref()),
                    help,
                )),
            }
        };
        if let Some(v) = field(
            r.min_rps,
            "min_rps",
            (0.0, true, 1e9),
            "it must be a number of requests per second >= 0",
            "use e.g. min_rps = 100",
        )? {
            band.min_rps = v;
        }
        if let Some(v) = field(
            r.max_p95_ms,
            "max_p95_ms",
            (0.0, false, 1e7),
            "it must be a positive number of milliseconds",
            "use e.g. max_p95_ms = 200",
        )? {
            band.max_p95_ms = v;
        }
        if let Some(v) = field(
            r.max_error_rate,
            "max_error_rate",
            (0.0, true, 1.0),
            "it must be a fraction in [0, 1]",
            "use e.g. max_error_rate = 0.01 (1%, a fraction, not a percentage)",
        )? {
            band.max_error_rate = v;
        }
        if let Some(v) = field(
            r.max_cpu_utilisation,
            "max_cpu_utilisation",
            (0.0, false, 1.0),
            "it must be a fraction in (0, 1]",
            "use e.g. max_cpu_utilisation = 0.70 (a fraction, not a percentage)",
        )? {
            band.max_cpu_utilisation = v;
        }
        Ok(())
    }
}

/// Most pods a plan may ask for at least.
const MAX_PODS: u32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SizingConfig, ConfigError> {
        parse_sizing(text, Path::new("benchmark.toml"))
    }

    #[test]
    fn absent_table_gives_defaults() {
        let c = parse("[models.x]\nkind = \"onnx\"\n").unwrap();
        assert_eq!(c, SizingConfig::default());
    }

    #[test]
    fn headroom_policy_catalogue_and_grades_are_read() {
        let c = parse(
            r#"
[sizing]
policy = "headroom"
limit_factor = 1.5
utilisation = 1.0
min_pods = 3
[[sizing.instances]]
name = "xeon-4x8"
vcpus = 4
memory_gib = 8
price_per_hour = 0.17
[sizing.grades.excellent]
min_rps = 10
"#,
        )
        .unwrap();
        assert_eq!(c.policy, Policy::Headroom { limit_factor: 1.5 });
        assert_eq!((c.utilisation, c.min_pods), (1.0, 3));
        assert_eq!(c.instances.len(), 1);
        assert_eq!(c.instances[0].price_per_hour, 0.17);
        assert_eq!(c.grades.excellent.min_rps, 10.0);
        assert_eq!(
            c.grades.excellent.max_p95_ms, 200.0,
            "unset keys keep defaults"
        );
    }

    #[test]
    fn zero_price_points_at_its_line_and_column() {
        let text = "[sizing]\n[[sizing.instances]]\nname = \"free\"\nvcpus = 4\nmemory_gib = 8\nprice_per_hour = 0.0\n";
        let Err(ConfigError::Invalid { at, message, .. }) = parse(text) else {
            panic!("expected a position error")
        };
        assert_eq!((at.line, at.column), (6, 18), "{message}");
        assert!(
            message.contains("price_per_hour") && message.contains("free"),
            "{message}"
        );
    }

    #[test]
    fn bad_factor_utilisation_and_pods_are_refused() {
        for (text, key) in [
            ("[sizing]\nlimit_factor = 0.5\n", "limit_factor"),
            ("[sizing]\nutilisation = 1.5\n", "utilisation"),
            ("[sizing]\nmin_pods = 0\n", "min_pods"),
            ("[sizing]\npolicy = \"burst\"\n", "policy"),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(key), "{err}");
            assert!(err.contains("benchmark.toml:2:"), "{err}");
        }
    }
}
