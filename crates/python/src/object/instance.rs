//! Instances of classes defined in Python: attribute values inline, the
//! names shared by the class (CPython 3.11's layout), no `__dict__` object
//! until one is asked for.

use std::cell::Cell;

use pygc::{Finalize, Gc, GcCell, Trace};

use super::{Class, Dict, Value};

/// Attribute values kept in the object itself.
pub const INLINE_ATTRS: usize = 2;

/// What an instance holds besides its class.
#[derive(Trace, Default)]
pub struct InstanceData {
    /// The first attribute values, by the class's key index.
    pub inline: [Option<Value>; INLINE_ATTRS],
    /// Everything rarer: more attributes, a materialized `__dict__`,
    /// exception state.
    pub extra: Option<Box<Extra>>,
}

/// The rare parts of an instance.
#[derive(Trace, Default)]
pub struct Extra {
    /// Attribute values past [`INLINE_ATTRS`].
    pub more: Vec<Option<Value>>,
    /// The `__dict__`, once asked for: from then on attributes live there.
    pub dict: Option<Gc<Dict>>,
    /// Exception state, for exception instances.
    pub exc: Option<crate::vm::exc::ExcData>,
}

/// An instance.
#[derive(Trace)]
#[pygc(finalize)]
pub struct Instance {
    /// `__class__`.
    pub class: Gc<Class>,
    /// Attributes.
    pub data: GcCell<InstanceData>,
    /// `__del__` already ran (PEP 442: at most once per object).
    pub finalized: Finalized,
}

/// The PEP 442 "already finalized" bit.
#[derive(Default, Trace)]
pub struct Finalized(pub Cell<bool>);

impl Instance {
    /// A new instance with no attributes.
    pub fn new(class: Gc<Class>) -> Instance {
        Instance { class, data: GcCell::new(InstanceData::default()), finalized: Finalized::default() }
    }

    /// The value at key index `i` (no `__dict__`).
    #[inline]
    pub fn get_index(&self, i: usize) -> Option<Value> {
        let d = self.data.borrow();
        if i < INLINE_ATTRS {
            d.inline[i].clone()
        } else {
            d.extra.as_ref().and_then(|e| e.more.get(i - INLINE_ATTRS).cloned().flatten())
        }
    }

    /// Sets the value at key index `i`; returns the old one (to be dropped
    /// by the caller after the borrow ends).
    #[inline]
    pub fn set_index(&self, i: usize, v: Option<Value>) -> Option<Value> {
        let mut d = self.data.borrow_mut();
        if i < INLINE_ATTRS {
            std::mem::replace(&mut d.inline[i], v)
        } else {
            let e = d.extra.get_or_insert_with(Default::default);
            let j = i - INLINE_ATTRS;
            if e.more.len() <= j {
                // Deleting an attribute never set: nothing to grow.
                v.as_ref()?;
                e.more.resize(j + 1, None);
            }
            std::mem::replace(&mut e.more[j], v)
        }
    }

    /// The materialized `__dict__`, if any.
    pub fn dict(&self) -> Option<Gc<Dict>> {
        self.data.borrow().extra.as_ref().and_then(|e| e.dict.clone())
    }
}

impl Finalize for Instance {
    fn finalize(this: &Gc<Self>) {
        crate::vm::finalize_instance(this)
    }
}
