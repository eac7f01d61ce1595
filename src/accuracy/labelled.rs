//! A labelled set: a TSV of `wav path<TAB>reference text` lines, paths relative to the TSV.

use std::path::{Path, PathBuf};

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// The path as written in the TSV.
    pub wav_as_written: String,
    /// Resolved against the TSV's folder.
    pub wav: PathBuf,
    pub reference: String,
    /// 1-based line in the TSV.
    pub line: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelledError {
    #[error("cannot read labelled set {path}: {source}\n  fix: check the path in the config (relative paths resolve against the config's folder)")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}\n  fix: {fix}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
        fix: String,
    },
}

/// Reads a labelled set; every line must name a WAV and give its text.
pub fn read(path: &Path) -> Result<Vec<Utterance>, LabelledError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelledError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let Some((wav, reference)) = l.split_once('\t') else {
            return Err(LabelledError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                message: "no tab between the WAV path and the reference text".into(),
                fix: "write `path/to.wav<TAB>what is said`".into(),
            });
        };
        out.push(Utterance {
            wav_as_written: wav.to_string(),
            wav: dir.join(wav),
            reference: reference.trim().to_string(),
            line: i + 1,
        });
    }
    Ok(out)
}

/// sha256 over the TSV's bytes and then each WAV's bytes, in order (hex).
pub fn set_sha256(path: &Path, utterances: &[Utterance]) -> Result<String, LabelledError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in std::iter::once(path).chain(utterances.iter().map(|u| u.wav.as_path())) {
        let bytes = std::fs::read(p).map_err(|source| LabelledError::Read {
            path: p.to_path_buf(),
            source,
        })?;
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
