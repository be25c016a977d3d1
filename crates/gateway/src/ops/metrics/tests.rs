//! `observe` maps events to the right series; labels stay bounded.

use super::*;
use crate::http::reject::OAuthError;
use crate::ops::Trail;

fn cc(s: &str) -> CountryCode {
    s.parse().unwrap()
}

fn trail() -> Trail {
    Trail {
        flow: Some("flow-1".into()),
        client_id: Some("agency-a".into()),
        origin: Some(cc("SA")),
        destination: Some(cc("BH")),
        ..Trail::default()
    }
}

fn encoded(m: &Metrics) -> String {
    let mut out = String::new();
    encode_registry(&mut out, &m.registry).unwrap();
    out
}

#[test]
fn login_events_count_by_pair_and_agency() {
    let m = Metrics::default();
    let t = trail();
    m.observe(&Event::ok(EventKind::AuthorizationAccepted, &t));
    m.observe(&Event::ok(EventKind::CountryChosen, &t));
    m.observe(&Event::ok(EventKind::CodeIssued, &t));
    m.observe(&Event::ok(EventKind::CodeRedeemed, &t));
    m.observe(&Event::ok(EventKind::ConsentGiven, &t));
    let text = encoded(&m);
    for line in [
        r#"jisr_authorizations_total{destination="BH",agency="agency-a"} 1"#,
        r#"jisr_logins_started_total{origin="SA",destination="BH",agency="agency-a"} 1"#,
        r#"jisr_logins_completed_total{origin="SA",destination="BH",agency="agency-a"} 1"#,
        r#"jisr_tokens_issued_total{agency="agency-a"} 1"#,
        r#"jisr_consent_decisions_total{origin="SA",destination="BH",agency="agency-a",decision="given"} 1"#,
        r#"jisr_flow_events_total{event="code_issued",outcome="ok"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
}

#[test]
fn refusals_without_agency_or_origin_use_fixed_values() {
    let m = Metrics::default();
    let t = Trail::default();
    let event = Event {
        kind: EventKind::Refused,
        outcome: Outcome::Refused,
        trail: &t,
        reason: Some("unknown_client"),
        error: Some(OAuthError::InvalidRequest),
    };
    m.observe(&event);
    m.observe(&event);
    let text = encoded(&m);
    let line = r#"jisr_logins_refused_total{origin="none",destination="none",agency="unknown",reason="unknown_client"} 2"#;
    assert!(text.contains(line), "{text}");
}

#[test]
fn national_token_verifications_by_country_outcome_reason() {
    let m = Metrics::default();
    let t = trail();
    m.observe(&Event::ok(EventKind::NationalTokenVerified, &t));
    m.observe(&Event {
        kind: EventKind::NationalTokenRefused,
        outcome: Outcome::Refused,
        trail: &t,
        reason: Some("bad_signature"),
        error: None,
    });
    let text = encoded(&m);
    assert!(
        text.contains(
            r#"jisr_id_token_verifications_total{country="SA",outcome="ok",reason="none"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"jisr_id_token_verifications_total{country="SA",outcome="refused",reason="bad_signature"} 1"#
        ),
        "{text}"
    );
}

#[test]
fn prometheus_text_names_counter_families_by_their_samples() {
    let om = "# HELP jisr_x Things.\n# TYPE jisr_x counter\njisr_x_total{a=\"b\"} 2\n\
              # HELP jisr_g A gauge.\n# TYPE jisr_g gauge\n# UNIT jisr_g seconds\njisr_g 1\n# EOF\n";
    assert_eq!(
        to_prometheus_text(om),
        "# HELP jisr_x_total Things.\n# TYPE jisr_x_total counter\njisr_x_total{a=\"b\"} 2\n\
         # HELP jisr_g A gauge.\n# TYPE jisr_g gauge\njisr_g 1\n"
    );
}

#[test]
fn every_event_kind_and_outcome_is_counted_in_its_own_flow_events_series() {
    let m = Metrics::default();
    let t = trail();
    for (i, kind) in EventKind::ALL.iter().enumerate() {
        // The counters made at start are indexed by declaration order.
        assert_eq!(*kind as usize, i, "{kind:?} out of order in EventKind::ALL");
        let mut e = Event::ok(*kind, &t);
        m.observe(&e);
        e.outcome = Outcome::Refused;
        m.observe(&e);
        m.observe(&e);
    }
    let text = encoded(&m);
    for kind in EventKind::ALL {
        let ok = format!(
            "jisr_flow_events_total{{event=\"{}\",outcome=\"ok\"}} 1\n",
            kind.name()
        );
        let refused = format!(
            "jisr_flow_events_total{{event=\"{}\",outcome=\"refused\"}} 2\n",
            kind.name()
        );
        assert!(text.contains(&ok), "{ok} missing in\n{text}");
        assert!(text.contains(&refused), "{refused} missing in\n{text}");
    }
}
