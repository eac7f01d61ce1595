//! Numbers as the comment shows them; `—` for a missing one.

/// Milliseconds with precision that suits the size: `512 ms`, `48.3 ms`, `2.41 ms`.
pub fn ms(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() && x >= 100.0 => format!("{x:.0} ms"),
        Some(x) if x.is_finite() && x >= 10.0 => format!("{x:.1} ms"),
        Some(x) if x.is_finite() => format!("{x:.2} ms"),
        _ => "—".to_owned(),
    }
}

/// A signed change: `+12.3%`, `-4.0%`.
pub fn pct(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x:+.1}%"),
        _ => "—".to_owned(),
    }
}
