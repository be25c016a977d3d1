//! A citizen walking the gateway's pages, each step on any replica (`*_at` is a replica's base
//! URL; the demo's own gateway URL is one): the country picker, the country choice, the
//! national IdP (`login_hint`), the gateway's callback and the consent page.

use jisr_demo::Demo;

use crate::agency::Request;
use crate::browser::{Browser, hidden, location, via};
use crate::cc;

/// The picker at `authorize_at`, the country choice at `country_at`, then `citizen` signs in
/// at the national IdP of `country`. Returns the IdP's redirect to the gateway's callback
/// (under the public URL), or `Err` with the redirect the gateway sent instead of one to the
/// national IdP (a refusal, back to the agency).
pub async fn to_national_idp(
    demo: &Demo,
    browser: &Browser,
    req: &Request,
    at: (&str, &str),
    country: &str,
    citizen: &str,
) -> Result<String, String> {
    let (authorize_at, country_at) = at;
    let picker = browser.get(&via(authorize_at, &req.url)).await;
    assert_eq!(picker.status(), 200, "picker");
    let html = picker.text().await.unwrap();
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    let idp_url = location(
        &browser
            .post(
                &format!("{country_at}/login/country"),
                &[("flow", &flow), ("csrf", &csrf), ("country", country)],
            )
            .await,
    );
    if !idp_url.starts_with(demo.idp(cc(country)).unwrap().issuer()) {
        return Err(idp_url);
    }
    Ok(location(
        &browser
            .get(&format!("{idp_url}&login_hint={citizen}"))
            .await,
    ))
}

/// [`to_national_idp`] with the country's first synthetic citizen, which must reach the
/// national IdP: returns the redirect to the gateway's `/callback/<cc>`.
pub async fn to_callback(
    demo: &Demo,
    browser: &Browser,
    req: &Request,
    authorize_at: &str,
    country_at: &str,
    country: &str,
) -> String {
    let citizen = jisr_devidp::citizens(cc(country))[0].id;
    let callback = to_national_idp(
        demo,
        browser,
        req,
        (authorize_at, country_at),
        country,
        citizen,
    )
    .await
    .unwrap_or_else(|back| panic!("refused before the national IdP: {back}"));
    assert!(
        callback.contains(&format!("/callback/{}", country.to_ascii_lowercase())),
        "{callback}"
    );
    callback
}

/// The callback at `callback_at`, then, if the policy asks for consent, `decision` (`allow`
/// or `deny`) posted at `consent_at`: returns the redirect back to the agency.
pub async fn finish_login(
    browser: &Browser,
    callback: &str,
    callback_at: &str,
    consent_at: &str,
    decision: &str,
) -> String {
    let page = browser.get(&via(callback_at, callback)).await;
    if page.status().is_redirection() {
        return location(&page);
    }
    assert_eq!(page.status(), 200, "callback");
    let html = page.text().await.unwrap();
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    location(
        &browser
            .post(
                &format!("{consent_at}/consent"),
                &[("flow", &flow), ("csrf", &csrf), ("decision", decision)],
            )
            .await,
    )
}

/// Walks a citizen from the authorization request to the agency's redirect URI, every step on
/// the demo's gateway: picker, national IdP (`login_hint`), consent (`decision`). Returns the
/// final redirect URL, also when the gateway refused on the way.
pub async fn sign_in(
    demo: &Demo,
    browser: &Browser,
    req: &Request,
    country: &str,
    citizen: &str,
    decision: &str,
) -> String {
    let gw = demo.gateway_url.as_str();
    match to_national_idp(demo, browser, req, (gw, gw), country, citizen).await {
        Ok(callback) => finish_login(browser, &callback, gw, gw, decision).await,
        Err(back) => back, // refused before the national IdP (back to the agency)
    }
}
