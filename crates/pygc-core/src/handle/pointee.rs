//! What a `Gc` can point at: sized `Trace` types, `[T]`, `str`, and trait
//! objects declared with [`dyn_trace!`](crate::dyn_trace).

use crate::object::trace::Trace;

/// A type a [`Gc`](crate::Gc) can point at. pygc implements it for every
/// sized [`Trace`] type, for `[T]` and for `str`; a trait object type gets
/// it from [`dyn_trace!`](crate::dyn_trace).
///
/// The object behind a `Gc<dyn Trait>` is always of a concrete sized type,
/// whose table the collector, objgraph and tracemalloc use; this trait only
/// tells the tracing visitors what they may assume about the target.
///
/// # Safety
/// `TRACKED`, when `Some(b)`, is `b` for every object a `Gc<Self>` can
/// point at (so the collector may skip untracked targets without reading
/// them). `None` makes the collector read each target's own table: always
/// right, which is what `dyn_trace!` writes.
pub unsafe trait GcPointee: 'static {
    /// Whether every object of this type has a generation link (`Some`), or
    /// the collector must look (`None`).
    const TRACKED: Option<bool>;
}

// SAFETY: a `Gc<T>` for a sized `T` only ever points at a `T`, whose block
// is laid out by `T::TRACKED`.
unsafe impl<T: Trace + 'static> GcPointee for T {
    const TRACKED: Option<bool> = Some(T::TRACKED);
}

// SAFETY: a `Gc<[T]>` points at a `[T]` object (laid out by `T::TRACKED`)
// or, unsized from an array, at a `[T; N]` object (tracked exactly when `T`
// is: see the array impl of `Trace`).
unsafe impl<T: Trace + 'static> GcPointee for [T] {
    const TRACKED: Option<bool> = Some(T::TRACKED);
}

// SAFETY: a `Gc<str>` points at a `str` object, which holds no handle.
unsafe impl GcPointee for str {
    const TRACKED: Option<bool> = Some(false);
}

/// Lets `Gc<dyn Trait>` (and `Weak<dyn Trait>`) exist for a trait object
/// type: `pygc::dyn_trace!(dyn Shape);`. Make one with
/// [`unsize!`](crate::unsize).
#[macro_export]
macro_rules! dyn_trace {
    ($($t:ty),+ $(,)?) => {$(
        // SAFETY: `None`: the collector reads each target's own table.
        unsafe impl $crate::GcPointee for $t {
            const TRACKED: ::core::option::Option<bool> = ::core::option::Option::None;
        }
    )+};
}
