//! What the templates see: every text already split per language, ordered with the page's
//! language first, and display values stripped of bidi and other control characters.
//!
//! askama escapes `& < > " '` in every `{{ }}`; stripping the bidi controls as well means a
//! value cannot reorder the text around it (values also sit in `<bdi>`, which isolates them).

use askama::Template;

use super::values::{self, Shown};
use super::{
    Attribute, ConsentPage, CountryOption, ErrorPage, FALLBACK_PAGE, Lang, PickerPage, claim_label,
    identifier_label, identifier_note,
};

/// A run of text in one language.
#[derive(Clone, Debug)]
pub(super) struct Span {
    pub lang: &'static str,
    pub dir: &'static str,
    pub text: String,
}

/// The same text in both languages, the page's language first.
pub(super) type Bi = [Span; 2];

pub(super) fn span(lang: Lang, text: impl Into<String>) -> Span {
    Span {
        lang: lang.tag(),
        dir: lang.dir(),
        text: text.into(),
    }
}

pub(super) fn bi(lead: Lang, en: impl Into<String>, ar: impl Into<String>) -> Bi {
    let (en, ar) = (span(Lang::En, en), span(Lang::Ar, ar));
    match lead {
        Lang::Ar => [ar, en],
        Lang::En => [en, ar],
    }
}

/// Orders a pair of per-language values with the page's language first.
fn ordered<T>(lead: Lang, en: T, ar: T) -> [T; 2] {
    match lead {
        Lang::Ar => [ar, en],
        Lang::En => [en, ar],
    }
}

/// Removes characters that could change how the surrounding text is laid out or read:
/// bidi embeddings, overrides, isolates and marks, and other control characters. Joiners
/// (U+200C, U+200D) stay: Arabic and Persian spelling needs them.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            !(c.is_control()
                || matches!(c,
                    '\u{061C}' | '\u{200E}' | '\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{2028}' | '\u{2029}'))
        })
        .collect()
}

/// `(English, Arabic)` name of a country; the alpha-2 code outside the GCC.
/// Only same-site relative or http(s) links are rendered as the language switch.
pub(super) fn safe_link(url: &str) -> bool {
    let relative = (url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\"))
        || url.starts_with('?');
    relative || url.starts_with("https://") || url.starts_with("http://")
}

/// The frame every page shares (see `base.html`).
pub(super) struct Chrome {
    pub lang: &'static str,
    pub dir: &'static str,
    pub title: String,
    pub brand: Bi,
    pub css: &'static str,
    pub switch: Option<Switch>,
}

pub(super) struct Switch {
    pub href: String,
    pub label: Span,
}

impl Chrome {
    pub(super) fn new(
        lang: Lang,
        title_en: &str,
        title_ar: &str,
        switch_url: Option<&str>,
    ) -> Chrome {
        let [first, second] = ordered(lang, title_en, title_ar);
        let other = match lang {
            Lang::Ar => span(Lang::En, "English"),
            Lang::En => span(Lang::Ar, "العربية"),
        };
        Chrome {
            lang: lang.tag(),
            dir: lang.dir(),
            title: format!("{first} · {second} | جسر Jisr"),
            brand: bi(
                lang,
                "Jisr · GCC digital identity gateway",
                "جسر · بوابة الهوية الرقمية الخليجية",
            ),
            css: super::CSS_PATH,
            switch: switch_url.filter(|u| safe_link(u)).map(|href| Switch {
                href: href.to_owned(),
                label: other,
            }),
        }
    }
}

// ---------------------------------------------------------------- picker

#[derive(Template)]
#[template(path = "picker.html")]
struct PickerView<'a> {
    chrome: Chrome,
    texts: [PickerText; 2],
    legend: Bi,
    countries: Vec<CountryView>,
    action: &'a str,
    flow: &'a str,
    csrf: &'a str,
}

struct PickerText {
    lang: &'static str,
    dir: &'static str,
    before: &'static str,
    agency: String,
    country: String,
    after: &'static str,
    intro: &'static str,
}

struct CountryView {
    code: String,
    name: Bi,
    available: bool,
    note: Bi,
}

