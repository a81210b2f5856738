//! Byte-built SMB1 and SMB2 conversations through the whole parser.

use tapwatch_common::Direction;

use crate::{FileChunk, SmbEventKind, SmbOutput, SmbParser, FILE_DATA_LIMIT, MAX_MESSAGE_BUFFER};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// A NetBIOS session message around `smb`.
fn nbss(smb: &[u8]) -> Vec<u8> {
    let len = smb.len() as u32;
    let mut m = vec![0, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    m.extend(smb);
    m
}

/// An SMB1 header: command, reply flag, unicode flag, TID, MID.
fn smb1_header(cmd: u8, reply: bool, unicode: bool, tid: u16, mid: u16) -> Vec<u8> {
    let mut h = b"\xffSMB".to_vec();
    h.push(cmd);
    h.extend([0; 4]); // status
    h.push(if reply { 0x98 } else { 0x18 });
    let flags2: u16 = if unicode { 0xC807 } else { 0x4807 };
    h.extend(flags2.to_le_bytes());
    h.extend([0; 12]); // pid high, signature, reserved
    h.extend(tid.to_le_bytes());
    h.extend(0x1234u16.to_le_bytes()); // pid
    h.extend(0x0800u16.to_le_bytes()); // uid
    h.extend(mid.to_le_bytes());
    assert_eq!(h.len(), 32);
    h
}

/// Appends a command block: word count, words, byte count, bytes.
fn block(m: &mut Vec<u8>, words: &[u8], bytes: &[u8]) {
    m.push((words.len() / 2) as u8);
    m.extend(words);
    m.extend((bytes.len() as u16).to_le_bytes());
    m.extend(bytes);
}

fn run(p: &mut SmbParser, msgs: &[(Direction, Vec<u8>)]) -> Vec<SmbOutput> {
    let mut out = Vec::new();
    for (dir, m) in msgs {
        p.on_data(*dir, m, &mut out);
    }
    out
}

/// An event's kind, named pipe, share and file name.
type EventParts = (
    SmbEventKind,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

fn events(out: &[SmbOutput]) -> Vec<EventParts> {
    out.iter()
        .filter_map(|o| match o {
            SmbOutput::Event(e) => Some((
                e.kind,
                e.named_pipe.clone(),
                e.share.clone(),
                e.file_name.clone(),
            )),
            SmbOutput::FileData(_) => None,
        })
        .collect()
}

fn chunks(out: &[SmbOutput]) -> Vec<FileChunk> {
    out.iter()
        .filter_map(|o| match o {
            SmbOutput::FileData(c) => Some(c.clone()),
            SmbOutput::Event(_) => None,
        })
        .collect()
}

/// An SMB1 tree connect request and response; the path in ASCII or UTF-16.
fn smb1_tree(path: &str, unicode: bool, service: &[u8]) -> [(Direction, Vec<u8>); 2] {
    let mut req = smb1_header(0x75, false, unicode, 0, 7);
    let mut bytes = vec![0u8]; // password, one byte
    if unicode {
        // The byte section starts at offset 32 + 1 + 8 + 2 = 43: after the one-byte
        // password the path starts even, with no pad.
        for u in path.encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        bytes.extend([0, 0]);
    } else {
        bytes.extend(path.as_bytes());
        bytes.push(0);
    }
    bytes.extend(b"?????\0");
    block(&mut req, &[0xff, 0, 0, 0, 0x08, 0, 1, 0], &bytes);
    let mut resp = smb1_header(0x75, true, unicode, 0x0801, 7);
    let mut svc = service.to_vec();
    svc.push(0);
    block(&mut resp, &[0xff, 0, 0, 0, 1, 0], &svc);
    [(C, nbss(&req)), (S, nbss(&resp))]
}

#[test]
fn smb1_named_pipe_ascii_and_share_unicode() {
    let mut p = SmbParser::new();
    let out = run(&mut p, &smb1_tree(r"\\127.0.0.1\IPC$", false, b"IPC"));
    assert_eq!(
        events(&out),
        [(
            SmbEventKind::TreeConnect,
            Some(br"\\127.0.0.1\IPC$".to_vec()),
            None,
            None
        )]
    );
    let out = run(&mut p, &smb1_tree(r"\\SRV\Catena", true, b"A:"));
    assert_eq!(
        events(&out),
        [(
            SmbEventKind::TreeConnect,
            None,
            Some(br"\\SRV\Catena".to_vec()),
            None
        )]
    );
}

/// LOCKING_ANDX chained to WRITE_ANDX chained to CLOSE, as in the EICAR AndX evasion.
fn smb1_locking_write_close(tid: u16, fid: u16, data: &[u8]) -> Vec<u8> {
    let mut m = smb1_header(0x24, false, false, tid, 9);
    // LOCKING_ANDX: 8 words, no bytes; AndX -> WRITE_ANDX at the offset filled in below.
    let locking_at = m.len();
    let mut words = vec![0x2f, 0, 0, 0];
    words.extend(fid.to_le_bytes());
    words.extend([0; 10]);
    block(&mut m, &words, &[]);
    let write_at = m.len();
    m[locking_at + 3..locking_at + 5].copy_from_slice(&(write_at as u16).to_le_bytes());
    // WRITE_ANDX, 14 words; data right after the byte count and one pad byte.
    let data_at = write_at + 1 + 28 + 2 + 1;
    let close_at = data_at + data.len();
    let mut w = vec![0x04, 0];
    w.extend((close_at as u16).to_le_bytes());
    w.extend(fid.to_le_bytes());
    w.extend(0u32.to_le_bytes()); // offset
    w.extend([0xff; 4]); // timeout
    w.extend([0; 4]); // write mode, remaining
    w.extend(0u16.to_le_bytes()); // data length high
    w.extend((data.len() as u16).to_le_bytes());
    w.extend((data_at as u16).to_le_bytes());
    w.extend(0u32.to_le_bytes()); // offset high
    let mut bytes = vec![0xEE];
    bytes.extend(data);
    block(&mut m, &w, &bytes);
    // CLOSE: 3 words.
    let mut w = fid.to_le_bytes().to_vec();
    w.extend([0xff; 4]);
    block(&mut m, &w, &[]);
    nbss(&m)
}

#[test]
fn smb1_andx_chain_carries_file_data() {
    let eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    let mut p = SmbParser::new();
    let msg = smb1_locking_write_close(0x0801, 0x4002, eicar);
    // Delivered in two pieces split inside the data.
    let mut out = Vec::new();
    p.on_data(C, &msg[..100], &mut out);
    assert!(out.is_empty());
    p.on_data(C, &msg[100..], &mut out);
    let got = chunks(&out);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].data, eicar);
    assert_eq!(got[0].offset, 0);
    assert!(!got[0].complete);
    assert!(got[1].complete && got[1].file_id == got[0].file_id);
}

