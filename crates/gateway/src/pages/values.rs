//! How a released value reads on the consent page, in words and in both languages: a gender
//! code as "Female / أنثى", a nationality as the country's name, a date of birth as "12 April
//! 1990" with, when the citizen's country keeps dates in the Hijri calendar, the Umm al-Qura
//! date beside it ("16 Ramadan 1410 AH"). Pure functions: values in, text out.
//!
//! The Gregorian → Umm al-Qura conversion is ICU4X's (`icu_calendar`, KACST tables), the
//! same data `jisr_mapping::dates` converts the other way with.

use icu_calendar::Date;
use icu_calendar::cal::Hijri;
use jisr_mapping::CountryCode;

/// A value as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// The same text whatever the language (a name in one script, an identifier).
    Neutral(String),
    /// The value in words in each language.
    Both { en: String, ar: String },
}

impl From<&str> for Shown {
    fn from(s: &str) -> Shown {
        Shown::Neutral(s.to_owned())
    }
}

impl From<String> for Shown {
    fn from(s: String) -> Shown {
        Shown::Neutral(s)
    }
}

/// A gender as OpenID Connect writes it (`female`, `male`, or another value) in words.
pub fn gender(value: &str) -> Shown {
    match value.to_ascii_lowercase().as_str() {
        "female" => Shown::Both {
            en: "Female".into(),
            ar: "أنثى".into(),
        },
        "male" => Shown::Both {
            en: "Male".into(),
            ar: "ذكر".into(),
        },
        _ => Shown::Neutral(value.to_owned()),
    }
}

/// `(English, Arabic)` name of a country; the alpha-2 code outside the GCC.
pub fn country_names(country: CountryCode) -> (String, String) {
    match country.gcc() {
        Some(g) => (g.name_en().to_owned(), g.name_ar().to_owned()),
        None => (country.as_str().to_owned(), country.as_str().to_owned()),
    }
}

/// Nationalities by country name, in both languages.
pub fn nationalities(countries: &[CountryCode]) -> Shown {
    let (en, ar): (Vec<String>, Vec<String>) = countries.iter().map(|c| country_names(*c)).unzip();
    Shown::Both {
        en: en.join(", "),
        ar: ar.join("، "),
    }
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// The Gregorian month names used across the GCC.
const MONTHS_AR: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];
const HIJRI_MONTHS_EN: [&str; 12] = [
    "Muharram",
    "Safar",
    "Rabi al-Awwal",
    "Rabi al-Thani",
    "Jumada al-Ula",
    "Jumada al-Akhirah",
    "Rajab",
    "Shaban",
    "Ramadan",
    "Shawwal",
    "Dhu al-Qadah",
    "Dhu al-Hijjah",
];
const HIJRI_MONTHS_AR: [&str; 12] = [
    "محرم",
    "صفر",
    "ربيع الأول",
    "ربيع الآخر",
    "جمادى الأولى",
    "جمادى الآخرة",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذو القعدة",
    "ذو الحجة",
];

/// The Umm al-Qura date `(year, month, day)` of an ISO Gregorian date.
pub fn umm_al_qura(year: i32, month: u8, day: u8) -> Option<(i32, u8, u8)> {
    let iso = Date::try_new_iso(year, month, day).ok()?;
    let hijri = iso.to_calendar(Hijri::new_umm_al_qura());
    Some((
        hijri.year().era_year_or_related_iso(),
        hijri.month().ordinal,
        hijri.day_of_month().0,
    ))
}

/// A date of birth (ISO 8601 Gregorian, as the assertion carries it) in words, with the
/// Umm al-Qura date beside it when `hijri`. A value that is not an ISO date is shown as is.
pub fn birthdate(iso: &str, hijri: bool) -> Shown {
    let parts: Option<(i32, u8, u8)> = (|| {
        let mut it = iso.splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.parse().ok()?;
        Some((y, m, d))
    })();
    let Some((y, m, d)) = parts.filter(|(_, m, d)| (1..=12).contains(m) && (1..=31).contains(d))
    else {
        return Shown::Neutral(iso.to_owned());
    };
    let i = usize::from(m - 1);
    let mut en = format!("{d} {} {y}", MONTHS_EN[i]);
    let mut ar = format!("{d} {} {y} م", MONTHS_AR[i]);
    if hijri && let Some((hy, hm, hd)) = umm_al_qura(y, m, d) {
        let h = usize::from(hm.clamp(1, 12) - 1);
        en.push_str(&format!(" ({hd} {} {hy} AH)", HIJRI_MONTHS_EN[h]));
        ar.push_str(&format!(" ({hd} {} {hy} هـ)", HIJRI_MONTHS_AR[h]));
    }
    Shown::Both { en, ar }
}

/// Whether `text` holds Arabic letters (so it is shown right-to-left, in an Arabic face).
pub fn is_arabic(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}'
            | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umm_al_qura_matches_the_published_tables() {
        // 1 Muharram 1445 = 19 July 2023; 1 Ramadan 1444 = 23 March 2023 (KACST), the
        // inverse of jisr_mapping::dates' own reference dates.
        assert_eq!(umm_al_qura(2023, 7, 19), Some((1445, 1, 1)));
        assert_eq!(umm_al_qura(2023, 3, 23), Some((1444, 9, 1)));
        assert_eq!(umm_al_qura(2023, 2, 30), None);
    }

    #[test]
    fn a_birthdate_reads_in_words_with_the_hijri_date_when_asked() {
        assert_eq!(
            birthdate("2023-07-19", true),
            Shown::Both {
                en: "19 July 2023 (1 Muharram 1445 AH)".into(),
                ar: "19 يوليو 2023 م (1 محرم 1445 هـ)".into(),
            }
        );
        assert_eq!(
            birthdate("1990-04-12", false),
            Shown::Both {
                en: "12 April 1990".into(),
                ar: "12 أبريل 1990 م".into(),
            }
        );
        assert_eq!(
            birthdate("12/04/1990", true),
            Shown::Neutral("12/04/1990".into())
        );
    }

    #[test]
    fn gender_and_nationality_read_in_words() {
        assert_eq!(
            gender("female"),
            Shown::Both {
                en: "Female".into(),
                ar: "أنثى".into()
            }
        );
        assert_eq!(gender("x-other"), Shown::Neutral("x-other".into()));
        let sa: CountryCode = "SA".parse().unwrap();
        let bh: CountryCode = "BH".parse().unwrap();
        match nationalities(&[sa, bh]) {
            Shown::Both { en, ar } => {
                assert!(
                    en.contains("Saudi Arabia") && en.contains("Bahrain"),
                    "{en}"
                );
                assert!(ar.contains("السعودية") && ar.contains("البحرين"), "{ar}");
            }
            other => panic!("{other:?}"),
        }
    }
}
