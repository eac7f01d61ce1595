//! Snapshot and rendering tests of the PR comment. Inputs are built in code so every field a
//! snapshot shows is visible here.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{GITHUB_COMMENT_LIMIT, Layout, render, render_layout, render_within};
use crate::config::{SessionOptions, WorkloadKind};
use crate::platform::cpu::{CpuInfo, ModelSource};
use crate::platform::{EnvDelta, Environment};
use crate::report::input::*;
use crate::result::{Fingerprint, ModelResult, OrtInfo, RunResult};
use crate::runner::StopReason;
use crate::sizing::SizingReport;
use crate::sizing::cost::{FitOptions, cheapest_fit, tests::catalogue};
use crate::sizing::plan::{PlanInput, Policy, plan};
use crate::sizing::ratio::{ratio, tests::est};
use crate::stats::Summary;

const XEON: &str = "Intel(R) Xeon(R) Platinum 8480+";

fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings
}

fn model_verdict(name: &str, verdict: Outcome, change: Option<f64>) -> ModelVerdictView {
    ModelVerdictView {
        model: name.into(),
        cpu_model: XEON.into(),
        architecture: "x86_64".into(),
        verdict,
        reasons: vec![],
        contamination: vec![],
        metric: "median".into(),
        test: "log-ratio vs history, z=2.576".into(),
        change_pct: change,
        ci_pct: change.map(|c| PctInterval {
            low: c - 2.0,
            high: c + 2.0,
        }),
        threshold_pct: Some(5.0),
        mde_pct: change.map(|_| 7.25),
        outputs: None,
        baseline: change.map(|_| BaselineView {
            source: format!("baselines/{name}/x86_64/intel-xeon-platinum-8480.json"),
            center_ms: 500.0,
            runs_used: 3,
            runs_total: 3,
        }),
        candidate_ms: change.map(|c| 500.0 * (1.0 + c / 100.0)),
        what_changed: vec![],
        cpu_models_with_baseline: vec![],
        iterations: 50,
        latency_verdict: None,
        memory: None,
        accuracy: None,
        operators: None,
    }
}

fn verdict(models: Vec<ModelVerdictView>) -> VerdictView {
    let overall = models
        .iter()
        .map(|m| m.verdict)
        .max()
        .unwrap_or(Outcome::Pass);
    VerdictView {
        verdict: overall,
        exit_code: if overall == Outcome::Regressed { 1 } else { 0 },
        mode: Some("compare".into()),
        timestamp: Some("2024-12-02T10:30:00Z".into()),
        models,
    }
}

fn model_result(name: &str, median: f64) -> ModelResult {
    let samples: Vec<f64> = (0..50)
        .map(|i| median * (0.97 + 0.0012 * f64::from(i)))
        .collect();
    let summary = Summary::of(&samples).expect("finite samples");
    ModelResult {
        name: name.into(),
        kind: WorkloadKind::Whisper,
        timestamp: "2024-12-02T10:30:00Z".into(),
        architecture: "x86_64".into(),
        cpu_model: XEON.into(),
        model_size: Some("tiny".into()),
        iterations: 50,
        avg_latency_ms: summary.mean,
        total_time_s: summary.mean * 50.0 / 1000.0,
        rps: 1000.0 / summary.mean,
        cpu_limit: Some(1.0),
        memory_mb: 512.0,
        warmup: 1,
        load_time_ms: 120.0,
        latency_ms: summary,
        samples_ms: samples,
        stages: vec![],
        rtf: None,
        audio_seconds: Some(30.0),
        tokens_per_iteration: None,
        stop_reason: StopReason::Count,
        wall_time_s: 26.0,
        session: SessionOptions::default(),
        pinned_cpus: vec![0],
        fingerprint: Fingerprint {
            models: Default::default(),
            fixture: None,
            config: "c0ffee".into(),
        },
        during: EnvDelta::default(),
        warnings: vec![],
        notes: vec![],
        operators: None,
        ort_arena: vec![],
        accuracy: None,
    }
}

