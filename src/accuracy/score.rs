//! Scoring a labelled set: each utterance transcribed by the model (outside the clock), its
//! words normalised and aligned with the reference's.

use std::path::Path;

use super::labelled::{self, LabelledError};
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

/// Transcribes every utterance of the set at `tsv` with `workload` and scores it.
pub fn score(workload: &mut dyn Workload, model: &str, tsv: &Path) -> Result<Accuracy, ScoreError> {
    let utterances = labelled::read(tsv)?;
    let set_sha256 = labelled::set_sha256(tsv, &utterances)?;
    let mut scores = Vec::with_capacity(utterances.len());
    for u in &utterances {
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
        let t = workload
            .transcribe(&clip.samples)?
            .ok_or_else(|| ScoreError::NotASpeechModel {
                model: model.to_string(),
            })?;
        let hypothesis = t.text.ok_or_else(|| ScoreError::NoText {
            model: model.to_string(),
        })?;
        scores.push(score_one(
            u.wav_as_written.clone(),
            u.reference.clone(),
            hypothesis,
            t.tokens,
        ));
    }
    Ok(Accuracy::new(
        tsv.display().to_string(),
        set_sha256,
        scores,
    ))
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
