//! What a command runs on, chosen once for every command: the CPUs (`--cpus` over `[run] cpus`)
//! and the models (`--model` over every model of the file). Errors name the flag or the file
//! and list what would have been accepted.

use anyhow::{Context, Result, bail};

use super::{Config, ModelConfig, cpus_arg};
use crate::platform::affinity;

/// The CPUs a command pins itself to, and where they came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuChoice {
    pub cpus: Vec<usize>,
    /// `--cpus 0-1`, `[run] cpus in benchmark.toml`, ...
    pub origin: String,
}

impl CpuChoice {
    /// `--cpus FLAG` (a CPU list or `all`) when given, else `default` described by `origin`.
    pub fn from_flag(flag: Option<&str>, default: &[usize], origin: &str) -> Result<CpuChoice> {
        match flag {
            Some(f) => Ok(CpuChoice {
                cpus: cpus_arg(f).map_err(|e| {
                    anyhow::anyhow!(
                        "--cpus {f}: {e}\n  fix: use a CPU list such as 0, 2-3 or 0,2, or `all`"
                    )
                })?,
                origin: format!("--cpus {f}"),
            }),
            None => Ok(CpuChoice {
                cpus: default.to_vec(),
                origin: origin.to_string(),
            }),
        }
    }

    /// Pins this process (and what it starts) to the CPUs. An inherited mask that does not
    /// hold them is refused, naming both, rather than silently widened.
    pub fn pin(&self) -> Result<()> {
        affinity::pin_current_process(&self.cpus).with_context(|| {
            format!(
                "cannot pin to CPUs {} ({})\n  fix: choose CPUs this process may run on (see `taskset -p $$` or the container's cpuset) with --cpus or [run] cpus",
                affinity::format_cpu_list(&self.cpus),
                self.origin
            )
        })
    }
}

impl Config {
    /// `--cpus` over the file's `[run] cpus`.
    pub fn cpu_choice(&self, flag: Option<&str>) -> Result<CpuChoice> {
        CpuChoice::from_flag(flag, &self.cpus, &self.cpus_origin)
    }

    /// Keeps the models named (every model when `names` is empty). An unknown name is an
    /// error that lists the known ones.
    pub fn keep_models(&mut self, names: &[String]) -> Result<()> {
        for name in names {
            self.require_model(name)?;
        }
        if !names.is_empty() {
            self.models.retain(|m| names.contains(&m.name));
        }
        Ok(())
    }

    /// The one model a single-model command works on: `name`, or the file's only model.
    pub fn one_model(&self, name: Option<&str>) -> Result<&ModelConfig> {
        match (name, self.models.as_slice()) {
            (Some(n), _) => self.require_model(n),
            (None, [only]) => Ok(only),
            (None, _) => bail!(
                "{} has several models\n  fix: choose one with --model ({})",
                self.path.display(),
                self.model_names()
            ),
        }
    }

    pub fn require_model(&self, name: &str) -> Result<&ModelConfig> {
        self.model(name).with_context(|| {
            format!(
                "no model `{name}` in {}\n  fix: use one of: {}",
                self.path.display(),
                self.model_names()
            )
        })
    }

    fn model_names(&self) -> String {
        let names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config of two models; the folder holds placeholder model files for the path checks.
    fn two_models() -> Config {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.onnx", "b.onnx"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let text: String = ["a", "b"]
            .iter()
            .map(|m| {
                format!(
                    "[models.{m}]\nkind = \"onnx\"\nmodel = \"{m}.onnx\"\n[[models.{m}.inputs]]\nname = \"x\"\ndtype = \"f32\"\nshape = [1]\nfill = {{ constant = 1 }}\n"
                )
            })
            .collect();
        Config::parse(&text, &dir.path().join("benchmark.toml")).unwrap()
    }

    #[test]
    fn the_flag_wins_over_the_file_and_says_so() {
        let c = CpuChoice::from_flag(Some("1"), &[0], "[run] cpus").unwrap();
        assert_eq!((c.cpus, c.origin.as_str()), (vec![1], "--cpus 1"));
        let c = CpuChoice::from_flag(None, &[0, 2], "[run] cpus").unwrap();
        assert_eq!((c.cpus, c.origin.as_str()), (vec![0, 2], "[run] cpus"));
        let e = CpuChoice::from_flag(Some("x"), &[0], "").unwrap_err();
        assert!(format!("{e:#}").starts_with("--cpus x:"), "{e:#}");
    }

    #[test]
    fn models_are_kept_by_name_and_unknown_names_list_the_known() {
        let mut c = two_models();
        c.keep_models(&["b".into()]).unwrap();
        assert_eq!(c.models.len(), 1);
        assert_eq!(c.models[0].name, "b");
        let mut c = two_models();
        c.keep_models(&[]).unwrap();
        assert_eq!(c.models.len(), 2);
        let e = two_models().keep_models(&["z".into()]).unwrap_err();
        assert!(format!("{e}").contains("fix: use one of: a, b"), "{e}");
    }

    #[test]
    fn one_model_needs_a_name_only_when_there_are_several() {
        let c = two_models();
        assert_eq!(c.one_model(Some("a")).unwrap().name, "a");
        let e = c.one_model(None).unwrap_err();
        assert!(format!("{e}").contains("several models"), "{e}");
        let mut c = two_models();
        c.keep_models(&["a".into()]).unwrap();
        assert_eq!(c.one_model(None).unwrap().name, "a");
    }
}
