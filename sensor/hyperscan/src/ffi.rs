//! Every call into libhs, and the owned handles around its objects.
//!
//! This is the crate's only module that may use `unsafe`. The rest of the crate sees a safe
//! interface: [`RawDatabase`], [`RawScratch`] and the free functions below. They are sound for
//! any input because of these invariants:
//!
//! 1. **Ownership.** A [`DbHandle`] owns exactly one non-null `hs_database_t` obtained from
//!    `hs_compile_lit_multi` or `hs_deserialize_database`, and frees it exactly once, in `Drop`.
//!    It is never cloned; sharing goes through `Arc<DbHandle>`. A [`RawScratch`] owns at most
//!    one `hs_scratch_t` from `hs_alloc_scratch` and frees it exactly once.
//! 2. **Immutability.** libhs never modifies a database after it is built, and scanning one
//!    from many threads at once is supported (each with its own scratch), so `DbHandle` is
//!    `Send + Sync`. A scratch is used by one scan at a time: every call that touches it takes
//!    `&mut RawScratch`, so `RawScratch` is `Send` but not `Sync`.
//! 3. **Scratch matches database.** libhs only partly checks that a scratch is large enough
//!    for a database; scanning with a scratch that is too small is undefined behaviour in C.
//!    So a `RawScratch` remembers (as `Weak` references) every database it was successfully
//!    grown for, and [`RawScratch::scan`] refuses any other database before calling libhs.
//!    A `Weak` keeps its allocation alive, so the address of a dropped database cannot be
//!    reused by a new one while the scratch still remembers it. When growing fails, libhs may
//!    have freed the old scratch: the remembered set is cleared.
//! 4. **Buffers.** Pointers passed to libhs point into live Rust slices for the whole call,
//!    with the exact lengths passed beside them. Literal bytes are copied into one buffer with
//!    a NUL after each literal, so libhs never reads past a literal even if it looked for a
//!    terminator. Data longer than `u32::MAX` bytes is refused before `hs_scan`, whose length
//!    is an `unsigned int`.
//! 5. **Callbacks never unwind into C.** The match callback catches any panic of the user's
//!    closure, stops the scan, and the panic is resumed after `hs_scan` has returned.
//! 6. **Allocators.** Blocks that libhs hands over (serialized bytes) come from its "misc"
//!    allocator, which is `malloc` because this process never installs another one
//!    (`hs_set_allocator` and friends are not called anywhere in tapwatch); they are released
//!    with `libc::free`. Compile errors are released with `hs_free_compile_error`.
#![allow(unsafe_code)]

use std::any::Any;
use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void, CStr};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Weak};

use hyperscan_sys as sys;

use crate::{HsError, Literal};

/// Owns one compiled libhs database (invariant 1).
#[derive(Debug)]
pub(crate) struct DbHandle {
    ptr: NonNull<sys::hs_database_t>,
}

// SAFETY: invariant 2: a compiled database is immutable and libhs supports concurrent scans of
// one database from several threads, each with its own scratch. Dropping it from another
// thread is fine: `hs_free_database` has no thread affinity.
unsafe impl Send for DbHandle {}
// SAFETY: as above; `&DbHandle` only allows read-only uses (scan, size, serialize).
unsafe impl Sync for DbHandle {}

impl Drop for DbHandle {
    fn drop(&mut self) {
        // SAFETY: invariant 1: the pointer came from libhs, is owned by this handle alone and is
        // freed only here. The return code can only report a bad pointer, which cannot happen.
        unsafe {
            sys::hs_free_database(self.ptr.as_ptr());
        }
    }
}

/// A shared compiled database.
pub(crate) type RawDatabase = Arc<DbHandle>;

/// Describes a libhs error code.
fn describe(code: c_int) -> String {
    let what = match code {
        sys::HS_INVALID => "invalid parameter",
        sys::HS_NOMEM => "memory allocation failed",
        sys::HS_SCAN_TERMINATED => "scan terminated by the callback",
        sys::HS_COMPILER_ERROR => "compile error",
        sys::HS_DB_VERSION_ERROR => "database built by a different libhs version",
        sys::HS_DB_PLATFORM_ERROR => "database built for a different platform",
        sys::HS_DB_MODE_ERROR => "database built for a different mode",
        sys::HS_BAD_ALIGN => "misaligned parameter",
        sys::HS_BAD_ALLOC => "allocator returned misaligned memory",
        sys::HS_SCRATCH_IN_USE => "scratch already in use",
        sys::HS_ARCH_ERROR => "CPU lacks the instructions libhs needs",
        sys::HS_INSUFFICIENT_SPACE => "insufficient space",
        _ => "unknown error",
    };
    format!("{what} (hs error {code})")
}

