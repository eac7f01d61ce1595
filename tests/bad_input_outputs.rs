//! Output drift under bad numerics (issue 18, class 2): a variant whose model produces NaN or
//! infinities, or changes only an integer output, is caught by the duet's output check, and
//! every output element type travels from the workers and is compared with its type named.
//! The models are the tiny ones of `fixtures/gen_odd_outputs.py` (input x f32 [1, 8]); the
//! duets are short (`--max-units 2`): these tests pin the output check, never speed, and the
//! latency threshold (`min_abs_ms = 1`, some 100 times the models' run time) keeps the speed
//! verdict from deciding anything.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn odd(file: &str) -> PathBuf {
    common::fixture(&format!("models/odd-outputs/{file}"))
}

/// A folder with `bench.toml` measuring `model` as `odd`, with `gate` as its `[gate]` table.
struct Duet {
    dir: tempfile::TempDir,
}

impl Duet {
    fn new(model: &str, gate: &str) -> Duet {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            r#"[run]
cpus = "0"
warmup = 1
iterations = 4

[models.odd]
kind = "onnx"
model = {model:?}

[[models.odd.inputs]]
name = "x"
dtype = "f32"
shape = [1, 8]
fill = {{ random = {{ seed = 1, low = -1, high = 1 }} }}

[thresholds.x86_64]
max_regression_pct = 5.0
min_abs_ms = 1.0

[thresholds.aarch64]
max_regression_pct = 5.0
min_abs_ms = 1.0

[gate]
{gate}
"#,
            model = odd(model).display().to_string()
        );
        std::fs::write(dir.path().join("bench.toml"), text).unwrap();
        Duet { dir }
    }

    /// `ab` with B's model `b`: exit code, the JSON verdict's one model, stderr.
    fn ab(&self, b: &str) -> (i32, Value, String) {
        let (code, stdout, err) = self.ab_as(b, "json");
        let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (code, v["models"][0].clone(), err)
    }

    /// `ab` with B's model `b` and `--format format`: exit code, stdout, stderr.
    fn ab_as(&self, b: &str, format: &str) -> (i32, String, String) {
        let mut c = common::bench_gate();
        c.current_dir(self.dir.path());
        if let Some(lib) = common::repo_ort_lib() {
            c.env("ORT_DYLIB_PATH", lib);
        }
        let out = c
            .args(["ab", "-c", "bench.toml", "--b-model"])
            .arg(odd(b))
            .args([
                "--max-units",
                "2",
                "--iterations-per-block",
                "2",
                "--worker-pairs",
                "1",
                "--format",
                format,
            ])
            // Quiet prints nothing but the JSON verdict: the table needs the full output.
            .args(if format == "json" { &["-q"][..] } else { &[] })
            .output()
            .unwrap();
        let err = common::stderr_of(&out);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code().unwrap_or(-1), stdout, err)
    }
}

/// The finding for the tensor `name` in a model's verdict.
fn tensor<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["outputs"]["tensors"]
        .as_array()
        .unwrap_or_else(|| panic!("no outputs: {m:#}"))
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tensor {name}: {m:#}"))
}

fn assert_not_a_protocol_complaint(err: &str) {
    assert!(
        !err.contains("does not understand") && !err.contains("same bench-gate version"),
        "{err}"
    );
}

#[test]
fn a_b_whose_model_outputs_nan_fails_the_output_check_and_names_the_tensor() {
    let d = Duet::new("finite.onnx", "on_output_change = \"fail\"");
    let (code, m, err) = d.ab("nan.onnx");
    assert_eq!(code, 1, "{err}\n{m:#}");
    assert_not_a_protocol_complaint(&err);
    assert_eq!(m["outputs"]["status"], "changed", "{m:#}");
    let y = tensor(&m, "y");
    assert_eq!(y["dtype"], "f32");
    assert_eq!(y["within_tolerance"], false);
    assert_eq!(
        (&y["mismatched"], &y["nan_mismatched"]),
        (&8.into(), &8.into())
    );
    assert!(
        y["compared"].as_str().unwrap().starts_with("isclose"),
        "{y}"
    );
    // The integer output did not change, and was compared exactly.
    let ids = tensor(&m, "ids");
    assert_eq!(
        (&ids["dtype"], &ids["compared"]),
        (&"i64".into(), &"exact".into())
    );
    assert_eq!(ids["within_tolerance"], true);
    let reasons = m["reasons"].to_string();
    assert!(
        reasons.contains("y (f32, isclose") && reasons.contains("8 of 8 elements differ (8 NaN)"),
        "{reasons}"
    );
    assert!(reasons.contains("on_output_change"), "{reasons}");
}

#[test]
fn a_b_whose_model_outputs_infinity_fails_the_output_check() {
    let d = Duet::new("finite.onnx", "on_output_change = \"fail\"");
    let (code, m, err) = d.ab("inf.onnx");
    assert_eq!(code, 1, "{err}\n{m:#}");
    assert_not_a_protocol_complaint(&err);
    assert_eq!(m["outputs"]["status"], "changed", "{m:#}");
    let y = tensor(&m, "y");
    assert_eq!(y["inf_mismatched"], 8, "{y}");
    // Every number the finding writes is a number: none of the infinities leak as `null`.
    assert!(y["max_abs_diff"].is_number(), "{y}");
    assert!(m["reasons"].to_string().contains("(8 infinite)"), "{m:#}");
}

