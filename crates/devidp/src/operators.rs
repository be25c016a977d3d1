//! Operator mode: the dev IdP plays the gateway operators' own IdP (not a national one), so
//! the demo and the tests can sign in to the dashboard. Its people are invented staff
//! accounts whose ID tokens carry `groups`, the claim the gateway's `[admin]` allow-list
//! matches.

use serde_json::{Map, Value, json};

/// One invented operator account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operator {
    /// The `login_hint` that picks them, and their `sub`.
    pub id: &'static str,
    pub name_en: &'static str,
    pub name_ar: &'static str,
    /// The operator IdP's groups (`jisr-admins`, `jisr-viewers`).
    pub groups: &'static [&'static str],
    /// What this account exercises, for people reading the chooser.
    pub note: &'static str,
}

/// Group of the demo's administrators (suspend and resume).
pub const ADMIN_GROUP: &str = "jisr-admins";
/// Group of the demo's viewers (read only).
pub const VIEWER_GROUP: &str = "jisr-viewers";

static OPERATORS: [Operator; 3] = [
    Operator {
        id: "ops-admin",
        name_en: "Demo Administrator",
        name_ar: "مشرف تجريبي",
        groups: &[ADMIN_GROUP],
        note: "group jisr-admins: may suspend and resume",
    },
    Operator {
        id: "ops-viewer",
        name_en: "Demo Viewer",
        name_ar: "مراقب تجريبي",
        groups: &[VIEWER_GROUP],
        note: "group jisr-viewers: read only",
    },
    Operator {
        id: "ops-stranger",
        name_en: "Unlisted Staff",
        name_ar: "موظف غير مدرج",
        groups: &["finance"],
        note: "on no allow-list: the dashboard answers 403",
    },
];

/// Every operator account of operator mode.
pub fn operators() -> &'static [Operator] {
    &OPERATORS
}

/// The operator a `login_hint` names.
pub fn find(hint: &str) -> Option<&'static Operator> {
    OPERATORS.iter().find(|o| o.id == hint)
}

/// The claims of an operator's ID token and userinfo besides the standard ones.
pub fn claims(o: &Operator) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(o.name_en));
    m.insert("groups".into(), json!(o.groups));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_cover_both_roles_and_a_stranger() {
        assert_eq!(find("ops-admin").unwrap().groups, &[ADMIN_GROUP]);
        assert_eq!(find("ops-viewer").unwrap().groups, &[VIEWER_GROUP]);
        assert!(
            find("ops-stranger")
                .unwrap()
                .groups
                .iter()
                .all(|g| !g.starts_with("jisr"))
        );
        assert_eq!(
            claims(find("ops-admin").unwrap())["groups"],
            json!(["jisr-admins"])
        );
        assert!(find("1000000016").is_none());
    }
}
