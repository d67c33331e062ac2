//! Splitting one configuration line into words: whitespace separates, `"`/`'` quote
//! (quotes are removed, escapes resolved), `#` and `!` outside quotes start a comment,
//! and an unquoted `{` or `}` is a word of its own wherever it is (keepalived splits a
//! line at a brace: `vrrp_sync_group VG1{` is `vrrp_sync_group VG1 {`).

/// One word of a line before places are attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The word with quotes removed.
    pub text: String,
    /// 1-based column (characters) where the word starts.
    pub col: u32,
    /// Whether any part of the word was quoted.
    pub quoted: bool,
}

/// Splits `line` into words (keepalived.conf(5) "Quoted strings").
pub fn tokenize(line: &str) -> Vec<Token> {
    let chars: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars.get(i).copied().unwrap_or(' ');
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' || c == '!' {
            break;
        }
        let col = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if c == '{' || c == '}' {
            tokens.push(Token {
                text: c.to_string(),
                col,
                quoted: false,
            });
            i += 1;
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.get(i) {
            match quote {
                Some(q) => {
                    if c == q {
                        quote = None;
                        i += 1;
                    } else if c == '\\' {
                        i += 1;
                        i = unescape(&chars, i, &mut text);
                    } else {
                        text.push(c);
                        i += 1;
                    }
                }
                None => {
                    if c.is_whitespace() || c == '#' || c == '!' || c == '{' || c == '}' {
                        break;
                    }
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                        quoted = true;
                    } else {
                        text.push(c);
                    }
                    i += 1;
                }
            }
        }
        tokens.push(Token { text, col, quoted });
    }
    tokens
}

/// Resolves the escape whose letter is at `chars[i]`; returns the index after it.
fn unescape(chars: &[char], i: usize, out: &mut String) -> usize {
    let Some(&c) = chars.get(i) else {
        out.push('\\');
        return i;
    };
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'E' => Some('\x1b'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return i + 1;
    }
    match c {
        '0'..='7' => {
            let mut value = 0u32;
            let mut j = i;
            while j < i + 3 {
                match chars.get(j).and_then(|d| d.to_digit(8)) {
                    Some(d) => value = value * 8 + d,
                    None => break,
                }
                j += 1;
            }
            out.push(char::from_u32(value & 0xff).unwrap_or('?'));
            j
        }
        'x' => {
            let mut value = 0u32;
            let mut j = i + 1;
            while let Some(d) = chars.get(j).and_then(|d| d.to_digit(16)) {
                value = (value << 4 | d) & 0xff;
                j += 1;
            }
            if j == i + 1 {
                out.push('x');
            } else {
                out.push(char::from_u32(value).unwrap_or('?'));
            }
            j
        }
        'c' => match chars.get(i + 1) {
            Some(&ctl) => {
                let code = (ctl.to_ascii_uppercase() as u32) ^ 0x40;
                out.push(char::from_u32(code & 0x7f).unwrap_or('?'));
                i + 2
            }
            None => {
                out.push('c');
                i + 1
            }
        },
        other => {
            out.push(other);
            i + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        tokenize(line).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn quotes_join_and_split_as_the_manual_says() {
        assert_eq!(
            texts(r#"abcd" efg h jkl "mnop"#),
            vec!["abcd efg h jkl mnop"]
        );
        assert_eq!(
            texts(r#"abcd "efg h jkl" mnop"#),
            vec!["abcd", "efg h jkl", "mnop"]
        );
    }

    #[test]
    fn comments_start_with_hash_or_bang_outside_quotes() {
        assert_eq!(texts("priority 100 # high"), vec!["priority", "100"]);
        assert_eq!(texts("auth_pass x!y"), vec!["auth_pass", "x"]);
        assert_eq!(texts(r#"script "a # b""#), vec!["script", "a # b"]);
    }

    #[test]
    fn braces_are_words_and_columns_are_kept() {
        let tokens = tokenize("vrrp_instance VI_1 {");
        assert_eq!(tokens.len(), 3);
        assert_eq!(
            tokens.get(2).map(|t| (t.text.as_str(), t.col)),
            Some(("{", 20))
        );
        assert_eq!(texts("a {b}"), vec!["a", "{", "b", "}"]);
        assert_eq!(texts("VG1{"), vec!["VG1", "{"]);
        assert_eq!(texts(r#"a"{"}"#), vec!["a{", "}"]);
    }

    #[test]
    fn escapes_resolve_inside_quotes() {
        assert_eq!(texts(r#""a\tb\x41\101\"q\\""#), vec!["a\tbAA\"q\\"]);
        assert_eq!(texts(r#""\cA""#), vec!["\x01"]);
    }
}
