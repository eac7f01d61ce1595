//! The `whisper` workload: the speech-to-text path as a service runs it. WAV -> 16 kHz mono ->
//! Whisper log-mel (80/128 x 3000) -> encoder -> greedy decoding with a KV cache. File and tensor
//! names follow Hugging Face Optimum's export, so a real `encoder_model.onnx`,
//! `decoder_model.onnx` and `decoder_with_past_model.onnx` drop in.

pub mod audio;
pub mod mel;
pub mod text;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ort::session::{Session, SessionInputValue, SessionInputs, SessionOutputs};
use ort::value::{DynValue, Tensor, TensorRef, ValueType};

use super::profiling::{self, ArenaStats, ProfiledGraph, RunProfiler};
use super::{StageTime, Workload, WorkloadError, WorkloadInfo, describe_type};
use crate::config::{ModelConfig, WhisperOptions, WorkloadSpec};
use crate::runtime::Runtime;
use mel::{MelFrontEnd, N_FRAMES};

pub struct WhisperWorkload {
    audio: Vec<f32>,
    mel: MelFrontEnd,
    scratch: mel::Scratch,
    features: Vec<f32>,
    encoder: Model,
    decoder: Model,
    decoder_with_past: Model,
    /// Decoder layers, counted from `present.{i}.decoder.key` outputs.
    layers: usize,
    /// Whether decoder_with_past also takes `encoder_hidden_states` (Optimum prunes it; others keep it).
    past_takes_hidden: bool,
    names: KvNames,
    options: WhisperOptions,
    info: WorkloadInfo,
    /// Present when the config names the model's tokenizer: transcripts then have text.
    text: Option<text::TextDecoder>,
    /// Fewest and most decoder steps one timed iteration took (they differ only if the
    /// transcript changed between iterations, which a deterministic model never does).
    steps_seen: Option<(u32, u32)>,
}

/// Most tokens a transcription decodes before it is cut (Whisper's own `sample_len`, half of
/// the decoder's 448 positions): a damaged model that never says `<|endoftext|>` still ends.
pub const TRANSCRIBE_MAX_TOKENS: u32 = 224;

/// What the model heard in one piece of audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// Decoded ids, prompt and `<|endoftext|>` excluded.
    pub tokens: Vec<i64>,
    /// The text, when the config names a tokenizer.
    pub text: Option<String>,
    /// Whether decoding reached `<|endoftext|>` (false: cut at [`TRANSCRIBE_MAX_TOKENS`]).
    pub finished: bool,
}

struct Model {
    session: Session,
    path: PathBuf,
    /// Set only during the profiled pass.
    profiler: Option<RunProfiler>,
}

impl Model {
    fn load(runtime: &Runtime, path: &Path, model: &ModelConfig) -> Result<Model, WorkloadError> {
        Ok(Model {
            session: runtime.session(path, &model.session)?,
            path: path.to_path_buf(),
            profiler: None,
        })
    }

    /// One run of this graph, profiled when a profiler is set.
    fn run<'s, 'i, 'v: 'i, const N: usize>(
        &'s mut self,
        inputs: impl Into<SessionInputs<'i, 'v, N>>,
    ) -> Result<SessionOutputs<'s>, WorkloadError> {
        profiling::run(&mut self.session, &mut self.profiler, &self.path, inputs)
    }

    fn shape_err(&self, message: impl Into<String>) -> WorkloadError {
        WorkloadError::Shape {
            path: self.path.clone(),
            expected: "a Hugging Face Optimum Whisper export",
            message: message.into(),
            help: "export with `optimum-cli export onnx --model openai/whisper-tiny out/` (non-merged decoders), or generate the test pair with fixtures/gen_whisper.py".into(),
        }
    }

    fn input(&self, name: &str) -> Option<&ValueType> {
        self.session
            .inputs()
            .iter()
            .find(|o| o.name() == name)
            .map(|o| o.dtype())
    }

    fn require_input(&self, name: &str) -> Result<&ValueType, WorkloadError> {
        self.input(name).ok_or_else(|| {
            let have: Vec<&str> = self.session.inputs().iter().map(|o| o.name()).collect();
            self.shape_err(format!(
                "it has no input `{name}` (inputs: {})",
                have.join(", ")
            ))
        })
    }

    fn require_output(&self, name: &str) -> Result<&ValueType, WorkloadError> {
        self.session
            .outputs()
            .iter()
            .find(|o| o.name() == name)
            .map(|o| o.dtype())
            .ok_or_else(|| {
                let have: Vec<&str> = self
                    .session
                    .outputs()
                    .iter()
                    .map(|o| o.name())
                    .take(8)
                    .collect();
                self.shape_err(format!(
                    "it has no output `{name}` (outputs: {}...)",
                    have.join(", ")
                ))
            })
    }
}

