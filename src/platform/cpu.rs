//! Which CPU the benchmark ran on: the key under which baselines are stored and compared.
//!
//! Why it matters: the same model runs different kernels on different instruction sets (AVX-512,
//! AMX, NEON dot-product, I8MM), so a baseline from one CPU model says nothing about another.
//! Sources: Linux `/proc/cpuinfo` (x86 `model name`/`flags`; aarch64 MIDR + `Features`),
//! macOS `sysctl`. Parsers are pure and tested on every OS; only `detect` does I/O.

use super::cpu_midr::{implementer_name, midr_model};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where [`CpuInfo::model`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// `model name` in `/proc/cpuinfo`.
    Cpuinfo,
    /// Decoded from the aarch64 MIDR (`CPU implementer` / `CPU part`).
    Midr,
    /// macOS `sysctl machdep.cpu.brand_string`.
    Sysctl,
    /// An explicit label from the benchmark configuration.
    Config,
    /// Nothing readable; the model is `"unidentified <arch> CPU"`.
    Fallback,
}

/// Identity and inference-relevant capabilities of the CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CpuInfo {
    /// `std::env::consts::ARCH`: `x86_64`, `aarch64`.
    pub architecture: String,
    /// `Intel`, `AMD`, `ARM`, `Apple`, `Ampere`... (raw `vendor_id` when not recognised).
    pub vendor: Option<String>,
    /// Human-readable model, whitespace-collapsed: `Intel(R) Xeon(R) Platinum 8480+`,
    /// `ARM Neoverse-N1`, `Apple M4`. Never empty and never just "unknown".
    pub model: String,
    /// Where `model` came from.
    pub model_source: ModelSource,
    /// Raw identification numbers, useful when `model` is generic (VMs often print
    /// `Intel(R) Xeon(R) Processor`): `family 6 model 207 stepping 2` on x86,
    /// `implementer 0x41 part 0xd0c variant 0x3 revision 1` on aarch64.
    pub signature: Option<String>,
    /// Inference-relevant ISA features, normalised and in a fixed order (see [`FEATURE_ORDER`]).
    pub features: Vec<String>,
    /// Logical CPUs the OS reports (processors in `/proc/cpuinfo`, `hw.logicalcpu`).
    pub logical_cpus: usize,
    /// Physical cores (SMT siblings counted once), when known.
    pub physical_cores: Option<usize>,
}

/// Normalised feature names in output order.
pub const FEATURE_ORDER: &[&str] = &[
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "avx_vnni",
    "neon",
    "dotprod",
    "fp16",
    "i8mm",
    "bf16",
    "sve",
    "sve2",
    "sme",
];

/// Linux aarch64 `Features` names -> normalised names (x86 `flags` already use ours).
const ARM_LINUX_FEATURES: &[(&str, &str)] = &[
    ("asimd", "neon"),
    ("asimddp", "dotprod"),
    ("asimdhp", "fp16"),
    ("i8mm", "i8mm"),
    ("bf16", "bf16"),
    ("sve", "sve"),
    ("sve2", "sve2"),
    ("sme", "sme"),
];

/// macOS `sysctl hw.optional` keys (value 1 = present) -> normalised names.
const MACOS_FEATURES: &[(&str, &str)] = &[
    ("hw.optional.neon", "neon"),
    ("hw.optional.AdvSIMD", "neon"),
    ("hw.optional.arm.FEAT_DotProd", "dotprod"),
    ("hw.optional.arm.FEAT_FP16", "fp16"),
    ("hw.optional.neon_fp16", "fp16"),
    ("hw.optional.arm.FEAT_I8MM", "i8mm"),
    ("hw.optional.arm.FEAT_BF16", "bf16"),
    ("hw.optional.arm.FEAT_SME", "sme"),
    ("hw.optional.sse4_2", "sse4_2"),
    ("hw.optional.avx1_0", "avx"),
    ("hw.optional.avx2_0", "avx2"),
    ("hw.optional.fma", "fma"),
    ("hw.optional.avx512f", "avx512f"),
    ("hw.optional.avx512bw", "avx512bw"),
    ("hw.optional.avx512vl", "avx512vl"),
];

