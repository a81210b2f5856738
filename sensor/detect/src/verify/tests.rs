//! Keyword tests with the boundary of every modifier, and a brute-force reference matcher
//! for content-only lists compared with [`CompiledBuffer::matches`] by a property test.

use proptest::prelude::*;
use tapwatch_rules::signature::{
    Base64Decode, Buffer, BufferMatch, ByteExtract, ByteJump, ByteOp, ByteTest, Content, Endian,
    FlagMode, IsDataAt, Matcher, NumBase, NumCmp, PacketCondition, Pcre, StreamSide, Transform,
    Value,
};

use super::*;

// ---------------------------------------------------------------------------------------
// Builders

fn content(p: &[u8]) -> Content {
    Content {
        pattern: p.to_vec(),
        negated: false,
        nocase: false,
        offset: None,
        depth: None,
        distance: None,
        within: None,
        startswith: false,
        endswith: false,
        rawbytes: false,
    }
}

fn lit(n: i64) -> Option<Value> {
    Some(Value::Lit(n))
}

fn pcre(p: &str) -> Pcre {
    Pcre {
        pattern: p.to_owned(),
        negated: false,
        caseless: false,
        multiline: false,
        dotall: false,
        extended: false,
        anchored: false,
        dollar_endonly: false,
        ungreedy: false,
        relative: false,
        override_limits: false,
    }
}

fn byte_test(bytes: u8, op: ByteOp, value: i64, offset: i64) -> ByteTest {
    ByteTest {
        bytes,
        negated: false,
        op,
        value: Value::Lit(value),
        offset: Value::Lit(offset),
        relative: false,
        endian: Endian::Big,
        string: None,
        bitmask: None,
    }
}

fn byte_jump(bytes: u8, offset: i64) -> ByteJump {
    ByteJump {
        bytes,
        offset: Value::Lit(offset),
        relative: false,
        multiplier: 1,
        endian: Endian::Big,
        string: None,
        align: false,
        from_beginning: false,
        from_end: false,
        post_offset: 0,
        bitmask: None,
    }
}

fn byte_extract(bytes: u8, offset: i64, var: u8) -> ByteExtract {
    ByteExtract {
        bytes,
        offset,
        var,
        name: format!("v{var}"),
        relative: false,
        multiplier: 1,
        endian: Endian::Big,
        string: None,
        align: None,
        bitmask: None,
    }
}

fn list(matchers: Vec<Matcher>) -> CompiledBuffer {
    list_with(matchers, Vec::new())
}

fn list_with(matchers: Vec<Matcher>, transforms: Vec<Transform>) -> CompiledBuffer {
    CompiledBuffer::compile(&BufferMatch {
        buffer: Buffer::Payload,
        transforms,
        matchers,
        absent: None,
    })
    .expect("compiles")
}

fn run(matchers: Vec<Matcher>, data: &[u8]) -> bool {
    list(matchers).matches(data, &mut MatchContext::new())
}

fn c(p: &[u8]) -> Matcher {
    Matcher::Content(content(p))
}

fn cm(p: &[u8], f: impl FnOnce(&mut Content)) -> Matcher {
    let mut x = content(p);
    f(&mut x);
    Matcher::Content(x)
}

fn pm(p: &str, f: impl FnOnce(&mut Pcre)) -> Matcher {
    let mut x = pcre(p);
    f(&mut x);
    Matcher::Pcre(x)
}

// ---------------------------------------------------------------------------------------
// content

#[test]
fn content_plain_and_nocase() {
    assert!(run(vec![c(b"abc")], b"xxabcxx"));
    assert!(!run(vec![c(b"abc")], b"xxABCxx"));
    assert!(run(vec![cm(b"aBc", |x| x.nocase = true)], b"xxAbCxx"));
    // Only ASCII letters fold.
    assert!(!run(vec![cm(b"\xe9", |x| x.nocase = true)], b"\xc9"));
    assert!(run(vec![cm(b"1-2", |x| x.nocase = true)], b"01-2"));
    assert!(!run(vec![c(b"abc")], b""));
}

#[test]
fn depth_boundary() {
    let m = |d| vec![cm(b"abc", |x| x.depth = lit(d))];
    assert!(run(m(3), b"abcx"));
    assert!(!run(m(2), b"abcx"));
    assert!(run(m(4), b"xabc"));
    assert!(!run(m(3), b"xabc"));
}

#[test]
fn offset_boundary_and_depth_counts_from_offset() {
    let m = |o| vec![cm(b"abc", |x| x.offset = lit(o))];
    assert!(run(m(1), b"xabc"));
    assert!(!run(m(2), b"xabc"));
    assert!(!run(m(10), b"xabc"), "offset beyond the buffer");
    let od = |o, d| {
        vec![cm(b"def", |x| {
            x.offset = lit(o);
            x.depth = lit(d);
        })]
    };
    assert!(run(od(3, 3), b"abcdef"));
    assert!(!run(od(3, 2), b"abcdef"));
    assert!(!run(od(4, 3), b"abcdef"));
}