/// Tensor names of the KV cache, built once so the decode loop does not format strings.
struct KvNames {
    /// Per layer: [decoder.key, decoder.value, encoder.key, encoder.value] for inputs and outputs.
    past: Vec<[String; 4]>,
    present: Vec<[String; 4]>,
}

impl KvNames {
    fn new(layers: usize) -> Self {
        let parts = [
            "decoder.key",
            "decoder.value",
            "encoder.key",
            "encoder.value",
        ];
        KvNames {
            past: (0..layers)
                .map(|i| parts.map(|p| format!("past_key_values.{i}.{p}")))
                .collect(),
            present: (0..layers)
                .map(|i| parts.map(|p| format!("present.{i}.{p}")))
                .collect(),
        }
    }
}

impl WhisperWorkload {
    pub fn build(runtime: &Runtime, model: &ModelConfig) -> Result<Self, WorkloadError> {
        let WorkloadSpec::Whisper {
            encoder,
            decoder,
            decoder_with_past,
            fixture,
            options,
            tokenizer,
            ..
        } = &model.workload
        else {
            unreachable!("WhisperWorkload::build is only called for whisper models");
        };
        let audio = audio::load_wav_16k_mono(fixture)?;
        let n_mels = options.n_mels.0;
        let mel = MelFrontEnd::new(n_mels).map_err(|e| WorkloadError::Spec {
            at: model.at.clone(),
            message: e.to_string(),
            help: "set whisper.n_mels to 80 or 128".into(),
        })?;
        let encoder = Model::load(runtime, encoder, model)?;
        let decoder = Model::load(runtime, decoder, model)?;
        let decoder_with_past = Model::load(runtime, decoder_with_past, model)?;

        let features_t = encoder.require_input("input_features")?;
        if let ValueType::Tensor { shape, .. } = features_t
            && (shape.len() != 3 || (shape[1] >= 0 && shape[1] as usize != n_mels))
        {
            return Err(encoder.shape_err(format!(
                    "`input_features` is {}, but whisper.n_mels = {n_mels} needs [batch, {n_mels}, 3000] (large-v3 uses 128)",
                    describe_type(features_t)
                )));
        }
        encoder.require_output("last_hidden_state")?;
        decoder.require_input("input_ids")?;
        decoder.require_input("encoder_hidden_states")?;
        let logits_t = decoder.require_output("logits")?;
        let layers = decoder
            .session
            .outputs()
            .iter()
            .filter(|o| o.name().starts_with("present.") && o.name().ends_with(".decoder.key"))
            .count();
        if layers == 0 {
            return Err(decoder.shape_err("it has no `present.{i}.decoder.key` outputs, so no KV cache can be carried to decoder_with_past"));
        }
        let names = KvNames::new(layers);
        for l in &names.present {
            for n in l {
                decoder.require_output(n)?;
            }
        }
        decoder_with_past.require_input("input_ids")?;
        for (past, present) in names.past.iter().zip(&names.present) {
            for n in past {
                decoder_with_past.require_input(n)?;
            }
            decoder_with_past.require_output(&present[0])?;
            decoder_with_past.require_output(&present[1])?;
        }
        decoder_with_past.require_output("logits")?;
        if let ValueType::Tensor { shape, .. } = logits_t
            && let Some(&vocab) = shape.last().filter(|v| **v > 0)
        {
            let bad: Vec<i64> = options
                .prompt_tokens
                .iter()
                .copied()
                .chain([options.eot_token])
                .filter(|t| *t >= vocab)
                .collect();
            if !bad.is_empty() {
                return Err(WorkloadError::Spec {
                        at: model.at.clone(),
                        message: format!("token ids {bad:?} are outside the decoder's vocabulary of {vocab}"),
                        help: "set whisper.prompt_tokens and whisper.eot_token to ids of this model's tokenizer".into(),
                    });
            }
        }
        let text = tokenizer
            .as_deref()
            .map(text::TextDecoder::load)
            .transpose()?;
        if let Some(t) = &text {
            check_special_ids(t, options, model)?;
        }
        let past_takes_hidden = decoder_with_past.input("encoder_hidden_states").is_some();
        let info = WorkloadInfo {
            audio_seconds: Some(audio.duration_s),
            tokens_per_iteration: Some(options.max_new_tokens.get()),
            runs_per_iteration: 1 + options.max_new_tokens.get(),
            notes: audio_notes(&audio),
        };
        Ok(WhisperWorkload {
            features: vec![0.0; n_mels * N_FRAMES],
            scratch: mel.make_scratch(),
            audio: audio.samples,
            mel,
            encoder,
            decoder,
            decoder_with_past,
            layers,
            past_takes_hidden,
            names,
            options: options.clone(),
            info,
            text,
            steps_seen: None,
        })
    }

