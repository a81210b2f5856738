//! The loader API: files, duplicates, disabled rules, rejections with their place.

use std::path::PathBuf;

use tapwatch_rules::{load_rule_files, load_rules_text, LoadOptions, LoadReport};

#[test]
fn loads_reports_and_counts() {
    let text = "\
# header comment
alert http any any -> any any (msg:\"one\"; http.uri; content:\"/a\"; sid:1; rev:1;)
# alert http any any -> any any (msg:\"off\"; sid:2;)
alert http any any -> any any (msg:\"bad\"; tag:session,5,packets; sid:3;)
alert tcp any any -> any any (msg:\"broken\"; content:\"x\" sid:4;)
alert http any any -> any any (msg:\"multi\"; \\
    frob; sid:5;)
";
    let opts = LoadOptions::suricata_defaults();
    let mut report = LoadReport::default();
    load_rules_text("a.rules", text, &opts, &mut report);
    assert_eq!(report.files, 1);
    assert_eq!(report.disabled, 1);
    assert_eq!(report.signatures.len(), 1);
    assert_eq!(report.signatures[0].location.line, 2);
    let r: Vec<_> = report
        .rejections
        .iter()
        .map(|r| (r.line, r.sid, r.keyword.as_deref()))
        .collect();
    assert_eq!(
        r,
        vec![
            (4, Some(3), Some("tag")),
            (5, Some(4), Some("content")),
            (7, Some(5), Some("frob"))
        ]
    );
    assert!(
        report.rejections[1].reason.contains("closing"),
        "{}",
        report.rejections[1]
    );
    assert!(report.rejections[0]
        .to_string()
        .starts_with("a.rules:4: sid 3: tag:"));
}

#[test]
fn duplicate_sids_keep_the_higher_rev_or_the_first() {
    let opts = LoadOptions::suricata_defaults();
    let mut report = LoadReport::default();
    load_rules_text(
        "a.rules",
        "alert tcp any any -> any any (msg:\"r2\"; sid:9; rev:2;)\nalert tcp any any -> any any (msg:\"r1\"; sid:9; rev:1;)\nalert tcp any any -> any any (msg:\"g2\"; sid:9; gid:2;)\n",
        &opts,
        &mut report,
    );
    load_rules_text(
        "b.rules",
        "alert tcp any any -> any any (msg:\"r3\"; sid:9; rev:3;)\nalert tcp any any -> any any (msg:\"r3b\"; sid:9; rev:3;)\n",
        &opts,
        &mut report,
    );
    let kept: Vec<_> = report.signatures.iter().map(|s| s.msg.as_str()).collect();
    assert_eq!(kept, vec!["r3", "g2"]);
    assert_eq!(report.rejections.len(), 3);
    assert!(report
        .rejections
        .iter()
        .all(|r| r.sid == Some(9) && r.reason.contains("duplicate")));
    assert_eq!(report.rejections[1].file, "a.rules");
    assert_eq!(report.rejections[1].line, 1);
}

#[test]
fn files_on_disk() {
    let dir = std::env::temp_dir().join(format!("tapwatch-rules-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.rules");
    std::fs::write(&a, "alert tcp any any -> any any (sid:1;)\n").unwrap();
    let report =
        load_rule_files(std::slice::from_ref(&a), &LoadOptions::suricata_defaults()).unwrap();
    assert_eq!((report.files, report.signatures.len()), (1, 1));
    assert!(load_rule_files(
        &[PathBuf::from("/nonexistent/x.rules")],
        &LoadOptions::default()
    )
    .is_err());
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bundled/tapwatch-sample.rules");
    let report = load_rule_files(&[bundled], &LoadOptions::suricata_defaults()).unwrap();
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    assert_eq!(report.signatures.len(), 10);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duplicates_are_found_after_the_caller_edits_the_report() {
    let opts = LoadOptions::suricata_defaults();
    let mut report = LoadReport::default();
    let rule =
        |sid: u32, rev: u32| format!("alert tcp any any -> any any (sid:{sid}; rev:{rev};)\n");
    load_rules_text("a.rules", &(rule(1, 1) + &rule(2, 1)), &opts, &mut report);
    report.signatures.remove(0);
    load_rules_text("b.rules", &(rule(2, 5) + &rule(1, 1)), &opts, &mut report);
    let ids: Vec<_> = report
        .signatures
        .iter()
        .map(|s| (s.id.sid, s.id.rev))
        .collect();
    assert_eq!(ids, vec![(2, 5), (1, 1)]);
    assert_eq!(report.rejections.len(), 1);
}
