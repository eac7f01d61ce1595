//! A labelled set: a TSV of `wav path<TAB>reference text` lines, paths relative to the TSV's
//! folder (or absolute). `#` comment lines and blank lines are skipped; a UTF-8 byte order mark
//! and CRLF line ends are accepted. The path is trimmed of surrounding spaces, the reference
//! text too; text after the first tab is the reference, further tabs included.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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
    #[error(
        "cannot read labelled set {path}: {source}\n  fix: check the path in the config (relative paths resolve against the config's folder)"
    )]
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
    #[error(
        "{path}: no utterance in the labelled set (only blank or `#` comment lines)\n  fix: add one line per WAV: `path/to.wav<TAB>what is said`"
    )]
    Empty { path: PathBuf },
    #[error(
        "{path}:{line}: cannot read {wav} while hashing the labelled set: {source}\n  fix: keep the set's WAVs in place while bench-gate runs"
    )]
    HashWav {
        path: PathBuf,
        line: usize,
        wav: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads a labelled set; every line must name an existing WAV, once, and give its text.
pub fn read(path: &Path) -> Result<Vec<Utterance>, LabelledError> {
    let bytes = std::fs::read(path).map_err(|source| LabelledError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let line_error = |line: usize, message: String, fix: &str| LabelledError::Line {
        path: path.to_path_buf(),
        line,
        message,
        fix: fix.to_string(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        line_error(
            line,
            format!("not UTF-8 (byte {} of the file)", e.valid_up_to() + 1),
            "save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // "set.tsv"'s parent is "": shown as "." in messages, joined as nothing.
    let dir = path.parent().unwrap_or(Path::new(""));
    let shown_dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut out = Vec::new();
    // The canonical path of each WAV, and the line that named it first.
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let l = l.strip_suffix('\r').unwrap_or(l);
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        let Some((wav, reference)) = l.split_once('\t') else {
            return Err(line_error(
                line,
                "no tab between the WAV path and the reference text".into(),
                "write `path/to.wav<TAB>what is said` (a tab, not spaces)",
            ));
        };
        let (wav, reference) = (wav.trim(), reference.trim());
        if wav.is_empty() {
            return Err(line_error(
                line,
                "no WAV path before the tab".into(),
                "write the WAV's path first: `path/to.wav<TAB>what is said`",
            ));
        }
        if reference.is_empty() {
            return Err(line_error(
                line,
                format!("no reference text after {wav}"),
                "write what is said in the WAV after the tab, or remove the line",
            ));
        }
        let resolved = dir.join(wav);
        let canonical = match std::fs::canonicalize(&resolved) {
            Ok(c) if c.is_file() => c,
            _ if Path::new(wav).is_absolute() => {
                return Err(line_error(
                    line,
                    format!("the WAV {wav} does not exist (or is not a file)"),
                    "correct the absolute path, or write it relative to the TSV's folder",
                ));
            }
            _ => {
                return Err(line_error(
                    line,
                    format!(
                        "the WAV {wav} does not exist (or is not a file): looked for {}",
                        resolved.display()
                    ),
                    &format!(
                        "relative paths resolve against the TSV's folder ({}); correct the path or move the WAV there",
                        shown_dir.display()
                    ),
                ));
            }
        };
        if let Some(first) = seen.insert(canonical, line) {
            return Err(line_error(
                line,
                format!("the WAV {wav} is already named on line {first}"),
                "name each WAV once (remove one of the two lines)",
            ));
        }
        out.push(Utterance {
            wav_as_written: wav.to_string(),
            wav: resolved,
            reference: reference.to_string(),
            line,
        });
    }
    if out.is_empty() {
        return Err(LabelledError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// sha256 over the TSV's bytes and then each WAV's bytes, in the set's order, as lower-case
/// hex: the same text with other audio (or the same audio in another order) is another set.
pub fn set_sha256(path: &Path, utterances: &[Utterance]) -> Result<String, LabelledError> {
    let mut hasher = Sha256::new();
    hash_file(&mut hasher, path).map_err(|source| LabelledError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    for u in utterances {
        hash_file(&mut hasher, &u.wav).map_err(|source| LabelledError::HashWav {
            path: path.to_path_buf(),
            line: u.line,
            wav: u.wav.clone(),
            source,
        })?;
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn hash_file(hasher: &mut Sha256, path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder with `a.wav`, `b.wav` and `sub/c.wav`, and the set's path in it.
    fn set(tsv: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("sub")).expect("sub");
        for (name, bytes) in [
            ("a.wav", b"AAAA"),
            ("b.wav", b"BBBB"),
            ("sub/c.wav", b"CCCC"),
        ] {
            std::fs::write(dir.path().join(name), bytes).expect("wav");
        }
        let path = dir.path().join("set.tsv");
        std::fs::write(&path, tsv).expect("tsv");
        (dir, path)
    }

    /// The error message, checked to name the file, the line and a fix.
    fn error_on(tsv: &[u8], line: usize) -> String {
        let (_dir, path) = set(tsv);
        let message = read(&path).expect_err("refused").to_string();
        assert!(
            message.contains(&format!("{}:{line}: ", path.display())),
            "{message}"
        );
        assert!(message.contains("\n  fix: "), "{message}");
        message
    }

    #[test]
    fn reads_lines_skipping_comments_and_blanks_with_bom_and_crlf() {
        let (dir, path) = set(
            b"\xEF\xBB\xBF# a comment\r\n\r\na.wav\t Hello there. \r\n  \nsub/c.wav\tOne\ttwo\r\n",
        );
        let u = read(&path).expect("read");
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].wav_as_written, "a.wav");
        assert_eq!(u[0].wav, dir.path().join("a.wav"));
        assert_eq!((u[0].reference.as_str(), u[0].line), ("Hello there.", 3));
        assert_eq!((u[1].reference.as_str(), u[1].line), ("One\ttwo", 5));
    }

    #[test]
    fn an_absolute_path_that_exists_is_read_as_written() {
        let (dir, path) = set(b"");
        let abs = dir.path().join("b.wav");
        std::fs::write(&path, format!("{}\tbee\n", abs.display())).expect("tsv");
        assert_eq!(read(&path).expect("read")[0].wav, abs);
    }

    #[test]
    fn a_line_without_a_tab_is_refused() {
        let m = error_on(b"a.wav\thello\nb.wav hello\n", 2);
        assert!(m.contains("no tab") && m.contains("<TAB>"), "{m}");
    }

    #[test]
    fn an_empty_path_is_refused() {
        let m = error_on(b"# set\n \thello\n", 2);
        assert!(m.contains("no WAV path"), "{m}");
    }

    #[test]
    fn an_empty_reference_is_refused() {
        let m = error_on(b"a.wav\t  \r\n", 1);
        assert!(m.contains("no reference text after a.wav"), "{m}");
    }

    #[test]
    fn the_same_wav_twice_is_refused_even_when_spelled_differently() {
        let m = error_on(b"a.wav\thello\nb.wav\tbee\n./a.wav\thello again\n", 3);
        assert!(m.contains("already named on line 1"), "{m}");
    }

    #[test]
    fn a_missing_relative_wav_is_refused_naming_where_it_was_looked_for() {
        let (dir, path) = set(b"");
        std::fs::write(&path, b"a.wav\thello\nmissing.wav\tgone\n").expect("tsv");
        let m = read(&path).expect_err("refused").to_string();
        assert!(m.contains(&format!("{}:2: ", path.display())), "{m}");
        assert!(
            m.contains(&dir.path().join("missing.wav").display().to_string()),
            "{m}"
        );
        assert!(
            m.contains("\n  fix: relative paths resolve against the TSV's folder"),
            "{m}"
        );
    }

    #[test]
    fn a_missing_absolute_wav_is_refused() {
        let m = error_on(b"/nonexistent/bench-gate/x.wav\thello\n", 1);
        assert!(
            m.contains("/nonexistent/bench-gate/x.wav does not exist"),
            "{m}"
        );
        assert!(m.contains("fix: correct the absolute path"), "{m}");
    }

    #[test]
    fn a_folder_named_as_a_wav_is_refused() {
        let m = error_on(b"sub\thello\n", 1);
        assert!(m.contains("not a file"), "{m}");
    }

    #[test]
    fn a_set_without_utterances_is_refused() {
        let (_dir, path) = set(b"\xEF\xBB\xBF# only a comment\r\n\r\n");
        let m = read(&path).expect_err("refused").to_string();
        assert!(
            m.starts_with(&format!("{}: no utterance", path.display())),
            "{m}"
        );
        assert!(m.contains("\n  fix: add one line per WAV"), "{m}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_its_line() {
        let m = error_on(b"a.wav\thello\nb.wav\tcaf\xE9\n", 2);
        assert!(m.contains("not UTF-8") && m.contains("iconv"), "{m}");
    }

    #[test]
    fn an_unreadable_set_names_the_file() {
        let m = read(Path::new("/nonexistent/set.tsv"))
            .expect_err("refused")
            .to_string();
        assert!(
            m.contains("/nonexistent/set.tsv") && m.contains("\n  fix: "),
            "{m}"
        );
    }

    #[test]
    fn the_set_hash_covers_the_tsv_and_every_wav_in_order() {
        let (dir, path) = set(b"a.wav\thello\nb.wav\tbee\n");
        let u = read(&path).expect("read");
        let h = set_sha256(&path, &u).expect("hash");
        let mut whole = b"a.wav\thello\nb.wav\tbee\n".to_vec();
        whole.extend_from_slice(b"AAAABBBB");
        let expected: String = Sha256::digest(&whole)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(h, expected);
        assert_eq!(h.len(), 64);
        std::fs::write(dir.path().join("b.wav"), b"BBBb").expect("wav");
        assert_ne!(set_sha256(&path, &u).expect("hash"), h);
        std::fs::remove_file(dir.path().join("a.wav")).expect("rm");
        let m = set_sha256(&path, &u).expect_err("refused").to_string();
        assert!(
            m.contains(&format!("{}:1: ", path.display())) && m.contains("fix: "),
            "{m}"
        );
    }
}
