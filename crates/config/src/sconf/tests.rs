use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::error::ErrorKind;

sconf_struct! {
    /// A test struct.
    pub(crate) struct Inner {
        "Name" name: String, req, "The name.";
        "Port" port: Option<u16>, opt, "";
        "Flag" flag: bool, opt, "";
    }
}

sconf_struct! {
    /// All optional.
    pub(crate) struct Opts {
        "On" on: bool, opt, "";
        "Wait" wait: Option<Duration>, opt, "";
    }
}

sconf_struct! {
    /// The top.
    pub(crate) struct Top {
        "Text" text: String, req, "Some text.";
        "Count" count: Option<i64>, opt, "A count.";
        "Ratio" ratio: Option<f64>, opt, "";
        "Delay" delay: Option<Duration>, ptr, "";
        "Items" items: Vec<String>, opt, "";
        "Map" map: BTreeMap<String, Inner>, opt, "";
        "Empties" empties: BTreeMap<String, Opts>, opt, "";
        "List" list: Vec<Inner>, opt, "";
        "Ptr" ptr: Option<Opts>, ptr, "";
    }
}

fn parse(text: &str) -> (Top, Vec<ConfigError>) {
    let (v, errors, _) = Parser::new("t.conf", text).parse_file::<Top>();
    (v, errors)
}

