use jisr_mapping::{CountryCode, Disclosure, Gcc, SharedClaim};

use super::*;

fn cc(code: &str) -> CountryCode {
    code.parse().unwrap()
}

fn agency() -> Agency<'static> {
    Agency {
        name_en: "Ministry of Health",
        name_ar: "وزارة الصحة",
        country: cc("SA"),
    }
}

fn picker_page(lang: Lang) -> PickerPage<'static> {
    PickerPage {
        lang,
        agency: agency(),
        countries: Gcc::ALL
            .into_iter()
            .map(|g| CountryOption {
                country: g.code(),
                available: !matches!(g, Gcc::Oman | Gcc::Qatar),
                below_level: false,
            })
            .collect(),
        action: "/login/country",
        flow: "fl0w-1d",
        csrf: "csrf-t0ken",
        switch_url: Some("/login?flow=fl0w-1d&ui_locales=en".into()),
    }
}

fn consent_page(lang: Lang) -> ConsentPage<'static> {
    ConsentPage {
        lang,
        agency: agency(),
        origin: cc("BH"),
        idp_name: "Bahrain eKey",
        attributes: vec![
            Attribute {
                claim: SharedClaim::GivenName,
                value: Shown::Both {
                    en: "Noura".into(),
                    ar: "نورة".into(),
                },
            },
            Attribute {
                claim: SharedClaim::FamilyName,
                value: Shown::Both {
                    en: "Al-Khalifa".into(),
                    ar: "آل خليفة".into(),
                },
            },
            Attribute {
                claim: SharedClaim::Birthdate,
                value: "1990-04-12".into(),
            },
        ],
        identifier: Disclosure::Pairwise,
        purpose: None,
        privacy_url: None,
        action: "/login/consent",
        flow: "fl0w-1d",
        csrf: "csrf-t0ken",
        switch_url: None,
    }
}

fn error_page(lang: Lang) -> ErrorPage<'static> {
    ErrorPage {
        lang,
        error: "access_denied",
        message_en: "You declined to share your information.",
        message_ar: "لقد رفضت مشاركة معلوماتك.",
        reference: "7F3K-Q2ZP",
        back: None,
    }
}

fn all_pages(lang: Lang) -> [String; 3] {
    [
        picker(&picker_page(lang)),
        consent(&consent_page(lang)),
        error(&error_page(lang)),
    ]
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"))
        + start.len();
    let len = html[from..].find(end).unwrap();
    &html[from..from + len]
}

#[test]
fn ui_locales_picks_the_first_supported_tag() {
    assert_eq!(Lang::from_ui_locales(None), Lang::Ar);
    assert_eq!(Lang::from_ui_locales(Some("")), Lang::Ar);
    assert_eq!(Lang::from_ui_locales(Some("en")), Lang::En);
    assert_eq!(Lang::from_ui_locales(Some("fr-CA EN-gb ar")), Lang::En);
    assert_eq!(Lang::from_ui_locales(Some("de ar-SA en")), Lang::Ar);
    assert_eq!(Lang::from_ui_locales(Some("en_US")), Lang::En);
    assert_eq!(Lang::from_ui_locales(Some("fr de")), Lang::Ar);
    // "eng" and "arz" are other languages, not English and Arabic.
    assert_eq!(Lang::from_ui_locales(Some("eng")), Lang::Ar);
    assert_eq!(Lang::from_ui_locales(Some("arz en")), Lang::En);
}

#[test]
fn html_lang_and_dir_follow_the_page_language() {
    for html in all_pages(Lang::Ar) {
        assert!(
            html.starts_with("<!doctype html>\n<html lang=\"ar\" dir=\"rtl\">"),
            "{html}"
        );
    }
    for html in all_pages(Lang::En) {
        assert!(
            html.starts_with("<!doctype html>\n<html lang=\"en\" dir=\"ltr\">"),
            "{html}"
        );
    }
}

