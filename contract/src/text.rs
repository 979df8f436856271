//! Text that PostgreSQL can store. It refuses the NUL character in `text` and in `jsonb`
//! (as `\u0000`), so requests carrying one are refused with a 422 before they reach it.

/// Whether `text` contains a control character other than line breaks and tabs (NUL included):
/// refused in free text such as prompts and bios.
#[must_use]
pub fn has_stray_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Whether the JSON document `json` encodes a NUL character: a raw zero byte or a `\u0000`
/// escape (one whose backslash is not itself escaped, so the text `\\u0000` is fine).
#[must_use]
pub fn json_has_nul(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, byte) in json.iter().enumerate() {
        match byte {
            0 => return true,
            b'\\' => {
                backslashes += 1;
                continue;
            }
            b'u' if backslashes % 2 == 1 && json.get(i + 1..i + 5) == Some(b"0000") => return true,
            _ => {}
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_may_break_lines_but_not_carry_other_control_characters() {
        assert!(!has_stray_control("a penguin\non ice,\tat dusk\r\n"));
        for bad in ["a\u{0}b", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}", "c1\u{85}"] {
            assert!(has_stray_control(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_nul_is_found_however_json_spells_it_and_only_then() {
        let encoded = serde_json::to_vec(&serde_json::json!({"prompt": "a\u{0}b"})).unwrap();
        assert!(json_has_nul(&encoded));
        assert!(json_has_nul(br#"{"a": "\\\u0000"}"#), "an escaped backslash, then a NUL");
        assert!(json_has_nul(b"{\"a\": \"\0\"}"));
        assert!(!json_has_nul(br#"{"a": "\\u0000"}"#), "the text \\u0000, not a NUL");
        assert!(!json_has_nul(br#"{"a": "\u0001 \u00a0"}"#));
        assert!(!json_has_nul(br#"{"a": "\u0041", "b": "u0000"}"#));
    }
}