fn messages(errors: &[ConfigError]) -> Vec<String> {
    errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn parses_all_forms() {
    let text = "# comment\nText: hello world \nCount: 7\nRatio: 0.950000\nDelay: 0s\nItems:\n\t- a\n\t\
                # indented comment\n\t- \n\t- b c\nMap:\n\tx:\n\t\tName: n\n\t\tPort: 25\n\n\
                Empties:\n\te1: nil\nList:\n\t-\n\t\tName: first\n\t-\n\t\tName: second\n\t\t\
                Flag: true\nPtr:\n\tOn: false\n";
    let (top, errors) = parse(text);
    assert_eq!(errors, []);
    assert_eq!(top.text, "hello world ");
    assert_eq!(top.count, Some(7));
    assert_eq!(top.ratio, Some(0.95));
    assert_eq!(top.delay, Some(Duration::ZERO));
    assert_eq!(top.items, ["a", "", "b c"]);
    assert_eq!(top.map["x"].name, "n");
    assert_eq!(top.map["x"].port, Some(25));
    assert_eq!(top.empties["e1"], Opts::default());
    assert_eq!(top.list.len(), 2);
    assert!(top.list[1].flag);
    assert_eq!(top.ptr, Some(Opts::default()));

    // Write and read back: equal, and written as mox writes.
    let written = Writer::new(false).write_file(&top).unwrap();
    assert_eq!(
        written,
        "Text: hello world \nCount: 7\nRatio: 0.950000\nDelay: 0s\nItems:\n\t- a\n\t- \n\t- b c\n\
         Map:\n\tx:\n\t\tName: n\n\t\tPort: 25\nEmpties:\n\te1: nil\nList:\n\t-\n\t\tName: first\n\
         \t-\n\t\tName: second\n\t\tFlag: true\nPtr:\n\tOn: false\n"
    );
    let (again, errors) = parse(&written);
    assert_eq!(errors, []);
    assert_eq!(again, top);
}

#[test]
fn optional_zero_reads_as_absent() {
    let (top, errors) = parse("Text: x\nCount: 0\nRatio: 0\n");
    assert_eq!(errors, []);
    assert_eq!(top.count, None);
    assert_eq!(top.ratio, None);
    assert_eq!(Writer::new(false).write_file(&top).unwrap(), "Text: x\n");
}

#[test]
fn reports_every_problem_with_line_and_path() {
    let text = "Text: x\nCount: many\nBogus: 1\nMap:\n\tx:\n\t\tPort: notaport\n\t\tFlag: yes\n\
                \t\tPort: 1\n\ty: nil\n\t\textra: 1\nItems:\n\t-a\n\tb\nList: value\n\
                Delay: 5 seconds\nRatio:0.5\n  Text: y\n";
    let (_, errors) = parse(text);
    assert_eq!(
        messages(&errors),
        [
            "t.conf:2: Count: \"many\" is not a number",
            "t.conf:3: Bogus: unknown key \"Bogus\"",
            "t.conf:6: Map.x.Port: \"notaport\" is not a number",
            "t.conf:7: Map.x.Flag: \"yes\" is not true or false",
            "t.conf:8: Map.x.Port: duplicate key \"Port\"",
            "t.conf:5: Map.x.Name: missing required key \"Name\"",
            "t.conf:10: Map: unexpected indentation (indent with one tab per level)",
            "t.conf:12: Items: missing space after -",
            "t.conf:13: Items: expected a list item starting with \"-\", found \"b\"",
            "t.conf:14: List: expected nested lines, one tab deeper, instead of the value \"value\"",
            "t.conf:15: Delay: \"5 seconds\" is not a duration (such as 15s, 4h or 1h30m)",
            "t.conf:16: Ratio: missing space after colon",
            "t.conf:17:   Text: key \"  Text\" starts or ends with a space (perhaps mixed tab/space indenting)",
        ]
    );
}

#[test]
fn structural_problems() {
    let (_, errors) = parse("Map:\nText: x\n\t\nList:\n\t-\n\t\tPort: 1\nNo colon here\n:x\n");
    assert_eq!(
        messages(&errors),
        [
            "t.conf:3: line with only whitespace (perhaps stray whitespace)",
            "t.conf:1: Map: expected nested lines, one tab deeper",
            "t.conf:5: List[1].Name: missing required key \"Name\"",
            "t.conf:7: missing colon in key/value line \"No colon here\"",
            "t.conf:8: empty key",
        ]
    );
    let (_, errors) = parse("Count: 1\n");
    assert_eq!(messages(&errors), ["t.conf: Text: missing required key \"Text\""]);
}

#[test]
fn ports_are_checked() {
    let (_, errors) = parse("Text: x\nMap:\n\tx:\n\t\tName: n\n\t\tPort: 70000\n");
    assert_eq!(
        messages(&errors),
        ["t.conf:5: Map.x.Port: \"70000\" is not a port number (0 to 65535)"]
    );
}

#[test]
fn present_zero_pointer_is_kept() {
    let top = Top { text: "x".into(), ptr: Some(Opts::default()), ..Top::default() };
    let written = Writer::new(false).write_file(&top).unwrap();
    assert_eq!(written, "Text: x\nPtr:\n\tOn: false\n");
    assert_eq!(parse(&written).0, top);
}

#[test]
fn write_refuses_what_would_not_read_back() {
    let mut top = Top { text: "a\nb".into(), ..Top::default() };
    assert!(matches!(
        Writer::new(false).write_file(&top),
        Err(WriteError::MultilineValue { path, .. }) if path == "Text"
    ));
    top.text = "x".into();
    top.map.insert("a:b".into(), Inner { name: "n".into(), ..Inner::default() });
    assert!(matches!(
        Writer::new(false).write_file(&top),
        Err(WriteError::BadKey { path, .. }) if path == "Map.a:b"
    ));
}

#[test]
fn positions_point_at_keys() {
    let (_, errors, positions) =
        Parser::new("t.conf", "Text: x\nList:\n\t-\n\t\tName: a\n\t-\n\t\tName: b\n")
            .parse_file::<Top>();
    assert_eq!(errors, []);
    let path = KeyPath::root().key("List").index(2).key("Name");
    assert_eq!(path.to_string(), "List[2].Name");
    assert_eq!(positions.line(&path), Some(6));
    // An absent key resolves to the nearest present ancestor.
    assert_eq!(positions.line(&KeyPath::root().key("List").index(2).key("Port")), Some(5));
    assert_eq!(positions.line(&KeyPath::root().key("Nothing")), None);
    let kind = ErrorKind::MissingKey { key: "x".into() };
    assert_eq!(kind.to_string(), "missing required key \"x\"");
}
