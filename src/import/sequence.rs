//! keepalived's repeated lines: `~SEQ(var, start, step, end) TEXT` (`~SEQx` for
//! hexadecimal values) and `~LST(var, v1, v2, ...) TEXT` / `~LST({a, b}, {1, 2}, ...) TEXT`
//! read TEXT once per value, with the variables defined as parameters.

/// Most values one `~SEQ` or `~LST` may produce.
pub const MAX_VALUES: usize = 10_000;

/// A parsed `~SEQ` or `~LST` line: the variables, one assignment of values per repetition,
/// and the text to repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub vars: Vec<String>,
    pub values: Vec<Vec<String>>,
    pub text: String,
}

/// Reads a `~SEQ`, `~SEQx` or `~LST` line whose arguments have had their parameters
/// substituted; `Err` says what is wrong with it.
pub fn parse(line: &str) -> Result<Repeat, String> {
    if let Some(rest) = line.strip_prefix("~SEQ") {
        let (hex, rest) = match rest.strip_prefix('x') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (args, text) = arguments(rest)?;
        seq(&args, hex, text)
    } else if let Some(rest) = line.strip_prefix("~LST") {
        let (args, text) = arguments(rest)?;
        list(&args, text)
    } else {
        Err("not a ~SEQ or ~LST line".into())
    }
}

/// The text between `(` and its `)` (braces may nest inside), and what follows.
fn arguments(s: &str) -> Result<(String, String), String> {
    let s = s.trim_start_matches([' ', '\t']);
    let body = s.strip_prefix('(').ok_or("expected '(' after ~SEQ/~LST")?;
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ')' if depth == 0 => {
                let text = body[i + 1..].trim_start_matches([' ', '\t']).to_owned();
                return Ok((body[..i].to_owned(), text));
            }
            _ => {}
        }
    }
    Err("no ')' closes the arguments".into())
}

/// Splits `a, {b, c}, d` at its top-level commas.
fn top_level(args: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in args.chars() {
        match c {
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current).trim().to_owned()),
            _ => current.push(c),
        }
    }
    items.push(current.trim().to_owned());
    items
}

/// `{a, b}` as `[a, b]`; a bare item as itself.
fn group(item: &str) -> Vec<String> {
    match item.strip_prefix('{').and_then(|i| i.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(|v| v.trim().to_owned()).collect(),
        None => vec![item.to_owned()],
    }
}

/// C's `strtol(s, _, 0)` on the whole string: decimal, `0x` hex or `0` octal, with a sign.
fn number(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

fn seq(args: &str, hex: bool, text: String) -> Result<Repeat, String> {
    let items = top_level(args);
    let var = items.first().filter(|v| !v.is_empty()).ok_or("~SEQ needs a variable")?.clone();
    let nums: Vec<i64> = items[1..]
        .iter()
        .map(|n| number(n).ok_or_else(|| format!("'{n}' is not a number")))
        .collect::<Result<_, _>>()?;
    let (start, step, end) = match nums[..] {
        [end] => (if end < 0 { -1 } else { 1 }, if end < 1 { -1 } else { 1 }, end),
        [start, end] => (start, if start <= end { 1 } else { -1 }, end),
        [start, step, end] => (start, step, end),
        _ => return Err("~SEQ takes (var, end), (var, start, end) or (var, start, step, end)".into()),
    };
    if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
        return Err(format!("the step {step} never goes from {start} to {end}"));
    }
    if hex && (start < 0 || end < 0) {
        return Err("~SEQx takes positive numbers only".into());
    }
    let count = (end.abs_diff(start) / step.unsigned_abs()).saturating_add(1);
    if count > MAX_VALUES as u64 {
        return Err(format!("{count} repetitions (the import reads at most {MAX_VALUES})"));
    }
    let values = (0..count as i64)
        .map(|i| start + i * step)
        .map(|v| vec![if hex { format!("{v:x}") } else { v.to_string() }])
        .collect();
    Ok(Repeat { vars: vec![var], values, text })
}

fn list(args: &str, text: String) -> Result<Repeat, String> {
    let items = top_level(args);
    let vars = group(&items[0]);
    if vars.iter().any(|v| v.is_empty()) {
        return Err("~LST needs a variable".into());
    }
    if items.len() < 2 {
        return Err("~LST needs at least one value".into());
    }
    if items.len() - 1 > MAX_VALUES {
        return Err(format!("{} repetitions (the import reads at most {MAX_VALUES})", items.len() - 1));
    }
    let values: Vec<Vec<String>> = items[1..].iter().map(|i| group(i)).collect();
    if let Some(bad) = values.iter().find(|v| v.len() != vars.len()) {
        return Err(format!("{} values for {} variables", bad.len(), vars.len()));
    }
    Ok(Repeat { vars, values, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firsts(r: &Repeat) -> Vec<&str> {
        r.values.iter().map(|v| v[0].as_str()).collect()
    }

    #[test]
    fn sequences_count_as_keepalived_counts() {
        let r = parse("~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1").unwrap();
        assert_eq!(r.vars, vec!["SUBNET"]);
        assert_eq!(firsts(&r), vec!["0", "1", "2", "3"]);
        assert_eq!(r.text, "ip_address 10.0.${SUBNET}.1");
        assert_eq!(firsts(&parse("~SEQx(S, 0x90, 0x10, 0xc0) x").unwrap()), vec!["90", "a0", "b0", "c0"]);
        assert_eq!(firsts(&parse("~SEQx(S, 144, 16, 192) x").unwrap()), vec!["90", "a0", "b0", "c0"]);
        assert_eq!(firsts(&parse("~SEQ(N, 3) x").unwrap()), vec!["1", "2", "3"]);
        assert_eq!(firsts(&parse("~SEQ(N, -2) x").unwrap()), vec!["-1", "-2"]);
        assert_eq!(firsts(&parse("~SEQ(N, 5, 3) x").unwrap()), vec!["5", "4", "3"]);
        assert!(parse("~SEQ(N, 1, -1, 5) x").is_err());
        assert!(parse("~SEQ(N, 1, 0, 5) x").is_err());
        assert!(parse("~SEQ(N, 0, 1000000) x").is_err());
        assert!(parse("~SEQ N, 1) x").is_err());
    }

    #[test]
    fn lists_assign_one_or_several_variables() {
        let r = parse("~LST(IP, 1, 2, 3) 192.169.${IP}.1").unwrap();
        assert_eq!(firsts(&r), vec!["1", "2", "3"]);
        let r = parse("~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}").unwrap();
        assert_eq!(r.vars, vec!["IP", "IP1"]);
        assert_eq!(r.values, vec![vec!["10", "1"], vec!["20", "4"]]);
        assert!(parse("~LST({A, B}, {1}) x").is_err());
        assert!(parse("~LST(A) x").is_err());
    }
}
