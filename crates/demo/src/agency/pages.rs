//! The bilingual pages: Arabic parts `dir="rtl"`, English `dir="ltr"`, no scripts and no
//! inline styles (one stylesheet at `/static/agency.css`). Every value is HTML-escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jisr_mapping::CountryCode;

use super::AgencyView;
use super::person::Person;

pub(crate) const CSS: &str = include_str!("agency.css");

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

/// `/`: the sign-in button, or the signed-in person.
pub(crate) fn home(agency: &AgencyView, person: Option<&Person>) -> Response {
    let body = match person {
        None => format!(
            "<section class=\"pair\">\n\
             <div lang=\"ar\" dir=\"rtl\"><h1>مرحبًا بكم</h1>\
             <p>سجّل الدخول بهويتك الرقمية الوطنية من أي دولة في مجلس التعاون لاستخدام خدمات {ar}.</p></div>\n\
             <div lang=\"en\" dir=\"ltr\"><h1>Welcome</h1>\
             <p>Sign in with the national digital identity of any GCC state to use the services of the {en}.</p></div>\n\
             </section>\n\
             <p class=\"actions\"><a class=\"button\" href=\"/login\">\
             <span lang=\"ar\" dir=\"rtl\">تسجيل الدخول بهويتك الرقمية الخليجية</span>\
             <span lang=\"en\" dir=\"ltr\">Sign in with your GCC national digital identity</span>\
             </a></p>\n",
            ar = escape(&agency.name_ar),
            en = escape(&agency.name_en),
        ),
        Some(person) => signed_in(person),
    };
    page(agency, StatusCode::OK, "Home", &body)
}

fn signed_in(p: &Person) -> String {
    let mut rows = String::new();
    let name_ar = join(&p.given_ar, &p.family_ar);
    let name_en = join(&p.given_en, &p.family_en);
    row(
        &mut rows,
        "Name (Arabic)",
        "الاسم بالعربية",
        name_ar.as_deref(),
        Some("ar"),
    );
    row(
        &mut rows,
        "Name (English)",
        "الاسم بالإنجليزية",
        name_en.as_deref(),
        Some("en"),
    );
    row(
        &mut rows,
        "Date of birth",
        "تاريخ الميلاد",
        p.birthdate.as_deref(),
        None,
    );
    row(
        &mut rows,
        "Person identifier",
        "معرّف الشخص",
        p.person_identifier.as_deref(),
        None,
    );
    row(
        &mut rows,
        "Subject (sub)",
        "المعرّف لدى الجهة (sub)",
        Some(&p.sub),
        None,
    );
    let origin = p.origin_country.as_deref().map(country);
    let destination = p.destination_country.as_deref().map(country);
    raw_row(
        &mut rows,
        "Origin country",
        "دولة المنشأ",
        origin.as_deref(),
    );
    raw_row(
        &mut rows,
        "Destination country",
        "دولة الوجهة",
        destination.as_deref(),
    );
    row(
        &mut rows,
        "Level of assurance (acr)",
        "مستوى الضمان (acr)",
        p.acr.as_deref(),
        None,
    );
    row(
        &mut rows,
        "Assurance level (verified)",
        "مستوى الضمان المُتحقق منه",
        p.assurance_level.as_deref(),
        None,
    );
    row(
        &mut rows,
        "Authenticated by",
        "جهة التحقق",
        p.authenticated_by.as_deref(),
        None,
    );
    let claims = match &p.verified_claims {
        Some(json) => format!("<pre dir=\"ltr\">{}</pre>", escape(json)),
        None => format!("<p>{}</p>", missing()),
    };
    format!(
        "<section class=\"pair\">\n\
         <div lang=\"ar\" dir=\"rtl\"><h1>تم تسجيل دخولك</h1>\
         <p>هذه هي البيانات التي استلمتها الوزارة عبر بوابة جسر.</p></div>\n\
         <div lang=\"en\" dir=\"ltr\"><h1>You are signed in</h1>\
         <p>This is what the ministry received through the Jisr gateway.</p></div>\n\
         </section>\n\
         <table class=\"person\">\n{rows}</table>\n\
         <h2><span lang=\"ar\" dir=\"rtl\">المطالبات المُتحقق منها</span> \
         <span lang=\"en\" dir=\"ltr\">Verified claims</span> <code>verified_claims</code></h2>\n\
         {claims}\n\
         <p class=\"actions\"><a class=\"button secondary\" href=\"/logout\">\
         <span lang=\"ar\" dir=\"rtl\">تسجيل الخروج</span>\
         <span lang=\"en\" dir=\"ltr\">Sign out</span></a></p>\n"
    )
}

