//! The synthetic citizens each dev IdP can sign in. Every one is invented: the family names
//! say so (التجريبي "the test one", النموذجي "the sample one", الوهمي "the fictitious one"),
//! and the identifiers are made-up numbers with valid formats and checksums.

use jisr_mapping::{CountryCode, Gcc};

/// Male or female, written per country by [`crate::claims`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// One synthetic person as their national IdP knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Citizen {
    /// The national identifier as the IdP writes it; also the `login_hint` that picks them.
    pub id: &'static str,
    /// The IdP's `sub` for this person.
    pub sub: &'static str,
    pub given_en: &'static str,
    pub given_ar: &'static str,
    pub family_en: &'static str,
    pub family_ar: &'static str,
    /// Date of birth in the country's own format (Hijri `YYYY/MM/DD` for SA, `dd-mm-yyyy`
    /// for KW, `yyyymmdd` for QA, `dd/mm/yyyy` for AE, ISO 8601 for BH and OM).
    pub birthdate: &'static str,
    pub sex: Sex,
    /// Country of birth, ISO 3166-1 alpha-3.
    pub birth_country: &'static str,
    pub birth_city_en: &'static str,
    /// Nationalities as the IdP writes them.
    pub nationalities: &'static [&'static str],
    /// UAE PASS `userType` (SOP1/SOP2/SOP3); empty elsewhere.
    pub user_type: &'static str,
    /// AE only: the UAE PASS account `uuid`; empty elsewhere.
    pub uuid: &'static str,
    /// What this citizen exercises, for people reading test output.
    pub note: &'static str,
}

const BASE: Citizen = Citizen {
    id: "",
    sub: "",
    given_en: "",
    given_ar: "",
    family_en: "Al Tajribi",
    family_ar: "التجريبي",
    birthdate: "",
    sex: Sex::Male,
    birth_country: "",
    birth_city_en: "",
    nationalities: &[],
    user_type: "",
    uuid: "",
    note: "",
};

const SAMPLE_EN: &str = "Al Namoothaji";
const SAMPLE_AR: &str = "النموذجي";
const FICTITIOUS_EN: &str = "Al Wahmi";
const FICTITIOUS_AR: &str = "الوهمي";

static SA: [Citizen; 3] = [
    Citizen {
        id: "1000000016",
        sub: "sa-synthetic-0001",
        given_en: "Noura",
        given_ar: "نورة",
        birthdate: "1410/05/14",
        sex: Sex::Female,
        birth_country: "SAU",
        birth_city_en: "Riyadh",
        nationalities: &["SAU"],
        note: "typical Hijri date of birth",
        ..BASE
    },
    Citizen {
        id: "1000000024",
        sub: "sa-synthetic-0002",
        given_en: "Abdullah",
        given_ar: "عبدالله",
        family_en: SAMPLE_EN,
        family_ar: SAMPLE_AR,
        birthdate: "1400/01/01",
        sex: Sex::Male,
        birth_country: "SAU",
        birth_city_en: "Jeddah",
        nationalities: &["SAU"],
        note: "first day of a Hijri year (1400 AH)",
        ..BASE
    },
    Citizen {
        id: "1000000032",
        sub: "sa-synthetic-0003",
        given_en: "Reem",
        given_ar: "ريم",
        family_en: FICTITIOUS_EN,
        family_ar: FICTITIOUS_AR,
        birthdate: "1420/12/29",
        sex: Sex::Female,
        birth_country: "SAU",
        birth_city_en: "Dammam",
        nationalities: &["SAU"],
        note: "last month of a Hijri year, day 29",
        ..BASE
    },
];