#[test]
fn both_languages_are_present_and_the_page_language_leads() {
    let [picker_ar, consent_ar, error_ar] = all_pages(Lang::Ar);
    let [picker_en, consent_en, error_en] = all_pages(Lang::En);
    for (html, ar, en) in [
        (&picker_ar, "سجّل الدخول إلى ", "Sign in to "),
        (
            &consent_ar,
            "ستتلقى ",
            " will receive the following information",
        ),
        (
            &error_ar,
            "تعذّر إكمال تسجيل الدخول",
            "Sign-in could not be completed",
        ),
    ] {
        let (a, e) = (html.find(ar).unwrap(), html.find(en).unwrap());
        assert!(a < e, "Arabic should come first on an Arabic page");
    }
    for (html, ar, en) in [
        (&picker_en, "سجّل الدخول إلى ", "Sign in to "),
        (
            &consent_en,
            "ستتلقى ",
            " will receive the following information",
        ),
        (
            &error_en,
            "تعذّر إكمال تسجيل الدخول",
            "Sign-in could not be completed",
        ),
    ] {
        let (a, e) = (html.find(ar).unwrap(), html.find(en).unwrap());
        assert!(e < a, "English should come first on an English page");
    }
    // Each block of the other language carries its own lang and dir.
    assert!(picker_en.contains(
        "<span lang=\"ar\" dir=\"rtl\">سجّل الدخول إلى <bdi>وزارة الصحة</bdi> \
         (<bdi>المملكة العربية السعودية</bdi>) بهويتك الرقمية الوطنية</span>"
    ));
    assert!(picker_ar.contains(
        "<span lang=\"en\" dir=\"ltr\">Sign in to <bdi>Ministry of Health</bdi> \
         (<bdi>Saudi Arabia</bdi>) with your national digital identity</span>"
    ));
    assert!(error_en.contains("<div lang=\"ar\" dir=\"rtl\">"));
    assert!(error_ar.contains("<div lang=\"en\" dir=\"ltr\">"));
}

#[test]
fn picker_lists_all_six_countries_and_marks_unavailable_ones() {
    let html = picker(&picker_page(Lang::Ar));
    for g in Gcc::ALL {
        let code = g.code();
        assert!(html.contains(g.name_en()), "{}", g.name_en());
        assert!(html.contains(g.name_ar()), "{}", g.name_ar());
        let button = between(
            &html,
            &format!("<button type=\"submit\" name=\"country\" value=\"{code}\""),
            ">",
        );
        if matches!(g, Gcc::Oman | Gcc::Qatar) {
            assert_eq!(
                button,
                format!(" class=\"country\" disabled aria-describedby=\"unavailable-{code}\"")
            );
            let note = between(&html, &format!("id=\"unavailable-{code}\">"), "</p>");
            assert!(note.contains("غير متاح مؤقتًا"), "{note}");
            assert!(note.contains("Temporarily unavailable"), "{note}");
        } else {
            assert_eq!(button, " class=\"country\"");
        }
    }
    assert_eq!(html.matches("name=\"country\"").count(), 6);
    assert_eq!(html.matches(" disabled").count(), 2);
    assert_eq!(html.matches("Temporarily unavailable").count(), 2);
    assert!(html.contains("<form method=\"post\" action=\"/login/country\""));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/static/jisr.css\">"));
}

#[test]
fn forms_carry_hidden_flow_and_csrf() {
    for html in [
        picker(&picker_page(Lang::En)),
        consent(&consent_page(Lang::En)),
    ] {
        assert!(html.contains("<input type=\"hidden\" name=\"flow\" value=\"fl0w-1d\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"csrf-t0ken\">"));
    }
}

