//! The two HTML pages: the bilingual citizen chooser and the bilingual error page, rendered
//! with askama (`templates/`: checked at compile time, every value HTML-escaped).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jisr_mapping::CountryCode;

use crate::citizens::citizens;

#[derive(Template)]
#[template(path = "chooser.html")]
struct Chooser {
    name_en: &'static str,
    name_ar: &'static str,
    /// Operator mode: the links are staff accounts.
    operators: bool,
    citizens: Vec<CitizenLink>,
}

struct CitizenLink {
    href: String,
    given_en: &'static str,
    family_en: &'static str,
    given_ar: &'static str,
    family_ar: &'static str,
    id: &'static str,
    note: &'static str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    description: &'a str,
}

/// This same request plus `login_hint`.
fn with_hint(params: &[(String, String)], hint: &str) -> String {
    let mut query: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k != "login_hint")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    query.push(("login_hint", hint));
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string(&query).unwrap_or_default()
    )
}

/// The synthetic citizens (or, in operator mode, staff accounts) as links: each is this same
/// request plus their `login_hint`.
pub(super) fn chooser(
    country: CountryCode,
    operators: bool,
    params: &[(String, String)],
) -> Response {
    if operators {
        let people = crate::operators::operators()
            .iter()
            .map(|o| CitizenLink {
                href: with_hint(params, o.id),
                given_en: o.name_en,
                family_en: "",
                given_ar: o.name_ar,
                family_ar: "",
                id: o.id,
                note: o.note,
            })
            .collect();
        let page = Chooser {
            name_en: "Jisr operators",
            name_ar: "مشغلو جسر",
            operators: true,
            citizens: people,
        };
        return render(StatusCode::OK, &page);
    }
    let (name_en, name_ar) = country
        .gcc()
        .map_or(("", ""), |g| (g.name_en(), g.name_ar()));
    let citizens = citizens(country)
        .iter()
        .map(|c| CitizenLink {
            href: with_hint(params, c.id),
            given_en: c.given_en,
            family_en: c.family_en,
            given_ar: c.given_ar,
            family_ar: c.family_ar,
            id: c.id,
            note: c.note,
        })
        .collect();
    let page = Chooser {
        name_en,
        name_ar,
        operators: false,
        citizens,
    };
    render(StatusCode::OK, &page)
}

/// A bilingual error page for requests whose redirect URI cannot be trusted.
pub(super) fn error(status: StatusCode, description: &str) -> Response {
    render(status, &ErrorPage { description })
}

/// The page with `Cache-Control: no-store`; a template that fails to render is a 500.
fn render(status: StatusCode, page: &impl Template) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "devidp page failed to render");
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn values_are_escaped() {
        let html = text(error(
            StatusCode::BAD_REQUEST,
            "<script>\"x\" & 'y'</script>",
        ))
        .await;
        assert!(
            html.contains("&#60;script&#62;&#34;x&#34; &#38; &#39;y&#39;&#60;/script&#62;"),
            "{html}"
        );
        let params = vec![("state".to_owned(), "a\"><b>&c".to_owned())];
        let html = text(chooser("BH".parse().unwrap(), false, &params)).await;
        assert!(!html.contains("\"><b>"), "{html}");
        assert!(
            html.contains("state=a%22%3E%3Cb%3E%26c&#38;login_hint="),
            "{html}"
        );
    }
}
