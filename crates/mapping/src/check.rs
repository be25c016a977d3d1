//! Cross-checks of profiles and policy, beyond what each file's own validation can see.

use crate::country::CountryCode;
use crate::error::ConfigProblem;
use crate::policy::{CountryPattern, Policy};
use crate::profile::CountryProfile;

/// A loaded profile with the file it came from.
pub struct ProfileFile<'a> {
    pub file: &'a str,
    pub profile: &'a CountryProfile,
}

/// Checks the profiles and the policy against each other. Returns every problem found.
///
/// - two profiles for the same country;
/// - a rule naming an origin without a profile, or a destination outside the GCC;
/// - a rule releasing a claim that the origin's profile (or, for `*`, every profile) cannot
///   produce.
pub fn check_config(
    profiles: &[ProfileFile<'_>],
    policy_file: &str,
    policy: &Policy,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let mut push = |file: &str, key: String, problem: String| {
        problems.push(ConfigProblem::invalid(file, key, problem))
    };
    for (i, p) in profiles.iter().enumerate() {
        if let Some(first) = profiles[..i]
            .iter()
            .find(|q| q.profile.country == p.profile.country)
        {
            push(
                p.file,
                "country".into(),
                format!(
                    "{} already has a profile in {}",
                    p.profile.country, first.file
                ),
            );
        }
    }
    let profile_of = |c: CountryCode| profiles.iter().find(|p| p.profile.country == c);
    for (i, rule) in policy.rules().iter().enumerate() {
        let key = |field: &str| format!("rule[{i}].{field}");
        if let CountryPattern::Is(origin) = rule.origin
            && profile_of(origin).is_none()
        {
            push(
                policy_file,
                key("origin"),
                format!("rule {}: no country profile for {origin}", rule.id()),
            );
        }
        if let CountryPattern::Is(dest) = rule.destination
            && dest.gcc().is_none()
        {
            push(
                policy_file,
                key("destination"),
                format!("rule {}: {dest} is not a GCC member state", rule.id()),
            );
        }
        for (j, claim) in rule.release.iter().enumerate() {
            let producers: Vec<&ProfileFile> = match rule.origin {
                CountryPattern::Is(origin) => profile_of(origin).into_iter().collect(),
                CountryPattern::Any => profiles.iter().collect(),
            };
            if producers.is_empty() {
                continue; // already reported: no profile for the origin
            }
            if claim.is_minimum() {
                continue;
            }
            match rule.origin {
                CountryPattern::Is(origin) if !producers[0].profile.produces(*claim) => push(
                    policy_file,
                    key(&format!("release[{j}]")),
                    format!(
                        "rule {} releases `{claim}` but the {origin} profile ({}) does not produce it",
                        rule.id(),
                        producers[0].file
                    ),
                ),
                CountryPattern::Any if !producers.iter().any(|p| p.profile.produces(*claim)) => {
                    push(
                        policy_file,
                        key(&format!("release[{j}]")),
                        format!(
                            "rule {} releases `{claim}` but no country profile produces it",
                            rule.id()
                        ),
                    )
                }
                _ => {}
            }
        }
    }
    problems
}