#[test]
fn distance_and_within_boundaries() {
    let dw = |d: Option<i64>, w: Option<i64>| {
        vec![
            c(b"ab"),
            cm(b"cd", |x| {
                x.distance = d.map(Value::Lit);
                x.within = w.map(Value::Lit);
            }),
        ]
    };
    // "ab" ends at 2; "cd" starts at 4.
    let data = b"abxxcd";
    assert!(run(dw(Some(2), None), data));
    assert!(!run(dw(Some(3), None), data));
    assert!(run(dw(None, Some(4)), data), "within exact");
    assert!(!run(dw(None, Some(3)), data));
    assert!(
        run(dw(Some(1), Some(3)), data),
        "within counts from distance"
    );
    assert!(!run(dw(Some(1), Some(2)), data));
    assert!(run(dw(Some(2), Some(2)), data));
    // Snort's published example: distance 1, within 10.
    let ex = |s: &[u8]| {
        run(
            vec![
                c(b"ABC"),
                cm(b"EFG", |x| {
                    x.distance = lit(1);
                    x.within = lit(10);
                }),
            ],
            s,
        )
    };
    assert!(!ex(b"ABCEFG"));
    assert!(ex(b"ABCxEFG"));
    assert!(ex(b"ABCx1234567EFG"));
    assert!(!ex(b"ABCx12345678EFG"));
}

#[test]
fn negative_distance() {
    let m = |d| {
        vec![
            c(b"cd"),
            cm(b"bc", |x| {
                x.distance = lit(d);
                x.within = lit(2);
            }),
        ]
    };
    assert!(run(m(-3), b"abcd"));
    assert!(!run(m(-2), b"abcd"));
    // Going before the buffer start clamps the start, the window end stays.
    let far = vec![c(b"cd"), cm(b"ab", |x| x.distance = lit(-100))];
    assert!(run(far, b"abcd"));
}

#[test]
fn startswith_and_endswith() {
    let sw = vec![cm(b"ab", |x| x.startswith = true)];
    assert!(run(sw.clone(), b"abc"));
    assert!(!run(sw, b"xab"));
    let ew = vec![cm(b"bc", |x| x.endswith = true)];
    assert!(run(ew.clone(), b"abc"), "match at the last byte");
    assert!(!run(ew.clone(), b"abcd"));
    assert!(run(ew, b"bcbc"), "the last occurrence counts");
    // endswith with a relative window.
    let rel = |w| {
        vec![
            c(b"a"),
            cm(b"z", |x| {
                x.endswith = true;
                x.distance = lit(0);
                x.within = lit(w);
            }),
        ]
    };
    assert!(run(rel(3), b"a12z"));
    assert!(!run(rel(2), b"a12z"));
    let both = vec![cm(b"abc", |x| {
        x.startswith = true;
        x.endswith = true;
    })];
    assert!(run(both.clone(), b"abc"));
    assert!(!run(both, b"abcabc"));
}

#[test]
fn negated_content_does_not_move_the_cursor() {
    let m = vec![
        c(b"a"),
        cm(b"x", |x| {
            x.negated = true;
            x.distance = lit(0);
            x.within = lit(1);
        }),
        cm(b"b", |x| {
            x.distance = lit(0);
            x.within = lit(1);
        }),
    ];
    assert!(run(m.clone(), b"ab"));
    assert!(!run(m.clone(), b"axb"));
    let neg = vec![cm(b"evil", |x| x.negated = true)];
    assert!(run(neg.clone(), b"good"));
    assert!(!run(neg.clone(), b"so evil"));
    assert!(run(neg, b""));
}

#[test]
fn backtracking_retries_earlier_occurrences() {
    let m = vec![
        c(b"a"),
        cm(b"b", |x| {
            x.distance = lit(0);
            x.within = lit(1);
        }),
    ];
    assert!(run(m.clone(), b"axab"));
    assert!(!run(m, b"axaxb"));
    // Three levels deep.
    let deep = vec![
        c(b"a"),
        cm(b"b", |x| x.distance = lit(0)),
        cm(b"c", |x| {
            x.distance = lit(0);
            x.within = lit(1);
        }),
    ];
    assert!(run(deep, b"abxab-bc"));
    // A relative negated content drives backtracking too.
    let neg = vec![
        c(b"a"),
        cm(b"x", |x| {
            x.negated = true;
            x.distance = lit(0);
            x.within = lit(1);
        }),
    ];
    assert!(run(neg, b"axay"));
}

#[test]
fn inspection_limit_stops_pathological_lists() {
    // 40 `a`s with five nested relative contents and an impossible last one (`within`
    // keeps the steps from being cut short as failed earlier).
    let mut m = vec![c(b"a")];
    for _ in 0..5 {
        m.push(cm(b"a", |x| {
            x.distance = lit(0);
            x.within = lit(40);
        }));
    }
    m.push(cm(b"z", |x| x.distance = lit(0)));
    let data = [b'a'; 40];
    let compiled = list(m);
    let mut ctx = MatchContext::new();
    assert!(!compiled.matches(&data, &mut ctx));
    assert!(
        ctx.steps > INSPECTION_LIMIT,
        "the walk was cut at the limit"
    );
}

#[test]
fn distance_only_steps_fail_at_once_from_a_cursor_they_failed_from() {
    // The same list with `distance` alone: once the sixth `a` failed from a cursor, it
    // fails from every later one, and the walk ends long before the limit.
    let mut m = vec![c(b"a")];
    for _ in 0..5 {
        m.push(cm(b"a", |x| x.distance = lit(0)));
    }
    m.push(cm(b"z", |x| x.distance = lit(0)));
    let compiled = list(m.clone());
    let mut ctx = MatchContext::new();
    assert!(!compiled.matches(&[b'a'; 40], &mut ctx));
    assert!(ctx.steps < 500, "{} steps", ctx.steps);
    // ... and still finds the match when there is one.
    let mut data = [b'a'; 40];
    data[39] = b'z';
    assert!(compiled.matches(&data, &mut ctx));
    // A relative pcre after the contents is tried once per position of the content
    // before it, not once per combination of earlier positions.
    let mut m = vec![c(b"<s"), cm(b"<", |x| x.distance = lit(0))];
    m.push(cm(b".l", |x| x.distance = lit(0)));
    m.push(pm("^x", |p| p.relative = true));
    let compiled = list(m);
    let body: Vec<u8> = b"<s"
        .iter()
        .chain(&[b'<'; 30])
        .chain(&b".l.l.l.l"[..])
        .copied()
        .collect();
    assert!(!compiled.matches(&body, &mut ctx));
    assert!(ctx.steps < 100, "{} steps", ctx.steps);
}