fn succeeded(code: c_int) -> bool {
    // HS_SUCCESS is 0; the bindings give it as u32.
    code == 0
}

/// The libhs version string, e.g. `5.4.0 2023-01-01`.
pub(crate) fn version() -> String {
    // SAFETY: hs_version returns a pointer to a static NUL-terminated string, valid forever.
    let raw = unsafe { sys::hs_version() };
    if raw.is_null() {
        return String::from("unknown");
    }
    // SAFETY: non-null, static, NUL-terminated (see above).
    unsafe { CStr::from_ptr(raw) }
        .to_string_lossy()
        .into_owned()
}

/// Compiles non-empty `literals` (at most `u32::MAX` of them, each non-empty: checked by the
/// caller and re-checked here) into a block-mode database with SINGLEMATCH semantics.
pub(crate) fn compile_literals(literals: &[Literal]) -> Result<RawDatabase, HsError> {
    let count = c_uint::try_from(literals.len()).map_err(|_| HsError::Compile {
        message: format!("{} literals is more than libhs accepts", literals.len()),
        literal_index: None,
    })?;
    if count == 0 {
        return Err(HsError::Compile {
            message: "no literals".into(),
            literal_index: None,
        });
    }
    if let Some(index) = literals.iter().position(|l| l.bytes.is_empty()) {
        return Err(HsError::Compile {
            message: "empty literal".into(),
            literal_index: Some(index),
        });
    }
    // Invariant 4: one buffer, a NUL after each literal.
    let total: usize = literals.iter().map(|l| l.bytes.len() + 1).sum();
    let mut storage = Vec::with_capacity(total);
    let mut offsets = Vec::with_capacity(literals.len());
    let mut lens = Vec::with_capacity(literals.len());
    let mut flags = Vec::with_capacity(literals.len());
    let mut ids = Vec::with_capacity(literals.len());
    for lit in literals {
        offsets.push(storage.len());
        storage.extend_from_slice(&lit.bytes);
        storage.push(0u8);
        lens.push(lit.bytes.len());
        let case = if lit.caseless {
            sys::HS_FLAG_CASELESS
        } else {
            0
        };
        flags.push(case | sys::HS_FLAG_SINGLEMATCH);
        ids.push(lit.id);
    }
    let base = storage.as_ptr();
    let exprs: Vec<*const c_char> = offsets
        .iter()
        // `wrapping_add` stays in bounds (each offset < storage.len()) without needing unsafe.
        .map(|&off| base.wrapping_add(off).cast::<c_char>())
        .collect();

    let mut db: *mut sys::hs_database_t = ptr::null_mut();
    let mut err: *mut sys::hs_compile_error_t = ptr::null_mut();
    // SAFETY: invariant 4: `exprs`, `flags`, `ids` and `lens` each hold `count` elements and
    // live until the call returns; every expression pointer points at `lens[i]` readable bytes
    // (plus a NUL) inside `storage`, which is not modified while the pointers exist. A null
    // platform means "this host". `db` and `err` are valid out-pointers.
    let code = unsafe {
        sys::hs_compile_lit_multi(
            exprs.as_ptr(),
            flags.as_ptr(),
            ids.as_ptr(),
            lens.as_ptr(),
            count,
            sys::HS_MODE_BLOCK,
            ptr::null(),
            &mut db,
            &mut err,
        )
    };
    if succeeded(code) {
        if let Some(ptr) = NonNull::new(db) {
            return Ok(Arc::new(DbHandle { ptr }));
        }
        return Err(HsError::Compile {
            message: "libhs reported success but returned no database".into(),
            literal_index: None,
        });
    }
    // On failure libhs returns no database; free one defensively if it did.
    if let Some(ptr) = NonNull::new(db) {
        drop(DbHandle { ptr });
    }
    Err(take_compile_error(code, err, literals.len()))
}

