//! Keywords that describe the rule rather than match: msg, sid, gid, rev, classtype,
//! priority, metadata, reference, target, noalert.

use super::num::uint;
use super::Ctx;
use crate::parse::strings::{unescape_text, unquote};
use crate::signature::Target;

fn need<'v>(name: &str, v: Option<&'v str>) -> Result<&'v str, String> {
    match v {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("'{name}' needs a value")),
    }
}

fn once<T>(slot: &Option<T>, name: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("'{name}' given more than once"));
    }
    Ok(())
}

/// Applies `name` when it is one of these keywords; `Ok(false)` when it is not.
pub(super) fn apply(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<bool, String> {
    match name {
        "msg" => {
            once(&ctx.msg, name)?;
            ctx.msg = Some(unescape_text(unquote(need(name, v)?)?));
        }
        "sid" => {
            once(&ctx.sid, name)?;
            let n = uint(need(name, v)?, u64::from(u32::MAX))?;
            if n == 0 {
                return Err("sid 0 is not allowed".into());
            }
            ctx.sid = u32::try_from(n).ok();
        }
        "gid" => {
            once(&ctx.gid, name)?;
            ctx.gid = u32::try_from(uint(need(name, v)?, u64::from(u32::MAX))?).ok();
        }
        "rev" => {
            once(&ctx.rev, name)?;
            ctx.rev = u32::try_from(uint(need(name, v)?, u64::from(u32::MAX))?).ok();
        }
        "classtype" => {
            once(&ctx.classtype, name)?;
            let c = need(name, v)?.trim();
            let class =
                ctx.opts.classifications.get(c).ok_or_else(|| {
                    format!("unknown classtype '{c}' (not in classification.config)")
                })?;
            ctx.category = Some(class.description.clone());
            ctx.class_priority = Some(class.priority);
            ctx.classtype = Some(c.to_string());
        }
        "priority" => {
            once(&ctx.priority, name)?;
            let p = uint(need(name, v)?, 255)?;
            if p == 0 {
                return Err("priority must be 1 to 255".into());
            }
            ctx.priority = u8::try_from(p).ok();
        }
        "metadata" => {
            for pair in need(name, v)?.split(',') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (k, val) = match pair.split_once(char::is_whitespace) {
                    Some((k, val)) => (k, val.trim()),
                    None => (pair, ""),
                };
                ctx.metadata.push((k.to_string(), val.to_string()));
            }
        }
        "reference" => {
            let r = need(name, v)?.trim();
            if !r.contains(',') {
                return Err(format!("reference '{r}' is not of the form type,id"));
            }
            ctx.references.push(r.to_string());
        }
        "target" => {
            once(&ctx.target, name)?;
            ctx.target = Some(match need(name, v)?.trim() {
                "src_ip" => Target::SrcIp,
                "dest_ip" => Target::DestIp,
                t => return Err(format!("invalid target '{t}' (expected src_ip or dest_ip)")),
            });
        }
        // A performance hint (which keyword feeds the prefilter); the matches are the same
        // whichever the engine picks.
        "prefilter" => {
            if v.is_some() {
                return Err("'prefilter' takes no value".into());
            }
        }
        "noalert" => {
            if v.is_some() {
                return Err("'noalert' takes no value".into());
            }
            ctx.noalert = true;
        }
        _ => return Ok(false),
    }
    Ok(true)
}