// ---------------------------------------------------------------------------------------
// pcre

#[test]
fn pcre_flags() {
    assert!(run(vec![pm("a.c", |_| {})], b"xabc"));
    assert!(!run(vec![pm("ABC", |_| {})], b"abc"));
    assert!(run(vec![pm("ABC", |p| p.caseless = true)], b"abc"));
    assert!(!run(vec![pm("a.c", |_| {})], b"a\nc"));
    assert!(run(vec![pm("a.c", |p| p.dotall = true)], b"a\nc"));
    assert!(!run(vec![pm("^b", |_| {})], b"a\nb"));
    assert!(run(vec![pm("^b", |p| p.multiline = true)], b"a\nb"));
    assert!(run(vec![pm("a b # comment", |p| p.extended = true)], b"ab"));
    assert!(run(vec![pm("b", |_| {})], b"ab"));
    assert!(!run(vec![pm("b", |p| p.anchored = true)], b"ab"));
    assert!(run(vec![pm("a|b", |p| p.anchored = true)], b"bz"));
    assert!(run(vec![pm("a$", |_| {})], b"a\n"));
    assert!(!run(vec![pm("a$", |p| p.dollar_endonly = true)], b"a\n"));
    assert!(run(vec![pm("a$", |p| p.dollar_endonly = true)], b"a"));
    assert!(!run(vec![pm("abc", |p| p.negated = true)], b"xabc"));
    assert!(run(vec![pm("abc", |p| p.negated = true)], b"xab"));
    // Binary data, not UTF-8.
    assert!(run(vec![pm("\\xff\\x00", |_| {})], b"a\xff\x00"));
}

#[test]
fn pcre_ungreedy_moves_the_cursor_less() {
    let then_b = |g| {
        vec![
            pm("a.+", |p| p.ungreedy = g),
            cm(b"b", |x| {
                x.distance = lit(0);
                x.within = lit(1);
            }),
        ]
    };
    // Greedy `a.+` ends at the buffer end; the first try fails, backtracking to later starts
    // cannot help either, so only the ungreedy form matches.
    assert!(run(then_b(true), b"axbz"));
    assert!(!run(then_b(false), b"axbz"));
}

#[test]
fn pcre_relative_starts_at_the_cursor() {
    let m = |p: &str| vec![c(b"key="), pm(p, |x| x.relative = true)];
    assert!(run(m("^[0-9]+"), b"key=123"));
    assert!(!run(m("^[0-9]+"), b"key=x123"));
    assert!(
        !run(m("(?<=key=)1"), b"key=1"),
        "cannot look behind the cursor"
    );
    // The pcre's end becomes the cursor.
    let chain = vec![
        pm("[0-9]+", |_| {}),
        cm(b"x", |x| {
            x.distance = lit(0);
            x.within = lit(1);
        }),
    ];
    assert!(run(chain.clone(), b"12x"));
    assert!(
        run(chain.clone(), b"1a22x"),
        "pcre retried at a later start"
    );
    assert!(!run(chain, b"12 x"));
    // Relative at the first matcher: relative to the buffer start.
    assert!(run(vec![pm("^ab", |x| x.relative = true)], b"abc"));
}

#[test]
fn pcre_refused_when_pcre2_refuses() {
    let err = CompiledBuffer::compile(&BufferMatch {
        buffer: Buffer::Payload,
        transforms: Vec::new(),
        matchers: vec![pm("a(b", |_| {})],
        absent: None,
    })
    .unwrap_err();
    assert_eq!(err.keyword, "pcre");
}

#[test]
fn pcre_match_limit_is_a_non_match() {
    // Catastrophic backtracking: stopped by the match limit, not by time.
    let m = vec![pm("(a+)+$", |_| {})];
    let mut data = vec![b'a'; 64];
    data.push(b'!');
    assert!(!run(m, &data));
}

// ---------------------------------------------------------------------------------------
// byte_test

#[test]
fn byte_test_every_operator_at_the_boundary() {
    let data = [0x00, 0x10];
    let t = |op, v| run(vec![Matcher::ByteTest(byte_test(2, op, v, 0))], &data);
    assert!(t(ByteOp::Lt, 17) && !t(ByteOp::Lt, 16) && !t(ByteOp::Lt, 15));
    assert!(t(ByteOp::Gt, 15) && !t(ByteOp::Gt, 16) && !t(ByteOp::Gt, 17));
    assert!(t(ByteOp::Eq, 16) && !t(ByteOp::Eq, 15) && !t(ByteOp::Eq, 17));
    assert!(t(ByteOp::Le, 16) && t(ByteOp::Le, 17) && !t(ByteOp::Le, 15));
    assert!(t(ByteOp::Ge, 16) && t(ByteOp::Ge, 15) && !t(ByteOp::Ge, 17));
    assert!(t(ByteOp::And, 0x10) && !t(ByteOp::And, 0x0F));
    assert!(t(ByteOp::Xor, 15) && !t(ByteOp::Xor, 16));
    let neg = |op, v| {
        let mut b = byte_test(2, op, v, 0);
        b.negated = true;
        run(vec![Matcher::ByteTest(b)], &data)
    };
    assert!(neg(ByteOp::Eq, 15) && !neg(ByteOp::Eq, 16));
}

