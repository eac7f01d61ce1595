//! Mistakes around transcription and labelled sets: each is exit 2, names the file (and line or
//! key) and the fix, and nothing is measured or written.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_user_error, bench_gate, fixture, write_config};

/// The micro Whisper pair (random weights, vocabulary 1024): cheap to load. `extra` goes into
/// the model's table; `ids` replaces its prompt and end-of-text ids (micro's own when empty).
fn micro_config(dir: &Path, extra: &str, ids: &str) -> PathBuf {
    let ids = if ids.is_empty() {
        "prompt_tokens = [1, 2]\neot_token = 0"
    } else {
        ids
    };
    let m = fixture("models/whisper-micro");
    let text = format!(
        r#"[run]
warmup = 0
iterations = 1

[models.w]
kind = "whisper"
encoder = "{m}/encoder_model.onnx"
decoder = "{m}/decoder_model.onnx"
decoder_with_past = "{m}/decoder_with_past_model.onnx"
fixture = "{wav}"
{extra}

[models.w.whisper]
max_new_tokens = 4
{ids}
"#,
        m = m.display(),
        wav = fixture("speech/en/cards/001.wav").display(),
    );
    write_config(dir, &text)
}

fn tokenizer() -> String {
    fixture("models/whisper-tiny.en/tokenizer.json")
        .display()
        .to_string()
}

#[test]
fn a_labelled_set_without_a_tokenizer_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let set = fixture("speech/en/labelled.tsv");
    let cfg = micro_config(
        dir.path(),
        &format!("labelled_set = \"{}\"", set.display()),
        "",
    );
    let out = bench_gate().args(["run", "-c"]).arg(&cfg).output().unwrap();
    let err = assert_user_error(&out, &["benchmark.toml:", "labelled_set", "tokenizer"]);
    assert!(err.contains("tokenizer.json"), "{err}");
}

#[test]
fn a_tokenizer_whose_end_of_text_is_not_the_configured_one_is_refused_naming_both_ids() {
    let dir = tempfile::tempdir().unwrap();
    // tiny.en's <|endoftext|> is 50256; the micro config says 0.
    let cfg = micro_config(dir.path(), &format!("tokenizer = \"{}\"", tokenizer()), "");
    let out = bench_gate()
        .args(["transcribe", "-c"])
        .arg(&cfg)
        .arg(fixture("speech/en/cards/001.wav"))
        .output()
        .unwrap();
    let err = assert_user_error(&out, &["eot_token", "50256", "is 0"]);
    assert!(err.contains("prompt_tokens = [50257, 50362]"), "{err}");
}

#[test]
fn a_tokenizer_that_is_not_a_tokenizer_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("tokenizer.json");
    std::fs::write(&bogus, "{\"not\": \"a tokenizer\"}").unwrap();
    let cfg = micro_config(
        dir.path(),
        &format!("tokenizer = \"{}\"", bogus.display()),
        "",
    );
    let out = bench_gate()
        .args(["transcribe", "-c"])
        .arg(&cfg)
        .arg(fixture("speech/en/cards/001.wav"))
        .output()
        .unwrap();
    assert_user_error(&out, &["tokenizer.json", "tokenizer"]);
}

#[test]
fn transcribe_without_a_tokenizer_a_wav_too_long_or_an_onnx_model_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = micro_config(dir.path(), "", "");
    let out = bench_gate()
        .args(["transcribe", "-c"])
        .arg(&cfg)
        .arg(fixture("speech/en/cards/001.wav"))
        .output()
        .unwrap();
    assert_user_error(&out, &["model `w`", "no `tokenizer`", "[models.w]"]);

    // 45 s of audio: more than Whisper hears at once.
    let long = dir.path().join("long.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&long, spec).unwrap();
    for i in 0..45 * 16_000 {
        w.write_sample(((i % 100) as i16 - 50) * 10).unwrap();
    }
    w.finalize().unwrap();
    let tok = dir.path().join("t");
    std::fs::create_dir(&tok).unwrap();
    let cfg = micro_config(
        &tok,
        &format!("tokenizer = \"{}\"", tokenizer()),
        "prompt_tokens = [50257, 50362]\neot_token = 50256",
    );
    // (The micro decoder's vocabulary is 1024, so these ids would be refused when it loads;
    // the length is checked first, before any model is loaded.)
    let out = bench_gate()
        .args(["transcribe", "-c"])
        .arg(&cfg)
        .arg(&long)
        .output()
        .unwrap();
    assert_user_error(&out, &["long.wav", "45.0 s", "30 s"]);

    let out = bench_gate()
        .args(["transcribe", "-c"])
        .arg(fixture("configs/micro.toml"))
        .args(["--model", "nope"])
        .arg(fixture("speech/en/cards/001.wav"))
        .output()
        .unwrap();
    assert_user_error(&out, &["no model `nope`"]);
}

#[test]
fn a_labelled_set_with_a_missing_wav_is_refused_before_anything_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.tsv");
    std::fs::write(
        &set,
        format!(
            "{}\tten of clubs\nmissing.wav\tfour queen of clubs\n",
            fixture("speech/en/cards/001.wav").display()
        ),
    )
    .unwrap();
    let cfg = micro_config(
        dir.path(),
        &format!(
            "tokenizer = \"{}\"\nlabelled_set = \"{}\"",
            tokenizer(),
            set.display()
        ),
        "prompt_tokens = [50257, 50362]\neot_token = 50256",
    );
    let result = dir.path().join("result.json");
    let out = bench_gate()
        .args(["run", "--quiet", "--no-profile", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(&result)
        .output()
        .unwrap();
    assert_user_error(&out, &["set.tsv:2", "missing.wav"]);
    assert!(!result.exists(), "a result was written");
}
