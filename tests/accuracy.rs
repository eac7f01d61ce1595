//! A Whisper that can hear: OpenAI's trained tiny.en (converted by scripts/setup-fixtures.sh)
//! transcribes real labelled speech through bench-gate, and the gate judges what it heard.
//! The reference transcripts in fixtures/speech/en/reference.json come from CTranslate2, the
//! runtime the weights were published for (fixtures/verify_whisper_en.py).

mod common;

use std::path::{Path, PathBuf};

use common::{bench_gate, fixture, stderr_of, write_config};
use serde_json::Value;

fn tiny_en() -> PathBuf {
    fixture("models/whisper-tiny.en")
}

/// A config for tiny.en with `encoder` (a folder holding encoder_model.onnx), decoding to
/// <|endoftext|>, scoring `set`, with a 1-point WER limit.
fn tiny_en_config(encoder_dir: &Path, set: &Path, extra: &str) -> String {
    let m = tiny_en();
    format!(
        r#"[run]
warmup = 1
iterations = 2

[models.tiny-en]
kind = "whisper"
encoder = "{enc}"
decoder = "{m}/decoder_model.onnx"
decoder_with_past = "{m}/decoder_with_past_model.onnx"
tokenizer = "{m}/tokenizer.json"
fixture = "{fixture}"
labelled_set = "{set}"

[models.tiny-en.whisper]
prompt_tokens = [50257, 50362]
eot_token = 50256
stop_at_eot = true
max_new_tokens = 224

[thresholds.x86_64]
max_regression_pct = 5.0
max_wer_increase_pts = 1.0
{extra}
[thresholds.aarch64]
max_regression_pct = 5.0
max_wer_increase_pts = 1.0
{extra}"#,
        enc = encoder_dir.join("encoder_model.onnx").display(),
        m = m.display(),
        fixture =
            fixture("speech/en/librivox/sense_and_sensibility_01_austen_64kb-0880.wav").display(),
        set = set.display(),
    )
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixture("speech/en/reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr_of(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn bench_gates_greedy_transcripts_are_ctranslate2s_token_for_token_on_all_labelled_speech() {
    let dir = tempfile::tempdir().unwrap();
    let set = fixture("speech/en/labelled.tsv");
    let cfg = write_config(dir.path(), &tiny_en_config(&tiny_en(), &set, ""));
    let r = reference();
    let utterances = r["utterances"].as_array().unwrap();
    let files: Vec<PathBuf> = utterances
        .iter()
        .map(|u| {
            let w = u["wav"].as_str().unwrap();
            if w.starts_with("fixtures/") {
                common::repo().join(w)
            } else {
                fixture("speech/en").join(w)
            }
        })
        .collect();
    assert!(files.len() >= 20, "{} reference utterances", files.len());
    let out = bench_gate()
        .args(["transcribe", "-c"])
        .arg(&cfg)
        .args(["--format", "json"])
        .args(&files)
        .output()
        .unwrap();
    let got = json_of(&out);
    let transcripts = got["transcripts"].as_array().unwrap();
    assert_eq!(transcripts.len(), utterances.len());
    let mut differ = Vec::new();
    for (t, u) in transcripts.iter().zip(utterances) {
        assert_eq!(t["finished"], true, "{t}");
        if t["tokens"] != u["ct2_tokens"] {
            differ.push(format!(
                "{}: ours {:?}, CTranslate2 {:?}",
                u["wav"], t["text"], u["ct2_text"]
            ));
        }
        // The text is the tokenizer's decoding of those ids, not a hand-written BPE.
        if t["tokens"] == u["ct2_tokens"] {
            assert_eq!(t["text"], u["ct2_text"], "{}", u["wav"]);
        }
    }
    assert!(
        differ.is_empty(),
        "transcripts differ:\n{}",
        differ.join("\n")
    );
}

/// Three utterances of the set in their own TSV (a quick set for the model that cannot hear).
fn three_utterances(dir: &Path) -> PathBuf {
    let src = std::fs::read_to_string(fixture("speech/en/labelled.tsv")).unwrap();
    let lines: Vec<String> = src
        .lines()
        .filter(|l| l.starts_with("librivox/"))
        .take(3)
        .map(|l| format!("{}/{l}", fixture("speech/en").display()))
        .collect();
    let p = dir.join("three.tsv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn wer_of(result: &Path) -> (f64, Value) {
    let r: Value = serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
    let acc = r["models"][0]["accuracy"].clone();
    (acc["wer_pct"].as_f64().unwrap(), acc)
}

#[test]
fn the_trained_model_hears_the_labelled_set_within_a_wer_a_random_weight_model_cannot_reach() {
    let dir = tempfile::tempdir().unwrap();
    let set = fixture("speech/en/labelled.tsv");
    let cfg = write_config(dir.path(), &tiny_en_config(&tiny_en(), &set, ""));
    let out = bench_gate()
        .args(["run", "--no-profile", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(dir.path().join("trained.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let (wer, acc) = wer_of(&dir.path().join("trained.json"));
    // 8.4% with Whisper's normaliser (fixtures/README.md); the bound leaves room for nothing
    // else: a model that hears noise scores near or above 100%.
    assert!(wer < 12.0, "trained tiny.en WER {wer}%");
    let utterances = acc["utterances"].as_array().unwrap();
    assert_eq!(utterances.len(), 20);
    let first = &utterances[0];
    assert!(
        first["hypothesis"]
            .as_str()
            .unwrap()
            .starts_with("And Mr. John Dashwood"),
        "{first}"
    );
    // "Mr." and "mister" are the same word after Whisper's normalisation.
    assert_eq!(first["substitutions"], 0, "{first}");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("trained.json")).unwrap())
            .unwrap();
    let steps = r["models"][0]["tokens_per_iteration"].as_u64().unwrap();
    // "He was not an ill-disposed young man." and <|endoftext|>: a real transcript's length,
    // not the cap of 224.
    assert!((8..40).contains(&steps), "{steps} decoder steps");

    // The same pipeline with seeded random weights (the multilingual tiny's architecture,
    // decoding with tiny.en's ids, which its vocabulary holds): it never says anything.
    let random = fixture("models/whisper-tiny");
    let three = three_utterances(dir.path());
    let text = tiny_en_config(&random, &three, "")
        .replace(
            &tiny_en().join("decoder_model.onnx").display().to_string(),
            &random.join("decoder_model.onnx").display().to_string(),
        )
        .replace(
            &tiny_en()
                .join("decoder_with_past_model.onnx")
                .display()
                .to_string(),
            &random
                .join("decoder_with_past_model.onnx")
                .display()
                .to_string(),
        )
        .replace("max_new_tokens = 224", "max_new_tokens = 8");
    let rdir = dir.path().join("random");
    std::fs::create_dir(&rdir).unwrap();
    let cfg = write_config(&rdir, &text);
    let out = bench_gate()
        .args(["run", "--no-profile", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(rdir.join("random.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let (random_wer, _) = wer_of(&rdir.join("random.json"));
    assert!(
        random_wer > 60.0,
        "random weights scored WER {random_wer}%, too close to the trained bound"
    );
}

fn duet(dir: &Path, a_encoder: &Path, b_encoder: &Path) -> (std::process::Output, Value) {
    let set = fixture("speech/en/labelled.tsv");
    let a = dir.join("a");
    let b = dir.join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let a_cfg = write_config(&a, &tiny_en_config(a_encoder, &set, ""));
    let b_cfg = write_config(&b, &tiny_en_config(b_encoder, &set, ""));
    let verdict = dir.join("verdict.json");
    let out = bench_gate()
        .args(["ab", "-c"])
        .arg(&a_cfg)
        .arg("--b-config")
        .arg(&b_cfg)
        .args(["--budget", "8", "--cpus", "0", "-o"])
        .arg(&verdict)
        .output()
        .unwrap();
    let v = serde_json::from_str(&std::fs::read_to_string(&verdict).unwrap_or_default())
        .unwrap_or(Value::Null);
    (out, v)
}

#[test]
fn a_damaged_encoder_regresses_on_accuracy_and_the_verdict_names_the_words_that_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = duet(
        dir.path(),
        &tiny_en(),
        &fixture("models/whisper-tiny.en-damaged"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let m = &v["models"][0];
    assert_eq!(m["verdict"], "regressed", "{m}");
    let acc = &m["accuracy"];
    assert_eq!(acc["verdict"], "regressed", "{acc}");
    let change = acc["change_pts"].as_f64().unwrap();
    assert!(change > 10.0, "WER change {change} points");
    assert!(acc["ci_pts"]["low"].as_f64().unwrap() > 0.0, "{acc}");
    // The first reason is accuracy's: it decided the verdict.
    let reason = m["reasons"][0].as_str().unwrap();
    assert!(reason.starts_with("WER 8.4% -> "), "{reason}");
    assert!(reason.contains("beyond the 1.0-point limit"), "{reason}");
    // Each changed utterance names its words, e.g. "his -> is".
    let changed = acc["changed"].as_array().unwrap();
    assert!(changed.len() >= 10, "{} changed utterances", changed.len());
    let dashwood = changed
        .iter()
        .find(|c| c["wav"].as_str().unwrap().ends_with("0870.wav"))
        .expect("the first LibriVox utterance changed");
    let words: Vec<&str> = dashwood["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        words
            .iter()
            .any(|w| w.contains("->") || w.starts_with(['+', '-'])),
        "{words:?}"
    );
    // The PR comment shows both WERs and the words.
    let md = bench_gate()
        .args(["report", "--verdict"])
        .arg(dir.path().join("verdict.json"))
        .output()
        .unwrap();
    assert!(md.status.success(), "{}", stderr_of(&md));
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.contains("the model hears worse"), "{md}");
    assert!(md.contains("**Accuracy**"), "{md}");
    assert!(
        md.contains(&words[0].replace('>', "&gt;")) || md.contains(words[0]),
        "{md}"
    );
}

#[test]
fn the_same_model_on_both_sides_hears_the_same_words() {
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = duet(dir.path(), &tiny_en(), &tiny_en());
    assert!(matches!(out.status.code(), Some(0)), "{}", stderr_of(&out));
    let acc = &v["models"][0]["accuracy"];
    assert_eq!(acc["verdict"], "pass", "{acc}");
    assert_eq!(acc["change_pts"].as_f64(), Some(0.0), "{acc}");
    assert!(acc["changed"].as_array().unwrap().is_empty(), "{acc}");
    assert_eq!(acc["a_wer_pct"], acc["b_wer_pct"]);
    assert!(
        acc["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("the same words on all 20 utterances"),
        "{acc}"
    );
}

#[test]
fn the_ci_duet_gates_accuracy_and_its_comment_shows_both_wers_and_the_changed_words() {
    let dir = tempfile::tempdir().unwrap();
    let set = fixture("speech/en/labelled.tsv");
    let base = dir.path().join("base");
    std::fs::create_dir(&base).unwrap();
    let base_cfg = write_config(&base, &tiny_en_config(&tiny_en(), &set, ""));
    let head_cfg = write_config(
        dir.path(),
        &tiny_en_config(&fixture("models/whisper-tiny.en-damaged"), &set, ""),
    );
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = bench_gate()
        .args([
            "ci",
            "--no-comment",
            "-q",
            "--max-units",
            "2",
            "--no-second-opinion",
        ])
        .arg("-c")
        .arg(&head_cfg)
        .arg("--base-config")
        .arg(&base_cfg)
        .arg("--out-dir")
        .arg(&out_dir)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("verdict.json")).unwrap())
            .unwrap();
    let acc = &v["models"][0]["accuracy"];
    assert_eq!(acc["verdict"], "regressed", "{acc}");
    assert!(acc["b_wer_pct"].as_f64().unwrap() > acc["a_wer_pct"].as_f64().unwrap() + 10.0);
    let md = std::fs::read_to_string(out_dir.join("comment.md")).unwrap();
    assert!(md.contains("the model hears worse"), "{md}");
    assert!(
        md.contains("**Accuracy**") && md.contains("heard differently"),
        "{md}"
    );
    assert!(md.contains("WER 8.4% → "), "{md}");
}