#[test]
fn byte_test_endianness_string_bitmask_and_bounds() {
    let mut b = byte_test(2, ByteOp::Eq, 0x1000, 0);
    b.endian = Endian::Little;
    assert!(run(vec![Matcher::ByteTest(b.clone())], &[0x00, 0x10]));
    b.endian = Endian::Dce;
    let compiled = list(vec![Matcher::ByteTest(b)]);
    let mut ctx = MatchContext::new();
    assert!(compiled.matches(&[0x00, 0x10], &mut ctx));
    ctx.set_dce_little_endian(false);
    assert!(!compiled.matches(&[0x00, 0x10], &mut ctx));

    let mut s = byte_test(3, ByteOp::Eq, 123, 1);
    s.string = Some(NumBase::Dec);
    assert!(run(vec![Matcher::ByteTest(s.clone())], b"x123"));
    assert!(!run(vec![Matcher::ByteTest(s.clone())], b"xabc"));
    s.string = Some(NumBase::Hex);
    s.value = Value::Lit(0x123);
    assert!(run(vec![Matcher::ByteTest(s)], b"x123"));

    let mut m = byte_test(2, ByteOp::Eq, 0xBC, 0);
    m.bitmask = Some(0x0FF0);
    assert!(run(vec![Matcher::ByteTest(m)], &[0xAB, 0xCD]));

    // Out of bounds: the last byte is readable, one past is not.
    assert!(run(
        vec![Matcher::ByteTest(byte_test(1, ByteOp::Eq, 7, 2))],
        &[0, 0, 7]
    ));
    assert!(!run(
        vec![Matcher::ByteTest(byte_test(2, ByteOp::Eq, 7, 2))],
        &[0, 0, 7]
    ));
}

#[test]
fn byte_test_relative_and_negative_offset() {
    // "xy" ends at 3: -3 reads the `A` at 0.
    let mut b = byte_test(1, ByteOp::Eq, 0x41, -3);
    b.relative = true;
    assert!(run(vec![c(b"xy"), Matcher::ByteTest(b.clone())], b"Axy"));
    assert!(!run(vec![c(b"xy"), Matcher::ByteTest(b.clone())], b"Bxy"));
    // Before the buffer start.
    b.offset = Value::Lit(-4);
    assert!(!run(vec![c(b"xy"), Matcher::ByteTest(b)], b"Axy"));
}

// ---------------------------------------------------------------------------------------
// byte_jump

fn jump_then(j: ByteJump, next: &[u8], data: &[u8]) -> bool {
    run(
        vec![
            Matcher::ByteJump(j),
            cm(next, |x| {
                x.distance = lit(0);
                x.within = lit(next.len() as i64);
            }),
        ],
        data,
    )
}

#[test]
fn byte_jump_moves_the_cursor() {
    // Read 1 byte (2) at 0, jump 2 from the end of the read byte: lands on 3.
    assert!(jump_then(byte_jump(1, 0), b"Z", b"\x02..Z"));
    assert!(!jump_then(byte_jump(1, 0), b"Z", b"\x02.Z."));
    let mut m = byte_jump(1, 0);
    m.multiplier = 2;
    assert!(jump_then(m, b"Z", b"\x02....Z"));
}

#[test]
fn byte_jump_align_from_beginning_from_end_post_offset() {
    let mut a = byte_jump(1, 0);
    a.align = true;
    // 1 + 1 rounded up to 4 → cursor 5.
    assert!(jump_then(a.clone(), b"Z", b"\x01....Z"));
    // 4 stays 4 → cursor 5.
    assert!(jump_then(a, b"Z", b"\x04....Z"));

    let mut fb = byte_jump(1, 1);
    fb.from_beginning = true;
    assert!(jump_then(fb, b"Z", b".\x03.Z"));

    let mut fe = byte_jump(0, 0);
    fe.from_end = true;
    fe.post_offset = -2;
    assert!(jump_then(fe, b"YZ", b"....YZ"));

    let mut po = byte_jump(1, 0);
    po.post_offset = -1;
    assert!(jump_then(po.clone(), b"Z", b"\x02.Z"));
    // A negative post_offset going before the start lands on the start.
    po.post_offset = -100;
    assert!(jump_then(po, b"\x02", b"\x02xx"));
}

#[test]
fn byte_jump_bounds() {
    // Jumping exactly to the end is allowed; one past is not.
    let to_end = |v: u8| {
        run(
            vec![
                Matcher::ByteJump(byte_jump(1, 0)),
                Matcher::IsDataAt(IsDataAt {
                    pos: Value::Lit(1),
                    relative: true,
                    negated: true,
                }),
            ],
            &[v, b'a', b'b'],
        )
    };
    assert!(to_end(2));
    assert!(!to_end(3));
    assert!(!to_end(1), "data left after the cursor");
    assert!(!run(vec![Matcher::ByteJump(byte_jump(2, 0))], &[0]));
}

// ---------------------------------------------------------------------------------------
// byte_extract

