//! Tests of the WAV decoder: every format it accepts, every way a file can be broken.

use super::*;
use std::f64::consts::PI;

fn write_wav<S: hound::Sample + Copy>(path: &Path, spec: hound::WavSpec, samples: &[S]) {
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

fn spec(channels: u16, rate: u32, bits: u16, float: bool) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    }
}

fn sine(rate: u32, freq: f64, amp: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin())
        .collect()
}

#[test]
fn pcm16_mono_16k_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    let data: Vec<i16> = (0..16_000)
        .map(|i| ((i * 7919) % 65_536 - 32_768) as i16)
        .collect();
    write_wav(&p, spec(1, 16_000, 16, false), &data);
    let a = load_wav_16k_mono(&p).unwrap();
    assert_eq!(a.source_format, "pcm_s16");
    assert_eq!((a.source_rate, a.source_channels), (16_000, 1));
    assert_eq!(a.duration_s, 1.0);
    let want: Vec<f32> = data.iter().map(|&v| f32::from(v) / 32768.0).collect();
    assert_eq!(a.samples, want);
    assert!(a.samples.iter().all(|v| (-1.0..=1.0).contains(v)));
}

#[test]
fn pcm8_is_unsigned_centred_at_128() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    // hound writes i8 as unsigned (v + 128); check full scale both ways.
    write_wav(&p, spec(1, 16_000, 8, false), &[-128i8, -64, 0, 64, 127]);
    let raw = std::fs::read(&p).unwrap();
    assert_eq!(&raw[raw.len() - 5..], &[0u8, 64, 128, 192, 255]);
    let a = load_wav_16k_mono(&p).unwrap();
    assert_eq!(a.source_format, "pcm_u8");
    assert_eq!(a.samples, vec![-1.0, -0.5, 0.0, 0.5, 127.0 / 128.0]);
}

#[test]
fn pcm24_and_pcm32_scale_to_unit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    write_wav(
        &p,
        spec(1, 16_000, 24, false),
        &[-8_388_608i32, -4_194_304, 0, 8_388_607],
    );
    let a = load_wav_16k_mono(&p).unwrap();
    assert_eq!(a.source_format, "pcm_s24");
    assert_eq!(
        a.samples,
        vec![-1.0, -0.5, 0.0, (8_388_607.0f64 / 8_388_608.0) as f32]
    );

    let p = dir.path().join("b.wav");
    write_wav(
        &p,
        spec(1, 16_000, 32, false),
        &[i32::MIN, i32::MIN / 4, 0, i32::MAX],
    );
    let a = load_wav_16k_mono(&p).unwrap();
    assert_eq!(a.source_format, "pcm_s32");
    assert_eq!(a.samples, vec![-1.0, -0.25, 0.0, 1.0]);
}

#[test]
fn float32_passes_through() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    let data = [0.25f32, -0.75, 1.0, -1.0, 1e-7];
    write_wav(&p, spec(1, 16_000, 32, true), &data);
    let a = load_wav_16k_mono(&p).unwrap();
    assert_eq!(a.source_format, "float32");
    assert_eq!(a.samples, data.to_vec());
}

#[test]
fn float32_nan_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    write_wav(&p, spec(1, 16_000, 32, true), &[0.0f32, f32::NAN]);
    let e = load_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, AudioError::NonFinite { frame: 1, .. }), "{e}");
}

/// A float sample thousands of times over full scale is not audio and would overflow the
/// resampler's FFT (a panic inside rubato before this check): refused, naming the frame.
#[test]
fn float32_far_outside_full_scale_is_refused_before_resampling() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    let mut data = vec![0.1f32; 4096];
    data[7] = 3.0e37;
    write_wav(&p, spec(1, 38_613, 32, true), &data);
    let e = load_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, AudioError::OutOfRange { frame: 7, .. }), "{e}");
    assert!(e.to_string().contains("fix: "), "{e}");
    // A boosted export a few times over full scale is still audio.
    data[7] = 4.0;
    write_wav(&p, spec(1, 38_613, 32, true), &data);
    assert!(load_wav_16k_mono(&p).is_ok());
}

/// 48 kHz stereo sine -> 16 kHz mono: length, amplitude and phase match a
/// sine generated directly at 16 kHz (no time shift from the resampler).
#[test]
fn stereo_48k_sine_resamples_to_16k_in_phase() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    let n = 48_000 + 7; // odd length exercises the rounding and the flush
    let s = sine(48_000, 440.0, 0.5, n);
    let inter: Vec<f32> = s.iter().flat_map(|&v| [v as f32, v as f32]).collect();
    write_wav(&p, spec(2, 48_000, 32, true), &inter);
    let a = load_wav_16k_mono(&p).unwrap();
    assert_eq!(a.source_channels, 2);
    assert_eq!(a.samples.len(), 16_002); // round(48007 / 3) = 16002.33 -> 16002
    let want = sine(16_000, 440.0, 0.5, a.samples.len());
    // Skip the edges, where the band-limited filter sees the zero padding.
    let err = a.samples[400..15_600]
        .iter()
        .zip(&want[400..15_600])
        .map(|(&g, &w)| (f64::from(g) - w).abs())
        .fold(0.0, f64::max);
    eprintln!("48k stereo -> 16k: max abs error vs 16 kHz sine {err:e}");
    assert!(err < 1e-4, "max abs error vs 16 kHz sine: {err}");
    let peak = a.samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!((peak - 0.5).abs() < 2e-3, "peak {peak}");
}