fn run_result(models: Vec<ModelResult>) -> RunResult {
    RunResult {
        schema_version: 1,
        bench_gate_version: "0.1.0".into(),
        timestamp: "2024-12-02T10:30:00Z".into(),
        host: "runner-1".into(),
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        config_file: "benchmark.toml".into(),
        ort: OrtInfo {
            version: "1.23.2".into(),
            library: ".ort/lib/libonnxruntime.so".into(),
        },
        environment: Environment {
            os: "linux".into(),
            cpu: CpuInfo {
                architecture: "x86_64".into(),
                vendor: Some("Intel".into()),
                model: XEON.into(),
                model_source: ModelSource::Cpuinfo,
                signature: None,
                features: vec!["avx2".into(), "avx512f".into(), "amx_tile".into()],
                logical_cpus: 4,
                physical_cores: Some(2),
            },
            cpu_limit: None,
            affinity: vec![0, 1, 2, 3],
            cgroup_cpuset: None,
            online_cpus: Some(4),
            total_memory_bytes: Some(16 << 30),
            memory_limit: None,
            kernel_release: Some("6.1.0-18-amd64".into()),
            hostname: Some("runner-1".into()),
            in_container: false,
            container_evidence: vec![],
            isolation_warning: None,
        },
        models,
    }
}

fn history(model: &str, medians: &[f64]) -> History {
    History {
        model: model.into(),
        runs: medians
            .iter()
            .enumerate()
            .map(|(i, m)| HistoryPoint {
                timestamp: format!("2024-11-{:02}T03:00:00Z", i + 1),
                commit: Some(format!("{i:07x}abc")),
                median_ms: *m,
                p95_ms: m * 1.1,
            })
            .collect(),
    }
}

fn sizing() -> SizingReport {
    let r = ratio(&est(XEON, 500.0, 0.0), &est("Apple M4", 200.0, 0.0)).expect("ratio");
    let input = PlanInput {
        policy: Policy::DEFAULT_HEADROOM,
        ..PlanInput::derived(10.0, 200.0, &r, 1024.0)
    };
    let p = plan(&input).expect("plan");
    let fit = cheapest_fit(&p, &catalogue(), &FitOptions::default()).expect("fit");
    SizingReport::new(&p, Some(&r), Some(&fit))
}

fn full_input(v: VerdictView) -> ReportInput {
    let names: Vec<String> = v.models.iter().map(|m| m.model.clone()).collect();
    let results = v
        .models
        .iter()
        .map(|m| model_result(&m.model, m.candidate_ms.unwrap_or(510.0)))
        .collect();
    ReportInput {
        second_opinion: None,
        gate: "pr-gate".into(),
        result: Some(run_result(results)),
        sizing: vec![SizingSection {
            model: None,
            report: sizing(),
        }],
        history: names
            .iter()
            .map(|n| history(n, &[498.0, 502.0, 500.0]))
            .collect(),
        provenance: Provenance {
            commit: Some("0123456789abcdef".into()),
            run_url: Some("https://github.com/acme/stt/actions/runs/42".into()),
            branch: Some("feature/faster-decoder".into()),
        },
        verdict: v,
    }
}

#[test]
fn pass_snapshot() {
    let md = render(&full_input(verdict(vec![model_verdict(
        "whisper-tiny",
        Outcome::Pass,
        Some(1.2),
    )])));
    assert!(md.starts_with("<!-- bench-gate:gate=pr-gate -->\n**bench-gate**: ✅ **passed**"));
    assert!(md.contains("```mermaid\nxychart-beta"));
    snapshots().bind(|| insta::assert_snapshot!("comment_pass", md));
}

