//! The object model: every Python value is a [`Value`], and every heap
//! object is one pygc object (`Gc<T>` of one of the structs below).
//!
//! `None`, booleans, integers that fit an `i64` and floats are immediate
//! (unboxed) values: they are never on the heap, as CPython never tracks
//! them. Everything else is a pygc object, so a name binding, a container
//! slot or a value on the VM stack is exactly one strong count, as in
//! CPython 3.11.

pub mod class;
pub mod dict;
pub mod func;
pub mod instance;
pub mod set;
pub mod str;

use std::cell::Cell;

use num_bigint::BigInt;
use pygc::{Gc, GcCell, Trace, Visitor};

pub use class::Class;
pub use dict::{Dict, DictObject};
pub use func::{BoundMethod, Builtin, CellObj, Code, Function, Generator, NativeFn};
pub use instance::Instance;
pub use set::Set;
pub use str::PyStr;

/// A Python value: an immediate or a handle to a pygc object.
#[derive(Clone)]
pub enum Value {
    /// `None`.
    None,
    /// `NotImplemented`.
    NotImplemented,
    /// `Ellipsis` (`...`).
    Ellipsis,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits 64 bits.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// An `int` that does not fit 64 bits.
    Long(Gc<Long>),
    /// `str`.
    Str(Gc<PyStr>),
    /// `bytes`.
    Bytes(Gc<Bytes>),
    /// `tuple`.
    Tuple(Gc<Tuple>),
    /// `list`.
    List(Gc<List>),
    /// `dict`.
    Dict(Gc<Dict>),
    /// `set`.
    Set(Gc<Set>),
    /// `frozenset`.
    FrozenSet(Gc<Set>),
    /// `range`.
    Range(Gc<Range>),
    /// `slice`.
    Slice(Gc<Slice>),
    /// A Python function.
    Function(Gc<Function>),
    /// A function implemented in Rust (possibly bound to a `self`).
    Builtin(Gc<Builtin>),
    /// A bound method.
    Method(Gc<BoundMethod>),
    /// A class (`type` instance).
    Class(Gc<Class>),
    /// An instance of a class defined in Python (or of an exception class).
    Instance(Gc<Instance>),
    /// A module.
    Module(Gc<Module>),
    /// A generator.
    Generator(Gc<Generator>),
    /// A cell (closure variable).
    Cell(Gc<CellObj>),
    /// A code object.
    Code(Gc<Code>),
    /// Other built-in objects: iterators, descriptors, weak references...
    Native(Gc<Native>),
    /// Internal marker (the "no self" slot of a method call on the VM
    /// stack); never visible to Python code.
    Null,
}

/// The name a type reports to pygc at run time
/// (`Trace::dynamic_type_name`): Python's `type(o).__name__`, which is
/// what objgraph counts by and what `gc.DEBUG_COLLECTABLE` prints.
macro_rules! python_type_name {
    ($t:ty, $name:expr) => {
        impl $t {
            /// `type(self).__name__`, for pygc's census and debug output.
            pub fn python_type_name(&self) -> Option<&str> {
                Some($name)
            }
        }
    };
}
pub(crate) use python_type_name;

python_type_name!(Long, "int");
python_type_name!(Bytes, "bytes");
python_type_name!(Tuple, "tuple");
python_type_name!(List, "list");
python_type_name!(Range, "range");
python_type_name!(Slice, "slice");
python_type_name!(Module, "module");

thread_local! {
    /// Tuples born since the last collection that the next one may
    /// untrack (their items are atomic or tuples); the collector hook walks
    /// generation 0 only when there are some.
    static UNTRACK_CANDIDATES: Cell<usize> = const { Cell::new(0) };
}

/// Takes the count of tuples the next collection may untrack.
pub fn take_untrack_candidates() -> usize {
    UNTRACK_CANDIDATES.with(|c| c.replace(0))
}

/// A zero-sized field that keeps its object tracked at birth even when
/// everything it points at is untracked: CPython tracks every new tuple and
/// slice and untracks atomic tuples only when a collection meets them
/// (`untrack_tuples`), which the interpreter does too (see
/// `modules::gc::untrack_young_tuples`). Without it pygc would never link
/// such a value, and `gc.is_tracked((1, 2))` would differ from CPython's
/// before the first collection.
#[derive(Default, Clone, Copy)]
pub struct TrackAtBirth;

// SAFETY: holds no handle (TRACKED = false) and reports none. Its only
// effect is FROZEN = false, which makes pygc link the object that holds it
// into generation 0 at birth: always safe.
#[allow(unsafe_code)]
unsafe impl Trace for TrackAtBirth {
    const TRACKED: bool = false;
    fn trace<V: Visitor>(&self, _v: &mut V) {}
}