static BH: [Citizen; 3] = [
    Citizen {
        id: "880300001",
        sub: "bh-synthetic-0001",
        given_en: "Fatima",
        given_ar: "فاطمة",
        birthdate: "1988-03-07",
        sex: Sex::Female,
        birth_country: "BHR",
        birth_city_en: "Manama",
        nationalities: &["BHR"],
        note: "typical",
        ..BASE
    },
    Citizen {
        id: "950700002",
        sub: "bh-synthetic-0002",
        given_en: "Ali",
        given_ar: "علي",
        family_en: SAMPLE_EN,
        family_ar: SAMPLE_AR,
        birthdate: "1995-07-21",
        sex: Sex::Male,
        birth_country: "SAU",
        birth_city_en: "Al Khobar",
        nationalities: &["BHR"],
        note: "born abroad",
        ..BASE
    },
    Citizen {
        id: "000200003",
        sub: "bh-synthetic-0003",
        given_en: "Zainab",
        given_ar: "زينب",
        family_en: FICTITIOUS_EN,
        family_ar: FICTITIOUS_AR,
        birthdate: "2000-02-29",
        sex: Sex::Female,
        birth_country: "BHR",
        birth_city_en: "Muharraq",
        nationalities: &["BHR", "GBR"],
        note: "CPR with leading zeros, leap day, two nationalities",
        ..BASE
    },
];

static OM: [Citizen; 3] = [
    Citizen {
        id: "10000001",
        sub: "om-synthetic-0001",
        given_en: "Salim",
        given_ar: "سالم",
        birthdate: "1991-04-02",
        sex: Sex::Male,
        birth_country: "OMN",
        birth_city_en: "Muscat",
        nationalities: &["OM"],
        note: "8-digit civil number",
        ..BASE
    },
    Citizen {
        id: "100000002",
        sub: "om-synthetic-0002",
        given_en: "Aisha",
        given_ar: "عائشة",
        family_en: SAMPLE_EN,
        family_ar: SAMPLE_AR,
        birthdate: "1985-11-30",
        sex: Sex::Female,
        birth_country: "OMN",
        birth_city_en: "Salalah",
        nationalities: &["OM"],
        note: "9-digit civil number",
        ..BASE
    },
    Citizen {
        id: "20000003",
        sub: "om-synthetic-0003",
        given_en: "Khalid",
        given_ar: "خالد",
        family_en: FICTITIOUS_EN,
        family_ar: FICTITIOUS_AR,
        birthdate: "2000-02-29",
        sex: Sex::Male,
        birth_country: "OMN",
        birth_city_en: "Sohar",
        nationalities: &["OM"],
        note: "leap day",
        ..BASE
    },
];

static KW: [Citizen; 3] = [
    Citizen {
        id: "290010100001",
        sub: "kw-synthetic-0001",
        given_en: "Yousef",
        given_ar: "يوسف",
        birthdate: "01-01-1990",
        sex: Sex::Male,
        birth_country: "KWT",
        birth_city_en: "Kuwait City",
        nationalities: &["KWT"],
        note: "typical",
        ..BASE
    },
    Citizen {
        id: "296022900002",
        sub: "kw-synthetic-0002",
        given_en: "Hessa",
        given_ar: "حصة",
        family_en: SAMPLE_EN,
        family_ar: SAMPLE_AR,
        birthdate: "29-02-1996",
        sex: Sex::Female,
        birth_country: "KWT",
        birth_city_en: "Jahra",
        nationalities: &["KWT"],
        note: "leap day, day-first date",
        ..BASE
    },
    Citizen {
        id: "300123100003",
        sub: "kw-synthetic-0003",
        given_en: "Mubarak",
        given_ar: "مبارك",
        family_en: FICTITIOUS_EN,
        family_ar: FICTITIOUS_AR,
        birthdate: "31-12-2000",
        sex: Sex::Male,
        birth_country: "KWT",
        birth_city_en: "Ahmadi",
        nationalities: &["KWT"],
        note: "born in the 2000s (civil ID century digit 3)",
        ..BASE
    },
];

