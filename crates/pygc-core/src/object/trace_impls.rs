//! `Trace` for std types. Leaves hold no handles (untracked); containers
//! are tracked exactly when their elements are.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;

use super::trace::{Trace, Visitor};

macro_rules! leaf {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: holds no handle (TRACKED = false) and reports none.
        unsafe impl Trace for $t {
            const TRACKED: bool = false;
            const FROZEN: bool = true;
            const SEND: bool = true;
            #[inline]
            fn trace<V: Visitor>(&self, _: &mut V) {}
        }
    )*};
}

leaf!(
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
    str,
    &'static str,
    std::path::PathBuf,
    std::ffi::OsString,
    std::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::num::NonZeroUsize,
    std::num::NonZeroU64,
    std::num::NonZeroU32,
    std::sync::atomic::AtomicUsize,
    std::sync::atomic::AtomicBool,
    std::any::TypeId,
);

// Every leaf above says `SEND = true`; the compiler checks that they are.
const _: fn() = || {
    fn send<T: ?Sized + Send>() {}
    send::<(bool, char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64)>();
    send::<(String, &'static str, std::path::PathBuf, std::ffi::OsString, std::time::Duration)>();
    send::<(std::time::Instant, std::time::SystemTime, std::num::NonZeroUsize, std::num::NonZeroU64)>();
    send::<(std::num::NonZeroU32, std::sync::atomic::AtomicUsize, std::sync::atomic::AtomicBool)>();
    send::<(std::any::TypeId, std::collections::hash_map::RandomState)>();
    send::<str>();
};

/// `PhantomData<T>` is `Send` only when `T` is, which pygc cannot tell
/// (`PhantomData<*const ()>` is the usual way to make a type `!Send`), so
/// it says `SEND = false`.
// SAFETY: holds no handle (TRACKED = false) and reports none.
unsafe impl<T: ?Sized> Trace for PhantomData<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

// SAFETY: holds no handle (TRACKED = false) and reports none.
unsafe impl<T: Copy + Trace> Trace for Cell<T> {
    // A `Cell` can only hand out copies, and `Gc` is not `Copy`.
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    const SEND: bool = T::SEND;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

/// Shared ownership escapes the collector: the handles inside an `Rc` may be
/// reachable from several objects, so they are never reported (reporting
/// them would over-count). Cycles through an `Rc` therefore leak.
// SAFETY: holds no handle (TRACKED = false) and reports none.
unsafe impl<T: ?Sized> Trace for std::rc::Rc<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

/// As for `Rc`. `SEND = false`: an `Arc<T>` is `Send` only when `T` is
/// `Send + Sync`, which pygc cannot tell; a field known to be is marked
/// `#[pygc(skip, send)]`.
// SAFETY: holds no handle (TRACKED = false) and reports none.
unsafe impl<T: ?Sized> Trace for std::sync::Arc<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

// SAFETY: reports exactly the handles of its parts, through their own
// (sound) impls, in a fixed order; touches nothing else.
unsafe impl<T: Trace + ?Sized> Trace for Box<T> {
    const TRACKED: bool = T::TRACKED;
    const FROZEN: bool = T::FROZEN;
    const SEND: bool = T::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        (**self).trace(v)
    }
}

// SAFETY: reports exactly the handles of its parts, through their own
// (sound) impls, in a fixed order; touches nothing else.
unsafe impl<T: Trace> Trace for Option<T> {
    const TRACKED: bool = T::TRACKED;
    const FROZEN: bool = T::FROZEN;
    const SEND: bool = T::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        if let Some(x) = self {
            x.trace(v)
        }
    }
}

// SAFETY: reports exactly the handles of its parts, through their own
// (sound) impls, in a fixed order; touches nothing else.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    const TRACKED: bool = T::TRACKED || E::TRACKED;
    const FROZEN: bool = T::FROZEN && E::FROZEN;
    const SEND: bool = T::SEND && E::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK || E::HOLDS_WEAK;
    fn trace<V: Visitor>(&self, v: &mut V) {
        match self {
            Ok(x) => x.trace(v),
            Err(e) => e.trace(v),
        }
    }
}

// SAFETY: reports exactly the handles of its parts, through their own
// (sound) impls, in a fixed order; touches nothing else.
unsafe impl<T: Trace> Trace for RefCell<T> {
    const TRACKED: bool = T::TRACKED;
    const FROZEN: bool = !T::TRACKED;
    const SEND: bool = T::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK;
    fn trace<V: Visitor>(&self, v: &mut V) {
        match self.try_borrow() {
            Ok(inner) => inner.trace(v),
            Err(_) => v.untraceable(),
        }
    }
}

/// Traces each element, labelled by its position (nothing for elements
/// that cannot hold handles).
#[inline]
fn trace_elements<'a, T: Trace + 'a, V: Visitor>(items: impl Iterator<Item = &'a T>, v: &mut V) {
    if T::TRACKED || T::HOLDS_WEAK {
        for (i, x) in items.enumerate() {
            v.index(i, |v| x.trace(v));
        }
    }
}

