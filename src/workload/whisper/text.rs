//! Token ids to text with the `tokenizer.json` that comes with the model (Hugging Face's
//! `tokenizers`: the same byte-level BPE decoder the model was trained with).

use std::path::{Path, PathBuf};

use super::super::WorkloadError;

pub struct TextDecoder {
    tokenizer: tokenizers::Tokenizer,
    path: PathBuf,
}

impl TextDecoder {
    pub fn load(path: &Path) -> Result<TextDecoder, WorkloadError> {
        let tokenizer =
            tokenizers::Tokenizer::from_file(path).map_err(|e| WorkloadError::Shape {
                path: path.to_path_buf(),
                expected: "a Hugging Face tokenizer.json",
                message: e.to_string(),
                help: "point `tokenizer` at the tokenizer.json that comes with the model (an Optimum export writes it beside the .onnx files)".into(),
            })?;
        Ok(TextDecoder {
            tokenizer,
            path: path.to_path_buf(),
        })
    }

    /// The text of `ids`, special tokens (`<|...|>`) left out, surrounding spaces trimmed.
    pub fn text(&self, ids: &[i64]) -> Result<String, WorkloadError> {
        let ids: Vec<u32> = ids
            .iter()
            .map(|&i| u32::try_from(i))
            .collect::<Result<_, _>>()
            .map_err(|_| WorkloadError::Run {
                path: self.path.clone(),
                message: format!("a token id out of range in {ids:?}"),
            })?;
        self.tokenizer
            .decode(&ids, true)
            .map(|t| t.trim().to_string())
            .map_err(|e| WorkloadError::Run {
                path: self.path.clone(),
                message: format!("cannot decode token ids to text: {e}"),
            })
    }

    /// The id of a special token such as `<|endoftext|>`, when the vocabulary has it.
    pub fn id(&self, token: &str) -> Option<i64> {
        self.tokenizer.token_to_id(token).map(i64::from)
    }
}