    /// Greedy decoding: the prompt through `decoder`, then one token at a time with the cache,
    /// until `max_new` tokens or (with `stop_at_eot`) `<|endoftext|>`. Returns the decoder runs.
    fn decode(
        &mut self,
        hidden: &DynValue,
        mut tokens: Option<&mut Vec<i64>>,
        max_new: u32,
        stop_at_eot: bool,
    ) -> Result<u32, WorkloadError> {
        let prompt = self.options.prompt_tokens.clone();
        let decoder = &mut self.decoder;
        let path = decoder.path.clone();
        let path = &path;
        let ids = Tensor::from_array((vec![1i64, prompt.len() as i64], prompt))
            .map_err(|e| fail(path, e))?;
        let mut outputs = decoder.run(vec![
            (Cow::Borrowed("input_ids"), SessionInputValue::from(ids)),
            (
                Cow::Borrowed("encoder_hidden_states"),
                SessionInputValue::from(hidden),
            ),
        ])?;
        let mut token = last_argmax(&outputs["logits"]).map_err(|e| fail(path, e))?;
        if let Some(t) = tokens.as_deref_mut() {
            t.push(token);
        }
        let mut kv: Vec<[DynValue; 4]> = Vec::with_capacity(self.layers);
        for names in &self.names.present {
            let mut take = |n: &str| {
                outputs
                    .remove(n)
                    .ok_or_else(|| fail(path, format!("no output `{n}`")))
            };
            kv.push([
                take(&names[0])?,
                take(&names[1])?,
                take(&names[2])?,
                take(&names[3])?,
            ]);
        }
        drop(outputs);
        let with_past = &mut self.decoder_with_past;
        let path = with_past.path.clone();
        let path = &path;
        let mut generated = 1u32;
        while generated < max_new {
            if stop_at_eot && token == self.options.eot_token {
                break;
            }
            let ids =
                Tensor::from_array((vec![1i64, 1], vec![token])).map_err(|e| fail(path, e))?;
            let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
                Vec::with_capacity(2 + 4 * self.layers);
            inputs.push((Cow::Borrowed("input_ids"), SessionInputValue::from(ids)));
            if self.past_takes_hidden {
                inputs.push((
                    Cow::Borrowed("encoder_hidden_states"),
                    SessionInputValue::from(hidden),
                ));
            }
            for (names, values) in self.names.past.iter().zip(&kv) {
                for (n, v) in names.iter().zip(values) {
                    inputs.push((Cow::Borrowed(n.as_str()), SessionInputValue::from(v)));
                }
            }
            let mut outputs = with_past.run(inputs)?;
            token = last_argmax(&outputs["logits"]).map_err(|e| fail(path, e))?;
            if let Some(t) = tokens.as_deref_mut() {
                t.push(token);
            }
            let mut fresh = Vec::with_capacity(self.layers);
            for names in &self.names.present {
                let k = outputs
                    .remove(&names[0])
                    .ok_or_else(|| fail(path, format!("no output `{}`", names[0])))?;
                let v = outputs
                    .remove(&names[1])
                    .ok_or_else(|| fail(path, format!("no output `{}`", names[1])))?;
                fresh.push((k, v));
            }
            drop(outputs);
            for (layer, (k, v)) in kv.iter_mut().zip(fresh) {
                layer[0] = k;
                layer[1] = v;
            }
            generated += 1;
        }
        Ok(generated)
    }
}

