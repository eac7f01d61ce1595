//! Whisper's log-mel front end, computed as openai/whisper's
//! `log_mel_spectrogram(pad_or_trim(audio))` does:
//!
//! 1. pad with zeros / trim to [`N_SAMPLES`] (30 s at 16 kHz);
//! 2. STFT, `n_fft` 400, hop 160, periodic Hann window, `center=True` with
//!    reflect padding of 200 samples on both sides; drop the last frame
//!    (whisper's `stft[..., :-1]`), leaving [`N_FRAMES`] = 3000 frames;
//! 3. power spectrum, times librosa's Slaney mel filterbank
//!    (`librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)`, float32 weights,
//!    bit-identical to whisper's `assets/mel_filters.npz`);
//! 4. `log10(max(mel, 1e-10))`, floored at `global_max - 8`, then `(x + 4) / 4`.
//!
//! Arithmetic is f64 (whisper's torch code is f32; the f64 path is the exact
//! value that both approximate). Output is row-major `[n_mels, 3000]` f32.

use std::ops::Range;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Sample rate the front end expects, in Hz.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT size / window length, in samples (25 ms).
pub const N_FFT: usize = 400;
/// Frame step, in samples (10 ms).
pub const HOP_LENGTH: usize = 160;
/// Samples in one 30 s Whisper window.
pub const N_SAMPLES: usize = 30 * SAMPLE_RATE;
/// Frames in one 30 s Whisper window.
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;
/// Frequency bins of the real FFT.
pub const N_FREQS: usize = N_FFT / 2 + 1;

const PAD: usize = N_FFT / 2;
const PADDED_LEN: usize = N_SAMPLES + 2 * PAD;

/// Errors from building or running the front end.
#[derive(Debug, thiserror::Error)]
pub enum MelError {
    /// Whisper checkpoints use 80 mel bins, large-v3 and large-v3-turbo use 128.
    #[error(
        "unsupported mel bin count {0}: Whisper models take 80 (tiny..large-v2) or 128 (large-v3, large-v3-turbo); read n_mels from the encoder input shape [1, n_mels, 3000]"
    )]
    UnsupportedMelBins(usize),
    /// `compute_into` was handed an output slice of the wrong size.
    #[error("mel output buffer holds {got} values but [n_mels, {N_FRAMES}] needs {want}")]
    OutputLen { got: usize, want: usize },
    /// The FFT rejected its buffers (cannot happen with a `Scratch` from `make_scratch`).
    #[error("FFT failed: {0}")]
    Fft(String),
}

/// Reusable working memory for [`MelFrontEnd::compute_into`] (about 3.9 MB).
pub struct Scratch {
    padded: Vec<f64>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    fft_scratch: Vec<Complex<f64>>,
    power: Vec<f64>,
}

/// Whisper log-mel front end; build once, call [`compute`](Self::compute) per clip.
///
/// Holds the Hann window, the FFT plan and the filterbank (with each filter's
/// non-zero bin range, so the mel product touches ~2% of the dense matrix).
/// `Send + Sync`: share one across benchmark threads, one `Scratch` per thread.
pub struct MelFrontEnd {
    n_mels: usize,
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
    filters_f32: Vec<f32>,
    filters: Vec<f64>,
    bands: Vec<Range<usize>>,
}

impl std::fmt::Debug for MelFrontEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelFrontEnd")
            .field("n_mels", &self.n_mels)
            .finish_non_exhaustive()
    }
}

impl MelFrontEnd {
    /// Builds the front end for 80 or 128 mel bins.
    pub fn new(n_mels: usize) -> Result<Self, MelError> {
        if n_mels != 80 && n_mels != 128 {
            return Err(MelError::UnsupportedMelBins(n_mels));
        }
        // torch.hann_window(400) default: periodic, i.e. denominator N not N-1.
        let window = (0..N_FFT)
            .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
            .collect();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        let filters_f32 = slaney_mel_filters(SAMPLE_RATE as f64, N_FFT, n_mels);
        let filters: Vec<f64> = filters_f32.iter().map(|&w| f64::from(w)).collect();
        let bands = filters
            .chunks_exact(N_FREQS)
            .map(|row| {
                let start = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let end = row.iter().rposition(|&w| w != 0.0).map_or(start, |e| e + 1);
                start..end
            })
            .collect();
        Ok(Self {
            n_mels,
            window,
            fft,
            filters_f32,
            filters,
            bands,
        })
    }