#[test]
fn consent_lists_exactly_the_given_attributes() {
    let html = consent(&consent_page(Lang::En));
    assert!(html.contains(
        "<bdi lang=\"en\" dir=\"ltr\" class=\"latin\">Noura</bdi><bdi lang=\"ar\" dir=\"rtl\">نورة</bdi>"
    ), "{html}");
    assert!(html.contains("<bdi lang=\"en\" dir=\"ltr\" class=\"latin\">Al-Khalifa</bdi>"));
    assert!(html.contains("<bdi lang=\"ar\" dir=\"rtl\">آل خليفة</bdi>"));
    // A language-neutral Latin value gets the Latin font stack (class `latin`).
    assert!(html.contains("<bdi dir=\"ltr\" class=\"latin\">1990-04-12</bdi>"));
    // On an Arabic-led page the Arabic value comes first.
    let ar = consent(&consent_page(Lang::Ar));
    assert!(ar.contains(
        "<bdi lang=\"ar\" dir=\"rtl\">نورة</bdi><bdi lang=\"en\" dir=\"ltr\" class=\"latin\">Noura</bdi>"
    ), "{ar}");
    let claims: Vec<&str> = html
        .split("data-claim=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(claims, ["given_name", "family_name", "birthdate"]);
    for claim in [
        SharedClaim::GivenName,
        SharedClaim::FamilyName,
        SharedClaim::Birthdate,
    ] {
        let (en, ar) = claim_label(claim);
        assert!(html.contains(&format!("<span lang=\"en\" dir=\"ltr\">{en}</span>")));
        assert!(html.contains(&format!("<span lang=\"ar\" dir=\"rtl\">{ar}</span>")));
    }
    for claim in [
        SharedClaim::PersonIdentifier,
        SharedClaim::Gender,
        SharedClaim::Nationalities,
        SharedClaim::PlaceOfBirth,
    ] {
        let (en, ar) = claim_label(claim);
        assert!(!html.contains(en), "{en} is not released");
        assert!(!html.contains(ar), "{ar} is not released");
    }
}

#[test]
fn consent_names_agency_destination_origin_and_idp() {
    let html = consent(&consent_page(Lang::Ar));
    assert!(html.contains(
        "<p lang=\"en\" dir=\"ltr\"><strong><bdi>Ministry of Health</bdi></strong> \
         (<bdi>Saudi Arabia</bdi>) will receive the following information from your national \
         digital identity provider, <strong><bdi>Bahrain eKey</bdi></strong> \
         (<bdi>Bahrain</bdi>).</p>"
    ));
    assert!(html.contains(
        "<p lang=\"ar\" dir=\"rtl\">ستتلقى <strong><bdi>وزارة الصحة</bdi></strong> \
         (<bdi>المملكة العربية السعودية</bdi>) المعلومات التالية من مزوّد هويتك الرقمية \
         الوطنية، <strong><bdi>Bahrain eKey</bdi></strong> (<bdi>البحرين</bdi>).</p>"
    ));
}

#[test]
fn consent_decisions_are_buttons_not_links() {
    let html = consent(&consent_page(Lang::Ar));
    assert!(html.contains("<form method=\"post\" action=\"/login/consent\""));
    let allow = between(
        &html,
        "<button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">",
        "</button>",
    );
    assert!(allow.contains(">مشاركة ومتابعة<") && allow.contains(">Share and continue<"));
    let deny = between(
        &html,
        "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">",
        "</button>",
    );
    assert!(deny.contains(">رفض<") && deny.contains(">Decline<"));
    assert_eq!(html.matches("name=\"decision\"").count(), 2);
}

#[test]
fn language_switch_is_rendered_only_when_given_and_safe() {
    let html = picker(&picker_page(Lang::Ar));
    assert!(html.contains(
        "<a class=\"switch\" href=\"/login?flow=fl0w-1d&#38;ui_locales=en\" hreflang=\"en\" \
         lang=\"en\" dir=\"ltr\">English</a>"
    ));
    let mut page = picker_page(Lang::En);
    page.switch_url = Some("?ui_locales=ar".into());
    assert!(
        picker(&page).contains(
            "href=\"?ui_locales=ar\" hreflang=\"ar\" lang=\"ar\" dir=\"rtl\">العربية</a>"
        )
    );
    for bad in [
        "javascript:alert(1)",
        "//evil.example/x",
        "data:text/html,hi",
    ] {
        page.switch_url = Some(bad.into());
        let html = picker(&page);
        assert!(!html.contains("class=\"switch\""), "{bad}");
        assert!(
            !html.contains("evil.example") && !html.contains("javascript:"),
            "{bad}"
        );
    }
    assert!(!consent(&consent_page(Lang::Ar)).contains("class=\"switch\""));
}

#[test]
fn hostile_values_are_escaped() {
    let hostile = "<script>alert(1)</script>\"onmouseover=alert(1) x='y'&";
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;&#34;onmouseover=alert(1) \
                   x=&#39;y&#39;&#38;";
    let page = ConsentPage {
        agency: Agency {
            name_en: hostile,
            name_ar: hostile,
            country: cc("AE"),
        },
        idp_name: hostile,
        attributes: vec![Attribute {
            claim: SharedClaim::GivenName,
            value: hostile.into(),
        }],
        action: hostile,
        flow: hostile,
        csrf: hostile,
        switch_url: Some(format!("/x?{hostile}")),
        ..consent_page(Lang::En)
    };
    let html = consent(&page);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("\"onmouseover"), "{html}");
    assert!(html.contains(&format!("<bdi>{escaped}</bdi>")), "{html}");
    assert!(
        html.contains(&format!("class=\"latin\">{escaped}</bdi>")),
        "{html}"
    );
    assert!(
        html.contains(&format!("name=\"flow\" value=\"{escaped}\">")),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"{escaped}\"")), "{html}");

    let picker_html = picker(&PickerPage {
        agency: page.agency,
        action: hostile,
        flow: hostile,
        csrf: hostile,
        switch_url: page.switch_url.clone(),
        ..picker_page(Lang::Ar)
    });
    assert!(!picker_html.contains("<script"), "{picker_html}");
    assert!(!picker_html.contains("\"onmouseover"), "{picker_html}");

    let error_html = error(&ErrorPage {
        error: hostile,
        message_en: hostile,
        message_ar: hostile,
        reference: hostile,
        ..error_page(Lang::Ar)
    });
    assert!(!error_html.contains("<script"), "{error_html}");
    assert!(error_html.contains(&format!("<code dir=\"ltr\">{escaped}</code>")));
}

