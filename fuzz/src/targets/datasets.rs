//! Dataset and IP reputation files: Suricata's dataset lines (base64 strings, hex digests,
//! addresses, `,value` reputation) and `ip[/len],category,score` reputation lines.

use std::path::Path;

use tapwatch_datasets::iprep::MAX_CATEGORIES;
use tapwatch_datasets::{file, Categories, DataType, Dataset, ReputationBuilder, SetSpec};

const TYPES: [DataType; 5] = [
    DataType::String,
    DataType::Md5,
    DataType::Sha256,
    DataType::Ipv4,
    DataType::Ip,
];

/// The first byte picks a set type and memcap; the rest is a dataset file, loaded. A file
/// that loads is written back and read again into the same entries (and a bad line is
/// reported inside the file). Then every line goes through the reputation reader with
/// categories 1 to 59 defined, and every host line it accepted is looked up.
pub fn datasets(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let ty = TYPES[usize::from(sel) % TYPES.len()];
    let memcap = if sel & 0x80 != 0 { 512 } else { 1 << 20 };
    let spec = SetSpec {
        name: "fuzz".into(),
        data_type: ty,
        load: None,
        save: None,
        memcap,
        hashsize: 64,
        dynamic: false,
    };
    let set = Dataset::new(spec.clone());
    let lines = rest.split(|&b| b == b'\n').count() as u64;
    match file::load_from(&set, rest, Path::new("fuzz.csv")) {
        Ok(_) => {
            let text = file::render(&set);
            let again = Dataset::new(spec);
            file::load_from(&again, text.as_bytes(), Path::new("again.csv"))
                .unwrap_or_else(|e| panic!("written set does not load back: {e}\n{text}"));
            assert_eq!(set.entries(), again.entries(), "round trip changed the set");
        }
        Err(file::FileError::Line { line, .. }) => {
            assert!(line >= 1 && line <= lines, "bad line {line} of {lines}");
        }
        Err(e) => panic!("unexpected I/O error on a reader: {e}"),
    }

    let cats = Categories::from_pairs((1..MAX_CATEGORIES).map(|i| {
        let name: &'static str = Box::leak(i.to_string().into_boxed_str());
        (name, i)
    }));
    let text = String::from_utf8_lossy(rest);
    let mut b = ReputationBuilder::new();
    let mut hosts = Vec::new();
    for line in text.lines() {
        if b.add_line(line, &cats).is_ok() {
            let mut p = line.split(',');
            if let (Some(ip), Some(cat)) = (p.next(), p.next()) {
                if let (Ok(a), Ok(c)) = (ip.trim().parse(), cat.trim().parse::<u8>()) {
                    hosts.push((a, c));
                }
            }
        }
    }
    let table = b.build();
    for (addr, cat) in hosts {
        assert!(
            table.score(addr, cat).is_some(),
            "accepted host {addr} has no score in category {cat}"
        );
    }
}
