//! Every `unsafe` operation of the crate: the AF_XDP socket's system calls, its UMEM and ring
//! mappings, the clock, and the plain-data promise made to aya for the map layouts.
//!
//! This is the crate's only module that may use `unsafe`; the rest of the crate (and the
//! workspace) denies it. What it offers is safe to use in any order because of these
//! invariants:
//!
//! 1. **Plain data.** [`FlowKey`] and [`FlowValue`] are `#[repr(C)]`, made only of integers
//!    and integer arrays, with every padding byte a named field (sizes asserted at compile time
//!    in `layout.rs`, offsets checked against the C header by `tests/layout.rs`). Every bit
//!    pattern is a valid value, so aya may copy them to and from the kernel's byte buffers.
//! 2. **Owned mappings.** A [`Mapping`] owns exactly one region returned by a successful
//!    `mmap` (its pointer and length) and unmaps it exactly once, in `Drop`. Pointers derived
//!    from it are stored only beside it, in the same struct, and never outlive it.
//! 3. **Ring geometry.** A [`Ring`]'s mapping is `desc + size * desc_size` bytes long, with
//!    `desc` and the producer, consumer and flags offsets taken from the kernel's
//!    `XDP_MMAP_OFFSETS` and checked at construction to lie inside it, 4-byte aligned (8 for
//!    descriptors). `size` is the power of two this socket configured; every descriptor slot
//!    is addressed as `desc + (index & (size - 1)) * desc_size`, always in bounds.
//! 4. **Ring protocol.** Producer and consumer words are shared with the kernel and only
//!    accessed through `AtomicU32`: the other side's index is loaded with `Acquire`, ours is
//!    stored with `Release` (the kernel pairs them with `smp_load_acquire` and
//!    `smp_store_release`). Fill descriptors are written only in free slots (between our
//!    producer and the kernel's consumer plus `size`), before the `Release` that publishes
//!    them; rx descriptors are read only in filled slots (between our consumer and the
//!    kernel's producer), after the `Acquire` that made them visible and before the `Release`
//!    that hands the slots back.
//! 5. **Frame ownership.** Every UMEM chunk is owned either by the kernel (given in the fill
//!    ring and not yet returned in the rx ring) or by userspace, where exactly one token stands
//!    for it: a [`Frame`] (free) or an [`RxDesc`] (received). Tokens are made only here --
//!    every `Frame` once, when the UMEM is created; an `RxDesc` when an rx descriptor is read --
//!    and are neither `Clone` nor `Copy`; a `Frame` is consumed when it is written into the
//!    fill ring. A byte slice of the UMEM is lent only through [`Umem::bytes`], which borrows
//!    an `RxDesc` and checks the range against the mapping, so the kernel never writes memory a
//!    Rust reference points to.
//! 6. **Tokens stay home.** Each token carries the id of the UMEM that made it;
//!    [`Umem::bytes`] and [`RawXsk::fill`] refuse tokens of any other UMEM.
//! 7. **Teardown order.** A [`RawXsk`] declares its rings, then its socket, then its UMEM, so
//!    they drop in that order: the socket (and with it the kernel's registration of the UMEM)
//!    is closed before the UMEM is unmapped.
//! 8. **System call arguments.** Every pointer passed to the kernel points to a live Rust value
//!    of the exact type and length passed beside it, for the duration of the call; every file
//!    descriptor passed is owned by a live `OwnedFd` (or borrowed from one).
#![allow(
    unsafe_code,
    reason = "the crate's one module of system calls and shared memory; invariants above"
)]

use std::ffi::{c_int, c_void, CString};
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::SysError;
use crate::layout::{FlowKey, FlowValue};

// SAFETY: invariant 1: plain integers, no implicit padding, every bit pattern valid.
unsafe impl aya::Pod for FlowKey {}
// SAFETY: invariant 1.
unsafe impl aya::Pod for FlowValue {}

// Socket options missing from the libc crate for this target (asm-generic/socket.h).
const SO_BUSY_POLL: c_int = 46;
const SO_PREFER_BUSY_POLL: c_int = 69;
const SO_BUSY_POLL_BUDGET: c_int = 70;

