//! What a speech model heard: each utterance of a labelled set transcribed once, outside the
//! clock, and scored by word error rate against its reference text. Latency says how fast the
//! model is; this says whether it still hears the same words.

pub mod labelled;
pub mod normalize;
pub mod score;
pub mod wer;

use serde::{Deserialize, Serialize};

/// Name and version of the text normalisation both sides of a WER use; a change of the rules
/// makes WERs incomparable, so results record it.
pub const NORMALIZER: &str = "whisper-english-1";

/// One utterance transcribed and scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UtteranceScore {
    /// The WAV path as the labelled set writes it (relative to the set's TSV).
    pub wav: String,
    /// The reference text, as the set gives it.
    pub reference: String,
    /// What the model decoded, as text.
    pub hypothesis: String,
    /// The decoded token ids (prompt and `<|endoftext|>` excluded).
    pub tokens: Vec<i64>,
    /// Words of the normalised reference.
    pub reference_words: u32,
    pub substitutions: u32,
    pub deletions: u32,
    pub insertions: u32,
}

impl UtteranceScore {
    /// Word errors: substitutions + deletions + insertions.
    pub fn errors(&self) -> u32 {
        self.substitutions + self.deletions + self.insertions
    }
}

/// A model's word error rate on a labelled set, with every utterance's evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Accuracy {
    /// The labelled set's TSV, as configured.
    pub labelled_set: String,
    /// sha256 over the TSV and every WAV it names, in order: two WERs are comparable only on
    /// the same set.
    pub set_sha256: String,
    /// [`NORMALIZER`] at the time of the run.
    pub normalizer: String,
    /// 100 x all word errors / all reference words.
    pub wer_pct: f64,
    pub utterances: Vec<UtteranceScore>,
}

impl Accuracy {
    /// Builds the record from scored utterances; the WER pools words over the set (as every
    /// ASR benchmark does), so long utterances weigh more than short ones.
    pub fn new(
        labelled_set: String,
        set_sha256: String,
        utterances: Vec<UtteranceScore>,
    ) -> Accuracy {
        let words: u32 = utterances.iter().map(|u| u.reference_words).sum();
        let errors: u32 = utterances.iter().map(UtteranceScore::errors).sum();
        Accuracy {
            labelled_set,
            set_sha256,
            normalizer: NORMALIZER.to_string(),
            wer_pct: if words == 0 {
                0.0
            } else {
                100.0 * f64::from(errors) / f64::from(words)
            },
            utterances,
        }
    }
}