#[test]
fn regressed_snapshot() {
    let mut m = model_verdict("whisper-tiny", Outcome::Regressed, Some(12.3));
    m.what_changed = vec![ChangeView {
        what: "ONNX Runtime".into(),
        baseline: "1.22.0".into(),
        candidate: "1.23.2".into(),
    }];
    m.reasons = vec!["+12.3% is beyond the 5% threshold and the 2.0% noise".into()];
    let md = render(&full_input(verdict(vec![m])));
    let first = md.lines().nth(1).unwrap_or_default();
    assert!(
        first.contains("❌ **regressed** by +12.3% on Intel(R) Xeon(R) Platinum 8480+"),
        "{first}"
    );
    assert!(md.contains("| ONNX Runtime | 1.22.0 | 1.23.2 | whisper-tiny |"));
    snapshots().bind(|| insta::assert_snapshot!("comment_regressed", md));
}

#[test]
fn inconclusive_snapshot() {
    let mut m = model_verdict("whisper-tiny", Outcome::Inconclusive, Some(4.0));
    m.contamination = vec!["throttled in 40% of CFS periods".into()];
    let mut input = full_input(verdict(vec![m]));
    if let Some(r) = &mut input.result {
        r.models[0].during.throttled_period_ratio = Some(0.4);
    }
    let md = render(&input);
    assert!(md.contains("⚠️ **inconclusive** because throttled in 40% of CFS periods"));
    assert!(md.contains("**Throttled** (whisper-tiny)"));
    assert!(md.contains("**Contaminated measurement** (whisper-tiny)"));
    snapshots().bind(|| insta::assert_snapshot!("comment_inconclusive", md));
}

#[test]
fn no_baseline_snapshot() {
    let mut m = model_verdict("whisper-tiny", Outcome::NoBaseline, None);
    m.cpu_models_with_baseline = vec!["Apple M4".into(), "AMD EPYC 7763".into()];
    let mut input = full_input(verdict(vec![m]));
    input.history.clear();
    input.sizing.clear();
    let md = render(&input);
    assert!(md.contains(
        "ℹ️ **no baseline** for Intel(R) Xeon(R) Platinum 8480+ yet; baselines exist for Apple M4, AMD EPYC 7763"
    ));
    assert!(!md.contains("mermaid"), "no history, no chart");
    assert!(!md.contains("What changed"), "nothing was compared");
    snapshots().bind(|| insta::assert_snapshot!("comment_no_baseline", md));
}

#[test]
fn multi_model_snapshot_puts_the_worst_first() {
    let md = render(&full_input(verdict(vec![
        model_verdict("silero-vad", Outcome::Pass, Some(-0.5)),
        model_verdict("whisper-tiny", Outcome::Regressed, Some(9.0)),
        model_verdict("phobert", Outcome::Improved, Some(-8.0)),
    ])));
    let order: Vec<usize> = ["| whisper-tiny |", "| silero-vad |", "| phobert |"]
        .iter()
        .map(|s| md.find(s).unwrap_or(usize::MAX))
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{md}");
    assert!(md.contains("(1 of 3 models regressed)"));
    snapshots().bind(|| insta::assert_snapshot!("comment_multi_model", md));
}

#[test]
fn two_hundred_models_shrink_below_the_limit_without_failing() {
    let models = (0..200)
        .map(|i| {
            let mut m = model_verdict(
                &format!("model-{i:03}-{}", "x".repeat(60)),
                Outcome::Pass,
                Some(0.1),
            );
            m.what_changed = vec![ChangeView {
                what: format!("model file m{i}.onnx"),
                baseline: "a".repeat(64),
                candidate: "b".repeat(64),
            }];
            m
        })
        .collect();
    let input = full_input(verdict(models));
    let full = render_layout(&input, Layout::FULL);
    assert!(
        full.chars().count() > GITHUB_COMMENT_LIMIT,
        "the test must need shrinking"
    );
    let md = render(&input);
    assert!(md.chars().count() <= GITHUB_COMMENT_LIMIT);
    assert!(md.starts_with(
        "<!-- bench-gate:gate=pr-gate -->\n**bench-gate**: ✅ **passed**: 200 models"
    ));
    assert!(!md.contains("<details>"), "raw details go first");
    assert!(md.contains("_Shortened to fit GitHub's comment limit"));
    assert!(md.contains("[workflow run](https://github.com/acme/stt/actions/runs/42)"));
}

