//! Lenient reading of the free-text `date` column (`January 22, 2020`, `3/3/2020`,
//! `03/16/20`, `12 March 2020`, `March 2003`, `2020`, …).

use cxr_core::StudyDate;

/// How much of a day a `date` cell pins down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// A full calendar day.
    Day,
    /// Month and year only (`March 2003`).
    Month,
    /// Year only (`2020`).
    Year,
    /// Nothing usable (`January 20`, `?`, free text).
    None,
}

impl Precision {
    /// Lower-case name, as written in a record's `date_precision` extra.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Day => "day",
            Precision::Month => "month",
            Precision::Year => "year",
            Precision::None => "none",
        }
    }
}

/// A `date` cell read as far as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientDate {
    /// The day, when the cell names one.
    pub date: Option<StudyDate>,
    /// The year, when the cell names one.
    pub year: Option<i32>,
    /// The month (1–12), when the cell names one with a year.
    pub month: Option<u32>,
    /// How precise the cell is.
    pub precision: Precision,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| w.starts_with(m) && (w.len() == 3 || is_month_name_prefix(&w)))
        .map(|i| i as u32 + 1)
}

fn is_month_name_prefix(w: &str) -> bool {
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    FULL.iter().any(|f| f.starts_with(w)) || w == "sept"
}

fn year_of(n: &str) -> Option<i32> {
    let v: i32 = n.parse().ok()?;
    match n.len() {
        4 if (1900..=2100).contains(&v) => Some(v),
        2 => Some(2000 + v),
        _ => None,
    }
}

/// Reads a free-text date. Never fails: what cannot be read has [`Precision::None`].
pub fn parse_lenient(text: &str) -> LenientDate {
    let none = LenientDate {
        date: None,
        year: None,
        month: None,
        precision: Precision::None,
    };
    let t = text.trim();
    if t.is_empty() {
        return none;
    }
    if let Ok(d) = t.parse::<StudyDate>() {
        return day(d);
    }
    // Numeric M/D/Y (US order, as the collection's contributors wrote it).
    if t.contains('/') {
        let parts: Vec<&str> = t.split('/').map(str::trim).collect();
        let date = match parts[..] {
            [m, d, y] => match (m.parse::<u32>(), d.parse::<u32>(), year_of(y)) {
                (Ok(m), Ok(d), Some(y)) => StudyDate::from_ymd(y, m, d),
                _ => None,
            },
            _ => None,
        };
        return date.map_or(none, day);
    }
    let words: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    match words[..] {
        [y] => year_of(y)
            .filter(|_| y.len() == 4)
            .map_or(none, |y| LenientDate {
                year: Some(y),
                precision: Precision::Year,
                ..none
            }),
        // `March 2003`, `Mar 2020`
        [m, y] if month_of(m).is_some() && y.len() == 4 && year_of(y).is_some() => LenientDate {
            year: year_of(y),
            month: month_of(m),
            precision: Precision::Month,
            ..none
        },
        // `January 22, 2020`, `Feb 13 2020`
        [m, d, y] if month_of(m).is_some() => ymd(year_of(y), month_of(m), d).unwrap_or(none),
        // `12 March 2020`
        [d, m, y] if month_of(m).is_some() => ymd(year_of(y), month_of(m), d).unwrap_or(none),
        _ => none,
    }
}

fn ymd(y: Option<i32>, m: Option<u32>, d: &str) -> Option<LenientDate> {
    let d: u32 = d
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .ok()?;
    StudyDate::from_ymd(y?, m?, d).map(day)
}

fn day(d: StudyDate) -> LenientDate {
    LenientDate {
        date: Some(d),
        year: Some(d.year()),
        month: Some(d.month()),
        precision: Precision::Day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<String> {
        parse_lenient(s).date.map(|d| d.to_string())
    }

    #[test]
    fn full_days_in_every_spelling() {
        assert_eq!(d("January 22, 2020").as_deref(), Some("2020-01-22"));
        assert_eq!(d("Feb 13, 2020").as_deref(), Some("2020-02-13"));
        assert_eq!(d("3/3/2020").as_deref(), Some("2020-03-03"));
        assert_eq!(d("03/16/20").as_deref(), Some("2020-03-16"));
        assert_eq!(d("12 March 2020").as_deref(), Some("2020-03-12"));
        assert_eq!(d("2020-03-19").as_deref(), Some("2020-03-19"));
        assert_eq!(d("Sept 2, 2020").as_deref(), Some("2020-09-02"));
    }

    #[test]
    fn coarse_dates_keep_what_they_have() {
        let y = parse_lenient("2020");
        assert_eq!(
            (y.year, y.month, y.precision),
            (Some(2020), None, Precision::Year)
        );
        let m = parse_lenient("March 2003");
        assert_eq!(
            (m.year, m.month, m.precision),
            (Some(2003), Some(3), Precision::Month)
        );
        for s in [
            "January 20",
            "",
            "?",
            "13/45/2020",
            "Marching 2020",
            "2/30/2020",
        ] {
            let p = parse_lenient(s);
            assert_eq!((p.date, p.precision), (None, Precision::None), "{s}");
        }
    }
}
