//! Sequence-number arithmetic modulo 2^32 (RFC 793 section 3.3, RFC 1982).

/// `a < b` in sequence space.
#[inline]
pub(crate) fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
#[inline]
pub(crate) fn leq(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// `a > b` in sequence space.
#[inline]
pub(crate) fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

/// The later of `a` and `b` in sequence space.
#[inline]
pub(crate) fn max(a: u32, b: u32) -> u32 {
    if lt(a, b) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_comparisons() {
        assert!(lt(1, 2));
        assert!(lt(u32::MAX, 0));
        assert!(gt(0, u32::MAX));
        assert!(leq(5, 5));
        assert!(!lt(5, 5));
        assert!(lt(0x7fff_ffff, 0x8000_0000));
        assert_eq!(max(u32::MAX - 1, 3), 3);
        assert_eq!(max(10, 3), 10);
    }
}
