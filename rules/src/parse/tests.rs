//! Parser tests: header forms, options with escapes, positions and located errors.

use super::*;
use crate::ast::{AddrExpr, AddrRange, PortExpr};

fn err(text: &str) -> ParseError {
    match parse_rule(text) {
        Ok(r) => panic!("{text}: parsed as {r:?}"),
        Err(e) => e,
    }
}

#[test]
fn header_and_options() {
    let r = parse_rule(r#"alert tcp [10.0.0.0/8, !10.1.2.3] !80 -> $EXTERNAL_NET [1024:,!8080] (msg:"a\;b"; content:"x\"y"; nocase; sid:1;)"#).unwrap();
    assert_eq!(r.action, Action::Alert);
    assert_eq!(r.protocol, "tcp");
    assert_eq!(
        r.src,
        AddrExpr::List(vec![
            AddrExpr::Range(AddrRange::V4(0x0a00_0000, 0x0aff_ffff)),
            AddrExpr::Not(Box::new(AddrExpr::Range(AddrRange::V4(
                0x0a01_0203,
                0x0a01_0203
            ))))
        ])
    );
    assert_eq!(
        r.src_ports,
        PortExpr::Not(Box::new(PortExpr::Range(80, 80)))
    );
    assert_eq!(r.dst, AddrExpr::Var("EXTERNAL_NET".into()));
    assert_eq!(
        r.dst_ports,
        PortExpr::List(vec![
            PortExpr::Range(1024, 65535),
            PortExpr::Not(Box::new(PortExpr::Range(8080, 8080)))
        ])
    );
    let names: Vec<_> = r.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["msg", "content", "nocase", "sid"]);
    assert_eq!(r.options[0].value.as_deref(), Some(r#""a\;b""#));
    assert_eq!(r.options[1].value.as_deref(), Some(r#""x\"y""#));
    assert_eq!(r.options[2].value, None);
    let col = r.text.find("content").unwrap() + 1;
    assert_eq!(
        r.options[1].pos,
        Pos {
            line: 1,
            column: col as u32
        }
    );
}

#[test]
fn continuation_lines_keep_positions() {
    let text = "alert http any any -> any any (msg:\"x\"; \\\r\n    content:\"abc\"; \\\n  sid:5;)";
    let r = parse_rule(text).unwrap();
    assert_eq!(r.options[1].pos, Pos { line: 2, column: 5 });
    assert_eq!(r.options[2].pos, Pos { line: 3, column: 3 });
    assert!(!r.text.contains('\\'));
    let e = err("alert http any any -> any any (msg:\"x\"; \\\n  content\"abc\"; sid:5;)");
    assert_eq!((e.pos.line, e.pos.column), (2, 10));
}

#[test]
fn located_errors_say_what_was_expected() {
    let e = err("alrt tcp any any -> any any (sid:1;)");
    assert_eq!(
        (e.pos.column, e.message.contains("unknown action")),
        (1, true)
    );
    let e = err("alert tcp any any <- any any (sid:1;)");
    assert_eq!(e.pos.column, 19);
    assert!(e.message.contains("'<-'"), "{e}");
    let e = err("alert tcp any any => any any (sid:1;)");
    assert!(e.message.contains("expected '->' or '<>'"), "{e}");
    let e = err("alert tcp 1.2.3.400 any -> any any (sid:1;)");
    assert_eq!(e.pos.column, 11);
    assert!(e.message.contains("invalid address"), "{e}");
    let e = err("alert tcp [1.2.3.4,5.6.7.8 any -> any any (sid:1;)");
    assert!(
        e.message.contains("unclosed") || e.message.contains("expected"),
        "{e}"
    );
    let e = err("alert tcp any 70000 -> any any (sid:1;)");
    assert!(e.message.contains("invalid port"), "{e}");
    let e = err("alert tcp any 90:80 -> any any (sid:1;)");
    assert!(e.message.contains("start is after end"), "{e}");
    let e = err("alert tcp any any -> any any sid:1;");
    assert!(e.message.contains("expected '('"), "{e}");
    let e = err("alert tcp any any -> any any (sid:1");
    assert!(e.message.contains("expected ';'"), "{e}");
    let e = err("alert tcp any any -> any any (sid:1;");
    assert!(e.message.contains("expected ')'"), "{e}");
    let e = err("alert tcp any any -> any any (sid:1;) junk");
    assert!(e.message.contains("after the closing"), "{e}");
    let e = err("alert tcp any any -> any any (sid 1;)");
    assert!(e.message.contains("expected ':' or ';'"), "{e}");
    let e = err("alert tcp any any -> any any");
    assert!(e.message.contains("expected '('"), "{e}");
    let e = err("");
    assert!(e.message.contains("expected an action"), "{e}");
    assert!(err("alert tcp [] any -> any any (sid:1;)")
        .message
        .contains("empty"));
    assert!(err("alert tcp $ any -> any any (sid:1;)")
        .message
        .contains("variable"));
}

#[test]
fn address_and_port_forms() {
    let r = parse_rule("alert ip 1.2.3.4-1.2.3.9 :1023 <> 2001:db8::/32 1024: (sid:1;)").unwrap();
    assert_eq!(
        r.src,
        AddrExpr::Range(AddrRange::V4(0x0102_0304, 0x0102_0309))
    );
    assert_eq!(r.src_ports, PortExpr::Range(0, 1023));
    assert!(r.bidirectional);
    assert!(matches!(r.dst, AddrExpr::Range(AddrRange::V6(_, _))));
    assert_eq!(r.dst_ports, PortExpr::Range(1024, 65535));
    let r = parse_rule("alert tcp any any -> any !5800,!445 (sid:1;)").unwrap();
    assert!(matches!(r.dst_ports, PortExpr::List(ref v) if v.len() == 2));
    let r = parse_rule("alert tcp [[1.0.0.0/8,!1.2.0.0/16],!$X] any -> any any (sid:1;)").unwrap();
    assert!(matches!(r.src, AddrExpr::List(ref v) if v.len() == 2));
}

#[test]
fn files_split_into_rules_comments_and_disabled_rules() {
    let text = "# a comment\r\n\r\nalert tcp any any -> any any (sid:1;)\r\n# alert tcp any any -> any any (sid:2;)\n#alert http any any -> any any (sid:3;)\n#   \n  alert tcp any any -> any any (msg:\"x\"; \\\n sid:4;)\n# alerting is fun\n";
    let items: Vec<_> = split_rules(text).collect();
    assert_eq!(
        items,
        vec![
            Item::Rule {
                text: "alert tcp any any -> any any (sid:1;)",
                line: 3
            },
            Item::Disabled { line: 4 },
            Item::Disabled { line: 5 },
            Item::Rule {
                text: "  alert tcp any any -> any any (msg:\"x\"; \\\n sid:4;)",
                line: 7
            },
        ]
    );
    for it in items {
        if let Item::Rule { text, .. } = it {
            parse_rule(text).unwrap();
        }
    }
}

#[test]
fn address_and_port_lists_share_one_grammar_with_their_own_words() {
    let r = parse_rule("alert tcp ![1.2.3.4,[$HOME_NET]] [!80,$HTTP_PORTS] -> 5.6.7.8,!9.9.9.9 !5800,!445 (sid:1;)").unwrap();
    assert_eq!(
        r.src,
        AddrExpr::Not(Box::new(AddrExpr::List(vec![
            AddrExpr::Range(AddrRange::V4(0x0102_0304, 0x0102_0304)),
            AddrExpr::List(vec![AddrExpr::Var("HOME_NET".into())]),
        ])))
    );
    assert_eq!(
        r.src_ports,
        PortExpr::List(vec![
            PortExpr::Not(Box::new(PortExpr::Range(80, 80))),
            PortExpr::Var("HTTP_PORTS".into()),
        ])
    );
    assert_eq!(
        r.dst,
        AddrExpr::List(vec![
            AddrExpr::Range(AddrRange::V4(0x0506_0708, 0x0506_0708)),
            AddrExpr::Not(Box::new(AddrExpr::Range(AddrRange::V4(
                0x0909_0909,
                0x0909_0909
            )))),
        ])
    );
    assert_eq!(
        r.dst_ports,
        PortExpr::List(vec![
            PortExpr::Not(Box::new(PortExpr::Range(5800, 5800))),
            PortExpr::Not(Box::new(PortExpr::Range(445, 445))),
        ])
    );
    for (text, message) in [
        ("alert tcp [] any -> any any (sid:1;)", "empty address list"),
        ("alert tcp any [] -> any any (sid:1;)", "empty port list"),
        ("alert tcp any [80 -> any any (sid:1;)", "port list"),
        ("alert tcp [1.2.3.4 any -> any any (sid:1;)", "address list"),
        (
            "alert tcp $1x! any -> any any (sid:1;)",
            "invalid variable name",
        ),
        (
            "alert tcp any $ -> any any (sid:1;)",
            "invalid variable name",
        ),
    ] {
        let e = err(text);
        assert!(e.message.contains(message), "{text}: {e}");
    }
    let deep = format!("alert tcp any {}80 -> any any (sid:1;)", "!".repeat(40));
    assert!(err(&deep)
        .message
        .contains("port expression nested too deeply"));
    let deep = format!("alert tcp {}any any -> any any (sid:1;)", "!".repeat(40));
    assert!(err(&deep)
        .message
        .contains("address expression nested too deeply"));
}
