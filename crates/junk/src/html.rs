//! The text of an HTML document, for counting words: markup, comments, scripts, styles and
//! SVG removed, character references decoded, image alt texts kept. Tags separate words. Not
//! a full HTML parser: it never fails and never looks back, which is all a word count needs.

/// Elements whose content is not text a reader sees.
const SKIP_CONTENT: [&str; 4] = ["script", "style", "svg", "head"];

/// The visible text of `html`.
pub(crate) fn text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                i = tag(html, i, &mut out);
            }
            b'&' => {
                i = reference(html, i, &mut out);
            }
            _ => {
                // Copy up to the next markup character in one go.
                let end =
                    b[i..].iter().position(|&c| c == b'<' || c == b'&').map_or(b.len(), |p| i + p);
                out.push_str(&html[i..end]);
                i = end;
            }
        }
    }
    out
}

/// Handles the markup at `i` (a `<`), returning where text continues.
fn tag(html: &str, i: usize, out: &mut String) -> usize {
    let b = html.as_bytes();
    let rest = &html[i..];
    if let Some(comment) = rest.strip_prefix("<!--") {
        return match comment.find("-->") {
            Some(p) => i + 4 + p + 3,
            None => b.len(),
        };
    }
    let name_start = i + 1 + usize::from(b.get(i + 1) == Some(&b'/'));
    let name_end = b[name_start..]
        .iter()
        .position(|c| !c.is_ascii_alphanumeric())
        .map_or(b.len(), |p| name_start + p);
    if name_end == name_start && b.get(i + 1) != Some(&b'!') && b.get(i + 1) != Some(&b'?') {
        // A lone "<" is text.
        out.push('<');
        return i + 1;
    }
    let end = find_tag_end(b, name_end);
    let name = html[name_start..name_end].to_ascii_lowercase();
    out.push(' ');
    let closing = b.get(i + 1) == Some(&b'/');
    if !closing
        && name == "img"
        && let Some(alt) = attribute(&html[name_end..end.min(b.len())], "alt")
    {
        out.push_str(&text(&alt));
        out.push(' ');
    }
    if !closing && SKIP_CONTENT.contains(&name.as_str()) && !html[..end].ends_with("/>") {
        // Skip to the matching end tag (case-insensitively).
        let close = format!("</{name}");
        let lower_rest = html[end.min(b.len())..].to_ascii_lowercase();
        return match lower_rest.find(&close) {
            Some(p) => find_tag_end(b, end + p + close.len()),
            None => b.len(),
        };
    }
    end
}

/// The position after the `>` ending a tag whose name ends at `from`, skipping quoted
/// attribute values.
fn find_tag_end(b: &[u8], from: usize) -> usize {
    let mut quote = None;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return i + 1,
            None => {}
        }
        i += 1;
    }
    b.len()
}

/// The value of attribute `name` in a tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let lower = attrs.to_ascii_lowercase();
    let b = attrs.as_bytes();
    let mut from = 0;
    while let Some(p) = lower[from..].find(name) {
        let start = from + p;
        from = start + name.len();
        let before_ok = start == 0 || b[start - 1].is_ascii_whitespace();
        let mut j = from;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if !before_ok || b.get(j) != Some(&b'=') {
            continue;
        }
        j += 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let (vs, ve) = match b.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                let e = b[j + 1..].iter().position(|&c| c == q).map_or(b.len(), |p| j + 1 + p);
                (j + 1, e)
            }
            _ => {
                let e = b[j..]
                    .iter()
                    .position(|c| c.is_ascii_whitespace() || *c == b'>')
                    .map_or(b.len(), |p| j + p);
                (j, e)
            }
        };
        return attrs.get(vs..ve).map(str::to_string);
    }
    None
}

/// Decodes the character reference at `i` (a `&`), returning where text continues.
fn reference(html: &str, i: usize, out: &mut String) -> usize {
    let b = html.as_bytes();
    let end = b[i + 1..]
        .iter()
        .take(32)
        .position(|&c| c == b';' || !(c.is_ascii_alphanumeric() || c == b'#'))
        .map(|p| i + 1 + p);
    let Some(end) = end.filter(|&e| b[e] == b';') else {
        out.push('&');
        return i + 1;
    };
    let name = &html[i + 1..end];
    let c = if let Some(num) = name.strip_prefix('#') {
        let v = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse().ok(),
        };
        v.and_then(char::from_u32)
    } else {
        match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            "shy" | "zwj" | "zwnj" => Some('\u{ad}'),
            "euro" => Some('€'),
            "copy" => Some('©'),
            "reg" => Some('®'),
            "eacute" => Some('é'),
            "egrave" => Some('è'),
            "aacute" => Some('á'),
            "agrave" => Some('à'),
            "uuml" => Some('ü'),
            "ouml" => Some('ö'),
            "auml" => Some('ä'),
            "szlig" => Some('ß'),
            "ccedil" => Some('ç'),
            "ntilde" => Some('ñ'),
            _ => None,
        }
    };
    match c {
        // Soft hyphens and joiners inside a word keep it one word.
        Some('\u{ad}') => {}
        Some(c) => out.push(c),
        None => out.push(' '),
    }
    end + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_markup() {
        let t = text(
            "<html><head><title>T</title><style>p{x:1}</style></head><body>\
            <p class=\"a>b\">Hello&nbsp;<b>big</b>&amp;bold &#233;t&#xE9; wor&shy;ld</p>\
            <SCRIPT>alert('x')</script><img src=\"a.png\" alt='shiny offer'>\
            <!-- hidden --> 1 < 2 &bogus; &</body></html>",
        );
        let words: Vec<&str> = t.split_whitespace().collect();
        assert_eq!(
            words,
            ["Hello", "big", "&bold", "été", "world", "shiny", "offer", "1", "<", "2", "&"]
        );
    }

    #[test]
    fn unterminated_input() {
        assert_eq!(text("abc <b").trim(), "abc");
        assert_eq!(text("abc <script>x").trim(), "abc");
        assert_eq!(text("abc <!-- x").trim(), "abc");
        assert_eq!(text("&#xFFFFFFFF; &#55296;").trim(), "");
    }
}
