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
use pygc::{Gc, GcCell, Trace};

pub use class::Class;
pub use dict::Dict;
pub use func::{BoundMethod, Builtin, CellObj, Code, Function, Generator, NativeFn};
pub use instance::Instance;
pub use set::Set;
pub use str::PyStr;

/// A Python value: an immediate or a handle to a pygc object.
#[derive(Clone, Trace)]
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

/// An arbitrary-precision integer (`int` beyond 64 bits).
#[derive(Trace)]
pub struct Long(#[pygc(skip)] pub BigInt);

/// `bytes`.
#[derive(Trace)]
pub struct Bytes {
    /// The bytes.
    pub data: Box<[u8]>,
}

/// `tuple`: fixed items. pygc never links a tuple of untracked items into a
/// generation (CPython untracks such tuples at the first collection).
#[derive(Trace)]
pub struct Tuple {
    /// The items.
    pub items: Box<[Value]>,
}

/// `list`.
#[derive(Trace, Default)]
pub struct List {
    /// The items.
    pub items: GcCell<Vec<Value>>,
}

/// `range`.
#[derive(Trace)]
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

/// `slice`.
#[derive(Trace)]
pub struct Slice {
    /// `start`.
    pub start: Value,
    /// `stop`.
    pub stop: Value,
    /// `step`.
    pub step: Value,
}

/// A module object.
#[derive(Trace)]
pub struct Module {
    /// `__name__`.
    pub name: String,
    /// The module's namespace.
    pub dict: Gc<Dict>,
}

/// Built-in objects that are not worth a `Value` variant of their own.
#[derive(Trace)]
pub struct Native {
    /// What it is.
    pub kind: NativeKind,
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
        Value::Tuple(Gc::new(Tuple { items: items.into_boxed_slice() }))
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
            Set => Value::Set,
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