#[test]
fn bidi_controls_cannot_reorder_the_page() {
    // RLO would render "Noura" and everything after it reversed; isolates, marks and
    // line separators are stripped too.
    let value = "\u{202E}Noura\u{2066}\u{200F}\u{061C}\u{2029}\u{0007} نورة\u{202C}";
    let mut page = consent_page(Lang::Ar);
    page.attributes = vec![Attribute {
        claim: SharedClaim::GivenName,
        value: value.into(),
    }];
    page.agency.name_ar = "وزارة\u{202D} الصحة";
    let html = consent(&page);
    assert!(
        html.contains("<bdi lang=\"ar\" dir=\"rtl\">Noura نورة</bdi>"),
        "{html}"
    );
    assert!(html.contains("<bdi>وزارة الصحة</bdi>"), "{html}");
    for c in [
        '\u{202E}', '\u{202D}', '\u{2066}', '\u{200F}', '\u{061C}', '\u{2029}',
    ] {
        assert!(!html.contains(c), "{c:?} left in the page");
    }
    // Joiners are part of Arabic/Persian spelling and stay.
    assert_eq!(view::clean("می\u{200C}خواهم"), "می\u{200C}خواهم");
}

#[test]
fn error_page_shows_code_and_reference_and_nothing_else() {
    let html = error(&error_page(Lang::En));
    assert!(html.contains("<code dir=\"ltr\">access_denied</code>"));
    assert!(html.contains("<code dir=\"ltr\" class=\"reference\">7F3K-Q2ZP</code>"));
    assert!(html.contains("<p class=\"message\">You declined to share your information.</p>"));
    assert!(html.contains("<p class=\"message\">لقد رفضت مشاركة معلوماتك.</p>"));
    assert!(html.contains("<span lang=\"en\" dir=\"ltr\">Reference</span>"));
    assert!(html.contains("<span lang=\"ar\" dir=\"rtl\">الرقم المرجعي</span>"));
    // No form, no hidden fields, no links that could carry request data.
    assert!(!html.contains("<form"));
    assert!(!html.contains("<input"));
    assert!(!html.contains("<a "));
    assert_eq!(html.matches("<code").count(), 2);
}

