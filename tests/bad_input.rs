//! Every user mistake gets a one-paragraph message naming the file and the fix, exit code 2, no
//! panic, and no result file (nor a damaged previous one) left behind.

mod common;

use std::path::Path;

use common::*;

/// Runs `bench-gate run -c cfg -o dir/result.json` and checks the failure contract.
fn fails(cfg: &Path, dir: &Path) -> String {
    let out_path = dir.join("result.json");
    let out = bench_gate()
        .args(["run", "--quiet", "-c"])
        .arg(cfg)
        .arg("-o")
        .arg(&out_path)
        .output()
        .unwrap();
    let err = assert_user_error(&out, &[]);
    assert!(!out_path.exists(), "a result file was left behind");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind");
    err
}

fn wav(path: &Path, spec: hound::WavSpec, frames: usize) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames * spec.channels as usize {
        let t = i as f32 / spec.sample_rate as f32;
        let s = (t * 440.0 * std::f32::consts::TAU).sin() * 0.5;
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => w.write_sample(s).unwrap(),
            (_, 8) => w.write_sample((s * 127.0) as i8).unwrap(),
            (_, 16) => w.write_sample((s * 32767.0) as i16).unwrap(),
            _ => w.write_sample((s * 8_388_607.0) as i32).unwrap(),
        }
    }
    w.finalize().unwrap();
}

fn spec(rate: u32, channels: u16, bits: u16) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    }
}

#[test]
fn missing_config() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(&dir.path().join("nope.toml"), dir.path());
    assert!(err.contains("nope.toml") && err.contains("fix:"), "{err}");
}

#[test]
fn missing_model_file_points_at_the_config_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = micro_whisper_config(&fixture("audio/vi_speech_30s.wav"))
        .replace("encoder_model.onnx", "missing.onnx");
    let cfg = write_config(dir.path(), &text);
    let err = fails(&cfg, dir.path());
    assert!(err.contains("benchmark.toml:7:"), "{err}");
    assert!(err.contains("missing.onnx"), "{err}");
}

#[test]
fn file_that_is_not_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("encoder_model.onnx");
    std::fs::write(&fake, "this is not a protobuf").unwrap();
    let text = micro_whisper_config(&fixture("audio/vi_speech_30s.wav"));
    let real = fixture("models/whisper-micro/encoder_model.onnx")
        .display()
        .to_string();
    let cfg = write_config(
        dir.path(),
        &text.replace(&real, &fake.display().to_string()),
    );
    let err = fails(&cfg, dir.path());
    assert!(
        err.contains("cannot load model") && err.contains(&fake.display().to_string()),
        "{err}"
    );
}

#[test]
fn missing_runtime_library_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let out = bench_gate()
        .args(["run", "-c"])
        .arg(&cfg)
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert_user_error(&out, &["ORT_DYLIB_PATH", "scripts/setup-ort.sh"]);
    let out = bench_gate()
        .args(["run", "--ort-lib", "/etc/hostname", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_user_error(
        &out,
        &["cannot load the ONNX Runtime library /etc/hostname"],
    );
}

#[test]
fn output_folder_that_does_not_exist_fails_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let out = bench_gate()
        .args(["run", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(dir.path().join("no/such/dir/r.json"))
        .output()
        .unwrap();
    let err = assert_user_error(&out, &["does not exist", "mkdir -p"]);
    assert!(
        !err.contains("loaded in"),
        "it measured before failing: {err}"
    );
}

#[test]
fn a_failed_run_keeps_the_previous_result_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("result.json");
    std::fs::write(&out_path, "{\"previous\": true}").unwrap();
    let text = silero_config(SILERO_INPUTS).replace("name = \"sr\"", "name = \"sample_rate\"");
    let cfg = write_config(dir.path(), &text);
    let out = bench_gate()
        .args(["run", "-q", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(&out_path)
        .output()
        .unwrap();
    assert_user_error(&out, &[]);
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "{\"previous\": true}"
    );
}

#[test]
fn wav_problems_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wav");
    wav(&good, spec(16_000, 1, 16), 16_000);
    let bytes = std::fs::read(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.wav",
            bytes[..bytes.len() / 2].to_vec(),
            "truncated",
        ),
        ("empty.wav", Vec::new(), "empty"),
        (
            "text.wav",
            b"hello, I am not audio at all".repeat(10),
            "not a WAV",
        ),
    ];
    for (name, content, expect) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let cfg = write_config(dir.path(), &micro_whisper_config(&p));
        let err = fails(&cfg, dir.path());
        assert!(err.contains(name), "{name}: {err}");
        assert!(
            err.to_lowercase().contains(&expect.to_lowercase()),
            "{name}: {err}"
        );
    }
}

