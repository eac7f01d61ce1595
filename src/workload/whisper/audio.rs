//! WAV decoding to the 16 kHz mono `f32` signal that Whisper's front end expects.
//!
//! Reads PCM 8/16/24/32-bit and IEEE float 32 WAV (plain or WAVE_FORMAT_EXTENSIBLE)
//! with `hound`, downmixes by averaging channels, and resamples with `rubato`'s
//! synchronous FFT resampler, compensating its delay so the output is neither
//! time-shifted nor longer than `round(frames * 16000 / rate)`.
//!
//! Every failure is an [`AudioError`] whose message names the file and says what
//! to do; no input bytes make this module panic.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use rubato::{FftFixedInOut, Resampler};

/// Whisper's input sample rate, in Hz.
pub const TARGET_RATE: u32 = 16_000;

/// Lowest source sample rate accepted, in Hz (below this the FFT resampler's
/// chunk would need to be implausibly large; no real speech file is this slow).
pub const MIN_SOURCE_RATE: u32 = 1_000;
/// Highest source sample rate accepted, in Hz (bounds the resampler's memory).
pub const MAX_SOURCE_RATE: u32 = 768_000;

/// How `sox` can fix any input that this module refuses.
const CONVERT_HINT: &str = "convert with `sox in.mp3 -r 16000 -c 1 -b 16 out.wav`";

/// Decoded audio, ready for [`super::mel::MelFrontEnd::compute`].
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// 16 kHz mono samples, nominally in [-1, 1] (resampling ringing may
    /// overshoot full-scale input very slightly; float WAVs are not clipped).
    pub samples: Vec<f32>,
    /// Sample rate of the file, in Hz.
    pub source_rate: u32,
    /// Channel count of the file (downmixed by averaging).
    pub source_channels: u16,
    /// Sample encoding of the file: `pcm_u8`, `pcm_s16`, `pcm_s24`, `pcm_s32` or `float32`.
    pub source_format: String,
    /// Duration of the file, in seconds (frames / source_rate).
    pub duration_s: f64,
}

/// Why a WAV file could not be turned into 16 kHz mono samples.
/// The largest float sample magnitude accepted. Float WAVs hold samples within [-1, 1]; a few
/// times over is a clipped or boosted export, still audio. Thousands of times over is not audio,
/// and values near f32's limit overflow the resampler's FFT (found by the mutated-header
/// property test: rubato then panics on a NaN spectrum).
pub const MAX_FLOAT_SAMPLE: f32 = 1000.0;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read (missing, permissions, I/O failure).
    #[error("cannot read audio file {}: {source}\n  fix: check that the path (the config's `fixture`) exists and is readable", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a RIFF/WAVE file, or its header is malformed.
    #[error("{} is not a WAV file ({detail}); bench-gate reads PCM or float WAV\n  fix: {CONVERT_HINT}", path.display())]
    NotWav { path: PathBuf, detail: String },
    /// The file ends before its header or its declared data chunk does.
    #[error("{} is truncated: {detail}; the file was cut short (interrupted copy or recording?)\n  fix: re-export it or {CONVERT_HINT}", path.display())]
    Truncated { path: PathBuf, detail: String },
    /// The file holds no audio frames.
    #[error("{} contains no audio ({detail})\n  fix: point the config's `fixture` at a WAV with at least one sample", path.display())]
    Empty { path: PathBuf, detail: String },
    /// A WAV encoding or layout that bench-gate does not decode.
    #[error("{} uses an unsupported WAV encoding: {encoding}; bench-gate reads 8/16/24/32-bit PCM or 32-bit float at {MIN_SOURCE_RATE}..={MAX_SOURCE_RATE} Hz\n  fix: {CONVERT_HINT}", path.display())]
    UnsupportedEncoding { path: PathBuf, encoding: String },
    /// A float WAV holds NaN or infinity, which would poison the log-mel features.
    #[error("{} holds a non-finite float sample (NaN or infinity) at frame {frame}\n  fix: re-export it, e.g. `sox in.wav -b 16 out.wav`", path.display())]
    NonFinite { path: PathBuf, frame: u64 },
    /// A float WAV sample far outside [-1, 1]: not audio (a float WAV written from integers
    /// without scaling, or a damaged file), and large enough to overflow the resampler's FFT.
    #[error("{} holds a float sample of {value:e} at frame {frame}; float WAV samples lie within [-1, 1] (at most {MAX_FLOAT_SAMPLE} is accepted)\n  fix: re-export it scaled to [-1, 1], e.g. `sox in.wav -b 16 out.wav gain -n`", path.display())]
    OutOfRange {
        path: PathBuf,
        frame: u64,
        value: f32,
    },
    /// The resampler could not be built or run (should not happen for accepted rates).
    #[error("cannot resample {} from {from_hz} Hz to {TARGET_RATE} Hz: {detail}\n  fix: {CONVERT_HINT}", path.display())]
    Resample {
        path: PathBuf,
        from_hz: u32,
        detail: String,
    },
}

