//! The `baselines/` folder: where a (model, architecture, CPU model) lives, reading with
//! validation, and updating atomically (a failed update leaves the previous file intact).

use std::path::{Path, PathBuf};

use super::slug::cpu_slug;
use super::{BASELINE_SCHEMA_VERSION, BaselineFile, BaselineRun, StoredBreakdown};
use crate::result::validate::is_safe_component;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error(
        "cannot read baseline {path}: {source}\n  fix: check that --baselines points at the baselines folder and this user can read it"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "baseline {path} is not valid JSON (corrupt or truncated): {message}\n  fix: restore it from git (git checkout -- {path}); bench-gate will not overwrite it"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "baseline {path} has schema_version {found}, newer than this bench-gate understands ({BASELINE_SCHEMA_VERSION})\n  fix: upgrade bench-gate"
    )]
    NewerSchema { path: PathBuf, found: u64 },
    #[error(
        "baseline {path} is not a usable baseline:\n    {}\n  fix: restore it from git, or delete it to start a new history; bench-gate will not overwrite it",
        problems.join("\n    ")
    )]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error(
        "the new run for baseline {path} is not usable:\n    {}\n  fix: check the result file it came from and measure again; the baseline was not changed",
        problems.join("\n    ")
    )]
    InvalidNewRun {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error(
        "baseline {path} belongs to {found}, but its place in the folder says {expected}\n  fix: move the file back, or delete it"
    )]
    Misplaced {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "`{value}` from the result file is not usable as a baseline folder name ({what})\n  fix: use letters, digits, '.', '-' and '_' only"
    )]
    UnsafeName { what: &'static str, value: String },
    #[error(
        "cannot list baselines in {path}: {source}\n  fix: pass an existing folder with --baselines"
    )]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] crate::result::ResultError),
}

/// Which file a baseline lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub model: String,
    pub architecture: String,
    pub cpu_model: String,
}

impl Key {
    /// The baseline file a measured model is judged against and recorded in: the one place the
    /// key is built from a result.
    pub fn of(m: &crate::result::ModelResult) -> Key {
        Key {
            model: m.name.clone(),
            architecture: m.architecture.clone(),
            cpu_model: m.cpu_model.clone(),
        }
    }

    /// `root/<model>/<arch>/<cpu-slug>.json`; refuses names that could leave `root`.
    pub fn path(&self, root: &Path) -> Result<PathBuf, BaselineError> {
        if !is_safe_component(&self.model) {
            return Err(BaselineError::UnsafeName {
                what: "model name",
                value: self.model.clone(),
            });
        }
        if !is_safe_component(&self.architecture) {
            return Err(BaselineError::UnsafeName {
                what: "architecture",
                value: self.architecture.clone(),
            });
        }
        Ok(root
            .join(&self.model)
            .join(&self.architecture)
            .join(format!("{}.json", cpu_slug(&self.cpu_model))))
    }
}

/// Reads and validates one baseline file. `Ok(None)` only when the file does not exist.
pub fn read(path: &Path) -> Result<Option<BaselineFile>, BaselineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse(&text, path).map(Some)
}