// SAFETY: a value owns at most one handle, its variant's, and `trace`
// reports exactly that one (nothing for an immediate), the same on every
// call: a value never changes in place (FROZEN). Written by hand rather
// than derived only so that the edge is not labelled with the variant's
// field (`0`): an attribute `ref` holding a value is drawn `ref`.
#[allow(unsafe_code)]
unsafe impl Trace for Value {
    const FROZEN: bool = true;
    #[inline(always)]
    fn trace<V: Visitor>(&self, v: &mut V) {
        match self {
            Value::None
            | Value::NotImplemented
            | Value::Ellipsis
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Null => {}
            Value::Long(g) => v.visit_gc(g),
            Value::Str(g) => v.visit_gc(g),
            Value::Bytes(g) => v.visit_gc(g),
            Value::Tuple(g) => v.visit_gc(g),
            Value::List(g) => v.visit_gc(g),
            Value::Dict(g) => v.visit_gc(g),
            Value::Set(g) | Value::FrozenSet(g) => v.visit_gc(g),
            Value::Range(g) => v.visit_gc(g),
            Value::Slice(g) => v.visit_gc(g),
            Value::Function(g) => v.visit_gc(g),
            Value::Builtin(g) => v.visit_gc(g),
            Value::Method(g) => v.visit_gc(g),
            Value::Class(g) => v.visit_gc(g),
            Value::Instance(g) => v.visit_gc(g),
            Value::Module(g) => v.visit_gc(g),
            Value::Generator(g) => v.visit_gc(g),
            Value::Cell(g) => v.visit_gc(g),
            Value::Code(g) => v.visit_gc(g),
            Value::Native(g) => v.visit_gc(g),
        }
    }
}

