//! An agency's logout registration (OpenID Connect RP-Initiated, Back-Channel and
//! Front-Channel Logout 1.0): where the citizen may be sent after signing out, and where
//! the gateway tells the agency that a session ended.

/// What an agency registered for logout; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyLogout {
    /// RP-Initiated Logout: where the citizen may be sent after signing out; a request's
    /// `post_logout_redirect_uri` must equal one of these exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// Back-Channel Logout: the gateway POSTs a logout token here when a session ends.
    pub backchannel_logout_uri: Option<String>,
    /// The agency needs `sid` in its logout tokens (the gateway always sends it).
    pub backchannel_logout_session_required: bool,
    /// Front-Channel Logout: loaded in an iframe of the gateway's signed-out page.
    pub frontchannel_logout_uri: Option<String>,
    /// The agency needs `iss` and `sid` on its front-channel URI (always sent).
    pub frontchannel_logout_session_required: bool,
}

/// The fields as written in `agencies.toml` (in the agency's own table).
#[derive(Debug, Default)]
pub(super) struct RawLogout {
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: bool,
}

impl RawLogout {
    /// Validates each URI with `check` (the redirect URI rules: absolute https, http only on
    /// loopback, no fragment, no credentials); problems as `(key, problem)`.
    pub(super) fn validate(
        &self,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> (AgencyLogout, Vec<(String, String)>) {
        let mut problems = Vec::new();
        for (j, uri) in self.post_logout_redirect_uris.iter().enumerate() {
            if let Err(e) = check(uri) {
                problems.push((format!("post_logout_redirect_uris[{j}]"), e));
            }
        }
        for (key, uri) in [
            ("backchannel_logout_uri", &self.backchannel_logout_uri),
            ("frontchannel_logout_uri", &self.frontchannel_logout_uri),
        ] {
            if let Some(uri) = uri
                && let Err(e) = check(uri)
            {
                problems.push((key.to_owned(), e));
            }
        }
        let logout = AgencyLogout {
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            frontchannel_logout_uri: self.frontchannel_logout_uri.clone(),
            frontchannel_logout_session_required: self.frontchannel_logout_session_required,
        };
        (logout, problems)
    }
}
