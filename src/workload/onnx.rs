//! The `onnx` workload: any model, its inputs synthesised from the config (zeros, ones, a
//! constant, seeded random, or consecutive windows of the audio fixture), optionally feeding an
//! output back into an input between steps (recurrent state of streaming models).

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor, TensorElementType, TensorRef, ValueType};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::profiling::{self, ArenaStats, ProfiledGraph, RunProfiler};
use super::{StageTime, Workload, WorkloadError, WorkloadInfo, describe_type};
use crate::config::{DType, Fill, ModelConfig, ResolvedInput, WorkloadSpec};
use crate::runtime::Runtime;
use crate::workload::whisper::audio::load_wav_16k_mono;

pub struct OnnxWorkload {
    session: Session,
    path: PathBuf,
    feeds: Vec<Feed>,
    audio: Vec<f32>,
    audio_pos: usize,
    steps: u32,
    info: WorkloadInfo,
    /// Set only during the profiled pass.
    profiler: Option<RunProfiler>,
}

/// Where one input's value comes from on each step.
enum Feed {
    Fixed {
        name: String,
        value: DynValue,
    },
    AudioWindow {
        name: String,
        shape: Vec<i64>,
        len: usize,
    },
    Recurrent {
        name: String,
        output: String,
        value: DynValue,
    },
}

impl OnnxWorkload {
    pub fn build(runtime: &Runtime, model: &ModelConfig) -> Result<Self, WorkloadError> {
        let WorkloadSpec::Onnx {
            model: path,
            fixture,
            inputs,
            steps,
        } = &model.workload
        else {
            unreachable!("OnnxWorkload::build is only called for onnx models");
        };
        let session = runtime.session(path, &model.session)?;
        check_inputs(&session, path, inputs, &model.at)?;
        let audio = match fixture {
            Some(f) => load_wav_16k_mono(f)?.samples,
            None => Vec::new(),
        };
        let mut feeds = Vec::with_capacity(inputs.len());
        for spec in inputs {
            let len = spec.shape.iter().product::<i64>().max(0) as usize;
            feeds.push(match (&spec.fill, &spec.from_output) {
                (Fill::Audio, _) => {
                    if len == 0 || len > audio.len() {
                        return Err(WorkloadError::Spec {
                            at: spec.at.clone(),
                            message: format!("input `{}`: an audio window of {len} samples does not fit the fixture's {} samples", spec.name, audio.len()),
                            help: "use a window shape smaller than the fixture (e.g. [1, 512] for 32 ms at 16 kHz)".into(),
                        });
                    }
                    Feed::AudioWindow { name: spec.name.clone(), shape: spec.shape.clone(), len }
                }
                (_, Some(output)) => Feed::Recurrent {
                    name: spec.name.clone(),
                    output: output.clone(),
                    value: synthesize(spec).map_err(|m| run_err(path, m))?,
                },
                _ => Feed::Fixed { name: spec.name.clone(), value: synthesize(spec).map_err(|m| run_err(path, m))? },
            });
        }
        let info = WorkloadInfo {
            audio_seconds: None,
            tokens_per_iteration: None,
            runs_per_iteration: *steps,
            notes: Vec::new(),
        };
        Ok(OnnxWorkload {
            session,
            path: path.clone(),
            feeds,
            audio,
            audio_pos: 0,
            steps: *steps,
            info,
            profiler: None,
        })
    }