static QA: [Citizen; 3] = [
    Citizen {
        id: "29263400001",
        sub: "qa-synthetic-0001",
        given_en: "Maryam",
        given_ar: "مريم",
        birthdate: "19920815",
        sex: Sex::Female,
        birth_country: "QAT",
        birth_city_en: "Doha",
        nationalities: &["QAT"],
        note: "typical",
        ..BASE
    },
    Citizen {
        id: "28563400002",
        sub: "qa-synthetic-0002",
        given_en: "Hamad",
        given_ar: "حمد",
        family_en: SAMPLE_EN,
        family_ar: SAMPLE_AR,
        birthdate: "19850101",
        sex: Sex::Male,
        birth_country: "QAT",
        birth_city_en: "Al Wakrah",
        nationalities: &["QAT"],
        note: "first day of the year",
        ..BASE
    },
    Citizen {
        id: "30063400003",
        sub: "qa-synthetic-0003",
        given_en: "Al Anood",
        given_ar: "العنود",
        family_en: FICTITIOUS_EN,
        family_ar: FICTITIOUS_AR,
        birthdate: "20000229",
        sex: Sex::Female,
        birth_country: "QAT",
        birth_city_en: "Al Khor",
        nationalities: &["QAT"],
        note: "two-word given name, leap day, QID for the 2000s",
        ..BASE
    },
];

static AE: [Citizen; 4] = [
    Citizen {
        id: "784-1985-0000001-7",
        sub: "UAEPASS/0c7d2f1e-0000-4000-8000-000000000001",
        uuid: "0c7d2f1e-0000-4000-8000-000000000001",
        given_en: "Ahmed",
        given_ar: "أحمد",
        birthdate: "02/11/1985",
        sex: Sex::Male,
        birth_country: "ARE",
        birth_city_en: "Abu Dhabi",
        nationalities: &["ARE"],
        user_type: "SOP3",
        note: "biometrically verified account (SOP3)",
        ..BASE
    },
    Citizen {
        id: "784-1992-0000002-6",
        sub: "UAEPASS/0c7d2f1e-0000-4000-8000-000000000002",
        uuid: "0c7d2f1e-0000-4000-8000-000000000002",
        given_en: "Mariam",
        given_ar: "مريم",
        family_en: SAMPLE_EN,
        family_ar: SAMPLE_AR,
        birthdate: "15/06/1992",
        sex: Sex::Female,
        birth_country: "ARE",
        birth_city_en: "Dubai",
        nationalities: &["ARE"],
        user_type: "SOP2",
        note: "verified Emirates ID account (SOP2)",
    },
    Citizen {
        id: "784-2000-0000003-2",
        sub: "UAEPASS/0c7d2f1e-0000-4000-8000-000000000003",
        uuid: "0c7d2f1e-0000-4000-8000-000000000003",
        given_en: "Saeed",
        given_ar: "سعيد",
        family_en: FICTITIOUS_EN,
        family_ar: FICTITIOUS_AR,
        birthdate: "29/02/2000",
        sex: Sex::Male,
        birth_country: "ARE",
        birth_city_en: "Sharjah",
        nationalities: &["ARE"],
        user_type: "SOP3",
        note: "leap day",
    },
    Citizen {
        id: "784-1978-0000004-0",
        sub: "UAEPASS/0c7d2f1e-0000-4000-8000-000000000004",
        uuid: "0c7d2f1e-0000-4000-8000-000000000004",
        given_en: "Latifa",
        given_ar: "لطيفة",
        birthdate: "01/01/1978",
        sex: Sex::Female,
        birth_country: "ARE",
        birth_city_en: "Al Ain",
        nationalities: &["ARE"],
        user_type: "SOP1",
        note: "unverified account (SOP1): LoA low, below the default policy minimum",
        ..BASE
    },
];

/// The synthetic citizens of `country` (empty for a country that is not in the GCC).
pub fn citizens(country: CountryCode) -> &'static [Citizen] {
    match country.gcc() {
        Some(Gcc::SaudiArabia) => &SA,
        Some(Gcc::Bahrain) => &BH,
        Some(Gcc::Oman) => &OM,
        Some(Gcc::Kuwait) => &KW,
        Some(Gcc::Qatar) => &QA,
        Some(Gcc::UnitedArabEmirates) => &AE,
        None => &[],
    }
}

/// The citizen whose identifier is `login_hint`.
pub fn find(country: CountryCode, login_hint: &str) -> Option<&'static Citizen> {
    citizens(country).iter().find(|c| c.id == login_hint)
}