/// `CLOCK_MONOTONIC` in nanoseconds: the clock of `bpf_ktime_get_ns`.
pub(crate) fn monotonic_ns() -> Result<u64, SysError> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: invariant 8: `ts` is a live timespec for the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return Err(SysError::last("clock_gettime(CLOCK_MONOTONIC)"));
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    Ok(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// The index of interface `name` in this thread's network namespace.
pub(crate) fn ifindex(name: &str) -> Result<u32, SysError> {
    let c = CString::new(name).map_err(|_| SysError {
        call: "if_nametoindex",
        source: std::io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    // SAFETY: invariant 8: `c` is a NUL-terminated string alive for the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(SysError::last("if_nametoindex"));
    }
    Ok(index)
}

/// One `mmap`ed region, unmapped on drop (invariant 2).
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: invariant 2: the mapping is plain memory owned by this value; nothing ties it to the
// thread that made it. Shared access goes through `&self` methods that only read through
// atomics or lend slices of user-owned frames (invariants 4 and 5).
unsafe impl Send for Mapping {}

impl Mapping {
    fn new(
        len: usize,
        flags: c_int,
        fd: Option<BorrowedFd<'_>>,
        offset: u64,
        call: &'static str,
    ) -> Result<Self, SysError> {
        let raw_fd = fd.map_or(-1, |f| f.as_raw_fd());
        let off = libc::off_t::try_from(offset).map_err(|_| SysError {
            call,
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        })?;
        // SAFETY: invariant 8: a fresh mapping chosen by the kernel (no fixed address), with
        // a descriptor owned by the caller for the call; the result is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                raw_fd,
                off,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(SysError::last(call));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| SysError {
            call,
            source: std::io::Error::from_raw_os_error(libc::ENOMEM),
        })?;
        Ok(Self { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: invariant 2: this region came from mmap with this length and is unmapped
        // only here; no reference into it outlives `self` (invariants 2 and 5).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast::<c_void>(), self.len);
        }
    }
}

static NEXT_UMEM_ID: AtomicU32 = AtomicU32::new(1);

/// A free UMEM chunk owned by userspace (invariant 5).
#[derive(Debug)]
pub(crate) struct Frame {
    addr: u64,
    umem: u32,
}

/// A received descriptor: a UMEM range the kernel handed back (invariant 5).
#[derive(Debug)]
pub(crate) struct RxDesc {
    addr: u64,
    len: u32,
    options: u32,
    umem: u32,
}

impl RxDesc {
    /// Bytes of packet data in this descriptor.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Whether the packet continues in the next descriptor (`XDP_PKT_CONTD`).
    pub(crate) fn continues(&self) -> bool {
        self.options & libc::XDP_PKT_CONTD != 0
    }
}

/// The packet buffer area registered with the kernel.
#[derive(Debug)]
pub(crate) struct Umem {
    map: Mapping,
    frame_size: u32,
    id: u32,
}

impl Umem {
    /// Maps `frame_count` page-aligned frames of `frame_size` bytes (a power of two), and
    /// returns the one token of each (invariant 5).
    pub(crate) fn new(frame_size: u32, frame_count: u32) -> Result<(Self, Vec<Frame>), SysError> {
        let len =
            usize::try_from(u64::from(frame_size) * u64::from(frame_count)).map_err(|_| {
                SysError {
                    call: "mmap(UMEM)",
                    source: std::io::Error::from_raw_os_error(libc::ENOMEM),
                }
            })?;
        let map = Mapping::new(
            len,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
            None,
            0,
            "mmap(UMEM)",
        )?;
        let id = NEXT_UMEM_ID.fetch_add(1, Ordering::Relaxed);
        let frames = (0..u64::from(frame_count))
            .map(|i| Frame {
                addr: i * u64::from(frame_size),
                umem: id,
            })
            .collect();
        Ok((
            Self {
                map,
                frame_size,
                id,
            },
            frames,
        ))
    }

    /// The received bytes of `desc`; `None` when the range lies outside the UMEM or the token
    /// is another UMEM's (invariants 5 and 6).
    pub(crate) fn bytes<'a>(&'a self, desc: &'a RxDesc) -> Option<&'a [u8]> {
        if desc.umem != self.id {
            return None;
        }
        let start = usize::try_from(desc.addr).ok()?;
        let end = start.checked_add(usize::try_from(desc.len).ok()?)?;
        // Never across a chunk boundary: the range must stay inside the chunk the token owns.
        let chunk = start / self.frame_size as usize;
        if end > self.map.len || (end > start && (end - 1) / self.frame_size as usize != chunk) {
            return None;
        }
        // SAFETY: invariants 2 and 5: `start..end` lies inside the live mapping and inside the
        // chunk owned by `desc`, which the kernel does not write while the token exists; the
        // slice borrows `desc`, so the token cannot go back to the fill ring meanwhile.
        Some(unsafe { std::slice::from_raw_parts(self.map.ptr.as_ptr().add(start), end - start) })
    }

    /// Turns a received descriptor back into its chunk's free token.
    pub(crate) fn recycle(&self, desc: RxDesc) -> Frame {
        Frame {
            addr: desc.addr & !(u64::from(self.frame_size) - 1),
            umem: desc.umem,
        }
    }
}

/// One mmap'd ring of the socket (invariants 3 and 4).
#[derive(Debug)]
struct Ring {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    desc: NonNull<u8>,
    mask: u32,
    size: u32,
    /// Our side's index: the producer of the fill ring, the consumer of the rx ring.
    local: u32,
    _map: Mapping,
}

// SAFETY: invariants 2-4: the pointers point into the ring's own mapping, which moves with
// it; the shared words are atomics and descriptor slots are touched only through `&mut self`.
unsafe impl Send for Ring {}

impl Ring {
    fn map(
        fd: BorrowedFd<'_>,
        pgoff: u64,
        off: &libc::xdp_ring_offset,
        size: u32,
        desc_size: usize,
        call: &'static str,
    ) -> Result<Self, SysError> {
        let einval = || SysError {
            call,
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        };
        let desc_off = usize::try_from(off.desc).map_err(|_| einval())?;
        let len = desc_off
            .checked_add(size as usize * desc_size)
            .ok_or_else(einval)?;
        for (word, align) in [
            (off.producer, 4),
            (off.consumer, 4),
            (off.flags, 4),
            (off.desc, 8),
        ] {
            let w = usize::try_from(word).map_err(|_| einval())?;
            if w % align != 0 || w.checked_add(4).is_none_or(|e| e > len) {
                return Err(einval());
            }
        }
        let map = Mapping::new(
            len,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            Some(fd),
            pgoff,
            call,
        )?;
        let base = map.ptr.as_ptr();
        // SAFETY: invariant 3: every offset was checked above to lie inside the mapping, with
        // the alignment of what is stored there; `add` stays within one allocation.
        let at = |o: u64| unsafe { NonNull::new_unchecked(base.add(o as usize)) };
        Ok(Self {
            producer: at(off.producer).cast(),
            consumer: at(off.consumer).cast(),
            flags: at(off.flags).cast(),
            desc: at(off.desc),
            mask: size - 1,
            size,
            local: 0,
            _map: map,
        })
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: invariants 3 and 4: an aligned u32 inside the live mapping, only ever
        // accessed atomically (by us and by the kernel).
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.flags.as_ref() }
    }
}

/// Ring sizes of one socket (validated powers of two).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RingSizes {
    pub(crate) fill: u32,
    pub(crate) completion: u32,
    pub(crate) rx: u32,
}

