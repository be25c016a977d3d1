//! The bilingual pages: Arabic parts `dir="rtl"`, English `dir="ltr"`, no scripts and no
//! inline styles (one stylesheet at `/static/agency.css`). Rendered with askama from
//! `templates/` (checked at compile time, every value HTML-escaped).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jisr_mapping::CountryCode;

use super::AgencyView;
use super::person::Person;

pub(crate) const CSS: &str = include_str!("../../templates/agency.css");

/// The texts of an error page.
pub(crate) struct ErrorText<'a> {
    pub title_en: &'static str,
    pub title_ar: &'static str,
    pub text_en: &'static str,
    pub text_ar: &'static str,
    /// The OAuth error code, shown as is.
    pub code: Option<&'a str>,
    /// A non-sensitive technical detail.
    pub detail: Option<String>,
}

/// A run of text in one language (`(lang, dir)`), or isolated with `<bdi>` when `None`.
struct Run {
    text: String,
    lang: Option<(&'static str, &'static str)>,
}

const AR: Option<(&str, &str)> = Some(("ar", "rtl"));
const EN: Option<(&str, &str)> = Some(("en", "ltr"));

/// Which language leads the agency's pages: `<html lang dir>`, and the `ui_locales` its
/// sign-in button asks the gateway for (`/login?lang=…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Ar,
    En,
}

impl Lang {
    /// `en` from a `?lang=` value; Arabic otherwise (as `/login` without `lang`).
    pub(crate) fn parse(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Ar,
        }
    }

    const fn tag(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::En => "en",
        }
    }
}

/// What every page shows around its content (see `base.html`).
struct Frame<'a> {
    title: &'a str,
    name_en: &'a str,
    name_ar: &'a str,
    country: Vec<Run>,
    lang: &'static str,
    dir: &'static str,
    /// The other language: its tag and the switch's label.
    other: (&'static str, &'static str),
    /// The other demo agencies, linked in the footer.
    siblings: &'a [super::Sibling],
}

impl<'a> Frame<'a> {
    fn new(agency: &'a AgencyView, title: &'a str) -> Self {
        Frame::in_lang(agency, title, Lang::En)
    }

    fn in_lang(agency: &'a AgencyView, title: &'a str, lang: Lang) -> Self {
        let (dir, other) = match lang {
            Lang::Ar => ("rtl", ("en", "English")),
            Lang::En => ("ltr", ("ar", "العربية")),
        };
        Frame {
            title,
            name_en: &agency.name_en,
            name_ar: &agency.name_ar,
            country: country(agency.country.as_str()),
            lang: lang.tag(),
            dir,
            other,
            siblings: &agency.siblings,
        }
    }
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct Welcome<'a> {
    frame: Frame<'a>,
}

#[derive(Template)]
#[template(path = "signed_in.html")]
struct SignedIn<'a> {
    frame: Frame<'a>,
    rows: Vec<Row>,
    verified_claims: Option<&'a str>,
    /// Nothing: renders as "not received".
    no_runs: Vec<Run>,
}

struct Row {
    label_en: &'static str,
    label_ar: &'static str,
    value: Vec<Run>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame<'a>,
    title_en: &'static str,
    title_ar: &'static str,
    text_en: &'static str,
    text_ar: &'static str,
    code: Option<&'a str>,
    detail: Option<&'a str>,
}

/// `/`: the sign-in button, or the signed-in person, led in `lang`.
pub(crate) fn home(agency: &AgencyView, person: Option<&Person>, lang: Lang) -> Response {
    let frame = Frame::in_lang(agency, "Home", lang);
    match person {
        None => render(StatusCode::OK, &Welcome { frame }),
        Some(p) => render(
            StatusCode::OK,
            &SignedIn {
                frame,
                rows: rows(p),
                verified_claims: p.verified_claims.as_deref(),
                no_runs: Vec::new(),
            },
        ),
    }
}

/// A failed or refused sign-in, with a way to try again.
pub(crate) fn error(agency: &AgencyView, status: StatusCode, t: &ErrorText<'_>) -> Response {
    let page = ErrorPage {
        frame: Frame::new(agency, t.title_en),
        title_en: t.title_en,
        title_ar: t.title_ar,
        text_en: t.text_en,
        text_ar: t.text_ar,
        code: t.code,
        detail: t.detail.as_deref(),
    };
    render(status, &page)
}

