use super::*;

/// Recorded on the development VM (Debian 12, 2 vCPU, kernel 6.18): `/proc/cpuinfo`, first
/// block verbatim, second block trimmed to the topology lines.
const THIS_VM: &str = concat!(
    "processor\t: 0\n",
    "vendor_id\t: GenuineIntel\n",
    "cpu family\t: 6\n",
    "model\t\t: 207\n",
    "model name\t: Intel(R) Xeon(R) Processor\n",
    "stepping\t: 2\n",
    "microcode\t: 0x1\n",
    "cpu MHz\t\t: 2299.998\n",
    "cache size\t: 266240 KB\n",
    "physical id\t: 0\n",
    "siblings\t: 2\n",
    "core id\t\t: 0\n",
    "cpu cores\t: 2\n",
    "apicid\t\t: 0\n",
    "initial apicid\t: 0\n",
    "fpu\t\t: yes\n",
    "fpu_exception\t: yes\n",
    "cpuid level\t: 28\n",
    "wp\t\t: yes\n",
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 arat avx512vbmi umip avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid cldemote movdiri movdir64b fsrm serialize tsxldtrk avx512_fp16 arch_capabilities\n",
    "bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs retbleed bhi spectre_v2_user its\n",
    "bogomips\t: 4599.99\n",
    "clflush size\t: 64\n",
    "cache_alignment\t: 64\n",
    "address sizes\t: 48 bits physical, 57 bits virtual\n",
    "power management:\n",
    "\n",
    "processor\t: 1\nvendor_id\t: GenuineIntel\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\n",
);

/// AWS Graviton2 (m6g), Neoverse-N1, typed from its well-known `/proc/cpuinfo` format.
const GRAVITON2: &str = "processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1

processor\t: 1
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1
";

/// Docker Desktop on Apple silicon (as published in many dumps): the VM sees part 0x000.
const APPLE_DOCKER: &str = "processor\t: 0
BogoMIPS\t: 48.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 asimddp sha512 asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp flagm2 frint bf16
CPU implementer\t: 0x61
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0x000
CPU revision\t: 0
";

/// Asahi Linux on an M1 (big.LITTLE: Icestorm and Firestorm parts).
const APPLE_M1_NATIVE: &str = "processor\t: 0
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 asimddp sha512 asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp flagm2 frint
CPU implementer\t: 0x61
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0x022
CPU revision\t: 1

processor\t: 4
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 asimddp sha512 asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp flagm2 frint
CPU implementer\t: 0x61
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0x023
CPU revision\t: 1
";

/// Sapphire Rapids Xeon Platinum 8480+ (AMX), one core with two hyperthreads (flags trimmed).
const XEON_8480: &str = "processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
stepping\t: 8
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vnni avx512_fp16 amx_bf16 amx_tile amx_int8

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
stepping\t: 8
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vnni avx512_fp16 amx_bf16 amx_tile amx_int8
";

/// AMD EPYC 7R13 (Milan, AWS c6a): AVX2 and FMA, no AVX-512 (flags trimmed).
const EPYC_MILAN: &str = "processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7R13 Processor
stepping\t: 1
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand avx2 bmi2 sha_ni
";

fn features(c: &CpuInfo) -> Vec<&str> {
    c.features.iter().map(String::as_str).collect()
}

#[test]
fn this_vm() {
    let c = parse_proc_cpuinfo(THIS_VM, "x86_64");
    assert_eq!(c.vendor.as_deref(), Some("Intel"));
    assert_eq!(c.model, "Intel(R) Xeon(R) Processor");
    assert_eq!(c.model_source, ModelSource::Cpuinfo);
    assert_eq!(
        c.signature.as_deref(),
        Some("family 6 model 207 stepping 2")
    );
    assert_eq!(c.logical_cpus, 2);
    assert_eq!(c.physical_cores, Some(2));
    assert_eq!(
        features(&c),
        [
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
            "avx_vnni"
        ]
    );
    // The hypervisor hides the SKU: the hint must say so.
    let hint = c.generic_model_hint().expect("generic model");
    assert!(hint.contains("family 6 model 207"), "{hint}");
}

#[test]
fn graviton2_neoverse_n1() {
    let c = parse_proc_cpuinfo(GRAVITON2, "aarch64");
    assert_eq!(c.vendor.as_deref(), Some("ARM"));
    assert_eq!(c.model, "ARM Neoverse-N1");
    assert_eq!(c.model_source, ModelSource::Midr);
    assert_eq!(
        c.signature.as_deref(),
        Some("implementer 0x41 part 0xd0c variant 0x3 revision 1")
    );
    assert_eq!(features(&c), ["neon", "dotprod", "fp16"]);
    assert_eq!(c.logical_cpus, 2);
    assert_eq!(c.physical_cores, None);
    assert_eq!(c.generic_model_hint(), None);
}

