//! The AF_XDP socket's configuration and its validation.

use crate::error::ConfigError;

/// Smallest ring accepted.
pub const MIN_RING_SIZE: u32 = 16;
/// Largest ring accepted.
pub const MAX_RING_SIZE: u32 = 1 << 16;
/// Largest UMEM accepted, in bytes.
pub const MAX_UMEM_BYTES: u64 = 1 << 32;

/// Sizes of the UMEM and the rings of one socket, and receive options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XskConfig {
    /// Bytes per UMEM frame: 2048 or 4096. In copy mode the kernel keeps 256 bytes of each
    /// frame as headroom, so a 2048-byte frame holds 1792 bytes of packet; longer packets
    /// need multi-buffer (several descriptors, joined by the socket).
    pub frame_size: u32,
    /// Frames in the UMEM; must exceed `fill_ring_size` (the kernel may hold a full fill ring
    /// while frames are lent to the caller and waiting in the rx ring).
    pub frame_count: u32,
    /// Fill ring entries (power of two).
    pub fill_ring_size: u32,
    /// Completion ring entries (power of two; the kernel requires the ring even for a
    /// receive-only socket).
    pub completion_ring_size: u32,
    /// Rx ring entries (power of two).
    pub rx_ring_size: u32,
    /// Largest packet delivered after joining multi-buffer descriptors; longer packets are
    /// dropped and counted in [`SocketCounters::oversize`](super::SocketCounters::oversize).
    pub max_packet_size: u32,
    /// Busy polling, off by default.
    pub busy_poll: Option<BusyPoll>,
}

/// Busy-poll settings (`SO_PREFER_BUSY_POLL` is set whenever this is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPoll {
    /// `SO_BUSY_POLL`: microseconds to busy-poll in a blocking receive (1 to 1,000,000).
    pub usecs: u32,
    /// `SO_BUSY_POLL_BUDGET`: packets per busy-poll round (1 to 65535).
    pub budget: u16,
}

impl Default for XskConfig {
    /// 4096 frames of 2048 bytes (8 MiB, within this kernel's default 8 MiB memlock limit only
    /// with CAP_IPC_LOCK: root has it), 2048-entry fill and rx rings, packets up to 10240 bytes.
    fn default() -> Self {
        Self {
            frame_size: 2048,
            frame_count: 4096,
            fill_ring_size: 2048,
            completion_ring_size: 64,
            rx_ring_size: 2048,
            max_packet_size: 10240,
            busy_poll: None,
        }
    }
}

fn ring(field: &'static str, value: u32) -> Result<(), ConfigError> {
    if value.is_power_of_two() && (MIN_RING_SIZE..=MAX_RING_SIZE).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::RingSize {
            field,
            value,
            min: MIN_RING_SIZE,
            max: MAX_RING_SIZE,
        })
    }
}

impl XskConfig {
    /// Checks every value; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.frame_size != 2048 && self.frame_size != 4096 {
            return Err(ConfigError::FrameSize(self.frame_size));
        }
        ring("fill_ring_size", self.fill_ring_size)?;
        ring("completion_ring_size", self.completion_ring_size)?;
        ring("rx_ring_size", self.rx_ring_size)?;
        if self.frame_count <= self.fill_ring_size {
            return Err(ConfigError::FrameCount {
                frame_count: self.frame_count,
                fill_ring_size: self.fill_ring_size,
            });
        }
        let bytes = u64::from(self.frame_size) * u64::from(self.frame_count);
        if bytes > MAX_UMEM_BYTES {
            return Err(ConfigError::UmemTooLarge(bytes));
        }
        if !(64..=65535).contains(&self.max_packet_size) {
            return Err(ConfigError::MaxPacketSize(self.max_packet_size));
        }
        if let Some(bp) = self.busy_poll {
            if !(1..=1_000_000).contains(&bp.usecs) {
                return Err(ConfigError::BusyPoll("usecs must be from 1 to 1000000"));
            }
            if bp.budget == 0 {
                return Err(ConfigError::BusyPoll("budget must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(XskConfig::default().validate(), Ok(()));
    }

    #[test]
    fn refusals_name_the_field() {
        let c = XskConfig {
            rx_ring_size: 1000,
            ..XskConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::RingSize {
                field: "rx_ring_size",
                value: 1000,
                ..
            })
        ));
        let c = XskConfig {
            frame_size: 3000,
            ..XskConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::FrameSize(3000)));
        let c = XskConfig {
            frame_count: 2048,
            ..XskConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::FrameCount { .. })));
        let c = XskConfig {
            fill_ring_size: 1 << 17,
            frame_count: 1 << 18,
            ..XskConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::RingSize { .. })));
        let c = XskConfig {
            max_packet_size: 10,
            ..XskConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::MaxPacketSize(10)));
        let c = XskConfig {
            busy_poll: Some(BusyPoll {
                usecs: 0,
                budget: 64,
            }),
            ..XskConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::BusyPoll(_))));
        let c = XskConfig {
            frame_count: 1 << 21,
            frame_size: 4096,
            ..XskConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::UmemTooLarge(_))));
    }
}
