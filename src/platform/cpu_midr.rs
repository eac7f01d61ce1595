//! Decoding aarch64 MIDR fields (`CPU implementer`, `CPU part` in `/proc/cpuinfo`) into names.
//!
//! Why: aarch64 Linux prints no `model name`, yet baselines are keyed by CPU model, so the core
//! type has to come from the MIDR. Sources: Linux `arch/arm64/include/asm/cputype.h` for ARM,
//! Ampere, Qualcomm and Apple M1/M2; Asahi Linux's m1n1 bootloader for Apple M3/M4. Values not
//! listed there are not guessed: the caller prints `"<vendor> part 0x..."` instead.
//!
//! Caveat recorded from public `/proc/cpuinfo` dumps: Linux VMs on Apple silicon (Docker Desktop,
//! Lima, UTM) see implementer 0x61 with part 0x000, so M1..M4 look alike inside Docker.

/// Vendor name for an MIDR implementer code.
pub fn implementer_name(implementer: u32) -> Option<&'static str> {
    Some(match implementer {
        0x41 => "ARM",
        0x42 => "Broadcom",
        0x43 => "Cavium",
        0x46 => "Fujitsu",
        0x48 => "HiSilicon",
        0x4e => "NVIDIA",
        0x50 => "APM",
        0x51 => "Qualcomm",
        0x61 => "Apple",
        0x6d => "Microsoft",
        0xc0 => "Ampere",
        _ => return None,
    })
}

/// Core name for an (implementer, part) pair.
pub fn part_name(implementer: u32, part: u32) -> Option<&'static str> {
    Some(match (implementer, part) {
        (0x41, 0xd03) => "Cortex-A53",
        (0x41, 0xd04) => "Cortex-A35",
        (0x41, 0xd05) => "Cortex-A55",
        (0x41, 0xd07) => "Cortex-A57",
        (0x41, 0xd08) => "Cortex-A72",
        (0x41, 0xd09) => "Cortex-A73",
        (0x41, 0xd0a) => "Cortex-A75",
        (0x41, 0xd0b) => "Cortex-A76",
        (0x41, 0xd0c) => "Neoverse-N1",
        (0x41, 0xd0d) => "Cortex-A77",
        (0x41, 0xd40) => "Neoverse-V1",
        (0x41, 0xd41) => "Cortex-A78",
        (0x41, 0xd44) => "Cortex-X1",
        (0x41, 0xd46) => "Cortex-A510",
        (0x41, 0xd47) => "Cortex-A710",
        (0x41, 0xd48) => "Cortex-X2",
        (0x41, 0xd49) => "Neoverse-N2",
        (0x41, 0xd4e) => "Cortex-X3",
        (0x41, 0xd4f) => "Neoverse-V2",
        (0x41, 0xd80) => "Cortex-A520",
        (0x41, 0xd81) => "Cortex-A720",
        (0x41, 0xd82) => "Cortex-X4",
        (0x41, 0xd84) => "Neoverse-V3",
        (0x41, 0xd8e) => "Neoverse-N3",
        (0x43, 0x0af) => "ThunderX2",
        (0x46, 0x001) => "A64FX",
        (0x48, 0xd01) => "TaiShan v110 (Kunpeng 920)",
        (0x4e, 0x004) => "Carmel",
        (0x51, 0x001) => "Oryon X1",
        (0x51, 0xc00) => "Falkor",
        (0x61, 0x022) => "M1 Icestorm",
        (0x61, 0x023) => "M1 Firestorm",
        (0x61, 0x024) => "M1 Pro Icestorm",
        (0x61, 0x025) => "M1 Pro Firestorm",
        (0x61, 0x028) => "M1 Max Icestorm",
        (0x61, 0x029) => "M1 Max Firestorm",
        (0x61, 0x032) => "M2 Blizzard",
        (0x61, 0x033) => "M2 Avalanche",
        (0x61, 0x034) => "M2 Pro Blizzard",
        (0x61, 0x035) => "M2 Pro Avalanche",
        (0x61, 0x038) => "M2 Max Blizzard",
        (0x61, 0x039) => "M2 Max Avalanche",
        (0x61, 0x042) => "M3 Sawtooth",
        (0x61, 0x043) => "M3 Everest",
        (0x61, 0x044) => "M3 Pro Sawtooth",
        (0x61, 0x045) => "M3 Pro Everest",
        (0x61, 0x048) => "M3 Max Sawtooth",
        (0x61, 0x049) => "M3 Max Everest",
        (0x61, 0x052) => "M4 E-core (Donan)",
        (0x61, 0x053) => "M4 P-core (Donan)",
        (0xc0, 0xac3) => "AmpereOne",
        (0xc0, 0xac4) => "AmpereOne A",
        _ => return None,
    })
}

/// A stable, specific model string for one MIDR pair; never just "unknown".
pub fn midr_model(implementer: u32, part: u32) -> String {
    match (implementer_name(implementer), part_name(implementer, part)) {
        (Some(v), Some(p)) => format!("{v} {p}"),
        (Some(v), None) => format!("{v} part 0x{part:03x}"),
        _ => format!("aarch64 implementer 0x{implementer:02x} part 0x{part:03x}"),
    }
}
