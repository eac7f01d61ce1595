//! The data flow written in `src/lib.rs` is the one the code has: a module of the flow imports
//! only modules before it, `publish` imports nothing of the rest, and the leaves import only
//! what is listed here. Read from the source, so a new back-arrow fails here, not in review.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Leaves used along the flow, and the only modules each may import.
const LEAVES: &[(&str, &[&str])] = &[
    ("platform", &[]),
    ("stats", &[]),
    ("operators", &[]),
    ("sizing", &["stats"]),
    ("output", &["runner"]),
];

/// The flow as `src/lib.rs` writes it: the doc lines of `a` -> `b` -> ... arrows, in order.
fn written_flow() -> Vec<String> {
    let lib = std::fs::read_to_string(Path::new(SRC).join("lib.rs")).unwrap();
    let arrows: String = lib
        .lines()
        .filter(|l| l.starts_with("//!") && l.contains("->"))
        .map(|l| l.trim_start_matches("//!").trim().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    arrows
        .split("->")
        .map(|m| m.trim().trim_matches('`').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::<module>` a module's code (not its comments) names.
fn imports(module: &str) -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    let dir = Path::new(SRC).join(module);
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    }
    let file = Path::new(SRC).join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    assert!(!files.is_empty(), "no source for module `{module}`");
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let dep: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !dep.is_empty() && dep != module {
                    let shown = f.strip_prefix(SRC).unwrap().display().to_string();
                    out.insert((dep, shown));
                }
            }
        }
    }
    out
}

#[test]
fn the_flow_in_lib_rs_names_every_module_once() {
    let flow = written_flow();
    assert!(
        flow.len() >= 10,
        "the flow in lib.rs was not found: {flow:?}"
    );
    let unique: BTreeSet<&String> = flow.iter().collect();
    assert_eq!(unique.len(), flow.len(), "{flow:?}");
    for m in &flow {
        assert!(
            !imports(m).is_empty() || m == "publish",
            "`{m}` imports nothing?"
        );
    }
}

#[test]
fn no_module_imports_one_after_it_in_the_flow() {
    let flow = written_flow();
    let leaves: Vec<&str> = LEAVES.iter().map(|(m, _)| *m).collect();
    let mut bad = Vec::new();
    for (i, m) in flow.iter().enumerate() {
        for (dep, file) in imports(m) {
            if leaves.contains(&dep.as_str()) && m != "publish" {
                continue;
            }
            let later = flow.iter().position(|f| *f == dep).is_some_and(|j| j > i);
            if later || (m == "publish" && dep != "publish") {
                bad.push(format!("{file} uses crate::{dep}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "back-arrows against lib.rs's flow:\n{}",
        bad.join("\n")
    );
}

#[test]
fn leaves_import_only_what_they_are_allowed() {
    let mut bad = Vec::new();
    for (leaf, allowed) in LEAVES {
        for (dep, file) in imports(leaf) {
            if !allowed.contains(&dep.as_str()) {
                bad.push(format!("{file} uses crate::{dep}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "leaves importing the flow:\n{}",
        bad.join("\n")
    );
}
