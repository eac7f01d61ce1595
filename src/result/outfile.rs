//! Writing output files: every `-o`, `--markdown`, `--ratio-config`, verdict, report and
//! baseline goes through [`write_atomic`], and every command checks its outputs with
//! [`check_outputs`] before it measures or reads anything expensive.
//!
//! The rules, in the order they are applied:
//! - A path that does not exist yet, or names a regular file, is written through a temporary
//!   file in the same folder and a rename: a reader never sees half a file, a failure leaves the
//!   previous file intact. A symbolic link to a regular file is followed (the link stays, its
//!   target is replaced). A new file gets the usual mode, 0666 minus the umask (0644 with the
//!   common umask 022), so a host user can read what a container user wrote; a replaced file
//!   keeps its mode.
//! - A character device or a FIFO (`/dev/null`, `/dev/stdout`, a named pipe), and the process's
//!   own streams (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`) whatever they point at, are written
//!   in place, as shell redirections do: a rename would replace the device node itself.
//! - A directory, a block device or a socket is refused.
//! - An output that is also one of the command's inputs (`compare --result X -o X`), or two
//!   outputs naming the same file, are refused: the write would destroy what was read. What
//!   each command reads and writes is declared in one place, `commands::touches`.
//! - Several files that form one update (a baseline and its series) are written together by
//!   [`write_all_atomic`]: all are staged in temporary files before any is renamed.
//! - The folder must exist and be writable by this user, checked by creating (and removing) a
//!   temporary file there, so a read-only mount is reported before a long benchmark, not after.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::ResultError;

/// How a path will be written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Temporary file + rename at this path (a symlink's target when the path is a link).
    Replace { at: PathBuf, keep_mode: Option<u32> },
    /// Opened and written where it is (devices, FIFOs, the process's own streams).
    InPlace,
}

/// The process's own standard streams, whatever they are redirected to.
fn is_own_stream(path: &Path) -> bool {
    path == Path::new("/dev/stdout")
        || path == Path::new("/dev/stderr")
        || path.starts_with("/dev/fd")
        || path.starts_with("/proc/self/fd")
}

