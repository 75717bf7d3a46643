//! Ages as the sources write them: DICOM Age Strings (`058Y`, `006M`, `020W`, `003D`)
//! and plain numbers of years (`58`, `63.5`). One parser for every source adapter and
//! for the `age` column of `records.csv`.

/// Years from an age text, or `None` when it is not an age.
///
/// Accepts digits with at most one decimal point, optionally followed by one DICOM
/// unit letter (`Y`, `M`, `W`, `D`, either case); surrounding spaces and NULs are
/// ignored. Signs, exponents, `nan`, `inf` and anything else are refused, so the result
/// is always finite and ≥ 0. Range checks (say, ≤ 120) are the caller's policy.
///
/// ```
/// use cxr_core::age::age_years;
/// assert_eq!(age_years("058Y"), Some(58.0));
/// assert_eq!(age_years("58"), Some(58.0));
/// assert_eq!(age_years("63.5"), Some(63.5));
/// assert_eq!(age_years("006M"), Some(0.5));
/// assert_eq!(age_years("-5Y"), None);
/// assert_eq!(age_years("NaN"), None);
/// assert_eq!(age_years("63º"), None);
/// ```
pub fn age_years(text: &str) -> Option<f32> {
    let t = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let (num, div) = match t.as_bytes().last()? {
        b'Y' | b'y' => (&t[..t.len() - 1], 1.0),
        b'M' | b'm' => (&t[..t.len() - 1], 12.0),
        b'W' | b'w' => (&t[..t.len() - 1], 365.25 / 7.0),
        b'D' | b'd' => (&t[..t.len() - 1], 365.25),
        _ => (t, 1.0),
    };
    let digits = num.bytes().filter(u8::is_ascii_digit).count();
    let points = num.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || points > 1 || digits + points != num.len() {
        return None;
    }
    let years = num.parse::<f32>().ok()? / div;
    years.is_finite().then_some(years)
}

#[cfg(test)]
mod tests {
    use super::age_years;

    #[test]
    fn units_and_refusals() {
        assert_eq!(age_years(" 045Y\0"), Some(45.0));
        assert_eq!(age_years("020D").map(|a| (a * 365.25).round()), Some(20.0));
        assert_eq!(
            age_years("052W").map(|a| (a * 365.25 / 7.0).round()),
            Some(52.0)
        );
        assert_eq!(age_years("414Y"), Some(414.0));
        for bad in [
            "", "Y", ".", "1.2.3Y", "+5", "-5Y", "1e3", "inf", "nan", "63º", "ºY", "4x5Y", "٣Y",
        ] {
            assert_eq!(age_years(bad), None, "{bad}");
        }
    }
}
