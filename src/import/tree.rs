//! keepalived's lines as a tree: a statement followed by `{` owns the statements up to the
//! matching `}`.

use super::reader::Line;
use super::report::{Origin, Reports};
use super::words;

/// One statement, with its block when a `{` followed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The words as keepalived's keyword parser splits them (double quotes only).
    pub words: Vec<String>,
    /// The statement as written, for keywords that split it again with quotes and escapes.
    pub text: String,
    pub at: Origin,
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The keyword: the first word.
    pub fn keyword(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    /// The word after the keyword, if any.
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i + 1).map(String::as_str)
    }

    /// The words after the keyword.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// The statements of its block (none without a block).
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }
}

/// Builds the tree of `lines`; unbalanced braces are reported.
pub fn build(lines: Vec<Line>, reports: &mut Reports) -> Vec<Node> {
    // levels[0] is the top; each open block is a level, with the index of its owner in
    // the level below.
    let mut levels: Vec<Vec<Node>> = vec![Vec::new()];
    for line in lines {
        match line.text.as_str() {
            "{" => {
                let level = levels.last().map_or(0, Vec::len);
                let owner_free = levels.last().and_then(|l| l.last()).is_some_and(|n| n.block.is_none());
                if level == 0 || !owner_free {
                    // A block with no statement to own it: keep it under an empty keyword,
                    // so that its contents are reported rather than silently taken.
                    if let Some(l) = levels.last_mut() {
                        l.push(Node { words: Vec::new(), text: String::new(), at: line.at, block: None });
                    }
                }
                levels.push(Vec::new());
            }
            "}" => {
                if levels.len() == 1 {
                    reports.add(&line.at, "}", "a '}' closes no block; ignored");
                    continue;
                }
                close(&mut levels);
            }
            _ => {
                let (w, open) = words::split(&line.text);
                if open.is_some() {
                    reports.add(
                        &line.at,
                        w.first().cloned().unwrap_or_default(),
                        "a double quote is not closed",
                    );
                }
                if w.is_empty() {
                    continue;
                }
                if let Some(l) = levels.last_mut() {
                    l.push(Node { words: w, text: line.text, at: line.at, block: None });
                }
            }
        }
    }
    while levels.len() > 1 {
        if let Some(owner) = levels.iter().rev().nth(1).and_then(|l| l.last()) {
            let at = owner.at.clone();
            reports.add(&at, owner.keyword().to_owned(), "its block has no closing '}'");
        }
        close(&mut levels);
    }
    levels.pop().unwrap_or_default()
}

/// Closes the innermost block: it becomes the block of the last statement below it.
fn close(levels: &mut Vec<Vec<Node>>) {
    let Some(block) = levels.pop() else { return };
    if let Some(owner) = levels.last_mut().and_then(|l| l.last_mut()) {
        owner.block = Some(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn lines(texts: &[&str]) -> Vec<Line> {
        let file: Rc<str> = Rc::from("k.conf");
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Line {
                at: Origin { file: file.clone(), line: i as u32 + 1 },
                text: (*t).to_owned(),
            })
            .collect()
    }

    fn shape(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|n| match &n.block {
                None => n.words.join(" "),
                Some(b) => format!("{}[{}]", n.words.join(" "), shape(b)),
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn blocks_nest() {
        let mut r = Reports::default();
        let t = build(
            lines(&[
                "vrrp_instance A",
                "{",
                "state MASTER",
                "virtual_ipaddress",
                "{",
                "10.0.0.1",
                "}",
                "}",
                "x",
            ]),
            &mut r,
        );
        assert_eq!(shape(&t), "vrrp_instance A[state MASTER;virtual_ipaddress[10.0.0.1]];x");
        assert!(r.is_empty());
    }

    #[test]
    fn unbalanced_braces_are_reported() {
        let mut r = Reports::default();
        let t = build(lines(&["}", "a", "{", "b", "{", "c"]), &mut r);
        assert_eq!(shape(&t), "a[b[c]]");
        let texts: Vec<String> = r.sorted().iter().map(|x| x.to_string()).collect();
        assert_eq!(
            texts,
            vec![
                "k.conf:1: }: a '}' closes no block; ignored",
                "k.conf:2: a: its block has no closing '}'",
                "k.conf:4: b: its block has no closing '}'",
            ]
        );
        let mut r = Reports::default();
        let t = build(lines(&["{", "x", "}", "a", "{", "}", "{", "y", "}"]), &mut r);
        assert_eq!(shape(&t), "[x];a[];[y]");
    }
}