#[test]
fn apple_docker_container() {
    let c = parse_proc_cpuinfo(APPLE_DOCKER, "aarch64");
    assert_eq!(c.vendor.as_deref(), Some("Apple"));
    assert_eq!(c.model, "Apple part 0x000");
    assert_eq!(features(&c), ["neon", "dotprod", "fp16", "bf16"]);
    assert!(
        c.generic_model_hint().is_some(),
        "M1..M4 look alike in Docker: must ask for a label"
    );
}

#[test]
fn apple_native_big_little() {
    let c = parse_proc_cpuinfo(APPLE_M1_NATIVE, "aarch64");
    assert_eq!(c.model, "Apple M1 Icestorm + Apple M1 Firestorm");
    assert_eq!(c.generic_model_hint(), None);
}

#[test]
fn unknown_midr_is_still_specific() {
    let text = "processor\t: 0\nCPU implementer\t: 0x99\nCPU part\t: 0x048\n";
    let c = parse_proc_cpuinfo(text, "aarch64");
    assert_eq!(c.model, "aarch64 implementer 0x99 part 0x048");
    assert_eq!(c.vendor.as_deref(), Some("implementer 0x99"));
    let apple_new = parse_proc_cpuinfo(
        "processor\t: 0\nCPU implementer\t: 0x61\nCPU part\t: 0x0aa\n",
        "aarch64",
    );
    assert_eq!(apple_new.model, "Apple part 0x0aa");
}

#[test]
fn xeon_8480_amx() {
    let c = parse_proc_cpuinfo(XEON_8480, "x86_64");
    assert_eq!(c.model, "Intel(R) Xeon(R) Platinum 8480+");
    assert_eq!(c.physical_cores, Some(1), "two hyperthreads of one core");
    assert_eq!(c.logical_cpus, 2);
    for f in [
        "amx_tile",
        "amx_int8",
        "amx_bf16",
        "avx512_fp16",
        "avx512_vnni",
        "avx_vnni",
    ] {
        assert!(c.features.iter().any(|x| x == f), "missing {f}");
    }
    assert_eq!(c.generic_model_hint(), None);
}

#[test]
fn epyc_milan() {
    let c = parse_proc_cpuinfo(EPYC_MILAN, "x86_64");
    assert_eq!(c.vendor.as_deref(), Some("AMD"));
    assert_eq!(c.model, "AMD EPYC 7R13 Processor");
    assert_eq!(features(&c), ["sse4_2", "avx", "avx2", "fma", "f16c"]);
    assert_eq!(c.signature.as_deref(), Some("family 25 model 1 stepping 1"));
}

#[test]
fn empty_cpuinfo_falls_back() {
    let c = parse_proc_cpuinfo("", "riscv64");
    assert_eq!(c.model, "unidentified riscv64 CPU");
    assert_eq!(c.model_source, ModelSource::Fallback);
    assert!(c.generic_model_hint().is_some());
}

#[test]
fn macos_sysctl_m4() {
    let text = "machdep.cpu.brand_string: Apple M4\nhw.logicalcpu: 10\nhw.physicalcpu: 10\n\
hw.optional.arm.FEAT_DotProd: 1\nhw.optional.arm.FEAT_I8MM: 1\nhw.optional.arm.FEAT_BF16: 1\n\
hw.optional.arm.FEAT_FP16: 1\nhw.optional.arm.FEAT_SME: 1\nhw.optional.AdvSIMD: 1\nhw.optional.arm.FEAT_SVE: 0\n";
    let c = parse_sysctl(text, "aarch64");
    assert_eq!(c.model, "Apple M4");
    assert_eq!(c.vendor.as_deref(), Some("Apple"));
    assert_eq!(c.model_source, ModelSource::Sysctl);
    assert_eq!(
        features(&c),
        ["neon", "dotprod", "fp16", "i8mm", "bf16", "sme"]
    );
    assert_eq!((c.logical_cpus, c.physical_cores), (10, Some(10)));
}

#[test]
fn physical_cores_from_sibling_lists() {
    let smt: Vec<String> = ["0,2", "1,3", "0,2", "1,3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(count_physical_cores(&smt), Some(2));
    assert_eq!(count_physical_cores(&[]), None);
}

#[test]
fn detect_with_label_and_serde_names() {
    let c = CpuInfo::detect(Some("  Apple M4 "));
    assert_eq!(c.model, "Apple M4");
    assert_eq!(c.model_source, ModelSource::Config);
    assert!(c.logical_cpus >= 1);
    let json = serde_json::to_value(&c).expect("serialize");
    assert_eq!(json["model_source"], "config");
    assert!(json.get("physical_cores").is_some() && json.get("architecture").is_some());
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn detect_on_this_linux_x86() {
    let c = CpuInfo::detect(None);
    assert_eq!(c.architecture, "x86_64");
    assert_eq!(c.model_source, ModelSource::Cpuinfo);
    assert!(c.features.iter().any(|f| f == "sse4_2"));
}
