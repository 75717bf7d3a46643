//! The `ClinicalReadings/*.txt` files: sex, age and finding text in the two sets' own
//! irregular forms.

use cxr_core::Sex;

/// What a clinical reading says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// Sex, when the reading gives a known one.
    pub sex: Option<Sex>,
    /// Age in years (months and days converted), when readable.
    pub age: Option<f32>,
    /// The finding lines, trimmed, joined with ` | ` (`normal`, `bilateral secondary PTB`).
    pub finding: String,
    /// For Montgomery's `NO REPORT (same pt as MCUCXR_0162_1)`: the other image's stem.
    pub same_patient_as: Option<String>,
    /// The demographic text that could not be read, if any.
    pub unreadable: Option<String>,
}

/// Age text such as `027Y`, `45yrs`, `16month`, `64days`, `42` in years.
///
/// ```
/// use cxr_source_nlm_tb::reading::age_years;
/// assert_eq!(age_years("027Y"), Some(27.0));
/// assert_eq!(age_years("16month"), Some(16.0 / 12.0));
/// assert_eq!(age_years("64days").map(|a| (a * 1000.0).round()), Some(175.0));
/// assert_eq!(age_years("42"), Some(42.0));
/// assert_eq!(age_years("old"), None);
/// ```
pub fn age_years(text: &str) -> Option<f32> {
    let t = text.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let n: f32 = num.parse().ok()?;
    let unit = unit.trim().trim_end_matches('.').to_ascii_lowercase();
    let years = match unit.as_str() {
        "" | "y" | "yr" | "yrs" | "year" | "years" | "yo" | "yeas" => n,
        "m" | "mo" | "mon" | "month" | "months" => n / 12.0,
        "w" | "wk" | "wks" | "week" | "weeks" => n * 7.0 / 365.25,
        "d" | "day" | "days" => n / 365.25,
        _ => return None,
    };
    (0.0..=120.0).contains(&years).then_some(years)
}

fn sex_word(word: &str) -> Option<Sex> {
    let w = word.trim().to_ascii_lowercase();
    match w.as_str() {
        "m" | "male" | "mal" => Some(Sex::Male),
        "f" | "female" | "femal" | "fem" | "femle" => Some(Sex::Female),
        "o" => Some(Sex::Other),
        _ => None,
    }
}

/// Parses a Montgomery reading:
///
/// ```text
/// Patient's Sex: F
/// Patient's Age: 027Y
/// normal
/// ```
pub fn parse_montgomery(text: &str) -> Reading {
    let mut r = Reading::default();
    let mut finding = Vec::new();
    let mut bad = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("patient's sex:") {
            r.sex = sex_word(v);
            if r.sex.is_none() && !v.trim().is_empty() {
                bad.push(line.to_owned());
            }
        } else if let Some(v) = lower.strip_prefix("patient's age:") {
            r.age = age_years(v);
            if r.age.is_none() && !v.trim().is_empty() {
                bad.push(line.to_owned());
            }
        } else {
            finding.push(line);
        }
    }
    r.finding = finding.join(" | ");
    r.same_patient_as = same_patient(&r.finding);
    r.unreadable = (!bad.is_empty()).then(|| bad.join(" | "));
    r
}

/// Parses a Shenzhen reading: first line `<sex> <age>` in many spellings (`male 45yrs`,
/// `femal 32yrs`, `female24yrs`, `male , 29yrs`, `male 16month`, `female 64days`,
/// `male 42`), the finding on the lines after it.
pub fn parse_shenzhen(text: &str) -> Reading {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut r = Reading::default();
    let Some(first) = lines.next() else {
        return r;
    };
    let letters = first
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(first.len());
    let (word, rest) = first.split_at(letters);
    r.sex = sex_word(word);
    let age_text = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ':');
    r.age = age_years(age_text);
    if r.sex.is_none() && r.age.is_none() {
        // Not a demographic line at all: it is part of the finding.
        r.finding = std::iter::once(first)
            .chain(lines)
            .collect::<Vec<_>>()
            .join(" | ");
        r.unreadable = Some(first.to_owned());
        return r;
    }
    if r.sex.is_none() || r.age.is_none() {
        r.unreadable = Some(first.to_owned());
    }
    r.finding = lines.collect::<Vec<_>>().join(" | ");
    r
}

fn same_patient(finding: &str) -> Option<String> {
    let lower = finding.to_ascii_lowercase();
    let at = lower.find("same pt as")? + "same pt as".len();
    let id: String = finding[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn montgomery_forms() {
        let r = parse_montgomery("Patient's Sex: F \nPatient's Age: 027Y\nnormal\n");
        assert_eq!((r.sex, r.age), (Some(Sex::Female), Some(27.0)));
        assert_eq!(r.finding, "normal");
        assert_eq!(r.unreadable, None);
        let r = parse_montgomery(
            "Patient's Sex: O\r\nPatient's Age: 035Y\r\nNO REPORT (same pt as MCUCXR_0162_1)\r\n",
        );
        assert_eq!((r.sex, r.age), (Some(Sex::Other), Some(35.0)));
        assert_eq!(r.same_patient_as.as_deref(), Some("MCUCXR_0162_1"));
        let r = parse_montgomery("Patient's Sex: X\nPatient's Age: \n");
        assert_eq!((r.sex, r.age), (None, None));
        assert_eq!(r.unreadable.as_deref(), Some("Patient's Sex: X"));
    }

    #[test]
    fn shenzhen_forms() {
        let cases: [(&str, Option<Sex>, Option<f32>); 8] = [
            ("male 45yrs\nnormal", Some(Sex::Male), Some(45.0)),
            ("femal 32yrs\nPTB", Some(Sex::Female), Some(32.0)),
            ("female24yrs\nSTB", Some(Sex::Female), Some(24.0)),
            ("male , 29yrs\nnormal", Some(Sex::Male), Some(29.0)),
            ("male 16month\nnormal", Some(Sex::Male), Some(16.0 / 12.0)),
            (
                "female 64days\nnormal",
                Some(Sex::Female),
                Some(64.0 / 365.25),
            ),
            ("male 42\nnormal", Some(Sex::Male), Some(42.0)),
            (
                "Male 61yrs \n bilateral secondary PTB ",
                Some(Sex::Male),
                Some(61.0),
            ),
        ];
        for (text, sex, age) in cases {
            let r = parse_shenzhen(text);
            assert_eq!((r.sex, r.age), (sex, age), "{text}");
            assert_eq!(r.unreadable, None, "{text}");
        }
        assert_eq!(
            parse_shenzhen("Male 61yrs \n bilateral secondary PTB ").finding,
            "bilateral secondary PTB"
        );
        let r = parse_shenzhen("normal\n");
        assert_eq!((r.sex, r.age, r.finding.as_str()), (None, None, "normal"));
        assert_eq!(parse_shenzhen(""), Reading::default());
    }
}
