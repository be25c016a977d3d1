//! The citizen-facing HTML pages: the country picker, the consent page and the error page.
//!
//! Every page is bilingual, Arabic and English side by side. [`Lang`] only decides which
//! language leads (the `lang`/`dir` of `<html>` and which column comes first); each block of
//! text carries its own `lang` and `dir`, so Arabic always renders right-to-left even on an
//! English page. The pages are rendered with askama (templates checked at compile time,
//! HTML-escaped by default) and need no JavaScript and no inline style, so the gateway can
//! serve them under `default-src 'self'; script-src 'none'` with the one stylesheet [`CSS`]
//! at `/static/jisr.css`.
//!
//! Rendering never fails: if a template returns an error, a static bilingual page is
//! returned instead (it carries no request data).

pub mod messages;
pub mod values;
mod view;
// The sign-out pages (confirmation, signed out).
pub mod logout;

#[cfg(test)]
mod tests;

use jisr_mapping::{CountryCode, Disclosure, SharedClaim};

pub use values::Shown;

/// The stylesheet the gateway serves at [`CSS_PATH`]; the only styling the pages use.
pub const CSS: &str = include_str!("../../templates/jisr.css");

/// Where the pages link the stylesheet from; the router serves [`CSS`] there.
pub const CSS_PATH: &str = "/static/jisr.css";

/// Which language leads the page. Both languages are always shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Arabic leads: `<html lang="ar" dir="rtl">`.
    #[default]
    Ar,
    /// English leads: `<html lang="en" dir="ltr">`.
    En,
}

impl Lang {
    /// The first supported language of an OIDC `ui_locales` value (space-separated BCP 47
    /// tags, e.g. `"fr-CA en-GB ar"`), matched on the primary subtag in any case; Arabic when
    /// none is supported or the parameter is absent.
    pub fn from_ui_locales(ui_locales: Option<&str>) -> Lang {
        ui_locales
            .into_iter()
            .flat_map(str::split_whitespace)
            .find_map(|tag| {
                let primary = tag.split(['-', '_']).next().unwrap_or(tag);
                if primary.eq_ignore_ascii_case("ar") {
                    Some(Lang::Ar)
                } else if primary.eq_ignore_ascii_case("en") {
                    Some(Lang::En)
                } else {
                    None
                }
            })
            .unwrap_or_default()
    }

    /// The language tag: `"ar"` or `"en"`.
    pub const fn tag(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::En => "en",
        }
    }

    /// The text direction: `"rtl"` or `"ltr"`.
    pub const fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            Lang::En => "ltr",
        }
    }
}

/// The agency (OIDC client) the citizen is signing in to.
#[derive(Clone, Copy, Debug)]
pub struct Agency<'a> {
    pub name_en: &'a str,
    pub name_ar: &'a str,
    /// The destination country: where the agency is.
    pub country: CountryCode,
}

/// One button of the country picker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountryOption {
    pub country: CountryCode,
    /// False shows the button disabled with a "temporarily unavailable" note.
    pub available: bool,
    /// The country's IdP cannot reach the level of assurance this sign-in requires: the
    /// button is disabled with a note that says so (whatever `available` says).
    pub below_level: bool,
}

/// The country picker: one POST form with fields `flow`, `csrf` and `country` (alpha-2).
#[derive(Clone, Debug)]
pub struct PickerPage<'a> {
    pub lang: Lang,
    pub agency: Agency<'a>,
    /// Listed in this order.
    pub countries: Vec<CountryOption>,
    /// The form's `action` URL.
    pub action: &'a str,
    pub flow: &'a str,
    pub csrf: &'a str,
    /// A link to the same page in the other language; omitted unless it is a relative URL
    /// or an `http(s)` URL.
    pub switch_url: Option<String>,
}

/// One attribute that will be released to the agency.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub claim: SharedClaim,
    /// Already in words (see [`values`]): in each language, or one neutral text.
    pub value: Shown,
}

/// The consent page: one POST form with fields `flow`, `csrf` and `decision` (`allow` or
/// `deny`).
#[derive(Clone, Debug)]
pub struct ConsentPage<'a> {
    pub lang: Lang,
    pub agency: Agency<'a>,
    /// The citizen's country, whose national IdP authenticated them.
    pub origin: CountryCode,
    pub idp_name: &'a str,
    /// Exactly what will be released, listed in this order.
    pub attributes: Vec<Attribute>,
    /// What the person identifier is: the national number itself or a pseudonym for this
    /// agency's sector (labelled, and explained, accordingly).
    pub identifier: Disclosure,
    /// Why the agency asks, from its registration: `(English, Arabic)`.
    pub purpose: Option<(&'a str, &'a str)>,
    /// The agency's privacy notice, from its registration (shown only if http(s)).
    pub privacy_url: Option<&'a str>,
    pub action: &'a str,
    pub flow: &'a str,
    pub csrf: &'a str,
    pub switch_url: Option<String>,
}

