//! Dates of birth: explicit formats, Gregorian or Hijri (Umm al-Qura), to ISO 8601 Gregorian.

use chrono::NaiveDate;
use chrono::format::{Parsed, StrftimeItems, parse};
use icu_calendar::Date;
use icu_calendar::cal::Hijri;
use serde::Deserialize;

use crate::error::ValueProblem;

/// The calendar a national IdP writes dates in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calendar {
    Gregorian,
    /// The Umm al-Qura calendar of Saudi Arabia, converted with ICU4X's KACST-based data.
    HijriUmmAlQura,
}

impl Calendar {
    pub const fn name(self) -> &'static str {
        match self {
            Calendar::Gregorian => "Gregorian",
            Calendar::HijriUmmAlQura => "Hijri (Umm al-Qura)",
        }
    }
}

/// Hijri years the conversion accepts: ICU4X follows the published KACST tables from 1300 AH
/// to 1600 AH; outside that range dates are approximations, so a birthdate there is refused.
pub const HIJRI_YEARS: std::ops::RangeInclusive<i32> = 1300..=1600;

/// Gregorian birth years accepted: four digits, as ISO 8601 `YYYY-MM-DD` writes them, and none
/// before 1800 (no one alive; the Hijri range starts in 1882). `%Y` alone parses `+12345` or
/// `-0001`, which no agency can read as a birthdate.
pub const GREGORIAN_YEARS: std::ops::RangeInclusive<i32> = 1800..=9999;

/// Checks a strftime-style date format once, at config load, so mapping never sees a bad one.
pub fn check_format(format: &str) -> Result<(), FormatError> {
    use chrono::format::Item;
    let items: Vec<Item> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(FormatError::NotStrftime(format.to_owned()));
    }
    let mut parsed = Parsed::new();
    // A format must at least name a year, month and day.
    let rendered = NaiveDate::from_ymd_opt(2000, 1, 2)
        .map(|probe| probe.format_with_items(items.iter()).to_string())
        .unwrap_or_default();
    parse(&mut parsed, &rendered, items.iter())
        .ok()
        .and_then(|()| Some((parsed.year()?, parsed.month()?, parsed.day()?)))
        .map(|_| ())
        .ok_or_else(|| FormatError::Incomplete(format.to_owned()))
}

/// Why a configured date format is refused (the format is config, not personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("`{0}` is not a valid strftime date format")]
    NotStrftime(String),
    #[error("`{0}` must contain a year (%Y), a month (%m) and a day (%d)")]
    Incomplete(String),
}

