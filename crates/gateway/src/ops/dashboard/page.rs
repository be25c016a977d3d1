//! The dashboard page (askama): one language at a time with a switch, Arabic right-to-left,
//! large type for a wall screen. No external script or style: one stylesheet and one small
//! script from this listener (CSP `script-src 'self'`); charts are inline SVG drawn here.
//! The script polls `/api/overview` and, when something changed, reloads the panels.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jisr_mapping::CountryCode;
use jisr_store::fleet::Suspension;
use serde::Deserialize;

use super::overview::{self, KeyStatus, Overview, StoreStatus, UpstreamStatus};
use super::session::{self, Session, Want};
use super::texts::Texts;
use crate::app::Gateway;
use crate::config::gateway::admin::Role;
use crate::http::response;
pub use crate::pages::Lang;

pub const CSS_PATH: &str = "/static/dashboard.css";
pub const JS_PATH: &str = "/static/dashboard.js";
const CSS: &str = include_str!("../../../templates/dashboard.css");
const JS: &str = include_str!("../../../templates/dashboard.js");

/// The dashboard's CSP: this listener's own script, style and API only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `?lang=en` or `?lang=ar` (the default).
pub fn lang(tag: Option<&str>) -> Lang {
    match tag {
        Some("en") => Lang::En,
        _ => Lang::Ar,
    }
}

fn country_name(code: &str, lang: Lang) -> String {
    code.parse::<CountryCode>()
        .ok()
        .and_then(|c| c.gcc())
        .map(|g| match lang {
            Lang::Ar => g.name_ar().to_owned(),
            Lang::En => g.name_en().to_owned(),
        })
        .unwrap_or_else(|| code.to_owned())
}

/// `HH:MM:SS` (UTC) of a time in seconds since the epoch.
pub fn clock_time(at: i64) -> String {
    let s = at.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

struct Column {
    code: String,
    name: String,
}

struct Row {
    code: String,
    name: String,
    cells: Vec<CellView>,
}

struct CellView {
    diagonal: bool,
    completed: u64,
    refused: u64,
    reasons: Vec<(String, u64)>,
    suspended: bool,
    label: String,
}

struct Chart {
    label: String,
    completed: u64,
    refused: u64,
    bars: Vec<Bar>,
}

struct Bar {
    x: u32,
    ok_y: u32,
    ok_h: u32,
    bad_y: u32,
    bad_h: u32,
}

struct EventView {
    time: String,
    kind: String,
    pair: String,
    agency: String,
    outcome: String,
    refused: bool,
    reason: String,
}

struct SuspensionView {
    label: String,
    origin: String,
    destination: String,
}

struct IdpView<'a> {
    name: String,
    u: &'a UpstreamStatus,
    jwks_age: String,
    latency: String,
    calls: String,
    key_ids: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    dir: &'static str,
    other: &'static str,
    operator: &'a str,
    role: &'static str,
    is_admin: bool,
    csrf: &'a str,
    fleet_wide: bool,
    updated: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    charts: Vec<Chart>,
    idps: Vec<IdpView<'a>>,
    keys: &'a [KeyStatus],
    store: &'a StoreStatus,
    dropped: u64,
    fleet_error: Option<&'a str>,
    events: Vec<EventView>,
    suspended: Vec<SuspensionView>,
}

const CHART_H: u32 = 48;

fn chart(points: &[(i64, u64, u64)]) -> Vec<Bar> {
    let max = points.iter().map(|p| p.1 + p.2).max().unwrap_or(0).max(1);
    let scale = |n: u64| ((n * u64::from(CHART_H)).div_ceil(max)) as u32;
    points
        .iter()
        .enumerate()
        .map(|(i, &(_, ok, bad))| {
            let ok_h = scale(ok).min(CHART_H);
            let bad_h = scale(bad).min(CHART_H - ok_h);
            Bar {
                x: i as u32 * 10,
                ok_y: CHART_H - ok_h,
                ok_h,
                bad_y: CHART_H - ok_h - bad_h,
                bad_h,
            }
        })
        .collect()
}

