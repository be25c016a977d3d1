//! `[session]`: how long the gateway's single sign-on session lasts. A session ends when it
//! has not been used for `idle_secs` (a new sign-in to an agency through it counts as use),
//! and in any case `absolute_secs` after the national login that opened it.

use serde::{Deserialize, Serialize};

/// The session's lifetimes, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Ends a session unused for this long (60–86400; default 30 minutes).
    pub idle_secs: u64,
    /// Ends a session this long after the national login, used or not (300–604800, at
    /// least `idle_secs`; default 8 hours).
    pub absolute_secs: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_secs: 1800,
            absolute_secs: 8 * 3600,
        }
    }
}

impl SessionConfig {
    /// Every range problem, as `(key, problem)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(60..=86_400).contains(&self.idle_secs) {
            out.push((
                "session.idle_secs",
                "must be between 60 and 86400 seconds".into(),
            ));
        }
        if !(300..=604_800).contains(&self.absolute_secs) {
            out.push((
                "session.absolute_secs",
                "must be between 300 and 604800 seconds".into(),
            ));
        } else if self.absolute_secs < self.idle_secs {
            out.push((
                "session.absolute_secs",
                "must be at least session.idle_secs".into(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_are_checked() {
        assert!(SessionConfig::default().problems().is_empty());
        let short = SessionConfig {
            idle_secs: 10,
            absolute_secs: 100,
        };
        let keys: Vec<_> = short.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["session.idle_secs", "session.absolute_secs"]);
        let inverted = SessionConfig {
            idle_secs: 7200,
            absolute_secs: 3600,
        };
        assert_eq!(
            inverted.problems()[0].1,
            "must be at least session.idle_secs"
        );
    }
}
