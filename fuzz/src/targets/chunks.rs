//! Splitting an input into per-direction chunks and gaps, shared by the stream parsers'
//! targets.

use tapwatch_common::Direction;

use crate::input::Input;

/// One piece of a two-way stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Bytes travelling in a direction.
    Data(Direction, &'a [u8]),
    /// Bytes missing in a direction.
    Gap(Direction, u64),
}

/// Splits the rest of `input` into pieces: a control byte (bit 0: direction; bits 1-2 both set:
/// a gap) then a length byte, then that many bytes.
pub(crate) fn split<'a>(input: &mut Input<'a>) -> Vec<Piece<'a>> {
    let mut pieces = Vec::new();
    while !input.is_empty() {
        let ctrl = input.u8();
        let dir = if ctrl & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let len = input.u8();
        if ctrl & 6 == 6 {
            pieces.push(Piece::Gap(dir, u64::from(len) + 1));
        } else {
            pieces.push(Piece::Data(dir, input.bytes(usize::from(len))));
        }
    }
    pieces
}

/// The same stream with consecutive data pieces of one direction joined into one.
pub(crate) fn coalesce(pieces: &[Piece<'_>]) -> Vec<(Direction, Option<Vec<u8>>, u64)> {
    let mut out: Vec<(Direction, Option<Vec<u8>>, u64)> = Vec::new();
    for p in pieces {
        match *p {
            Piece::Data(dir, bytes) => {
                if bytes.is_empty() {
                    continue;
                }
                match out.last_mut() {
                    Some((d, Some(buf), _)) if *d == dir => buf.extend_from_slice(bytes),
                    _ => out.push((dir, Some(bytes.to_vec()), 0)),
                }
            }
            Piece::Gap(dir, len) => out.push((dir, None, len)),
        }
    }
    out
}