#[test]
fn byte_extract_sets_variables_and_cursor() {
    // Length-prefixed field: the value 3 bounds the next content's window.
    let m = |data: &[u8]| {
        let mut e = byte_extract(1, 0, 0);
        e.relative = true;
        run(
            vec![
                c(b"L"),
                Matcher::ByteExtract(e),
                cm(b"end", |x| {
                    x.distance = lit(0);
                    x.within = Some(Value::Var(0));
                }),
            ],
            data,
        )
    };
    assert!(m(b"L\x03end"));
    assert!(!m(b"L\x02end"));
    // A variable as byte_test operand and in another buffer of the same rule.
    let first = list(vec![Matcher::ByteExtract(byte_extract(1, 0, 1))]);
    let mut t = byte_test(1, ByteOp::Eq, 0, 0);
    t.value = Value::Var(1);
    let second = list(vec![Matcher::ByteTest(t)]);
    let mut ctx = MatchContext::new();
    assert!(first.matches(&[9], &mut ctx));
    assert_eq!(ctx.var(1), Some(9));
    assert!(second.matches(&[9], &mut ctx));
    assert!(!second.matches(&[8], &mut ctx));
    ctx.reset();
    assert_eq!(ctx.var(1), None);
    assert!(
        !second.matches(&[9], &mut ctx),
        "an unset variable never matches"
    );
}

#[test]
fn byte_extract_multiplier_align_string() {
    let mut e = byte_extract(2, 0, 0);
    e.string = Some(NumBase::Dec);
    e.multiplier = 3;
    e.align = Some(4);
    let compiled = list(vec![Matcher::ByteExtract(e)]);
    let mut ctx = MatchContext::new();
    assert!(compiled.matches(b"05", &mut ctx));
    assert_eq!(ctx.var(0), Some(16), "5 * 3 = 15, aligned up to 16");
    assert!(!compiled.matches(b"5", &mut ctx), "out of bounds");
}

// ---------------------------------------------------------------------------------------
// isdataat, bsize, base64_decode

#[test]
fn isdataat_absolute_relative_negated() {
    let at = |pos, relative, negated| {
        Matcher::IsDataAt(IsDataAt {
            pos: Value::Lit(pos),
            relative,
            negated,
        })
    };
    assert!(run(vec![at(2, false, false)], b"abc"));
    assert!(!run(vec![at(3, false, false)], b"abc"));
    assert!(run(vec![at(3, false, true)], b"abc"));
    // Relative: N more bytes after the cursor.
    assert!(run(vec![c(b"a"), at(2, true, false)], b"abc"));
    assert!(!run(vec![c(b"a"), at(3, true, false)], b"abc"));
    assert!(run(vec![c(b"a"), at(3, true, true)], b"abc"));
}

#[test]
fn bsize_on_the_buffer_length() {
    assert!(run(vec![Matcher::Bsize(NumCmp::Eq(3))], b"abc"));
    assert!(!run(vec![Matcher::Bsize(NumCmp::Eq(3))], b"abcd"));
    assert!(run(vec![Matcher::Bsize(NumCmp::Between(2, 4))], b"abc"));
    assert!(!run(vec![Matcher::Bsize(NumCmp::Between(3, 4))], b"abc"));
    // On the transformed buffer.
    let t = list_with(
        vec![Matcher::Bsize(NumCmp::Eq(4))],
        vec![Transform::DotPrefix],
    );
    let mut scratch = Vec::new();
    let data = t.transform(b"abc", &mut scratch);
    assert!(t.matches(data, &mut MatchContext::new()));
}

#[test]
fn base64_decode_feeds_base64_data() {
    let d = |relative, offset, bytes| {
        Matcher::Base64Decode(Base64Decode {
            bytes,
            offset,
            relative,
        })
    };
    let mut ctx = MatchContext::new();
    assert!(list(vec![c(b"x="), d(true, 0, None)]).matches(b"x=dGVzdA==", &mut ctx));
    assert_eq!(ctx.base64_data(), Some(&b"test"[..]));
    ctx.reset();
    assert_eq!(ctx.base64_data(), None);
    assert!(list(vec![d(false, 2, Some(4))]).matches(b"x=dGVzdA==", &mut ctx));
    assert_eq!(ctx.base64_data(), Some(&b"tes"[..]));
    assert!(!list(vec![d(false, 0, None)]).matches(b"!!!", &mut ctx));
}

// ---------------------------------------------------------------------------------------
// transforms through CompiledBuffer

#[test]
fn transforms_chain_in_order() {
    let t = list_with(
        vec![cm(b".evil.com", |x| x.endswith = true)],
        vec![Transform::ToLowercase, Transform::DotPrefix],
    );
    let mut scratch = Vec::new();
    let out = t.transform(b"EVIL.com", &mut scratch).to_vec();
    assert_eq!(out, b".evil.com");
    assert!(t.matches(&out, &mut MatchContext::new()));
    let none = list(vec![c(b"a")]);
    let mut scratch = Vec::new();
    assert_eq!(none.transform(b"raw", &mut scratch), b"raw");
    assert!(scratch.is_empty());
}

// ---------------------------------------------------------------------------------------
// packet conditions

