//! The long history `bench-gate trend` scans for step changes: one compact line per accepted run,
//! beside the baseline file, at `baselines/<model>/<arch>/<cpu-slug>.series.jsonl`.
//!
//! The baseline file keeps the last `[gate] history` runs (10) with their samples, for gating;
//! a change-point scan needs months of runs but only a few numbers of each. The first line is a
//! header naming the series, then one JSON object per run, oldest first: when, which commit,
//! median, p95, the median's 95% interval, peak memory, iterations, ONNX Runtime version (~190
//! bytes with a 40-digit commit, numbers rounded to 4 decimals). At most [`MAX_POINTS`] are kept
//! (~8 years of nightly runs, ~570 KB); the oldest go first. Lines append at the end, so a
//! nightly update is a one-line diff.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::slug::cpu_slug;
use super::store::{BaselineError, Key, Pending};
use super::{BaselineFile, BaselineRun};
use crate::result::ModelResult;

/// Bumped on any incompatible change; readers refuse newer versions.
pub const SERIES_SCHEMA_VERSION: u32 = 1;
/// Points kept per series.
pub const MAX_POINTS: usize = 3000;
/// File name suffix, after the CPU slug.
pub const SERIES_SUFFIX: &str = ".series.jsonl";

/// The first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesHeader {
    pub schema_version: u32,
    pub model: String,
    pub architecture: String,
    pub cpu_model: String,
}

/// One accepted run. Milliseconds, warm-up excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesPoint {
    /// RFC 3339, UTC: when the run was measured.
    pub t: String,
    /// The measured commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub median_ms: f64,
    pub p95_ms: f64,
    /// 95% interval of the run's median: `[low, high]`.
    pub ci_ms: [f64; 2],
    /// Peak RSS of the run, MiB (absent for runs from before bench-gate recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<f64>,
    /// Counted iterations.
    pub n: u32,
    /// ONNX Runtime version: a step at an ORT upgrade explains itself.
    pub ort: String,
}

/// A whole series file.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub header: SeriesHeader,
    /// Oldest first.
    pub points: Vec<SeriesPoint>,
}

/// Rounds to 4 decimals (0.1 us, 0.0001 MiB): far below any noise, and it keeps the lines short.
fn r4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

impl SeriesPoint {
    pub fn from_result(m: &ModelResult, commit: Option<String>, ort: &str) -> Self {
        SeriesPoint {
            t: m.timestamp.clone(),
            commit,
            median_ms: r4(m.latency_ms.median),
            p95_ms: r4(m.latency_ms.p95),
            ci_ms: [
                r4(m.latency_ms.median_ci.low),
                r4(m.latency_ms.median_ci.high),
            ],
            memory_mb: (m.memory_mb > 0.0).then_some(r4(m.memory_mb)),
            n: m.iterations,
            ort: ort.to_string(),
        }
    }

    /// A run already kept in the baseline file (to start a series from an existing history).
    pub fn from_baseline_run(r: &BaselineRun) -> Self {
        SeriesPoint {
            t: r.timestamp.clone(),
            commit: r.commit.clone(),
            median_ms: r4(r.median_ms),
            p95_ms: r4(r.p95_ms),
            ci_ms: [r4(r.median_ci.low), r4(r.median_ci.high)],
            memory_mb: r.memory_mb.map(r4),
            n: r.iterations,
            ort: r.ort_version.clone(),
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, v) in [("median_ms", self.median_ms), ("p95_ms", self.p95_ms)] {
            if !(v.is_finite() && v > 0.0) {
                out.push(format!("{name} = {v} is not a positive latency"));
            }
        }
        if let Some(m) = self.memory_mb.filter(|m| !(m.is_finite() && *m > 0.0)) {
            out.push(format!("memory_mb = {m} is not a positive size"));
        }
        if chrono::DateTime::parse_from_rfc3339(&self.t).is_err() {
            out.push(format!("t = {:?} is not an RFC 3339 time", self.t));
        }
        out
    }
}

/// `root/<model>/<arch>/<cpu-slug>.series.jsonl`, beside the baseline file of `key`.
pub fn path(root: &Path, key: &Key) -> Result<PathBuf, BaselineError> {
    let baseline = key.path(root)?;
    Ok(baseline.with_file_name(format!("{}{SERIES_SUFFIX}", cpu_slug(&key.cpu_model))))
}