#[test]
fn no_script_and_no_inline_style_anywhere() {
    for lang in [Lang::Ar, Lang::En] {
        for html in all_pages(lang)
            .iter()
            .map(String::as_str)
            .chain([FALLBACK_PAGE])
        {
            let lower = html.to_ascii_lowercase();
            assert!(!lower.contains("<script"));
            assert!(!lower.contains("<style"));
            assert!(!lower.contains("style="));
            assert!(!lower.contains("javascript:"));
            assert!(!has_event_handler(&lower), "{html}");
        }
    }
    assert!(
        !CSS.contains("url(") && !CSS.contains("@import"),
        "the CSS loads nothing"
    );
}

/// Whether an attribute like ` onclick=` appears.
fn has_event_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let name: String = html[i + 3..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        !name.is_empty() && html[i + 3 + name.len()..].starts_with('=')
    })
}

#[test]
fn claim_labels_cover_every_claim_in_both_languages() {
    let mut seen = std::collections::HashSet::new();
    for claim in SharedClaim::ALL {
        let (en, ar) = claim_label(claim);
        assert!(en.is_ascii() && !en.is_empty(), "{claim}");
        assert!(
            ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
            "{claim}"
        );
        assert!(
            seen.insert(en) && seen.insert(ar),
            "{claim} label is not unique"
        );
    }
    assert_eq!(
        claim_label(SharedClaim::GivenName),
        ("Given name", "الاسم الأول")
    );
}

#[test]
fn fallback_page_is_bilingual_and_static() {
    assert!(FALLBACK_PAGE.starts_with("<!doctype html>\n<html lang=\"ar\" dir=\"rtl\">"));
    assert!(FALLBACK_PAGE.contains("<span lang=\"en\" dir=\"ltr\">Something went wrong</span>"));
    assert!(FALLBACK_PAGE.contains("<span lang=\"ar\" dir=\"rtl\">حدث خطأ غير متوقع</span>"));
}

#[test]
fn picker_greys_out_countries_below_the_required_level_with_their_own_note() {
    let mut page = picker_page(Lang::En);
    for c in &mut page.countries {
        c.below_level = c.country == Gcc::UnitedArabEmirates.code();
    }
    let html = picker(&page);
    let code = Gcc::UnitedArabEmirates.code();
    let button = between(
        &html,
        &format!("<button type=\"submit\" name=\"country\" value=\"{code}\""),
        ">",
    );
    assert_eq!(
        button,
        format!(" class=\"country\" disabled aria-describedby=\"unavailable-{code}\"")
    );
    let note = between(&html, &format!("id=\"unavailable-{code}\">"), "</p>");
    assert!(
        note.contains("cannot reach the level of assurance"),
        "{note}"
    );
    assert!(note.contains("مستوى الضمان"), "{note}");
    assert!(!note.contains("Temporarily unavailable"), "{note}");
    // Oman and Qatar stay "temporarily unavailable"; three buttons are disabled in all.
    assert_eq!(html.matches(" disabled").count(), 3);
    assert_eq!(html.matches("Temporarily unavailable").count(), 2);
}

#[test]
fn the_identifier_says_whether_it_is_the_national_number_or_a_pseudonym() {
    let mut page = consent_page(Lang::En);
    page.attributes.insert(
        0,
        Attribute {
            claim: SharedClaim::PersonIdentifier,
            value: "BH/SA/4f2a9c".into(),
        },
    );
    let html = consent(&page);
    assert!(
        html.contains("An identifier for this service only"),
        "{html}"
    );
    assert!(html.contains("معرّف لهذه الخدمة فقط"), "{html}");
    assert!(
        html.contains("This is not your national identity number"),
        "{html}"
    );
    assert!(!html.contains("National identity number"), "{html}");

    page.identifier = Disclosure::National;
    let html = consent(&page);
    assert!(html.contains("National identity number"), "{html}");
    assert!(html.contains("رقم الهوية الوطنية"), "{html}");
    assert!(html.contains("because the agreement between"), "{html}");
    assert!(!html.contains("for this service only"), "{html}");
}