/// The page with `Cache-Control: no-store`; a template that fails to render is a 500.
fn render(status: StatusCode, page: &impl Template) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "demo agency page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The person table, one row per attribute; an absent value shows as "not received".
fn rows(p: &Person) -> Vec<Row> {
    let run = |value: &Option<String>, lang| {
        value
            .iter()
            .map(|text| Run {
                text: text.clone(),
                lang,
            })
            .collect()
    };
    let row = |label_en, label_ar, value| Row {
        label_en,
        label_ar,
        value,
    };
    vec![
        row(
            "Name (Arabic)",
            "الاسم بالعربية",
            run(&join(&p.given_ar, &p.family_ar), AR),
        ),
        row(
            "Name (English)",
            "الاسم بالإنجليزية",
            run(&join(&p.given_en, &p.family_en), EN),
        ),
        row("Date of birth", "تاريخ الميلاد", run(&p.birthdate, None)),
        row(
            "Person identifier",
            "معرّف الشخص",
            run(&p.person_identifier, None),
        ),
        row(
            "Subject (sub)",
            "المعرّف لدى الجهة (sub)",
            run(&Some(p.sub.clone()), None),
        ),
        row(
            "Origin country",
            "دولة المنشأ",
            p.origin_country.as_deref().map(country).unwrap_or_default(),
        ),
        row(
            "Destination country",
            "دولة الوجهة",
            p.destination_country
                .as_deref()
                .map(country)
                .unwrap_or_default(),
        ),
        row(
            "Level of assurance (acr)",
            "مستوى الضمان (acr)",
            run(&p.acr, None),
        ),
        row(
            "Assurance level (verified)",
            "مستوى الضمان المُتحقق منه",
            run(&p.assurance_level, None),
        ),
        row(
            "Authenticated by",
            "جهة التحقق",
            run(&p.authenticated_by, None),
        ),
    ]
}

/// "SA · Saudi Arabia · المملكة العربية السعودية", or the code alone outside the GCC.
fn country(code: &str) -> Vec<Run> {
    let mut runs = vec![Run {
        text: code.to_owned(),
        lang: None,
    }];
    if let Some(g) = code.parse::<CountryCode>().ok().and_then(|c| c.gcc()) {
        runs.push(Run {
            text: g.name_en().to_owned(),
            lang: EN,
        });
        runs.push(Run {
            text: g.name_ar().to_owned(),
            lang: AR,
        });
    }
    runs
}

fn join(given: &Option<String>, family: &Option<String>) -> Option<String> {
    match (given, family) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency() -> AgencyView {
        AgencyView {
            name_en: "Ministry of Health (demo)".into(),
            name_ar: "وزارة الصحة (تجريبي)".into(),
            country: "BH".parse().unwrap(),
            siblings: Vec::new(),
        }
    }

    async fn text(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn values_are_escaped_and_no_script_or_inline_style() {
        let person = Person {
            given_en: Some("<script>alert(1)</script>".into()),
            verified_claims: Some("{\"x\": \"</pre><b>\"}".into()),
            sub: "s".into(),
            origin_country: Some("SA".into()),
            ..Person::default()
        };
        let html = text(home(&agency(), Some(&person), Lang::En)).await;
        assert!(html.contains("<a href=\"/?lang=ar\" hreflang=\"ar\" lang=\"ar\">العربية</a>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("style="));
        assert!(html.contains("&#60;script&#62;"));
        assert!(html.contains("&#60;/pre&#62;&#60;b&#62;"));
        assert!(html.contains("Saudi Arabia"));
        assert!(
            html.contains("not received"),
            "missing claims are shown as missing"
        );
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\" dir=\"ltr\">"));
    }

    #[tokio::test]
    async fn the_home_page_switches_language_and_its_button_asks_for_it() {
        let ar = text(home(&agency(), None, Lang::parse(None))).await;
        assert!(
            ar.starts_with("<!doctype html>\n<html lang=\"ar\" dir=\"rtl\">"),
            "{ar}"
        );
        assert!(ar.contains("href=\"/login?lang=ar\""), "{ar}");
        assert!(ar.contains("href=\"/?lang=en\""), "{ar}");
        let en = text(home(&agency(), None, Lang::parse(Some("en")))).await;
        assert!(
            en.starts_with("<!doctype html>\n<html lang=\"en\" dir=\"ltr\">"),
            "{en}"
        );
        assert!(en.contains("href=\"/login?lang=en\""), "{en}");
        assert!(!en.contains("Other demo agencies"), "no siblings, no links");
    }

    #[tokio::test]
    async fn every_page_links_the_other_demo_agencies_in_both_languages() {
        let agency = AgencyView {
            siblings: vec![super::super::Sibling {
                name_en: "Ministry of Labour (demo)".into(),
                name_ar: "وزارة العمل (تجريبي)".into(),
                url: "http://127.0.0.1:8082".into(),
            }],
            ..agency()
        };
        let html = text(home(&agency, None, Lang::En)).await;
        assert!(
            html.contains(
                "<a href=\"http://127.0.0.1:8082/?lang=en\" lang=\"en\">Ministry of Labour (demo)</a>"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<a href=\"http://127.0.0.1:8082/?lang=ar\" lang=\"ar\">وزارة العمل (تجريبي)</a>"
            ),
            "{html}"
        );
    }
}
