//! [`StudyDate`]: a calendar day, without time zone, as DICOM `DA` and the sources' CSVs
//! give it.

use crate::error::ParseError;

/// A calendar date (proleptic Gregorian). Written `YYYY-MM-DD`; reads that form and
/// DICOM's `YYYYMMDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StudyDate {
    year: i32,
    month: u8,
    day: u8,
}

const EXPECTED: &str = "YYYY-MM-DD or YYYYMMDD";

impl StudyDate {
    /// A date from its parts, `None` when the day does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<StudyDate> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(StudyDate {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.year
    }
    /// Month, 1–12.
    pub fn month(self) -> u32 {
        self.month.into()
    }
    /// Day of the month, 1–31.
    pub fn day(self) -> u32 {
        self.day.into()
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01, `None` when its year does not fit an `i32`
    /// (`|days|` beyond about 7.8 · 10¹¹).
    pub fn from_days_since_epoch(days: i64) -> Option<StudyDate> {
        // Howard Hinnant's civil_from_days.
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        // day in 1..=31 and month in 1..=12 by construction; the year may not fit
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = i32::try_from(yoe + era * 400 + i64::from(month <= 2)).ok()?;
        Some(StudyDate { year, month, day })
    }

    /// Signed number of days from `self` to `later` (`later − self`).
    pub fn days_until(self, later: StudyDate) -> i64 {
        later.days_since_epoch() - self.days_since_epoch()
    }

    /// The date `days` later (earlier when negative), `None` when it is out of range
    /// (see [`StudyDate::from_days_since_epoch`]).
    pub fn add_days(self, days: i64) -> Option<StudyDate> {
        StudyDate::from_days_since_epoch(self.days_since_epoch().checked_add(days)?)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl std::fmt::Display for StudyDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for StudyDate {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let err = || ParseError::new("date", s, EXPECTED);
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        let (y, m, d) = if t.len() == 8 && digits(t) {
            (&t[0..4], &t[4..6], &t[6..8])
        } else {
            let mut it = t.split('-');
            match (it.next(), it.next(), it.next(), it.next()) {
                (Some(y), Some(m), Some(d), None)
                    if y.len() == 4 && digits(y) && digits(m) && digits(d) =>
                {
                    (y, m, d)
                }
                _ => return Err(err()),
            }
        };
        let (y, m, d) = (
            y.parse().map_err(|_| err())?,
            m.parse().map_err(|_| err())?,
            d.parse().map_err(|_| err())?,
        );
        StudyDate::from_ymd(y, m, d).ok_or_else(err)
    }
}

impl serde::Serialize for StudyDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for StudyDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A moment as RFC 3339 in UTC, to the second (`2026-12-07T16:19:43Z`); `None` before
/// 1970 or past the calendar's range.
pub fn rfc3339_utc(t: std::time::SystemTime) -> Option<String> {
    let secs = i64::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()?;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let d = StudyDate::from_days_since_epoch(days)?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        d.month(),
        d.day(),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_forms_and_rejects_impossible_days() {
        let d: StudyDate = "20200319".parse().unwrap();
        assert_eq!(d, "2020-03-19".parse().unwrap());
        assert_eq!(d.to_string(), "2020-03-19");
        assert!("2020-02-30".parse::<StudyDate>().is_err());
        assert!("2019-02-29".parse::<StudyDate>().is_err());
        assert!("2020-02-29".parse::<StudyDate>().is_ok());
        assert!("March 2020".parse::<StudyDate>().is_err());
        assert!("2020-3".parse::<StudyDate>().is_err());
    }

    #[test]
    fn day_arithmetic() {
        let a: StudyDate = "2020-03-01".parse().unwrap();
        let b: StudyDate = "2020-02-15".parse().unwrap();
        assert_eq!(b.days_until(a), 15);
        assert_eq!(a.days_until(b), -15);
        assert_eq!(
            "1970-01-01"
                .parse::<StudyDate>()
                .unwrap()
                .days_since_epoch(),
            0
        );
        assert_eq!(
            "2000-03-01"
                .parse::<StudyDate>()
                .unwrap()
                .days_since_epoch(),
            11_017
        );
        assert_eq!(b.add_days(15), Some(a));
        assert_eq!(a.add_days(-15), Some(b));
    }

    #[test]
    fn out_of_range_days_are_none() {
        let d: StudyDate = "2020-03-01".parse().unwrap();
        // i64::MAX days used to overflow; days past the i32 years wrapped the year.
        assert_eq!(d.add_days(i64::MAX), None);
        assert_eq!(d.add_days(i64::MIN), None);
        assert_eq!(StudyDate::from_days_since_epoch(i64::MAX), None);
        assert_eq!(StudyDate::from_days_since_epoch(i64::MIN), None);
        assert_eq!(StudyDate::from_days_since_epoch(1_000_000_000_000), None);
        assert_eq!(StudyDate::from_days_since_epoch(-1_000_000_000_000), None);
        // The first and last representable days round-trip.
        let last = StudyDate::from_ymd(i32::MAX, 12, 31).unwrap();
        let first = StudyDate::from_ymd(i32::MIN, 1, 1).unwrap();
        for edge in [first, last] {
            let days = edge.days_since_epoch();
            assert_eq!(StudyDate::from_days_since_epoch(days), Some(edge));
        }
        assert_eq!(last.add_days(1), None);
        assert_eq!(first.add_days(-1), None);
        assert_eq!(
            last.add_days(-1),
            Some(StudyDate::from_ymd(i32::MAX, 12, 30).unwrap())
        );
    }

    proptest! {
        #[test]
        fn epoch_days_round_trip(days in -700_000i64..2_000_000) {
            let d = StudyDate::from_days_since_epoch(days).unwrap();
            prop_assert_eq!(d.days_since_epoch(), days);
            prop_assert_eq!(d.to_string().parse::<StudyDate>().unwrap(), d);
        }
    }
}