/// An arbitrary-precision integer (`int` beyond 64 bits).
#[derive(Trace)]
#[pygc(dynamic_type_name = Long::python_type_name)]
pub struct Long(#[pygc(skip)] pub BigInt);

/// `bytes`.
#[derive(Trace)]
#[pygc(dynamic_type_name = Bytes::python_type_name)]
pub struct Bytes {
    /// The bytes.
    pub data: Box<[u8]>,
}

/// `tuple`: fixed items. Tracked at birth, as in CPython; a collection that
/// meets a tuple of untracked items untracks it.
pub struct Tuple {
    /// The items.
    pub items: Box<[Value]>,
    /// Tracked at birth.
    pub track: TrackAtBirth,
}

// SAFETY: reports each item's handle once, last item first (CPython's
// `tupletraverse` order, which `gc.get_referents` shows), the same on
// every call (the items never change); nothing else. FROZEN is false (the
// `track` field's reason): a wrong `false` only costs a collection's work.
#[allow(unsafe_code)]
unsafe impl Trace for Tuple {
    fn trace<V: Visitor>(&self, v: &mut V) {
        for (i, x) in self.items.iter().enumerate().rev() {
            v.index(i, |v| x.trace(v));
        }
    }

    fn dynamic_type_name(&self) -> Option<&str> {
        self.python_type_name()
    }
}

/// `list`.
#[derive(Default)]
pub struct List {
    /// The items.
    pub items: GcCell<Vec<Value>>,
}

// SAFETY: reports each item's handle once, last item first (CPython's
// `list_traverse` order, which `gc.get_referents` shows), the same on every
// call while the list is unchanged, `untraceable` while it is mutably
// borrowed; nothing else.
#[allow(unsafe_code)]
unsafe impl Trace for List {
    fn trace<V: Visitor>(&self, v: &mut V) {
        match self.items.try_borrow() {
            Ok(items) => {
                for (i, x) in items.iter().enumerate().rev() {
                    v.index(i, |v| x.trace(v));
                }
            }
            Err(_) => v.untraceable(),
        }
    }

    fn dynamic_type_name(&self) -> Option<&str> {
        self.python_type_name()
    }
}

/// `range`.
#[derive(Trace)]
#[pygc(dynamic_type_name = Range::python_type_name)]
pub struct Range {
    /// First value.
    pub start: i64,
    /// End (exclusive).
    pub stop: i64,
    /// Step (never 0).
    pub step: i64,
}

impl Range {
    /// Whether the range has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of values.
    pub fn len(&self) -> i64 {
        if self.step > 0 && self.start < self.stop {
            (self.stop - self.start - 1) / self.step + 1
        } else if self.step < 0 && self.start > self.stop {
            (self.start - self.stop - 1) / (-self.step) + 1
        } else {
            0
        }
    }
}

/// `slice` (always tracked, as in CPython).
#[derive(Trace)]
#[pygc(dynamic_type_name = Slice::python_type_name)]
pub struct Slice {
    /// `start`.
    pub start: Value,
    /// `stop`.
    pub stop: Value,
    /// `step`.
    pub step: Value,
    /// Tracked at birth.
    pub track: TrackAtBirth,
}

/// A module object.
#[derive(Trace)]
#[pygc(dynamic_type_name = Module::python_type_name)]
pub struct Module {
    /// `__name__`.
    pub name: String,
    /// The module's namespace.
    pub dict: Gc<Dict>,
}

/// Built-in objects that are not worth a `Value` variant of their own.
#[derive(Trace)]
#[pygc(dynamic_type_name = Native::python_type_name)]
pub struct Native {
    /// What it is.
    pub kind: NativeKind,
}

impl Native {
    /// `type(self).__name__`.
    pub fn kind_name(&self) -> &'static str {
        use IterState as S;
        match &self.kind {
            NativeKind::Iter(state) => match state.try_borrow().as_deref() {
                Ok(S::List(..)) => "list_iterator",
                Ok(S::Tuple(..)) => "tuple_iterator",
                Ok(S::Str(..)) => "str_ascii_iterator",
                Ok(S::Bytes(..)) => "bytes_iterator",
                Ok(S::Range { .. }) => "range_iterator",
                Ok(S::Dict { kind: DictIterKind::Keys, .. }) => "dict_keyiterator",
                Ok(S::Dict { kind: DictIterKind::Values, .. }) => "dict_valueiterator",
                Ok(S::Dict { kind: DictIterKind::Items, .. }) => "dict_itemiterator",
                Ok(S::Set(..)) => "set_iterator",
                Ok(S::Reversed(..)) => "list_reverseiterator",
                Ok(S::Enumerate(..)) => "enumerate",
                Ok(S::Zip(..)) => "zip",
                Ok(S::Map(..)) => "map",
                Ok(S::Filter(..)) => "filter",
                Ok(S::Callable(..)) => "callable_iterator",
                Ok(S::SeqIter(..) | S::Done) | Err(_) => "iterator",
            },
            NativeKind::Property { .. } => "property",
            NativeKind::StaticMethod(_) => "staticmethod",
            NativeKind::ClassMethod(_) => "classmethod",
            NativeKind::Super { .. } => "super",
            NativeKind::WeakRef(_) => "weakref",
            NativeKind::WeakProxy(_) => "weakproxy",
            NativeKind::Member { .. } => "member_descriptor",
            NativeKind::MappingProxy(_) => "mappingproxy",
            NativeKind::DictView(_, DictIterKind::Keys) => "dict_keys",
            NativeKind::DictView(_, DictIterKind::Values) => "dict_values",
            NativeKind::DictView(_, DictIterKind::Items) => "dict_items",
            NativeKind::Traceback(_) => "traceback",
            NativeKind::Opaque(o) => o.type_name(),
        }
    }

    /// `type(self).__name__`, for pygc's census and debug output.
    pub fn python_type_name(&self) -> Option<&str> {
        Some(self.kind_name())
    }
}

/// The kinds of [`Native`] objects.
#[derive(Trace)]
pub enum NativeKind {
    /// An iterator over a list, tuple, str, range, dict...
    Iter(GcCell<IterState>),
    /// `property(fget, fset, fdel, doc)`.
    Property {
        /// The getter (`None` if unreadable).
        fget: Value,
        /// The setter.
        fset: Value,
        /// The deleter.
        fdel: Value,
        /// `__doc__`.
        doc: Value,
    },
    /// `staticmethod(f)`.
    StaticMethod(Value),
    /// `classmethod(f)`.
    ClassMethod(Value),
    /// `super(cls, obj)`.
    Super {
        /// The class after which the MRO is searched.
        class: Gc<Class>,
        /// The instance (or class) the lookup binds to.
        obj: Value,
    },
    /// `weakref.ref(obj, callback)`.
    WeakRef(crate::modules::weakref::WeakRefData),
    /// `weakref.proxy(obj, callback)`.
    WeakProxy(crate::modules::weakref::WeakRefData),
    /// A `__slots__` member descriptor: the index of the slot.
    Member {
        /// The slot's name.
        name: String,
        /// The class that declared it (for error messages).
        class_name: String,
        /// Its index in the instance's attribute values.
        index: usize,
    },
    /// The `__dict__` of a class, read-only (`mappingproxy`).
    MappingProxy(Gc<Dict>),
    /// `d.keys()`, `d.values()`, `d.items()`: live views of a dict.
    DictView(Gc<Dict>, DictIterKind),
    /// A traceback object (the frames an exception passed through).
    Traceback(crate::vm::exc::TracebackData),
    /// An opaque handle from a native module (tracemalloc snapshots, ...).
    Opaque(crate::modules::Opaque),
}

