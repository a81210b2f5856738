//! Property tests: port and address set algebra against brute-force models, and
//! parse(print(rule)) round trips on generated rules.

use proptest::prelude::*;
use tapwatch_rules::ast::{AddrExpr, AddrRange, PortExpr};
use tapwatch_rules::{parse_rule, resolve_addr, resolve_ports, Vars};

/// Port expressions over a small universe so the model can enumerate it.
fn port_expr() -> impl Strategy<Value = PortExpr> {
    let leaf = prop_oneof![
        (0u16..40, 0u16..8).prop_map(|(a, w)| PortExpr::Range(a, a + w)),
        Just(PortExpr::Any),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(PortExpr::List),
            inner.prop_map(|e| PortExpr::Not(Box::new(e))),
        ]
    })
}

fn print_ports(e: &PortExpr) -> String {
    match e {
        PortExpr::Any => "any".into(),
        PortExpr::Var(v) => format!("${v}"),
        PortExpr::Range(a, b) if a == b => a.to_string(),
        PortExpr::Range(a, b) => format!("{a}:{b}"),
        PortExpr::List(v) => format!(
            "[{}]",
            v.iter().map(print_ports).collect::<Vec<_>>().join(",")
        ),
        PortExpr::Not(e) => format!("!{}", print_ports(e)),
    }
}

/// The model: membership of one port, with Suricata's list semantics.
fn model(e: &PortExpr, p: u16) -> bool {
    match e {
        PortExpr::Any => true,
        PortExpr::Var(_) => false,
        PortExpr::Range(a, b) => *a <= p && p <= *b,
        PortExpr::Not(e) => !model(e, p),
        PortExpr::List(items) => {
            let pos: Vec<_> = items
                .iter()
                .filter(|i| !matches!(i, PortExpr::Not(_)))
                .collect();
            let in_pos = pos.is_empty() || pos.iter().any(|i| model(i, p));
            let in_neg = items.iter().any(|i| match i {
                PortExpr::Not(e) => model(e, p),
                _ => false,
            });
            in_pos && !in_neg
        }
    }
}

fn addr_expr() -> impl Strategy<Value = AddrExpr> {
    let leaf = prop_oneof![
        (0u32..64, 0u32..6).prop_map(|(a, w)| AddrExpr::Range(AddrRange::V4(a, a + w))),
        (0u32..64).prop_map(|a| AddrExpr::Range(AddrRange::V6(u128::from(a), u128::from(a)))),
        Just(AddrExpr::Any),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(AddrExpr::List),
            inner.prop_map(|e| AddrExpr::Not(Box::new(e))),
        ]
    })
}

fn print_addr(e: &AddrExpr) -> String {
    match e {
        AddrExpr::Any => "any".into(),
        AddrExpr::Var(v) => format!("${v}"),
        AddrExpr::Range(AddrRange::V4(a, b)) => format!(
            "{}-{}",
            std::net::Ipv4Addr::from(*a),
            std::net::Ipv4Addr::from(*b)
        ),
        AddrExpr::Range(AddrRange::V6(a, b)) => format!(
            "{}-{}",
            std::net::Ipv6Addr::from(*a),
            std::net::Ipv6Addr::from(*b)
        ),
        AddrExpr::List(v) => format!(
            "[{}]",
            v.iter().map(print_addr).collect::<Vec<_>>().join(",")
        ),
        AddrExpr::Not(e) => format!("!{}", print_addr(e)),
    }
}

fn amodel(e: &AddrExpr, a: std::net::IpAddr) -> bool {
    match e {
        AddrExpr::Any => true,
        AddrExpr::Var(_) => false,
        AddrExpr::Range(AddrRange::V4(x, y)) => {
            matches!(a, std::net::IpAddr::V4(v) if (*x..=*y).contains(&u32::from(v)))
        }
        AddrExpr::Range(AddrRange::V6(x, y)) => {
            matches!(a, std::net::IpAddr::V6(v) if (*x..=*y).contains(&u128::from(v)))
        }
        AddrExpr::Not(e) => !amodel(e, a),
        AddrExpr::List(items) => {
            let pos: Vec<_> = items
                .iter()
                .filter(|i| !matches!(i, AddrExpr::Not(_)))
                .collect();
            let in_pos = pos.is_empty() || pos.iter().any(|i| amodel(i, a));
            let in_neg = items.iter().any(|i| match i {
                AddrExpr::Not(e) => amodel(e, a),
                _ => false,
            });
            in_pos && !in_neg
        }
    }
}

proptest! {
    #[test]
    fn port_sets_match_the_model(e in port_expr()) {
        let text = print_ports(&e);
        let rule = parse_rule(&format!("alert tcp any {text} -> any any (sid:1;)")).unwrap();
        prop_assert_eq!(&rule.src_ports, &e);
        let any_member = (0..=u16::MAX).any(|p| model(&e, p));
        match resolve_ports(&e, &Vars::default()) {
            Ok(set) => {
                for p in (0u16..60).chain([1000, 65535]) {
                    prop_assert_eq!(set.contains(p), model(&e, p), "port {} in {}", p, text);
                }
                prop_assert!(set.ranges.windows(2).all(|w| w[0].1 < w[1].0));
            }
            Err(_) => prop_assert!(!any_member, "{} rejected but not empty", text),
        }
    }

    #[test]
    fn address_sets_match_the_model(e in addr_expr()) {
        let text = print_addr(&e);
        let rule = parse_rule(&format!("alert ip {text} any -> any any (sid:1;)")).unwrap();
        prop_assert_eq!(&rule.src, &e);
        if let Ok(set) = resolve_addr(&e, &Vars::default()) {
            for a in 0u32..72 {
                let v4 = std::net::IpAddr::V4(a.into());
                let v6 = std::net::IpAddr::V6(u128::from(a).into());
                prop_assert_eq!(set.contains(v4), amodel(&e, v4), "{} in {}", v4, text);
                prop_assert_eq!(set.contains(v6), amodel(&e, v6), "{} in {}", v6, text);
            }
        }
    }

    /// Generated option lists survive printing and parsing, escapes and all.
    #[test]
    fn options_round_trip(
        opts in prop::collection::vec(
            ("[a-z][a-z0-9_.]{0,10}", prop::option::of("[ -~]{0,20}")),
            0..8,
        ),
        continuation in any::<bool>(),
    ) {
        let mut text = String::from("alert tcp any any -> any any (");
        let mut expected = Vec::new();
        for (name, value) in &opts {
            let value = value.as_ref().map(|v| {
                // Escape what the rule language requires; values are stored trimmed.
                let escaped = v.replace('\\', "\\\\").replace(';', "\\;");
                escaped.trim().to_string()
            });
            match &value {
                Some(v) if !v.is_empty() && !v.ends_with('\\') => {
                    text.push_str(&format!("{name}:{v}; "));
                    expected.push((name.clone(), Some(v.clone())));
                }
                _ => {
                    text.push_str(&format!("{name}; "));
                    expected.push((name.clone(), None));
                }
            }
            if continuation {
                text.push_str("\\\n  ");
            }
        }
        text.push(')');
        let rule = parse_rule(&text).unwrap();
        let got: Vec<_> = rule.options.iter().map(|o| (o.name.clone(), o.value.clone())).collect();
        prop_assert_eq!(got, expected);
        let again = parse_rule(&rule.text).unwrap();
        prop_assert_eq!(again.options.len(), rule.options.len());
    }
}
