//! Splits a line into words the way UCI quotes them.
//!
//! Single quotes are literal (`'\''` embeds a quote by closing, escaping and reopening),
//! double quotes honour backslash escapes, bare words may escape one character with a
//! backslash, adjacent pieces concatenate, and `#` outside quotes starts a comment.

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordError {
    UnterminatedSingle,
    UnterminatedDouble,
    TrailingBackslash,
}

impl WordError {
    /// What went wrong and what the operator should write instead.
    pub fn describe(&self) -> (&'static str, &'static str) {
        match self {
            WordError::UnterminatedSingle => ("unterminated single quote", "a closing '"),
            WordError::UnterminatedDouble => ("unterminated double quote", "a closing \""),
            WordError::TrailingBackslash => ("backslash at the end of the line", "a character after \\"),
        }
    }
}

/// Splits `line` into words; a comment ends the line.
pub fn split(line: &str) -> Result<Vec<String>, WordError> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None | Some('#') => return Ok(words),
            Some(_) => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' => loop {
                    match chars.next() {
                        None => return Err(WordError::UnterminatedSingle),
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        None => return Err(WordError::UnterminatedDouble),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err(WordError::UnterminatedDouble),
                            Some(ch) => word.push(ch),
                        },
                        Some(ch) => word.push(ch),
                    }
                },
                '\\' => match chars.next() {
                    None => return Err(WordError::TrailingBackslash),
                    Some(ch) => word.push(ch),
                },
                ch => word.push(ch),
            }
        }
        words.push(word);
    }
}

/// Quotes a value so that [`split`] gives it back unchanged, as `uci show` does.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_uci_show_quoting() {
        assert_eq!(split("'a b' 'c'").unwrap(), vec!["a b", "c"]);
        assert_eq!(split(r"'it'\''s'").unwrap(), vec!["it's"]);
        assert_eq!(split(r#""say \"hi\"" bare"#).unwrap(), vec![r#"say "hi""#, "bare"]);
        assert_eq!(split("  x  # comment 'y").unwrap(), vec!["x"]);
        assert_eq!(split("''").unwrap(), vec![""]);
        assert_eq!(split("a'b'c").unwrap(), vec!["abc"]);
        assert!(split("'open").is_err());
        assert!(split("\"open").is_err());
        assert!(split("end\\").is_err());
    }

    proptest! {
        #[test]
        fn quote_round_trips(v in ".*") {
            prop_assert_eq!(split(&quote(&v)).unwrap(), vec![v]);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = split(&s);
        }
    }
}