/// Turns (and frees) a libhs compile error.
fn take_compile_error(code: c_int, err: *mut sys::hs_compile_error_t, count: usize) -> HsError {
    if err.is_null() {
        return HsError::Compile {
            message: describe(code),
            literal_index: None,
        };
    }
    // SAFETY: a non-null error from a compile call points at a valid hs_compile_error_t whose
    // `message` is null or a NUL-terminated string; both stay valid until it is freed below.
    let (message, expression) = unsafe {
        let e = &*err;
        let message = if e.message.is_null() {
            describe(code)
        } else {
            CStr::from_ptr(e.message).to_string_lossy().into_owned()
        };
        (message, e.expression)
    };
    // SAFETY: invariant 6: the error came from a compile call and is freed exactly once.
    unsafe {
        sys::hs_free_compile_error(err);
    }
    let literal_index = usize::try_from(expression).ok().filter(|&i| i < count);
    HsError::Compile {
        message,
        literal_index,
    }
}

/// The database's size in bytes (`hs_database_size`), 0 if libhs cannot tell.
pub(crate) fn database_size(db: &DbHandle) -> usize {
    let mut size = 0usize;
    // SAFETY: invariant 1: `db.ptr` is a live database; `size` is a valid out-pointer.
    let code = unsafe { sys::hs_database_size(db.ptr.as_ptr(), &mut size) };
    if succeeded(code) {
        size
    } else {
        0
    }
}

/// libhs's own serialized form of the database.
pub(crate) fn serialize(db: &DbHandle) -> Result<Vec<u8>, HsError> {
    let mut bytes: *mut c_char = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: invariant 1: live database; `bytes` and `len` are valid out-pointers.
    let code = unsafe { sys::hs_serialize_database(db.ptr.as_ptr(), &mut bytes, &mut len) };
    if !succeeded(code) {
        return Err(HsError::Serialize(describe(code)));
    }
    if bytes.is_null() {
        return Err(HsError::Serialize(
            "libhs reported success but returned no bytes".into(),
        ));
    }
    // SAFETY: on success libhs returns a malloc'd block of exactly `len` initialised bytes,
    // owned by the caller; it is copied out and then freed once (invariant 6).
    let out = unsafe {
        let out = std::slice::from_raw_parts(bytes.cast::<u8>(), len).to_vec();
        libc::free(bytes.cast::<c_void>());
        out
    };
    Ok(out)
}

/// Rebuilds a database from libhs's serialized form. libhs checks the header (magic, version,
/// platform, length) and refuses what does not fit.
pub(crate) fn deserialize(bytes: &[u8]) -> Result<RawDatabase, HsError> {
    let mut db: *mut sys::hs_database_t = ptr::null_mut();
    // SAFETY: invariant 4: `bytes` is a live slice of `bytes.len()` bytes; `db` is a valid
    // out-pointer. libhs copies what it needs into a new allocation.
    let code = unsafe {
        sys::hs_deserialize_database(bytes.as_ptr().cast::<c_char>(), bytes.len(), &mut db)
    };
    let handle = NonNull::new(db).map(|ptr| DbHandle { ptr });
    if !succeeded(code) {
        return Err(HsError::Deserialize(describe(code)));
    }
    handle.map(Arc::new).ok_or_else(|| {
        HsError::Deserialize("libhs reported success but returned no database".into())
    })
}

/// Owns one libhs scratch region and remembers which databases it fits (invariant 3).
#[derive(Debug, Default)]
pub(crate) struct RawScratch {
    ptr: Option<NonNull<sys::hs_scratch_t>>,
    fits: Vec<Weak<DbHandle>>,
}

// SAFETY: invariant 2: a scratch may move between threads; it is only ever used through
// `&mut RawScratch`, so never by two scans at once. It is deliberately not `Sync`.
unsafe impl Send for RawScratch {}

impl Drop for RawScratch {
    fn drop(&mut self) {
        if let Some(ptr) = self.ptr.take() {
            // SAFETY: invariant 1: the scratch came from hs_alloc_scratch, is owned here and
            // freed once. No scan can be running: that would need `&mut self`.
            unsafe {
                sys::hs_free_scratch(ptr.as_ptr());
            }
        }
    }
}