fn plan(path: &Path) -> Result<Plan, ResultError> {
    if is_own_stream(path) {
        return Ok(Plan::InPlace);
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Plan::Replace {
                at: path.to_path_buf(),
                keep_mode: None,
            });
        }
        Err(source) => {
            return Err(ResultError::Write {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let t = meta.file_type();
    if t.is_file() {
        let at = if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::canonicalize(path).map_err(|source| ResultError::Write {
                path: path.to_path_buf(),
                source,
            })?
        } else {
            path.to_path_buf()
        };
        return Ok(Plan::Replace {
            at,
            keep_mode: Some(meta.permissions().mode()),
        });
    }
    if t.is_char_device() || t.is_fifo() {
        return Ok(Plan::InPlace);
    }
    let kind = if t.is_dir() {
        "a directory"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(ResultError::NotAFile {
        path: path.to_path_buf(),
        kind,
    })
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Fails early (before any measuring) when `path` could not be written later: a missing or
/// unwritable folder, a directory or another kind of file that is not written (see the module
/// documentation).
pub fn check_output_path(path: &Path) -> Result<(), ResultError> {
    match plan(path)? {
        Plan::InPlace => {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map(drop)
                .or_else(|source| {
                    // A FIFO without a reader cannot be opened yet; the write will block for one.
                    if is_fifo(path) {
                        Ok(())
                    } else {
                        Err(ResultError::Write {
                            path: path.to_path_buf(),
                            source,
                        })
                    }
                })
        }
        Plan::Replace { at, .. } => {
            let dir = parent_dir(&at);
            if !dir.is_dir() {
                return Err(ResultError::NoFolder {
                    path: path.to_path_buf(),
                    dir,
                });
            }
            // The honest test of "can this user create a file here" (permissions, ACLs, a
            // read-only mount, a full inode table) is to create one.
            tempfile::Builder::new()
                .prefix(".bench-gate-probe-")
                .tempfile_in(&dir)
                .map(drop)
                .map_err(|source| ResultError::NotWritable {
                    path: path.to_path_buf(),
                    dir,
                    source,
                })
        }
    }
}

fn is_fifo(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// `a` and `b` are the same existing file (same device and inode: hard links and symlinks
/// included).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Both paths name the same place, existing or not (for two outputs not written yet).
fn same_place(a: &Path, b: &Path) -> bool {
    if same_file(a, b) {
        return true;
    }
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    abs(a) == abs(b)
}

/// The outputs a command was given, each with the flag that named it, for [`check_outputs`]:
/// flags left unset are skipped.
pub fn given_outputs<'a>(flags: &[(&'a str, &'a Option<PathBuf>)]) -> Vec<(&'a str, &'a Path)> {
    flags
        .iter()
        .filter_map(|(f, p)| Some((*f, p.as_deref()?)))
        .collect()
}

/// One file a command will write, with the flag that named it (the message's words).
#[derive(Debug, Clone, Copy)]
pub struct Output<'a> {
    /// The flag that named the file or its folder: `-o`, `--issues-dir`, `--baselines`.
    pub flag: &'a str,
    pub path: &'a Path,
    /// Check now that it can be written: off for files in a folder the command creates.
    pub probe: bool,
}

/// Checks every output of a command before it starts its work: each can be written
/// ([`check_output_path`]), none is also one of its `inputs` (device outputs such as
/// `/dev/null` excepted), and no two outputs name the same file. Outputs and inputs come with
/// the flag that named them, for the message.
pub fn check_outputs(
    outputs: &[(&str, &Path)],
    inputs: &[(&str, &Path)],
) -> Result<(), ResultError> {
    let outputs: Vec<Output> = outputs
        .iter()
        .map(|&(flag, path)| Output {
            flag,
            path,
            probe: true,
        })
        .collect();
    let inputs: Vec<(String, &Path)> = inputs
        .iter()
        .map(|(flag, p)| (format!("{flag} input"), *p))
        .collect();
    check_writes(&outputs, &inputs)
}

/// [`check_outputs`] with inputs described in full (`"--known-issues input"`, `"model file
/// named by --b-config"`): first every clash (an output that is an input, the same file or
/// the same path; two outputs on one file), then whether each probed output can be written.
pub fn check_writes(outputs: &[Output], inputs: &[(String, &Path)]) -> Result<(), ResultError> {
    let mut written = Vec::with_capacity(outputs.len());
    for (i, out) in outputs.iter().enumerate() {
        if plan(out.path)? == Plan::InPlace {
            continue;
        }
        if let Some((what, _)) = inputs.iter().find(|(_, input)| same_place(out.path, input)) {
            return Err(ResultError::SameAsInput {
                path: out.path.to_path_buf(),
                output: out.flag.to_string(),
                input: what.clone(),
            });
        }
        if let Some(other) = outputs[..i].iter().find(|o| same_place(out.path, o.path)) {
            return Err(ResultError::TwoOutputs {
                path: out.path.to_path_buf(),
                output: out.flag.to_string(),
                other: other.flag.to_string(),
            });
        }
        written.push(out);
    }
    for out in written.into_iter().filter(|o| o.probe) {
        check_output_path(out.path)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` following the rules of the module documentation.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ResultError> {
    write_all_atomic(&[(path, bytes)])
}

/// Writes several files as one update: every file is first written in full to a temporary file
/// beside it, and only when all are ready are they renamed into place. A failure before the
/// renames (a full disk, a missing folder) leaves every file as it was.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<(), ResultError> {
    let mut staged = Vec::with_capacity(files.len());
    for &(path, bytes) in files {
        staged.push(stage(path, bytes)?);
    }
    for s in staged {
        s.commit()?;
    }
    Ok(())
}

/// A file ready to be put in place.
enum Staged<'a> {
    /// Written and synced in a temporary file, waiting for the rename.
    Replace {
        path: &'a Path,
        tmp: tempfile::NamedTempFile,
        at: PathBuf,
    },
    /// A device or stream: written when committed, there is nothing to stage.
    InPlace { path: &'a Path, bytes: &'a [u8] },
}

fn stage<'a>(path: &'a Path, bytes: &'a [u8]) -> Result<Staged<'a>, ResultError> {
    let err = |source| ResultError::Write {
        path: path.to_path_buf(),
        source,
    };
    let (at, keep_mode) = match plan(path)? {
        Plan::InPlace => return Ok(Staged::InPlace { path, bytes }),
        Plan::Replace { at, keep_mode } => (at, keep_mode),
    };
    let dir = parent_dir(&at);
    if !dir.is_dir() {
        return Err(ResultError::NoFolder {
            path: path.to_path_buf(),
            dir,
        });
    }
    // tempfile creates files 0600; ask for 0666 so the umask alone decides, like any new file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".bench-gate-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(&dir)
        .map_err(err)?;
    if let Some(mode) = keep_mode {
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    Ok(Staged::Replace { path, tmp, at })
}

impl Staged<'_> {
    fn commit(self) -> Result<(), ResultError> {
        match self {
            Staged::Replace { path, tmp, at } => {
                tmp.persist(&at).map_err(|e| ResultError::Write {
                    path: path.to_path_buf(),
                    source: e.error,
                })?;
                Ok(())
            }
            Staged::InPlace { path, bytes } => {
                let err = |source| ResultError::Write {
                    path: path.to_path_buf(),
                    source,
                };
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(path)
                    .map_err(err)?;
                f.write_all(bytes).and_then(|()| f.flush()).map_err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_own_streams_are_written_in_place_directories_refused() {
        assert_eq!(plan(Path::new("/dev/null")).unwrap(), Plan::InPlace);
        assert_eq!(plan(Path::new("/dev/stdout")).unwrap(), Plan::InPlace);
        assert_eq!(plan(Path::new("/dev/fd/1")).unwrap(), Plan::InPlace);
        let d = tempfile::tempdir().unwrap();
        let err = plan(d.path()).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        assert!(matches!(
            plan(&d.path().join("new.json")).unwrap(),
            Plan::Replace {
                keep_mode: None,
                ..
            }
        ));
    }

    #[test]
    fn writing_to_dev_null_leaves_it_a_device() {
        write_atomic(Path::new("/dev/null"), b"{}").unwrap();
        let t = std::fs::metadata("/dev/null").unwrap().file_type();
        assert!(t.is_char_device());
    }

    #[test]
    fn a_symlink_is_followed_and_a_replaced_file_keeps_its_mode() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target.json");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = d.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn an_output_equal_to_an_input_or_to_another_output_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("result.json");
        std::fs::write(&input, "{}").unwrap();
        let err = check_outputs(&[("-o", &input)], &[("--result", &input)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("-o") && err.contains("--result"), "{err}");
        // Through another spelling of the same file.
        let other = d.path().join(".").join("result.json");
        assert!(check_outputs(&[("-o", &other)], &[("--result", &input)]).is_err());
        let out = d.path().join("out.md");
        let err = check_outputs(&[("-o", &out), ("--markdown", &out)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--markdown") && err.contains("-o output"),
            "{err}"
        );
        assert!(check_outputs(&[("-o", &out)], &[("--result", &input)]).is_ok());
        assert!(
            check_outputs(
                &[("-o", Path::new("/dev/null"))],
                &[("-c", Path::new("/dev/null"))]
            )
            .is_ok(),
            "a device is written in place, never replaced"
        );
    }

    #[test]
    fn a_multi_file_update_that_cannot_stage_every_file_changes_none() {
        let d = tempfile::tempdir().unwrap();
        let first = d.path().join("baseline.json");
        std::fs::write(&first, "old").unwrap();
        let second = d.path().join("missing-folder").join("series.jsonl");
        let err = write_all_atomic(&[(&first, b"new"), (&second, b"new")]).unwrap_err();
        assert!(matches!(err, ResultError::NoFolder { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "old");
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
        let third = d.path().join("series.jsonl");
        write_all_atomic(&[(&first, b"new"), (&third, b"s")]).unwrap();
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(&third).unwrap(), "s");
    }
}