macro_rules! sequence {
    ($($t:ident),*) => {$(
        // SAFETY: reports exactly the handles of its parts, through their own
        // (sound) impls, in a fixed order; touches nothing else.
        unsafe impl<T: Trace> Trace for $t<T> {
            const TRACKED: bool = T::TRACKED;
            const FROZEN: bool = T::FROZEN;
            const SEND: bool = T::SEND;
            const HOLDS_WEAK: bool = T::HOLDS_WEAK;
            fn trace<V: Visitor>(&self, v: &mut V) {
                trace_elements(self.iter(), v)
            }
        }
    )*};
}

sequence!(Vec, VecDeque, LinkedList, BinaryHeap, BTreeSet);

// SAFETY: reports exactly the handles of its parts, through their own
// (sound) impls, in a fixed order; touches nothing else.
unsafe impl<T: Trace> Trace for [T] {
    const TRACKED: bool = T::TRACKED;
    const FROZEN: bool = T::FROZEN;
    const SEND: bool = T::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK;
    fn trace<V: Visitor>(&self, v: &mut V) {
        trace_elements(self.iter(), v)
    }
}

// SAFETY: reports exactly the handles of its parts, through their own
// (sound) impls, in a fixed order; touches nothing else.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    const TRACKED: bool = T::TRACKED;
    const FROZEN: bool = T::FROZEN;
    const SEND: bool = T::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK;
    fn trace<V: Visitor>(&self, v: &mut V) {
        self.as_slice().trace(v)
    }
}

// SAFETY: reports exactly the handles of its parts, through their own
// (sound) impls, in a fixed order; touches nothing else.
unsafe impl<T: Trace, S: Trace> Trace for HashSet<T, S> {
    const TRACKED: bool = T::TRACKED;
    const FROZEN: bool = T::FROZEN;
    const SEND: bool = T::SEND && S::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK;
    fn trace<V: Visitor>(&self, v: &mut V) {
        trace_elements(self.iter(), v)
    }
}

macro_rules! map {
    ($t:ident $(, $s:ident)?) => {
        // SAFETY: reports exactly the handles of its parts, through their own
        // (sound) impls, in a fixed order; touches nothing else.
        unsafe impl<K: Trace, T: Trace $(, $s: Trace)?> Trace for $t<K, T $(, $s)?> {
            const TRACKED: bool = K::TRACKED || T::TRACKED;
            const FROZEN: bool = K::FROZEN && T::FROZEN;
            const SEND: bool = K::SEND && T::SEND $(&& $s::SEND)?;
            const HOLDS_WEAK: bool = K::HOLDS_WEAK || T::HOLDS_WEAK;
            fn trace<V: Visitor>(&self, v: &mut V) {
                if Self::TRACKED || Self::HOLDS_WEAK {
                    for (i, (k, x)) in self.iter().enumerate() {
                        v.index(i, |v| {
                            v.field("key", |v| k.trace(v));
                            v.field("value", |v| x.trace(v));
                        });
                    }
                }
            }
        }
    };
}

/// Hashers are leaves: they hold no handles. A `HashMap` or `HashSet`
/// needs its hasher to be `Trace` so that it can say whether the map is
/// `SEND`; a custom hasher implements it as a leaf.
// SAFETY: holds no handle (TRACKED = false) and reports none; `SEND`:
// `RandomState` is `Send` (checked at compile time above).
unsafe impl Trace for std::collections::hash_map::RandomState {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    const SEND: bool = true;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

// SAFETY: holds no handle (TRACKED = false) and reports none; `SEND`: a
// `BuildHasherDefault<H>` holds no `H` (only `PhantomData<fn() -> H>`), so
// it is `Send` whatever `H` is.
unsafe impl<H: 'static> Trace for std::hash::BuildHasherDefault<H> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    const SEND: bool = true;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

const _: fn() = || {
    fn send<T: Send>() {}
    send::<std::hash::BuildHasherDefault<std::rc::Rc<u8>>>();
};

map!(HashMap, S);
map!(BTreeMap);

macro_rules! tuple {
    ($(($($n:tt $t:ident),+)),* $(,)?) => {$(
        // SAFETY: reports exactly the handles of its parts, through their own
        // (sound) impls, in a fixed order; touches nothing else.
        unsafe impl<$($t: Trace),+> Trace for ($($t,)+) {
            const TRACKED: bool = false $(|| $t::TRACKED)+;
            const FROZEN: bool = true $(&& $t::FROZEN)+;
            const SEND: bool = true $(&& $t::SEND)+;
            const HOLDS_WEAK: bool = false $(|| $t::HOLDS_WEAK)+;
            fn trace<V: Visitor>(&self, v: &mut V) {
                $( v.index($n, |v| self.$n.trace(v)); )+
            }
        }
    )*};
}

tuple!(
    (0 A),
    (0 A, 1 B),
    (0 A, 1 B, 2 C),
    (0 A, 1 B, 2 C, 3 D),
    (0 A, 1 B, 2 C, 3 D, 4 E),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H),
);