/// A failed or refused sign-in, with a way to try again.
pub(crate) fn error(agency: &AgencyView, status: StatusCode, t: &ErrorText<'_>) -> Response {
    let code = t
        .code
        .map(|c| format!("<code>{}</code>", escape(c)))
        .unwrap_or_default();
    let detail = t
        .detail
        .as_deref()
        .map(|d| format!("<span class=\"detail\">{}</span>", escape(d)))
        .unwrap_or_default();
    let technical = if code.is_empty() && detail.is_empty() {
        String::new()
    } else {
        format!("<p class=\"technical\" dir=\"ltr\">{code} {detail}</p>\n")
    };
    let body = format!(
        "<section class=\"pair error\">\n\
         <div lang=\"ar\" dir=\"rtl\"><h1>{}</h1><p>{}</p></div>\n\
         <div lang=\"en\" dir=\"ltr\"><h1>{}</h1><p>{}</p></div>\n\
         </section>\n{technical}\
         <p class=\"actions\"><a class=\"button\" href=\"/login\">\
         <span lang=\"ar\" dir=\"rtl\">حاول مرة أخرى</span><span lang=\"en\" dir=\"ltr\">Try again</span></a> \
         <a href=\"/\"><span lang=\"ar\" dir=\"rtl\">الصفحة الرئيسية</span> · \
         <span lang=\"en\" dir=\"ltr\">Home</span></a></p>\n",
        t.title_ar, t.text_ar, t.title_en, t.text_en,
    );
    page(agency, status, t.title_en, &body)
}

fn page(agency: &AgencyView, status: StatusCode, title: &str, body: &str) -> Response {
    let country = country(agency.country.as_str());
    let html = format!(
        "<!doctype html>\n<html lang=\"en\" dir=\"ltr\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — {name_en}</title>\
         <link rel=\"stylesheet\" href=\"/static/agency.css\"></head>\n<body>\n\
         <header class=\"masthead\"><div class=\"pair\">\
         <p class=\"agency\" lang=\"ar\" dir=\"rtl\">{name_ar}</p>\
         <p class=\"agency\" lang=\"en\" dir=\"ltr\">{name_en}</p></div>\
         <p class=\"country\">{country}</p></header>\n<main>\n{body}</main>\n\
         <footer class=\"pair\"><p lang=\"ar\" dir=\"rtl\">خدمة تجريبية — جميع البيانات وهمية.</p>\
         <p lang=\"en\" dir=\"ltr\">Demonstration service — all data is synthetic.</p></footer>\n\
         </body>\n</html>\n",
        title = escape(title),
        name_en = escape(&agency.name_en),
        name_ar = escape(&agency.name_ar),
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// One table row; `lang` marks the value's language (Arabic values right-to-left).
fn row(rows: &mut String, en: &str, ar: &str, value: Option<&str>, lang: Option<&str>) {
    let value = value.map(|v| match lang {
        Some("ar") => format!("<span lang=\"ar\" dir=\"rtl\">{}</span>", escape(v)),
        Some(l) => format!("<span lang=\"{l}\" dir=\"ltr\">{}</span>", escape(v)),
        None => format!("<bdi>{}</bdi>", escape(v)),
    });
    raw_row(rows, en, ar, value.as_deref());
}

/// A row whose value is already HTML.
fn raw_row(rows: &mut String, en: &str, ar: &str, html: Option<&str>) {
    let missing = missing();
    rows.push_str(&format!(
        "<tr><th><span lang=\"ar\" dir=\"rtl\">{ar}</span><span lang=\"en\" dir=\"ltr\">{en}</span></th>\
         <td>{}</td></tr>\n",
        html.unwrap_or(&missing)
    ));
}

fn missing() -> String {
    "<span class=\"missing\"><span lang=\"ar\" dir=\"rtl\">لم تُستلم</span> · \
     <span lang=\"en\" dir=\"ltr\">not received</span></span>"
        .to_owned()
}

/// "SA · Saudi Arabia · المملكة العربية السعودية", or the code alone outside the GCC.
fn country(code: &str) -> String {
    match code.parse::<CountryCode>().ok().and_then(|c| c.gcc()) {
        Some(g) => format!(
            "<bdi>{}</bdi> · <span lang=\"en\" dir=\"ltr\">{}</span> · \
             <span lang=\"ar\" dir=\"rtl\">{}</span>",
            escape(code),
            g.name_en(),
            g.name_ar()
        ),
        None => format!("<bdi>{}</bdi>", escape(code)),
    }
}

fn join(given: &Option<String>, family: &Option<String>) -> Option<String> {
    match (given, family) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => None,
    }
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency() -> AgencyView {
        AgencyView {
            name_en: "Ministry of Health (demo)".into(),
            name_ar: "وزارة الصحة (تجريبي)".into(),
            country: "BH".parse().unwrap(),
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
        let html = text(home(&agency(), Some(&person))).await;
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("style="));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("&lt;/pre&gt;&lt;b&gt;"));
        assert!(html.contains("Saudi Arabia"));
        assert!(
            html.contains("not received"),
            "missing claims are shown as missing"
        );
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\" dir=\"ltr\">"));
    }
}