    /// One model run; its outputs (every element type) go into `capture` when given.
    fn step(
        &mut self,
        capture: Option<&mut Vec<super::OutputTensor>>,
    ) -> Result<(), WorkloadError> {
        let mut window = None;
        for feed in &self.feeds {
            if let Feed::AudioWindow { len, .. } = feed {
                if self.audio_pos + len > self.audio.len() {
                    self.audio_pos = 0;
                }
                window = Some((self.audio_pos, *len));
            }
        }
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(self.feeds.len());
        for feed in &self.feeds {
            match feed {
                Feed::Fixed { name, value } | Feed::Recurrent { name, value, .. } => {
                    inputs.push((Cow::Borrowed(name.as_str()), SessionInputValue::from(value)));
                }
                Feed::AudioWindow { name, shape, len } => {
                    let start = window.map_or(0, |w| w.0);
                    let view = TensorRef::from_array_view((
                        shape.clone(),
                        &self.audio[start..start + len],
                    ))
                    .map_err(|e| run_err(&self.path, e.to_string()))?;
                    inputs.push((
                        Cow::Borrowed(name.as_str()),
                        SessionInputValue::from(view.into_dyn()),
                    ));
                }
            }
        }
        let mut outputs =
            profiling::run(&mut self.session, &mut self.profiler, &self.path, inputs)?;
        if let Some(c) = capture {
            c.clear();
            c.extend(
                outputs
                    .iter()
                    .filter_map(|(name, v)| super::OutputTensor::of(name, &v)),
            );
        }
        let mut fed_back = Vec::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            if let Feed::Recurrent { output, .. } = feed {
                let v = outputs.remove(output.as_str()).ok_or_else(|| {
                    run_err(
                        &self.path,
                        format!("the model produced no output `{output}`"),
                    )
                })?;
                fed_back.push((i, v));
            }
        }
        drop(outputs);
        for (i, v) in fed_back {
            if let Feed::Recurrent { value, .. } = &mut self.feeds[i] {
                *value = v;
            }
        }
        if let Some((start, len)) = window {
            self.audio_pos = start + len;
        }
        Ok(())
    }
}

impl Workload for OnnxWorkload {
    fn iterate(&mut self, stages: &mut Vec<StageTime>) -> Result<(), WorkloadError> {
        let t = Instant::now();
        for _ in 0..self.steps {
            self.step(None)?;
        }
        stages.push(("model", t.elapsed()));
        Ok(())
    }

    fn outputs(&mut self) -> Result<super::Outputs, WorkloadError> {
        let mut tensors = Vec::new();
        for _ in 0..self.steps {
            self.step(Some(&mut tensors))?;
        }
        Ok(super::Outputs {
            tensors,
            tokens: None,
        })
    }

    fn info(&self) -> &WorkloadInfo {
        &self.info
    }

    fn profile(&mut self, dir: &std::path::Path) -> Result<Vec<ProfiledGraph>, WorkloadError> {
        let profiler =
            RunProfiler::new(dir, "g0").map_err(|message| WorkloadError::Profile { message })?;
        self.profiler = Some(profiler);
        let mut stages = Vec::new();
        let done = self.iterate(&mut stages);
        let profiler = self.profiler.take();
        done?;
        Ok(profiler
            .map(|p| ProfiledGraph {
                label: profiling::graph_label(&self.path),
                prefix: p.prefix().to_string(),
                runs: p.runs(),
            })
            .into_iter()
            .collect())
    }

    fn arena(&self) -> Vec<ArenaStats> {
        profiling::arena_stats(&self.session, &profiling::graph_label(&self.path))
            .into_iter()
            .collect()
    }
}

fn run_err(path: &std::path::Path, message: String) -> WorkloadError {
    WorkloadError::Run {
        path: path.to_path_buf(),
        message,
    }
}

fn dtype_of(t: TensorElementType) -> Option<DType> {
    Some(match t {
        TensorElementType::Float32 => DType::F32,
        TensorElementType::Float16 => DType::F16,
        TensorElementType::Float64 => DType::F64,
        TensorElementType::Int64 => DType::I64,
        TensorElementType::Int32 => DType::I32,
        TensorElementType::Int8 => DType::I8,
        TensorElementType::Uint8 => DType::U8,
        TensorElementType::Bool => DType::Bool,
        _ => return None,
    })
}

fn dtype_key(d: DType) -> &'static str {
    match d {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::F64 => "f64",
        DType::I64 => "i64",
        DType::I32 => "i32",
        DType::I8 => "i8",
        DType::U8 => "u8",
        DType::Bool => "bool",
    }
}