#[test]
fn packet_conditions() {
    let tcp = PacketFacts {
        ttl: 64,
        tos: 0x10,
        ip_id: Some(7),
        ip_proto: 6,
        frag_bits: 0x02,
        frag_offset: 0,
        tcp: Some(TcpFacts {
            flags: 0x12,
            seq: 1,
            ack: 2,
            window: 1024,
            mss: Some(1460),
        }),
        icmp: None,
        dsize: 10,
        same_ip: false,
        stream_bytes: Some((100, 5000)),
    };
    let ok = |c: PacketCondition| packet_matches(&[c], &tcp);
    let flags = |bits, mode, ignore| PacketCondition::TcpFlags { bits, mode, ignore };
    assert!(ok(flags(0x12, FlagMode::Exact, 0)));
    assert!(!ok(flags(0x02, FlagMode::Exact, 0)));
    assert!(ok(flags(0x02, FlagMode::Exact, 0x10)), "ignore mask");
    assert!(ok(flags(0x02, FlagMode::All, 0)));
    assert!(!ok(flags(0x03, FlagMode::All, 0)));
    assert!(ok(flags(0x03, FlagMode::Any, 0)));
    assert!(!ok(flags(0x05, FlagMode::Any, 0)));
    assert!(ok(flags(0x01, FlagMode::Not, 0)));
    assert!(!ok(flags(0x02, FlagMode::Not, 0)));
    assert!(ok(PacketCondition::FragBits {
        bits: 0x02,
        mode: FlagMode::Exact
    }));
    assert!(!ok(PacketCondition::FragBits {
        bits: 0x01,
        mode: FlagMode::All
    }));
    assert!(ok(PacketCondition::Dsize(NumCmp::Eq(10))));
    assert!(!ok(PacketCondition::Dsize(NumCmp::Gt(10))));
    assert!(ok(PacketCondition::Dsize(NumCmp::Ne(9))));
    // `dsize:!N` needs a payload; `dsize:<N` holds for an empty packet.
    let empty = PacketFacts { dsize: 0, ..tcp };
    assert!(!packet_matches(
        &[PacketCondition::Dsize(NumCmp::Ne(9))],
        &empty
    ));
    assert!(packet_matches(
        &[PacketCondition::Dsize(NumCmp::Lt(9))],
        &empty
    ));
    assert!(packet_matches(
        &[PacketCondition::Dsize(NumCmp::Eq(0))],
        &empty
    ));
    assert!(ok(PacketCondition::Ttl(NumCmp::Le(64))));
    assert!(ok(PacketCondition::Tos {
        value: 0x10,
        negated: false
    }));
    assert!(!ok(PacketCondition::Tos {
        value: 0x10,
        negated: true
    }));
    assert!(ok(PacketCondition::IpId(7)) && !ok(PacketCondition::IpId(8)));
    assert!(ok(PacketCondition::IpProto(NumCmp::Eq(6))));
    assert!(ok(PacketCondition::FragOffset(NumCmp::Eq(0))));
    assert!(ok(PacketCondition::TcpSeq(1)) && !ok(PacketCondition::TcpSeq(2)));
    assert!(ok(PacketCondition::TcpAck(2)));
    assert!(ok(PacketCondition::TcpWindow {
        value: 1024,
        negated: false
    }));
    assert!(ok(PacketCondition::TcpWindow {
        value: 1,
        negated: true
    }));
    assert!(ok(PacketCondition::TcpMss(NumCmp::Ge(1460))));
    assert!(
        !ok(PacketCondition::IcmpType(NumCmp::Eq(8))),
        "no ICMP header"
    );
    assert!(!ok(PacketCondition::SameIp));
    let ss = |side, cmp| PacketCondition::StreamSize { side, cmp };
    assert!(ok(ss(StreamSide::Client, NumCmp::Eq(100))));
    assert!(ok(ss(StreamSide::Server, NumCmp::Gt(4999))));
    assert!(!ok(ss(StreamSide::Both, NumCmp::Gt(100))));
    assert!(ok(ss(StreamSide::Either, NumCmp::Gt(100))));
    assert!(packet_matches(&[], &tcp));

    let icmp = PacketFacts {
        icmp: Some(IcmpFacts {
            icmp_type: 8,
            code: 0,
            id: Some(3),
            seq: Some(4),
        }),
        ..PacketFacts::default()
    };
    assert!(packet_matches(
        &[
            PacketCondition::IcmpType(NumCmp::Eq(8)),
            PacketCondition::IcmpCode(NumCmp::Eq(0)),
            PacketCondition::IcmpId(3),
            PacketCondition::IcmpSeq(4),
        ],
        &icmp
    ));
    assert!(
        !packet_matches(&[PacketCondition::TcpSeq(0)], &icmp),
        "no TCP header"
    );
    assert!(!packet_matches(
        &[PacketCondition::StreamSize {
            side: StreamSide::Client,
            cmp: NumCmp::Ge(0)
        }],
        &icmp
    ));
}

// ---------------------------------------------------------------------------------------
// Reference matcher for content-only lists: every combination of positions, no cleverness.

fn resolve(v: Option<Value>) -> Option<i64> {
    v.map(|v| match v {
        Value::Lit(n) => n,
        Value::Var(_) => unreachable!("no variables in generated lists"),
    })
}

/// Whether `c` can match at `pos` given the cursor, by its documented definition.
fn reference_fits(c: &Content, data: &[u8], cursor: i64, pos: i64) -> bool {
    let plen = c.pattern.len() as i64;
    let len = data.len() as i64;
    if pos < 0 || pos + plen > len {
        return false;
    }
    let window = &data[pos as usize..(pos + plen) as usize];
    let equal = if c.nocase {
        window.eq_ignore_ascii_case(&c.pattern)
    } else {
        window == c.pattern.as_slice()
    };
    if !equal {
        return false;
    }
    let offset = resolve(c.offset).unwrap_or(0);
    if pos < offset {
        return false;
    }
    if let Some(d) = resolve(c.depth) {
        if pos + plen > offset + d {
            return false;
        }
    }
    if c.is_relative() {
        let distance = resolve(c.distance).unwrap_or(0);
        if pos < cursor + distance {
            return false;
        }
        if let Some(w) = resolve(c.within) {
            if pos + plen > cursor + distance + w {
                return false;
            }
        }
    }
    if c.startswith && pos != 0 {
        return false;
    }
    if c.endswith && pos + plen != len {
        return false;
    }
    true
}