/// An AF_XDP socket with its UMEM, fill ring and rx ring (no transmit side).
#[derive(Debug)]
pub(crate) struct RawXsk {
    // Field order is drop order (invariant 7).
    rx: Ring,
    fill: Ring,
    fd: OwnedFd,
    umem: Umem,
}

fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: &T,
    call: &'static str,
) -> Result<(), SysError> {
    let len = libc::socklen_t::try_from(size_of::<T>()).map_err(|_| SysError {
        call,
        source: std::io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    // SAFETY: invariant 8: `value` is a live `T` of `len` bytes for the call; the kernel
    // only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<c_void>(),
            len,
        )
    };
    if rc != 0 {
        return Err(SysError::last(call));
    }
    Ok(())
}

/// Reads a socket option of type `T`, which must be a plain C struct of integers.
fn getsockopt<T: Copy>(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    mut value: T,
    call: &'static str,
) -> Result<T, SysError> {
    let mut len = libc::socklen_t::try_from(size_of::<T>()).map_err(|_| SysError {
        call,
        source: std::io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    // SAFETY: invariant 8: `value` is a live, initialised `T` of `len` bytes; the kernel writes
    // at most `len` bytes of integers into it (every bit pattern valid for the libc structs
    // used here) and `len` back.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut T).cast::<c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(SysError::last(call));
    }
    Ok(value)
}

impl RawXsk {
    /// Creates the socket, registers `umem`, sizes and maps the rings. Not bound yet.
    pub(crate) fn open(umem: Umem, sizes: RingSizes) -> Result<Self, SysError> {
        // SAFETY: invariant 8: plain integer arguments; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(SysError::last("socket(AF_XDP)"));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let reg = libc::xdp_umem_reg {
            addr: umem.map.ptr.as_ptr() as u64,
            len: umem.map.len as u64,
            chunk_size: umem.frame_size,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        let b = fd.as_fd();
        setsockopt(
            b,
            libc::SOL_XDP,
            libc::XDP_UMEM_REG,
            &reg,
            "setsockopt(XDP_UMEM_REG)",
        )?;
        setsockopt(
            b,
            libc::SOL_XDP,
            libc::XDP_UMEM_FILL_RING,
            &sizes.fill,
            "setsockopt(XDP_UMEM_FILL_RING)",
        )?;
        setsockopt(
            b,
            libc::SOL_XDP,
            libc::XDP_UMEM_COMPLETION_RING,
            &sizes.completion,
            "setsockopt(XDP_UMEM_COMPLETION_RING)",
        )?;
        setsockopt(
            b,
            libc::SOL_XDP,
            libc::XDP_RX_RING,
            &sizes.rx,
            "setsockopt(XDP_RX_RING)",
        )?;
        let zero_ring = libc::xdp_ring_offset {
            producer: 0,
            consumer: 0,
            desc: 0,
            flags: 0,
        };
        let off = getsockopt(
            b,
            libc::SOL_XDP,
            libc::XDP_MMAP_OFFSETS,
            libc::xdp_mmap_offsets {
                rx: zero_ring,
                tx: zero_ring,
                fr: zero_ring,
                cr: zero_ring,
            },
            "getsockopt(XDP_MMAP_OFFSETS)",
        )?;
        let fill = Ring::map(
            b,
            libc::XDP_UMEM_PGOFF_FILL_RING,
            &off.fr,
            sizes.fill,
            size_of::<u64>(),
            "mmap(fill ring)",
        )?;
        let rx = Ring::map(
            b,
            libc::XDP_PGOFF_RX_RING as u64,
            &off.rx,
            sizes.rx,
            size_of::<libc::xdp_desc>(),
            "mmap(rx ring)",
        )?;
        Ok(Self { rx, fill, fd, umem })
    }

    /// Binds to `(ifindex, queue)` with `XDP_*` bind flags.
    pub(crate) fn bind(&self, ifindex: u32, queue: u32, flags: u16) -> Result<(), SysError> {
        let addr = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: invariant 8: `addr` is a live sockaddr_xdp of the length passed.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_xdp).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(SysError::last("bind(AF_XDP)"));
        }
        Ok(())
    }

    /// Whether the bound socket runs in zero-copy mode (`XDP_OPTIONS`).
    pub(crate) fn zerocopy(&self) -> Result<bool, SysError> {
        let o = getsockopt(
            self.fd.as_fd(),
            libc::SOL_XDP,
            libc::XDP_OPTIONS,
            libc::xdp_options { flags: 0 },
            "getsockopt(XDP_OPTIONS)",
        )?;
        Ok(o.flags & libc::XDP_OPTIONS_ZEROCOPY != 0)
    }

    /// The kernel's counters for this socket (`XDP_STATISTICS`).
    pub(crate) fn statistics(&self) -> Result<libc::xdp_statistics, SysError> {
        getsockopt(
            self.fd.as_fd(),
            libc::SOL_XDP,
            libc::XDP_STATISTICS,
            libc::xdp_statistics {
                rx_dropped: 0,
                rx_invalid_descs: 0,
                tx_invalid_descs: 0,
                rx_ring_full: 0,
                rx_fill_ring_empty_descs: 0,
                tx_ring_empty_descs: 0,
            },
            "getsockopt(XDP_STATISTICS)",
        )
    }

    /// Turns on busy polling: `SO_PREFER_BUSY_POLL`, `SO_BUSY_POLL` (µs), `SO_BUSY_POLL_BUDGET`.
    pub(crate) fn set_busy_poll(&self, usecs: u32, budget: u16) -> Result<(), SysError> {
        let b = self.fd.as_fd();
        let usecs = c_int::try_from(usecs).unwrap_or(c_int::MAX);
        setsockopt(
            b,
            libc::SOL_SOCKET,
            SO_PREFER_BUSY_POLL,
            &1 as &c_int,
            "setsockopt(SO_PREFER_BUSY_POLL)",
        )?;
        setsockopt(
            b,
            libc::SOL_SOCKET,
            SO_BUSY_POLL,
            &usecs,
            "setsockopt(SO_BUSY_POLL)",
        )?;
        setsockopt(
            b,
            libc::SOL_SOCKET,
            SO_BUSY_POLL_BUDGET,
            &c_int::from(budget),
            "setsockopt(SO_BUSY_POLL_BUDGET)",
        )
    }

    /// The UMEM.
    pub(crate) fn umem(&self) -> &Umem {
        &self.umem
    }

    /// Moves as many free frames as fit into the fill ring; returns how many.
    pub(crate) fn fill(&mut self, free: &mut Vec<Frame>) -> usize {
        let ring = &mut self.fill;
        let cons = ring.consumer().load(Ordering::Acquire);
        let in_flight = ring.local.wrapping_sub(cons);
        let room = ring.size.saturating_sub(in_flight) as usize;
        let mut n: u32 = 0;
        while (n as usize) < room {
            let Some(frame) = free.pop() else { break };
            if frame.umem != self.umem.id {
                continue; // invariant 6: never hand the kernel another UMEM's chunk
            }
            let slot = (ring.local.wrapping_add(n) & ring.mask) as usize;
            // SAFETY: invariants 3 and 4: slot < size, inside the mapping, 8-byte aligned; it is
            // free (fewer than `room` slots written past our producer), so the kernel is not
            // reading it; the write happens before the Release below. Invariant 5: the token
            // is consumed here, its chunk now belongs to the kernel.
            unsafe {
                ring.desc.as_ptr().cast::<u64>().add(slot).write(frame.addr);
            }
            n += 1;
        }
        ring.local = ring.local.wrapping_add(n);
        ring.producer().store(ring.local, Ordering::Release);
        n as usize
    }

    /// Whether the kernel asks for a wakeup before it takes more fill-ring entries.
    pub(crate) fn fill_needs_wakeup(&self) -> bool {
        self.fill.flags().load(Ordering::Acquire) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    /// Moves up to `max` received descriptors out of the rx ring into `out`; returns how many.
    pub(crate) fn rx_read(&mut self, max: usize, out: &mut Vec<RxDesc>) -> usize {
        let ring = &mut self.rx;
        let prod = ring.producer().load(Ordering::Acquire);
        let ready = prod.wrapping_sub(ring.local).min(ring.size) as usize;
        let n = ready.min(max);
        for i in 0..n {
            let slot = (ring.local.wrapping_add(i as u32) & ring.mask) as usize;
            // SAFETY: invariants 3 and 4: slot < size, inside the mapping, aligned for
            // xdp_desc; it is filled (fewer than `ready` past our consumer) and was published
            // by the Acquire above; the kernel does not touch it until our Release below.
            let d = unsafe { ring.desc.as_ptr().cast::<libc::xdp_desc>().add(slot).read() };
            out.push(RxDesc {
                addr: d.addr,
                len: d.len,
                options: d.options,
                umem: self.umem.id,
            });
        }
        ring.local = ring.local.wrapping_add(n as u32);
        ring.consumer().store(ring.local, Ordering::Release);
        n
    }

    /// Kicks the kernel to process the fill ring (`recvfrom` with `MSG_DONTWAIT`).
    pub(crate) fn wakeup(&self) -> Result<(), SysError> {
        // SAFETY: invariant 8: a null buffer of length 0 and null address are allowed.
        let rc = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            let e = SysError::last("recvfrom(AF_XDP wakeup)");
            return match e.errno() {
                Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN | libc::EINTR) => {
                    Ok(())
                }
                _ => Err(e),
            };
        }
        Ok(())
    }

    /// Sleeps until the rx ring has descriptors or `timeout_ms` passes; true when readable.
    pub(crate) fn poll(&self, timeout_ms: c_int) -> Result<bool, SysError> {
        poll_readable(self.fd.as_raw_fd(), timeout_ms, "poll(AF_XDP)")
    }
}

/// Sleeps until `fd` is readable or `timeout_ms` passes; true when readable. An interrupted
/// wait (`EINTR`) counts as a timeout. Any descriptor number is safe to pass: `poll` only
/// reads the `pollfd` and reports `POLLNVAL` for a closed one.
pub(crate) fn poll_readable(
    fd: std::os::fd::RawFd,
    timeout_ms: c_int,
    what: &'static str,
) -> Result<bool, SysError> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: invariant 8: one live pollfd, count 1; the kernel only reads the descriptor
    // number (an invalid one yields POLLNVAL, not undefined behaviour).
    let rc = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if rc < 0 {
        let e = SysError::last(what);
        return if e.errno() == Some(libc::EINTR) {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(rc > 0 && p.revents & libc::POLLIN != 0)
}

impl AsFd for RawXsk {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
