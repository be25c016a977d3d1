//! The release policy between countries: one rule per (origin, destination) pair, `*`
//! wildcards, most specific rule wins, a pair without a rule is refused.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::claims::SharedClaim;
use crate::country::CountryCode;
use crate::error::{ConfigProblem, MappingError};
use crate::loa::Loa;
use crate::toml_load::parse_toml;

/// A country in a rule, or `*` for any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountryPattern {
    Any,
    Is(CountryCode),
}

impl CountryPattern {
    pub fn matches(self, c: CountryCode) -> bool {
        match self {
            CountryPattern::Any => true,
            CountryPattern::Is(me) => me == c,
        }
    }
}

impl fmt::Display for CountryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountryPattern::Any => f.write_str("*"),
            CountryPattern::Is(c) => write!(f, "{c}"),
        }
    }
}

impl<'de> Deserialize<'de> for CountryPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "*" {
            return Ok(CountryPattern::Any);
        }
        CountryCode::parse(&s)
            .map(CountryPattern::Is)
            .map_err(|_| serde::de::Error::custom("expected `*` or an ISO 3166-1 country code"))
    }
}

/// What identifies the person toward the agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// The national identifier itself.
    National,
    /// A pseudonym per agency sector (see [`crate::PairwiseKey`]).
    Pairwise,
}

/// One rule of `config/policy.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub origin: CountryPattern,
    pub destination: CountryPattern,
    /// `false` forbids the pair outright (a more specific "no" under a wildcard "yes").
    #[serde(default = "yes")]
    pub allow: bool,
    /// Claims released beyond the minimum data set, which is always released.
    #[serde(default)]
    pub release: Vec<SharedClaim>,
    #[serde(default)]
    pub min_loa: Option<Loa>,
    #[serde(default)]
    pub identifier: Option<Disclosure>,
    #[serde(default)]
    pub consent: Option<bool>,
    /// Legal bases (as agencies' registrations name them) under which a token exchange may
    /// release identities without the citizen's consent where `consent` requires it; empty:
    /// a consent-requiring pair is never exchanged.
    #[serde(default)]
    pub exchange_legal_bases: Vec<String>,
    /// Single sign-on: a citizen signed in through the gateway for one agency of the
    /// destination may sign in to another without a new national login. Off unless set.
    #[serde(default)]
    pub sso: bool,
}

fn yes() -> bool {
    true
}

impl Rule {
    /// How specific the rule is: both countries named > origin named > destination named > none.
    fn rank(&self) -> u8 {
        let named = |p: CountryPattern| matches!(p, CountryPattern::Is(_));
        u8::from(named(self.origin)) * 2 + u8::from(named(self.destination))
    }

    /// A short name for messages: `SA→BH`, `*→*`.
    pub fn id(&self) -> String {
        format!("{}→{}", self.origin, self.destination)
    }

    /// Whether `claim` is released under this rule.
    pub fn releases(&self, claim: SharedClaim) -> bool {
        claim.is_minimum() || self.release.contains(&claim)
    }

    /// The claims released under this rule: the minimum data set, then the extras.
    pub fn released(&self) -> Vec<SharedClaim> {
        SharedClaim::ALL
            .into_iter()
            .filter(|c| self.releases(*c))
            .collect()
    }

    /// Minimum LoA of an allowing rule (validated present at load).
    pub fn min_loa(&self) -> Loa {
        self.min_loa.unwrap_or(Loa::High)
    }

    /// Disclosure of an allowing rule (validated present at load).
    pub fn disclosure(&self) -> Disclosure {
        self.identifier.unwrap_or(Disclosure::Pairwise)
    }

    /// Whether the citizen must consent (validated present at load; defaults to asking).
    pub fn consent_required(&self) -> bool {
        self.consent.unwrap_or(true)
    }

