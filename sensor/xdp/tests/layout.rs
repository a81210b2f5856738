//! The C header (`firmware/tapwatch_xdp.h`) and the Rust layouts (`src/layout.rs`) agree:
//! a host program built with the system C compiler prints every size, offset and constant of
//! the header, and each is compared with Rust's. Needs no privileges.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of, size_of_val};
use std::path::PathBuf;
use std::process::Command;

use tapwatch_xdp::layout::{self, counter, FlowKey, FlowValue, LpmV4, LpmV6};

const PROGRAM: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include "tapwatch_xdp.h"
#define S(s) printf("sizeof %s %zu\n", #s, sizeof(struct s));
#define F(s, f) printf("field %s.%s %zu %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f));
#define C(c) printf("const %s %lld\n", #c, (long long)(c));
int main(void) {
    S(tw_flow_key) F(tw_flow_key, ip_version) F(tw_flow_key, protocol) F(tw_flow_key, vlan_outer)
    F(tw_flow_key, vlan_inner) F(tw_flow_key, pad) F(tw_flow_key, port_lo) F(tw_flow_key, port_hi)
    F(tw_flow_key, addr_lo) F(tw_flow_key, addr_hi)
    S(tw_flow_value) F(tw_flow_value, last_seen_ns) F(tw_flow_value, packets) F(tw_flow_value, bytes)
    S(tw_lpm_v4) F(tw_lpm_v4, prefixlen) F(tw_lpm_v4, addr)
    S(tw_lpm_v6) F(tw_lpm_v6, prefixlen) F(tw_lpm_v6, addr)
    C(TW_CFG_FILTER_ENABLED) C(TW_CFG_MAX) C(TW_BYPASS_MAX_ENTRIES) C(TW_PREFIX_MAX_ENTRIES)
    C(TW_XSKS_MAX_ENTRIES) C(TW_DIR_LO_TO_HI) C(TW_DIR_HI_TO_LO)
    C(TW_CNT_SEEN) C(TW_CNT_REDIRECTED) C(TW_CNT_BYPASSED) C(TW_CNT_FILTERED) C(TW_CNT_PASSED)
    C(TW_CNT_PARSE_ERRORS) C(TW_CNT_NON_IP) C(TW_CNT_FRAGMENTS) C(TW_CNT_MAX)
    return 0;
}
"#;

/// Builds and runs the host program; returns its lines keyed by their first two words.
fn c_layout() -> BTreeMap<String, Vec<u64>> {
    let firmware = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../firmware");
    let dir = std::env::temp_dir().join(format!("twx-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, PROGRAM).expect("write C source");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&firmware)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the C compiler");
    assert!(
        out.status.success(),
        "{cc}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run layout program");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(run.status.success());
    String::from_utf8(run.stdout)
        .expect("ascii")
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            let key = format!("{} {}", w.next().expect("kind"), w.next().expect("name"));
            (key, w.map(|n| n.parse().expect("number")).collect())
        })
        .collect()
}

macro_rules! field {
    ($t:ty, $v:expr, $f:ident) => {
        vec![offset_of!($t, $f) as u64, size_of_val(&$v.$f) as u64]
    };
}

