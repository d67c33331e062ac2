//! Logical lines → block tree: a statement is a keyword and its arguments; `{ ... }`
//! gives it children. `{` may also open on the next line, `}` may share a line.

use super::{
    error::{Diagnostic, Severity},
    place::{Place, Word},
    preprocess::Line,
};

/// keepalived's deepest block is a checker's `url` (4 levels); deeper nesting is refused
/// so that no input can build an arbitrarily deep tree.
pub const MAX_NESTING: usize = 32;

/// One statement of the configuration: `keyword args... [{ children }]`.
#[derive(Clone, Debug)]
pub struct Node {
    /// The keyword (first word).
    pub key: Word,
    /// The words after the keyword on its line.
    pub args: Vec<Word>,
    /// The children when the statement opens a block.
    pub block: Option<Vec<Node>>,
    /// Where the block's closing `}` is (or the keyword's place when unclosed).
    pub end: Option<Place>,
    /// Where the block's `{` is.
    pub open: Option<Place>,
    /// The `{` of a keyword its block does not know: keepalived reads the statements after
    /// it in the enclosing block ([`crate::reshape`]) and says "Unexpected '{'".
    pub stray_open: Option<Place>,
}

impl Node {
    /// The keyword's text.
    pub fn keyword(&self) -> &str {
        &self.key.text
    }

    /// The keyword's place.
    pub fn place(&self) -> &Place {
        &self.key.place
    }

    /// Argument `i` (after the keyword).
    pub fn arg(&self, i: usize) -> Option<&Word> {
        self.args.get(i)
    }

    /// The children, empty when there is no block.
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }

    /// The place where the block ends (its `}`), else the keyword's place.
    pub fn end_place(&self) -> &Place {
        self.end.as_ref().unwrap_or(&self.key.place)
    }
}

struct Open {
    node: Node,
    children: Vec<Node>,
}

/// Builds the tree of top-level statements.
pub fn build(lines: Vec<Line>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Node> {
    let mut root: Vec<Node> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    for line in lines {
        let mut statement: Vec<Word> = Vec::new();
        for word in line.words {
            let brace = !word.quoted && (word.text == "{" || word.text == "}");
            if !brace {
                statement.push(word);
                continue;
            }
            if word.text == "{" && stack.len() >= MAX_NESTING {
                diagnostics.push(Diagnostic::at(
                    Severity::Error,
                    &word.place,
                    format!("blocks nested more than {MAX_NESTING} deep - '{{' ignored"),
                ));
                continue;
            }
            if word.text == "{" {
                let current = match stack.last_mut() {
                    Some(open) => &mut open.children,
                    None => &mut root,
                };
                let node = if statement.is_empty() {
                    match current.pop() {
                        Some(prev) if prev.block.is_none() => prev,
                        other => {
                            if let Some(prev) = other {
                                current.push(prev);
                            }
                            diagnostics.push(Diagnostic::at(
                                Severity::Warning,
                                &word.place,
                                "Unexpected '{' - block start without a keyword",
                            ));
                            Node {
                                key: word.clone(),
                                args: Vec::new(),
                                block: None,
                                end: None,
                                open: None,
                                stray_open: None,
                            }
                        }
                    }
                } else {
                    statement_node(std::mem::take(&mut statement))
                };
                let mut node = node;
                node.open = Some(word.place.clone());
                stack.push(Open {
                    node,
                    children: Vec::new(),
                });
            } else {
                flush(&mut statement, &mut stack, &mut root);
                match stack.pop() {
                    Some(mut open) => {
                        open.children.shrink_to_fit();
                        open.node.block = Some(open.children);
                        open.node.end = Some(word.place.clone());
                        match stack.last_mut() {
                            Some(parent) => parent.children.push(open.node),
                            None => root.push(open.node),
                        }
                    }
                    None => diagnostics.push(Diagnostic::at(
                        Severity::Warning,
                        &word.place,
                        "Extra '}' found",
                    )),
                }
            }
        }
        flush(&mut statement, &mut stack, &mut root);
    }
    // keepalived counts the blocks left open at the end and says so without a line.
    let missing = stack.len();
    while let Some(mut open) = stack.pop() {
        let block = match open.node.arg(0) {
            Some(name) => format!("{} {}", open.node.keyword(), name.as_str()),
            None => open.node.keyword().to_owned(),
        };
        diagnostics.push(Diagnostic::in_block(
            Severity::Error,
            &block,
            open.node.place(),
            format!("There are {missing} missing '}}'s or extra '{{'s: this block is not closed"),
        ));
        open.node.block = Some(open.children);
        match stack.last_mut() {
            Some(parent) => parent.children.push(open.node),
            None => root.push(open.node),
        }
    }
    root
}

fn statement_node(mut words: Vec<Word>) -> Node {
    let key = words.remove(0);
    Node {
        key,
        args: words,
        block: None,
        end: None,
        open: None,
        stray_open: None,
    }
}

fn flush(statement: &mut Vec<Word>, stack: &mut [Open], root: &mut Vec<Node>) {
    if statement.is_empty() {
        return;
    }
    let node = statement_node(std::mem::take(statement));
    match stack.last_mut() {
        Some(open) => open.children.push(node),
        None => root.push(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::{FsSource, Preprocessor};

    fn tree(text: &str) -> (Vec<Node>, Vec<Diagnostic>) {
        let mut pre = Preprocessor::new(&FsSource, "x");
        pre.run_text("t.conf", text);
        let (lines, mut diags) = pre.finish();
        let nodes = build(lines, &mut diags);
        (nodes, diags)
    }

    #[test]
    fn blocks_nest_and_remember_their_closing_brace() {
        let (nodes, diags) = tree("a x {\n b 1\n c {\n d\n }\n}\ne\n");
        assert!(diags.is_empty());
        assert_eq!(nodes.len(), 2);
        let a = nodes.first();
        assert_eq!(a.map(|n| n.children().len()), Some(2));
        assert_eq!(a.map(|n| n.end_place().line), Some(6));
    }

    #[test]
    fn brace_on_next_line_and_one_line_blocks_work() {
        let (nodes, diags) = tree("a\n{\n b { c d }\n}\n");
        assert!(diags.is_empty());
        let b = nodes.first().and_then(|a| a.children().first());
        assert_eq!(b.map(|b| b.children().len()), Some(1));
        assert_eq!(
            b.and_then(|b| b.children().first()).map(|c| c.args.len()),
            Some(1)
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let text = "a {\n".repeat(100_000);
        let (nodes, diags) = tree(&text);
        assert_eq!(nodes.len(), 1);
        let first = diags.first().map(ToString::to_string);
        assert_eq!(
            first.as_deref(),
            Some("t.conf:33:3: error: blocks nested more than 32 deep - '{' ignored")
        );
    }

    #[test]
    fn extra_braces_are_reported_at_their_place_missing_ones_at_none() {
        let (_, diags) = tree("a {\n}\n}\nb {\n");
        let got: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                "t.conf:3:1: warning: Extra '}' found",
                "error: b (defined at t.conf:4): There are 1 missing '}'s or extra '{'s: \
                 this block is not closed"
            ]
        );
    }
}