    /// Number of mel bins (rows of the output).
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Length of the output, `n_mels * 3000`.
    pub fn output_len(&self) -> usize {
        self.n_mels * N_FRAMES
    }

    /// The filterbank, row-major `[n_mels, 201]`, float32 as librosa returns it.
    pub fn filters(&self) -> &[f32] {
        &self.filters_f32
    }

    /// Allocates working memory for [`compute_into`](Self::compute_into).
    pub fn make_scratch(&self) -> Scratch {
        Scratch {
            padded: vec![0.0; PADDED_LEN],
            frame: self.fft.make_input_vec(),
            spectrum: self.fft.make_output_vec(),
            fft_scratch: self.fft.make_scratch_vec(),
            power: vec![0.0; N_FREQS],
        }
    }

    /// Log-mel features of 16 kHz mono audio, row-major `[n_mels, 3000]`.
    ///
    /// Audio longer than 30 s is trimmed, shorter is zero-padded. Allocates the
    /// output and a [`Scratch`]; use `compute_into` in hot loops.
    pub fn compute(&self, samples_16k: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; self.output_len()];
        let mut scratch = self.make_scratch();
        // Both buffers were sized just above by this front end, the only way compute_into fails.
        self.compute_into(samples_16k, &mut out, &mut scratch)
            .expect("buffers sized by MelFrontEnd");
        out
    }

    /// Allocation-free [`compute`](Self::compute) into `out` (`n_mels * 3000` values).
    pub fn compute_into(
        &self,
        samples_16k: &[f32],
        out: &mut [f32],
        scratch: &mut Scratch,
    ) -> Result<(), MelError> {
        if out.len() != self.output_len() {
            return Err(MelError::OutputLen {
                got: out.len(),
                want: self.output_len(),
            });
        }
        fill_reflect_padded(samples_16k, &mut scratch.padded);

        let mut log_max = f64::NEG_INFINITY;
        for t in 0..N_FRAMES {
            let seg = &scratch.padded[t * HOP_LENGTH..t * HOP_LENGTH + N_FFT];
            if seg.iter().all(|&v| v == 0.0) {
                // Exact zeros give power 0, so every bin is log10(1e-10) = -10:
                // skip the FFT and the mel product (the padded tail of short clips).
                log_max = log_max.max(-10.0);
                for m in 0..self.n_mels {
                    out[m * N_FRAMES + t] = -10.0;
                }
                continue;
            }
            for ((f, &x), &w) in scratch.frame.iter_mut().zip(seg).zip(&self.window) {
                *f = x * w;
            }
            self.fft
                .process_with_scratch(
                    &mut scratch.frame,
                    &mut scratch.spectrum,
                    &mut scratch.fft_scratch,
                )
                .map_err(|e| MelError::Fft(e.to_string()))?;
            for (p, c) in scratch.power.iter_mut().zip(&scratch.spectrum) {
                *p = c.re * c.re + c.im * c.im;
            }
            for (m, band) in self.bands.iter().enumerate() {
                let row = &self.filters[m * N_FREQS..(m + 1) * N_FREQS];
                let mel: f64 = row[band.clone()]
                    .iter()
                    .zip(&scratch.power[band.clone()])
                    .map(|(w, p)| w * p)
                    .sum();
                let v = mel.max(1e-10).log10();
                log_max = log_max.max(v);
                out[m * N_FRAMES + t] = v as f32;
            }
        }
        let floor = log_max - 8.0;
        for v in out.iter_mut() {
            *v = ((f64::from(*v).max(floor) + 4.0) / 4.0) as f32;
        }
        Ok(())
    }
}

