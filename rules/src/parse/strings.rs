//! Option values: quoted strings, negation and content bytes (`|41 42|` hex and escapes).

/// Splits `[!]"..."` into the negation and the text between the quotes (escapes kept).
pub fn unquote_negatable(value: &str) -> Result<(bool, &str), String> {
    let v = value.trim();
    let (negated, rest) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim_start()),
        None => (false, v),
    };
    Ok((negated, unquote(rest)?))
}

/// The text between the quotes of `"..."` (escapes kept). A value without quotes is taken
/// as it is, as Suricata does for most keywords.
pub fn unquote(value: &str) -> Result<&str, String> {
    let v = value.trim();
    if let Some(inner) = v.strip_prefix('"') {
        match inner.strip_suffix('"') {
            Some(body) if !ends_with_escape(body) => Ok(body),
            _ => Err("missing closing '\"'".into()),
        }
    } else if v.ends_with('"') {
        Err("missing opening '\"'".into())
    } else {
        Ok(v)
    }
}

/// Whether `s` ends with an odd number of backslashes (so its last quote is escaped).
fn ends_with_escape(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Resolves the rule-language escapes `\"`, `\;`, `\\` and `\:`; other backslashes stay.
pub fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('"' | ';' | '\\' | ':')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes the bytes of a `content` string: text, `|41 42|` hex groups and the escapes `\"`,
/// `\;`, `\\`, `\:` (any other escape and an unescaped `"` are errors, as in Suricata).
pub fn decode_content(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    let mut in_hex = false;
    let mut nibble: Option<u8> = None;
    while let Some(&c) = b.get(i) {
        if in_hex {
            match c {
                b'|' => {
                    if nibble.is_some() {
                        return Err(format!(
                            "odd number of hex digits in hex group ending at byte {}",
                            i + 1
                        ));
                    }
                    in_hex = false;
                }
                // Suricata skips white space anywhere in a hex group: `|3 a20|` is 3a 20.
                b' ' | b'\t' => {}
                _ => {
                    let v = hex_val(c).ok_or_else(|| {
                        format!(
                            "invalid character '{}' in hex group at byte {}",
                            char::from(c).escape_default(),
                            i + 1
                        )
                    })?;
                    match nibble.take() {
                        Some(hi) => out.push(hi << 4 | v),
                        None => nibble = Some(v),
                    }
                }
            }
            i += 1;
            continue;
        }
        match c {
            b'|' => in_hex = true,
            b'\\' => {
                let n = b.get(i + 1).copied();
                match n {
                    Some(e @ (b'"' | b';' | b'\\' | b':')) => {
                        out.push(e);
                        i += 1;
                    }
                    Some(e) => {
                        return Err(format!(
                            "invalid escape '\\{}' at byte {} (only \\\" \\; \\: \\\\ are allowed)",
                            char::from(e).escape_default(),
                            i + 1
                        ))
                    }
                    None => return Err("content ends with a lone '\\'".into()),
                }
            }
            b'"' => {
                return Err(format!(
                    "unescaped '\"' at byte {} inside the content",
                    i + 1
                ))
            }
            b';' => return Err(format!("unescaped ';' at byte {}", i + 1)),
            _ => out.push(c),
        }
        i += 1;
    }
    if in_hex {
        return Err("unclosed '|' hex group".into());
    }
    if out.is_empty() {
        return Err("empty content".into());
    }
    Ok(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hex_text_and_escapes() {
        assert_eq!(decode_content("A|42 43|D").unwrap(), b"ABCD");
        assert_eq!(decode_content("|4142|").unwrap(), b"AB");
        assert_eq!(decode_content(r#"a\;b\"c\\d\:"#).unwrap(), b"a;b\"c\\d:");
        assert!(decode_content("|414|").is_err());
        assert_eq!(decode_content("|3 a20|").unwrap(), b": ");
        assert!(decode_content("|41").is_err());
        assert!(decode_content("|4G|").is_err());
        assert!(decode_content(r"a\n").is_err());
        assert!(decode_content("a\"b").is_err());
        assert!(decode_content("").is_err());
    }

    #[test]
    fn quotes_and_negation() {
        assert_eq!(unquote_negatable(r#"!"abc""#).unwrap(), (true, "abc"));
        assert_eq!(unquote_negatable(r#" "a\"" "#).unwrap(), (false, r#"a\""#));
        assert!(unquote(r#""abc\""#).is_err());
        assert!(unquote(r#""abc"#).is_err());
        assert_eq!(unescape_text(r#"a \"b\" \; \x"#), r#"a "b" ; \x"#);
    }
}