#[test]
fn consent_shows_the_agencys_purpose_and_privacy_notice_when_registered() {
    let html = consent(&consent_page(Lang::Ar));
    assert!(!html.contains("class=\"purpose\"") && !html.contains("class=\"privacy\""));
    let mut page = consent_page(Lang::Ar);
    page.purpose = Some(("To book appointments.", "لحجز المواعيد."));
    page.privacy_url = Some("https://moh.example/privacy");
    let html = consent(&page);
    assert!(html.contains("<p lang=\"en\" dir=\"ltr\">To book appointments.</p>"));
    assert!(html.contains("<p lang=\"ar\" dir=\"rtl\">لحجز المواعيد.</p>"));
    assert!(html.contains(
        "href=\"https://moh.example/privacy\" target=\"_blank\" rel=\"noopener noreferrer\""
    ));
    assert!(html.contains("إشعار الخصوصية"));
    // Only http(s) links are rendered.
    page.privacy_url = Some("javascript:alert(1)");
    assert!(!consent(&page).contains("javascript:"));
}

#[test]
fn error_page_offers_a_return_to_the_agency() {
    let mut page = error_page(Lang::Ar);
    page.back = Some(BackLink {
        href: "https://moh.example/cb?error=access_denied&state=s1&iss=https%3A%2F%2Fjisr",
        agency_en: "Ministry of Health",
        agency_ar: "وزارة الصحة",
        restart: false,
    });
    let html = error(&page);
    assert!(html.contains(
        "<a class=\"primary back\" href=\"https://moh.example/cb?error=access_denied&#38;state=s1&#38;iss=https%3A%2F%2Fjisr\">"
    ), "{html}");
    // Arabic leads: "العودة إلى وزارة الصحة" first, then the English.
    let ar = html.find("العودة إلى <bdi>وزارة الصحة</bdi>").unwrap();
    let en = html
        .find("Return to <bdi>Ministry of Health</bdi>")
        .unwrap();
    assert!(ar < en);
    assert!(html.contains("no information was shared"));
    page.back = Some(BackLink {
        restart: true,
        href: "https://moh.example/",
        ..page.back.unwrap()
    });
    let html = error(&page);
    assert!(
        html.contains("Start again at <bdi>Ministry of Health</bdi>"),
        "{html}"
    );
    assert!(
        html.contains("ابدأ من جديد في <bdi>وزارة الصحة</bdi>"),
        "{html}"
    );
    // Only http(s) or same-site links become a button.
    page.back = Some(BackLink {
        href: "javascript:alert(1)",
        ..page.back.unwrap()
    });
    assert!(!error(&page).contains("<a "));
}

/// WCAG 2.2 1.4.11: the focus ring needs 3:1 against the white cards and the page.
#[test]
fn focus_ring_reaches_three_to_one_on_white() {
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }
    let contrast = |a: &str, b: &str| {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    };
    let focus = between(CSS, "--focus: ", ";");
    assert_eq!(focus.len(), 7, "{focus}");
    let on_white = contrast(focus, "#ffffff");
    let on_paper = contrast(focus, between(CSS, "--paper: ", ";"));
    // #a86f00: 4.25:1 on white, 3.89:1 on the page background.
    assert!(on_white >= 3.0, "{focus} on white: {on_white:.2}:1");
    assert!(on_paper >= 3.0, "{focus} on the page: {on_paper:.2}:1");
    // The old colour fails, so this test can fail.
    assert!(contrast("#c98a00", "#ffffff") < 3.0);
    assert!(CSS.contains("outline: 3px solid var(--focus)"));
}
