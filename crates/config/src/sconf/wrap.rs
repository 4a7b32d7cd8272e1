//! Wrapping of comment text to 80 columns, the way mox's describe output is wrapped (its
//! `xfmt` package): consecutive comment lines with the same prefix are joined and re-split at
//! spaces, a line that starts a numbered item ("1. ") or is empty starts a new paragraph.

/// The longest content of a line, not counting its prefix (indentation and `# `).
const MAX_WIDTH: usize = 80;

/// Reformats `text` (lines ending in `\n`).
pub(crate) fn format(text: &str) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines.reverse(); // Popped from the end.
    let mut out = String::new();
    while let Some((line, end)) = gather_line(&mut lines) {
        let (prefix, rest) = split_prefix(&line);
        for piece in split_line(rest) {
            out.push_str(prefix);
            out.push_str(piece);
            out.push_str(end);
        }
    }
    out
}

/// Joins lines with the same prefix into one, returning it and its line ending.
fn gather_line<'a>(lines: &mut Vec<&'a str>) -> Option<(String, &'a str)> {
    let mut joined = String::new();
    let mut ending = "";
    let mut joined_prefix: Option<String> = None;
    let mut count = 0;
    while let Some(&raw) = lines.last() {
        let (content, end) = split_ending(raw);
        if joined.is_empty() {
            ending = end;
        }
        let (prefix, rest) = split_prefix(content);
        if prefix.is_empty() && rest.is_empty() {
            // An empty line ends a paragraph; on its own it is kept as an empty line.
            if joined.is_empty() {
                lines.pop();
            }
            break;
        }
        if count > 0
            && (joined_prefix.as_deref() != Some(prefix) || rest.is_empty() || causes_break(rest))
        {
            break;
        }
        joined_prefix = Some(prefix.to_string());
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(rest);
        lines.pop();
        if joined.as_bytes().last().is_some_and(|b| *b < 0x20) {
            break;
        }
        count += 1;
    }
    if joined_prefix.is_none() && ending.is_empty() && lines.is_empty() && joined.is_empty() {
        return None;
    }
    Some((format!("{}{joined}", joined_prefix.unwrap_or_default()), ending))
}

fn split_ending(line: &str) -> (&str, &str) {
    if let Some(content) = line.strip_suffix("\r\n") {
        (content, "\r\n")
    } else if let Some(content) = line.strip_suffix('\n') {
        (content, "\n")
    } else {
        (line, "")
    }
}

/// Whether a line must not be joined to the one before: it starts with a control character
/// or a numbered item such as "1. ".
fn causes_break(rest: &str) -> bool {
    let bytes = rest.as_bytes();
    if bytes.first().is_some_and(|b| *b < 0x20) {
        return true;
    }
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(". ")
}

/// Splits a line into its prefix (indentation, a comment marker `#` or `//`, and the spaces
/// after it) and the text.
fn split_prefix(line: &str) -> (&str, &str) {
    let text = line.trim_start_matches([' ', '\t']);
    let mut prefix_len = line.len() - text.len();
    let marker = if text.starts_with("//") {
        2
    } else if text.starts_with('#') {
        1
    } else {
        0
    };
    prefix_len += marker;
    let after = &line[prefix_len..];
    let rest = after.trim_start_matches([' ', '\t']);
    prefix_len += after.len() - rest.len();
    (&line[..prefix_len], rest)
}

/// Splits text at spaces into pieces of at most [`MAX_WIDTH`] bytes (a longer word stays whole).
fn split_line(text: &str) -> Vec<&str> {
    if text.len() <= MAX_WIDTH {
        return vec![text];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut end = 0; // Of the current piece; `start == end` means empty.
    let mut offset = 0;
    for word in text.split(' ') {
        let word_start = offset;
        let word_end = offset + word.len();
        offset = word_end + 1;
        if end > start && (end - start) + 1 + word.len() > MAX_WIDTH {
            pieces.push(&text[start..end]);
            start = word_start;
            end = word_end;
            continue;
        }
        if end == start {
            start = word_start;
        }
        end = word_end;
    }
    if end > start {
        pieces.push(&text[start..end]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_80() {
        let long = "word ".repeat(30);
        let out = format(&format!("\t# {}\n", long.trim_end()));
        for line in out.lines() {
            assert!(line.starts_with("\t# "));
            assert!(line.len() - 3 <= 80, "{line:?}");
        }
        assert_eq!(out.matches("word").count(), 30);
    }

    #[test]
    fn keeps_blank_lines_and_separate_paragraphs() {
        let text = "\n# a\n# b\n\n\n# c (optional)\n";
        assert_eq!(format(text), "\n# a b\n\n\n# c (optional)\n");
        // A lone "#" line is not joined.
        assert_eq!(format("# a\n#\n# b\n"), "# a\n#\n# b\n");
        assert_eq!(format("# a\n# 1. b\n"), "# a\n# 1. b\n");
    }
}