/// Parses and validates baseline JSON as if read from `path`.
pub fn parse(text: &str, path: &Path) -> Result<BaselineFile, BaselineError> {
    let corrupt = |message: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| corrupt("no `schema_version` field".into()))?;
    if version > u64::from(BASELINE_SCHEMA_VERSION) {
        return Err(BaselineError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
        });
    }
    // Non-finite numbers cannot be written in JSON; `null` where a number belongs fails here.
    let file: BaselineFile = serde_path_to_error::deserialize(value)
        .map_err(|e| corrupt(format!("at `{}`: {}", e.path(), e.inner())))?;
    let problems = file.problems();
    if !problems.is_empty() {
        return Err(BaselineError::Invalid {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(file)
}

/// Every baseline file under `root`, validated, sorted by path. One bad file fails the listing:
/// a gate that silently skips a broken baseline would pass changes it should have judged.
pub fn list(root: &Path) -> Result<Vec<(PathBuf, BaselineFile)>, BaselineError> {
    let mut paths = Vec::new();
    collect_json(root, 0, &mut paths)?;
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if let Some(f) = read(&p)? {
            check_placement(&p, root, &f)?;
            out.push((p, f));
        }
    }
    Ok(out)
}

/// `list` restricted to one model and architecture: the CPU models that do have a baseline.
pub fn cpu_models_with_baseline(
    root: &Path,
    model: &str,
    architecture: &str,
) -> Result<Vec<String>, BaselineError> {
    Ok(list(root)?
        .into_iter()
        .filter(|(_, f)| f.model == model && f.architecture == architecture)
        .map(|(_, f)| f.cpu_model)
        .collect())
}

fn collect_json(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), BaselineError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BaselineError::List {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| BaselineError::List {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = entry.path();
        // Layout depth is fixed (model/arch/cpu.json): deeper files are not ours.
        if p.is_dir() && depth < 2 {
            collect_json(&p, depth + 1, out)?;
        } else if depth == 2 && p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    Ok(())
}

/// A file's content must match its place, or `compare` would judge against the wrong CPU.
fn check_placement(path: &Path, root: &Path, f: &BaselineFile) -> Result<(), BaselineError> {
    let key = Key {
        model: f.model.clone(),
        architecture: f.architecture.clone(),
        cpu_model: f.cpu_model.clone(),
    };
    let expected = key.path(root)?;
    if expected != path {
        return Err(BaselineError::Misplaced {
            path: path.to_path_buf(),
            found: format!("{} / {} / {}", f.model, f.architecture, f.cpu_model),
            expected: expected.display().to_string(),
        });
    }
    Ok(())
}

/// A file of the baselines folder as it will be written: checked, rendered, not yet on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub path: PathBuf,
    pub text: String,
    /// Runs (or series points) the file will hold.
    pub count: usize,
}

/// Writes several pending files as one update: the folders are created, every file is staged
/// beside its target, and only then are they all renamed into place (see
/// [`crate::result::write_all_atomic`]).
pub fn write_all(pending: &[Pending]) -> Result<(), BaselineError> {
    for p in pending {
        if let Some(dir) = p.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| crate::result::ResultError::Write {
                path: p.path.clone(),
                source,
            })?;
        }
    }
    let files: Vec<(&Path, &[u8])> = pending
        .iter()
        .map(|p| (p.path.as_path(), p.text.as_bytes()))
        .collect();
    crate::result::write_all_atomic(&files)?;
    Ok(())
}

/// Appends `run` to the file for `key`, keeps the newest `history` runs, writes atomically.
/// `operators`, when the run was profiled, replaces the file's latest breakdown.
/// Returns the path and the number of runs now stored. An existing file that fails validation is
/// an error and stays untouched.
pub fn append(
    root: &Path,
    key: &Key,
    run: BaselineRun,
    history: usize,
    operators: Option<StoredBreakdown>,
) -> Result<(PathBuf, usize), BaselineError> {
    let p = prepare_append(root, key, run, history, operators)?;
    write_all(std::slice::from_ref(&p))?;
    Ok((p.path, p.count))
}

/// What [`append`] would write, every check done, nothing written.
pub fn prepare_append(
    root: &Path,
    key: &Key,
    run: BaselineRun,
    history: usize,
    operators: Option<StoredBreakdown>,
) -> Result<Pending, BaselineError> {
    let path = key.path(root)?;
    let mut file = match read(&path)? {
        Some(f) => {
            check_placement(&path, root, &f)?;
            f
        }
        None => BaselineFile {
            schema_version: BASELINE_SCHEMA_VERSION,
            model: key.model.clone(),
            architecture: key.architecture.clone(),
            cpu_model: key.cpu_model.clone(),
            runs: Vec::new(),
            operators: None,
        },
    };
    if operators.is_some() {
        file.operators = operators;
    }
    // Written with this version's fields, so it carries this version's number.
    file.schema_version = BASELINE_SCHEMA_VERSION;
    let problems = run.problems();
    if !problems.is_empty() {
        return Err(BaselineError::InvalidNewRun {
            path: path.clone(),
            problems,
        });
    }
    file.runs.push(run);
    let excess = file.runs.len().saturating_sub(history.max(1));
    file.runs.drain(..excess);
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| BaselineError::Corrupt {
        path: path.clone(),
        message: e.to_string(),
    })?;
    text.push('\n');
    Ok(Pending {
        path,
        text,
        count: file.runs.len(),
    })
}

/// Every file a command reading the baselines folder `root` may read: each
/// `<model>/<arch>/*.json` baseline and `*.series.jsonl` series, unvalidated (for the check that
/// no output replaces one). A missing or unreadable folder has none: reading it fails later,
/// with its own message.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dirs = |d: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .map(|it| it.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default()
    };
    for model in dirs(root).into_iter().filter(|p| p.is_dir()) {
        for arch in dirs(&model).into_iter().filter(|p| p.is_dir()) {
            out.extend(dirs(&arch).into_iter().filter(|f| {
                let name = f.to_string_lossy();
                name.ends_with(".json") || name.ends_with(super::series::SERIES_SUFFIX)
            }));
        }
    }
    out.sort();
    out
}