/// A ready-to-paste `[[inputs]]` entry for a model input the config does not describe.
fn suggestion(name: &str, t: &ValueType) -> String {
    let (dtype, shape) = match t {
        ValueType::Tensor {
            ty,
            shape,
            dimension_symbols,
        } => {
            let dims: Vec<String> = shape
                .iter()
                .zip(dimension_symbols.iter())
                .map(|(d, sym)| {
                    if *d >= 0 {
                        d.to_string()
                    } else if sym.is_empty() {
                        "\"dim\"".into()
                    } else {
                        format!("\"{sym}\"")
                    }
                })
                .collect();
            (dtype_of(*ty).map_or("?", dtype_key), dims.join(", "))
        }
        _ => ("?", String::new()),
    };
    format!(
        "[[models.NAME.inputs]]\n      name = \"{name}\"\n      dtype = \"{dtype}\"\n      shape = [{shape}]\n      fill = \"zeros\""
    )
}

/// Checks the config's input specs against the model's own metadata.
fn check_inputs(
    session: &Session,
    path: &std::path::Path,
    specs: &[ResolvedInput],
    model_at: &crate::config::Location,
) -> Result<(), WorkloadError> {
    let model_inputs = session.inputs();
    for outlet in model_inputs {
        if !specs.iter().any(|s| s.name == outlet.name()) {
            return Err(WorkloadError::Spec {
                at: model_at.clone(),
                message: format!(
                    "model {} has an input `{}` ({}) that the config does not describe",
                    path.display(),
                    outlet.name(),
                    describe_type(outlet.dtype())
                ),
                help: format!(
                    "add an entry for it, e.g.\n      {}",
                    suggestion(outlet.name(), outlet.dtype())
                ),
            });
        }
    }
    for spec in specs {
        let Some(outlet) = model_inputs.iter().find(|o| o.name() == spec.name) else {
            let names: Vec<String> = model_inputs
                .iter()
                .map(|o| format!("`{}` {}", o.name(), describe_type(o.dtype())))
                .collect();
            return Err(WorkloadError::Spec {
                at: spec.at.clone(),
                message: format!("model {} has no input `{}`", path.display(), spec.name),
                help: format!("the model's inputs are: {}", names.join(", ")),
            });
        };
        let ValueType::Tensor { ty, shape, .. } = outlet.dtype() else {
            return Err(WorkloadError::Spec {
                at: spec.at.clone(),
                message: format!(
                    "input `{}` is not a tensor ({:?})",
                    spec.name,
                    outlet.dtype()
                ),
                help: "bench-gate synthesises tensor inputs only".into(),
            });
        };
        let mismatch = |message: String| WorkloadError::Spec {
            at: spec.at.clone(),
            message: format!("input `{}`: {message}", spec.name),
            help: format!(
                "the model declares `{}` as {}",
                spec.name,
                describe_type(outlet.dtype())
            ),
        };
        if dtype_of(*ty) != Some(spec.dtype) {
            return Err(mismatch(format!(
                "dtype {} in the config, but the model wants {}",
                dtype_key(spec.dtype),
                super::elem_name(*ty)
            )));
        }
        if shape.len() != spec.shape.len() {
            return Err(mismatch(format!(
                "rank {} in the config, but the model's rank is {}",
                spec.shape.len(),
                shape.len()
            )));
        }
        for (i, (want, got)) in shape.iter().zip(&spec.shape).enumerate() {
            if *want >= 0 && want != got {
                return Err(mismatch(format!(
                    "dimension {i} is {got} in the config, but the model fixes it to {want}"
                )));
            }
        }
        if let Some(out) = &spec.from_output {
            let Some(o) = session.outputs().iter().find(|o| o.name() == out) else {
                let names: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
                return Err(mismatch(format!(
                    "`from_output = \"{out}\"` names no output of the model (outputs: {})",
                    names.join(", ")
                )));
            };
            if o.dtype().tensor_type() != Some(*ty) {
                return Err(mismatch(format!(
                    "output `{out}` is {}, which cannot feed this input",
                    describe_type(o.dtype())
                )));
            }
        }
    }
    Ok(())
}

