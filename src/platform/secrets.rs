//! Secrets in text bench-gate relays from a child process (a worker's stderr quoted in an
//! error, a line it printed that is not a protocol message). A worker command runs with
//! bench-gate's environment, so `echo $GITHUB_TOKEN` in it would otherwise reach the CI log and
//! the verdict file. Values of secret-looking variables are replaced by `***`, as GitHub
//! Actions masks registered secrets in its logs.

/// Variables that always hold a credential on a GitHub Actions runner.
const KNOWN: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
];

/// Name endings of variables that usually hold a credential.
const SUFFIXES: &[&str] = &["_TOKEN", "_SECRET", "_PASSWORD", "_KEY"];

/// A value shorter than this is not masked unless its variable is in [`KNOWN`]: masking every
/// `4` or `true` a `*_KEY` holds would garble ordinary text and hide nothing.
const MIN_LEN: usize = 8;
/// Even a known variable's value is not masked below this length (an empty or placeholder
/// value would turn every occurrence of a common letter into `***`).
const MIN_LEN_KNOWN: usize = 4;

/// `text` with the values of this process's secret-looking environment variables masked.
pub fn redact(text: &str) -> String {
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    redact_with(text, &secret_values(&env))
}

/// The values of the secret-looking variables among `env`, longest first (so a secret that
/// contains another is masked whole).
pub fn secret_values(env: &[(String, String)]) -> Vec<String> {
    let mut values: Vec<String> = env
        .iter()
        .filter(|(k, v)| is_secret(k, v))
        .map(|(_, v)| v.clone())
        .collect();
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup();
    values
}

/// `text` with every occurrence of each of `secrets` replaced by `***`.
pub fn redact_with(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

fn is_secret(name: &str, value: &str) -> bool {
    let name = name.to_ascii_uppercase();
    let len = value.trim().chars().count();
    if KNOWN.contains(&name.as_str()) {
        return len >= MIN_LEN_KNOWN;
    }
    len >= MIN_LEN && SUFFIXES.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn token_secret_password_and_key_values_are_masked_wherever_they_appear() {
        let s = secret_values(&env(&[
            ("GITHUB_TOKEN", "ghs_abcdefgh1234"),
            ("DEPLOY_SECRET", "s3cr3t-value"),
            ("DB_PASSWORD", "hunter2hunter2"),
            ("AWS_ACCESS_KEY", "AKIAEXAMPLE42"),
            ("HOME", "/home/runner"),
        ]));
        let text = "token ghs_abcdefgh1234, s3cr3t-value and hunter2hunter2; AKIAEXAMPLE42 in /home/runner";
        let out = redact_with(text, &s);
        assert_eq!(out, "token ***, *** and ***; *** in /home/runner");
    }

    #[test]
    fn short_values_of_generic_names_are_left_alone_but_known_tokens_are_not() {
        let s = secret_values(&env(&[
            ("SORT_KEY", "name"),
            ("CACHE_KEY", ""),
            ("GH_TOKEN", "abcd1"),
        ]));
        assert_eq!(s, ["abcd1"]);
        assert_eq!(
            redact_with("sort by name, token abcd1", &s),
            "sort by name, token ***"
        );
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let s = secret_values(&env(&[
            ("A_TOKEN", "abcdefgh"),
            ("B_TOKEN", "abcdefgh-and-more"),
        ]));
        assert_eq!(redact_with("x abcdefgh-and-more y", &s), "x *** y");
    }

    #[test]
    fn lower_case_names_count_too() {
        let s = secret_values(&env(&[("my_api_key", "0123456789")]));
        assert_eq!(redact_with("key=0123456789", &s), "key=***");
    }
}