/// The state of a built-in iterator.
#[derive(Trace)]
pub enum IterState {
    /// Over a list (by index, re-reading the list each step, as CPython).
    List(Gc<List>, usize),
    /// Over a tuple.
    Tuple(Gc<Tuple>, usize),
    /// Over the characters of a str (byte offset).
    Str(Gc<PyStr>, usize),
    /// Over bytes.
    Bytes(Gc<Bytes>, usize),
    /// Over a range.
    Range {
        /// The next value.
        next: i64,
        /// The end (exclusive).
        stop: i64,
        /// The step (never 0).
        step: i64,
    },
    /// Over a dict's keys, values or items (entry index, size at start).
    Dict {
        /// The dict.
        dict: Gc<Dict>,
        /// The next entry position.
        pos: usize,
        /// Keys, values or items.
        kind: DictIterKind,
        /// The size at the start ("dictionary changed size during iteration").
        len: usize,
    },
    /// Over a set (snapshot of the items).
    Set(Gc<Set>, usize, usize),
    /// `reversed(seq)` over a list or tuple.
    Reversed(Value, usize),
    /// `enumerate(it, start)`.
    Enumerate(Value, i64),
    /// `zip(*its)`.
    Zip(Vec<Value>),
    /// `map(f, *its)`.
    Map(Value, Vec<Value>),
    /// `filter(f, it)`.
    Filter(Value, Value),
    /// `iter(callable, sentinel)`.
    Callable(Value, Value),
    /// Over a sequence with `__getitem__` (index).
    SeqIter(Value, i64),
    /// Exhausted.
    Done,
}

/// Which view of a dict an iterator walks.
#[derive(Clone, Copy, PartialEq, Eq, Trace)]
pub enum DictIterKind {
    /// `iter(d)` / `d.keys()`.
    Keys,
    /// `d.values()`.
    Values,
    /// `d.items()`.
    Items,
}

/// A hash cached on first use (`-1` means not computed yet, as CPython).
#[derive(Default, Trace)]
pub struct HashCache(pub Cell<Option<i64>>);

