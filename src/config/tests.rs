//! Config validation: every rejection names the file, the line and column, and what was expected.

use std::path::{Path, PathBuf};

use super::*;

/// A temp folder holding placeholder model and fixture files, so path checks pass.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        let d = tempfile::tempdir().unwrap();
        for f in ["enc.onnx", "dec.onnx", "dwp.onnx", "m.onnx", "a.wav"] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        Dir(d)
    }
    fn cfg(&self) -> PathBuf {
        self.0.path().join("benchmark.toml")
    }
    fn parse(&self, text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, &self.cfg())
    }
    fn err(&self, text: &str) -> (Location, String) {
        match self.parse(text) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(ConfigError::Invalid { at, message, .. }) => (at, message),
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
}

const WHISPER: &str = r#"
[run]
cpus = "0"
warmup = 1
iterations = 5

[models.tiny]
kind = "whisper"
size = "tiny"
encoder = "enc.onnx"
decoder = "dec.onnx"
decoder_with_past = "dwp.onnx"
fixture = "a.wav"

[models.tiny.session]
intra_op_threads = 1

[thresholds.x86_64]
max_regression_pct = 5.0
min_abs_ms = 1.0
"#;

#[test]
fn valid_whisper_config_resolves_paths_against_the_config_folder() {
    let d = Dir::new();
    let c = d.parse(WHISPER).unwrap();
    assert_eq!(c.cpus, vec![0]);
    let m = c.model("tiny").unwrap();
    assert_eq!(
        m.iterations,
        Iterations::Fixed(std::num::NonZeroU32::new(5).unwrap())
    );
    assert_eq!(m.warmup, 1);
    let files = m.model_files();
    assert_eq!(files[0], d.0.path().join("enc.onnx"));
    assert_eq!(m.fixture(), Some(d.0.path().join("a.wav").as_path()));
    assert_eq!(c.thresholds["x86_64"].max_regression_pct, 5.0);
    assert_eq!(c.thresholds["x86_64"].metric, Metric::Median);
}

#[test]
fn unknown_key_is_rejected_with_its_line_and_column() {
    let d = Dir::new();
    let text = WHISPER.replace(
        "intra_op_threads = 1",
        "intra_op_threads = 1\nintra_threads = 2",
    );
    let (at, msg) = d.err(&text);
    assert_eq!(at.file, d.cfg());
    assert_eq!(at.line, 17, "{msg}");
    assert_eq!(at.column, 1);
    assert!(msg.contains("unknown field `intra_threads`"), "{msg}");
    assert!(
        msg.contains("intra_op_threads"),
        "lists the expected keys: {msg}"
    );
}

#[test]
fn wrong_type_names_the_key_path() {
    let d = Dir::new();
    let text = WHISPER.replace("warmup = 1", "warmup = \"one\"");
    let (at, msg) = d.err(&text);
    assert_eq!((at.line, at.column), (4, 10), "{msg}");
    assert!(msg.contains("run.warmup"), "{msg}");
}

#[test]
fn zero_iterations_are_impossible() {
    let d = Dir::new();
    let (at, msg) = d.err(&WHISPER.replace("iterations = 5", "iterations = 0"));
    assert_eq!(at.line, 5, "{msg}");
    assert!(
        msg.contains("run.iterations") && msg.contains("between 1 and 1000000"),
        "{msg}"
    );
}

#[test]
fn iterations_accept_auto_but_not_other_words() {
    let d = Dir::new();
    let c = d
        .parse(&WHISPER.replace("iterations = 5", "iterations = \"auto\""))
        .unwrap();
    assert_eq!(c.models[0].iterations, Iterations::Auto(AutoKeyword::Auto));
    let (at, _) = d.err(&WHISPER.replace("iterations = 5", "iterations = \"many\""));
    assert_eq!(at.line, 5);
}