fn reference(list: &[Content], data: &[u8], cursor: i64) -> bool {
    let Some((c, rest)) = list.split_first() else {
        return true;
    };
    let len = data.len() as i64;
    if c.negated {
        let any = (0..=len).any(|p| reference_fits(c, data, cursor, p));
        return !any && reference(rest, data, cursor);
    }
    (0..=len).any(|p| {
        reference_fits(c, data, cursor, p) && reference(rest, data, p + c.pattern.len() as i64)
    })
}

fn arb_content() -> impl Strategy<Value = Content> {
    (
        prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'A']), 1..3),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0i64..5),
        prop::option::of(0i64..6),
        prop::option::of(-4i64..4),
        prop::option::of(0i64..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(pattern, negated, nocase, offset, depth, distance, within, sw, ew)| {
                let relative = distance.is_some() || within.is_some();
                Content {
                    // Suricata refuses within shorter than the pattern and mixing absolute
                    // and relative modifiers; the rules crate rejects such rules.
                    within: within.map(|w| w.max(pattern.len() as i64)).map(Value::Lit),
                    depth: if relative {
                        None
                    } else {
                        depth.map(|d| d.max(pattern.len() as i64)).map(Value::Lit)
                    },
                    offset: if relative {
                        None
                    } else {
                        offset.map(Value::Lit)
                    },
                    distance: distance.map(Value::Lit),
                    pattern,
                    negated: negated && !sw,
                    nocase,
                    startswith: sw && !relative,
                    endswith: ew,
                    rawbytes: false,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn content_lists_agree_with_the_reference(
        contents in prop::collection::vec(arb_content(), 1..4),
        data in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'A', b'x']), 0..12),
    ) {
        let compiled = list(contents.iter().cloned().map(Matcher::Content).collect());
        let expected = reference(&contents, &data, 0);
        prop_assert_eq!(compiled.matches(&data, &mut MatchContext::new()), expected);
    }

    #[test]
    fn arbitrary_lists_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..64),
        bytes in 0u8..10,
        offset in -20i64..80,
        mult in 0u32..5,
        flags in any::<u8>(),
    ) {
        let mut j = byte_jump(bytes, offset);
        j.relative = flags & 1 != 0;
        j.multiplier = mult;
        j.align = flags & 2 != 0;
        j.from_end = flags & 4 != 0;
        j.post_offset = offset;
        let mut t = byte_test(bytes.clamp(1, 8), ByteOp::Gt, 3, offset);
        t.relative = flags & 8 != 0;
        if flags & 16 != 0 { t.string = Some(NumBase::Hex); t.bytes = bytes.max(1); }
        let mut e = byte_extract(bytes.clamp(1, 8), offset, 0);
        e.relative = flags & 32 != 0;
        let m = vec![
            c(b"a"),
            Matcher::ByteJump(j),
            Matcher::ByteTest(t),
            Matcher::ByteExtract(e),
            Matcher::IsDataAt(IsDataAt { pos: Value::Var(0), relative: true, negated: flags & 64 != 0 }),
            Matcher::Base64Decode(Base64Decode { bytes: Some(u32::from(bytes)), offset: offset.unsigned_abs() as u32, relative: true }),
            cm(b"a", |x| { x.distance = Some(Value::Var(0)); x.within = lit(offset.abs() + 1); }),
        ];
        let compiled = list(m);
        let _ = compiled.matches(&data, &mut MatchContext::new());
    }
}

#[test]
fn compiled_buffers_are_shareable_and_report_their_buffer() {
    fn shared<T: Send + Sync>() {}
    shared::<CompiledBuffer>();
    let b = CompiledBuffer::compile(&BufferMatch {
        buffer: Buffer::HttpHost,
        transforms: vec![Transform::ToLowercase],
        matchers: Vec::new(),
        absent: Some(tapwatch_rules::signature::Absent::OrElse),
    })
    .expect("compiles");
    assert_eq!(b.buffer(), Buffer::HttpHost);
    assert_eq!(b.absent(), Some(tapwatch_rules::signature::Absent::OrElse));
    assert!(b.has_transforms());
    assert!(
        b.matches(b"", &mut MatchContext::new()),
        "an empty list matches"
    );
}

// ---------------------------------------------------------------------------------------
// Cases of the suricata-verify suite (`../shared/corpus/verify-sample`), rebuilt by hand
// with the payloads of their captures: Suricata 8 alerts on each of these.

fn ex(bytes: u8, offset: i64, var: u8, relative: bool, string: bool) -> Matcher {
    let mut e = byte_extract(bytes, offset, var);
    e.relative = relative;
    e.string = string.then_some(NumBase::Dec);
    Matcher::ByteExtract(e)
}

