//! The two HTML pages: the bilingual citizen chooser and the bilingual error page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jisr_mapping::CountryCode;

use crate::citizens::citizens;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
padding:0 1rem}li{margin:.5rem 0}.ar{font-family:'Noto Naskh Arabic',serif}\
small{color:#666}";

/// The synthetic citizens as links: each is this same request plus their `login_hint`.
pub(super) fn chooser(country: CountryCode, params: &[(String, String)]) -> Response {
    let (name_en, name_ar) = country
        .gcc()
        .map_or(("", ""), |g| (g.name_en(), g.name_ar()));
    let mut items = String::new();
    for c in citizens(country) {
        let mut query: Vec<(&str, &str)> = params
            .iter()
            .filter(|(k, _)| k != "login_hint")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        query.push(("login_hint", c.id));
        let href = format!(
            "/authorize?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        );
        items.push_str(&format!(
            "<li><a href=\"{}\"><span lang=\"en\">{} {}</span> — \
             <span lang=\"ar\" dir=\"rtl\" class=\"ar\">{} {}</span></a> \
             <small>{} · {}</small></li>\n",
            escape(&href),
            escape(c.given_en),
            escape(c.family_en),
            escape(c.given_ar),
            escape(c.family_ar),
            escape(c.id),
            escape(c.note),
        ));
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Development IdP — {name_en}</title><style>{STYLE}</style></head><body>\n\
         <h1 lang=\"ar\" dir=\"rtl\" class=\"ar\">بوابة الهوية التجريبية — {name_ar}</h1>\n\
         <h1>Development identity provider — {name_en}</h1>\n\
         <p lang=\"ar\" dir=\"rtl\" class=\"ar\">اختر مواطنًا تجريبيًا لتسجيل الدخول. جميع البيانات وهمية.</p>\n\
         <p>Choose a synthetic citizen to sign in as. All data is invented.</p>\n\
         <ul>\n{items}</ul>\n</body></html>\n"
    );
    with_no_store(StatusCode::OK, body)
}

/// A bilingual error page for requests whose redirect URI cannot be trusted.
pub(super) fn error(status: StatusCode, description: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Invalid request</title><style>{STYLE}</style></head><body>\n\
         <h1 lang=\"ar\" dir=\"rtl\" class=\"ar\">طلب غير صالح</h1>\n\
         <h1>Invalid request</h1>\n<p><code>invalid_request</code>: {}</p>\n</body></html>\n",
        escape(description)
    );
    with_no_store(status, body)
}

fn with_no_store(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn escape(s: &str) -> String {
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
