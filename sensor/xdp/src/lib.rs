//! The capture NIC side of tapwatch: the XDP program and the AF_XDP socket.
//!
//! - [`XdpProgram`] loads `firmware/xdp.c` (compiled by `build.rs`, embedded in the crate)
//!   and attaches it to an interface in driver or generic (SKB) mode. Per frame the program
//!   parses Ethernet, up to two VLAN tags, IPv4/IPv6 and TCP/UDP/SCTP ports; applies the
//!   optional monitored-prefix filter ([`XdpProgram::set_monitored_prefixes`]); drops frames
//!   of bypassed flows in the kernel, counting them per direction
//!   ([`XdpProgram::bypass_insert`], [`XdpProgram::bypass_sweep`]); and redirects the rest to
//!   the AF_XDP socket registered for the receive queue ([`XdpProgram::register_socket`]).
//! - [`xsk::XskSocket`] is an AF_XDP socket over `libc`: UMEM, fill and rx rings, a bind
//!   ladder (zero-copy, then copy), `XDP_USE_NEED_WAKEUP`, optional busy polling, batched
//!   receive of frames lent from the UMEM, multi-buffer (`XDP_USE_SG`) packets joined, and
//!   `XDP_STATISTICS`.
//! - [`open_capture`] runs the whole ladder: driver mode with zero-copy, driver mode with
//!   copy, then generic mode, and reports what was refused and why.
//!
//! Layouts shared with the program are in [`layout`] (mirrored from
//! `firmware/tapwatch_xdp.h`; `tests/layout.rs` checks they agree).
//!
//! All `unsafe` code is in the private `sys` module, whose invariants are listed at its top.
//!
//! # Decisions (details in `firmware/xdp.c`)
//! - **Non-IP frames** are inspected when the filter is off and passed to the stack when it is
//!   on (they touch no monitored prefix, and the host may need its ARP).
//! - **Malformed frames** (IP header cut short) are always inspected, counted `parse_errors`:
//!   they cannot be filtered or bypassed, and they are what an IDS wants to see.
//! - **Canonical flow key**: the endpoint whose 16-byte (IPv4-mapped) address compares lower,
//!   then the lower port, is `lo`; both VLAN ids are part of the key; fragments have ports 0.
//! - **The bypass map is a plain hash, not an LRU**: only userspace inserts, so a full map is an
//!   error it sees (`E2BIG`), and an entry's per-direction counts (the evidence for the flow
//!   record) are never evicted behind its back; [`XdpProgram::bypass_sweep_with`] hands each
//!   removed entry's counts to the caller.
//! - **Each bind attempt uses a fresh socket and UMEM**, so a refused zero-copy bind leaves no
//!   state behind for the copy-mode attempt.
//!
//! # Licence
//! The program and this crate are under the project's licence. The BPF object declares
//! `"Dual MIT/GPL"`, the usual GPL-compatible string the kernel checks before allowing
//! GPL-only helpers; the program uses none (map lookups and updates, `bpf_redirect_map`,
//! `bpf_ktime_get_ns`, `bpf_xdp_get_buff_len` are all available to any licence).
//!
//! # Privileges and namespaces
//! Loading needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN; the UMEM needs CAP_IPC_LOCK beyond
//! the memlock limit; the socket CAP_NET_RAW. Interfaces are looked up, and sockets and
//! attachments made, in the calling thread's network namespace.

pub mod error;
mod ladder;
pub mod layout;
mod prefix;
mod program;
mod sys;
pub mod xsk;

pub use error::{ConfigError, SysError, XdpError, XskError};
pub use ladder::{open_capture, Capture, CaptureError, LadderReport, LadderStep, Refusal};
pub use layout::{Endpoint, FlowKey, FlowValue, KeyDirection};
pub use prefix::{Prefix, PrefixError};
pub use program::{XdpCounters, XdpMode, XdpProgram};

/// Sleeps until `fd` (any pollable descriptor: the live capture's AF_PACKET socket, say) is
/// readable or `timeout` passes (rounded up to a millisecond); true when readable. The
/// workspace denies `unsafe`, so the one `poll(2)` wrapper lives here, beside the AF_XDP
/// socket's.
pub fn wait_readable(
    fd: std::os::fd::RawFd,
    timeout: std::time::Duration,
) -> Result<bool, SysError> {
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let ms = if timeout.is_zero() { 0 } else { ms.max(1) };
    sys::poll_readable(fd, ms, "poll")
}

/// The index of interface `name` in this thread's network namespace.
pub fn ifindex(name: &str) -> Result<u32, SysError> {
    sys::ifindex(name)
}
