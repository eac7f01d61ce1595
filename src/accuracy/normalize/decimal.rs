//! Whole numbers of any size as decimal digits, and decimal fractions scaled by powers of ten:
//! the arithmetic Whisper's number normaliser does with Python's unbounded `int` and
//! `Fraction` ("nine decillion" has 34 digits; "1.5 thousand" is 1500).

/// A non-negative integer of any size, as decimal digits without leading zeros ("0" for zero).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Int(pub(super) String);

impl Int {
    pub(super) fn small(n: u32) -> Int {
        Int(n.to_string())
    }

    /// 10^exponent.
    pub(super) fn pow10(exponent: usize) -> Int {
        Int(format!("1{}", "0".repeat(exponent)))
    }

    /// From ASCII digits, leading zeros dropped.
    pub(super) fn from_digits(digits: &str) -> Int {
        let trimmed = digits.trim_start_matches('0');
        Int(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
    }

    pub(super) fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    /// The remainder modulo 10^digits.
    pub(super) fn rem_pow10(&self, digits: usize) -> u32 {
        let tail = &self.0[self.0.len().saturating_sub(digits)..];
        tail.parse().unwrap_or(0)
    }

    pub(super) fn add(&self, other: &Int) -> Int {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let mut sum = Vec::with_capacity(a.len().max(b.len()) + 1);
        let (mut i, mut j, mut carry) = (a.len(), b.len(), 0u8);
        while i > 0 || j > 0 || carry > 0 {
            let mut d = carry;
            if i > 0 {
                i -= 1;
                d += a[i] - b'0';
            }
            if j > 0 {
                j -= 1;
                d += b[j] - b'0';
            }
            sum.push(b'0' + d % 10);
            carry = d / 10;
        }
        sum.reverse();
        Int::from_digits(&String::from_utf8_lossy(&sum))
    }

    /// Python's `value // 1000 * 1000 + value % 1000 * multiplier`: the last group of three
    /// digits is what the multiplier scales ("two thousand five hundred" = 2000 + 5 x 100).
    pub(super) fn scale_last_group(&self, exponent: usize) -> Int {
        let residual = self.rem_pow10(3);
        let keep = self.0.len().saturating_sub(3);
        let before = if keep == 0 {
            Int::small(0)
        } else {
            Int(format!("{}000", &self.0[..keep]))
        };
        if residual == 0 {
            return before;
        }
        before.add(&Int(format!("{residual}{}", "0".repeat(exponent))))
    }
}

/// `Fraction(s) * 10^exponent` when that is a whole number, `None` when it is not or when `s`
/// is not a decimal number at all (Python's `to_fraction` returning `None`, e.g. "1.2.3").
pub(super) fn times_pow10(s: &str, exponent: usize) -> Option<Int> {
    let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    // Fraction's grammar: a digit first, or a point and then a digit.
    let starts_well = !int.is_empty() || !frac.is_empty();
    if !starts_well || !digits_only(int) || !digits_only(frac) {
        return None;
    }
    let digits = format!("{int}{frac}");
    if frac.len() <= exponent {
        return Some(Int::from_digits(&format!(
            "{digits}{}",
            "0".repeat(exponent - frac.len())
        )));
    }
    let cut = frac.len() - exponent;
    let (head, tail) = digits.split_at(digits.len() - cut);
    tail.bytes()
        .all(|b| b == b'0')
        .then(|| Int::from_digits(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integers_add_and_scale_like_python_ints() {
        assert_eq!(Int::small(999).add(&Int::small(1)), Int::small(1000));
        assert_eq!(Int::small(2005).scale_last_group(2), Int::small(2500));
        assert_eq!(
            Int::small(9).scale_last_group(33).0,
            format!("9{}", "0".repeat(33))
        );
        assert_eq!(times_pow10("1.5", 3), Some(Int::small(1500)));
        assert_eq!(times_pow10("1.25", 1), None);
        assert_eq!(times_pow10("1.50", 1), Some(Int::small(15)));
        assert_eq!(times_pow10(".", 2), None);
        assert_eq!(times_pow10("1.2.3", 2), None);
    }
}
