//! The rule language: rule files through the parser and the lowering, plus the
//! `classification.config` and `threshold.config` readers on the same bytes.

use tapwatch_rules::{
    load_rules_text, parse_rule, Classifications, LoadOptions, LoadReport, Matcher,
    ThresholdConfig, Vars,
};

/// Loads `data` as a rule file with Suricata's defaults and checks: every rejection is
/// located inside the file with a reason; every rule that parses re-parses from its joined
/// text to the same options; every signature's fast pattern points at a non-negated content
/// and its address and port sets are sorted and disjoint. The configuration readers must not
/// panic and their errors must be located inside the text.
pub fn rules_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = u32::try_from(text.lines().count().max(1)).unwrap_or(u32::MAX);
    let opts = LoadOptions::suricata_defaults();
    let mut report = LoadReport::default();
    load_rules_text("fuzz.rules", &text, &opts, &mut report);
    for r in &report.rejections {
        assert!(!r.reason.is_empty(), "rejection without a reason: {r:?}");
        assert!(
            r.line >= 1 && r.line <= lines,
            "rejection line out of the file: {r:?}"
        );
    }
    for s in &report.signatures {
        assert!(s.location.line >= 1 && s.location.line <= lines);
        if let Some(fp) = s.fast_pattern {
            let m = s
                .buffers
                .get(fp.buffer)
                .and_then(|b| b.matchers.get(fp.matcher));
            assert!(
                matches!(m, Some(Matcher::Content(c)) if !c.negated),
                "fast_pattern does not point at a non-negated content: {s:?}"
            );
        }
        assert!(sorted_disjoint(&s.header.src.v4) && sorted_disjoint(&s.header.dst.v6));
        assert!(sorted_disjoint(&s.header.src_ports.ranges));
        assert!(!s.header.dst_ports.ranges.is_empty());
        let reparsed = parse_rule(&s.text).expect("a loaded rule's text parses again");
        assert_eq!(reparsed.text, s.text);
    }
    for line in text.lines() {
        if let Ok(rule) = parse_rule(line) {
            let again = parse_rule(&rule.text).expect("joined text parses again");
            let a: Vec<_> = rule.options.iter().map(|o| (&o.name, &o.value)).collect();
            let b: Vec<_> = again.options.iter().map(|o| (&o.name, &o.value)).collect();
            assert_eq!(a, b, "options changed on re-parse");
        } else if let Err(e) = parse_rule(line) {
            assert!(e.pos.line == 1 && !e.message.is_empty());
        }
    }
    if let Err(errs) = Classifications::parse("c.config", &text) {
        assert!(errs.iter().all(|e| e.line >= 1 && e.line <= lines));
    }
    if let Err(errs) = ThresholdConfig::parse("t.config", &text, &Vars::suricata_defaults()) {
        assert!(errs.iter().all(|e| e.line >= 1 && e.line <= lines));
    }
}

fn sorted_disjoint<T: Ord + Copy>(r: &[(T, T)]) -> bool {
    r.iter().all(|(a, b)| a <= b) && r.windows(2).all(|w| w[0].1 < w[1].0)
}
