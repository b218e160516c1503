//! keepalived's lexical rules for one line: comments, the two ways it splits a line into
//! words, and where a line breaks at a brace.
//!
//! keepalived splits most lines with double quotes only and no escapes (`alloc_strvec_r`),
//! and splits the lines that carry a script again with both quotes and backslash escapes
//! (`alloc_strvec_quoted_escaped`). Comments start with `#` or `!` outside double quotes.

/// What keepalived counts as white space between words.
fn is_white(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}' | '\n' | '\r' | '\u{b}')
}

/// A line after comment removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decommented {
    /// The text, trimmed, without its comment; a trailing `\` is kept (it continues a
    /// multi-line definition).
    pub text: String,
    /// A double quote is not closed (keepalived reports it and goes on).
    pub open_quote: bool,
}

/// Removes a comment (`#` or `!` outside double quotes), the backslash of `\#` and `\!`
/// outside quotes, and leading and trailing blanks; a backslash that ends the line stays
/// as the last character (keepalived's `decomment`).
pub fn decomment(line: &str) -> Decommented {
    let line = line.trim_start_matches([' ', '\t']);
    let mut out = String::with_capacity(line.len());
    let mut quote = false;
    let mut comment = false;
    let mut continued = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                if !comment {
                    quote = !quote;
                }
                if !comment {
                    out.push(c);
                }
            }
            '\\' => match chars.next() {
                None => {
                    continued = true;
                    break;
                }
                Some(n @ ('#' | '!')) if !quote => {
                    if !comment {
                        out.push(n);
                    }
                }
                Some(n) => {
                    if !comment {
                        out.push('\\');
                        out.push(n);
                    }
                }
            },
            '#' | '!' if !quote && !comment => comment = true,
            _ => {
                if !comment {
                    out.push(c);
                }
            }
        }
    }
    let mut text = out.trim_end_matches([' ', '\t']).to_owned();
    if continued {
        text.push('\\');
    }
    Decommented { text, open_quote: quote }
}

/// A double quote that is never closed: the words before it are still returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenQuote;

/// Splits a line as keepalived does for keywords: white space separates words, a word
/// that starts with `"` runs to the next `"` (no escapes), and a `"` also ends a bare word.
pub fn split(text: &str) -> (Vec<String>, Option<OpenQuote>) {
    let mut words = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(is_white);
        if rest.is_empty() {
            return (words, None);
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => {
                    words.push(quoted[..end].to_owned());
                    rest = &quoted[end + 1..];
                }
                None => return (words, Some(OpenQuote)),
            }
        } else {
            let end = rest.find(|c: char| is_white(c) || c == '"').unwrap_or(rest.len());
            words.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
}

/// Why a line could not be split with quotes and escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteError {
    /// A `'` or `"` is not closed.
    Unterminated(char),
    /// A backslash ends the line.
    TrailingBackslash,
}