/// The error page. Carries no token and no personal data: only the OAuth error code,
/// a non-sensitive message in both languages and the audit reference id.
#[derive(Clone, Debug)]
pub struct ErrorPage<'a> {
    pub lang: Lang,
    /// The OAuth/OIDC error code, e.g. `access_denied`.
    pub error: &'a str,
    pub message_en: &'a str,
    pub message_ar: &'a str,
    /// The id operators look up in the audit log.
    pub reference: &'a str,
    /// A button back to the agency, once its client and redirect URI are known good.
    pub back: Option<BackLink<'a>>,
}

/// The error page's button back to the agency.
#[derive(Clone, Copy, Debug)]
pub struct BackLink<'a> {
    /// The agency's redirect URI with the error (or, with `restart`, its site).
    pub href: &'a str,
    pub agency_en: &'a str,
    pub agency_ar: &'a str,
    /// The flow is gone: the button reads "Start again at …" rather than "Return to …".
    pub restart: bool,
}

/// Renders the country picker.
pub fn picker(page: &PickerPage<'_>) -> String {
    view::picker(page)
}

/// Renders the consent page.
pub fn consent(page: &ConsentPage<'_>) -> String {
    view::consent(page)
}

/// Renders the error page.
pub fn error(page: &ErrorPage<'_>) -> String {
    view::error(page)
}

/// The display name of a shared claim, `(English, Arabic)`.
pub const fn claim_label(claim: SharedClaim) -> (&'static str, &'static str) {
    match claim {
        SharedClaim::PersonIdentifier => ("Identifier", "المعرّف"),
        SharedClaim::FamilyName => ("Family name", "اسم العائلة"),
        SharedClaim::GivenName => ("Given name", "الاسم الأول"),
        SharedClaim::Birthdate => ("Date of birth", "تاريخ الميلاد"),
        SharedClaim::Gender => ("Gender", "الجنس"),
        SharedClaim::Nationalities => ("Nationality", "الجنسية"),
        SharedClaim::PlaceOfBirth => ("Place of birth", "مكان الميلاد"),
    }
}

/// The label of the person identifier, `(English, Arabic)`: a real national number is called
/// that; a pseudonym is called an identifier for this service only.
pub const fn identifier_label(kind: Disclosure) -> (&'static str, &'static str) {
    match kind {
        Disclosure::National => ("National identity number", "رقم الهوية الوطنية"),
        Disclosure::Pairwise => (
            "An identifier for this service only",
            "معرّف لهذه الخدمة فقط",
        ),
    }
}

/// Why that identifier is the one shared, `(English, Arabic)`.
pub const fn identifier_note(kind: Disclosure) -> (&'static str, &'static str) {
    match kind {
        Disclosure::National => (
            "Your national identity number itself is shared, because the agreement between \
             your country and the agency's country requires it for this service.",
            "تتم مشاركة رقم هويتك الوطنية نفسه، لأن الاتفاق بين دولتك ودولة الجهة يتطلب ذلك \
             لهذه الخدمة.",
        ),
        Disclosure::Pairwise => (
            "This is not your national identity number: it is a code made for this service \
             alone, so that it recognises you next time. Other services cannot use it to \
             link you.",
            "هذا ليس رقم هويتك الوطنية، بل رمز أُنشئ لهذه الخدمة وحدها لتتعرف عليك في المرة \
             القادمة، ولا تستطيع الخدمات الأخرى استخدامه لربط بياناتك.",
        ),
    }
}

/// The page returned if a template fails to render: static, bilingual, no request data.
pub const FALLBACK_PAGE: &str = concat!(
    "<!doctype html>\n",
    "<html lang=\"ar\" dir=\"rtl\"><head><meta charset=\"utf-8\">",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
    "<title>خطأ · Error</title>",
    "<link rel=\"stylesheet\" href=\"/static/jisr.css\"></head>",
    "<body><main class=\"page\">",
    "<h1 class=\"bi\"><span lang=\"ar\" dir=\"rtl\">حدث خطأ غير متوقع</span> ",
    "<span lang=\"en\" dir=\"ltr\">Something went wrong</span></h1>",
    "<div class=\"bi lead\">",
    "<p lang=\"ar\" dir=\"rtl\">يُرجى العودة إلى الخدمة والمحاولة مرة أخرى.</p>",
    "<p lang=\"en\" dir=\"ltr\">Please return to the service and try again.</p>",
    "</div>",
    "</main></body></html>\n",
);
