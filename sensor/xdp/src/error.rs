//! Error types: one enum per subsystem, each failing system call named with its errno.

use std::io;

/// A system call that failed, with the `errno` it returned.
#[derive(Debug, thiserror::Error)]
#[error("{call}: {source}")]
pub struct SysError {
    /// The call, e.g. `"setsockopt(XDP_UMEM_REG)"`.
    pub call: &'static str,
    /// The error the kernel returned.
    #[source]
    pub source: io::Error,
}

impl SysError {
    /// Captures `errno` for `call` (to be called right after the failing call).
    pub(crate) fn last(call: &'static str) -> Self {
        Self {
            call,
            source: io::Error::last_os_error(),
        }
    }

    /// The raw `errno`, when there is one.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// A bad [`XskConfig`](crate::xsk::XskConfig) value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A ring size that is not a power of two within the bounds.
    #[error("{field} = {value}: must be a power of two from {min} to {max}")]
    RingSize {
        /// Which ring.
        field: &'static str,
        /// The value given.
        value: u32,
        /// Smallest accepted size.
        min: u32,
        /// Largest accepted size.
        max: u32,
    },
    /// A frame size other than 2048 or 4096.
    #[error("frame_size = {0}: must be 2048 or 4096")]
    FrameSize(u32),
    /// Fewer UMEM frames than the fill and receive rings can hold at once.
    #[error("frame_count = {frame_count}: must be larger than fill_ring_size = {fill_ring_size}")]
    FrameCount {
        /// The value given.
        frame_count: u32,
        /// The fill ring's size.
        fill_ring_size: u32,
    },
    /// A UMEM larger than the crate accepts (4 GiB).
    #[error("UMEM of {0} bytes is too large")]
    UmemTooLarge(u64),
    /// A maximum packet size out of range.
    #[error("max_packet_size = {0}: must be from 64 to 65535")]
    MaxPacketSize(u32),
    /// A busy-poll setting out of range.
    #[error("busy_poll: {0}")]
    BusyPoll(&'static str),
}

/// Errors of the AF_XDP socket.
#[derive(Debug, thiserror::Error)]
pub enum XskError {
    /// The configuration was refused before any system call.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The interface does not exist (in this thread's network namespace).
    #[error("interface {name:?}: {source}")]
    Interface {
        /// The name looked up.
        name: String,
        /// The failing lookup.
        #[source]
        source: SysError,
    },
    /// Neither zero-copy nor copy mode could be bound.
    #[error(
        "binding to ifindex {ifindex} queue {queue} refused: zero-copy: {zerocopy}; copy: {copy}"
    )]
    Bind {
        /// Interface index.
        ifindex: u32,
        /// Queue id.
        queue: u32,
        /// Why zero-copy was refused.
        zerocopy: SysError,
        /// Why copy mode was refused.
        copy: SysError,
    },
    /// Any other system call failed.
    #[error(transparent)]
    Sys(#[from] SysError),
}

/// Errors of the XDP program's loader.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The interface name cannot be passed to the kernel.
    #[error("interface name {0:?} is empty, too long or contains NUL")]
    InterfaceName(String),
    /// The embedded object could not be loaded (ELF, BTF or map creation).
    #[error("loading the XDP object: {0}")]
    Load(#[source] Box<aya::EbpfError>),
    /// The object lacks a map or the program the loader expects.
    #[error("the XDP object has no {0}")]
    Missing(&'static str),
    /// A map operation failed.
    #[error("map {map}: {source}")]
    Map {
        /// The map's name in `firmware/xdp.c`.
        map: &'static str,
        /// What aya reported.
        #[source]
        source: Box<aya::maps::MapError>,
    },
    /// The verifier refused the program, or loading it failed.
    #[error("loading the program into the kernel: {0}")]
    Program(#[source] Box<aya::programs::ProgramError>),
    /// The program could not be attached to the interface in that mode.
    #[error("attaching to {iface} in {mode:?} mode: {source}")]
    Attach {
        /// The interface.
        iface: String,
        /// The mode asked for.
        mode: crate::XdpMode,
        /// What aya reported (with the errno of the netlink or bpf_link call).
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    /// A queue index beyond the socket map's size.
    #[error("queue {queue} is beyond the socket map's {max} entries")]
    QueueOutOfRange {
        /// The queue asked for.
        queue: u32,
        /// The socket map's size.
        max: u32,
    },
    /// A prefix list longer than the trie's capacity.
    #[error("{count} monitored prefixes exceed the map's {max} entries")]
    TooManyPrefixes {
        /// Prefixes given (of one address family).
        count: usize,
        /// The map's capacity.
        max: u32,
    },
    /// A system call of the loader failed (clock reading).
    #[error(transparent)]
    Sys(#[from] SysError),
}

impl XdpError {
    pub(crate) fn map(map: &'static str) -> impl FnOnce(aya::maps::MapError) -> Self {
        move |source| Self::Map {
            map,
            source: Box::new(source),
        }
    }
}