/// Failure of [`resample_mono`].
#[derive(Debug, thiserror::Error)]
#[error("resampling {from_hz} Hz -> {to_hz} Hz failed: {detail}")]
pub struct ResampleFailure {
    pub from_hz: u32,
    pub to_hz: u32,
    pub detail: String,
}

/// Loads a WAV file as 16 kHz mono `f32`.
///
/// Integers are scaled by 2^(bits-1) (8-bit WAV is unsigned; hound already
/// re-centres it to -128..=127), float32 is taken as is. Channels are averaged.
pub fn load_wav_16k_mono(path: &Path) -> Result<Audio, AudioError> {
    let file = File::open(path).map_err(|source| io_err(path, source))?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let mut reader = match hound::WavReader::new(BufReader::new(file)) {
        Ok(r) => r,
        Err(e) => return Err(classify_header_error(path, e)),
    };
    let spec = reader.spec();
    let source_format = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 8) => "pcm_u8",
        (hound::SampleFormat::Int, 16) => "pcm_s16",
        (hound::SampleFormat::Int, 24) => "pcm_s24",
        (hound::SampleFormat::Int, 32) => "pcm_s32",
        (hound::SampleFormat::Float, 32) => "float32",
        (hound::SampleFormat::Int, b) => return Err(unsupported(path, format!("{b}-bit PCM"))),
        (hound::SampleFormat::Float, b) => {
            return Err(unsupported(path, format!("{b}-bit float")));
        }
    };
    if !(MIN_SOURCE_RATE..=MAX_SOURCE_RATE).contains(&spec.sample_rate) {
        return Err(unsupported(
            path,
            format!("sample rate {} Hz", spec.sample_rate),
        ));
    }
    let channels = spec.channels; // hound rejects 0 channels
    let declared = u64::from(reader.len());
    if declared == 0 {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
            detail: "the data chunk holds 0 samples".into(),
        });
    }
    let declared_frames = declared / u64::from(channels);
    // Never trust the header for the allocation: bound it by the file size.
    let bytes_per_frame = u64::from(spec.bits_per_sample / 8) * u64::from(channels);
    let cap = declared_frames.min(file_len / bytes_per_frame.max(1));
    let mut mono: Vec<f32> = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));

    let read = if spec.sample_format == hound::SampleFormat::Float {
        decode(path, reader.samples::<f32>(), channels, &mut mono, |v| {
            f64::from(v)
        })?
    } else {
        let scale = 1.0 / f64::from(1u32 << (spec.bits_per_sample - 1));
        decode(path, reader.samples::<i32>(), channels, &mut mono, |v| {
            f64::from(v) * scale
        })?
    };
    if read != declared {
        return Err(truncated_data(
            path,
            declared_frames,
            read / u64::from(channels),
        ));
    }
    if let Some(frame) = mono.iter().position(|v| !v.is_finite()) {
        // Only float WAVs can hold these; integers always scale to finite values.
        return Err(AudioError::NonFinite {
            path: path.to_path_buf(),
            frame: frame as u64,
        });
    }
    if let Some(frame) = mono.iter().position(|v| v.abs() > MAX_FLOAT_SAMPLE) {
        // Only float WAVs can hold these; integers scale into [-1, 1).
        return Err(AudioError::OutOfRange {
            path: path.to_path_buf(),
            frame: frame as u64,
            value: mono[frame],
        });
    }

    let frames = mono.len();
    let samples = if spec.sample_rate == TARGET_RATE {
        mono
    } else {
        resample_mono(&mono, spec.sample_rate, TARGET_RATE).map_err(|e| AudioError::Resample {
            path: path.to_path_buf(),
            from_hz: spec.sample_rate,
            detail: e.detail,
        })?
    };
    Ok(Audio {
        samples,
        source_rate: spec.sample_rate,
        source_channels: channels,
        source_format: source_format.to_string(),
        duration_s: frames as f64 / f64::from(spec.sample_rate),
    })
}

