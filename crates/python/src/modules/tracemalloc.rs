//! `tracemalloc` (Python frames need pygc's frame-source hook; see the
//! crate docs). For now only the VM's question "should frames be noted?".

/// Whether the VM should keep the Python frame stack for tracemalloc.
#[inline]
pub fn frames_wanted() -> bool {
    false
}