#[test]
fn suricata_verify_byte_extract_01() {
    let payload = b"1026\x108 !34.\x11\"3DUf.21";
    let other = b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.14.0 (Ubuntu)\r\n";
    let var = |n| Some(Value::Var(n));
    let rules: Vec<Vec<Matcher>> = vec![
        // sid 1: byte_extract:2,0,two1,string,dec; content:"34"; offset:0; depth:two1;
        vec![
            ex(2, 0, 0, false, true),
            cm(b"34", |x| {
                x.offset = lit(0);
                x.depth = var(0);
            }),
        ],
        // sid 2
        vec![
            ex(1, 2, 0, false, true),
            cm(b"34", |x| {
                x.offset = lit(8);
                x.depth = var(0);
            }),
        ],
        // sid 3
        vec![
            ex(1, 2, 0, false, true),
            ex(1, 5, 1, false, true),
            cm(b"34", |x| {
                x.offset = var(1);
                x.depth = var(0);
            }),
        ],
        // sid 4
        vec![
            ex(1, 3, 0, false, true),
            c(b"10"),
            cm(b"34", |x| x.distance = var(0)),
        ],
        // sid 5
        vec![
            ex(1, 2, 0, false, true),
            ex(1, 3, 1, false, true),
            c(b"10"),
            cm(b"34", |x| {
                x.distance = var(1);
                x.within = var(0);
            }),
        ],
        // sid 6
        vec![
            c(b"10"),
            ex(1, 6, 0, true, true),
            cm(b"\x36\x10", |x| {
                x.offset = var(0);
                x.depth = lit(2);
            }),
        ],
        // sid 7
        vec![
            ex(1, 2, 0, false, true),
            cm(b"2", |x| {
                x.offset = var(0);
                x.depth = lit(1);
            }),
        ],
        // sid 8
        vec![ex(1, 2, 0, false, true), cm(b"2", |x| x.offset = var(0))],
        // sid 9
        vec![
            ex(1, 4, 0, false, false),
            ex(1, 0, 1, false, true),
            cm(b"\x66", |x| {
                x.offset = var(0);
                x.depth = var(1);
            }),
        ],
        // sid 10
        vec![
            ex(1, 4, 0, false, false),
            cm(b"1", |x| x.depth = lit(1)),
            cm(b".", |x| {
                x.distance = var(0);
                x.within = lit(1);
            }),
        ],
    ];
    for (i, rule) in rules.into_iter().enumerate() {
        let compiled = list(rule);
        let mut ctx = MatchContext::new();
        assert!(compiled.matches(payload, &mut ctx), "sid {}", i + 1);
        ctx.reset();
        assert!(
            !compiled.matches(other, &mut ctx),
            "sid {} on the response",
            i + 1
        );
    }
}

#[test]
fn suricata_verify_detect_bytejump_01() {
    let payload = b"Question?13When will the pandemic end?";
    let rule = |bytes, post_offset| {
        let mut j = byte_jump(bytes, 0);
        j.relative = true;
        j.string = Some(NumBase::Dec);
        j.from_end = true;
        j.post_offset = post_offset;
        vec![
            c(b"Question?"),
            Matcher::ByteJump(j),
            cm(b"pandemic", |x| x.distance = lit(0)),
        ]
    };
    assert!(run(rule(2, -26), payload), "sid 1");
    assert!(!run(rule(0, -3), payload), "sid 2");
}

#[test]
fn suricata_verify_bug_docs_5030_01() {
    let payload = b"xxxxxxxxxxxxxxxxxyYYYYYYYYYYYYYYYY";
    let rule = vec![cm(b"yYYYYYYYYYYYYYYYY", |x| {
        x.distance = lit(9);
        x.within = lit(29);
        x.endswith = true;
    })];
    assert!(run(rule.clone(), payload));
    let mut four = b"xxxx".to_vec();
    four.extend_from_slice(payload);
    assert!(
        run(rule.clone(), &four),
        "ends exactly at distance + within"
    );
    // The match ends at 34; five more bytes in front push it past distance + within (38).
    let mut longer = b"xxxxx".to_vec();
    longer.extend_from_slice(payload);
    assert!(!run(rule, &longer));
}

#[test]
fn suricata_verify_base64() {
    let uri = b"/?arg=dGhpc2lzYXRlc3QK";
    let rule = |bytes| {
        list(vec![
            c(b"arg"),
            Matcher::Base64Decode(Base64Decode {
                bytes: Some(bytes),
                offset: 1,
                relative: true,
            }),
        ])
    };
    let data = list(vec![c(b"thisisatest")]);
    let test = list(vec![c(b"test")]);
    let mut ctx = MatchContext::new();
    let mut scratch = Vec::new();
    assert!(
        !data.matches_base64_data(&mut ctx, &mut scratch),
        "nothing decoded yet"
    );
    assert!(rule(17).matches(uri, &mut ctx));
    assert!(data.matches_base64_data(&mut ctx, &mut scratch));
    assert_eq!(
        ctx.base64_data(),
        Some(&b"thisisatest\n"[..]),
        "kept for later lists"
    );
    ctx.reset();
    assert!(rule(10).matches(uri, &mut ctx));
    assert!(!test.matches_base64_data(&mut ctx, &mut scratch), "sid 3");
}

#[test]
fn suricata_verify_ends_with_negated() {
    let rule = vec![cm(b".google.com", |x| {
        x.negated = true;
        x.endswith = true;
    })];
    assert!(run(rule.clone(), b"www.example.com"));
    assert!(run(rule.clone(), b"www.google.com.evil"));
    assert!(!run(rule, b"www.google.com"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// A literal relative pcre behaves as a `distance:0` content, backtracking included.
    #[test]
    fn literal_pcre_agrees_with_content(
        first in prop::collection::vec(prop::sample::select(vec![b'a', b'b']), 1..3),
        middle in prop::collection::vec(prop::sample::select(vec![b'a', b'b']), 1..3),
        last in prop::collection::vec(prop::sample::select(vec![b'a', b'b']), 1..3),
        within in 2i64..5,
        data in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'x']), 0..14),
    ) {
        let tail = |l: &[u8]| cm(l, |x| { x.distance = lit(0); x.within = lit(within.max(l.len() as i64)); });
        let text: String = middle.iter().map(|&b| char::from(b)).collect();
        let with_pcre = list(vec![c(&first), pm(&text, |p| p.relative = true), tail(&last)]);
        let with_content = list(vec![c(&first), cm(&middle, |x| x.distance = lit(0)), tail(&last)]);
        prop_assert_eq!(
            with_pcre.matches(&data, &mut MatchContext::new()),
            with_content.matches(&data, &mut MatchContext::new())
        );
    }
}
