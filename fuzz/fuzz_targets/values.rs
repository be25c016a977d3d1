//! The value parsers behind the mapping, on any text: dates in every shipped profile's
//! format (Gregorian and Hijri Umm al-Qura), national identifier rules (pattern, separators,
//! checksum), name cleaning, person identifiers, country codes and levels. Oracles: a date
//! comes back as a real `YYYY-MM-DD`; a normalised identifier passes its own rule again.
#![no_main]

use std::sync::LazyLock;

use jisr_gateway::config::MappingConfig;
use jisr_mapping::dates::{Calendar, to_gregorian};
use jisr_mapping::names::clean_name;
use jisr_mapping::{CountryCode, Loa, PersonIdentifier};
use libfuzzer_sys::fuzz_target;

static MAPPING: LazyLock<MappingConfig> = LazyLock::new(|| {
    MappingConfig::load_dir(&jisr_fuzz::config_dir())
        .unwrap_or_else(|p| panic!("shipped config: {p:?}"))
});

fn check_date(raw: &str, format: &str, calendar: Calendar) {
    if let Ok(date) = to_gregorian(raw, format, calendar) {
        assert!(
            chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok(),
            "{date:?} is not a Gregorian YYYY-MM-DD"
        );
        assert_eq!(date.len(), 10, "{date:?} is not YYYY-MM-DD");
    }
}

fuzz_target!(|raw: &str| {
    for (_, profile) in &MAPPING.profiles {
        check_date(raw, &profile.birthdate.format, profile.birthdate.calendar);
        if let Ok(id) = profile.identifier.normalise(raw) {
            assert!(!id.is_empty() || raw.is_empty());
            if profile.identifier.checksum.is_some() {
                assert!(id.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
    for format in ["%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%Y/%m/%d"] {
        check_date(raw, format, Calendar::Gregorian);
        check_date(raw, format, Calendar::HijriUmmAlQura);
    }
    if let Ok(name) = clean_name(raw) {
        assert!(!name.is_empty() && !name.starts_with(' ') && !name.ends_with(' '));
        assert!(!name.chars().any(char::is_control));
    }
    for origin in ["SA", "BH", "AE"] {
        let origin = CountryCode::parse(origin).unwrap_or_else(|_| unreachable!());
        if let Ok(id) = PersonIdentifier::parse(raw, origin) {
            assert_eq!(id.origin(), origin);
            assert_eq!(id.to_string(), raw);
        }
    }
    if let Ok(c) = CountryCode::parse(raw) {
        assert_eq!(c.as_str().len(), 2);
    }
    let _ = Loa::parse(raw);
});
