//! Renders every citizen page, in both languages, to /tmp/jisr-pages/ with the stylesheet
//! beside it, and screenshots them with headless Chromium when it is installed. A manual
//! visual check, not a test:
//!
//! ```text
//! cargo run -p jisr-gateway --example render_pages
//! ```
//!
//! Then look at /tmp/jisr-pages/*.png (desktop 1000x900 and mobile 390x900).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::path::Path;
use std::process::Command;

use jisr_gateway::pages::{
    self, Agency, Attribute, BackLink, ConsentPage, CountryOption, ErrorPage, Lang, PickerPage,
    Shown, values,
};
use jisr_mapping::{Disclosure, Gcc, SharedClaim};

const OUT: &str = "/tmp/jisr-pages";
const CHROMIUM: &str = "/usr/bin/chromium";

fn main() -> std::io::Result<()> {
    fs::create_dir_all(OUT)?;
    // The pages link /static/jisr.css; beside the file it is ./jisr.css.
    fs::write(Path::new(OUT).join("jisr.css"), pages::CSS)?;
    let agency = Agency {
        name_en: "Ministry of Health",
        name_ar: "وزارة الصحة",
        country: Gcc::SaudiArabia.code(),
    };
    let mut written = Vec::new();
    for lang in [Lang::Ar, Lang::En] {
        let (tag, other) = match lang {
            Lang::Ar => ("ar", "en"),
            Lang::En => ("en", "ar"),
        };
        let picker = pages::picker(&PickerPage {
            lang,
            agency,
            countries: Gcc::ALL
                .into_iter()
                .map(|g| CountryOption {
                    country: g.code(),
                    available: g != Gcc::Oman,
                    // Both greyed-out notes: Oman down, UAE PASS below the required level.
                    below_level: g == Gcc::UnitedArabEmirates,
                })
                .collect(),
            action: "/login/country",
            flow: "f-123",
            csrf: "c-456",
            switch_url: Some(format!("/login?flow=f-123&ui_locales={other}")),
        });
        let consent = pages::consent(&ConsentPage {
            lang,
            agency,
            origin: Gcc::Bahrain.code(),
            idp_name: "Bahrain eKey",
            attributes: [
                (SharedClaim::PersonIdentifier, "BH/SA/8f3a91c2".into()),
                (
                    SharedClaim::GivenName,
                    Shown::Both {
                        en: "Noura".into(),
                        ar: "نورة".into(),
                    },
                ),
                (
                    SharedClaim::FamilyName,
                    Shown::Both {
                        en: "Al-Mansoori".into(),
                        ar: "المنصوري".into(),
                    },
                ),
                (
                    SharedClaim::Birthdate,
                    values::birthdate("1990-04-12", true),
                ),
                (SharedClaim::Gender, values::gender("female")),
                (
                    SharedClaim::Nationalities,
                    values::nationalities(&[Gcc::Bahrain.code()]),
                ),
            ]
            .into_iter()
            .map(|(claim, value)| Attribute { claim, value })
            .collect(),
            identifier: Disclosure::Pairwise,
            purpose: Some((
                "To open your medical record and book appointments.",
                "لفتح سجلك الطبي وحجز المواعيد.",
            )),
            privacy_url: Some("https://moh.example/privacy"),
            action: "/login/consent",
            flow: "f-123",
            csrf: "c-456",
            switch_url: Some(format!("/consent?flow=f-123&ui_locales={other}")),
        });
        let error = pages::error(&ErrorPage {
            lang,
            error: "temporarily_unavailable",
            message_en: "The national identity service of Oman is not answering. \
                         Please try again in a few minutes.",
            message_ar: "خدمة الهوية الوطنية في عُمان لا تستجيب. يُرجى المحاولة بعد بضع دقائق.",
            reference: "7F3K-Q2ZP-M8WD",
            back: Some(BackLink {
                href: "https://moh.example/callback?error=temporarily_unavailable",
                agency_en: "Ministry of Health",
                agency_ar: "وزارة الصحة",
                restart: false,
            }),
        });
        for (name, html) in [("picker", picker), ("consent", consent), ("error", error)] {
            let file = format!("{name}-{tag}");
            // Relative stylesheet so file:// pages find it.
            let html = html.replace(pages::CSS_PATH, "jisr.css");
            fs::write(Path::new(OUT).join(format!("{file}.html")), html)?;
            written.push(file);
        }
    }
    let fallback = pages::FALLBACK_PAGE.replace(pages::CSS_PATH, "jisr.css");
    fs::write(Path::new(OUT).join("fallback.html"), fallback)?;
    written.push("fallback".into());

    if !Path::new(CHROMIUM).exists() {
        println!("wrote {OUT}/*.html; install chromium for screenshots");
        return Ok(());
    }
    for file in &written {
        for (suffix, size) in [("", "1000,900"), ("-mobile", "390,900")] {
            // A fresh profile per run, removed when dropped.
            let profile = tempfile::tempdir()?;
            let status = Command::new(CHROMIUM)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--hide-scrollbars",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg(format!("--screenshot={OUT}/{file}{suffix}.png"))
                .arg(format!("--window-size={size}"))
                .arg(format!("file://{OUT}/{file}.html"))
                .output()?;
            if !status.status.success() {
                eprintln!(
                    "chromium failed on {file}: {}",
                    String::from_utf8_lossy(&status.stderr)
                );
            }
        }
    }
    println!("wrote {OUT}/*.html and *.png");
    Ok(())
}