/// 44.1 kHz (non-integer ratio) and 8 kHz (upsampling) keep length and phase too.
#[test]
fn other_rates_resample_in_phase() {
    for (rate, freq) in [
        (44_100u32, 1000.0),
        (22_050, 300.0),
        (8_000, 440.0),
        (11_025, 1234.5),
    ] {
        let n = rate as usize * 3 / 2 + 3;
        let x: Vec<f32> = sine(rate, freq, 0.8, n).iter().map(|&v| v as f32).collect();
        let y = resample_mono(&x, rate, 16_000).unwrap();
        let want_len = ((n as f64) * 16_000.0 / f64::from(rate)).round() as usize;
        assert_eq!(y.len(), want_len, "rate {rate}");
        let want = sine(16_000, freq, 0.8, y.len());
        let m = y.len();
        let err = y[800..m - 800]
            .iter()
            .zip(&want[800..m - 800])
            .map(|(&g, &w)| (f64::from(g) - w).abs())
            .fold(0.0, f64::max);
        eprintln!("{rate} -> 16k: max abs error vs 16 kHz sine {err:e}");
        assert!(err < 1e-4, "rate {rate}: max abs error {err}");
    }
}

#[test]
fn opposite_channels_downmix_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    let s = sine(16_000, 440.0, 0.9, 8_000);
    let inter: Vec<i16> = s
        .iter()
        .flat_map(|&v| {
            let q = (v * 32_767.0).round() as i16;
            [q, -q]
        })
        .collect();
    write_wav(&p, spec(2, 16_000, 16, false), &inter);
    let a = load_wav_16k_mono(&p).unwrap();
    assert_eq!(a.samples.len(), 8_000);
    assert!(a.samples.iter().all(|v| v.abs() < 1e-6));
}

#[test]
fn truncated_data_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    write_wav(&p, spec(1, 16_000, 16, false), &vec![1000i16; 1000]);
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 301]).unwrap(); // mid-sample cut
    let e = load_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, AudioError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("a.wav"), "{e}");
    // Cut inside the header: also Truncated, not NotWav.
    std::fs::write(&p, &bytes[..30]).unwrap();
    let e = load_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, AudioError::Truncated { .. }), "{e}");
}

#[test]
fn empty_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    write_wav::<i16>(&p, spec(1, 16_000, 16, false), &[]);
    let e = load_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, AudioError::Empty { .. }), "{e}");
    std::fs::write(&p, b"").unwrap();
    let e = load_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, AudioError::Empty { .. }), "{e}");
}

#[test]
fn random_bytes_are_not_wav() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("noise.wav");
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&p, &bytes).unwrap();
    let e = load_wav_16k_mono(&p).unwrap_err();
    assert!(matches!(e, AudioError::NotWav { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("noise.wav")
            && msg.contains("RIFF/WAVE header missing")
            && msg.contains("sox"),
        "{msg}"
    );

    std::fs::write(&p, b"ID3\x04\x00\x00\x00\x00\x00\x00 mp3 frames...").unwrap();
    let msg = load_wav_16k_mono(&p).unwrap_err().to_string();
    assert!(msg.contains("looks like MP3"), "{msg}");
}

#[test]
fn nonexistent_path_is_io_error_naming_it() {
    let p = Path::new("/nonexistent/dir/speech-sample.wav");
    let e = load_wav_16k_mono(p).unwrap_err();
    assert!(matches!(e, AudioError::Io { .. }), "{e}");
    assert!(
        e.to_string().contains("/nonexistent/dir/speech-sample.wav"),
        "{e}"
    );
}

/// Builds a canonical 44-byte-header WAV with an arbitrary fmt chunk.
fn raw_wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block = channels.wrapping_mul(bits.div_ceil(8));
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    v.extend_from_slice(&block.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn unsupported_encodings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    for (tag, bits, rate, needle) in [
        (3u16, 64u16, 16_000u32, "64-bit float"),
        (6, 8, 8_000, "A-law"),
        (7, 8, 8_000, "mu-law"),
        (1, 16, 500, "sample rate 500 Hz"),
    ] {
        std::fs::write(&p, raw_wav(tag, 1, rate, bits, &[0u8; 64])).unwrap();
        let e = load_wav_16k_mono(&p).unwrap_err();
        assert!(matches!(e, AudioError::UnsupportedEncoding { .. }), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
}

fn no_panic(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fuzz.wav");
    std::fs::write(&p, bytes).unwrap();
    let _ = load_wav_16k_mono(&p);
}

#[test]
fn every_prefix_of_a_valid_wav_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    write_wav(
        &p,
        spec(2, 22_050, 24, false),
        &[5i32, -5, 100, -100, 8_000_000, 0],
    );
    let bytes = std::fs::read(&p).unwrap();
    for cut in 0..bytes.len() {
        no_panic(&bytes[..cut]);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        no_panic(&bytes);
    }

    /// A valid header with random fields and data exercises the decoding paths.
    #[test]
    fn mutated_headers_never_panic(
        tag in proptest::prelude::prop_oneof![proptest::prelude::Just(1u16), proptest::prelude::Just(3u16), proptest::prelude::Just(0xFFFEu16), proptest::prelude::any::<u16>()],
        channels in 0u16..9,
        rate in proptest::prelude::prop_oneof![proptest::prelude::Just(16_000u32), 900u32..800_000, proptest::prelude::any::<u32>()],
        bits in proptest::prelude::prop_oneof![proptest::prelude::Just(8u16), proptest::prelude::Just(16u16), proptest::prelude::Just(24u16), proptest::prelude::Just(32u16), proptest::prelude::any::<u16>()],
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        flip in proptest::prelude::any::<(u16, u8)>(),
    ) {
        let mut v = raw_wav(tag, channels, rate, bits, &data);
        let i = usize::from(flip.0) % v.len();
        v[i] ^= flip.1;
        no_panic(&v);
    }
}