impl WhisperWorkload {
    /// The log-mel front end of the fixture, into `self.features`.
    fn features(&mut self) -> Result<(), WorkloadError> {
        self.mel
            .compute_into(&self.audio, &mut self.features, &mut self.scratch)
            .map_err(|e| fail(&self.encoder.path, format!("log-mel front end: {e}")))
    }

    /// The benchmark's decoding of the encoded fixture: the configured cap and stop rule.
    fn decode_fixture(
        &mut self,
        hidden: &DynValue,
        tokens: Option<&mut Vec<i64>>,
    ) -> Result<u32, WorkloadError> {
        let (cap, stop) = (self.options.max_new_tokens.get(), self.options.stop_at_eot);
        let steps = self.decode(hidden, tokens, cap, stop)?;
        let (lo, hi) = self.steps_seen.unwrap_or((steps, steps));
        self.steps_seen = Some((lo.min(steps), hi.max(steps)));
        self.info.tokens_per_iteration = Some(steps);
        Ok(steps)
    }

    /// The encoder on `self.features`: its hidden states.
    fn encode(&mut self) -> Result<DynValue, WorkloadError> {
        let encoder = &mut self.encoder;
        let path = encoder.path.clone();
        let n_mels = self.mel.n_mels();
        let features = TensorRef::from_array_view(([1usize, n_mels, N_FRAMES], &self.features[..]))
            .map_err(|e| fail(&path, e))?;
        let mut outputs = encoder.run(vec![(
            Cow::Borrowed("input_features"),
            SessionInputValue::from(features.into_dyn()),
        )])?;
        outputs
            .remove("last_hidden_state")
            .ok_or_else(|| fail(&path, "no output `last_hidden_state`"))
    }
}

impl Workload for WhisperWorkload {
    fn outputs(&mut self) -> Result<super::Outputs, WorkloadError> {
        self.features()?;
        let hidden = self.encode()?;
        let mut tokens = Vec::new();
        self.decode_fixture(&hidden, Some(&mut tokens))?;
        Ok(super::Outputs {
            tensors: super::OutputTensor::of("last_hidden_state", &hidden)
                .into_iter()
                .collect(),
            tokens: Some(tokens),
        })
    }

    fn iterate(&mut self, stages: &mut Vec<StageTime>) -> Result<(), WorkloadError> {
        let t0 = Instant::now();
        self.features()?;
        let t1 = Instant::now();
        let hidden = self.encode()?;
        let t2 = Instant::now();
        self.decode_fixture(&hidden, None)?;
        let t3 = Instant::now();
        stages.push(("features", t1 - t0));
        stages.push(("encoder", t2 - t1));
        stages.push(("decoder", t3 - t2));
        Ok(())
    }

    fn info(&self) -> &WorkloadInfo {
        &self.info
    }

    fn decoder_steps_range(&self) -> Option<(u32, u32)> {
        self.steps_seen
    }

    fn transcribe(&mut self, samples_16k: &[f32]) -> Result<Option<Transcript>, WorkloadError> {
        self.mel
            .compute_into(samples_16k, &mut self.features, &mut self.scratch)
            .map_err(|e| fail(&self.encoder.path, format!("log-mel front end: {e}")))?;
        let hidden = self.encode()?;
        let mut tokens = Vec::new();
        self.decode(&hidden, Some(&mut tokens), TRANSCRIBE_MAX_TOKENS, true)?;
        let finished = tokens.last() == Some(&self.options.eot_token);
        if finished {
            tokens.pop();
        }
        let text = self.text.as_ref().map(|t| t.text(&tokens)).transpose()?;
        Ok(Some(Transcript {
            tokens,
            text,
            finished,
        }))
    }

