//! flow, flowbits, flowint, xbits, threshold, detection_filter, decode-event, stream-event,
//! app-layer-event and app-layer-protocol.

use super::num::uint;
use super::Ctx;
use crate::signature::*;
use tapwatch_common::event::SURICATA_ONLY_STREAM_EVENTS;
use tapwatch_common::{AppProto, DecodeEvent, Direction, StreamEvent};

fn need<'v>(name: &str, v: Option<&'v str>) -> Result<&'v str, String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("'{name}' needs a value"))
}

/// Applies `name` when it is one of these keywords.
pub(super) fn apply(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<bool, String> {
    match name {
        "flow" => {
            if ctx.flow.is_some() {
                return Err("'flow' given more than once".into());
            }
            ctx.flow = Some(flow(need(name, v)?)?);
        }
        "flowbits" => flowbits(ctx, need(name, v)?)?,
        "flowint" => {
            let op = flowint(need(name, v)?)?;
            ctx.state.push(op);
        }
        "xbits" => xbits(ctx, need(name, v)?)?,
        "threshold" => {
            if ctx.threshold.is_some() || ctx.detection_filter.is_some() {
                return Err("only one 'threshold' or 'detection_filter' per rule".into());
            }
            ctx.threshold = Some(threshold(need(name, v)?)?);
        }
        "detection_filter" => {
            if ctx.threshold.is_some() || ctx.detection_filter.is_some() {
                return Err("only one 'threshold' or 'detection_filter' per rule".into());
            }
            let (kind, track, count, seconds) = threshold_parts(need(name, v)?, false)?;
            debug_assert!(kind.is_none());
            ctx.detection_filter = Some(DetectionFilter {
                track,
                count,
                seconds,
            });
        }
        "decode-event" => {
            let n = event_name(need(name, v)?)?;
            let n = n.strip_prefix("decoder.").unwrap_or(&n);
            let event =
                DecodeEvent::from_name(n).ok_or_else(|| format!("unknown decoder event '{n}'"))?;
            ctx.events.push(EventMatch::Decode(event));
        }
        "stream-event" => {
            let n = event_name(need(name, v)?)?;
            let n = n.strip_prefix("stream.").unwrap_or(&n);
            let event = match StreamEvent::from_name(n) {
                Some(e) => e,
                None if SURICATA_ONLY_STREAM_EVENTS.contains(&n) => {
                    return Err(format!(
                    "stream event '{n}' is not raised by tapwatch, so the rule could never match"
                ))
                }
                None => return Err(format!("unknown stream event '{n}'")),
            };
            ctx.events.push(EventMatch::Stream(event));
        }
        "app-layer-event" => {
            let n = event_name(need(name, v)?)?;
            // `proto.event`, or an engine event (`applayer_...`) without a protocol. The
            // protocol must be one tapwatch detects; the event name itself is not checked
            // yet (app-layer events are not typed values yet).
            if let Some((proto, _)) = n.split_once('.') {
                super::app_protocol(proto)?;
            } else if !n.starts_with("applayer_") {
                return Err(format!(
                    "app-layer event '{n}' names no protocol ('proto.event' or 'applayer_...')"
                ));
            }
            ctx.events.push(EventMatch::AppLayer(n));
        }
        "app-layer-protocol" => {
            if ctx.app_layer_protocol.is_some() {
                return Err("'app-layer-protocol' given more than once".into());
            }
            let v = need(name, v)?;
            if v.contains(',') {
                return Err(
                    "app-layer-protocol modes (to_server, final, ...) are not supported".into(),
                );
            }
            let (negated, p) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, v),
            };
            let p = p.to_ascii_lowercase();
            let proto = match p.as_str() {
                "failed" => AppProtoMatch::Failed,
                "unknown" => AppProtoMatch::Unknown,
                _ => match super::app_protocol(&p) {
                    Ok(proto) => AppProtoMatch::Proto(proto),
                    // A negated protocol tapwatch never detects always holds: still exact.
                    Err(_) if negated => match AppProto::from_name(&p) {
                        Some(proto) => AppProtoMatch::Proto(proto),
                        None => return Err(format!("unknown protocol '{p}'")),
                    },
                    Err(e) => return Err(e),
                },
            };
            ctx.app_layer_protocol = Some(AppLayerProtocol { proto, negated });
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn event_name(v: &str) -> Result<String, String> {
    let v = v.trim().to_ascii_lowercase();
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(format!("invalid event name '{v}'"));
    }
    Ok(v)
}

fn flow(v: &str) -> Result<FlowMatch, String> {
    let mut f = FlowMatch::default();
    fn set<T: PartialEq + Copy>(slot: &mut Option<T>, val: T, opt: &str) -> Result<(), String> {
        match *slot {
            Some(old) if old != val => {
                Err(format!("flow option '{opt}' contradicts an earlier one"))
            }
            _ => {
                *slot = Some(val);
                Ok(())
            }
        }
    }
    for o in v.split(',').map(str::trim) {
        match o {
            "established" => set(&mut f.established, true, o)?,
            "not_established" => set(&mut f.established, false, o)?,
            "stateless" => f.stateless = true,
            "to_server" | "from_client" => set(&mut f.direction, Direction::ToServer, o)?,
            "to_client" | "from_server" => set(&mut f.direction, Direction::ToClient, o)?,
            "only_stream" => set(&mut f.stream, true, o)?,
            "no_stream" => set(&mut f.stream, false, o)?,
            "only_frag" => set(&mut f.frag, true, o)?,
            "no_frag" => set(&mut f.frag, false, o)?,
            _ => return Err(format!("invalid flow option '{o}'")),
        }
    }
    Ok(f)
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'|' | b'&' | b',' | b';'))
}

