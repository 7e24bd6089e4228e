//! `SyncTrace` for std types: leaves that hold no handle, and containers
//! that trace their elements (immutable ones: a container's contents change
//! only through `&mut`, which a shared value hands out only behind a
//! `GcMutex` or `GcRwLock`).

use crate::object::trace::{SyncTrace, Visitor};

/// Implements [`SyncTrace`] for types that hold no handle (untracked: no
/// list, no collector visit). Safe to use on any `Send + Sync` type: a
/// handle it hides is treated as held from outside, so a cycle through it
/// leaks and nothing else happens.
///
/// ```
/// struct Celsius(f64);
/// pygc_sync::no_trace!(Celsius);
/// let t = pygc_sync::Gc::new(Celsius(21.5));
/// assert_eq!(t.0, 21.5);
/// ```
#[macro_export]
macro_rules! no_trace {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: reports nothing, which the contract always allows
        // (`TRACKED = false` promises exactly that).
        unsafe impl $crate::SyncTrace for $t {
            const TRACKED: bool = false;
            #[inline]
            fn trace<V: $crate::Visitor>(&self, _: &mut V) {}
        }
    )*};
}

no_trace!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    std::sync::atomic::AtomicBool,
    std::sync::atomic::AtomicUsize,
    std::sync::atomic::AtomicIsize,
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::AtomicI32,
    std::sync::atomic::AtomicI64,
    std::time::Duration,
    std::path::PathBuf,
);

// SAFETY: a shared reference owns nothing; reporting nothing is allowed.
unsafe impl<T: ?Sized + Sync + 'static> SyncTrace for &'static T {
    const TRACKED: bool = false;
    #[inline]
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

// SAFETY: traces the one element it owns, if any.
unsafe impl<T: SyncTrace> SyncTrace for Option<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        if T::TRACKED {
            if let Some(x) = self {
                x.trace(v)
            }
        }
    }
}

// SAFETY: traces the element it owns.
unsafe impl<T: SyncTrace> SyncTrace for Box<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        (**self).trace(v)
    }
}

// SAFETY: traces each element it owns, once.
unsafe impl<T: SyncTrace> SyncTrace for Vec<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        if T::TRACKED {
            for x in self {
                x.trace(v)
            }
        }
    }
}

// SAFETY: traces each element it owns, once.
unsafe impl<T: SyncTrace> SyncTrace for Box<[T]> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        if T::TRACKED {
            for x in self.iter() {
                x.trace(v)
            }
        }
    }
}

// SAFETY: traces each element it owns, once.
unsafe impl<T: SyncTrace> SyncTrace for std::collections::VecDeque<T> {
    const TRACKED: bool = T::TRACKED;
    fn trace<V: Visitor>(&self, v: &mut V) {
        if T::TRACKED {
            for x in self {
                x.trace(v)
            }
        }
    }
}

// SAFETY: traces each element it owns, once.
unsafe impl<T: SyncTrace, const N: usize> SyncTrace for [T; N] {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        if T::TRACKED {
            for x in self {
                x.trace(v)
            }
        }
    }
}

// SAFETY: traces each key and value it owns, once.
unsafe impl<K: SyncTrace, T: SyncTrace, S: Send + Sync + 'static> SyncTrace
    for std::collections::HashMap<K, T, S>
{
    const TRACKED: bool = K::TRACKED || T::TRACKED;
    fn trace<V: Visitor>(&self, v: &mut V) {
        if Self::TRACKED {
            for (k, x) in self {
                k.trace(v);
                x.trace(v)
            }
        }
    }
}

// SAFETY: traces each key and value it owns, once.
unsafe impl<K: SyncTrace, T: SyncTrace> SyncTrace for std::collections::BTreeMap<K, T> {
    const TRACKED: bool = K::TRACKED || T::TRACKED;
    fn trace<V: Visitor>(&self, v: &mut V) {
        if Self::TRACKED {
            for (k, x) in self {
                k.trace(v);
                x.trace(v)
            }
        }
    }
}

macro_rules! tuples {
    ($(($($n:tt $t:ident),+))*) => {$(
        // SAFETY: traces each element it owns, once.
        unsafe impl<$($t: SyncTrace),+> SyncTrace for ($($t,)+) {
            const TRACKED: bool = false $(|| $t::TRACKED)+;
            #[inline]
            fn trace<V: Visitor>(&self, v: &mut V) {
                $(self.$n.trace(v);)+
            }
        }
    )*};
}

tuples! {
    (0 A)
    (0 A, 1 B)
    (0 A, 1 B, 2 C)
    (0 A, 1 B, 2 C, 3 D)
}

/// Defines a struct and its [`SyncTrace`] implementation, tracing every
/// field (so the implementation cannot forget one, and you write no
/// `unsafe`). Every field's type must implement `SyncTrace`; handles that
/// change after birth go in a [`GcMutex`](crate::GcMutex) or
/// [`GcRwLock`](crate::GcRwLock). Start with `finalize;` to call the
/// type's [`Finalize`](crate::Finalize) implementation.
///
/// ```
/// use pygc_sync::{gc, sync_trace, Gc, GcMutex};
///
/// sync_trace! {
///     pub struct Node {
///         pub name: String,
///         pub next: GcMutex<Option<Gc<Node>>>,
///     }
/// }
///
/// let a = Gc::new(Node { name: "a".into(), next: GcMutex::new(None) });
/// *a.next.lock() = Some(a.clone()); // a cycle
/// drop(a);
/// assert!(gc::collect() >= 1);
/// ```
#[macro_export]
macro_rules! sync_trace {
    (finalize; $(#[$m:meta])* $vis:vis struct $name:ident { $($(#[$fm:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])* $vis struct $name { $($(#[$fm])* $fvis $field: $ty),* }
        // SAFETY: every field is traced once, through its own SyncTrace
        // (the macro lists them all); the finalizer is the type's own.
        unsafe impl $crate::SyncTrace for $name {
            const TRACKED: bool = false $(|| <$ty as $crate::SyncTrace>::TRACKED)*;
            const HAS_FINALIZER: bool = true;
            #[inline]
            fn trace<V: $crate::Visitor>(&self, _v: &mut V) {
                $(<$ty as $crate::SyncTrace>::trace(&self.$field, _v);)*
            }
            fn finalize(this: &$crate::Gc<Self>) {
                <$name as $crate::Finalize>::finalize(this)
            }
        }
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($(#[$fm:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])* $vis struct $name { $($(#[$fm])* $fvis $field: $ty),* }
        // SAFETY: every field is traced once, through its own SyncTrace
        // (the macro lists them all).
        unsafe impl $crate::SyncTrace for $name {
            const TRACKED: bool = false $(|| <$ty as $crate::SyncTrace>::TRACKED)*;
            #[inline]
            fn trace<V: $crate::Visitor>(&self, _v: &mut V) {
                $(<$ty as $crate::SyncTrace>::trace(&self.$field, _v);)*
            }
        }
    };
}
