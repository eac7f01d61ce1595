//! What the API server would refuse, refused before rendering: the image reference (the
//! distribution reference grammar Docker and containerd parse), DNS-1123 names (namespace,
//! ServiceAccount, the derived Job name), label keys and values, toleration keys and the time
//! limits. `k8s render` would otherwise print a Job that `kubectl apply` rejects, and `k8s run`
//! would find out only from the cluster.

use super::K8sError;
use super::render::JobParams;

impl JobParams {
    /// Every problem of these parameters, or `Ok` when the Job they render is valid.
    pub fn check(&self) -> Result<(), K8sError> {
        let mut problems = Vec::new();
        let mut add = |what: &str, r: Result<(), String>| {
            if let Err(e) = r {
                problems.push(format!("{what}: {e}"));
            }
        };
        add(
            &format!("image {:?}", self.image),
            image_reference(&self.image),
        );
        add(
            &format!("namespace {:?}", self.namespace),
            dns1123_label(&self.namespace),
        );
        add(
            &format!("service account {:?}", self.service_account),
            dns1123_subdomain(&self.service_account),
        );
        add(
            &format!("Job name {:?}", self.job_name()),
            dns1123_label(&self.job_name()),
        );
        add(&format!("pool {:?}", self.pool), label_value(&self.pool));
        for (k, v) in &self.node_selector {
            add(&format!("node selector key {k:?}"), qualified_name(k));
            add(
                &format!("node selector value {v:?} (of {k})"),
                label_value(v),
            );
        }
        for (k, v) in &self.labels {
            add(&format!("label key {k:?}"), qualified_name(k));
            add(&format!("label value {v:?} (of {k})"), label_value(v));
        }
        for t in &self.tolerations {
            add(
                &format!("toleration key {:?}", t.key),
                qualified_name(&t.key),
            );
            if let Some(v) = &t.value {
                add(&format!("toleration value {v:?}"), label_value(v));
            }
        }
        if self.active_deadline_s < 1 {
            problems.push(format!(
                "deadline {} s: activeDeadlineSeconds must be at least 1",
                self.active_deadline_s
            ));
        }
        if self.ttl_after_finished_s < 0 {
            problems.push(format!(
                "ttl {} s: ttlSecondsAfterFinished must be 0 or more",
                self.ttl_after_finished_s
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(K8sError::InvalidJob { problems })
        }
    }
}

fn is_alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// RFC 1123 label: 1-63 of `[a-z0-9-]`, alphanumeric at both ends (namespaces, Job names).
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters".into());
    }
    let ok = s.chars().all(|c| is_alnum_lower(c) || c == '-')
        && s.starts_with(is_alnum_lower)
        && s.ends_with(is_alnum_lower);
    if ok {
        Ok(())
    } else {
        Err("must be lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. bench-gate)".into())
    }
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    let ok = s.split('.').all(|l| {
        !l.is_empty()
            && l.chars().all(|c| is_alnum_lower(c) || c == '-')
            && l.starts_with(is_alnum_lower)
            && l.ends_with(is_alnum_lower)
    });
    if ok {
        Ok(())
    } else {
        Err("must be lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit".into())
    }
}

/// A label value: empty, or up to 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let edge = |c: char| c.is_ascii_alphanumeric();
    let ok = s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(edge)
        && s.ends_with(edge);
    if ok {
        Ok(())
    } else {
        Err("must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit".into())
    }
}

/// A label or taint key: `[prefix/]name`, the prefix a DNS subdomain, the name a label value
/// that is not empty.
pub fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        dns1123_subdomain(p).map_err(|e| format!("its prefix {p:?} {e}"))?;
    }
    if name.is_empty() {
        return Err("the name after the prefix is empty".into());
    }
    label_value(name)
}

