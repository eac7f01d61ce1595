//! Scoring a labelled set: each utterance transcribed by the model (outside the clock), its
//! words normalised and aligned with the reference's.

use std::path::{Path, PathBuf};

use super::labelled::{self, LabelledError, Utterance};
use super::{Accuracy, UtteranceScore, normalize, wer};
use crate::workload::whisper::audio;
use crate::workload::{Workload, WorkloadError};

/// Whisper hears 30 s at a time; a longer utterance would be scored on its first 30 s only.
pub const MAX_UTTERANCE_S: f64 = 30.0;

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Labelled(#[from] LabelledError),
    #[error("{tsv}:{line}: {wav}: {source}")]
    Audio {
        tsv: std::path::PathBuf,
        line: usize,
        wav: String,
        #[source]
        source: audio::AudioError,
    },
    #[error(
        "{tsv}:{line}: {wav} is {seconds:.1} s long; Whisper hears 30 s at a time, so its words after that would count as errors\n  fix: split it into utterances of at most 30 s (e.g. `sox in.wav out.wav trim 0 30`) with their own reference text"
    )]
    TooLong {
        tsv: std::path::PathBuf,
        line: usize,
        wav: String,
        seconds: f64,
    },
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    #[error(
        "model `{model}` cannot transcribe (only `whisper` models can)\n  fix: remove `labelled_set` from the model's table"
    )]
    NotASpeechModel { model: String },
    #[error(
        "model `{model}` has no `tokenizer`: its transcripts are token ids without words\n  fix: add `tokenizer = \"path/to/tokenizer.json\"` (the file that comes with the model) to the model's table"
    )]
    NoText { model: String },
}

/// A labelled set read into memory: each utterance's audio at 16 kHz mono, ready to be sent
/// to any transcriber (this process's model, or a duet's worker in another image).
#[derive(Debug, Clone)]
pub struct LabelledAudio {
    pub tsv: PathBuf,
    pub set_sha256: String,
    pub clips: Vec<Clip>,
}

#[derive(Debug, Clone)]
pub struct Clip {
    pub utterance: Utterance,
    pub samples: Vec<f32>,
}

/// Reads the set at `tsv` and every WAV it names (each at most [`MAX_UTTERANCE_S`]).
pub fn load_set(tsv: &Path) -> Result<LabelledAudio, ScoreError> {
    let utterances = labelled::read(tsv)?;
    let set_sha256 = labelled::set_sha256(tsv, &utterances)?;
    let mut clips = Vec::with_capacity(utterances.len());
    for u in utterances {
        let clip = audio::load_wav_16k_mono(&u.wav).map_err(|source| ScoreError::Audio {
            tsv: tsv.to_path_buf(),
            line: u.line,
            wav: u.wav_as_written.clone(),
            source,
        })?;
        if clip.duration_s > MAX_UTTERANCE_S + 0.01 {
            return Err(ScoreError::TooLong {
                tsv: tsv.to_path_buf(),
                line: u.line,
                wav: u.wav_as_written.clone(),
                seconds: clip.duration_s,
            });
        }
        clips.push(Clip {
            utterance: u,
            samples: clip.samples,
        });
    }
    Ok(LabelledAudio {
        tsv: tsv.to_path_buf(),
        set_sha256,
        clips,
    })
}

/// Scores `set` with what `transcribe` hears in each clip (its token ids and text).
pub fn score_set<E>(
    set: &LabelledAudio,
    mut transcribe: impl FnMut(&[f32]) -> Result<(Vec<i64>, String), E>,
) -> Result<Accuracy, E> {
    let mut scores = Vec::with_capacity(set.clips.len());
    for c in &set.clips {
        let (tokens, text) = transcribe(&c.samples)?;
        scores.push(score_one(
            c.utterance.wav_as_written.clone(),
            c.utterance.reference.clone(),
            text,
            tokens,
        ));
    }
    Ok(Accuracy::new(
        set.tsv.display().to_string(),
        set.set_sha256.clone(),
        scores,
    ))
}

/// Transcribes every utterance of `set` with `workload` (this process's model) and scores it.
pub fn score_workload(
    workload: &mut dyn Workload,
    model: &str,
    set: &LabelledAudio,
) -> Result<Accuracy, ScoreError> {
    score_set(set, |samples| {
        let t = workload
            .transcribe(samples)?
            .ok_or_else(|| ScoreError::NotASpeechModel {
                model: model.to_string(),
            })?;
        let text = t.text.ok_or_else(|| ScoreError::NoText {
            model: model.to_string(),
        })?;
        Ok((t.tokens, text))
    })
}

/// One utterance's edit counts, from its reference and what was heard.
pub fn score_one(
    wav: String,
    reference: String,
    hypothesis: String,
    tokens: Vec<i64>,
) -> UtteranceScore {
    let r = normalize::words(&reference);
    let h = normalize::words(&hypothesis);
    let c = wer::counts(&wer::align(&r, &h));
    UtteranceScore {
        wav,
        reference,
        hypothesis,
        tokens,
        reference_words: r.len() as u32,
        substitutions: c.substitutions,
        deletions: c.deletions,
        insertions: c.insertions,
    }
}
