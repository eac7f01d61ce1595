//! ONNX Runtime's own instruments, read from a loaded workload: the run-level profiler (one
//! Chrome-trace file per model run, ORT >= 1.25) and the session arena's allocation statistics
//! (`AllocatorGetStats`). Neither is used during counted iterations.

use std::path::{Path, PathBuf};

use ort::AsPointer;
use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{NoSelectedOutputs, RunOptions, Session, SessionInputs, SessionOutputs};
use serde::{Deserialize, Serialize};

/// Turns the profiler on for the runs of one graph. Every run gets its own file prefix
/// (`<dir>/<prefix>-<n>`): ORT names a run's trace `<prefix>_<date>_<time with ms>.json`, and
/// two runs within one millisecond would otherwise write the same file.
pub struct RunProfiler {
    options: RunOptions<NoSelectedOutputs>,
    dir: PathBuf,
    prefix: String,
    runs: u32,
}

impl RunProfiler {
    pub fn new(dir: &Path, prefix: &str) -> Result<Self, String> {
        Ok(RunProfiler {
            options: RunOptions::new().map_err(|e| e.to_string())?,
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            runs: 0,
        })
    }

    /// Run options for the next run, writing a trace of its own.
    pub fn next_run(&mut self) -> Result<&RunOptions<NoSelectedOutputs>, String> {
        self.runs += 1;
        let prefix = self.dir.join(format!("{}-{:05}", self.prefix, self.runs));
        self.options
            .enable_profiling(prefix)
            .map_err(|e| e.to_string())?;
        Ok(&self.options)
    }

    pub fn runs(&self) -> u32 {
        self.runs
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// One run of `session`, with the profiler's options for that run when `profiler` is set.
/// Errors name `path` (the model file).
pub fn run<'s, 'i, 'v: 'i, const N: usize>(
    session: &'s mut Session,
    profiler: &'s mut Option<RunProfiler>,
    path: &Path,
    inputs: impl Into<SessionInputs<'i, 'v, N>>,
) -> Result<SessionOutputs<'s>, super::WorkloadError> {
    let run = match profiler {
        Some(p) => {
            let options = p
                .next_run()
                .map_err(|message| super::WorkloadError::Profile { message })?;
            session.run_with_options(inputs, options)
        }
        None => session.run(inputs),
    };
    run.map_err(|e| super::WorkloadError::Run {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The traces one graph wrote during a profiled pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfiledGraph {
    /// The graph's name in node names: the model file's stem (`decoder_model`).
    pub label: String,
    /// File prefix of its traces inside the profile folder (`g1`), then `-<n>_...json`.
    pub prefix: String,
    /// Runs made, so traces written.
    pub runs: u32,
}

/// The session arena's figures (ORT's BFC arena for the CPU provider), bytes turned to MiB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ArenaStats {
    /// The model file's stem.
    pub graph: String,
    /// Memory the arena holds from the system (`TotalAllocated`), MiB.
    pub reserved_mb: f64,
    /// Most memory handed out at once (`MaxInUse`), MiB: the activations' and, where ORT put
    /// them in the arena, the weights' peak.
    pub peak_in_use_mb: f64,
    /// Handed out when read (`InUse`), MiB.
    pub in_use_mb: f64,
    /// Allocations served (`NumAllocs`).
    pub allocations: u64,
    /// Times the arena grew (`NumArenaExtensions`).
    pub extensions: u64,
}

/// The arena statistics of `session`'s CPU allocator, `None` when the session has no arena
/// (arena disabled) or ORT does not report them.
pub fn arena_stats(session: &Session, graph: &str) -> Option<ArenaStats> {
    let info = MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Arena,
        MemoryType::Default,
    )
    .ok()?;
    let allocator = Allocator::new(session, info).ok()?;
    let pairs = allocator_stats(&allocator)?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Some(ArenaStats {
        graph: graph.to_string(),
        reserved_mb: mib(get("TotalAllocated")?),
        peak_in_use_mb: mib(get("MaxInUse")?),
        in_use_mb: mib(get("InUse")?),
        allocations: get("NumAllocs").unwrap_or(0),
        extensions: get("NumArenaExtensions").unwrap_or(0),
    })
}

/// `AllocatorGetStats` as key/value strings. The ort crate (rc.15) does not wrap this C API
/// function, so it is called through `ort::api()`.
fn allocator_stats(allocator: &Allocator) -> Option<Vec<(String, String)>> {
    let api = ort::api();
    let mut kvps: *mut ort::sys::OrtKeyValuePairs = std::ptr::null_mut();
    // SAFETY: `allocator.ptr()` is a live OrtAllocator owned by `allocator` for this call;
    // `kvps` is an out-pointer ORT fills with an object we release below.
    let status = unsafe { (api.AllocatorGetStats)(allocator.ptr(), &mut kvps) };
    if !status.0.is_null() {
        // SAFETY: a non-null status is ours to release.
        unsafe { (api.ReleaseStatus)(status.0) };
        return None;
    }
    if kvps.is_null() {
        return None;
    }
    let mut keys: *const *const std::ffi::c_char = std::ptr::null();
    let mut values: *const *const std::ffi::c_char = std::ptr::null();
    let mut n = 0usize;
    // SAFETY: `kvps` is valid until released; ORT points `keys`/`values` at `n` C strings it owns.
    unsafe { (api.GetKeyValuePairs)(kvps, &mut keys, &mut values, &mut n) };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: `i < n`, and both arrays hold `n` valid NUL-terminated strings while `kvps` lives.
        let (k, v) = unsafe {
            (
                std::ffi::CStr::from_ptr(*keys.add(i)),
                std::ffi::CStr::from_ptr(*values.add(i)),
            )
        };
        out.push((
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        ));
    }
    // SAFETY: released once, after the last read of its strings.
    unsafe { (api.ReleaseKeyValuePairs)(kvps) };
    Some(out)
}

/// A model file's stem, for graph labels.
pub fn graph_label(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned())
}