#[test]
fn negative_or_zero_threads_are_rejected() {
    let d = Dir::new();
    for bad in ["-1", "0"] {
        let (at, msg) =
            d.err(&WHISPER.replace("intra_op_threads = 1", &format!("intra_op_threads = {bad}")));
        assert_eq!((at.line, at.column), (16, 20), "{bad}: {msg}");
        assert!(msg.contains("intra_op_threads"), "{msg}");
    }
}

#[test]
fn missing_model_file_names_the_resolved_path() {
    let d = Dir::new();
    let (at, msg) = d.err(&WHISPER.replace("\"enc.onnx\"", "\"nope.onnx\""));
    assert_eq!(at.line, 10);
    assert!(
        msg.contains(&d.0.path().join("nope.onnx").display().to_string()),
        "{msg}"
    );
}

#[test]
fn whisper_model_without_decoder_is_rejected() {
    let d = Dir::new();
    let (_, msg) = d.err(&WHISPER.replace("decoder = \"dec.onnx\"\n", ""));
    assert!(msg.contains("needs `decoder`"), "{msg}");
}

#[test]
fn unknown_architecture_and_bad_threshold() {
    let d = Dir::new();
    let (_, msg) = d.err(&WHISPER.replace("[thresholds.x86_64]", "[thresholds.riscv]"));
    assert!(msg.contains("unknown architecture `riscv`"), "{msg}");
    let (_, msg) = d.err(&WHISPER.replace("max_regression_pct = 5.0", "max_regression_pct = -5.0"));
    assert!(msg.contains("percentage in (0, 1000]"), "{msg}");
}

#[test]
fn bad_cpu_list_is_rejected_at_its_position() {
    let d = Dir::new();
    let (at, msg) = d.err(&WHISPER.replace("cpus = \"0\"", "cpus = \"zero\""));
    assert_eq!((at.line, at.column), (3, 8), "{msg}");
}

#[test]
fn syntax_error_has_a_position() {
    let d = Dir::new();
    let (at, _) = d.err("[run\ncpus = 1");
    assert_eq!(at.line, 1);
}