impl RawScratch {
    /// Whether this scratch was grown for `db` (and `db` is still that database).
    fn fits(&self, db: &RawDatabase) -> bool {
        let wanted = Arc::as_ptr(db);
        self.fits.iter().any(|w| Weak::as_ptr(w) == wanted)
    }

    /// Grows the scratch so it also fits `db` (allocating it on first use).
    pub(crate) fn grow_for(&mut self, db: &RawDatabase) -> Result<(), HsError> {
        if self.fits(db) {
            return Ok(());
        }
        let mut ptr = self.ptr.map_or(ptr::null_mut(), NonNull::as_ptr);
        // SAFETY: invariants 1 and 3: `db` is live; `ptr` is null or the scratch this value
        // owns, and no scan is using it (`&mut self`). libhs may free and replace it: the
        // pointer it leaves behind is taken back as the owned one just below.
        let code = unsafe { sys::hs_alloc_scratch(db.ptr.as_ptr(), &mut ptr) };
        self.ptr = NonNull::new(ptr);
        if !succeeded(code) {
            // The scratch may have been replaced or freed: trust no earlier growth.
            self.fits.clear();
            return Err(HsError::Scratch(describe(code)));
        }
        // Bounded by the live databases: forget the ones already dropped.
        self.fits.retain(|w| w.strong_count() > 0);
        self.fits.push(Arc::downgrade(db));
        Ok(())
    }

    /// Scans `data` with `db`, calling `on_match(id)` for each match libhs reports.
    pub(crate) fn scan(
        &mut self,
        db: &RawDatabase,
        data: &[u8],
        on_match: &mut dyn FnMut(u32),
    ) -> Result<(), HsError> {
        let Some(scratch) = self.ptr else {
            return Err(HsError::Scratch(
                "scratch was not reserved for this database".into(),
            ));
        };
        if !self.fits(db) {
            return Err(HsError::Scratch(
                "scratch was not reserved for this database".into(),
            ));
        }
        let len = c_uint::try_from(data.len())
            .map_err(|_| HsError::Scan(format!("{} bytes is too long for one scan", data.len())))?;
        let mut ctx = CallbackContext {
            on_match,
            panic: None,
        };
        // SAFETY: invariants 1, 3, 4, 5: `db` is live and `scratch` fits it and is used by
        // this call alone (`&mut self`); `data` is a live slice of `len` bytes; the context
        // pointer refers to `ctx`, which outlives the call, and `on_event` casts it back to
        // the same type; the callback does not unwind.
        let code = unsafe {
            sys::hs_scan(
                db.ptr.as_ptr(),
                data.as_ptr().cast::<c_char>(),
                len,
                0,
                scratch.as_ptr(),
                Some(on_event),
                (&mut ctx as *mut CallbackContext<'_>).cast::<c_void>(),
            )
        };
        if let Some(payload) = ctx.panic.take() {
            panic::resume_unwind(payload);
        }
        if succeeded(code) {
            Ok(())
        } else {
            Err(HsError::Scan(describe(code)))
        }
    }
}

/// What the match callback reaches through libhs's context pointer.
struct CallbackContext<'a> {
    on_match: &'a mut dyn FnMut(u32),
    panic: Option<Box<dyn Any + Send + 'static>>,
}

/// libhs's match callback: forwards the id; returns non-zero (stop) only after a panic.
unsafe extern "C" fn on_event(
    id: c_uint,
    _from: c_ulonglong,
    _to: c_ulonglong,
    _flags: c_uint,
    context: *mut c_void,
) -> c_int {
    // SAFETY: `context` is the `&mut CallbackContext` passed to hs_scan in `RawScratch::scan`,
    // alive and not otherwise borrowed while hs_scan runs (libhs calls back on the same thread).
    let ctx = unsafe { &mut *context.cast::<CallbackContext<'_>>() };
    if ctx.panic.is_some() {
        return 1;
    }
    let on_match = &mut ctx.on_match;
    match panic::catch_unwind(AssertUnwindSafe(|| on_match(id))) {
        Ok(()) => 0,
        Err(payload) => {
            ctx.panic = Some(payload);
            1
        }
    }
}
