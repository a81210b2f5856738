//! `dataset`, `datarep` and `iprep`, with Suricata 8's syntax.
//!
//! `dataset` and `datarep` look the current sticky buffer (after its transforms) up in a
//! named set; the set itself is found or made when the engine is built. `iprep` is a
//! condition on the packet's addresses, kept beside the header conditions (it leaves a
//! rule IP-only, as in Suricata).

use super::num::num_cmp;
use super::{Ctx, Cursor};
use crate::signature::{
    DatasetMatch, DatasetOp, DatasetType, IpRepCond, IpRepMatch, IpRepSide, Matcher, RepCmp,
};

/// Longest set name Suricata accepts.
const MAX_NAME: usize = 63;

pub(crate) fn apply(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<bool, String> {
    match name {
        "dataset" => {
            sticky_only(ctx, name)?;
            let m = dataset(v.ok_or("dataset needs options")?)?;
            ctx.push_matcher(Matcher::Dataset(m));
        }
        "datarep" => {
            sticky_only(ctx, name)?;
            let m = datarep(v.ok_or("datarep needs options")?)?;
            ctx.push_matcher(Matcher::Dataset(m));
        }
        "iprep" => {
            let m = iprep(v.ok_or("iprep needs options")?)?;
            ctx.iprep.push(m);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn sticky_only(ctx: &Ctx<'_>, name: &str) -> Result<(), String> {
    match ctx.cursor {
        Cursor::Sticky { .. } => Ok(()),
        Cursor::Payload => Err(format!("{name} is only supported for sticky buffers")),
    }
}

fn data_type(v: &str) -> Result<DatasetType, String> {
    Ok(match v {
        "string" => DatasetType::String,
        "md5" => DatasetType::Md5,
        "sha256" => DatasetType::Sha256,
        "ipv4" => DatasetType::Ipv4,
        "ip" | "ipv6" => DatasetType::Ip,
        _ => return Err(format!("bad dataset type '{v}'")),
    })
}

/// `1mb`, `100kb`, `2gb`, `104064`: bytes.
fn size(v: &str) -> Result<u64, String> {
    let t = v.trim().to_ascii_lowercase();
    let (num, mult) = [("gb", 1u64 << 30), ("mb", 1 << 20), ("kb", 1 << 10)]
        .iter()
        .find_map(|(s, m)| t.strip_suffix(s).map(|n| (n.trim().to_owned(), *m)))
        .unwrap_or((t.clone(), 1));
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("bad size '{v}'"))
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("missing dataset name".into());
    }
    if name.chars().any(|c| c.is_ascii_whitespace()) {
        return Err("spaces not allowed in dataset names".into());
    }
    if name.len() > MAX_NAME {
        return Err(format!("dataset name too long (at most {MAX_NAME} bytes)"));
    }
    Ok(())
}

/// The `key value` options after the command and name (shared by both keywords).
fn options(m: &mut DatasetMatch, parts: &[&str], keyword: &str) -> Result<(), String> {
    let mut format_json = false;
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (key, val) = match part.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((k, v)) => (k, Some(v.trim())),
            None => (part, None),
        };
        let need = || val.ok_or_else(|| format!("{keyword} option '{key}' needs a value"));
        match key {
            "type" => m.data_type = Some(data_type(need()?)?),
            "load" => m.load = Some(need()?.to_owned()),
            "save" if keyword == "dataset" => m.save = Some(need()?.to_owned()),
            "state" if keyword == "dataset" => m.state = Some(need()?.to_owned()),
            "memcap" => m.memcap = Some(size(need()?)?),
            "hashsize" => {
                let h = need()?;
                m.hashsize = Some(
                    h.parse::<u32>()
                        .map_err(|_| format!("bad hashsize '{h}'"))?
                        .into(),
                )
            }
            "format" if keyword == "dataset" => match need()? {
                "csv" => {}
                "json" | "ndjson" => format_json = true,
                f => return Err(format!("unknown dataset format '{f}'")),
            },
            "context_key" | "value_key" | "array_key" | "remove_key" if keyword == "dataset" => {
                format_json = true
            }
            _ => return Err(format!("unknown {keyword} option '{key}'")),
        }
    }
    if format_json {
        return Err(
            "JSON datasets (format json/ndjson, context_key, value_key, array_key, remove_key) \
             are not supported: tapwatch does not add their context to alerts"
                .into(),
        );
    }
    if m.state.is_some() && (m.load.is_some() || m.save.is_some()) {
        return Err("'load' and 'state' or 'save' and 'state' cannot be mixed".into());
    }
    if m.load.is_some() && m.data_type.is_none() {
        return Err("if load is used type must be set as well".into());
    }
    Ok(())
}