/// Creates the tensor a fill describes. Random fills are reproducible: ChaCha8 seeded by `seed`.
pub fn synthesize(spec: &ResolvedInput) -> Result<DynValue, String> {
    let n = spec.shape.iter().product::<i64>().max(0) as usize;
    let shape = spec.shape.clone();
    let values = fill_values(&spec.fill, n);
    let err = |e: ort::Error| e.to_string();
    Ok(match spec.dtype {
        DType::F32 => {
            Tensor::from_array((shape, values.iter().map(|v| *v as f32).collect::<Vec<_>>()))
                .map_err(err)?
                .into_dyn()
        }
        DType::F64 => Tensor::from_array((shape, values)).map_err(err)?.into_dyn(),
        DType::F16 => Tensor::from_array((
            shape,
            values
                .iter()
                .map(|v| half::f16::from_f64(*v))
                .collect::<Vec<_>>(),
        ))
        .map_err(err)?
        .into_dyn(),
        DType::I64 => Tensor::from_array((
            shape,
            values.iter().map(|v| v.floor() as i64).collect::<Vec<_>>(),
        ))
        .map_err(err)?
        .into_dyn(),
        DType::I32 => Tensor::from_array((
            shape,
            values.iter().map(|v| v.floor() as i32).collect::<Vec<_>>(),
        ))
        .map_err(err)?
        .into_dyn(),
        DType::I8 => Tensor::from_array((
            shape,
            values.iter().map(|v| v.floor() as i8).collect::<Vec<_>>(),
        ))
        .map_err(err)?
        .into_dyn(),
        DType::U8 => Tensor::from_array((
            shape,
            values.iter().map(|v| v.floor() as u8).collect::<Vec<_>>(),
        ))
        .map_err(err)?
        .into_dyn(),
        DType::Bool => {
            Tensor::from_array((shape, values.iter().map(|v| *v != 0.0).collect::<Vec<_>>()))
                .map_err(err)?
                .into_dyn()
        }
    })
}

/// The fill's values as f64, later cast to the input's dtype (integers floor, bools are != 0).
pub fn fill_values(fill: &Fill, n: usize) -> Vec<f64> {
    match fill {
        Fill::Zeros | Fill::Audio => vec![0.0; n],
        Fill::Ones => vec![1.0; n],
        Fill::Constant(c) => vec![*c; n],
        Fill::Random { seed, low, high } => {
            let mut rng = ChaCha8Rng::seed_from_u64(*seed);
            (0..n).map(|_| rng.random_range(*low..*high)).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_fill_is_reproducible_and_in_range() {
        let f = Fill::Random {
            seed: 7,
            low: 0.0,
            high: 100.0,
        };
        let a = fill_values(&f, 1000);
        let b = fill_values(&f, 1000);
        assert_eq!(a, b);
        assert!(a.iter().all(|v| (0.0..100.0).contains(v)));
        let other = fill_values(
            &Fill::Random {
                seed: 8,
                low: 0.0,
                high: 100.0,
            },
            1000,
        );
        assert_ne!(a, other, "a different seed gives different values");
        // Uniform: the mean of 1000 draws in [0, 100) is near 50.
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        assert!((mean - 50.0).abs() < 5.0, "mean {mean}");
    }

    #[test]
    fn constant_zeros_ones() {
        assert_eq!(fill_values(&Fill::Zeros, 3), vec![0.0; 3]);
        assert_eq!(fill_values(&Fill::Ones, 2), vec![1.0; 2]);
        assert_eq!(fill_values(&Fill::Constant(16000.0), 1), vec![16000.0]);
        assert!(fill_values(&Fill::Ones, 0).is_empty());
    }
}
