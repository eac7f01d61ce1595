//! `bench-gate transcribe`: what a whisper model of the config hears in WAV files. The first
//! thing anyone does with a speech model, and how to see a WER's hypotheses for oneself.

use anyhow::{Context, Result, bail};

use crate::cli::{OutputFormat, TranscribeArgs};
use crate::config::{Config, ModelConfig, WorkloadKind};
use crate::runtime::Runtime;
use crate::workload::{self, whisper::audio};

pub fn transcribe(args: &TranscribeArgs) -> Result<u8> {
    let config = Config::load(&args.config.config)?;
    super::touches::transcribe(args).check()?;
    let model = pick_model(&config, args.model.as_deref())?;
    if model.tokenizer().is_none() {
        bail!(
            "model `{}` in {} has no `tokenizer`: bench-gate can decode token ids but not turn them into words\n  fix: add `tokenizer = \"path/to/tokenizer.json\"` (the file that comes with the model) to [models.{}]",
            model.name,
            config.path.display(),
            model.name
        );
    }
    let clips = args
        .files
        .iter()
        .map(|f| {
            let clip = audio::load_wav_16k_mono(f)?;
            if clip.duration_s > crate::accuracy::score::MAX_UTTERANCE_S + 0.01 {
                bail!(
                    "{} is {:.1} s long; Whisper hears 30 s at a time\n  fix: split it into pieces of at most 30 s (e.g. `sox in.wav out.wav trim 0 30`)",
                    f.display(),
                    clip.duration_s
                );
            }
            Ok(clip)
        })
        .collect::<Result<Vec<_>>>()?;
    config.cpu_choice(args.cpus.as_deref())?.pin()?;
    let runtime = Runtime::load(args.ort.path())?;
    let mut w = workload::build(&runtime, model)?;
    let mut out = Vec::with_capacity(clips.len());
    for (file, clip) in args.files.iter().zip(&clips) {
        let t = w
            .transcribe(&clip.samples)?
            .with_context(|| format!("model `{}` cannot transcribe", model.name))?;
        let text = t.text.unwrap_or_default();
        match args.format {
            OutputFormat::Table => {
                let cut = if t.finished {
                    ""
                } else {
                    "  [cut: no <|endoftext|> within 224 tokens]"
                };
                println!("{}: {text}{cut}", file.display());
            }
            OutputFormat::Json => out.push(serde_json::json!({
                "file": file.display().to_string(),
                "text": text,
                "tokens": t.tokens,
                "finished": t.finished,
            })),
        }
    }
    if args.format == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "model": model.name, "transcripts": out })
            )?
        );
    }
    Ok(0)
}

/// The named model, or the only whisper model; a clear error otherwise.
fn pick_model<'c>(config: &'c Config, name: Option<&str>) -> Result<&'c ModelConfig> {
    let whisper: Vec<&ModelConfig> = config
        .models
        .iter()
        .filter(|m| m.kind() == WorkloadKind::Whisper)
        .collect();
    let model = match name {
        Some(n) => config.require_model(n)?,
        None => match whisper.as_slice() {
            [one] => one,
            [] => bail!(
                "{} has no `whisper` model\n  fix: add a [models.NAME] table with kind = \"whisper\"",
                config.path.display()
            ),
            many => bail!(
                "{} has {} whisper models; which one should listen?\n  fix: pass --model with one of: {}",
                config.path.display(),
                many.len(),
                many.iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    if model.kind() != WorkloadKind::Whisper {
        bail!(
            "model `{}` is an `{}` model; only `whisper` models transcribe\n  fix: pass --model with one of: {}",
            model.name,
            "onnx",
            whisper
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(model)
}