#[test]
fn eight_bit_and_48k_stereo_wavs_are_converted_not_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for (name, s) in [
        ("u8.wav", spec(16_000, 1, 8)),
        ("stereo48k.wav", spec(48_000, 2, 16)),
    ] {
        let p = dir.path().join(name);
        wav(&p, s, s.sample_rate as usize * 2);
        let cfg = write_config(dir.path(), &micro_whisper_config(&p));
        let out = bench_gate()
            .args(["run", "-q", "--format", "json", "-c"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let m = &r["models"][0];
        assert!(
            (m["audio_seconds"].as_f64().unwrap() - 2.0).abs() < 0.01,
            "{name}: {}",
            m["audio_seconds"]
        );
        if name == "stereo48k.wav" {
            let notes = m["notes"].to_string();
            assert!(notes.contains("48000 Hz, 2 channel"), "{notes}");
        }
    }
}

#[test]
fn input_spec_that_does_not_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    // Wrong dtype: the model declares `sr` as int64.
    let cfg = write_config(
        dir.path(),
        &silero_config(&SILERO_INPUTS.replace("dtype = \"i64\"", "dtype = \"i32\"")),
    );
    let err = fails(&cfg, dir.path());
    assert!(err.contains("input `sr`") && err.contains("i64"), "{err}");
    assert!(err.contains("benchmark.toml:"), "{err}");
    // Wrong rank.
    let cfg = write_config(
        dir.path(),
        &silero_config(&SILERO_INPUTS.replace("shape = [2, \"batch\", 128]", "shape = [2, 128]")),
    );
    let err = fails(&cfg, dir.path());
    assert!(err.contains("rank 2") && err.contains("rank is 3"), "{err}");
    // A model input the config forgot: the error offers an entry to paste.
    let without_sr = SILERO_INPUTS
        .split("[[models.vad.inputs]]\nname = \"sr\"")
        .next()
        .unwrap();
    let cfg = write_config(dir.path(), &silero_config(without_sr));
    let err = fails(&cfg, dir.path());
    assert!(
        err.contains("input `sr`")
            && err.contains("does not describe")
            && err.contains("dtype = \"i64\""),
        "{err}"
    );
    // An input name the model does not have.
    let cfg = write_config(
        dir.path(),
        &silero_config(&SILERO_INPUTS.replace("name = \"sr\"", "name = \"rate\"")),
    );
    let err = fails(&cfg, dir.path());
    assert!(
        err.contains("input `sr`") || err.contains("no input `rate`"),
        "{err}"
    );
    // A recurrent input fed from an output that does not exist.
    let cfg = write_config(
        dir.path(),
        &silero_config(
            &SILERO_INPUTS.replace("from_output = \"stateN\"", "from_output = \"hidden\""),
        ),
    );
    let err = fails(&cfg, dir.path());
    assert!(err.contains("`from_output = \"hidden\"`"), "{err}");
}

#[test]
fn unknown_model_on_the_command_line() {
    let out = bench_gate()
        .args(["run", "-m", "nope", "-c"])
        .arg(fixture("configs/micro.toml"))
        .output()
        .unwrap();
    assert_user_error(&out, &["whisper-micro"]);
}

#[test]
fn cpus_outside_the_machine() {
    let out = bench_gate()
        .args(["run", "--cpus", "4096", "-c"])
        .arg(fixture("configs/micro.toml"))
        .output()
        .unwrap();
    assert_user_error(&out, &["4096"]);
}