#[test]
fn shrinking_drops_details_before_the_chart() {
    let input = full_input(verdict(vec![model_verdict("m", Outcome::Pass, Some(0.0))]));
    let full = render_layout(&input, Layout::FULL);
    let without_details = render_layout(
        &input,
        Layout {
            details: false,
            ..Layout::FULL
        },
    );
    let md = render_within(&input, without_details.chars().count());
    assert!(md.len() < full.len());
    assert!(
        !md.contains("<details>") && md.contains("```mermaid"),
        "{md}"
    );
    // A limit nothing fits: still an answer, cut, with the marker kept.
    let tiny = render_within(&input, 200);
    assert!(tiny.chars().count() <= 200 && tiny.starts_with("<!-- bench-gate:gate=pr-gate -->"));
}

/// Pipes, backticks, HTML, a mention, a newline, 10 kB.
fn hostile_name() -> String {
    format!(
        "evil|name`code`<script>alert(1)</script>@octocat\n| x |{}",
        "A".repeat(10_000)
    )
}

fn hostile_input() -> ReportInput {
    let name = hostile_name();
    let mut m = model_verdict(&name, Outcome::Regressed, Some(20.0));
    m.cpu_model = format!("<img src=x onerror=alert(1)> @admins {}", "|".repeat(50));
    m.reasons = vec![format!("{name} is slower")];
    m.what_changed = vec![ChangeView {
        what: name.clone(),
        baseline: "</details><script>x</script>".into(),
        candidate: "@org/team".into(),
    }];
    let mut input = full_input(verdict(vec![
        m,
        model_verdict("ok", Outcome::Pass, Some(0.0)),
    ]));
    input.provenance.branch = Some("<script>branch</script>@someone".into());
    input
}

#[test]
fn hostile_names_stay_inert_in_the_markdown() {
    let md = render(&hostile_input());
    assert!(!md.contains("<script"), "{md}");
    assert!(!md.contains("<img"));
    assert!(!md.contains("@octocat") && !md.contains("@admins") && !md.contains("@org"));
    assert!(!md.contains(&"A".repeat(1000)), "long names are cut");
    // Every line of the model table has the header's number of unescaped pipes.
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| Model |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let pipes = |l: &str| l.replace("\\|", "").matches('|').count();
    assert_eq!(table.len(), 4, "header, rule, two models: {table:#?}");
    assert!(
        table.iter().all(|l| pipes(l) == pipes(table[0])),
        "{table:#?}"
    );
}

