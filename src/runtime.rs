//! Finding and loading the ONNX Runtime shared library, and turning config session options into
//! an ORT session builder.
//!
//! The library is loaded at run time (`ort`'s `load-dynamic`), never downloaded: it comes from the
//! pinned PyPI wheel that `scripts/setup-ort.sh` verifies and extracts into `.ort/lib/`. We resolve
//! and check the path ourselves because `ort` panics when its own lookup fails.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::config::SessionOptions;

/// The ONNX Runtime release the setup script pins.
pub const PINNED_ORT_VERSION: &str = "1.32.0";

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime library not found (looked in: {searched}).\n  fix: run `scripts/setup-ort.sh` from the repository (downloads the pinned onnxruntime {PINNED_ORT_VERSION} wheel from PyPI, checks its sha256 and extracts the library into .ort/lib/), or set ORT_DYLIB_PATH to an existing libonnxruntime.so"
    )]
    NotFound { searched: String },
    #[error(
        "ORT_DYLIB_PATH points to {path}, which does not exist or is not a file.\n  fix: set ORT_DYLIB_PATH to a libonnxruntime.so (>= 1.31), or unset it and run `scripts/setup-ort.sh`"
    )]
    EnvPathMissing { path: PathBuf },
    #[error(
        "cannot load the ONNX Runtime library {path}: {message}\n  fix: use a libonnxruntime.so >= 1.31 for this platform, e.g. from `scripts/setup-ort.sh`"
    )]
    Load { path: PathBuf, message: String },
    #[error(
        "ONNX Runtime could not start: {0}\n  fix: use a libonnxruntime.so >= 1.31 for this platform (--ort-lib or ORT_DYLIB_PATH), e.g. from `scripts/setup-ort.sh`"
    )]
    Env(String),
    #[error(
        "cannot load model {path}: {message}\n  fix: check that the file is an ONNX model (an Optimum or torch.onnx export) and that ONNX Runtime {version} supports its opset"
    )]
    Model {
        path: PathBuf,
        version: String,
        message: String,
    },
}

/// A loaded ONNX Runtime, the handle every session is built from.
pub struct Runtime {
    env: ort::environment::Environment,
    pub library: PathBuf,
    pub version: String,
}

impl Runtime {
    /// Resolves the library (`explicit`, then `ORT_DYLIB_PATH`, then `.ort/lib/` above the current
    /// directory or the executable) and loads it.
    pub fn load(explicit: Option<&Path>) -> Result<Runtime, RuntimeError> {
        let library = locate(explicit)?;
        let builder = ort::init_from(&library).map_err(|e| RuntimeError::Load {
            path: library.clone(),
            message: e.to_string(),
        })?;
        let env = builder
            .with_name("bench-gate")
            .with_telemetry(false)
            .build()
            .map_err(|e| RuntimeError::Env(e.to_string()))?;
        let version = version_from_build_info(ort::info())
            .or_else(|| version_from_file_name(&library))
            .unwrap_or_else(|| "unknown".to_string());
        Ok(Runtime {
            env,
            library,
            version,
        })
    }

    /// Builds a session for `model` with the given options (loading time is the caller's to measure).
    pub fn session(&self, model: &Path, opts: &SessionOptions) -> Result<Session, RuntimeError> {
        let err = |message: String| RuntimeError::Model {
            path: model.to_path_buf(),
            version: self.version.clone(),
            message,
        };
        let level = match opts.graph_optimization_level.0 {
            0 => GraphOptimizationLevel::Disable,
            1 => GraphOptimizationLevel::Level1,
            2 => GraphOptimizationLevel::Level2,
            _ => GraphOptimizationLevel::All,
        };
        let e = |e: ort::Error<_>| err(e.to_string());
        let mut builder = Session::builder(&self.env)
            .map_err(|e| err(e.to_string()))?
            .with_intra_threads(opts.intra_op_threads.get().into())
            .map_err(e)?
            .with_inter_threads(opts.inter_op_threads.get().into())
            .map_err(e)?
            .with_optimization_level(level)
            .map_err(e)?
            .with_parallel_execution(opts.parallel_execution)
            .map_err(e)?
            .with_intra_op_spinning(opts.intra_op_spinning)
            .map_err(e)?
            .with_inter_op_spinning(opts.inter_op_spinning)
            .map_err(e)?;
        builder
            .commit_from_file(model)
            .map_err(|e| err(e.to_string()))
    }
}