/// Parses `raw` with `format` in `calendar` and returns the Gregorian date as `YYYY-MM-DD`.
///
/// ```
/// use jisr_mapping::dates::{to_gregorian, Calendar};
/// assert_eq!(to_gregorian("1445/01/01", "%Y/%m/%d", Calendar::HijriUmmAlQura).unwrap(), "2023-07-19");
/// assert_eq!(to_gregorian("19-07-2023", "%d-%m-%Y", Calendar::Gregorian).unwrap(), "2023-07-19");
/// assert!(to_gregorian("2023-02-29", "%Y-%m-%d", Calendar::Gregorian).is_err());
/// ```
pub fn to_gregorian(raw: &str, format: &str, calendar: Calendar) -> Result<String, ValueProblem> {
    let bad_format = || ValueProblem::BadDateFormat {
        format: format.to_owned(),
    };
    let mut parsed = Parsed::new();
    parse(&mut parsed, raw.trim(), StrftimeItems::new(format)).map_err(|_| bad_format())?;
    let (year, month, day) = (
        parsed.year().ok_or_else(bad_format)?,
        parsed.month().ok_or_else(bad_format)?,
        parsed.day().ok_or_else(bad_format)?,
    );
    let no_such = ValueProblem::NoSuchDate {
        calendar: calendar.name(),
    };
    let (month, day) = (
        u8::try_from(month).map_err(|_| no_such.clone())?,
        u8::try_from(day).map_err(|_| no_such.clone())?,
    );
    let (y, m, d) = match calendar {
        Calendar::Gregorian => {
            if !GREGORIAN_YEARS.contains(&year) {
                return Err(ValueProblem::DateOutOfRange {
                    calendar: calendar.name(),
                });
            }
            let date = NaiveDate::from_ymd_opt(year, month.into(), day.into()).ok_or(no_such)?;
            use chrono::Datelike;
            (date.year(), date.month() as u8, date.day() as u8)
        }
        Calendar::HijriUmmAlQura => {
            if !HIJRI_YEARS.contains(&year) {
                return Err(ValueProblem::DateOutOfRange {
                    calendar: calendar.name(),
                });
            }
            let hijri =
                Date::try_new_hijri_with_calendar(year, month, day, Hijri::new_umm_al_qura())
                    .map_err(|_| no_such)?;
            let iso = hijri.to_calendar(icu_calendar::Iso);
            (
                iso.year().extended_year(),
                iso.month().ordinal,
                iso.day_of_month().0,
            )
        }
    };
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Umm al-Qura month starts as published by KACST (see R.H. van Gent's Umm al-Qura
    /// tables, the Umm al-Qura comparative calendars, Time4J's KACST test data): (Hijri y, m, d) → Gregorian.
    const UMM_AL_QURA: &[((i32, u8, u8), &str)] = &[
        ((1420, 1, 1), "1999-04-17"),
        ((1444, 9, 1), "2023-03-23"),
        ((1444, 10, 1), "2023-04-21"),
        ((1445, 1, 1), "2023-07-19"),
        ((1445, 9, 1), "2024-03-11"),
        ((1445, 10, 1), "2024-04-10"),
        ((1446, 1, 1), "2024-07-07"),
        ((1446, 9, 1), "2025-03-01"),
        ((1446, 10, 1), "2025-03-30"),
        ((1436, 10, 1), "2015-07-17"),
        ((1440, 1, 1), "2018-09-11"),
    ];

    #[test]
    fn hijri_umm_al_qura_known_pairs() {
        for &((y, m, d), want) in UMM_AL_QURA {
            let raw = format!("{y}-{m:02}-{d:02}");
            assert_eq!(
                to_gregorian(&raw, "%Y-%m-%d", Calendar::HijriUmmAlQura).unwrap(),
                want,
                "{raw}"
            );
        }
    }

    #[test]
    fn hijri_day_30_of_a_29_day_month_does_not_exist() {
        // Ramadan 1444 had 29 days: 1 Shawwal 1444 was 2023-04-21, 1 Ramadan 2023-03-23.
        assert_eq!(
            to_gregorian("1444-09-29", "%Y-%m-%d", Calendar::HijriUmmAlQura).unwrap(),
            "2023-04-20"
        );
        assert_eq!(
            to_gregorian("1444-09-30", "%Y-%m-%d", Calendar::HijriUmmAlQura),
            Err(ValueProblem::NoSuchDate {
                calendar: "Hijri (Umm al-Qura)"
            })
        );
        assert_eq!(
            to_gregorian("1444-13-01", "%Y-%m-%d", Calendar::HijriUmmAlQura),
            Err(ValueProblem::BadDateFormat {
                format: "%Y-%m-%d".into()
            })
        );
    }

    #[test]
    fn hijri_outside_the_published_tables_is_refused() {
        assert_eq!(
            to_gregorian("1250-01-01", "%Y-%m-%d", Calendar::HijriUmmAlQura),
            Err(ValueProblem::DateOutOfRange {
                calendar: "Hijri (Umm al-Qura)"
            })
        );
    }

    #[test]
    fn gregorian_formats() {
        assert_eq!(
            to_gregorian("29/02/2000", "%d/%m/%Y", Calendar::Gregorian).unwrap(),
            "2000-02-29"
        );
        assert_eq!(
            to_gregorian("19900315", "%Y%m%d", Calendar::Gregorian).unwrap(),
            "1990-03-15"
        );
        assert_eq!(
            to_gregorian("29/02/1900", "%d/%m/%Y", Calendar::Gregorian),
            Err(ValueProblem::NoSuchDate {
                calendar: "Gregorian"
            }),
        );
        assert_eq!(
            to_gregorian("1990-03-15", "%d/%m/%Y", Calendar::Gregorian),
            Err(ValueProblem::BadDateFormat {
                format: "%d/%m/%Y".into()
            })
        );
    }

    #[test]
    fn gregorian_years_outside_four_digits_are_refused() {
        // Found by the `values` fuzz target: `%Y` parses a sign and more than four digits.
        for raw in ["+12345-01-01", "-0001-01-01", "1799-12-31"] {
            assert_eq!(
                to_gregorian(raw, "%Y-%m-%d", Calendar::Gregorian),
                Err(ValueProblem::DateOutOfRange {
                    calendar: "Gregorian"
                }),
                "{raw}"
            );
        }
        assert_eq!(
            to_gregorian("9999-12-31", "%Y-%m-%d", Calendar::Gregorian).unwrap(),
            "9999-12-31"
        );
    }

    #[test]
    fn formats_are_checked_at_load() {
        assert!(check_format("%d/%m/%Y").is_ok());
        assert!(check_format("%Y%m%d").is_ok());
        assert!(
            check_format("%Y-%m")
                .unwrap_err()
                .to_string()
                .contains("must contain")
        );
        assert!(
            check_format("%Q")
                .unwrap_err()
                .to_string()
                .contains("not a valid")
        );
    }
}