#[test]
fn nan_on_both_sides_is_a_change_unless_output_equal_nan() {
    let strict = Duet::new("nan.onnx", "on_output_change = \"fail\"");
    let (code, m, err) = strict.ab("nan.onnx");
    assert_eq!(code, 1, "{err}\n{m:#}");
    assert_eq!(m["outputs"]["status"], "changed", "{m:#}");
    assert_eq!(tensor(&m, "y")["nan_mismatched"], 8);

    let lenient = Duet::new(
        "nan.onnx",
        "on_output_change = \"fail\"\noutput_equal_nan = true",
    );
    let (code, m, err) = lenient.ab("nan.onnx");
    assert_eq!(code, 0, "{err}\n{m:#}");
    assert_eq!(m["outputs"]["status"], "identical", "{m:#}");
    let y = tensor(&m, "y");
    assert_eq!(y["within_tolerance"], true);
    assert!(
        y["compared"].as_str().unwrap().ends_with("equal_nan"),
        "{y}"
    );
}

#[test]
fn an_integer_output_is_compared_exactly_whatever_the_float_tolerance() {
    // A float tolerance so loose that no float could fail it.
    let d = Duet::new(
        "finite.onnx",
        "on_output_change = \"fail\"\noutput_atol = 1000.0\noutput_rtol = 1.0",
    );
    let (code, m, err) = d.ab("other_ids.onnx");
    assert_eq!(code, 1, "{err}\n{m:#}");
    let ids = tensor(&m, "ids");
    assert_eq!(
        (&ids["compared"], &ids["within_tolerance"]),
        (&"exact".into(), &false.into())
    );
    assert_eq!(ids["mismatched"], 1);
    assert!(ids["max_abs_diff"].as_f64().unwrap() >= 1.0, "{ids}");
    assert_eq!(tensor(&m, "y")["within_tolerance"], true);
}

#[test]
fn every_output_element_type_travels_and_is_compared_with_its_type_named() {
    let d = Duet::new("all_types.onnx", "on_output_change = \"fail\"");
    let (code, m, err) = d.ab("all_types.onnx");
    assert_eq!(code, 0, "{err}\n{m:#}");
    assert_eq!(m["outputs"]["status"], "identical", "{m:#}");
    for (name, dtype, how) in [
        ("y_f16", "f16", "isclose"),
        ("y_bf16", "bf16", "isclose"),
        ("y_f64", "f64", "isclose"),
        ("y_i32", "i32", "exact"),
        ("y_u8", "u8", "exact"),
        ("y_bool", "bool", "exact"),
        ("y_str", "string", "exact"),
    ] {
        let t = tensor(&m, name);
        assert_eq!(t["dtype"], dtype, "{t}");
        assert!(t["compared"].as_str().unwrap().starts_with(how), "{t}");
        assert_eq!(t["elements"], 8, "{t}");
    }
    // The terminal table says what was compared and how, though nothing changed.
    let (code, table, err) = d.ab_as("all_types.onnx", "table");
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("odd: outputs identical: y_bf16 (bf16, isclose atol=1e-4 rtol=1e-3), ")
            && table.contains(" and 3 more"),
        "{table}"
    );
}

/// The fixture models are the generator's output (fixtures/README.md records the same).
#[test]
fn the_odd_output_models_are_the_committed_ones() {
    use sha2::{Digest, Sha256};
    for (file, sha) in [
        (
            "finite.onnx",
            "4f908c182949f3a84573ec90281fe3bdd8ae3093a9c7852367fc5aa2d82cef4c",
        ),
        (
            "nan.onnx",
            "49b3d5d0bd70faf85ba15a4139c13488285dcdd2c4921aa686bd55310a930f7f",
        ),
        (
            "inf.onnx",
            "3b3db9b90ca7f56bb57f2435c74bd4f94db33472a95ff16e20ba764e3e30ac9b",
        ),
        (
            "other_ids.onnx",
            "c029641d0347ed334b3d845139906a5cc8d670f2bef9a984702de99eae59c447",
        ),
        (
            "all_types.onnx",
            "a509670232654df2922e6428e6a02b342d5c0be0d0a0ef8c123be512a1caa106",
        ),
    ] {
        let bytes = std::fs::read(odd(file)).unwrap();
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            got, sha,
            "{file}: rerun fixtures/gen_odd_outputs.py or update the sums"
        );
    }
    assert!(Path::new(&odd("finite.onnx")).is_file());
}

/// A failed output check fails the gate whatever the latency says, and both the terminal's
/// verdict line and the PR comment's headline say so (they said `inconclusive` or `passed`
/// beside exit 1).
#[test]
fn a_failed_output_check_is_the_headline_of_the_table_and_the_comment() {
    let d = Duet::new("finite.onnx", "on_output_change = \"fail\"");
    let (code, table, err) = d.ab_as("nan.onnx", "table");
    assert_eq!(code, 1, "{err}\n{table}");
    assert!(
        table.contains("; outputs changed (odd) and on_output_change = \"fail\" (exit 1)"),
        "{table}"
    );
    let (code, json, err) = d.ab_as("nan.onnx", "json");
    assert_eq!(code, 1, "{err}");
    let verdict = d.dir.path().join("verdict.json");
    std::fs::write(&verdict, json).unwrap();
    let out = common::bench_gate()
        .args(["report", "--verdict"])
        .arg(&verdict)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr_of(&out));
    let headline = md
        .lines()
        .find(|l| l.starts_with("**bench-gate**"))
        .unwrap();
    assert!(
        headline.starts_with("**bench-gate**: ❌ **outputs changed** (odd;"),
        "{headline}"
    );
}