pub(super) fn picker(page: &PickerPage<'_>) -> String {
    let lang = page.lang;
    let (dest_en, dest_ar) = values::country_names(page.agency.country);
    let en = PickerText {
        lang: "en",
        dir: "ltr",
        before: "Sign in to ",
        agency: clean(page.agency.name_en),
        country: dest_en,
        after: " with your national digital identity",
        intro: "Choose the country that issued your national digital identity. \
                You will sign in on its official site, then come back here.",
    };
    let ar = PickerText {
        lang: "ar",
        dir: "rtl",
        before: "سجّل الدخول إلى ",
        agency: clean(page.agency.name_ar),
        country: dest_ar,
        after: " بهويتك الرقمية الوطنية",
        intro: "اختر الدولة التي أصدرت هويتك الرقمية الوطنية. \
                ستسجّل الدخول في موقعها الرسمي، ثم تعود إلى هنا.",
    };
    let countries = page
        .countries
        .iter()
        .map(
            |&CountryOption {
                 country,
                 available,
                 below_level,
             }| {
                let (name_en, name_ar) = values::country_names(country);
                let note = if below_level {
                    bi(
                        lang,
                        "Its sign-in cannot reach the level of assurance this service requires",
                        "لا يبلغ تسجيل الدخول فيها مستوى الضمان الذي تتطلبه هذه الخدمة",
                    )
                } else {
                    bi(lang, "Temporarily unavailable", "غير متاح مؤقتًا")
                };
                CountryView {
                    code: country.as_str().to_owned(),
                    name: bi(lang, name_en, name_ar),
                    available: available && !below_level,
                    note,
                }
            },
        )
        .collect();
    let view = PickerView {
        chrome: Chrome::new(
            lang,
            "Choose your country",
            "اختر بلدك",
            page.switch_url.as_deref(),
        ),
        texts: ordered(lang, en, ar),
        legend: bi(lang, "Your country", "بلدك"),
        countries,
        action: page.action,
        flow: page.flow,
        csrf: page.csrf,
    };
    view.render().unwrap_or_else(|_| FALLBACK_PAGE.to_owned())
}

// ---------------------------------------------------------------- consent

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentView<'a> {
    chrome: Chrome,
    texts: [ConsentText; 2],
    caption: Bi,
    attributes: Vec<AttributeView>,
    purpose: Option<(Bi, Bi)>,
    privacy: Option<PrivacyLink>,
    note: Bi,
    allow: Bi,
    deny: Bi,
    action: &'a str,
    flow: &'a str,
    csrf: &'a str,
}

struct ConsentText {
    lang: &'static str,
    dir: &'static str,
    title: &'static str,
    before: &'static str,
    agency: String,
    country: String,
    middle: &'static str,
    idp: String,
    origin: String,
    after: &'static str,
}

struct AttributeView {
    claim: &'static str,
    label: Bi,
    value: Vec<ValueSpan>,
    /// What this attribute is and why it is shared (the identifier).
    note: Option<Bi>,
}

/// A run of a value: Arabic (`lang="ar"`), English words (`lang="en"`), or language-neutral
/// Latin text (no `lang`, class `latin`: a Latin font stack even on an Arabic-led page).
struct ValueSpan {
    lang: &'static str,
    dir: &'static str,
    class: &'static str,
    text: String,
}

struct PrivacyLink {
    href: String,
    label: Bi,
}

fn value_spans(lang: Lang, value: &Shown) -> Vec<ValueSpan> {
    let neutral = |text: &str| {
        let text = clean(text);
        if values::is_arabic(&text) {
            ValueSpan {
                lang: "ar",
                dir: "rtl",
                class: "",
                text,
            }
        } else {
            ValueSpan {
                lang: "",
                dir: "ltr",
                class: "latin",
                text,
            }
        }
    };
    match value {
        Shown::Neutral(text) => vec![neutral(text)],
        Shown::Both { en, ar } => {
            let en = ValueSpan {
                lang: "en",
                dir: "ltr",
                class: "latin",
                text: clean(en),
            };
            let ar = ValueSpan {
                lang: "ar",
                dir: "rtl",
                class: "",
                text: clean(ar),
            };
            ordered(lang, en, ar).into()
        }
    }
}

