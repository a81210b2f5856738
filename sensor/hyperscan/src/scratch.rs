//! Per-worker scratch space.

use crate::ffi::RawScratch;
use crate::{HsError, LiteralDatabase};

/// Per-worker scratch space, big enough for every database it was reserved for.
///
/// libhs needs a scratch region for each scan. One `Scratch` serves any number of databases:
/// [`Scratch::reserve_for`] grows it to fit each. It is `Send` (a worker may be moved to its
/// thread) but not `Sync`: a scan needs `&mut Scratch`. Scanning a database the scratch was
/// not reserved for returns [`HsError::Scratch`].
#[derive(Debug, Default)]
pub struct Scratch {
    raw: RawScratch,
}

impl Scratch {
    /// An empty scratch, reserved for no database yet. Allocates nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grows the scratch so that it can also scan `db`. Databases reserved for earlier stay
    /// usable. If libhs fails to allocate, the scratch must be reserved again for every
    /// database before scanning it.
    pub fn reserve_for(&mut self, db: &LiteralDatabase) -> Result<(), HsError> {
        match db.raw() {
            Some(raw) => self.raw.grow_for(raw),
            None => Ok(()),
        }
    }

    pub(crate) fn raw_mut(&mut self) -> &mut RawScratch {
        &mut self.raw
    }
}
