//! Name cleaning (NFC, no control, bidi or zero-width characters) and combined-name splitting.

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use crate::error::ValueProblem;

/// Longest name accepted after cleaning, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Format characters that change how text is displayed without being part of a name:
/// bidi embeddings, overrides, isolates and marks, zero-width characters, soft hyphen, BOM.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                // soft hyphen
        | '\u{061C}'              // Arabic letter mark
        | '\u{180E}'              // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, ZWNJ, ZWJ, LRM, RLM
        | '\u{202A}'..='\u{202E}' // LRE, RLE, PDF, LRO, RLO
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{206F}' // isolates and deprecated format characters
        | '\u{FEFF}'              // zero-width no-break space / BOM
        | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
        | '\u{E0000}'..='\u{E007F}' // tag characters
    )
}

/// Cleans one name: Unicode NFC, bidi/zero-width/control characters removed, runs of white
/// space folded to one space, trimmed. A name that is empty afterwards is refused.
///
/// ```
/// use jisr_mapping::names::clean_name;
/// assert_eq!(clean_name("\u{202E}Ahmed\u{200B}  Al\tMansoori ").unwrap(), "Ahmed Al Mansoori");
/// assert!(clean_name("\u{200F}\u{202A}").is_err());
/// ```
pub fn clean_name(raw: &str) -> Result<String, ValueProblem> {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.nfc() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(ValueProblem::EmptyAfterCleaning);
    }
    if out.chars().count() > MAX_NAME_CHARS {
        return Err(ValueProblem::TooLong {
            max: MAX_NAME_CHARS,
        });
    }
    Ok(out)
}

/// Which part of a combined name to take, counting only non-empty parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The first non-empty part (a given name).
    First,
    /// The last non-empty part (a family name).
    Last,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::First => "first",
            Part::Last => "last",
        }
    }
}

/// A combined-name transform: split on `separator`, take one non-empty part.
///
/// UAE PASS, per its public documentation, sends `fullnameEN` as comma-separated parts with
/// empty slots, e.g. `"Ahmed,,,,Al Mansoori,,"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub separator: String,
    pub part: Part,
}

impl Split {
    /// Applies the split to a raw value (before cleaning).
    ///
    /// ```
    /// use jisr_mapping::names::{Part, Split};
    /// let last = Split { separator: ",".into(), part: Part::Last };
    /// assert_eq!(last.apply("Ahmed,,,,Al Mansoori,,").unwrap(), "Al Mansoori");
    /// ```
    pub fn apply<'a>(&self, raw: &'a str) -> Result<&'a str, ValueProblem> {
        let mut parts = raw
            .split(self.separator.as_str())
            .map(str::trim)
            .filter(|p| clean_name(p).is_ok());
        let found = match self.part {
            Part::First => parts.next(),
            Part::Last => parts.last(),
        };
        found.ok_or_else(|| ValueProblem::NoSuchPart {
            part: self.part.name(),
            separator: self.separator.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_bidi_controls_and_zero_width() {
        let cases = [
            ("\u{202B}محمد\u{202C}", "محمد"),
            ("\u{2067}فاطمة\u{2069}", "فاطمة"),
            ("Sa\u{200B}ra\u{FEFF}", "Sara"),
            ("\u{200E}Khalid\u{200F}", "Khalid"),
            ("Al\u{00AD}Nuaimi", "AlNuaimi"),
            ("ع\u{061C}لي", "علي"),
            ("Noor\u{E0041}", "Noor"),
            ("  Al   Hashimi\n", "Al Hashimi"),
        ];
        for (raw, want) in cases {
            assert_eq!(clean_name(raw).unwrap(), want, "{raw:?}");
        }
    }

    #[test]
    fn normalises_to_nfc() {
        // "é" as e + combining acute becomes the single precomposed character.
        assert_eq!(clean_name("Rene\u{0301}").unwrap(), "Ren\u{00E9}");
        // Arabic alef + hamza above composes to U+0623.
        assert_eq!(clean_name("\u{0627}\u{0654}حمد").unwrap(), "\u{0623}حمد");
    }

    #[test]
    fn only_controls_is_refused() {
        for raw in [
            "",
            "   ",
            "\u{202E}\u{202C}",
            "\u{200B}\u{200D}\u{FEFF}",
            "\u{0000}\u{0007}\t",
        ] {
            assert_eq!(
                clean_name(raw),
                Err(ValueProblem::EmptyAfterCleaning),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn overlong_is_refused() {
        let long = "a".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            clean_name(&long),
            Err(ValueProblem::TooLong {
                max: MAX_NAME_CHARS
            })
        );
        assert!(clean_name(&"a".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn split_takes_non_empty_parts() {
        let first = Split {
            separator: ",".into(),
            part: Part::First,
        };
        let last = Split {
            separator: ",".into(),
            part: Part::Last,
        };
        assert_eq!(first.apply("Ahmed,,,,Al Mansoori,,").unwrap(), "Ahmed");
        assert_eq!(last.apply("Ahmed,,,,Al Mansoori,,").unwrap(), "Al Mansoori");
        assert_eq!(first.apply(",,\u{200B},Mariam,Saeed").unwrap(), "Mariam");
        assert_eq!(
            last.apply(",,, ,"),
            Err(ValueProblem::NoSuchPart {
                part: "last",
                separator: ",".into()
            })
        );
    }
}