/// Splits a line as keepalived does for scripts: `'` and `"` quote (the quotes are
/// removed and adjacent pieces join), and a backslash escapes the next character with the
/// C escapes (`\n`, `\t`, `\x41`, `\101`, `\cA`, ...) understood.
pub fn split_quoted(text: &str) -> Result<Vec<String>, QuoteError> {
    let mut words = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    loop {
        while i < chars.len() && is_white(chars[i]) {
            i += 1;
        }
        if i == chars.len() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match (quote, c) {
                (_, '\\') => {
                    let (ch, used) = escape(&chars[i + 1..]).ok_or(QuoteError::TrailingBackslash)?;
                    word.push(ch);
                    i += 1 + used;
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    i += 1;
                }
                (Some(_), c) => {
                    word.push(c);
                    i += 1;
                }
                (None, '"' | '\'') => {
                    quote = Some(c);
                    i += 1;
                }
                (None, c) if is_white(c) => break,
                (None, c) => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        if let Some(q) = quote {
            return Err(QuoteError::Unterminated(q));
        }
        words.push(word);
    }
}

/// The character an escape sequence stands for, and how many characters after the
/// backslash it used; `None` when nothing follows the backslash.
fn escape(after: &[char]) -> Option<(char, usize)> {
    let first = *after.first()?;
    let hex = |c: char| c.to_digit(16);
    let octal = |c: char| c.to_digit(8);
    Some(match first {
        'x' if after.get(1).copied().and_then(hex).is_some() => {
            let digits: Vec<u32> = after[1..].iter().map_while(|&c| hex(c)).collect();
            // keepalived keeps the low byte of as many digits as there are.
            let value = digits.iter().fold(0u32, |v, d| (v << 4 | d) & 0xff);
            (byte_char(value), 1 + digits.len())
        }
        'c' if after.len() > 1 => (byte_char(u32::from(after[1]) & 0x1f), 2),
        '0'..='7' => {
            let digits: Vec<u32> = after.iter().take(3).map_while(|&c| octal(c)).collect();
            let value = digits.iter().fold(0u32, |v, d| (v << 3 | d) & 0xff);
            (byte_char(value), digits.len())
        }
        'a' => ('\u{7}', 1),
        'b' => ('\u{8}', 1),
        'E' => ('\u{1b}', 1),
        'f' => ('\u{c}', 1),
        'n' => ('\n', 1),
        'r' => ('\r', 1),
        't' => ('\t', 1),
        'v' => ('\u{b}', 1),
        other => (other, 1),
    })
}

fn byte_char(v: u32) -> char {
    char::from_u32(v).unwrap_or('?')
}

/// A command line for `/bin/sh -c` that runs exactly `argv`, as keepalived runs a script
/// (it executes the words itself, or hands `/bin/sh` each word in single quotes): words
/// with characters the shell would act on are single-quoted, the others left bare.
pub fn shell_join(argv: &[String]) -> String {
    let plain =
        |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    argv.iter()
        .map(|w| if plain(w) { w.clone() } else { format!("'{}'", w.replace('\'', r"'\''")) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A line split at its first brace outside double quotes: the text before it (trimmed,
/// `None` when empty), the brace, and the text after it (trimmed), which keepalived reads
/// again as a line of its own. `vrrp_instance VI_1 { state MASTER }` is thus four lines.
pub fn first_brace(text: &str) -> Option<(Option<&str>, char, &str)> {
    let mut quote = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quote = !quote,
            '{' | '}' if !quote => {
                let before = text[..i].trim_matches([' ', '\t']);
                let after = text[i + 1..].trim_matches([' ', '\t']);
                return Some(((!before.is_empty()).then_some(before), c, after));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_end_where_keepalived_ends_them() {
        assert_eq!(decomment("  priority 100 # comment").text, "priority 100");
        assert_eq!(decomment("a ! b").text, "a");
        assert_eq!(decomment(r#"script "a # b" # c"#).text, r#"script "a # b""#);
        assert_eq!(decomment(r"weight \#1").text, "weight #1");
        assert_eq!(decomment(r#""\#""#).text, r#""\#""#);
        // Blanks before a final backslash go too.
        assert_eq!(decomment("$X=a \\").text, "$X=a\\");
        assert!(decomment(r#"script "open"#).open_quote);
    }

    #[test]
    fn words_split_on_double_quotes_only() {
        let (w, e) = split(r#"notify_master "/bin/x  a b" root"#);
        assert_eq!(w, vec!["notify_master", "/bin/x  a b", "root"]);
        assert!(e.is_none());
        let (w, _) = split("a'b c'");
        assert_eq!(w, vec!["a'b", "c'"]);
        let (w, _) = split(r#"ab"cd"ef"#);
        assert_eq!(w, vec!["ab", "cd", "ef"]);
        let (w, e) = split(r#"x "open"#);
        assert_eq!(w, vec!["x"]);
        assert_eq!(e, Some(OpenQuote));
    }

    #[test]
    fn quoted_words_join_and_escape() {
        assert_eq!(
            split_quoted(r#"script "bash -c '</dev/tcp/x/80'" user"#).unwrap(),
            vec!["script", "bash -c '</dev/tcp/x/80'", "user"]
        );
        assert_eq!(split_quoted(r#"a'b c'd"#).unwrap(), vec!["ab cd"]);
        assert_eq!(split_quoted(r"a\ b \x41\101\n").unwrap(), vec!["a b", "AA\n"]);
        assert_eq!(split_quoted(r"\cA").unwrap(), vec!["\u{1}"]);
        assert_eq!(split_quoted("'open"), Err(QuoteError::Unterminated('\'')));
        assert_eq!(split_quoted("x\\"), Err(QuoteError::TrailingBackslash));
    }

    #[test]
    fn commands_run_their_words_as_keepalived_does() {
        let argv = |t: &str| split_quoted(t).unwrap();
        assert_eq!(shell_join(&argv("killall -0 sshd")), "killall -0 sshd");
        assert_eq!(shell_join(&argv("bash -c '</dev/tcp/127.0.0.1/80'")), "bash -c '</dev/tcp/127.0.0.1/80'");
        assert_eq!(shell_join(&argv("/bin/x  MASTER   VI_1")), "/bin/x MASTER VI_1");
        assert_eq!(shell_join(&argv(r#"/bin/x "it's" a;b ''"#)), r"/bin/x 'it'\''s' 'a;b' ''");
    }

    #[test]
    fn a_line_breaks_at_its_first_brace() {
        assert_eq!(
            first_brace("vrrp_instance VI_1 { state MASTER }"),
            Some((Some("vrrp_instance VI_1"), '{', "state MASTER }"))
        );
        assert_eq!(first_brace("{ state"), Some((None, '{', "state")));
        assert_eq!(first_brace("}"), Some((None, '}', "")));
        assert_eq!(first_brace(r#"script "a { b }""#), None);
    }
}