/// Where the library would be found, in search order; the first existing file wins.
pub fn candidates(explicit: Option<&Path>) -> Result<Vec<PathBuf>, RuntimeError> {
    if let Some(p) = explicit {
        return Ok(vec![p.to_path_buf()]);
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(RuntimeError::EnvPathMissing { path: p });
        }
        return Ok(vec![p]);
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        // Installed layout (container image): <prefix>/bin/bench-gate + <prefix>/lib/.
        roots.push(exe_dir.join(".."));
        roots.extend(exe_dir.ancestors().map(Path::to_path_buf));
    }
    let mut out = Vec::new();
    for root in roots {
        for rel in [".ort/lib", "lib"] {
            out.push(root.join(rel).join(library_file_name()));
        }
    }
    Ok(out)
}

fn locate(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    let candidates = candidates(explicit)?;
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(std::fs::canonicalize(found).unwrap_or_else(|_| found.clone()));
    }
    let shown: Vec<String> = candidates
        .iter()
        .filter(|p| p.to_string_lossy().contains(".ort") || explicit.is_some())
        .take(4)
        .map(|p| p.display().to_string())
        .collect();
    Err(RuntimeError::NotFound {
        searched: format!("$ORT_DYLIB_PATH (unset), {}", shown.join(", ")),
    })
}

fn library_file_name() -> String {
    if cfg!(target_os = "macos") {
        format!("libonnxruntime.{PINNED_ORT_VERSION}.dylib")
    } else {
        format!("libonnxruntime.so.{PINNED_ORT_VERSION}")
    }
}

/// "ORT Build Info: git-branch=rel-1.32.0, ..." -> "1.32.0".
fn version_from_build_info(info: &str) -> Option<String> {
    let branch = info.split(',').find_map(|part| {
        part.trim()
            .strip_prefix("ORT Build Info: git-branch=")
            .or_else(|| part.trim().strip_prefix("git-branch="))
    })?;
    let v = branch.trim().strip_prefix("rel-")?;
    v.split('.')
        .all(|p| p.parse::<u32>().is_ok())
        .then(|| v.to_string())
}

/// "libonnxruntime.so.1.32.0" -> "1.32.0".
fn version_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let v = name
        .strip_prefix("libonnxruntime.so.")
        .or_else(|| name.strip_prefix("libonnxruntime.")?.strip_suffix(".dylib"))?;
    (v.split('.').count() == 3 && v.split('.').all(|p| p.parse::<u32>().is_ok()))
        .then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_from_build_info() {
        let info = "ORT Build Info: git-branch=rel-1.32.0, git-commit-id=abc, build type=Release, cmake cxx flags: -O3";
        assert_eq!(version_from_build_info(info).as_deref(), Some("1.32.0"));
        assert_eq!(
            version_from_build_info("ORT Build Info: git-branch=main, x"),
            None
        );
    }

    #[test]
    fn version_is_read_from_library_file_name() {
        assert_eq!(
            version_from_file_name(Path::new("/x/libonnxruntime.so.1.32.0")).as_deref(),
            Some("1.32.0")
        );
        assert_eq!(
            version_from_file_name(Path::new("/x/libonnxruntime.1.31.2.dylib")).as_deref(),
            Some("1.31.2")
        );
        assert_eq!(
            version_from_file_name(Path::new("/x/libonnxruntime.so")),
            None
        );
    }
}