fn empty(op: DatasetOp, name: &str) -> DatasetMatch {
    DatasetMatch {
        op,
        name: name.to_owned(),
        data_type: None,
        load: None,
        save: None,
        state: None,
        memcap: None,
        hashsize: None,
    }
}

/// `dataset:<cmd>,<name>[, <option> <value>]...`
pub(crate) fn dataset(v: &str) -> Result<DatasetMatch, String> {
    let parts: Vec<&str> = v.split(',').collect();
    let cmd = parts.first().map(|s| s.trim()).unwrap_or("");
    let op = match cmd {
        "set" => DatasetOp::Set,
        "unset" => DatasetOp::Unset,
        "isset" => DatasetOp::IsSet,
        "isnotset" => DatasetOp::IsNotSet,
        _ => return Err(format!("dataset command '{cmd}' is not supported")),
    };
    let name = parts.get(1).map(|s| s.trim()).unwrap_or("");
    check_name(name)?;
    let mut m = empty(op, name);
    options(&mut m, parts.get(2..).unwrap_or_default(), "dataset")?;
    Ok(m)
}

/// `datarep:<name>,<op>,<value>[, <option> <value>]...`
pub(crate) fn datarep(v: &str) -> Result<DatasetMatch, String> {
    let parts: Vec<&str> = v.split(',').collect();
    let name = parts.first().map(|s| s.trim()).unwrap_or("");
    check_name(name)?;
    let (Some(op), Some(value)) = (parts.get(1), parts.get(2)) else {
        return Err("datarep needs a name, an operator and a value".into());
    };
    let value = value.trim();
    let value: u16 = value
        .parse()
        .map_err(|_| format!("bad datarep value '{value}' (0 to 65535)"))?;
    let cmp = match op.trim() {
        ">" => RepCmp::Gt(value),
        "<" => RepCmp::Lt(value),
        "==" => RepCmp::Eq(value),
        o => return Err(format!("datarep operation \"{o}\" is not supported")),
    };
    let mut m = empty(DatasetOp::Rep(cmp), name);
    options(&mut m, parts.get(3..).unwrap_or_default(), "datarep")?;
    Ok(m)
}