#[test]
fn smb1_create_and_read() {
    let mut p = SmbParser::new();
    // NT_CREATE_ANDX request, unicode name.
    let mut req = smb1_header(0xA2, false, true, 0x0801, 3);
    let mut bytes = vec![0u8]; // pad: bytes start at 32 + 1 + 48 + 2 = 83 (odd)
    for u in r"\test.txt".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    bytes.extend([0, 0]);
    let mut words = vec![0xff, 0, 0, 0];
    words.resize(48, 0);
    block(&mut req, &words, &bytes);
    let mut resp = smb1_header(0xA2, true, true, 0x0801, 3);
    let mut w = vec![0xff, 0, 0, 0, 0, 0x02, 0x40];
    w.resize(68, 0);
    block(&mut resp, &w, &[]);
    // READ_ANDX request at offset 10, then its response with 5 bytes.
    let mut read = smb1_header(0x2E, false, true, 0x0801, 4);
    let mut w = vec![0xff, 0, 0, 0, 0x02, 0x40];
    w.extend(10u32.to_le_bytes());
    w.resize(24, 0);
    block(&mut read, &w, &[]);
    let mut rr = smb1_header(0x2E, true, true, 0x0801, 4);
    let data_at = 32 + 1 + 24 + 2;
    let mut w = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    w.extend(5u16.to_le_bytes());
    w.extend((data_at as u16).to_le_bytes());
    w.resize(24, 0);
    block(&mut rr, &w, b"hello");
    let out = run(
        &mut p,
        &[
            (C, nbss(&req)),
            (S, nbss(&resp)),
            (C, nbss(&read)),
            (S, nbss(&rr)),
        ],
    );
    assert_eq!(
        events(&out),
        [(
            SmbEventKind::Create,
            None,
            None,
            Some(br"\test.txt".to_vec())
        )]
    );
    let got = chunks(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].dir, got[0].offset, &got[0].data[..]),
        (S, 10, &b"hello"[..])
    );
}

/// An SMB2 header.
fn smb2_header(cmd: u16, response: bool, message_id: u64, tree_id: u32) -> Vec<u8> {
    let mut h = b"\xfeSMB".to_vec();
    h.extend(64u16.to_le_bytes());
    h.extend([0; 2]); // credit charge
    h.extend([0; 4]); // status
    h.extend(cmd.to_le_bytes());
    h.extend(1u16.to_le_bytes()); // credits
    h.extend(u32::from(response).to_le_bytes());
    h.extend(0u32.to_le_bytes()); // next command
    h.extend(message_id.to_le_bytes());
    h.extend(0u32.to_le_bytes()); // process id
    h.extend(tree_id.to_le_bytes());
    h.extend(0x55u64.to_le_bytes()); // session
    h.extend([0; 16]);
    assert_eq!(h.len(), 64);
    h
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

const FID: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];

fn smb2_write(message_id: u64, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut m = smb2_header(0x09, false, message_id, 5);
    m.extend(49u16.to_le_bytes());
    m.extend(112u16.to_le_bytes()); // data offset
    m.extend((data.len() as u32).to_le_bytes());
    m.extend(offset.to_le_bytes());
    m.extend(FID);
    m.extend([0; 16]); // channel, remaining, write channel info, flags
    assert_eq!(m.len(), 112);
    m.extend(data);
    nbss(&m)
}