    /// Whether a token exchange may release under this rule for an agency registered with
    /// `legal_basis`: always where no consent is required, else only under a basis the rule
    /// accepts.
    pub fn exchange_allowed(&self, legal_basis: Option<&str>) -> bool {
        !self.consent_required()
            || legal_basis.is_some_and(|b| self.exchange_legal_bases.iter().any(|a| a == b))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// The whole release policy.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
}

impl Policy {
    /// Parses and validates `config/policy.toml`.
    ///
    /// ```
    /// use jisr_mapping::{CountryCode, Policy};
    /// let policy = Policy::from_toml("policy.toml", r#"
    /// [[rule]]
    /// origin = "*"
    /// destination = "*"
    /// min_loa = "substantial"
    /// identifier = "pairwise"
    /// consent = true
    ///
    /// [[rule]]
    /// origin = "SA"
    /// destination = "BH"
    /// min_loa = "high"
    /// identifier = "national"
    /// consent = false
    /// release = ["gender"]
    /// "#).unwrap();
    /// let cc = |s: &str| s.parse::<CountryCode>().unwrap();
    /// assert_eq!(policy.rule_for(cc("SA"), cc("BH")).unwrap().id(), "SA→BH");
    /// assert_eq!(policy.rule_for(cc("BH"), cc("SA")).unwrap().id(), "*→*");
    /// ```
    pub fn from_toml(file: &str, text: &str) -> Result<Self, ConfigProblem> {
        let parsed: PolicyFile = parse_toml(file, text)?;
        let policy = Policy { rules: parsed.rule };
        policy.validate(file)?;
        Ok(policy)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigProblem> {
        for (i, rule) in self.rules.iter().enumerate() {
            let key = |field: &str| format!("rule[{i}].{field}");
            if rule.allow {
                for (field, present) in [
                    ("min_loa", rule.min_loa.is_some()),
                    ("identifier", rule.identifier.is_some()),
                    ("consent", rule.consent.is_some()),
                ] {
                    if !present {
                        return Err(ConfigProblem::invalid(
                            file,
                            key(field),
                            format!("rule {} must set `{field}`", rule.id()),
                        ));
                    }
                }
            } else if rule.min_loa.is_some()
                || rule.identifier.is_some()
                || rule.consent.is_some()
                || !rule.release.is_empty()
                || !rule.exchange_legal_bases.is_empty()
            {
                return Err(ConfigProblem::invalid(
                    file,
                    key("allow"),
                    format!(
                        "rule {} forbids the pair and must set nothing else",
                        rule.id()
                    ),
                ));
            }
            if let Some(j) = rule
                .exchange_legal_bases
                .iter()
                .position(|b| b.is_empty() || b.chars().any(|c| !c.is_ascii_graphic()))
            {
                return Err(ConfigProblem::invalid(
                    file,
                    key(&format!("exchange_legal_bases[{j}]")),
                    "name a legal basis in printable ASCII without spaces",
                ));
            }
            if let Some(j) = self.rules[..i]
                .iter()
                .position(|r| r.origin == rule.origin && r.destination == rule.destination)
            {
                return Err(ConfigProblem::invalid(
                    file,
                    key("origin"),
                    format!("rule {} duplicates rule[{j}]", rule.id()),
                ));
            }
        }
        Ok(())
    }

    /// The most specific rule for the pair, if it allows the pair.
    ///
    /// A rule naming both countries beats one naming only the origin, which beats one naming
    /// only the destination, which beats `*→*`. `None` means refused: no rule, or the winning
    /// rule has `allow = false`.
    pub fn rule_for(&self, origin: CountryCode, destination: CountryCode) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.origin.matches(origin) && r.destination.matches(destination))
            .max_by_key(|r| r.rank())
            .filter(|r| r.allow)
    }

    /// The rule that governs the pair, or why the pair is refused: [`Policy::rule_for`] as a
    /// decision a flow carries (by [`Rule::id`]) from the country choice to the mapping.
    pub fn decide(
        &self,
        origin: CountryCode,
        destination: CountryCode,
    ) -> Result<&Rule, MappingError> {
        self.rule_for(origin, destination)
            .ok_or(MappingError::PairRefused {
                origin,
                destination,
            })
    }

    /// The allowing rule named `id` ([`Rule::id`]), as decided earlier in a flow.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.allow && r.id() == id)
    }

    /// All rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> CountryCode {
        s.parse().unwrap()
    }

    const FOUR_LEVELS: &str = r#"
[[rule]]
origin = "*"
destination = "*"
min_loa = "low"
identifier = "pairwise"
consent = true