    fn profile(&mut self, dir: &Path) -> Result<Vec<ProfiledGraph>, WorkloadError> {
        let graphs = [
            &mut self.encoder,
            &mut self.decoder,
            &mut self.decoder_with_past,
        ];
        for (i, g) in graphs.into_iter().enumerate() {
            g.profiler = Some(
                RunProfiler::new(dir, &format!("g{i}"))
                    .map_err(|message| WorkloadError::Profile { message })?,
            );
        }
        let mut stages = Vec::new();
        let done = self.iterate(&mut stages);
        let mut out = Vec::with_capacity(3);
        for g in [
            &mut self.encoder,
            &mut self.decoder,
            &mut self.decoder_with_past,
        ] {
            if let Some(p) = g.profiler.take() {
                out.push(ProfiledGraph {
                    label: profiling::graph_label(&g.path),
                    prefix: p.prefix().to_string(),
                    runs: p.runs(),
                });
            }
        }
        done?;
        Ok(out)
    }

    fn arena(&self) -> Vec<ArenaStats> {
        [&self.encoder, &self.decoder, &self.decoder_with_past]
            .into_iter()
            .filter_map(|g| profiling::arena_stats(&g.session, &profiling::graph_label(&g.path)))
            .collect()
    }
}

fn fail(path: &Path, message: impl ToString) -> WorkloadError {
    WorkloadError::Run {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Argmax over the vocabulary at the last position of `logits` [batch, seq, vocab].
fn last_argmax(logits: &DynValue) -> Result<i64, String> {
    let (shape, data) = logits
        .try_extract_tensor::<f32>()
        .map_err(|e| format!("logits are not f32: {e}"))?;
    let vocab = *shape.last().ok_or("logits have no dimensions")? as usize;
    if vocab == 0 || data.len() < vocab {
        return Err(format!("logits have an unexpected shape {shape:?}"));
    }
    let last = &data[data.len() - vocab..];
    let mut best = 0usize;
    for (i, v) in last.iter().enumerate() {
        if *v > last[best] {
            best = i;
        }
    }
    Ok(best as i64)
}

/// A tokenizer that disagrees with the configured prompt or `<|endoftext|>` means the config
/// was written for another Whisper (multilingual ids on an English-only model, or the reverse):
/// decoding would never stop, or start from the wrong task.
fn check_special_ids(
    t: &text::TextDecoder,
    options: &WhisperOptions,
    model: &ModelConfig,
) -> Result<(), WorkloadError> {
    let mismatch = |what: &str, configured: i64, token: &str, actual: i64| WorkloadError::Spec {
        at: model.at.clone(),
        message: format!(
            "whisper.{what} is {configured}, but this model's tokenizer has {token} = {actual}"
        ),
        help: format!(
            "set whisper.{what} to this model's ids (an English-only model such as tiny.en: prompt_tokens = [50257, 50362], eot_token = 50256)"
        ),
    };
    if let Some(eot) = t.id("<|endoftext|>")
        && eot != options.eot_token
    {
        return Err(mismatch(
            "eot_token",
            options.eot_token,
            "<|endoftext|>",
            eot,
        ));
    }
    if let (Some(sot), Some(&first)) =
        (t.id("<|startoftranscript|>"), options.prompt_tokens.first())
        && sot != first
    {
        return Err(mismatch(
            "prompt_tokens",
            first,
            "<|startoftranscript|>",
            sot,
        ));
    }
    Ok(())
}

fn audio_notes(a: &audio::Audio) -> Vec<String> {
    let mut notes = Vec::new();
    if a.source_rate != 16_000 || a.source_channels != 1 {
        notes.push(format!(
            "fixture converted from {} Hz, {} channel(s), {} to 16 kHz mono",
            a.source_rate, a.source_channels, a.source_format
        ));
    }
    if a.duration_s > 30.0 {
        notes.push(format!(
            "fixture is {:.1} s; Whisper's window is 30 s, the rest is ignored",
            a.duration_s
        ));
    }
    notes
}