#[test]
fn smb2_tree_create_write_read_close() {
    let mut p = SmbParser::new();
    let path = utf16(r"\\10.0.0.1\IPC$");
    let mut tc = smb2_header(0x03, false, 2, 0);
    tc.extend([9, 0, 0, 0]);
    tc.extend(72u16.to_le_bytes());
    tc.extend((path.len() as u16).to_le_bytes());
    tc.extend(&path);
    let mut tr = smb2_header(0x03, true, 2, 5);
    tr.extend([16, 0, 0x02, 0]);
    tr.extend([0; 12]);
    let name = utf16("srvsvc");
    let mut cr = smb2_header(0x05, false, 3, 5);
    let mut body = vec![57, 0];
    body.resize(44, 0);
    body.extend(120u16.to_le_bytes());
    body.extend((name.len() as u16).to_le_bytes());
    body.resize(56, 0);
    cr.extend(body);
    cr.extend(&name);
    let mut crr = smb2_header(0x05, true, 3, 5);
    crr.extend([89, 0]);
    crr.resize(64 + 88, 0);
    let mut read = smb2_header(0x08, false, 5, 5);
    read.extend([49, 0, 0, 0]);
    read.extend(4u32.to_le_bytes());
    read.extend(100u64.to_le_bytes());
    read.extend(FID);
    read.extend([0; 17]);
    let mut rr = smb2_header(0x08, true, 5, 5);
    rr.extend([17, 0, 80, 0]);
    rr.extend(4u32.to_le_bytes());
    rr.extend([0; 8]);
    rr.extend(b"abcd");
    let mut close = smb2_header(0x06, false, 6, 5);
    close.extend([24, 0, 0, 0, 0, 0, 0, 0]);
    close.extend(FID);
    let out = run(
        &mut p,
        &[
            (C, nbss(&tc)),
            (S, nbss(&tr)),
            (C, nbss(&cr)),
            (S, nbss(&crr)),
            (C, smb2_write(4, 0, b"payload")),
            (C, nbss(&read)),
            (S, nbss(&rr)),
            (C, nbss(&close)),
        ],
    );
    assert_eq!(
        events(&out),
        [
            (
                SmbEventKind::TreeConnect,
                Some(br"\\10.0.0.1\IPC$".to_vec()),
                None,
                None
            ),
            (SmbEventKind::Create, None, None, Some(b"srvsvc".to_vec())),
        ]
    );
    let got = chunks(&out);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        (got[0].dir, got[0].offset, &got[0].data[..]),
        (C, 0, &b"payload"[..])
    );
    assert_eq!(
        (got[1].dir, got[1].offset, &got[1].data[..]),
        (S, 100, &b"abcd"[..])
    );
    assert!(got[2].complete);
    assert!(got.iter().all(|c| c.file_id == got[0].file_id));
}

#[test]
fn large_write_streams_past_the_buffer_and_is_capped() {
    let mut p = SmbParser::new();
    let data: Vec<u8> = (0..3 * MAX_MESSAGE_BUFFER)
        .map(|i| (i % 251) as u8)
        .collect();
    let msg = smb2_write(1, 0, &data);
    let mut out = Vec::new();
    for piece in msg.chunks(1460) {
        p.on_data(C, piece, &mut out);
    }
    let got = chunks(&out);
    let mut joined: Vec<u8> = Vec::new();
    for c in &got {
        assert_eq!(c.offset, joined.len() as u64);
        joined.extend(&c.data);
    }
    assert_eq!(joined, data);
    // A second, huge write of the same file is cut at the per-file limit.
    let big = vec![7u8; FILE_DATA_LIMIT as usize];
    let mut out = Vec::new();
    for piece in smb2_write(2, data.len() as u64, &big).chunks(4000) {
        p.on_data(C, piece, &mut out);
    }
    let more: usize = chunks(&out).iter().map(|c| c.data.len()).sum();
    assert_eq!(more as u64, FILE_DATA_LIMIT - data.len() as u64);
}

#[test]
fn gap_resynchronises_on_next_message() {
    let mut p = SmbParser::new();
    let mut out = Vec::new();
    p.on_data(C, &smb2_write(1, 0, b"first")[..50], &mut out);
    p.on_gap(C);
    p.on_data(C, b"rest of a lost message", &mut out);
    p.on_data(C, &smb2_write(2, 0, b"second"), &mut out);
    let got = chunks(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, b"second");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x9e37_79b9_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let templates = [
        smb1_locking_write_close(1, 2, b"data"),
        smb2_write(1, 0, b"data"),
        smb1_tree("x", true, b"IPC")[0].1.clone(),
    ];
    for i in 0..3000 {
        let mut m = templates[i % templates.len()].clone();
        for _ in 0..(next() % 8) {
            let at = next() as usize % m.len();
            m[at] = next() as u8;
        }
        let mut p = SmbParser::new();
        let mut out = Vec::new();
        p.on_data(C, &m, &mut out);
        p.on_data(S, &m, &mut out);
    }
}