pub(super) fn consent(page: &ConsentPage<'_>) -> String {
    let lang = page.lang;
    let (dest_en, dest_ar) = values::country_names(page.agency.country);
    let (origin_en, origin_ar) = values::country_names(page.origin);
    let idp = clean(page.idp_name);
    let en = ConsentText {
        lang: "en",
        dir: "ltr",
        title: "Review what will be shared",
        before: "",
        agency: clean(page.agency.name_en),
        country: dest_en,
        middle: " will receive the following information from your national digital \
                 identity provider, ",
        idp: idp.clone(),
        origin: origin_en,
        after: ".",
    };
    let ar = ConsentText {
        lang: "ar",
        dir: "rtl",
        title: "راجع المعلومات التي ستتم مشاركتها",
        before: "ستتلقى ",
        agency: clean(page.agency.name_ar),
        country: dest_ar,
        middle: " المعلومات التالية من مزوّد هويتك الرقمية الوطنية، ",
        idp,
        origin: origin_ar,
        after: ".",
    };
    let attributes = page
        .attributes
        .iter()
        .map(|Attribute { claim, value }| {
            let identifier = *claim == jisr_mapping::SharedClaim::PersonIdentifier;
            let (en, ar) = if identifier {
                identifier_label(page.identifier)
            } else {
                claim_label(*claim)
            };
            AttributeView {
                claim: claim.name(),
                label: bi(lang, en, ar),
                value: value_spans(lang, value),
                note: identifier.then(|| {
                    let (en, ar) = identifier_note(page.identifier);
                    bi(lang, en, ar)
                }),
            }
        })
        .collect();
    let purpose = page.purpose.map(|(en, ar)| {
        (
            bi(lang, "Why the agency asks", "سبب طلب الجهة"),
            bi(lang, clean(en), clean(ar)),
        )
    });
    let privacy = page
        .privacy_url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|href| PrivacyLink {
            href: href.to_owned(),
            label: bi(
                lang,
                "How the agency uses your information (privacy notice)",
                "كيف تستخدم الجهة معلوماتك (إشعار الخصوصية)",
            ),
        });
    let view = ConsentView {
        chrome: Chrome::new(
            lang,
            "Review what will be shared",
            "راجع المعلومات التي ستتم مشاركتها",
            page.switch_url.as_deref(),
        ),
        texts: ordered(lang, en, ar),
        caption: bi(
            lang,
            "Information to be shared",
            "المعلومات التي ستتم مشاركتها",
        ),
        attributes,
        purpose,
        privacy,
        note: bi(
            lang,
            "Nothing else is shared. If you decline, no information is sent and you return \
             to the agency.",
            "لن تُشارك أي معلومات أخرى. إذا رفضت، فلن تُرسل أي معلومات وستعود إلى الجهة.",
        ),
        allow: bi(lang, "Share and continue", "مشاركة ومتابعة"),
        deny: bi(lang, "Decline", "رفض"),
        action: page.action,
        flow: page.flow,
        csrf: page.csrf,
    };
    view.render().unwrap_or_else(|_| FALLBACK_PAGE.to_owned())
}

// ---------------------------------------------------------------- error

fn back_view(lang: Lang, b: &super::BackLink<'_>) -> BackView {
    let (verb_en, verb_ar, note_en, note_ar) = if b.restart {
        (
            "Start again at ",
            "ابدأ من جديد في ",
            "Your earlier sign-in has ended. You can start a new one from the service's website.",
            "انتهت عملية الدخول السابقة. يمكنك بدء عملية جديدة من موقع الخدمة.",
        )
    } else {
        (
            "Return to ",
            "العودة إلى ",
            "You have not been signed in and no information was shared. The service will be told that the sign-in did not complete.",
            "لم يتم تسجيل دخولك ولم تتم مشاركة أي معلومات. سيتم إبلاغ الخدمة بأن تسجيل الدخول لم يكتمل.",
        )
    };
    let en = BackLabel {
        lang: "en",
        dir: "ltr",
        verb: verb_en,
        agency: clean(b.agency_en),
    };
    let ar = BackLabel {
        lang: "ar",
        dir: "rtl",
        verb: verb_ar,
        agency: clean(b.agency_ar),
    };
    BackView {
        href: b.href.to_owned(),
        label: ordered(lang, en, ar),
        note: bi(lang, note_en, note_ar),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorView {
    chrome: Chrome,
    texts: [ErrorText; 2],
    code_label: Bi,
    reference_label: Bi,
    error: String,
    reference: String,
    back: Option<BackView>,
}

/// The error page's button back to the agency, in both languages.
struct BackView {
    href: String,
    label: [BackLabel; 2],
    note: Bi,
}

struct BackLabel {
    lang: &'static str,
    dir: &'static str,
    verb: &'static str,
    agency: String,
}

struct ErrorText {
    lang: &'static str,
    dir: &'static str,
    title: &'static str,
    message: String,
    help: &'static str,
}

pub(super) fn error(page: &ErrorPage<'_>) -> String {
    let lang = page.lang;
    // A page with no reference (one the log does not record) does not ask for one.
    let referenced = !page.reference.is_empty();
    let help = |text: &'static str| if referenced { text } else { "" };
    let en = ErrorText {
        lang: "en",
        dir: "ltr",
        title: "Sign-in could not be completed",
        message: clean(page.message_en),
        help: help("If you contact support, please quote this reference."),
    };
    let ar = ErrorText {
        lang: "ar",
        dir: "rtl",
        title: "تعذّر إكمال تسجيل الدخول",
        message: clean(page.message_ar),
        help: help("إذا تواصلت مع الدعم، يُرجى ذكر هذا الرقم المرجعي."),
    };
    let view = ErrorView {
        chrome: Chrome::new(
            lang,
            "Sign-in could not be completed",
            "تعذّر إكمال تسجيل الدخول",
            None,
        ),
        texts: ordered(lang, en, ar),
        code_label: bi(lang, "Error code", "رمز الخطأ"),
        reference_label: bi(lang, "Reference", "الرقم المرجعي"),
        error: clean(page.error),
        reference: clean(page.reference),
        back: page
            .back
            .filter(|b| safe_link(b.href))
            .map(|b| back_view(lang, &b)),
    };
    view.render().unwrap_or_else(|_| FALLBACK_PAGE.to_owned())
}