/// Reads interleaved samples into `mono` (channel average); returns how many
/// samples (not frames) were read before the end of the data.
fn decode<S, I>(
    path: &Path,
    samples: I,
    channels: u16,
    mono: &mut Vec<f32>,
    to_unit: impl Fn(S) -> f64,
) -> Result<u64, AudioError>
where
    I: Iterator<Item = hound::Result<S>>,
{
    let ch = usize::from(channels);
    let inv = 1.0 / f64::from(channels);
    let mut acc = 0.0f64;
    let mut in_frame = 0usize;
    let mut read = 0u64;
    for s in samples {
        let v = match s {
            Ok(v) => v,
            Err(e) => return Err(classify_read_error(path, e, channels, mono.len())),
        };
        read += 1;
        acc += to_unit(v);
        in_frame += 1;
        if in_frame == ch {
            // A single channel is stored unscaled so 16-bit mono round-trips exactly.
            mono.push(if ch == 1 {
                acc as f32
            } else {
                (acc * inv) as f32
            });
            acc = 0.0;
            in_frame = 0;
        }
    }
    Ok(read)
}

/// Resamples a mono signal from `from_hz` to `to_hz`.
///
/// Uses rubato's synchronous FFT resampler (BlackmanHarris² windowed-sinc
/// anti-aliasing, cutoff just below the lower Nyquist). The whole buffer is
/// processed, zero-padded to flush the resampler, and the resampler's delay
/// (exactly half an output chunk; the chunk is forced even so this is an
/// integer) is cut off, so output sample `k` is at time `k / to_hz` and the
/// length is `round(len * to_hz / from_hz)`.
pub fn resample_mono(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleFailure> {
    let fail = |detail: String| ResampleFailure {
        from_hz,
        to_hz,
        detail,
    };
    if from_hz == to_hz {
        return Ok(input.to_vec());
    }
    for r in [from_hz, to_hz] {
        if !(MIN_SOURCE_RATE..=MAX_SOURCE_RATE).contains(&r) {
            return Err(fail(format!(
                "rate {r} Hz is outside {MIN_SOURCE_RATE}..={MAX_SOURCE_RATE} Hz"
            )));
        }
    }
    let n = input.len();
    let new_len = usize::try_from(
        (n as u128 * u128::from(to_hz) * 2 + u128::from(from_hz)) / (2 * u128::from(from_hz)),
    )
    .map_err(|_| fail("input too long".into()))?;
    if n == 0 {
        return Ok(Vec::new());
    }

    // Chunk = an even number of the smallest whole-ratio blocks, >= ~1024 input frames.
    let g = gcd(from_hz, to_hz);
    let min_in = (from_hz / g) as usize;
    let mut blocks = 1024usize.div_ceil(min_in).max(2);
    blocks += blocks % 2;
    let mut rs = FftFixedInOut::<f32>::new(from_hz as usize, to_hz as usize, blocks * min_in, 1)
        .map_err(|e| fail(e.to_string()))?;
    let chunk_in = rs.input_frames_next();
    let chunk_out = rs.output_frames_next();
    let delay = rs.output_delay();
    if chunk_in == 0 || chunk_out == 0 || delay * 2 != chunk_out {
        return Err(fail(format!(
            "unexpected resampler geometry: in {chunk_in}, out {chunk_out}, delay {delay}"
        )));
    }

    let n_chunks = (delay + new_len)
        .div_ceil(chunk_out)
        .max(n.div_ceil(chunk_in));
    let mut out = vec![0.0f32; n_chunks * chunk_out];
    let mut tail = vec![0.0f32; chunk_in];
    for (c, out_chunk) in out.chunks_exact_mut(chunk_out).enumerate() {
        let start = c * chunk_in;
        let src: &[f32] = if start + chunk_in <= n {
            &input[start..start + chunk_in]
        } else {
            let avail = n.saturating_sub(start);
            tail.fill(0.0);
            if avail > 0 {
                tail[..avail].copy_from_slice(&input[start..n]);
            }
            &tail
        };
        rs.process_into_buffer(&[src], &mut [out_chunk], None)
            .map_err(|e| fail(e.to_string()))?;
    }
    out.drain(..delay);
    out.truncate(new_len);
    Ok(out)
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn io_err(path: &Path, source: std::io::Error) -> AudioError {
    AudioError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn unsupported(path: &Path, encoding: String) -> AudioError {
    AudioError::UnsupportedEncoding {
        path: path.to_path_buf(),
        encoding,
    }
}

fn truncated_data(path: &Path, declared_frames: u64, read_frames: u64) -> AudioError {
    AudioError::Truncated {
        path: path.to_path_buf(),
        detail: format!(
            "the data chunk declares {declared_frames} frames but the file ends after {read_frames}"
        ),
    }
}

/// hound reports a short read as `ErrorKind::Other` ("Failed to read enough bytes").
fn is_short_read(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::Other)
}

fn classify_read_error(
    path: &Path,
    e: hound::Error,
    channels: u16,
    frames_done: usize,
) -> AudioError {
    match e {
        hound::Error::IoError(io) if is_short_read(&io) => AudioError::Truncated {
            path: path.to_path_buf(),
            detail: format!(
                "the data chunk ends early, after {frames_done} complete frames of {channels} channel(s)"
            ),
        },
        hound::Error::IoError(io) => io_err(path, io),
        other => unsupported(path, format!("sample layout hound cannot decode ({other})")),
    }
}

/// Turns a header-parsing failure into the error that tells the user what to do,
/// using a bounded look at the file's first bytes to name the real format.
fn classify_header_error(path: &Path, e: hound::Error) -> AudioError {
    let sniff = match sniff(path) {
        Ok(s) => s,
        Err(io) => return io_err(path, io),
    };
    if sniff.len == 0 {
        return AudioError::Empty {
            path: path.to_path_buf(),
            detail: "the file is 0 bytes".into(),
        };
    }
    if !sniff.riff_wave {
        return match sniff.container {
            Some(c @ ("RF64/BW64 (64-bit WAV)" | "RIFX (big-endian WAV)")) => {
                unsupported(path, c.into())
            }
            Some(c) => AudioError::NotWav {
                path: path.to_path_buf(),
                detail: format!("RIFF/WAVE header missing; it looks like {c}"),
            },
            None if sniff.len < 12 => AudioError::NotWav {
                path: path.to_path_buf(),
                detail: format!(
                    "RIFF/WAVE header missing; the file is only {} bytes",
                    sniff.len
                ),
            },
            None => AudioError::NotWav {
                path: path.to_path_buf(),
                detail: "RIFF/WAVE header missing".into(),
            },
        };
    }
    match e {
        hound::Error::Unsupported => unsupported(path, sniff.describe_fmt()),
        hound::Error::FormatError(msg) => match sniff.fmt {
            Some(f) if f.is_float() && f.bits != 32 => {
                unsupported(path, format!("{}-bit float", f.bits))
            }
            Some(f) if f.bits % 8 != 0 => unsupported(path, format!("{}-bit PCM", f.bits)),
            _ => AudioError::NotWav {
                path: path.to_path_buf(),
                detail: format!("malformed WAV header: {msg}"),
            },
        },
        hound::Error::IoError(io) if is_short_read(&io) => AudioError::Truncated {
            path: path.to_path_buf(),
            detail: if sniff.fmt.is_none() {
                "the file ends inside the header, before the fmt chunk is complete".into()
            } else {
                "the file ends inside the header, before the data chunk starts".into()
            },
        },
        hound::Error::IoError(io) => io_err(path, io),
        other => unsupported(path, format!("{} ({other})", sniff.describe_fmt())),
    }
}

/// What the first bytes of a file say about it.
struct Sniff {
    len: u64,
    riff_wave: bool,
    container: Option<&'static str>,
    fmt: Option<Fmt>,
}

#[derive(Clone, Copy)]
struct Fmt {
    tag: u16,
    /// For WAVE_FORMAT_EXTENSIBLE: the first two bytes of the SubFormat GUID (its format tag).
    sub_tag: Option<u16>,
    bits: u16,
}

impl Fmt {
    fn effective_tag(&self) -> u16 {
        self.sub_tag.unwrap_or(self.tag)
    }
    fn is_float(&self) -> bool {
        self.effective_tag() == 0x0003
    }
}

impl Sniff {
    fn describe_fmt(&self) -> String {
        let Some(f) = self.fmt else {
            return "unknown format (no readable fmt chunk)".into();
        };
        let name = match f.effective_tag() {
            0x0001 => "PCM",
            0x0002 => "Microsoft ADPCM",
            0x0003 => "IEEE float",
            0x0006 => "A-law",
            0x0007 => "mu-law",
            0x0011 => "IMA ADPCM",
            0x0031 => "GSM 6.10",
            0x0050 => "MPEG",
            0x0055 => "MP3",
            _ => "unknown codec",
        };
        let ext = if f.sub_tag.is_some() {
            ", extensible"
        } else {
            ""
        };
        format!(
            "{name} (format tag 0x{:04x}{ext}), {} bits per sample",
            f.effective_tag(),
            f.bits
        )
    }
}

/// Reads at most 64 KiB from the start of the file and walks its RIFF chunks.
fn sniff(path: &Path) -> std::io::Result<Sniff> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::new();
    file.take(64 * 1024).read_to_end(&mut head)?;
    let magic = |off: usize, m: &[u8]| head.get(off..off + m.len()) == Some(m);
    let riff_wave = magic(0, b"RIFF") && magic(8, b"WAVE");
    let container = if magic(0, b"RF64") || magic(0, b"BW64") {
        Some("RF64/BW64 (64-bit WAV)")
    } else if magic(0, b"RIFX") {
        Some("RIFX (big-endian WAV)")
    } else if magic(0, b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        Some("MP3")
    } else if magic(0, b"fLaC") {
        Some("FLAC")
    } else if magic(0, b"OggS") {
        Some("Ogg (Vorbis/Opus)")
    } else if magic(0, b"FORM") {
        Some("AIFF")
    } else if magic(4, b"ftyp") {
        Some("MP4/M4A")
    } else {
        None
    };
    let mut fmt = None;
    if riff_wave {
        let mut pos = 12usize;
        while let Some(h) = head.get(pos..pos + 8) {
            let size = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
            if &h[..4] == b"fmt " {
                let body = head.get(pos + 8..).unwrap_or(&[]);
                let le16 = |o: usize| body.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
                if let (Some(tag), Some(bits)) = (le16(0), le16(14)) {
                    let sub_tag = if tag == 0xFFFE { le16(24) } else { None };
                    let valid = if tag == 0xFFFE {
                        le16(18).filter(|&v| v > 0)
                    } else {
                        None
                    };
                    fmt = Some(Fmt {
                        tag,
                        sub_tag,
                        bits: valid.unwrap_or(bits),
                    });
                }
                break;
            }
            if &h[..4] == b"data" {
                break;
            }
            // Chunks are padded to even length.
            pos = match pos.checked_add(8 + size + (size & 1)) {
                Some(p) => p,
                None => break,
            };
        }
    }
    Ok(Sniff {
        len,
        riff_wave,
        container,
        fmt,
    })
}

#[cfg(test)]
#[path = "audio_tests.rs"]
mod tests;