#[test]
fn unreadable_config_is_a_read_error() {
    let e = Config::load(Path::new("/nonexistent/benchmark.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(e.to_string().contains("/nonexistent/benchmark.toml"));
}

const ONNX: &str = r#"
[models.vad]
kind = "onnx"
model = "m.onnx"
fixture = "a.wav"
steps = 10
dims = { batch = 1 }

[[models.vad.inputs]]
name = "input"
dtype = "f32"
shape = ["batch", 512]
fill = "audio"

[[models.vad.inputs]]
name = "state"
dtype = "f32"
shape = [2, "batch", 128]
from_output = "stateN"

[[models.vad.inputs]]
name = "sr"
dtype = "i64"
shape = []
fill = { constant = 16000 }
"#;

#[test]
fn onnx_inputs_resolve_symbolic_dims_and_fills() {
    let d = Dir::new();
    let c = d.parse(ONNX).unwrap();
    let WorkloadSpec::Onnx { inputs, steps, .. } = &c.models[0].workload else {
        panic!()
    };
    assert_eq!(*steps, 10);
    assert_eq!(inputs[0].shape, vec![1, 512]);
    assert_eq!(inputs[0].fill, Fill::Audio);
    assert_eq!(inputs[1].shape, vec![2, 1, 128]);
    assert_eq!(inputs[1].from_output.as_deref(), Some("stateN"));
    assert!(inputs[2].shape.is_empty());
    assert_eq!(inputs[2].fill, Fill::Constant(16000.0));
    assert_eq!(inputs[2].at.line, 21);
}

#[test]
fn onnx_unknown_symbolic_dim_and_unknown_dtype() {
    let d = Dir::new();
    let (at, msg) = d.err(&ONNX.replace("dims = { batch = 1 }", ""));
    assert!(msg.contains("symbolic dimension `batch`"), "{msg}");
    assert_eq!(at.line, 9);
    let (at, msg) = d.err(&ONNX.replace("dtype = \"i64\"", "dtype = \"int64\""));
    assert_eq!(at.line, 23, "{msg}");
    assert!(msg.contains("int64"), "{msg}");
}

#[test]
fn audio_fill_needs_a_fixture_and_random_needs_a_range() {
    let d = Dir::new();
    let (_, msg) = d.err(&ONNX.replace("fixture = \"a.wav\"\n", ""));
    assert!(msg.contains("no `fixture`"), "{msg}");
    let (_, msg) = d.err(&ONNX.replace(
        "fill = { constant = 16000 }",
        "fill = { random = { seed = 1, low = 5, high = 5 } }",
    ));
    assert!(msg.contains("low < high"), "{msg}");
}

#[test]
fn whisper_keys_on_an_onnx_model_are_rejected() {
    let d = Dir::new();
    let (at, msg) = d.err(&ONNX.replace("model = \"m.onnx\"", "encoder = \"m.onnx\""));
    assert_eq!(at.line, 4);
    assert!(msg.contains("`encoder` is for `whisper` models"), "{msg}");
}

#[test]
fn model_names_must_be_safe_file_names() {
    let d = Dir::new();
    let (_, msg) = d.err(&ONNX.replace("models.vad", "models.\"../x\""));
    assert!(msg.contains("not usable as a file name"), "{msg}");
}

#[test]
fn error_display_shows_the_offending_line() {
    let d = Dir::new();
    let e = d
        .parse(&WHISPER.replace("iterations = 5", "iterations = 0"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("benchmark.toml:5:"), "{e}");
    assert!(e.contains("iterations = 0"), "{e}");
    assert!(e.contains("fix:"), "{e}");
}

/// Every number of the file has a range; a value outside it is an error at its line and
/// column naming the key (never a panic later: `Duration::from_secs_f64(1e30)` panics).
#[test]
fn every_number_out_of_range_points_at_its_key() {
    let d = Dir::new();
    let whisper = |from: &str, to: &str| WHISPER.replace(from, to);
    let onnx = |from: &str, to: &str| ONNX.replace(from, to);
    let cases: Vec<(String, &str, usize)> = vec![
        (
            whisper("iterations = 5", "iterations = 5\ntime_budget_s = 1e30"),
            "run.time_budget_s",
            6,
        ),
        (
            whisper("iterations = 5", "iterations = 5\ntime_budget_s = -1"),
            "run.time_budget_s",
            6,
        ),
        (
            whisper("size = \"tiny\"", "size = \"tiny\"\ntime_budget_s = 1e9"),
            "models.tiny.time_budget_s",
            10,
        ),
        (whisper("warmup = 1", "warmup = 100000"), "run.warmup", 4),
        (
            whisper("size = \"tiny\"", "size = \"tiny\"\nwarmup = 20000"),
            "models.tiny.warmup",
            10,
        ),
        (
            whisper("iterations = 5", "iterations = 4000000000"),
            "run.iterations",
            5,
        ),
        (
            whisper("intra_op_threads = 1", "intra_op_threads = 60000"),
            "intra_op_threads",
            16,
        ),
        (
            whisper("intra_op_threads = 1", "inter_op_threads = 5000"),
            "inter_op_threads",
            16,
        ),
        (
            whisper("max_regression_pct = 5.0", "max_regression_pct = 5000.0"),
            "max_regression_pct",
            18,
        ),
        (
            whisper("min_abs_ms = 1.0", "min_abs_ms = 1e12"),
            "min_abs_ms",
            18,
        ),
        (
            whisper(
                "[thresholds.x86_64]",
                "[gate]\nassumed_run_noise_pct = 300\n[thresholds.x86_64]",
            ),
            "assumed_run_noise_pct",
            18,
        ),
        (
            whisper(
                "intra_op_threads = 1",
                "intra_op_threads = 1\n[models.tiny.whisper]\nmax_new_tokens = 100000",
            ),
            "max_new_tokens",
            7,
        ),
        (
            whisper(
                "intra_op_threads = 1",
                "intra_op_threads = 1\n[models.tiny.whisper]\neot_token = -5",
            ),
            "eot_token",
            7,
        ),
        (onnx("steps = 10", "steps = 1000000"), "steps", 6),
        (
            onnx("dims = { batch = 1 }", "dims = { batch = -2 }"),
            "dimension `batch`",
            7,
        ),
        (
            onnx("dims = { batch = 1 }", "dims = { batch = 100000000 }"),
            "more than 268435456 elements",
            9,
        ),
        (
            onnx("fill = { constant = 16000 }", "fill = { constant = 1e30 }"),
            "does not fit dtype I64",
            21,
        ),
        (
            onnx("dtype = \"i64\"", "dtype = \"u8\"").replace("constant = 16000", "constant = 300"),
            "does not fit dtype U8",
            21,
        ),
        (
            format!("{ONNX}\n[sizing]\nlimit_factor = 50\n"),
            "sizing.limit_factor",
            28,
        ),
        (
            format!("{ONNX}\n[sizing]\nmin_pods = 5000\n"),
            "sizing.min_pods",
            28,
        ),
        (
            format!("{ONNX}\n[sizing]\nmemory_headroom = 1e9\n"),
            "sizing.memory_headroom",
            28,
        ),
        (
            format!("{ONNX}\n[sizing]\nmax_cpu_per_pod = 1e9\n"),
            "sizing.max_cpu_per_pod",
            28,
        ),
        (
            format!("{ONNX}\n[sizing.grades.excellent]\nmax_error_rate = 5\n"),
            "sizing.grades.excellent.max_error_rate",
            28,
        ),
        (
            format!("{ONNX}\n[sizing.grades.acceptable]\nmax_cpu_utilisation = 85\n"),
            "sizing.grades.acceptable.max_cpu_utilisation",
            28,
        ),
        (
            format!("{ONNX}\n[sizing.grades.acceptable]\nmin_rps = -1\n"),
            "sizing.grades.acceptable.min_rps",
            28,
        ),
        (
            format!(
                "{ONNX}\n[[sizing.instances]]\nname = \"x\"\nvcpus = 1e9\nmemory_gib = 8\nprice_per_hour = 1\n"
            ),
            "instances[0].vcpus",
            29,
        ),
    ];
    let mut wrong = Vec::new();
    for (text, key, line) in cases {
        let (at, msg) = d.err(&text);
        if !msg.contains(key) || at.line != line || at.file != d.cfg() {
            wrong.push(format!("{key} (line {line}): {at}: {msg}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn key_paths_never_show_serde_internals() {
    let d = Dir::new();
    for (text, key) in [
        (
            WHISPER.replace("iterations = 5", "time_budget_s = \"x\""),
            "`run.time_budget_s`",
        ),
        (WHISPER.replace("cpus = \"0\"", "cpus = 5"), "`run.cpus`"),
        (
            format!("{WHISPER}\n[gate]\nhistory = \"x\"\n"),
            "`gate.history`",
        ),
        (
            format!(
                "{WHISPER}\n[[sizing.instances]]\nname = \"a\"\nvcpus = \"x\"\nmemory_gib = 1\nprice_per_hour = 1\n"
            ),
            "`sizing.instances[0].vcpus`",
        ),
    ] {
        let (_, msg) = d.err(&text);
        assert!(msg.contains(key) && !msg.contains("serde"), "{msg}");
    }
}

#[test]
fn cpus_remember_where_they_were_set() {
    let d = Dir::new();
    let c = d.parse(WHISPER).unwrap();
    assert_eq!(
        c.cpus_origin,
        format!("run.cpus = \"0\" at {}:3:8", d.cfg().display())
    );
    let c = d.parse(&WHISPER.replace("cpus = \"0\"\n", "")).unwrap();
    assert!(
        c.cpus_origin.starts_with("the default run.cpus"),
        "{}",
        c.cpus_origin
    );
}
