//! Loading and attaching the XDP program, and its maps: sockets, flow bypass, monitored
//! prefixes and counters.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use aya::maps::lpm_trie::Key;
use aya::maps::{Array, HashMap, LpmTrie, MapData, MapError, PerCpuArray, XskMap};
use aya::programs::xdp::XdpLinkId;
use aya::programs::Xdp;

use crate::error::XdpError;
use crate::layout::{counter, names, FlowKey, FlowValue, CFG_FILTER_ENABLED, PREFIX_MAX_ENTRIES};
use crate::prefix::Prefix;
use crate::sys;

/// The compiled program (`firmware/xdp.c`, built by `build.rs`).
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tapwatch_xdp.o"));

/// Where the program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XdpMode {
    /// Native XDP in the driver, before any socket buffer is allocated.
    Driver,
    /// Generic XDP in the kernel's receive path (any interface; slower).
    Skb,
}

impl XdpMode {
    fn aya(self) -> aya::programs::XdpMode {
        match self {
            XdpMode::Driver => aya::programs::XdpMode::Driver,
            XdpMode::Skb => aya::programs::XdpMode::Skb,
        }
    }
}

/// The program's counters, summed over CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XdpCounters {
    /// Frames the program ran on.
    pub seen: u64,
    /// Frames redirected to an AF_XDP socket.
    pub redirected: u64,
    /// Frames dropped because their flow is bypassed.
    pub bypassed: u64,
    /// Frames passed to the stack by the monitored-prefix filter.
    pub filtered: u64,
    /// Frames passed to the stack because no socket was registered for their queue.
    pub passed: u64,
    /// Frames with a truncated IP or transport header.
    pub parse_errors: u64,
    /// Frames neither IPv4 nor IPv6.
    pub non_ip: u64,
    /// IP fragments.
    pub fragments: u64,
}

/// The loaded program, attached to one interface until dropped.
///
/// All maps are owned here; the program is detached in `Drop` (and by the kernel if the
/// process dies, as the attachment is a `bpf_link` or a netlink attachment owned by it).
pub struct XdpProgram {
    ebpf: aya::Ebpf,
    link: Option<XdpLinkId>,
    iface: String,
    mode: XdpMode,
    config: Array<MapData, u32>,
    counters: PerCpuArray<MapData, u64>,
    bypass: HashMap<MapData, FlowKey, FlowValue>,
    prefix_v4: LpmTrie<MapData, [u8; 4], u8>,
    prefix_v6: LpmTrie<MapData, [u8; 16], u8>,
    xsks: XskMap<MapData>,
}