fn ordered(found: &BTreeSet<&str>) -> Vec<String> {
    FEATURE_ORDER
        .iter()
        .filter(|f| found.contains(*f))
        .map(|f| f.to_string())
        .collect()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn x86_vendor(raw: &str) -> String {
    match raw {
        "GenuineIntel" => "Intel".into(),
        "AuthenticAMD" => "AMD".into(),
        "HygonGenuine" => "Hygon".into(),
        other => other.into(),
    }
}

fn hex(v: &str) -> Option<u32> {
    let v = v.trim();
    u32::from_str_radix(v.strip_prefix("0x").unwrap_or(v), 16).ok()
}

/// `/proc/cpuinfo` as blocks of `key: value` pairs, one block per processor.
fn blocks(text: &str) -> Vec<Vec<(&str, &str)>> {
    text.split("\n\n")
        .map(|b| {
            b.lines()
                .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim(), v.trim())))
                .collect::<Vec<_>>()
        })
        .filter(|b| !b.is_empty())
        .collect()
}

fn get<'a>(block: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    block.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Parses Linux `/proc/cpuinfo` for the given architecture (`std::env::consts::ARCH`).
pub fn parse_proc_cpuinfo(text: &str, arch: &str) -> CpuInfo {
    let blocks = blocks(text);
    let procs: Vec<&Vec<(&str, &str)>> = blocks
        .iter()
        .filter(|b| get(b, "processor").is_some())
        .collect();
    let first: &[(&str, &str)] = procs.first().map(|b| b.as_slice()).unwrap_or(&[]);
    // Old aarch64 kernels put `Features` and MIDR lines in a trailing block without `processor`.
    let any = |key: &str| blocks.iter().find_map(|b| get(b, key));
    let mut info = CpuInfo {
        architecture: arch.to_string(),
        vendor: None,
        model: format!("unidentified {arch} CPU"),
        model_source: ModelSource::Fallback,
        signature: None,
        features: Vec::new(),
        logical_cpus: procs.len(),
        physical_cores: None,
    };
    if matches!(arch, "x86_64" | "x86") {
        info.vendor = get(first, "vendor_id").map(x86_vendor);
        let (fam, model, step) = (
            get(first, "cpu family"),
            get(first, "model"),
            get(first, "stepping"),
        );
        if let (Some(f), Some(m)) = (fam, model) {
            info.signature = Some(format!(
                "family {f} model {m} stepping {}",
                step.unwrap_or("?")
            ));
        }
        if let Some(name) = get(first, "model name")
            .map(collapse)
            .filter(|n| !n.is_empty())
        {
            info.model = name;
            info.model_source = ModelSource::Cpuinfo;
        } else if let Some(sig) = &info.signature {
            info.model = format!("{arch} {sig}");
            info.model_source = ModelSource::Cpuinfo;
        }
        let flags: BTreeSet<&str> = get(first, "flags")
            .unwrap_or("")
            .split_whitespace()
            .collect();
        info.features = ordered(&flags);
        let cores: BTreeSet<(&str, &str)> = procs
            .iter()
            .filter_map(|b| Some((get(b, "physical id")?, get(b, "core id")?)))
            .collect();
        info.physical_cores = (!cores.is_empty()).then_some(cores.len());
        return info;
    }
    // aarch64 and others: decode MIDR of every processor (big.LITTLE lists several parts).
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for b in &blocks {
        if let (Some(i), Some(p)) = (
            get(b, "CPU implementer").and_then(hex),
            get(b, "CPU part").and_then(hex),
        ) && !pairs.contains(&(i, p))
        {
            pairs.push((i, p));
        }
    }
    if let Some(&(imp, part)) = pairs.first() {
        info.vendor = Some(
            implementer_name(imp)
                .map_or_else(|| format!("implementer 0x{imp:02x}"), str::to_string),
        );
        info.model = pairs
            .iter()
            .map(|&(i, p)| midr_model(i, p))
            .collect::<Vec<_>>()
            .join(" + ");
        info.model_source = ModelSource::Midr;
        let var = any("CPU variant").unwrap_or("?");
        let rev = any("CPU revision").unwrap_or("?");
        info.signature = Some(format!(
            "implementer 0x{imp:02x} part 0x{part:03x} variant {var} revision {rev}"
        ));
    } else if let Some(name) = get(first, "model name")
        .or_else(|| any("Processor"))
        .map(collapse)
    {
        info.model = name;
        info.model_source = ModelSource::Cpuinfo;
    }
    let feats: BTreeSet<&str> = any("Features").unwrap_or("").split_whitespace().collect();
    let mapped: BTreeSet<&str> = ARM_LINUX_FEATURES
        .iter()
        .filter(|(l, _)| feats.contains(l))
        .map(|(_, n)| *n)
        .collect();
    info.features = ordered(&mapped);
    info
}