#[test]
fn header_and_rust_layouts_agree() {
    let c = c_layout();
    let k = FlowKey::default();
    let v = FlowValue::default();
    let l4 = LpmV4 {
        prefixlen: 0,
        addr: [0; 4],
    };
    let l6 = LpmV6 {
        prefixlen: 0,
        addr: [0; 16],
    };
    let rust: Vec<(&str, Vec<u64>)> = vec![
        ("sizeof tw_flow_key", vec![size_of::<FlowKey>() as u64]),
        (
            "field tw_flow_key.ip_version",
            field!(FlowKey, k, ip_version),
        ),
        ("field tw_flow_key.protocol", field!(FlowKey, k, protocol)),
        (
            "field tw_flow_key.vlan_outer",
            field!(FlowKey, k, vlan_outer),
        ),
        (
            "field tw_flow_key.vlan_inner",
            field!(FlowKey, k, vlan_inner),
        ),
        ("field tw_flow_key.pad", field!(FlowKey, k, pad)),
        ("field tw_flow_key.port_lo", field!(FlowKey, k, port_lo)),
        ("field tw_flow_key.port_hi", field!(FlowKey, k, port_hi)),
        ("field tw_flow_key.addr_lo", field!(FlowKey, k, addr_lo)),
        ("field tw_flow_key.addr_hi", field!(FlowKey, k, addr_hi)),
        ("sizeof tw_flow_value", vec![size_of::<FlowValue>() as u64]),
        (
            "field tw_flow_value.last_seen_ns",
            field!(FlowValue, v, last_seen_ns),
        ),
        ("field tw_flow_value.packets", field!(FlowValue, v, packets)),
        ("field tw_flow_value.bytes", field!(FlowValue, v, bytes)),
        ("sizeof tw_lpm_v4", vec![size_of::<LpmV4>() as u64]),
        ("field tw_lpm_v4.prefixlen", field!(LpmV4, l4, prefixlen)),
        ("field tw_lpm_v4.addr", field!(LpmV4, l4, addr)),
        ("sizeof tw_lpm_v6", vec![size_of::<LpmV6>() as u64]),
        ("field tw_lpm_v6.prefixlen", field!(LpmV6, l6, prefixlen)),
        ("field tw_lpm_v6.addr", field!(LpmV6, l6, addr)),
        (
            "const TW_CFG_FILTER_ENABLED",
            vec![u64::from(layout::CFG_FILTER_ENABLED)],
        ),
        ("const TW_CFG_MAX", vec![u64::from(layout::CFG_MAX)]),
        (
            "const TW_BYPASS_MAX_ENTRIES",
            vec![u64::from(layout::BYPASS_MAX_ENTRIES)],
        ),
        (
            "const TW_PREFIX_MAX_ENTRIES",
            vec![u64::from(layout::PREFIX_MAX_ENTRIES)],
        ),
        (
            "const TW_XSKS_MAX_ENTRIES",
            vec![u64::from(layout::XSKS_MAX_ENTRIES)],
        ),
        (
            "const TW_DIR_LO_TO_HI",
            vec![layout::KeyDirection::LoToHi as u64],
        ),
        (
            "const TW_DIR_HI_TO_LO",
            vec![layout::KeyDirection::HiToLo as u64],
        ),
        ("const TW_CNT_SEEN", vec![u64::from(counter::SEEN)]),
        (
            "const TW_CNT_REDIRECTED",
            vec![u64::from(counter::REDIRECTED)],
        ),
        ("const TW_CNT_BYPASSED", vec![u64::from(counter::BYPASSED)]),
        ("const TW_CNT_FILTERED", vec![u64::from(counter::FILTERED)]),
        ("const TW_CNT_PASSED", vec![u64::from(counter::PASSED)]),
        (
            "const TW_CNT_PARSE_ERRORS",
            vec![u64::from(counter::PARSE_ERRORS)],
        ),
        ("const TW_CNT_NON_IP", vec![u64::from(counter::NON_IP)]),
        (
            "const TW_CNT_FRAGMENTS",
            vec![u64::from(counter::FRAGMENTS)],
        ),
        ("const TW_CNT_MAX", vec![u64::from(counter::COUNT)]),
    ];
    let mut mismatches = Vec::new();
    for (name, want) in &rust {
        match c.get(*name) {
            Some(got) if got == want => {}
            got => mismatches.push(format!("{name}: C {got:?}, Rust {want:?}")),
        }
    }
    // Every line of the C program is compared: a field added on one side only shows up here.
    for name in c.keys() {
        if !rust.iter().any(|(n, _)| n == name) {
            mismatches.push(format!("{name}: in C, not compared with Rust"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "layout mismatches:\n{}",
        mismatches.join("\n")
    );
}
