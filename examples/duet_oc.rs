//! The duet's operating characteristic, by simulation: P(regressed), P(pass) and
//! P(inconclusive) against the true change, under the noise models that matter on shared
//! machines, through bench-gate's own orchestration (`compare::ab::duet`) and verdict. Only the
//! machine is simulated: each variant's iteration time is drawn from the model below, and the
//! duet, its looks, boundaries, pair widening and rule are the product's code.
//!
//! Writes `OUT/oc.tsv` (one row per noise model and true change) and `OUT/oc.svg` (the curve).
//! Run it with `scripts/duet-oc.sh` (docs/verdict.md shows the result).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::rc::Rc;
use std::time::Duration;

use bench_gate::compare::ab::{self, DuetPlan, Variant};
use bench_gate::compare::drift::Tolerance;
use bench_gate::compare::{DEFAULT_THRESHOLDS, Verdict};
use bench_gate::config::Thresholds;
use bench_gate::platform::EnvDelta;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The simulated model: one iteration takes this long, so a unit (A and B) takes twice it.
const ITERATION_S: f64 = 0.6;
/// The true changes of the curve, percent.
const CHANGES: [f64; 10] = [0.0, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 20.0];
/// The variant warmed up second runs this much faster for its whole life (docs/verdict.md
/// measured 0.7% quiet, several percent under load); every model has it.
const WARM_UP_ORDER: f64 = 0.01;

/// How the simulated machine disturbs the iterations. Every sd is of the log time.
#[derive(Clone, Copy)]
struct Noise {
    name: &'static str,
    /// Per-iteration noise, sd.
    sd: f64,
    /// Student-t with 3 degrees of freedom instead of normal (same sd).
    heavy: bool,
    /// The core's speed: a random walk per block with this step sd, kept within +-15%.
    drift: f64,
    /// A square wave of this amplitude with a period of 8 blocks (a periodic neighbour).
    periodic: f64,
    /// Each worker process runs at its own speed, uniform within +-this.
    process: f64,
    /// Probability that an iteration stalls (1.5-3x).
    stall: f64,
    /// Share of blocks a bursty neighbour holds the pinned core in: such a block waits 20-60%
    /// of its time (reported as run delay, as the kernel does) and runs 12% x that share slower
    /// meanwhile (the caches, which run delay does not see). 0: no neighbour.
    neighbour: f64,
    /// Measuring budget, seconds.
    budget_s: f64,
}

const fn quiet(name: &'static str, sd: f64) -> Noise {
    Noise {
        name,
        sd,
        heavy: false,
        drift: 0.0,
        periodic: 0.0,
        process: 0.0,
        stall: 0.0,
        neighbour: 0.0,
        budget_s: 60.0,
    }
}

const MODELS: [Noise; 11] = [
    quiet("normal 1%", 0.01),
    quiet("normal 3%", 0.03),
    quiet("normal 7%", 0.07),
    Noise {
        heavy: true,
        stall: 0.02,
        ..quiet("heavy-tailed 3% + stalls", 0.03)
    },
    Noise {
        drift: 0.01,
        ..quiet("slow drift + 3%", 0.03)
    },
    Noise {
        periodic: 0.02,
        ..quiet("periodic 2% (8 blocks) + 3%", 0.03)
    },
    Noise {
        process: 0.02,
        ..quiet("process offsets +-2% + 3%", 0.03)
    },
    Noise {
        stall: 0.05,
        ..quiet("stalls 5% + 3%", 0.03)
    },
    Noise {
        heavy: true,
        drift: 0.01,
        process: 0.01,
        stall: 0.02,
        ..quiet("noisy hour 7%, 60 s", 0.07)
    },
    Noise {
        heavy: true,
        drift: 0.01,
        process: 0.01,
        stall: 0.02,
        budget_s: 120.0,
        ..quiet("noisy hour 7%, 120 s", 0.07)
    },
    Noise {
        neighbour: 0.5,
        ..quiet("bursty neighbour + 3%", 0.03)
    },
];

/// What both variants of a duet share: the generator, the block count and the core's speed.
struct Machine {
    rng: ChaCha8Rng,
    noise: Noise,
    block: u64,
    speed: f64,
}