/// Parses macOS `sysctl` output lines `key: value`: the output of
/// `sysctl machdep.cpu.brand_string hw.logicalcpu hw.physicalcpu` followed by `sysctl hw.optional`.
pub fn parse_sysctl(text: &str, arch: &str) -> CpuInfo {
    let kv: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim(), v.trim())))
        .collect();
    let val = |key: &str| kv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let brand = val("machdep.cpu.brand_string")
        .map(collapse)
        .filter(|b| !b.is_empty());
    let vendor = brand.as_deref().and_then(|b| {
        ["Apple", "Intel", "AMD"]
            .into_iter()
            .find(|v| b.starts_with(v) || b.contains(&format!("{v}(")))
            .map(str::to_string)
    });
    let found: BTreeSet<&str> = MACOS_FEATURES
        .iter()
        .filter(|(k, _)| val(k) == Some("1"))
        .map(|(_, n)| *n)
        .collect();
    CpuInfo {
        architecture: arch.to_string(),
        vendor,
        model_source: if brand.is_some() {
            ModelSource::Sysctl
        } else {
            ModelSource::Fallback
        },
        model: brand.unwrap_or_else(|| format!("unidentified {arch} CPU")),
        signature: None,
        features: ordered(&found),
        logical_cpus: val("hw.logicalcpu")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        physical_cores: val("hw.physicalcpu").and_then(|v| v.parse().ok()),
    }
}

/// Physical cores from the contents of every online CPU's
/// `/sys/devices/system/cpu/cpuN/topology/thread_siblings_list`: one distinct list per core.
pub fn count_physical_cores(sibling_lists: &[String]) -> Option<usize> {
    let distinct: BTreeSet<&str> = sibling_lists
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    (!distinct.is_empty()).then_some(distinct.len())
}

impl CpuInfo {
    /// Detects the CPU of this machine; `label_override` (from the benchmark config) replaces the
    /// model, e.g. `"Apple M4"` inside Docker on a Mac where the VM hides the chip.
    pub fn detect(label_override: Option<&str>) -> CpuInfo {
        let arch = std::env::consts::ARCH;
        let mut info = Self::detect_os(arch);
        if info.logical_cpus == 0 {
            info.logical_cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        }
        if let Some(label) = label_override.map(str::trim).filter(|l| !l.is_empty()) {
            info.model = label.to_string();
            info.model_source = ModelSource::Config;
        }
        info
    }

    #[cfg(target_os = "macos")]
    fn detect_os(arch: &str) -> CpuInfo {
        let run = |args: &[&str]| {
            std::process::Command::new("sysctl")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let text = run(&[
            "machdep.cpu.brand_string",
            "hw.logicalcpu",
            "hw.physicalcpu",
        ]) + &run(&["hw.optional"]);
        parse_sysctl(&text, arch)
    }

    #[cfg(not(target_os = "macos"))]
    fn detect_os(arch: &str) -> CpuInfo {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let mut info = parse_proc_cpuinfo(&text, arch);
        if info.physical_cores.is_none() {
            let lists: Vec<String> = (0..info.logical_cpus)
                .filter_map(|n| {
                    std::fs::read_to_string(format!(
                        "/sys/devices/system/cpu/cpu{n}/topology/thread_siblings_list"
                    ))
                    .ok()
                })
                .collect();
            info.physical_cores = count_physical_cores(&lists);
        }
        info
    }

    /// A warning when `model` cannot tell machines apart (a hypervisor hides the chip: no digit in
    /// the name, `QEMU`/`KVM` names, Apple VMs' part 0x000, an undecoded MIDR), so that
    /// baselines of different hardware would share one key. `None` for configured labels.
    pub fn generic_model_hint(&self) -> Option<String> {
        if self.model_source == ModelSource::Config {
            return None;
        }
        let m = &self.model;
        let generic = !m.chars().any(|c| c.is_ascii_digit())
            || [
                "QEMU",
                "KVM",
                "Virtual CPU",
                "unidentified",
                "Apple part 0x000",
                "aarch64 implementer",
            ]
            .iter()
            .any(|g| m.contains(g));
        generic.then(|| {
            format!(
                "CPU model {m:?} does not identify the hardware (a hypervisor or container hides it{}); \
                 set an explicit CPU label in benchmark.toml so baselines of different machines are not mixed",
                self.signature.as_deref().map(|s| format!("; signature: {s}")).unwrap_or_default()
            )
        })
    }
}

#[cfg(test)]
#[path = "cpu_tests.rs"]
mod tests;