/// Writes `reflect_pad(pad_or_trim(samples, 480000), 200)` into `padded`.
fn fill_reflect_padded(samples: &[f32], padded: &mut [f64]) {
    let n = samples.len().min(N_SAMPLES);
    let body = &mut padded[PAD..PAD + N_SAMPLES];
    for (d, &s) in body[..n].iter_mut().zip(samples) {
        *d = f64::from(s);
    }
    body[n..].fill(0.0);
    // Reflect (numpy/torch "reflect": the edge sample is not repeated).
    for i in 1..=PAD {
        padded[PAD - i] = padded[PAD + i];
        padded[PAD + N_SAMPLES - 1 + i] = padded[PAD + N_SAMPLES - 1 - i];
    }
}

/// librosa `hz_to_mel(f, htk=False)`: linear below 1 kHz, logarithmic above (Slaney).
fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

/// librosa `mel_to_hz(m, htk=False)`.
fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// librosa `filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False,
/// norm="slaney")`, row-major `[n_mels, n_fft/2+1]`.
///
/// Reproduces librosa operation by operation, including its float32 storage of
/// the triangle weights before the in-place float32 area normalisation
/// (`2 / (f_hi - f_lo)`), so the result equals librosa's (and whisper's
/// `mel_filters.npz`) bit for bit up to libm `ln`/`exp` rounding.
pub fn slaney_mel_filters(sr: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_freqs = n_fft / 2 + 1;
    // np.fft.rfftfreq(n_fft, d=1/sr)
    let val = 1.0 / (n_fft as f64 * (1.0 / sr));
    let fftfreqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * val).collect();
    // mel_frequencies(n_mels + 2, 0, sr/2): np.linspace in mel, back to Hz.
    let (min_mel, max_mel) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let n_pts = n_mels + 2;
    let step = (max_mel - min_mel) / (n_pts - 1) as f64;
    let mel_f: Vec<f64> = (0..n_pts)
        .map(|i| {
            let m = if i == n_pts - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            mel_to_hz(m)
        })
        .collect();
    let mut weights = vec![0.0f32; n_mels * n_freqs];
    for (i, row) in weights.chunks_exact_mut(n_freqs).enumerate() {
        let fdiff_lo = mel_f[i + 1] - mel_f[i];
        let fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (w, &f) in row.iter_mut().zip(&fftfreqs) {
            let lower = -(mel_f[i] - f) / fdiff_lo;
            let upper = (mel_f[i + 2] - f) / fdiff_hi;
            let tri = 0.0f64.max(lower.min(upper)) as f32;
            *w = (f64::from(tri) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reference() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mel_reference.json");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e}; regenerate with fixtures/mel_reference.py"));
        serde_json::from_str(&text).expect("valid reference JSON")
    }

    fn f64s(v: &Value) -> Vec<f64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect()
    }

    /// Max relative error, with absolute error used for (near-)zero weights.
    fn max_rel(got: &[f32], want: &[f64]) -> f64 {
        assert_eq!(got.len(), want.len());
        got.iter()
            .zip(want)
            .map(|(&g, &w)| (f64::from(g) - w).abs() / w.abs().max(1e-3))
            .fold(0.0, f64::max)
    }

    #[test]
    fn filterbank_80_matches_librosa_reference() {
        let r = reference();
        let want: Vec<f64> = r["filters_80"]
            .as_array()
            .expect("rows")
            .iter()
            .flat_map(f64s)
            .collect();
        let fe = MelFrontEnd::new(80).unwrap();
        let err = max_rel(fe.filters(), &want);
        let exact = fe
            .filters()
            .iter()
            .zip(&want)
            .filter(|(g, w)| f64::from(**g) == **w)
            .count();
        eprintln!(
            "80-bin filters: max rel err {err:e}, {exact}/{} bit-identical",
            want.len()
        );
        assert!(err <= 1e-6, "80-bin filterbank max relative error {err}");
    }

    #[test]
    fn filterbank_128_matches_librosa_reference_rows() {
        let r = reference();
        let fe = MelFrontEnd::new(128).unwrap();
        let rows = r["filters_128_rows"].as_object().expect("rows");
        assert!(rows.len() >= 4);
        for (k, v) in rows {
            let m: usize = k.parse().unwrap();
            let got = &fe.filters()[m * N_FREQS..(m + 1) * N_FREQS];
            let err = max_rel(got, &f64s(v));
            assert!(err <= 1e-6, "128-bin row {m}: max relative error {err}");
        }
    }

    #[test]
    fn log_mel_matches_numpy_reference() {
        let r = reference();
        let samples: Vec<f32> = r["samples_f32_bits"]
            .as_array()
            .expect("samples")
            .iter()
            .map(|b| f32::from_bits(u32::try_from(b.as_u64().expect("u32 bits")).unwrap()))
            .collect();
        assert_eq!(samples.len(), 40_000);
        let fe = MelFrontEnd::new(80).unwrap();
        let mel = fe.compute(&samples);
        assert_eq!(mel.len(), 80 * N_FRAMES);
        let frames: Vec<usize> = f64s(&r["frames"]).iter().map(|&f| f as usize).collect();
        let mut worst = 0.0f64;
        for (col, &t) in r["log_mel_80"]
            .as_array()
            .expect("cols")
            .iter()
            .zip(&frames)
        {
            for (m, w) in f64s(col).into_iter().enumerate() {
                worst = worst.max((f64::from(mel[m * N_FRAMES + t]) - w).abs());
            }
        }
        eprintln!("log-mel max abs error vs numpy float64: {worst:e}");
        // Achieved ~1e-7 (f32 output rounding); 1e-5 leaves room for libm differences.
        assert!(worst <= 1e-5, "max abs log-mel error {worst}");
        // The dynamic-range floor: silent frames sit exactly at (max - 8 + 4) / 4.
        let floor = ((r["log10_max_80"].as_f64().unwrap() - 8.0 + 4.0) / 4.0) as f32;
        let tail = &mel[N_FRAMES - 1..];
        assert!(
            tail.iter()
                .step_by(N_FRAMES)
                .all(|&v| (v - floor).abs() < 1e-6)
        );
    }

    #[test]
    fn silence_is_constant_minus_1_5() {
        for n_mels in [80, 128] {
            let fe = MelFrontEnd::new(n_mels).unwrap();
            for input in [vec![], vec![0.0f32; 16_000]] {
                let mel = fe.compute(&input);
                assert_eq!(mel.len(), n_mels * 3000);
                // (log10(1e-10) + 4) / 4
                assert!(mel.iter().all(|&v| v == -1.5), "n_mels {n_mels}");
            }
        }
    }

    #[test]
    fn long_input_is_trimmed_and_compute_into_reuses_buffers() {
        let fe = MelFrontEnd::new(80).unwrap();
        let long: Vec<f32> = (0..N_SAMPLES + 12_345)
            .map(|i| (i as f32 * 0.01).sin() * 0.3)
            .collect();
        let a = fe.compute(&long);
        let b = fe.compute(&long[..N_SAMPLES]);
        assert_eq!(a, b);
        let mut out = vec![0.0; fe.output_len()];
        let mut scratch = fe.make_scratch();
        fe.compute_into(&long, &mut out, &mut scratch).unwrap();
        assert_eq!(out, a);
        // Reused scratch must not leak the previous (longer) clip into a shorter one.
        fe.compute_into(&[], &mut out, &mut scratch).unwrap();
        assert!(out.iter().all(|&v| v == -1.5));
        assert!(matches!(
            fe.compute_into(&[], &mut out[1..], &mut scratch),
            Err(MelError::OutputLen { .. })
        ));
    }

    #[test]
    fn only_80_or_128_bins() {
        assert!(matches!(
            MelFrontEnd::new(64),
            Err(MelError::UnsupportedMelBins(64))
        ));
        assert!(MelFrontEnd::new(0).is_err());
    }

    #[test]
    fn front_end_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<MelFrontEnd>();
        check::<Scratch>();
    }
}
