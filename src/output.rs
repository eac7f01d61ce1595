//! What a person sees while bench-gate works: a progress bar on a terminal, a few plain lines in
//! CI logs (where carriage-return animations turn into noise), nothing with --quiet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::runner::Observer;

/// Picks the observer for one model's measurement.
pub fn progress(model: &str, quiet: bool) -> Box<dyn Observer> {
    if quiet {
        Box::new(crate::runner::Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::new(model))
    } else {
        Box::new(Lines {
            model: model.to_string(),
            last_decile: 0,
        })
    }
}

/// Prints a status line to stderr unless quiet.
pub fn status(quiet: bool, line: impl AsRef<str>) {
    if !quiet {
        eprintln!("{}", line.as_ref());
    }
}

struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new(model: &str) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>16} {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(model.to_string());
        Bar { bar }
    }
}

impl Observer for Bar {
    fn warmup(&mut self, done: u32, total: u32) {
        self.bar.set_message(format!("warm-up {done}/{total}"));
    }

    fn iteration(&mut self, done: u32, planned: Option<u32>, last_ms: f64) {
        match planned {
            Some(p) => self.bar.set_length(u64::from(p)),
            None => self.bar.set_length(u64::from(done)),
        }
        self.bar.set_position(u64::from(done));
        self.bar.set_message(format!("{last_ms:.1} ms"));
    }

    fn finished(&mut self) {
        self.bar.finish_and_clear();
    }
}

struct Lines {
    model: String,
    last_decile: u32,
}

impl Observer for Lines {
    fn warmup(&mut self, done: u32, total: u32) {
        if done == total {
            eprintln!("{}: warm-up done ({total})", self.model);
        }
    }

    fn iteration(&mut self, done: u32, planned: Option<u32>, last_ms: f64) {
        let report = match planned {
            Some(p) => {
                let decile = done * 10 / p.max(1);
                let due = decile > self.last_decile;
                self.last_decile = self.last_decile.max(decile);
                due
            }
            None => done.is_power_of_two() || done.is_multiple_of(50),
        };
        if report {
            let of = planned.map_or_else(|| "auto".to_string(), |p| p.to_string());
            eprintln!(
                "{}: {done}/{of} iterations, last {last_ms:.1} ms",
                self.model
            );
        }
    }
}