impl Machine {
    fn normal(&mut self) -> f64 {
        let (u, v): (f64, f64) = (self.rng.random(), self.rng.random());
        (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// One iteration's log noise.
    fn noise(&mut self) -> f64 {
        let n = &self.noise;
        let (sd, heavy, stall) = (n.sd, n.heavy, n.stall);
        let z = if heavy {
            // t(3) has variance 3: scaled to unit sd.
            let chi2: f64 = (0..3).map(|_| self.normal().powi(2)).sum();
            self.normal() / (chi2 / 3.0).sqrt() / 3f64.sqrt()
        } else {
            self.normal()
        };
        let s = if self.rng.random::<f64>() < stall {
            (1.5 + 1.5 * self.rng.random::<f64>()).ln()
        } else {
            0.0
        };
        sd * z + s
    }
}

struct Simulated {
    machine: Rc<RefCell<Machine>>,
    /// Log factor: the true change (B), the process's own speed and the warm-up order.
    factor: f64,
}

impl Variant for Simulated {
    fn block(&mut self, warmup: u32, iterations: u32) -> anyhow::Result<(Vec<f64>, EnvDelta)> {
        let mut m = self.machine.borrow_mut();
        if warmup > 0 && iterations == 0 {
            return Ok((Vec::new(), EnvDelta::default()));
        }
        m.block += 1;
        let step = m.noise.drift * m.normal();
        m.speed = (m.speed + step).clamp(-0.15, 0.15);
        let wave = if (m.block / 4).is_multiple_of(2) {
            m.noise.periodic
        } else {
            0.0
        };
        let wait = if m.noise.neighbour > 0.0 && m.rng.random::<f64>() < m.noise.neighbour {
            0.2 + 0.4 * m.rng.random::<f64>()
        } else {
            0.0
        };
        let base = self.factor + m.speed + wave + (1.0 + 0.12 * wait).ln() - (1.0 - wait).ln();
        let samples: Vec<f64> = (0..iterations)
            .map(|_| 1e3 * ITERATION_S * (base + m.noise()).exp())
            .collect();
        // The scheduler's counts: a neighbour's wait when there is one, none on a quiet core.
        let elapsed: f64 = samples.iter().sum();
        let env = EnvDelta {
            elapsed_ms: elapsed,
            run_delay_ms: Some(wait * elapsed),
            on_cpu_ms: Some((1.0 - wait) * elapsed),
            ..EnvDelta::default()
        };
        Ok((samples, env))
    }
}

/// One duet: its verdict and its measuring time (units x the unit's simulated time).
fn one_duet(noise: Noise, change_pct: f64, pairs: u32, seed: u64) -> (Verdict, f64) {
    let machine = Rc::new(RefCell::new(Machine {
        rng: ChaCha8Rng::seed_from_u64(seed),
        noise,
        block: 0,
        speed: 0.0,
    }));
    let true_change = (1.0 + change_pct / 100.0).ln();
    let mut start = |p: u32| -> anyhow::Result<(Box<dyn Variant>, Box<dyn Variant>)> {
        let mut m = machine.borrow_mut();
        let mut process = || (2.0 * m.rng.random::<f64>() - 1.0) * noise.process;
        let (mut fa, mut fb) = (process(), true_change + process());
        if p.is_multiple_of(2) {
            fb -= WARM_UP_ORDER;
        } else {
            fa -= WARM_UP_ORDER;
        }
        drop(m);
        let v = |factor| Simulated {
            machine: Rc::clone(&machine),
            factor,
        };
        Ok((Box::new(v(fa)), Box::new(v(fb))))
    };
    let unit_s = 2.0 * ITERATION_S;
    let plan = DuetPlan {
        // The simulated machine takes no real time: the budget is the unit count it allows.
        budget: Duration::from_secs(86_400),
        seed: seed ^ 0xa5a5,
        per_block: NonZeroU32::new(1),
        warmup: 1,
        pairs: NonZeroU32::new(pairs).expect("pairs > 0"),
        auto_pairs: false,
        max_units: Some((noise.budget_s / unit_s).floor() as usize),
        max_regression_pct: 2.0,
        min_abs_ms: 0.0,
        tolerance: Tolerance {
            atol: 0.0,
            rtol: 0.0,
            equal_nan: false,
        },
        fail_on_output_change: false,
    };
    let out = ab::duet(&plan, &mut start, &mut |_, _| {}).expect("a simulated duet runs");
    let t = Thresholds {
        max_regression_pct: 2.0,
        ..DEFAULT_THRESHOLDS
    };
    let v = ab::verdict("sim", "sim", "x86_64", &t, &out);
    (v.verdict, out.units.len() as f64 * unit_s)
}

/// One row of the curve.
struct Row {
    model: &'static str,
    change_pct: f64,
    runs: usize,
    regressed: usize,
    pass: usize,
    improved: usize,
    inconclusive: usize,
    /// Measuring seconds to a `regressed` verdict: median and 95th percentile.
    regressed_s: (f64, f64),
}

fn quantile(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

fn row(noise: Noise, change_pct: f64, runs: usize, pairs: u32, seed: u64) -> Row {
    let mut r = Row {
        model: noise.name,
        change_pct,
        runs,
        regressed: 0,
        pass: 0,
        improved: 0,
        inconclusive: 0,
        regressed_s: (f64::NAN, f64::NAN),
    };
    let mut secs = Vec::new();
    for k in 0..runs {
        let (v, s) = one_duet(noise, change_pct, pairs, seed + k as u64);
        match v {
            Verdict::Regressed => {
                r.regressed += 1;
                secs.push(s);
            }
            Verdict::Pass => r.pass += 1,
            Verdict::Improved => r.improved += 1,
            _ => r.inconclusive += 1,
        }
    }
    r.regressed_s = (quantile(&mut secs, 0.5), quantile(&mut secs, 0.95));
    r
}

fn svg(rows: &[Row]) -> String {
    let (w, h, left, top, right, bottom) = (760.0, 430.0, 60.0, 20.0, 250.0, 50.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let x = |i: usize| left + pw * i as f64 / (CHANGES.len() - 1) as f64;
    let y = |p: f64| top + ph * (1.0 - p);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    for p in [0.0, 0.01, 0.5, 0.95, 1.0] {
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{}" y="{:.1}" text-anchor="end">{p}</text>"##,
            left + pw,
            left - 4.0,
            y(p) + 4.0,
            y = y(p)
        );
    }
    for (i, c) in CHANGES.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}" stroke="{}"/><text x="{x:.1}" y="{}" text-anchor="middle">+{c}%</text>"##,
            top + ph,
            if *c == 2.0 { "#e66" } else { "#eee" },
            top + ph + 15.0,
            x = x(i)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">true change of B against A (threshold +2%, red)</text>"#,
        left + pw / 2.0,
        h - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">P(regressed)</text>"#,
        top + ph / 2.0,
        top + ph / 2.0
    );
    let colours = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf", "#000000",
    ];
    for (k, m) in MODELS.iter().enumerate() {
        let pts: Vec<String> = rows
            .iter()
            .filter(|r| r.model == m.name)
            .map(|r| {
                let i = CHANGES.iter().position(|c| *c == r.change_pct).unwrap_or(0);
                format!("{:.1},{:.1}", x(i), y(r.regressed as f64 / r.runs as f64))
            })
            .collect();
        let c = colours[k % colours.len()];
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{}"/>"#,
            pts.join(" ")
        );
        let ly = top + 14.0 * k as f64 + 6.0;
        let _ = writeln!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            w - right + 10.0,
            w - right + 30.0,
            w - right + 34.0,
            ly + 4.0,
            m.name
        );
    }
    s.push_str("</svg>\n");
    s
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut runs, mut aa_runs, mut pairs, mut out) =
        (200usize, 1000usize, 2u32, "docs/oc".to_string());
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--runs" => runs = value()?.parse()?,
            "--aa-runs" => aa_runs = value()?.parse()?,
            "--pairs" => pairs = value()?.parse()?,
            "--out" => out = value()?,
            other => anyhow::bail!(
                "unknown argument {other}; use --runs N --aa-runs N --pairs P --out DIR"
            ),
        }
    }
    // Two threads: one per core of the machine this was written on.
    let jobs: Vec<(usize, f64)> = (0..MODELS.len())
        .flat_map(|m| CHANGES.iter().map(move |c| (m, *c)))
        .collect();
    let rows: Vec<Row> = std::thread::scope(|s| {
        let halves: Vec<_> = [0usize, 1]
            .iter()
            .map(|&half| {
                let jobs = &jobs;
                s.spawn(move || {
                    jobs.iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == half)
                        .map(|(i, &(m, c))| {
                            let n = if c == 0.0 { aa_runs } else { runs };
                            let r = row(MODELS[m], c, n, pairs, 1_000_000 * i as u64);
                            eprintln!(
                                "{:<30} {:>5.1}%  regressed {:>4}/{:<4} pass {:>4} inconclusive {:>4}",
                                r.model, r.change_pct, r.regressed, r.runs, r.pass, r.inconclusive
                            );
                            (i, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Row)> = halves
            .into_iter()
            .flat_map(|h| h.join().expect("a simulation thread"))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    let mut tsv = String::from(
        "model\tchange_pct\truns\tregressed\tpass\timproved\tinconclusive\tp_regressed\tmedian_s_to_regressed\tp95_s_to_regressed\n",
    );
    for r in &rows {
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.4}\t{:.1}\t{:.1}",
            r.model,
            r.change_pct,
            r.runs,
            r.regressed,
            r.pass,
            r.improved,
            r.inconclusive,
            r.regressed as f64 / r.runs as f64,
            r.regressed_s.0,
            r.regressed_s.1
        );
    }
    std::fs::create_dir_all(&out)?;
    std::fs::write(format!("{out}/oc.tsv"), tsv)?;
    std::fs::write(format!("{out}/oc.svg"), svg(&rows))?;
    eprintln!("wrote {out}/oc.tsv and {out}/oc.svg");
    Ok(())
}
