//! The sign-out pages: the confirmation asked when an agency's logout request cannot show
//! that the citizen is the one signing out (no `id_token_hint`, or one that does not match
//! the browser's session), and the signed-out page, which loads the front-channel logout
//! URIs of the agencies that registered one, in hidden iframes, and links on to where the
//! agency asked the citizen to go.

use askama::Template;

use super::messages::{self, Text};
use super::view::{Bi, Chrome, bi, safe_link};
use super::{FALLBACK_PAGE, Lang};

/// The confirmation form: POSTs `request` (sealed) and `decision` (`logout` or `stay`).
pub struct Confirm<'a> {
    pub action: &'a str,
    pub request: &'a str,
}

/// One of the sign-out pages.
pub struct LogoutPage<'a> {
    pub lang: Lang,
    /// Set: the confirmation page; `None`: the signed-out page.
    pub confirm: Option<Confirm<'a>>,
    /// The signed-out page's message (signed out, or still signed in after "stay").
    pub message: Text,
    /// Where "Continue" goes (the agency's post-logout redirect URI with its `state`).
    pub next: Option<&'a str>,
    /// Front-channel logout URIs to load.
    pub frames: &'a [String],
}

struct FormView {
    action: String,
    request: String,
    yes: Bi,
    no: Bi,
}

struct NextView {
    href: String,
    label: Bi,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutView {
    chrome: Chrome,
    title: Bi,
    message: Bi,
    form: Option<FormView>,
    next: Option<NextView>,
    frames: Vec<String>,
}

fn text(lang: Lang, t: Text) -> Bi {
    bi(lang, t.en, t.ar)
}

/// Renders a sign-out page.
pub fn render(page: &LogoutPage<'_>) -> String {
    let lang = page.lang;
    let title = if page.confirm.is_some() {
        messages::LOGOUT_CONFIRM_TITLE
    } else {
        messages::LOGGED_OUT_TITLE
    };
    let view = LogoutView {
        chrome: Chrome::new(lang, title.en, title.ar, None),
        title: text(lang, title),
        message: text(
            lang,
            if page.confirm.is_some() {
                messages::LOGOUT_CONFIRM
            } else {
                page.message
            },
        ),
        form: page.confirm.as_ref().map(|c| FormView {
            action: c.action.to_owned(),
            request: c.request.to_owned(),
            yes: text(lang, messages::LOGOUT_YES),
            no: text(lang, messages::LOGOUT_NO),
        }),
        next: page.next.filter(|h| safe_link(h)).map(|h| NextView {
            href: h.to_owned(),
            label: text(lang, messages::LOGOUT_CONTINUE),
        }),
        frames: page
            .frames
            .iter()
            .filter(|f| f.starts_with("https://") || f.starts_with("http://"))
            .cloned()
            .collect(),
    };
    view.render().unwrap_or_else(|_| FALLBACK_PAGE.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_is_bilingual_and_right_to_left_in_arabic() {
        let html = render(&LogoutPage {
            lang: Lang::Ar,
            confirm: Some(Confirm {
                action: "/logout/confirm",
                request: "sealed\"<x>",
            }),
            message: messages::LOGGED_OUT,
            next: None,
            frames: &[],
        });
        assert!(html.contains(r#"<html lang="ar" dir="rtl">"#));
        assert!(html.contains(messages::LOGOUT_CONFIRM.ar));
        assert!(html.contains(messages::LOGOUT_CONFIRM.en));
        assert!(html.contains(r#"action="/logout/confirm""#));
        // Values are escaped.
        assert!(!html.contains("sealed\"<x>"));
        // Arabic leads.
        let ar = html.find(messages::LOGOUT_YES.ar).unwrap();
        let en = html.find(messages::LOGOUT_YES.en).unwrap();
        assert!(ar < en);
    }

    #[test]
    fn the_signed_out_page_loads_front_channel_frames_and_links_on() {
        let frames = ["https://agency.example/fc?iss=x&sid=y".to_owned()];
        let html = render(&LogoutPage {
            lang: Lang::En,
            confirm: None,
            message: messages::LOGGED_OUT,
            next: Some("https://agency.example/bye?state=s"),
            frames: &frames,
        });
        assert!(html.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(html.contains(
            r#"<iframe class="frontchannel" src="https://agency.example/fc?iss=x&#38;sid=y""#
        ));
        assert!(html.contains(r#"href="https://agency.example/bye?state=s""#));
        assert!(!html.contains("<form"));
    }
}
