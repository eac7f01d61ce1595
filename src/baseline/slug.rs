//! File-name keys for baselines. A CPU model string comes from the machine (or a user's
//! `cpu_label`) and is untrusted: the slug keeps only lowercase ASCII letters and digits, so it can
//! never name a parent folder, a hidden file or a path separator.

use sha2::{Digest, Sha256};

/// Longest slug, in bytes: comfortable in every file system and still readable in a diff.
pub const MAX_SLUG_LEN: usize = 64;
/// Hex digits of the hash suffix added when a slug is truncated or would be empty.
const HASH_LEN: usize = 8;

/// `"Intel(R) Xeon(R) Platinum 8480+"` -> `"intel-r-xeon-r-platinum-8480"`: runs of ASCII
/// letters and digits, lowercased, joined by '-'. Strings with no such run (e.g. only CJK
/// characters) become `cpu-<hash>`; slugs longer than [`MAX_SLUG_LEN`] are cut and get a hash of
/// the whole string, so two long CPU names that share a prefix still get different files.
pub fn cpu_slug(cpu_model: &str) -> String {
    let words: Vec<String> = cpu_model
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let joined = words.join("-");
    if joined.is_empty() {
        return format!("cpu-{}", short_hash(cpu_model));
    }
    if joined.len() <= MAX_SLUG_LEN {
        return joined;
    }
    let keep = MAX_SLUG_LEN - HASH_LEN - 1;
    // `joined` is ASCII, so any byte index is a char boundary.
    let head = joined[..keep].trim_end_matches('-');
    format!("{head}-{}", short_hash(cpu_model))
}

fn short_hash(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .take(HASH_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::validate::is_safe_component;
    use proptest::prelude::*;

    #[test]
    fn known_cpu_strings() {
        assert_eq!(
            cpu_slug("Intel(R) Xeon(R) Platinum 8480+"),
            "intel-r-xeon-r-platinum-8480"
        );
        assert_eq!(cpu_slug("Apple M4"), "apple-m4");
        assert_eq!(
            cpu_slug("  AMD EPYC 7763 64-Core Processor "),
            "amd-epyc-7763-64-core-processor"
        );
        assert_eq!(cpu_slug("../../etc/passwd"), "etc-passwd");
    }

    #[test]
    fn empty_and_non_ascii_strings_get_a_hash_not_nothing() {
        let a = cpu_slug("");
        let b = cpu_slug("处理器");
        assert!(a.starts_with("cpu-") && b.starts_with("cpu-"));
        assert_ne!(a, b);
    }

    #[test]
    fn long_names_are_cut_with_a_distinguishing_hash() {
        let a = cpu_slug(&format!("{} A", "Very Long Cpu Name ".repeat(10)));
        let b = cpu_slug(&format!("{} B", "Very Long Cpu Name ".repeat(10)));
        assert!(a.len() <= MAX_SLUG_LEN && b.len() <= MAX_SLUG_LEN);
        assert_ne!(a, b);
    }

    proptest! {
        #[test]
        fn a_slug_is_always_one_safe_path_component(s in any::<String>()) {
            let slug = cpu_slug(&s);
            prop_assert!(!slug.is_empty() && slug.len() <= MAX_SLUG_LEN);
            prop_assert!(slug != "." && slug != "..");
            prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-'));
            let p = std::path::Path::new("baselines").join(&slug);
            prop_assert_eq!(p.components().count(), 2);
            prop_assert!(is_safe_component(&slug));
        }

        #[test]
        fn the_slug_is_stable(s in "[ -~]{0,80}") {
            prop_assert_eq!(cpu_slug(&s), cpu_slug(&s));
        }
    }
}