impl Value {
    /// A new `str`.
    #[track_caller]
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Gc::new(PyStr::new(s.into())))
    }

    /// A new `tuple`.
    #[track_caller]
    pub fn tuple(items: Vec<Value>) -> Value {
        if items.is_empty() {
            // CPython's empty tuple is a singleton that is never tracked.
            let t = Gc::new(Tuple { items: Box::new([]), track: TrackAtBirth });
            pygc::gc::untrack(&t);
            return Value::Tuple(t);
        }
        if items.iter().all(|v| !dict::may_be_tracked(v) || matches!(v, Value::Tuple(_))) {
            UNTRACK_CANDIDATES.with(|c| c.set(c.get() + 1));
        }
        Value::Tuple(Gc::new(Tuple { items: items.into_boxed_slice(), track: TrackAtBirth }))
    }

    /// A new `list`.
    #[track_caller]
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Gc::new(List { items: GcCell::new(items) }))
    }

    /// An int from a big integer, immediate when it fits.
    #[track_caller]
    pub fn from_bigint(b: BigInt) -> Value {
        use num_traits::ToPrimitive;
        match b.to_i64() {
            Some(i) => Value::Int(i),
            None => Value::Long(Gc::new(Long(b))),
        }
    }

    /// A new native object.
    #[track_caller]
    pub fn native(kind: NativeKind) -> Value {
        Value::Native(Gc::new(Native { kind }))
    }

    /// A new built-in iterator.
    #[track_caller]
    pub fn iter(state: IterState) -> Value {
        Value::native(NativeKind::Iter(GcCell::new(state)))
    }

    /// Whether this is `None`.
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }

    /// Identity (`is`).
    pub fn is(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) | (NotImplemented, NotImplemented) | (Ellipsis, Ellipsis) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            _ => match (self.heap_id(), other.heap_id()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
        }
    }

    /// The address of the heap object, if this is one.
    pub fn heap_id(&self) -> Option<usize> {
        use Value::*;
        Some(match self {
            None | NotImplemented | Ellipsis | Bool(_) | Int(_) | Float(_) | Null => return Option::None,
            Long(g) => Gc::id(g),
            Str(g) => Gc::id(g),
            Bytes(g) => Gc::id(g),
            Tuple(g) => Gc::id(g),
            List(g) => Gc::id(g),
            Dict(g) => Gc::id(g),
            Set(g) | FrozenSet(g) => Gc::id(g),
            Range(g) => Gc::id(g),
            Slice(g) => Gc::id(g),
            Function(g) => Gc::id(g),
            Builtin(g) => Gc::id(g),
            Method(g) => Gc::id(g),
            Class(g) => Gc::id(g),
            Instance(g) => Gc::id(g),
            Module(g) => Gc::id(g),
            Generator(g) => Gc::id(g),
            Cell(g) => Gc::id(g),
            Code(g) => Gc::id(g),
            Native(g) => Gc::id(g),
        })
    }

    /// A type-erased handle to the heap object, if this is one.
    pub fn to_any(&self) -> Option<pygc::GcAny> {
        use Value::*;
        Some(match self {
            None | NotImplemented | Ellipsis | Bool(_) | Int(_) | Float(_) | Null => return Option::None,
            Long(g) => Gc::to_any(g),
            Str(g) => Gc::to_any(g),
            Bytes(g) => Gc::to_any(g),
            Tuple(g) => Gc::to_any(g),
            List(g) => Gc::to_any(g),
            Dict(g) => Gc::to_any(g),
            Set(g) | FrozenSet(g) => Gc::to_any(g),
            Range(g) => Gc::to_any(g),
            Slice(g) => Gc::to_any(g),
            Function(g) => Gc::to_any(g),
            Builtin(g) => Gc::to_any(g),
            Method(g) => Gc::to_any(g),
            Class(g) => Gc::to_any(g),
            Instance(g) => Gc::to_any(g),
            Module(g) => Gc::to_any(g),
            Generator(g) => Gc::to_any(g),
            Cell(g) => Gc::to_any(g),
            Code(g) => Gc::to_any(g),
            Native(g) => Gc::to_any(g),
        })
    }

    /// The strong count of the heap object (what CPython's `ob_refcnt` is).
    pub fn ref_count(&self) -> Option<usize> {
        use Value::*;
        Some(match self {
            None | NotImplemented | Ellipsis | Bool(_) | Int(_) | Float(_) | Null => return Option::None,
            Long(g) => Gc::ref_count(g),
            Str(g) => Gc::ref_count(g),
            Bytes(g) => Gc::ref_count(g),
            Tuple(g) => Gc::ref_count(g),
            List(g) => Gc::ref_count(g),
            Dict(g) => Gc::ref_count(g),
            Set(g) | FrozenSet(g) => Gc::ref_count(g),
            Range(g) => Gc::ref_count(g),
            Slice(g) => Gc::ref_count(g),
            Function(g) => Gc::ref_count(g),
            Builtin(g) => Gc::ref_count(g),
            Method(g) => Gc::ref_count(g),
            Class(g) => Gc::ref_count(g),
            Instance(g) => Gc::ref_count(g),
            Module(g) => Gc::ref_count(g),
            Generator(g) => Gc::ref_count(g),
            Cell(g) => Gc::ref_count(g),
            Code(g) => Gc::ref_count(g),
            Native(g) => Gc::ref_count(g),
        })
    }

    /// Converts a type-erased handle back into a value, when it is one of
    /// the interpreter's object types.
    pub fn from_any(any: pygc::GcAny) -> Option<Value> {
        macro_rules! try_as {
            ($any:expr, $($t:ty => $v:expr),* $(,)?) => {{
                let a = $any;
                $(let a = match a.downcast::<$t>() { Ok(g) => return Some($v(g)), Err(a) => a };)*
                drop(a);
                Option::None
            }};
        }
        try_as!(any,
            Instance => Value::Instance,
            List => Value::List,
            Dict => Value::Dict,
            Tuple => Value::Tuple,
            Function => Value::Function,
            Class => Value::Class,
            Set => |s: Gc<Set>| if s.frozen { Value::FrozenSet(s) } else { Value::Set(s) },
            PyStr => Value::Str,
            Module => Value::Module,
            Generator => Value::Generator,
            BoundMethod => Value::Method,
            Builtin => Value::Builtin,
            CellObj => Value::Cell,
            Native => Value::Native,
            Long => Value::Long,
            Bytes => Value::Bytes,
            Range => Value::Range,
            Slice => Value::Slice,
            Code => Value::Code,
        )
    }
}