fn render(o: &Overview, s: &Session, lang: Lang) -> String {
    let t = lang.texts();
    let name = |c: &str| country_name(c, lang);
    // The arrow points the way the language reads: origin first.
    let arrow = match lang {
        Lang::Ar => "←",
        Lang::En => "→",
    };
    let pair = |o: &str, d: &str| format!("{} {arrow} {}", name(o), name(d));
    let columns = o
        .countries
        .iter()
        .map(|c| Column {
            code: c.clone(),
            name: name(c),
        })
        .collect();
    let rows = o
        .countries
        .iter()
        .map(|origin| Row {
            code: origin.clone(),
            name: name(origin),
            cells: o
                .countries
                .iter()
                .map(|dest| {
                    let found = o
                        .matrix
                        .iter()
                        .find(|c| &c.origin == origin && &c.destination == dest);
                    CellView {
                        diagonal: origin == dest,
                        completed: found.map_or(0, |c| c.completed),
                        refused: found.map_or(0, |c| c.refused),
                        reasons: found.map(|c| c.reasons.clone()).unwrap_or_default(),
                        suspended: overview::is_suspended(&o.suspended, origin, dest),
                        label: pair(origin, dest),
                    }
                })
                .collect(),
        })
        .collect();
    let charts = o
        .series
        .iter()
        .map(|p| Chart {
            label: pair(&p.origin, &p.destination),
            completed: p.points.iter().map(|x| x.1).sum(),
            refused: p.points.iter().map(|x| x.2).sum(),
            bars: chart(&p.points),
        })
        .collect();
    let idps = o
        .upstreams
        .iter()
        .map(|u| IdpView {
            name: name(&u.country),
            jwks_age: u
                .jwks_age_secs
                .map(|a| format!("{} ({a}{})", u.jwks_fetches, t.ago))
                .unwrap_or_else(|| u.jwks_fetches.to_string()),
            latency: match (u.p50_ms, u.p95_ms) {
                (Some(a), Some(b)) => format!("{a:.0} / {b:.0} ms"),
                _ => "—".into(),
            },
            calls: match (u.calls, u.errors) {
                (Some(c), Some(e)) => format!("{c} / {e}"),
                _ => "—".into(),
            },
            key_ids: if u.key_ids.is_empty() {
                "—".into()
            } else {
                u.key_ids.join(", ")
            },
            u,
        })
        .collect();
    let events = o
        .events
        .iter()
        .map(|e| EventView {
            time: clock_time(e.at),
            kind: e.kind.clone(),
            pair: match (&e.origin, &e.destination) {
                (Some(a), Some(b)) => format!("{a} → {b}"),
                (Some(a), None) => a.clone(),
                _ => "—".into(),
            },
            agency: e.agency.clone().unwrap_or_else(|| "—".into()),
            refused: e.outcome == "refused",
            outcome: e.outcome.clone(),
            reason: match (&e.reason, &e.operator) {
                (Some(r), Some(op)) => format!("{r} · {op}"),
                (Some(r), None) => r.clone(),
                _ => String::new(),
            },
        })
        .collect();
    let suspended = o
        .suspended
        .iter()
        .map(|x| match x {
            Suspension::Country { origin } => SuspensionView {
                label: format!("{} {arrow} {}", name(origin), t.all_destinations),
                origin: origin.clone(),
                destination: String::new(),
            },
            Suspension::Pair {
                origin,
                destination,
            } => SuspensionView {
                label: pair(origin, destination),
                origin: origin.clone(),
                destination: destination.clone(),
            },
        })
        .collect();
    let page = DashboardPage {
        t,
        lang: lang.tag(),
        dir: lang.dir(),
        other: match lang {
            Lang::Ar => "en",
            Lang::En => "ar",
        },
        operator: &s.sub,
        role: s.role.role().name(),
        is_admin: s.role.role() == Role::Admin,
        csrf: &s.csrf,
        fleet_wide: o.scope == "redis",
        updated: clock_time(o.generated_at),
        columns,
        rows,
        charts,
        idps,
        keys: &o.keys,
        store: &o.store,
        dropped: o.replica_dropped + o.replica_failed,
        fleet_error: o.fleet_error.as_deref(),
        events,
        suspended,
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "dashboard failed to render");
        crate::pages::FALLBACK_PAGE.to_owned()
    })
}

fn with_csp(mut r: Response) -> Response {
    response::no_store(&mut r);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    lang: Option<String>,
}

/// `GET /`: the dashboard; without a session, a redirect to sign-in.
pub async fn dashboard(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<PageParams>,
) -> Response {
    let s = match session::require(&gw, &headers, Want::Page, Role::Viewer).await {
        Ok(s) => s,
        Err(denied) => return denied.into_response(),
    };
    gw.ops.fleet.start();
    let o = overview::build(&gw).await;
    with_csp(
        (
            StatusCode::OK,
            response::html(render(&o, &s, lang(q.lang.as_deref()))),
        )
            .into_response(),
    )
}

/// Why a sign-in page is shown instead of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    NotConfigured,
    IdpDown,
    SignInExpired,
    SignInFailed,
    NotAnOperator,
}

#[derive(Template)]
#[template(path = "dashboard_notice.html")]
struct NoticePage {
    lang: &'static str,
    dir: &'static str,
    en: &'static str,
    ar: &'static str,
}

/// A bilingual notice page (sign-in problems), with a link to sign in again.
pub fn notice(status: StatusCode, lang: Lang, notice: Notice) -> Response {
    let (en, ar) = notice.text();
    let html = NoticePage {
        lang: lang.tag(),
        dir: lang.dir(),
        en,
        ar,
    }
    .render()
    .unwrap_or_else(|_| crate::pages::FALLBACK_PAGE.to_owned());
    with_csp((status, response::html(html)).into_response())
}

pub async fn css() -> Response {
    static_file(CSS, "text/css; charset=utf-8")
}

pub async fn js() -> Response {
    static_file(JS, "text/javascript; charset=utf-8")
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_time_is_utc_hh_mm_ss() {
        assert_eq!(clock_time(0), "00:00:00");
        assert_eq!(clock_time(1_800_000_000), "08:00:00");
        assert_eq!(clock_time(86_399), "23:59:59");
    }

    #[test]
    fn chart_bars_stack_within_the_height() {
        let bars = chart(&[(0, 3, 1), (60, 0, 0), (120, 0, 4)]);
        assert_eq!(bars[0].ok_h + bars[0].bad_h, CHART_H);
        assert_eq!((bars[1].ok_h, bars[1].bad_h), (0, 0));
        assert_eq!(bars[2].bad_h, CHART_H);
        assert_eq!(bars[2].x, 20);
    }
}