fn names(list: &str, sep: char) -> Result<Vec<String>, String> {
    list.split(sep)
        .map(str::trim)
        .map(|n| {
            if valid_name(n) {
                Ok(n.to_string())
            } else {
                Err(format!("invalid variable name '{n}'"))
            }
        })
        .collect()
}

fn flowbits(ctx: &mut Ctx<'_>, v: &str) -> Result<(), String> {
    let (cmd, arg) = match v.split_once(',') {
        Some((c, a)) => (c.trim(), Some(a.trim())),
        None => (v.trim(), None),
    };
    if cmd == "noalert" {
        if arg.is_some() {
            return Err("'flowbits:noalert' takes no name".into());
        }
        ctx.noalert = true;
        return Ok(());
    }
    let arg = arg.ok_or_else(|| format!("flowbits:{cmd} needs a name"))?;
    let has_or = arg.contains('|');
    let has_and = arg.contains('&');
    if has_or && has_and {
        return Err("flowbits cannot mix '|' and '&'".into());
    }
    match cmd {
        "isset" | "isnotset" => {
            let make = |n: Vec<String>| {
                if cmd == "isset" {
                    StateOp::FlowbitIsSet(n)
                } else {
                    StateOp::FlowbitIsNotSet(n)
                }
            };
            if has_and {
                for n in names(arg, '&')? {
                    ctx.state.push(make(vec![n]));
                }
            } else {
                ctx.state.push(make(names(arg, '|')?));
            }
        }
        "set" | "unset" | "toggle" => {
            if has_or {
                return Err(format!(
                    "flowbits:{cmd} cannot use '|' (use '&' to name several)"
                ));
            }
            let n = names(arg, '&')?;
            ctx.state.push(match cmd {
                "set" => StateOp::FlowbitSet(n),
                "unset" => StateOp::FlowbitUnset(n),
                _ => StateOp::FlowbitToggle(n),
            });
        }
        _ => return Err(format!("invalid flowbits command '{cmd}'")),
    }
    Ok(())
}

fn flowint(v: &str) -> Result<StateOp, String> {
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let (name, op, val) = match parts.as_slice() {
        [n, o] => (*n, *o, None),
        [n, o, x] => (*n, *o, Some(*x)),
        _ => return Err("flowint needs name, operator[, value]".into()),
    };
    if !valid_name(name) {
        return Err(format!("invalid flowint name '{name}'"));
    }
    let value = |x: Option<&str>| -> Result<FlowintValue, String> {
        let x = x.ok_or_else(|| format!("flowint operator '{op}' needs a value"))?;
        if x.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            Ok(FlowintValue::Lit(
                u32::try_from(uint(x, u64::from(u32::MAX))?).unwrap_or(0),
            ))
        } else if valid_name(x) {
            Ok(FlowintValue::Var(x.to_string()))
        } else {
            Err(format!("invalid flowint value '{x}'"))
        }
    };
    let op = match op {
        "=" => FlowintOp::Set(value(val)?),
        "+" => FlowintOp::Add(value(val)?),
        "-" => FlowintOp::Sub(value(val)?),
        "==" => FlowintOp::Compare(CmpOp::Eq, value(val)?),
        "!=" => FlowintOp::Compare(CmpOp::Ne, value(val)?),
        "<" => FlowintOp::Compare(CmpOp::Lt, value(val)?),
        "<=" => FlowintOp::Compare(CmpOp::Le, value(val)?),
        ">" => FlowintOp::Compare(CmpOp::Gt, value(val)?),
        ">=" => FlowintOp::Compare(CmpOp::Ge, value(val)?),
        "isset" | "notset" | "isnotset" => {
            if val.is_some() {
                return Err(format!("flowint '{op}' takes no value"));
            }
            if op == "isset" {
                FlowintOp::IsSet
            } else {
                FlowintOp::IsNotSet
            }
        }
        o => return Err(format!("invalid flowint operator '{o}'")),
    };
    Ok(StateOp::Flowint {
        name: name.to_string(),
        op,
    })
}