/// Parses a series as if read from `path`. Every problem names the line.
pub fn parse(text: &str, path: &Path) -> Result<Series, BaselineError> {
    let at = |line: usize, message: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(at(
            1,
            "empty file: the first line must be the series header".into(),
        ));
    };
    let value: serde_json::Value = serde_json::from_str(first).map_err(|e| at(1, e.to_string()))?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| at(1, "the header has no `schema_version`".into()))?;
    if version > u64::from(SERIES_SCHEMA_VERSION) {
        return Err(BaselineError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let header: SeriesHeader =
        serde_json::from_value(value).map_err(|e| at(1, format!("header: {e}")))?;
    let mut points = Vec::new();
    for (i, line) in lines {
        let p: SeriesPoint = serde_json::from_str(line).map_err(|e| at(i + 1, e.to_string()))?;
        let problems = p.problems();
        if !problems.is_empty() {
            return Err(BaselineError::Invalid {
                path: path.to_path_buf(),
                problems: problems
                    .into_iter()
                    .map(|m| format!("line {}: {m}", i + 1))
                    .collect(),
            });
        }
        points.push(p);
    }
    Ok(Series { header, points })
}

/// Reads a series; `Ok(None)` when the file does not exist.
pub fn read(path: &Path) -> Result<Option<Series>, BaselineError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(BaselineError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The file's text: header line, then one line per point.
pub fn render(series: &Series) -> String {
    let mut out = json_line(&series.header);
    for p in &series.points {
        out.push_str(&json_line(p));
    }
    out
}

/// One compact JSON line with its newline (these types always serialize).
fn json_line<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Appends `point` to the series of `key` (creating it, seeded with the runs `existing` already
/// keeps when the series is new), keeps the newest [`MAX_POINTS`], writes atomically. A point
/// with the timestamp and commit of the newest one is not added twice (a re-run of the same
/// `baseline update`). Returns the path and the number of points.
pub fn append(
    root: &Path,
    key: &Key,
    point: SeriesPoint,
    existing: Option<&BaselineFile>,
) -> Result<(PathBuf, usize), BaselineError> {
    let p = prepare_append(root, key, point, existing)?;
    super::store::write_all(std::slice::from_ref(&p))?;
    Ok((p.path, p.count))
}

/// What [`append`] would write, every check done (the series belongs to `key`, the point is
/// usable), nothing written.
pub fn prepare_append(
    root: &Path,
    key: &Key,
    point: SeriesPoint,
    existing: Option<&BaselineFile>,
) -> Result<Pending, BaselineError> {
    let path = path(root, key)?;
    let mut series = match read(&path)? {
        Some(s) => s,
        None => Series {
            header: SeriesHeader {
                schema_version: SERIES_SCHEMA_VERSION,
                model: key.model.clone(),
                architecture: key.architecture.clone(),
                cpu_model: key.cpu_model.clone(),
            },
            points: existing
                .map(|f| f.runs.iter().map(SeriesPoint::from_baseline_run).collect())
                .unwrap_or_default(),
        },
    };
    if series.header.model != key.model
        || series.header.architecture != key.architecture
        || series.header.cpu_model != key.cpu_model
    {
        return Err(BaselineError::Misplaced {
            path: path.clone(),
            found: format!(
                "{} / {} / {}",
                series.header.model, series.header.architecture, series.header.cpu_model
            ),
            expected: format!("{} / {} / {}", key.model, key.architecture, key.cpu_model),
        });
    }
    series.header.schema_version = SERIES_SCHEMA_VERSION;
    let problems = point.problems();
    if !problems.is_empty() {
        return Err(BaselineError::Invalid {
            path,
            problems: problems
                .into_iter()
                .map(|p| format!("the new point: {p}"))
                .collect(),
        });
    }
    let duplicate = series
        .points
        .last()
        .is_some_and(|last| last.t == point.t && last.commit == point.commit);
    if !duplicate {
        series.points.push(point);
    }
    let excess = series.points.len().saturating_sub(MAX_POINTS);
    series.points.drain(..excess);
    Ok(Pending {
        path,
        text: render(&series),
        count: series.points.len(),
    })
}

/// Every series under `root` (`<model>/<arch>/*.series.jsonl`), sorted by path, each checked
/// to sit where its header says.
pub fn list(root: &Path) -> Result<Vec<(PathBuf, Series)>, BaselineError> {
    let mut paths = Vec::new();
    let list_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BaselineError::List { path, source }
    };
    for model in std::fs::read_dir(root).map_err(list_err(root))? {
        let model = model.map_err(list_err(root))?.path();
        if !model.is_dir() {
            continue;
        }
        for arch in std::fs::read_dir(&model).map_err(list_err(&model))? {
            let arch = arch.map_err(list_err(&model))?.path();
            if !arch.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&arch).map_err(list_err(&arch))? {
                let f = f.map_err(list_err(&arch))?.path();
                if f.to_string_lossy().ends_with(SERIES_SUFFIX) {
                    paths.push(f);
                }
            }
        }
    }
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let Some(s) = read(&p)? else { continue };
        let key = Key {
            model: s.header.model.clone(),
            architecture: s.header.architecture.clone(),
            cpu_model: s.header.cpu_model.clone(),
        };
        let expected = path(root, &key)?;
        if expected != p {
            return Err(BaselineError::Misplaced {
                path: p,
                found: format!("{} / {} / {}", key.model, key.architecture, key.cpu_model),
                expected: expected.display().to_string(),
            });
        }
        out.push((p, s));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key {
            model: "m".into(),
            architecture: "x86_64".into(),
            cpu_model: "Intel Xeon 8480+".into(),
        }
    }

    fn point(t: &str, median: f64) -> SeriesPoint {
        SeriesPoint {
            t: t.into(),
            commit: Some("abc".into()),
            median_ms: median,
            p95_ms: median * 1.1,
            ci_ms: [median * 0.99, median * 1.01],
            memory_mb: Some(100.0),
            n: 20,
            ort: "1.32.0".into(),
        }
    }

    #[test]
    fn the_series_lives_beside_the_baseline_file() {
        let p = path(Path::new("b"), &key()).unwrap();
        assert_eq!(p, Path::new("b/m/x86_64/intel-xeon-8480.series.jsonl"));
    }

    #[test]
    fn appending_round_trips_skips_a_repeat_and_keeps_the_newest_points() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for day in 1..=3 {
            let t = format!("2026-01-0{day}T02:00:00Z");
            append(root, &key(), point(&t, 100.0 + f64::from(day)), None).unwrap();
        }
        // The same run again: not a new point.
        let (p, n) = append(root, &key(), point("2026-01-03T02:00:00Z", 103.0), None).unwrap();
        assert_eq!(n, 3);
        let s = read(&p).unwrap().unwrap();
        assert_eq!(s.points[0].median_ms, 101.0);
        assert_eq!(s.header.cpu_model, "Intel Xeon 8480+");
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 4);
        let listed = list(root).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1, s);
    }

    #[test]
    fn a_full_series_drops_its_oldest_point() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let p = path(root, &key()).unwrap();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let start = chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").unwrap();
        let points: Vec<SeriesPoint> = (0..MAX_POINTS)
            .map(|i| {
                let t = start + chrono::Duration::days(i as i64);
                point(&t.to_rfc3339(), 100.0)
            })
            .collect();
        let series = Series {
            header: SeriesHeader {
                schema_version: 1,
                model: "m".into(),
                architecture: "x86_64".into(),
                cpu_model: "Intel Xeon 8480+".into(),
            },
            points,
        };
        std::fs::write(&p, render(&series)).unwrap();
        let (_, n) = append(root, &key(), point("2030-01-01T00:00:00Z", 120.0), None).unwrap();
        assert_eq!(n, MAX_POINTS);
        let s = read(&p).unwrap().unwrap();
        assert_eq!(s.points[0].t, series.points[1].t);
        assert_eq!(s.points.last().unwrap().median_ms, 120.0);
    }

    #[test]
    fn a_bad_line_is_an_error_naming_the_line() {
        let p = Path::new("b/m/x86_64/x.series.jsonl");
        let head = r#"{"schema_version":1,"model":"m","architecture":"x86_64","cpu_model":"x"}"#;
        let good = r#"{"t":"2026-01-01T00:00:00Z","median_ms":1.0,"p95_ms":1.0,"ci_ms":[1.0,1.0],"n":1,"ort":"1.32.0"}"#;
        let bad = r#"{"t":"2026-01-01T00:00:00Z","median_ms":-1.0,"p95_ms":1.0,"ci_ms":[1.0,1.0],"n":1,"ort":"1.32.0"}"#;
        let e = parse(&format!("{head}\n{good}\n{bad}\n"), p).unwrap_err();
        assert!(e.to_string().contains("line 3: median_ms = -1"), "{e}");
        let e = parse(&format!("{head}\n{{\"t\": 1}}\n"), p).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse("", p).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let newer = r#"{"schema_version":9,"model":"m","architecture":"x86_64","cpu_model":"x"}"#;
        assert!(matches!(
            parse(newer, p),
            Err(BaselineError::NewerSchema { found: 9, .. })
        ));
    }
}