impl std::fmt::Debug for XdpProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdpProgram")
            .field("iface", &self.iface)
            .field("mode", &self.mode)
            .field("attached", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

fn take<T>(ebpf: &mut aya::Ebpf, name: &'static str) -> Result<T, XdpError>
where
    T: TryFrom<aya::maps::Map, Error = MapError>,
{
    let map = ebpf.take_map(name).ok_or(XdpError::Missing(name))?;
    T::try_from(map).map_err(XdpError::map(name))
}

fn errno(e: &MapError) -> Option<i32> {
    match e {
        MapError::SyscallError(s) => s.io_error.raw_os_error(),
        _ => None,
    }
}

impl XdpProgram {
    /// Loads the program and attaches it to `iface` (looked up in this thread's network
    /// namespace) in `mode`. The filter starts off, the bypass map empty, and no socket is
    /// registered: every frame goes to the stack (counted `passed`) until one is.
    pub fn load(iface: &str, mode: XdpMode) -> Result<Self, XdpError> {
        if iface.is_empty() || iface.len() >= libc::IFNAMSIZ || CString::new(iface).is_err() {
            return Err(XdpError::InterfaceName(iface.to_owned()));
        }
        let mut ebpf = aya::EbpfLoader::new()
            .load(OBJECT)
            .map_err(|e| XdpError::Load(Box::new(e)))?;
        let config = take(&mut ebpf, names::CONFIG)?;
        let counters = take(&mut ebpf, names::COUNTERS)?;
        let bypass = take(&mut ebpf, names::BYPASS)?;
        let prefix_v4 = take(&mut ebpf, names::PREFIX_V4)?;
        let prefix_v6 = take(&mut ebpf, names::PREFIX_V6)?;
        let xsks = take(&mut ebpf, names::XSKS)?;
        let mut program = Self {
            ebpf,
            link: None,
            iface: iface.to_owned(),
            mode,
            config,
            counters,
            bypass,
            prefix_v4,
            prefix_v6,
            xsks,
        };
        let xdp = program.xdp()?;
        xdp.load().map_err(|e| XdpError::Program(Box::new(e)))?;
        let link = xdp
            .attach(iface, mode.aya())
            .map_err(|e| XdpError::Attach {
                iface: iface.to_owned(),
                mode,
                source: Box::new(e),
            })?;
        program.link = Some(link);
        Ok(program)
    }

    fn xdp(&mut self) -> Result<&mut Xdp, XdpError> {
        self.ebpf
            .program_mut(names::PROGRAM)
            .ok_or(XdpError::Missing(names::PROGRAM))?
            .try_into()
            .map_err(|e| XdpError::Program(Box::new(e)))
    }

    /// The interface attached to.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The attachment mode.
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// Redirects frames received on `queue` to `socket` (an AF_XDP socket bound to that queue).
    pub fn register_socket(&mut self, queue: u32, socket: &impl AsFd) -> Result<(), XdpError> {
        let max = self.xsks.len();
        if queue >= max {
            return Err(XdpError::QueueOutOfRange { queue, max });
        }
        self.xsks
            .set(queue, socket.as_fd().as_raw_fd(), 0)
            .map_err(XdpError::map(names::XSKS))
    }

    /// Stops redirecting `queue`: its frames go to the stack.
    pub fn unregister_socket(&mut self, queue: u32) -> Result<(), XdpError> {
        match self.xsks.unset(queue) {
            Err(e) if errno(&e) == Some(libc::ENOENT) => Ok(()),
            r => r.map_err(XdpError::map(names::XSKS)),
        }
    }

    /// Bypasses a flow: from now on its packets, both directions, are dropped in the kernel
    /// and counted in its entry. Returns false when the flow was already bypassed (its counts
    /// are kept). Fails with `E2BIG` when the map is full.
    pub fn bypass_insert(&mut self, key: &FlowKey) -> Result<bool, XdpError> {
        let value = FlowValue {
            last_seen_ns: sys::monotonic_ns()?,
            ..FlowValue::default()
        };
        match self
            .bypass
            .insert(key, value, u64::from(aya_flags::NOEXIST))
        {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(XdpError::map(names::BYPASS)(e)),
        }
    }

    /// A bypassed flow's entry, or `None` when it is not bypassed.
    pub fn bypass_get(&self, key: &FlowKey) -> Result<Option<FlowValue>, XdpError> {
        match self.bypass.get(key, 0) {
            Ok(v) => Ok(Some(v)),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(e) => Err(XdpError::map(names::BYPASS)(e)),
        }
    }

    /// Stops bypassing a flow; returns its final entry, or `None` when it was not bypassed.
    pub fn bypass_remove(&mut self, key: &FlowKey) -> Result<Option<FlowValue>, XdpError> {
        let value = self.bypass_get(key)?;
        match self.bypass.remove(key) {
            Ok(()) => Ok(value),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(e) if errno(&e) == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(XdpError::map(names::BYPASS)(e)),
        }
    }

    /// Removes the bypassed flows idle for longer than `idle` (no packet since, and inserted
    /// before); returns how many.
    pub fn bypass_sweep(&mut self, idle: Duration) -> Result<usize, XdpError> {
        self.bypass_sweep_with(idle, |_, _| {})
    }

    /// As [`bypass_sweep`](Self::bypass_sweep), calling `removed` with each removed flow's
    /// key and final entry (for its flow record). A packet arriving between the read of an
    /// entry and its removal is dropped but not in the reported counts.
    pub fn bypass_sweep_with(
        &mut self,
        idle: Duration,
        mut removed: impl FnMut(FlowKey, FlowValue),
    ) -> Result<usize, XdpError> {
        let now = sys::monotonic_ns()?;
        let limit = now.saturating_sub(u64::try_from(idle.as_nanos()).unwrap_or(u64::MAX));
        // Collect first: deleting while walking a hash map with get_next_key can restart the
        // walk from the beginning.
        let mut stale = Vec::new();
        for item in self.bypass.iter() {
            match item {
                Ok((key, value)) if value.last_seen_ns < limit => stale.push((key, value)),
                Ok(_) => {}
                Err(MapError::KeyNotFound) => {}
                Err(e) => return Err(XdpError::map(names::BYPASS)(e)),
            }
        }
        let mut count = 0;
        for (key, value) in stale {
            match self.bypass.remove(&key) {
                Ok(()) => {
                    count += 1;
                    removed(key, value);
                }
                Err(MapError::KeyNotFound) => {}
                Err(e) if errno(&e) == Some(libc::ENOENT) => {}
                Err(e) => return Err(XdpError::map(names::BYPASS)(e)),
            }
        }
        Ok(count)
    }

    /// Number of bypassed flows.
    pub fn bypass_len(&self) -> Result<usize, XdpError> {
        let mut n = 0;
        for key in self.bypass.keys() {
            match key {
                Ok(_) => n += 1,
                Err(MapError::KeyNotFound) => {}
                Err(e) => return Err(XdpError::map(names::BYPASS)(e)),
            }
        }
        Ok(n)
    }

    /// Replaces the monitored prefixes. With at least one prefix, only IP packets whose source
    /// or destination lies in one are inspected (the rest, and non-IP frames, go to the stack,
    /// counted `filtered`); with none, the filter is off and everything is inspected.
    ///
    /// The filter is off while the tries are rewritten (inspecting more, never less).
    pub fn set_monitored_prefixes(&mut self, prefixes: &[Prefix]) -> Result<(), XdpError> {
        let v4 = prefixes.iter().filter(|p| p.addr().is_ipv4()).count();
        let v6 = prefixes.len() - v4;
        for count in [v4, v6] {
            if count > PREFIX_MAX_ENTRIES as usize {
                return Err(XdpError::TooManyPrefixes {
                    count,
                    max: PREFIX_MAX_ENTRIES,
                });
            }
        }
        self.set_filter(false)?;
        clear_trie(&mut self.prefix_v4, names::PREFIX_V4)?;
        clear_trie(&mut self.prefix_v6, names::PREFIX_V6)?;
        for p in prefixes {
            let len = u32::from(p.len());
            match p.addr() {
                std::net::IpAddr::V4(a) => self
                    .prefix_v4
                    .insert(&Key::new(len, a.octets()), 1, 0)
                    .map_err(XdpError::map(names::PREFIX_V4))?,
                std::net::IpAddr::V6(a) => self
                    .prefix_v6
                    .insert(&Key::new(len, a.octets()), 1, 0)
                    .map_err(XdpError::map(names::PREFIX_V6))?,
            }
        }
        self.set_filter(!prefixes.is_empty())
    }

    fn set_filter(&mut self, on: bool) -> Result<(), XdpError> {
        self.config
            .set(CFG_FILTER_ENABLED, u32::from(on), 0)
            .map_err(XdpError::map(names::CONFIG))
    }

    /// The program's counters, summed over CPUs.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        let read = |index: u32| -> Result<u64, XdpError> {
            let values = self
                .counters
                .get(&index, 0)
                .map_err(XdpError::map(names::COUNTERS))?;
            Ok(values.iter().fold(0u64, |a, v| a.wrapping_add(*v)))
        };
        Ok(XdpCounters {
            seen: read(counter::SEEN)?,
            redirected: read(counter::REDIRECTED)?,
            bypassed: read(counter::BYPASSED)?,
            filtered: read(counter::FILTERED)?,
            passed: read(counter::PASSED)?,
            parse_errors: read(counter::PARSE_ERRORS)?,
            non_ip: read(counter::NON_IP)?,
            fragments: read(counter::FRAGMENTS)?,
        })
    }
}

fn clear_trie<K: aya::Pod>(
    trie: &mut LpmTrie<MapData, K, u8>,
    name: &'static str,
) -> Result<(), XdpError> {
    let mut keys = Vec::new();
    for key in trie.keys() {
        match key {
            Ok(k) => keys.push(k),
            Err(MapError::KeyNotFound) => {}
            Err(e) => return Err(XdpError::map(name)(e)),
        }
    }
    for k in keys {
        match trie.remove(&k) {
            Ok(()) | Err(MapError::KeyNotFound) => {}
            Err(e) if errno(&e) == Some(libc::ENOENT) => {}
            Err(e) => return Err(XdpError::map(name)(e)),
        }
    }
    Ok(())
}

impl Drop for XdpProgram {
    fn drop(&mut self) {
        if let Some(link) = self.link.take() {
            if let Ok(xdp) = self.xdp() {
                // Detach errors cannot be reported from Drop; the kernel also detaches when
                // the link's last descriptor closes, which happens as `ebpf` drops next.
                let _ = xdp.detach(link);
            }
        }
    }
}

/// `BPF_*` update flags.
mod aya_flags {
    /// Create a new element only (`BPF_NOEXIST`).
    pub const NOEXIST: u32 = 1;
}