fn xbits(ctx: &mut Ctx<'_>, v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    if parts.first() == Some(&"noalert") {
        if parts.len() != 1 {
            return Err("'xbits:noalert' takes nothing else".into());
        }
        ctx.noalert = true;
        return Ok(());
    }
    let [cmd, name, rest @ ..] = parts.as_slice() else {
        return Err("xbits needs command, name and track".into());
    };
    let op = match *cmd {
        "set" => XbitOp::Set,
        "unset" => XbitOp::Unset,
        "toggle" => XbitOp::Toggle,
        "isset" => XbitOp::IsSet,
        "isnotset" => XbitOp::IsNotSet,
        c => return Err(format!("invalid xbits command '{c}'")),
    };
    if !valid_name(name) {
        return Err(format!("invalid xbits name '{name}'"));
    }
    let (mut track, mut expire) = (None, None);
    for o in rest {
        let (k, val) = o
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .unwrap_or((o, ""));
        match k {
            "track" => {
                track = Some(match val {
                    "ip_src" => XbitTrack::IpSrc,
                    "ip_dst" => XbitTrack::IpDst,
                    "ip_pair" => XbitTrack::IpPair,
                    t => return Err(format!("invalid xbits track '{t}'")),
                })
            }
            "expire" => {
                let n = uint(val, u64::from(u32::MAX))?;
                if n == 0 {
                    return Err("xbits expire must be at least 1".into());
                }
                expire = u32::try_from(n).ok();
            }
            _ => return Err(format!("invalid xbits option '{o}'")),
        }
    }
    let track = track.ok_or("xbits needs 'track ip_src|ip_dst|ip_pair'")?;
    ctx.state.push(StateOp::Xbits {
        op,
        name: (*name).to_string(),
        track,
        expire,
    });
    Ok(())
}

/// Parses `type T, track X, count N, seconds S` (any order); `with_type` says whether the type
/// is required (threshold) or refused (detection_filter).
pub(crate) fn threshold_parts(
    v: &str,
    with_type: bool,
) -> Result<(Option<ThresholdKind>, Track, u32, u32), String> {
    let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
    for o in v.split(',').map(str::trim) {
        let (k, val) = o
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .ok_or_else(|| format!("invalid option '{o}'"))?;
        match k {
            "type" if with_type => {
                kind = Some(match val {
                    "limit" => ThresholdKind::Limit,
                    "threshold" => ThresholdKind::Threshold,
                    "both" => ThresholdKind::Both,
                    t => return Err(format!("unsupported threshold type '{t}'")),
                })
            }
            "track" => track = Some(track_of(val)?),
            "count" => count = Some(u32::try_from(uint(val, u64::from(u32::MAX))?).unwrap_or(0)),
            "seconds" => {
                seconds = Some(u32::try_from(uint(val, u64::from(u32::MAX))?).unwrap_or(0))
            }
            _ => return Err(format!("invalid option '{o}'")),
        }
    }
    if with_type && kind.is_none() {
        return Err("missing 'type'".into());
    }
    let track = track.ok_or("missing 'track'")?;
    let count = count.ok_or("missing 'count'")?;
    let seconds = seconds.ok_or("missing 'seconds'")?;
    if count == 0 {
        return Err("'count' must be at least 1".into());
    }
    Ok((kind, track, count, seconds))
}

pub(crate) fn track_of(val: &str) -> Result<Track, String> {
    Ok(match val {
        "by_src" => Track::BySrc,
        "by_dst" => Track::ByDst,
        "by_rule" => Track::ByRule,
        "by_both" => Track::ByBoth,
        "by_flow" => Track::ByFlow,
        t => return Err(format!("invalid track '{t}'")),
    })
}

fn threshold(v: &str) -> Result<Threshold, String> {
    let (kind, track, count, seconds) = threshold_parts(v, true)?;
    Ok(Threshold {
        kind: kind.unwrap_or(ThresholdKind::Limit),
        track,
        count,
        seconds,
    })
}
