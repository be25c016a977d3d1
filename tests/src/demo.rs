//! The one-process demo as the tests start it: every port 0, the agency in a chosen country.

use std::sync::Arc;

use jisr_demo::{Demo, DemoOptions};
use jisr_gateway::config::agencies::{Agency, AgencyAuth, Secret};
use jisr_store::Store;

use crate::cc;

/// The demo with its agency in `agency_country`, and a second agency (`other-agency`,
/// `client_secret_post` with `other-secret`) for cross-client checks.
pub async fn demo_for(agency_country: &str) -> Demo {
    let other = Agency {
        client_id: "other-agency".into(),
        name_en: "Other agency (test)".into(),
        name_ar: "جهة أخرى".into(),
        country: cc(agency_country),
        sector: "transport".into(),
        redirect_uris: vec!["http://127.0.0.1:9/other/callback".into()],
        auth: AgencyAuth::ClientSecretPost(Secret::new("other-secret")),
        id_token_signed_response_alg: None,
        notice: Default::default(),
        back_channel: Default::default(),
        logout: Default::default(),
    };
    start(DemoOptions {
        agency_country: cc(agency_country),
        extra_agencies: vec![other],
        ..DemoOptions::default()
    })
    .await
}

/// The demo with `store` as the gateway's flow-state store.
pub async fn demo_on(store: Arc<dyn Store>) -> Demo {
    start(DemoOptions {
        store: Some(store),
        ..DemoOptions::default()
    })
    .await
}

/// [`jisr_demo::start`] with both ports forced to 0 (a free port each).
pub async fn start(options: DemoOptions) -> Demo {
    jisr_demo::start(DemoOptions {
        gateway_port: 0,
        agency_port: 0,
        admin_port: 0,
        ..options
    })
    .await
    .unwrap()
}
