//! Classes (`type` objects): built-in types and classes defined in Python.

use std::cell::Cell;

use pygc::{Gc, GcCell, Trace};

use super::{Dict, PyStr, Value};

/// Which built-in layout instances of a class have. A class defined in
/// Python inherits its base's.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Trace)]
pub enum Layout {
    /// Plain `object` subclasses: attributes inline.
    Object,
    /// `BaseException` and subclasses.
    Exception,
    /// A built-in type whose values are not instances (int, str, list...).
    Builtin,
}

/// Flags cached from the class and its MRO, recomputed when a class
/// attribute is set.
pub mod flags {
    /// Defines `__del__`.
    pub const HAS_DEL: u32 = 1;
    /// Defines `__getattr__`.
    pub const HAS_GETATTR: u32 = 2;
    /// Defines `__setattr__` (other than object's).
    pub const HAS_SETATTR: u32 = 4;
    /// Defines `__getattribute__`.
    pub const HAS_GETATTRIBUTE: u32 = 8;
    /// Has a data descriptor (property, slot) somewhere in the MRO.
    pub const HAS_DESCRIPTORS: u32 = 16;
    /// Defines `__delattr__`.
    pub const HAS_DELATTR: u32 = 32;
    /// Defines `__new__`.
    pub const HAS_NEW: u32 = 64;
}

/// The names of instance attributes, shared by all instances of a class
/// (CPython 3.11's shared keys): an instance stores only the values.
#[derive(Trace, Default)]
pub struct SharedKeys {
    /// Attribute names in the order first assigned.
    pub names: Vec<Gc<PyStr>>,
}

impl SharedKeys {
    /// The index of `name`, if some instance has assigned it.
    #[inline]
    pub fn index_of(&self, name: &Gc<PyStr>) -> Option<usize> {
        if let Some(i) = self.names.iter().position(|n| Gc::ptr_eq(n, name)) {
            return Some(i);
        }
        self.names.iter().position(|n| n.s == name.s)
    }

    /// The index of a name given as `&str`.
    pub fn index_of_str(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| &*n.s == name)
    }
}

/// A class.
#[derive(Trace)]
#[pygc(dynamic_type_name = Class::python_type_name)]
pub struct Class {
    /// `__name__`.
    pub name: GcCell<String>,
    /// The name the class was defined with: what objgraph counts its
    /// instances by and `gc.DEBUG_COLLECTABLE` prints (pygc asks for a
    /// `&str` borrowed from the object, which a renamable `__name__` in a
    /// cell cannot give; a class renamed later keeps this name there).
    pub type_name: Box<str>,
    /// `__qualname__`.
    pub qualname: GcCell<String>,
    /// `__bases__`.
    pub bases: Vec<Gc<Class>>,
    /// `__mro__` without the class itself (which is always first).
    pub mro: Vec<Gc<Class>>,
    /// The namespace (`__dict__`).
    pub dict: Gc<Dict>,
    /// Instance layout.
    pub layout: Layout,
    /// Instance attribute names.
    pub keys: GcCell<SharedKeys>,
    /// `__slots__`, when the class (and its bases) define them: instances
    /// then have exactly these attributes and no `__dict__`.
    pub slots: Option<Vec<String>>,
    /// Cached [`flags`].
    pub flags: Flags,
    /// Set for built-in types (their methods are Rust functions).
    pub builtin: bool,
}

/// [`flags`] bits.
#[derive(Default, Trace)]
pub struct Flags(pub Cell<u32>);

impl Class {
    /// `type(self).__name__`: `type`.
    pub fn python_type_name(&self) -> Option<&str> {
        Some("type")
    }

    /// Whether a flag is set.
    #[inline]
    pub fn has(&self, flag: u32) -> bool {
        self.flags.0.get() & flag != 0
    }

    /// The class name.
    pub fn name(&self) -> String {
        self.name.borrow().clone()
    }
}

/// Looks `name` up along the MRO of `class` (the class itself first).
pub fn lookup(class: &Gc<Class>, name: &str) -> Option<Value> {
    if let Some(v) = class.dict.get_str(name) {
        return Some(v);
    }
    for c in &class.mro {
        if let Some(v) = c.dict.get_str(name) {
            return Some(v);
        }
    }
    None
}

/// `issubclass(a, b)`.
pub fn is_subclass(a: &Gc<Class>, b: &Gc<Class>) -> bool {
    Gc::ptr_eq(a, b) || a.mro.iter().any(|c| Gc::ptr_eq(c, b))
}

/// The full MRO, the class first.
pub fn full_mro(class: &Gc<Class>) -> Vec<Gc<Class>> {
    let mut v = Vec::with_capacity(class.mro.len() + 1);
    v.push(class.clone());
    v.extend(class.mro.iter().cloned());
    v
}

/// C3 linearization of `bases` (each given with its full MRO): the MRO of
/// a new class minus the class itself, or `None` when no consistent order
/// exists.
pub fn c3_merge(bases: &[Gc<Class>]) -> Option<Vec<Gc<Class>>> {
    let mut seqs: Vec<Vec<Gc<Class>>> = bases.iter().map(full_mro).collect();
    seqs.push(bases.to_vec());
    let mut out = Vec::new();
    loop {
        seqs.retain(|s| !s.is_empty());
        if seqs.is_empty() {
            return Some(out);
        }
        let mut chosen = None;
        for s in &seqs {
            let head = &s[0];
            let in_tail = seqs.iter().any(|t| t[1..].iter().any(|c| Gc::ptr_eq(c, head)));
            if !in_tail {
                chosen = Some(head.clone());
                break;
            }
        }
        let head = chosen?;
        for s in seqs.iter_mut() {
            if Gc::ptr_eq(&s[0], &head) {
                s.remove(0);
            }
        }
        out.push(head);
    }
}