/// The distribution reference grammar (`[host[:port]/]path[:tag][@algorithm:hex]`), as Docker,
/// containerd and the kubelet parse image names.
pub fn image_reference(s: &str) -> Result<(), String> {
    const HELP: &str =
        "expected e.g. ghcr.io/acme/bench-gate:1.2 or registry:5000/team/image@sha256:<64 hex>";
    if s.trim().is_empty() {
        return Err(format!("an image is required\n  fix: pass --image, {HELP}"));
    }
    let fail = |why: &str| Err(format!("{why}\n  fix: pass --image, {HELP}"));
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some((alg, hex)) = d.split_once(':') else {
            return fail("the digest must be ALGORITHM:HEX");
        };
        let alg_ok = !alg.is_empty()
            && alg.split(['+', '.', '_', '-']).all(|c| {
                c.starts_with(|x: char| x.is_ascii_alphabetic())
                    && c.chars().all(|x| x.is_ascii_alphanumeric())
            });
        if !alg_ok || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return fail("the digest must be ALGORITHM:HEX with at least 32 hex digits");
        }
    }
    // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.starts_with(word)
            && t.chars().all(|c| word(c) || matches!(c, '.' | '-'));
        if !ok {
            return fail(
                "the tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
            );
        }
    }
    if name.is_empty() || name.len() > 255 {
        return fail("the repository name must be 1 to 255 characters");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    if parts.len() > 1 && (first.contains(['.', ':']) || first == "localhost") {
        let (host, port) = match first.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (first, None),
        };
        let host_ok = host.split('.').all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && l.starts_with(|c: char| c.is_ascii_alphanumeric())
                && l.ends_with(|c: char| c.is_ascii_alphanumeric())
        });
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !host_ok || !port_ok {
            return fail(&format!(
                "the registry {first:?} is not a host name with an optional port"
            ));
        }
        parts.remove(0);
    }
    for p in parts {
        if !path_component(p) {
            return fail(&format!(
                "the path component {p:?} must be lowercase letters and digits, joined by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn path_component(p: &str) -> bool {
    let b = p.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_follow_the_distribution_grammar() {
        for good in [
            "ghcr.io/example/bench-gate:0.1.0",
            "bench-gate",
            "library/debian:bookworm-slim",
            "localhost:5000/team/img",
            "registry.example.com:443/a/b__c/d-e:v1.2_3",
            "ghcr.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "ghcr.io/a/b:1@sha256:0123456789abcdef0123456789abcdef",
        ] {
            assert!(
                image_reference(good).is_ok(),
                "{good}: {:?}",
                image_reference(good)
            );
        }
        for bad in [
            "",
            "  ",
            "Not A Valid Image!!",
            "ghcr.io/Example/bench-gate",
            "ghcr.io/a/b:",
            "ghcr.io/a/b:-x",
            "ghcr.io/a/b@sha256:abc",
            "a//b",
            "-a/b",
            "ghcr.io:port/a",
        ] {
            assert!(image_reference(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_labels_and_keys() {
        assert!(dns1123_label("bench-gate").is_ok());
        for bad in ["Bad_NS!", "", "-a", "a-", "UPPER", &"a".repeat(64)] {
            assert!(dns1123_label(bad).is_err(), "{bad}");
        }
        assert!(dns1123_subdomain("bench-gate.runner").is_ok());
        assert!(dns1123_subdomain("a..b").is_err());
        assert!(label_value("").is_ok() && label_value("Xeon_8480.v2").is_ok());
        assert!(label_value("Xeon 8480").is_err() && label_value("a_").is_err());
        assert!(qualified_name("eks.amazonaws.com/nodegroup").is_ok());
        assert!(qualified_name("feature.node.kubernetes.io/cpu-model.id").is_ok());
        assert!(qualified_name("Bad Prefix/x").is_err() && qualified_name("a/").is_err());
    }

    #[test]
    fn job_parameters_are_checked_all_at_once() {
        let p = JobParams {
            image: "Not A Valid Image!!".into(),
            namespace: "Bad_NS!".into(),
            ..JobParams::default()
        };
        let e = p.check().unwrap_err().to_string();
        assert!(e.contains("image \"Not A Valid Image!!\""), "{e}");
        assert!(e.contains("namespace \"Bad_NS!\""), "{e}");
        assert!(JobParams::default().check().is_ok());
    }
}