[[rule]]
origin = "*"
destination = "BH"
min_loa = "substantial"
identifier = "pairwise"
consent = true

[[rule]]
origin = "SA"
destination = "*"
min_loa = "substantial"
identifier = "national"
consent = true

[[rule]]
origin = "SA"
destination = "BH"
min_loa = "high"
identifier = "national"
consent = false
release = ["gender", "nationalities"]

[[rule]]
origin = "QA"
destination = "KW"
allow = false
"#;

    #[test]
    fn most_specific_rule_wins() {
        let p = Policy::from_toml("policy.toml", FOUR_LEVELS).unwrap();
        let id = |o: &str, d: &str| p.rule_for(cc(o), cc(d)).map(Rule::id);
        assert_eq!(id("SA", "BH").as_deref(), Some("SA→BH"));
        assert_eq!(id("SA", "OM").as_deref(), Some("SA→*"));
        assert_eq!(id("KW", "BH").as_deref(), Some("*→BH"));
        assert_eq!(id("KW", "OM").as_deref(), Some("*→*"));
        // The origin's own rule outranks a destination-only rule.
        assert_eq!(p.rule_for(cc("SA"), cc("BH")).unwrap().min_loa(), Loa::High);
        // An explicit "no" beats the wildcard "yes".
        assert_eq!(id("QA", "KW"), None);
        assert_eq!(id("QA", "OM").as_deref(), Some("*→*"));
    }

    #[test]
    fn pair_without_rule_is_refused() {
        let p = Policy::from_toml(
            "policy.toml",
            "[[rule]]\norigin = \"SA\"\ndestination = \"BH\"\nmin_loa = \"low\"\nidentifier = \"national\"\nconsent = true\n",
        )
        .unwrap();
        assert!(p.rule_for(cc("SA"), cc("BH")).is_some());
        assert!(p.rule_for(cc("BH"), cc("SA")).is_none());
        assert!(p.rule_for(cc("SA"), cc("OM")).is_none());
    }

    #[test]
    fn release_lists_minimum_then_extras() {
        let p = Policy::from_toml("policy.toml", FOUR_LEVELS).unwrap();
        let names: Vec<_> = p
            .rule_for(cc("SA"), cc("BH"))
            .unwrap()
            .released()
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(
            names,
            [
                "person_identifier",
                "family_name",
                "given_name",
                "birthdate",
                "gender",
                "nationalities"
            ]
        );
    }

    #[test]
    fn bad_policies_name_the_key() {
        let cases = [
            (
                "[[rule]]\norigin = \"*\"\ndestination = \"*\"\nmin_loa = \"low\"\nidentifier = \"pairwise\"\n",
                "rule[0].consent",
                "must set `consent`",
            ),
            (
                "[[rule]]\norigin = \"XX\"\n",
                "rule[0].origin",
                "expected `*` or an ISO 3166-1",
            ),
            (
                "[[rule]]\norigin = \"*\"\ndestination = \"*\"\nmin_loa = \"medium\"\n",
                "rule[0].min_loa",
                "expected `low`",
            ),
            (
                "[[rule]]\norigin = \"*\"\ndestination = \"*\"\nrelease = [\"eye_colour\"]\n",
                "rule[0].release[0]",
                "not a shared claim",
            ),
            (
                "[[rule]]\norigin = \"*\"\ndestination = \"*\"\nallow = false\nconsent = true\n",
                "rule[0].allow",
                "must set nothing else",
            ),
            (
                "[[rule]]\norigin = \"*\"\ndestination = \"*\"\ncolour = 1\n",
                "rule[0].colour",
                "unknown field",
            ),
            (
                "[[rule]]\norigin = \"*\"\ndestination = \"*\"\nallow = false\n[[rule]]\norigin = \"*\"\ndestination = \"*\"\nallow = false\n",
                "rule[1].origin",
                "duplicates rule[0]",
            ),
            ("[[rule]\n", "line 1", ""),
        ];
        for (text, key, needle) in cases {
            let err = Policy::from_toml("policy.toml", text).unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
            assert!(err.problem.contains(needle), "{text}: {err}");
            assert_eq!(err.file, "policy.toml");
        }
    }
}
