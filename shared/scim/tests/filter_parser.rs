//! The RFC 7644 §3.4.2.2 filter grammar: every operator, precedence, grouping, value paths, URN paths, literals,
//! errors with positions, limits, `Display` round trips and robustness on arbitrary input.

use serde_json::Number;
use wif_scim::filter::{
    AttrPath, CompValue, CompareOp, Filter, MAX_FILTER_LENGTH, MAX_NESTING, ParseOptions, parse, parse_with,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn cmp(name: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare {
        path: AttrPath::simple(name),
        op,
        value,
    }
}

fn s(text: &str) -> CompValue {
    CompValue::String(text.into())
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn ok(text: &str) -> Filter {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> String {
    let e = parse(text).expect_err(text);
    assert_eq!(e.status, 400, "{text}");
    assert_eq!(e.scim_type.map(|t| t.as_str()), Some("invalidFilter"), "{text}");
    e.detail
}

#[test]
fn every_comparison_operator() {
    for (word, op) in [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ] {
        assert_eq!(
            ok(&format!("userName {word} \"x\"")),
            cmp("userName", op, s("x")),
            "{word}"
        );
        assert_eq!(
            ok(&format!("userName {} \"x\"", word.to_uppercase())),
            cmp("userName", op, s("x")),
            "{word}"
        );
    }
    assert_eq!(ok("title pr"), Filter::Present(AttrPath::simple("title")));
    assert_eq!(ok("title PR"), Filter::Present(AttrPath::simple("title")));
}

#[test]
fn literals() {
    assert_eq!(
        ok("active eq true"),
        cmp("active", CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        ok("active eq False"),
        cmp("active", CompareOp::Eq, CompValue::Bool(false))
    );
    assert_eq!(ok("title eq null"), cmp("title", CompareOp::Eq, CompValue::Null));
    assert_eq!(
        ok("age gt 42"),
        cmp("age", CompareOp::Gt, CompValue::Number(Number::from(42)))
    );
    assert_eq!(
        ok("age gt -1"),
        cmp("age", CompareOp::Gt, CompValue::Number(Number::from(-1)))
    );
    let Filter::Compare {
        value: CompValue::Number(n),
        ..
    } = ok("score le 1.5e3")
    else {
        panic!("number");
    };
    assert_eq!(n.as_f64(), Some(1500.0));
    // JSON escapes, including a surrogate pair and an escaped quote.
    assert_eq!(
        ok(r#"displayName eq "a \"q\" \\ \/ \u00e9 \ud83d\ude00 \n""#),
        cmp("displayName", CompareOp::Eq, s("a \"q\" \\ / é 😀 \n"))
    );
    assert_eq!(
        ok(r#"displayName eq "Zoë ☃""#),
        cmp("displayName", CompareOp::Eq, s("Zoë ☃"))
    );
    assert_eq!(ok(r#"userName eq """#), cmp("userName", CompareOp::Eq, s("")));
}

#[test]
fn precedence_and_binds_tighter_than_or() {
    let a = || cmp("a", CompareOp::Eq, s("1"));
    let b = || cmp("b", CompareOp::Eq, s("2"));
    let c = || cmp("c", CompareOp::Eq, s("3"));
    assert_eq!(ok(r#"a eq "1" or b eq "2" and c eq "3""#), or(a(), and(b(), c())));
    assert_eq!(ok(r#"a eq "1" and b eq "2" or c eq "3""#), or(and(a(), b()), c()));
    assert_eq!(ok(r#"(a eq "1" or b eq "2") and c eq "3""#), and(or(a(), b()), c()));
    // Left associative chains.
    assert_eq!(ok(r#"a eq "1" and b eq "2" and c eq "3""#), and(and(a(), b()), c()));
    assert_eq!(ok(r#"a eq "1" or b eq "2" or c eq "3""#), or(or(a(), b()), c()));
    assert_eq!(ok(r#"a eq "1" AND b eq "2" Or c eq "3""#), or(and(a(), b()), c()));
}

#[test]
fn not_and_grouping() {
    let a = || cmp("a", CompareOp::Eq, s("1"));
    let b = || cmp("b", CompareOp::Eq, s("2"));
    assert_eq!(ok(r#"not (a eq "1")"#), not(a()));
    assert_eq!(ok(r#"not(a eq "1")"#), not(a()));
    assert_eq!(ok(r#"NOT (a eq "1") and b eq "2""#), and(not(a()), b()));
    assert_eq!(ok(r#"not (a eq "1" or b eq "2")"#), not(or(a(), b())));
    assert_eq!(ok(r#"((a eq "1"))"#), a());
    assert_eq!(ok(r#"not (not (a eq "1"))"#), not(not(a())));
    // `not` not followed by '(' is an attribute name.
    assert_eq!(ok(r#"not eq "x""#), cmp("not", CompareOp::Eq, s("x")));
}

#[test]
fn whitespace_is_flexible() {
    let expected = and(
        cmp("userName", CompareOp::Eq, s("a b")),
        Filter::Present(AttrPath::simple("title")),
    );
    assert_eq!(ok("  userName   eq  \"a b\"   and\ttitle pr  "), expected);
    assert_eq!(ok("userName eq\"a b\"and title pr"), expected);
    assert_eq!(ok("( userName eq \"a b\" ) and ( title pr )"), expected);
}

#[test]
fn attribute_paths() {
    assert_eq!(
        ok(r#"name.familyName co "O'Malley""#),
        Filter::Compare {
            path: AttrPath::with_sub("name", "familyName"),
            op: CompareOp::Co,
            value: s("O'Malley")
        }
    );
    assert_eq!(
        ok(&format!("{ENTERPRISE}:employeeNumber eq \"42\"")),
        Filter::Compare {
            path: AttrPath {
                schema: Some(ENTERPRISE.into()),
                name: "employeeNumber".into(),
                sub_attr: None
            },
            op: CompareOp::Eq,
            value: s("42")
        }
    );
    assert_eq!(
        ok(&format!("{ENTERPRISE}:manager.value eq \"m1\"")),
        Filter::Compare {
            path: AttrPath {
                schema: Some(ENTERPRISE.into()),
                name: "manager".into(),
                sub_attr: Some("value".into())
            },
            op: CompareOp::Eq,
            value: s("m1")
        }
    );
    assert_eq!(
        ok("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\""),
        Filter::Compare {
            path: AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "userName".into(),
                sub_attr: None
            },
            op: CompareOp::Sw,
            value: s("J")
        }
    );
    assert_eq!(
        ok("members.$ref pr"),
        Filter::Present(AttrPath::with_sub("members", "$ref"))
    );
    assert_eq!(
        ok("meta.lastModified gt \"2011-05-13T04:42:34Z\""),
        Filter::Compare {
            path: AttrPath::with_sub("meta", "lastModified"),
            op: CompareOp::Gt,
            value: s("2011-05-13T04:42:34Z")
        }
    );
}

#[test]
fn value_paths() {
    assert_eq!(
        ok(r#"emails[type eq "work" and value co "@example.com"]"#),
        Filter::ValuePath {
            path: AttrPath::simple("emails"),
            filter: Box::new(and(
                cmp("type", CompareOp::Eq, s("work")),
                cmp("value", CompareOp::Co, s("@example.com"))
            ))
        }
    );
    // RFC 7644's own example: value paths combined with or.
    let f = ok(r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#);
    assert!(matches!(f, Filter::Or(..)), "{f:?}");
    // Entra's form: a sub-attribute comparison after the brackets joins the element filter.
    assert_eq!(
        ok(r#"emails[type eq "work"].value eq "bjensen@example.com""#),
        Filter::ValuePath {
            path: AttrPath::simple("emails"),
            filter: Box::new(and(
                cmp("type", CompareOp::Eq, s("work")),
                cmp("value", CompareOp::Eq, s("bjensen@example.com"))
            ))
        }
    );
    assert_eq!(
        ok(r#"emails[type eq "work"].value pr"#),
        Filter::ValuePath {
            path: AttrPath::simple("emails"),
            filter: Box::new(and(
                cmp("type", CompareOp::Eq, s("work")),
                Filter::Present(AttrPath::simple("value"))
            ))
        }
    );
    assert_eq!(
        ok(r#"userType eq "Employee" and emails[not (type eq "home")]"#),
        and(
            cmp("userType", CompareOp::Eq, s("Employee")),
            Filter::ValuePath {
                path: AttrPath::simple("emails"),
                filter: Box::new(not(cmp("type", CompareOp::Eq, s("home"))))
            }
        )
    );
    assert_eq!(
        ok(r#"members[value eq "2819c223"]"#),
        Filter::ValuePath {
            path: AttrPath::simple("members"),
            filter: Box::new(cmp("value", CompareOp::Eq, s("2819c223")))
        }
    );
}

#[test]
fn entra_lookups_parse() {
    for text in [
        r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#,
        "userName eq \"7f6e1c0a-5ac6-4d7c-9a06-cc9f6a0b7c51\"",
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        r#"displayName eq "displayName""#,
        r#"emails[type eq "work"].value eq "Test_User@testuser.com""#,
        r#"id eq "48af03ac28ad4fb88478" and members eq "f648f8d5ea4e4cd38e9c""#,
        r#"id eq "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1" and manager eq "00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#,
    ] {
        ok(text);
    }
}

#[test]
fn errors_point_at_the_problem() {
    let d = err(r#"userName equals "x""#);
    assert!(
        d.contains("column 10") && d.contains("expected an operator") && d.contains("'equals'"),
        "{d}"
    );
    let d = err("userName eq");
    assert!(d.contains("column 12") && d.contains("expected a value"), "{d}");
    let d = err("userName eq bjensen");
    assert!(d.contains("column 13") && d.contains("double quotes"), "{d}");
    let d = err(r#"userName eq "x"#);
    assert!(d.contains("column 13") && d.contains("unterminated string"), "{d}");
    let d = err(r#"(userName eq "x""#);
    assert!(
        d.contains("column 17") && d.contains("expected ')'") && d.contains("column 1"),
        "{d}"
    );
    let d = err(r#"userName eq "x")"#);
    assert!(d.contains("column 16") && d.contains("no matching '('"), "{d}");
    let d = err(r#"emails[type eq "work""#);
    assert!(d.contains("expected ']'"), "{d}");
    let d = err(r#"userName eq "x" and"#);
    assert!(
        d.contains("column 20") && d.contains("expected an attribute name"),
        "{d}"
    );
    let d = err(r#"userName eq "x" nand title pr"#);
    assert!(d.contains("column 17") && d.contains("expected 'and', 'or'"), "{d}");
    let d = err("");
    assert!(d.contains("empty"), "{d}");
    let d = err("   ");
    assert!(d.contains("empty"), "{d}");
    let d = err(r#"emails[type eq "work" and addresses[type eq "x"]]"#);
    assert!(d.contains("cannot be nested"), "{d}");
    let d = err(r#"name.givenName[value eq "x"]"#);
    assert!(d.contains("sub-attribute"), "{d}");
    let d = err("age gt 1x");
    assert!(d.contains("invalid number"), "{d}");
    let d = err(r#"userName eq "bad \q escape""#);
    assert!(d.contains("invalid string literal"), "{d}");
    let d = err(r#"1bad eq "x""#);
    assert!(d.contains("not a valid attribute path"), "{d}");
    let d = err(r#"userName eq and"#);
    assert!(d.contains("keyword 'and'"), "{d}");
    let d = err(r#"not ("#);
    assert!(d.contains("expected an attribute name"), "{d}");
    // Columns count characters, not bytes.
    let d = err(r#"displayName eq "é" zz"#);
    assert!(d.contains("column 20"), "{d}");
}

#[test]
fn bare_word_values_only_when_asked() {
    assert!(parse("externalId eq jyoung").is_err());
    let lenient = ParseOptions { bare_word_values: true };
    assert_eq!(
        parse_with("externalId eq jyoung", lenient).expect("lenient"),
        cmp("externalId", CompareOp::Eq, s("jyoung"))
    );
    assert_eq!(
        parse_with("active eq true", lenient).expect("lenient"),
        cmp("active", CompareOp::Eq, CompValue::Bool(true))
    );
}

#[test]
fn limits_against_abuse() {
    let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LENGTH));
    assert!(err(&long).contains("longer than"));
    let deep = format!(
        "{}userName pr{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    assert!(err(&deep).contains("nests deeper"));
    let nested_ok = format!("{}userName pr{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    ok(&nested_ok);
    let many = vec!["title pr"; 501].join(" or ");
    assert!(err(&many).contains("more than 500"));
    let fine = vec!["id eq \"4b5c7e4e-9f0c-4d6f-8c71-0d0b9a3f6e21\""; 200].join(" or ");
    ok(&fine);
}

/// A tiny deterministic generator (xorshift64*), so the robustness tests need no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

#[test]
fn arbitrary_input_never_panics() {
    let alphabet: Vec<char> = "ab eq co pr and or not ()[]\".:$-_\\u0é😀\t\n0123456789truefalsenull,"
        .chars()
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.below(60);
        let text: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        if let Err(e) = parse(&text) {
            assert_eq!(e.scim_type.map(|t| t.as_str()), Some("invalidFilter"));
            assert!(
                e.detail.contains("column") || e.detail.contains("empty"),
                "{text:?}: {}",
                e.detail
            );
        }
    }
    // Token soup: valid tokens in random order.
    let tokens = [
        "userName",
        "emails",
        "[",
        "]",
        "(",
        ")",
        "eq",
        "pr",
        "and",
        "or",
        "not",
        "\"x\"",
        "42",
        "true",
        ".value",
        "name.givenName",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        " ",
    ];
    for _ in 0..20_000 {
        let n = 1 + rng.below(12);
        let text: Vec<&str> = (0..n).map(|_| rng.pick(&tokens)).collect();
        let text = text.join(" ");
        if let Ok(filter) = parse(&text) {
            assert_eq!(parse(&filter.to_string()).as_ref(), Ok(&filter), "{text}");
        }
    }
}

fn random_value(rng: &mut Rng) -> CompValue {
    match rng.below(5) {
        0 => CompValue::String(rng.pick(&["x", "", "a \"b\" \\ c", "é☃", "\n\t"]).to_owned()),
        1 => CompValue::Number(Number::from(rng.below(1000) as i64 - 500)),
        2 => CompValue::Bool(rng.below(2) == 0),
        3 => CompValue::Null,
        _ => CompValue::Number(Number::from_f64(0.25).unwrap_or_else(|| Number::from(0))),
    }
}

fn random_path(rng: &mut Rng, in_element: bool) -> AttrPath {
    if in_element {
        return AttrPath::simple(rng.pick(&["type", "value", "primary", "display"]));
    }
    match rng.below(3) {
        0 => AttrPath::simple(rng.pick(&["userName", "title", "active", "emails"])),
        1 => AttrPath::with_sub("name", rng.pick(&["givenName", "familyName"])),
        _ => AttrPath {
            schema: Some(ENTERPRISE.into()),
            name: rng.pick(&["employeeNumber", "manager"]).into(),
            sub_attr: None,
        },
    }
}

fn random_filter(rng: &mut Rng, depth: usize, in_element: bool) -> Filter {
    let leaf = depth == 0 || rng.below(3) == 0;
    if leaf {
        return match rng.below(if in_element { 2 } else { 3 }) {
            0 => Filter::Present(random_path(rng, in_element)),
            1 => Filter::Compare {
                path: random_path(rng, in_element),
                op: [
                    CompareOp::Eq,
                    CompareOp::Ne,
                    CompareOp::Co,
                    CompareOp::Sw,
                    CompareOp::Ew,
                    CompareOp::Gt,
                    CompareOp::Ge,
                    CompareOp::Lt,
                    CompareOp::Le,
                ][rng.below(9)],
                value: random_value(rng),
            },
            _ => Filter::ValuePath {
                path: AttrPath::simple(rng.pick(&["emails", "addresses", "members"])),
                filter: Box::new(random_filter(rng, depth.saturating_sub(1), true)),
            },
        };
    }
    match rng.below(3) {
        0 => and(
            random_filter(rng, depth - 1, in_element),
            random_filter(rng, depth - 1, in_element),
        ),
        1 => or(
            random_filter(rng, depth - 1, in_element),
            random_filter(rng, depth - 1, in_element),
        ),
        _ => not(random_filter(rng, depth - 1, in_element)),
    }
}

/// The literal of a one-comparison filter.
fn number(text: &str) -> Number {
    match ok(text) {
        Filter::Compare {
            value: CompValue::Number(n),
            ..
        } => n,
        other => panic!("{text}: {other:?}"),
    }
}

/// Found by `fuzz/run.sh` (scim_filter): serde_json's default float parsing read `7e+25`, which `Display` prints for
/// the value of this literal, one ULP away from it, so the printed filter parsed back to another tree.
#[test]
fn floats_parse_correctly_rounded_so_printed_filters_parse_back() {
    for text in [
        "userName le 70000000000000001427417875",
        "x le 7e+25",
        "x gt 7e25",
        "x eq 0.30000000000000004",
        "x lt -1.7976931348623157e308",
        "x ge 2.2250738585072014e-308",
    ] {
        let filter = ok(text);
        assert_eq!(parse(&filter.to_string()).as_ref(), Ok(&filter), "{text}");
    }
    assert_eq!(number("x le 7e+25").as_f64(), Some(7e25));
    assert_eq!(
        number("x eq 18446744073709551615").as_u64(),
        Some(u64::MAX),
        "integers stay exact"
    );
    assert!(parse("x eq 1e400").is_err(), "out of range stays an error");
}

#[test]
fn display_parses_back_to_the_same_tree() {
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        let filter = random_filter(&mut rng, 5, false);
        let text = filter.to_string();
        assert_eq!(parse(&text).as_ref(), Ok(&filter), "{text}");
    }
    // Canonical text for the examples people read in logs.
    assert_eq!(
        ok(r#"emails[type eq "work"].value eq "x""#).to_string(),
        r#"emails[type eq "work" and value eq "x"]"#
    );
    assert_eq!(
        ok(r#"a eq "1" and (b eq "2" or c pr)"#).to_string(),
        r#"a eq "1" and (b eq "2" or c pr)"#
    );
    assert_eq!(ok(r#"NOT(a Eq "1")"#).to_string(), r#"not (a eq "1")"#);
}

#[test]
fn paths_and_attribute_lists_never_panic_on_arbitrary_input() {
    let alphabet: Vec<char> = "emails[type eq \"work\"].value,urn:x:2.0:User:name.givenName $ref()é😀\\"
        .chars()
        .collect();
    let mut rng = Rng(0xDEAD_BEEF);
    for _ in 0..20_000 {
        let len = rng.below(50);
        let text: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        if let Err(e) = wif_scim::patch::PatchPath::parse(&text) {
            assert_eq!(e.scim_type.map(|t| t.as_str()), Some("invalidPath"), "{text:?}");
        }
        if let Err(e) = wif_scim::projection::parse_attribute_list(&text) {
            assert_eq!(e.status, 400, "{text:?}");
        }
        let _ = wif_scim::sort::parse_sort_by(&text, wif_scim::schema::ResourceSchema::user());
    }
    let path = wif_scim::patch::PatchPath::parse(r#"emails[type eq "work"].value"#).expect("path");
    assert_eq!(path.to_string(), r#"emails[type eq "work"].value"#);
    assert_eq!(path.sub(), Some("value"));
    let path =
        wif_scim::patch::PatchPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
            .expect("path");
    assert_eq!(path.sub(), Some("value"));
    assert!(path.filter.is_none());
}