/// Renders with Debian's cmark-gfm as GitHub would (tables, autolinks, raw HTML allowed:
/// GitHub keeps `<details>`, so the test must not hide HTML we emit). `None` when absent.
fn cmark_gfm(markdown: &str) -> Option<String> {
    let child = Command::new("cmark-gfm")
        .args([
            "--unsafe",
            "--extension",
            "table",
            "--extension",
            "autolink",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("skipped: cmark-gfm is not installed (apt-get install cmark-gfm)");
        return None;
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(markdown.as_bytes())
        .expect("write to cmark-gfm");
    let out = child.wait_with_output().expect("cmark-gfm runs");
    assert!(out.status.success(), "cmark-gfm failed");
    Some(String::from_utf8(out.stdout).expect("cmark-gfm writes UTF-8"))
}

#[test]
fn github_flavoured_rendering_keeps_tables_and_details() {
    let md = render(&full_input(verdict(vec![
        model_verdict("whisper-tiny", Outcome::Regressed, Some(9.0)),
        model_verdict("silero-vad", Outcome::Pass, Some(0.3)),
    ])));
    let Some(html) = cmark_gfm(&md) else { return };
    assert!(
        html.matches("<table>").count() >= 3,
        "model, sizing, details: {html}"
    );
    assert!(html.contains("<details><summary>Environment and raw statistics</summary>"));
    let inside = html
        .split("<details>")
        .nth(1)
        .and_then(|s| s.split("</details>").next())
        .unwrap_or_default();
    assert!(
        inside.contains("<table>"),
        "markdown inside details renders: {inside}"
    );
    assert!(html.contains("<pre><code class=\"language-mermaid\">xychart-beta"));
    assert!(
        html.contains("<a href=\"https://github.com/acme/stt/actions/runs/42\">workflow run</a>")
    );
    assert!(html.contains("<!-- bench-gate:gate=pr-gate -->"));
}

#[test]
fn github_flavoured_rendering_of_a_hostile_name_is_inert() {
    let Some(html) = cmark_gfm(&render(&hostile_input())) else {
        return;
    };
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"));
    assert!(!html.contains("@octocat") && !html.contains("@admins") && !html.contains("@org"));
    // The model table: every body row has as many cells as the header.
    let table = html.split("<table>").nth(1).unwrap_or_default();
    let table = table.split("</table>").next().unwrap_or_default();
    let headers = table.matches("</th>").count();
    assert_eq!(headers, 11, "{table}");
    for row in table.split("<tr>").skip(2) {
        assert_eq!(row.matches("</td>").count(), headers, "{row}");
    }
    assert_eq!(table.split("<tr>").count() - 2, 2, "two model rows");
}

#[test]
fn json_report_carries_rows_worst_first() {
    let input = full_input(verdict(vec![
        model_verdict("a", Outcome::Pass, Some(0.1)),
        model_verdict("b", Outcome::Regressed, Some(7.0)),
    ]));
    let json: serde_json::Value =
        serde_json::from_str(&crate::report::json::render(&input)).expect("valid JSON");
    assert_eq!(json["verdict"], "regressed");
    assert_eq!(json["marker"], "<!-- bench-gate:gate=pr-gate -->");
    assert_eq!(json["models"][0]["model"], "b");
    assert_eq!(json["models"][0]["baseline_median_ms"], 500.0);
    assert_eq!(json["sizing"][0]["report"]["plan"]["pods"], 2);
}

#[test]
fn output_drift_is_one_line_per_model_and_a_change_stands_out() {
    use crate::report::input::{OutputTensorView, OutputsView};
    let mut same = model_verdict("vad", Outcome::Pass, Some(0.3));
    same.outputs = Some(OutputsView {
        status: "within_tolerance".into(),
        tokens_identical: None,
        fails_check: false,
        tensors: vec![OutputTensorView {
            name: "output".into(),
            dtype: Some("f32".into()),
            compared: Some("isclose atol=1e-4 rtol=1e-3".into()),
            max_abs_diff: Some(2.5e-6),
            within_tolerance: true,
            elements: Some(512),
            mismatched: Some(0),
            ..OutputTensorView::default()
        }],
    });
    let mut changed = model_verdict("whisper-tiny", Outcome::Pass, Some(0.1));
    changed.outputs = Some(OutputsView {
        status: "changed".into(),
        tokens_identical: Some(false),
        fails_check: false,
        tensors: vec![
            OutputTensorView {
                name: "last_hidden_state".into(),
                dtype: Some("f32".into()),
                compared: Some("isclose atol=1e-4 rtol=1e-3".into()),
                max_abs_diff: Some(0.3),
                within_tolerance: false,
                elements: Some(8),
                mismatched: Some(5),
                nan_mismatched: 4,
                ..OutputTensorView::default()
            },
            OutputTensorView {
                name: "ids".into(),
                dtype: Some("i64".into()),
                compared: Some("exact".into()),
                max_abs_diff: Some(0.0),
                within_tolerance: true,
                elements: Some(1),
                mismatched: Some(0),
                ..OutputTensorView::default()
            },
            OutputTensorView {
                name: "c".into(),
                dtype: Some("other".into()),
                compared: Some("not compared: element type other is not read".into()),
                within_tolerance: true,
                ..OutputTensorView::default()
            },
        ],
    });
    let md = render(&ReportInput::new(verdict(vec![same, changed])));
    assert!(
        md.contains("- vad: within tolerance (max abs diff 2.5e-6)"),
        "{md}"
    );
    assert!(
        md.contains(
            "- whisper-tiny: ⚠️ **changed**: last\\_hidden\\_state, **different decoded tokens**"
        ),
        "{md}"
    );
    // Under each model, every output with its type and how it was compared, changes first.
    assert!(
        md.contains("  - `output` (f32, isclose atol=1e-4 rtol=1e-3): max abs diff 2.5e-6\n"),
        "{md}"
    );
    let changed_at = md
        .find(
            "  - `last_hidden_state` (f32, isclose atol=1e-4 rtol=1e-3): **5 of 8 elements differ (4 NaN), max abs diff 3.0e-1**\n",
        )
        .unwrap_or_else(|| panic!("{md}"));
    let ids_at = md
        .find("  - `ids` (i64, exact): same\n")
        .unwrap_or_else(|| panic!("{md}"));
    assert!(changed_at < ids_at, "{md}");
    assert!(
        md.contains("  - `c` (other): not compared: element type other is not read\n"),
        "{md}"
    );
}

/// A breakdown with the given operator totals (ms), one node per operator.
fn breakdown(ops: &[(&str, f64)]) -> crate::operators::OperatorBreakdown {
    use crate::operators::breakdown::GraphEvents;
    use crate::operators::trace::KernelEvent;
    let kernels: Vec<KernelEvent> = ops
        .iter()
        .map(|(op, ms)| KernelEvent {
            node: format!("/blocks.0/{op}"),
            op_type: (*op).into(),
            provider: None,
            dur_us: ms * 1e3,
        })
        .collect();
    crate::operators::aggregate(
        &[GraphEvents {
            graph: Some("encoder_model"),
            kernels: &kernels,
        }],
        1,
        500.0,
    )
}

fn explained_regression() -> ReportInput {
    let base = breakdown(&[
        ("MatMul", 210.0),
        ("Softmax", 60.0),
        ("Gelu", 30.0),
        ("LayerNormalization", 12.0),
        ("Add", 9.0),
        ("Transpose", 6.0),
        ("Conv", 40.0),
    ]);
    let cand = breakdown(&[
        ("MatMul", 236.0),
        ("Softmax", 61.0),
        ("Erf", 35.0),
        ("Mul", 4.0),
        ("LayerNormalization", 12.5),
        ("Add", 9.0),
        ("Transpose", 6.0),
        ("Conv", 40.5),
    ]);
    let mut v = model_verdict("whisper-tiny", Outcome::Regressed, Some(12.3));
    v.latency_verdict = Some(Outcome::Regressed);
    v.memory = Some(MemoryView {
        verdict: Some(Outcome::Pass),
        candidate_mb: 512.0,
        baseline_mb: Some(508.0),
        change_pct: Some(0.8),
        ci_pct: Some(PctInterval {
            low: -1.2,
            high: 2.8,
        }),
        threshold_pct: Some(10.0),
        noise_pct: None,
        pairs: vec![],
        arena: None,
    });
    v.operators = Some(crate::operators::Attribution {
        note: crate::operators::ATTRIBUTION_NOTE.into(),
        baseline_source: "profiled baseline run of 2024-12-01T02:17:00Z, commit 0123456789ab"
            .into(),
        diff: crate::operators::diff(&base, &cand),
    });
    full_input(verdict(vec![v]))
}

#[test]
fn regressed_with_operators_and_memory_snapshot() {
    let md = render(&explained_regression());
    snapshots().bind(|| insta::assert_snapshot!("comment_regressed_explained", md));
}

#[test]
fn the_operator_that_changed_most_leads_and_one_sided_ones_say_so() {
    let md = render(&explained_regression());
    let section = md
        .split("### Where the time went: whisper-tiny")
        .nth(1)
        .unwrap();
    let first_row = section
        .lines()
        .find(|l| l.starts_with("| ") && !l.starts_with("| Operator"))
        .unwrap();
    assert!(
        first_row.starts_with("| Erf (only in this run) | — | 35.0 ms | +35.00 ms |"),
        "{first_row}"
    );
    assert!(
        section.contains("| Gelu (only in the baseline) | 30.0 ms | — | -30.00 ms |"),
        "{section}"
    );
    assert!(
        section.contains("| MatMul | 210 ms | 236 ms | +26.00 ms (+12.4%) |"),
        "{section}"
    );
    assert!(
        section.contains("for attribution, not for the verdict"),
        "{section}"
    );
    // Five in the table, the rest collapsed.
    let compact = section.split("<details>").next().unwrap();
    assert_eq!(compact.matches("\n| ").count() - 1, 5, "{compact}");
    assert!(section.contains("<details><summary>The other 4 operator types and the 9 nodes that changed most</summary>"), "{section}");
    assert!(md.contains("- whisper-tiny: 512 MiB against 508 MiB, +0.8% (99% CI -1.2% … +2.8%, threshold 10%): ✅ pass"), "{md}");
}

#[test]
fn a_memory_only_regression_says_memory_in_the_headline() {
    let mut v = model_verdict("whisper-tiny", Outcome::Regressed, Some(0.4));
    v.latency_verdict = Some(Outcome::Pass);
    v.memory = Some(MemoryView {
        verdict: Some(Outcome::Regressed),
        candidate_mb: 640.0,
        baseline_mb: Some(512.0),
        change_pct: Some(25.0),
        ci_pct: Some(PctInterval {
            low: 22.0,
            high: 28.0,
        }),
        threshold_pct: Some(10.0),
        noise_pct: None,
        pairs: vec![],
        arena: None,
    });
    let md = render(&full_input(verdict(vec![v])));
    let headline = md.lines().nth(1).unwrap();
    assert_eq!(
        headline,
        "**bench-gate**: ❌ **regressed**: peak memory grew by +25.0% on Intel(R) Xeon(R) Platinum 8480+: whisper-tiny (99% CI +22.0% … +28.0%, threshold 10%)"
    );
    assert!(md.contains("| 640 MiB (+25.0%) | ❌ regressed |"), "{md}");
}

#[test]
fn a_duets_memory_line_gives_each_pair_the_floor_and_the_arena() {
    let mut v = model_verdict("encoder", Outcome::Regressed, Some(29.0));
    v.latency_verdict = Some(Outcome::Regressed);
    let pair = |a_mb, b_mb, change_pct| MemoryPairView {
        a_mb,
        b_mb,
        change_pct,
    };
    v.memory = Some(MemoryView {
        verdict: Some(Outcome::Regressed),
        candidate_mb: 290.1,
        baseline_mb: Some(273.15),
        change_pct: Some(6.2),
        ci_pct: None,
        threshold_pct: Some(5.0),
        noise_pct: Some(1.0),
        pairs: vec![pair(273.0, 290.0, 6.23), pair(273.3, 290.2, 6.18)],
        arena: Some(ArenaView {
            verdict: Some(Outcome::Regressed),
            deterministic: true,
            reason: "ORT arena peak 180.0 MiB against 163.8 MiB (+9.9%, the same in every worker): beyond the 5% threshold".into(),
        }),
    });
    let md = render(&full_input(verdict(vec![v])));
    assert!(
        md.contains("- encoder: 290 MiB against 273 MiB, +6.2% (per pair +6.2%, +6.2%, A/A floor 1.0%, threshold 5%): ❌ regressed\n  - ORT arena peak 180.0 MiB against 163.8 MiB (+9.9%, the same in every worker): beyond the 5% threshold: ❌ regressed\n"),
        "{md}"
    );
}

#[test]
fn lean_layouts_drop_the_collapsed_operator_details_and_say_so() {
    let lean = render_layout(
        &explained_regression(),
        Layout {
            details: false,
            chart: false,
            max_rows: Some(10),
        },
    );
    assert!(lean.contains("### Where the time went"));
    assert!(!lean.contains("nodes that changed most"));
    assert!(lean.contains("the full per-operator breakdown"), "{lean}");
}

#[path = "duet_tests.rs"]
mod duet;