/// `iprep:<side>,<category>,<op>,<value>` or `iprep:<side>,<category>,isset|isnotset`.
pub(crate) fn iprep(v: &str) -> Result<IpRepMatch, String> {
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let side = match parts.first().copied().unwrap_or("") {
        "src" => IpRepSide::Src,
        "dst" => IpRepSide::Dst,
        "both" => IpRepSide::Both,
        "any" => IpRepSide::Any,
        s => return Err(format!("iprep side '{s}' is not src, dst, both or any")),
    };
    let category = parts.get(1).copied().unwrap_or("");
    if category.is_empty() {
        return Err("iprep needs a category".into());
    }
    let cond = match parts.get(2..).unwrap_or_default() {
        ["isset"] => IpRepCond::IsSet,
        ["isnotset"] => IpRepCond::IsNotSet,
        [op, value] => IpRepCond::Cmp(num_cmp(&format!("{op}{value}"), u64::from(u8::MAX))?),
        _ => return Err("iprep needs '<side>,<category>,<op>,<value>' or isset/isnotset".into()),
    };
    Ok(IpRepMatch {
        side,
        category: category.to_owned(),
        cond,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::NumCmp;

    #[test]
    fn dataset_forms() {
        let m = dataset("set  ,ua-seen,type string,save datasets.csv").unwrap();
        assert_eq!(m.op, DatasetOp::Set);
        assert_eq!(m.name, "ua-seen");
        assert_eq!(m.data_type, Some(DatasetType::String));
        assert_eq!(m.save.as_deref(), Some("datasets.csv"));
        let m = dataset("isset,ua-seen,type string,load datasets.csv,memcap 104064,hashsize 1")
            .unwrap();
        assert_eq!((m.memcap, m.hashsize), (Some(104_064), Some(1)));
        let m =
            dataset("set,dns-seen, type string, memcap 100mb, hashsize 2048, state s.csv").unwrap();
        assert_eq!(m.memcap, Some(100 << 20));
        assert_eq!(dataset("isset,versions-seen").unwrap().data_type, None);
        assert_eq!(
            dataset("set,x,type ipv6").unwrap().data_type,
            Some(DatasetType::Ip)
        );
    }

    #[test]
    fn dataset_refusals() {
        assert!(dataset("add,x,type string").is_err());
        assert!(dataset("set,,type string").is_err());
        assert!(dataset("set,a b,type string").is_err());
        assert!(dataset("set,x,type sha1").is_err());
        assert!(dataset("set,x,type string,load a,state b").is_err());
        assert!(dataset("set,x,type string,save a,state b").is_err());
        assert!(dataset("set,x,load a")
            .unwrap_err()
            .contains("type must be set"));
        assert!(dataset("set,x,type string,bogus 1").is_err());
        let e = dataset("isset,h,type string,load h.lst,format json,context_key k,value_key v")
            .unwrap_err();
        assert!(e.contains("JSON datasets"), "{e}");
        assert!(dataset(&format!("set,{},type string", "n".repeat(64))).is_err());
    }

    #[test]
    fn datarep_forms() {
        let m = datarep("dns_md5, >, 200, load dns_md5.rep, type md5").unwrap();
        assert_eq!(m.op, DatasetOp::Rep(RepCmp::Gt(200)));
        assert_eq!(m.load.as_deref(), Some("dns_md5.rep"));
        assert_eq!(
            datarep("a,==,0,type string").unwrap().op,
            DatasetOp::Rep(RepCmp::Eq(0))
        );
        assert!(datarep("a,=,1,type string").is_err());
        assert!(datarep("a,>,65536,type string").is_err());
        assert!(datarep("a,>").is_err());
        assert!(datarep("a,>,1,state x").is_err());
        assert!(RepCmp::Gt(200).matches(201) && !RepCmp::Gt(200).matches(200));
    }

    #[test]
    fn iprep_forms() {
        let m = iprep("any,BadHosts,>,30").unwrap();
        assert_eq!(m.side, IpRepSide::Any);
        assert_eq!(m.category, "BadHosts");
        assert_eq!(m.cond, IpRepCond::Cmp(NumCmp::Gt(30)));
        assert_eq!(
            iprep("src,test,=,0").unwrap().cond,
            IpRepCond::Cmp(NumCmp::Eq(0))
        );
        assert_eq!(
            iprep("src,test,!=,1").unwrap().cond,
            IpRepCond::Cmp(NumCmp::Ne(1))
        );
        assert_eq!(iprep("dst,2402000,isset").unwrap().cond, IpRepCond::IsSet);
        assert_eq!(iprep("both,c,isnotset").unwrap().cond, IpRepCond::IsNotSet);
        assert!(iprep("side,c,>,1").is_err());
        assert!(iprep("src,,>,1").is_err());
        assert!(iprep("src,c,>,256").is_err());
        assert!(iprep("src,c,>").is_err());
    }
}
