//! Instances of classes defined in Python: attribute values inline, the
//! names shared by the class (CPython 3.11's layout), no `__dict__` object
//! until one is asked for.

use pygc::{Gc, GcCell, Trace, Visitor};
use smallvec::SmallVec;

use super::{Class, Dict, Value};

/// Attribute values kept in the object itself.
pub const INLINE_ATTRS: usize = 2;

/// What an instance holds besides its class.
#[derive(Default)]
pub struct InstanceData {
    /// The first attribute values, by the class's key index.
    pub inline: [Option<Value>; INLINE_ATTRS],
    /// Everything rarer: more attributes, a materialized `__dict__`,
    /// exception state.
    pub extra: Option<Box<Extra>>,
}

/// Attribute values past [`INLINE_ATTRS`] that [`Extra`] holds without a
/// buffer of their own.
pub const EXTRA_INLINE_ATTRS: usize = 4;

/// The rare parts of an instance.
#[derive(Default)]
pub struct Extra {
    /// Attribute values past [`INLINE_ATTRS`]: the next
    /// [`EXTRA_INLINE_ATTRS`] in this block, so an instance with up to six
    /// attributes costs two allocations rather than three (a separate
    /// buffer was a third allocation and a third free per object: 6 % of
    /// the instructions of collecting pyperformance's gc_collect shape).
    pub more: SmallVec<[Option<Value>; EXTRA_INLINE_ATTRS]>,
    /// The `__dict__`, once asked for: from then on attributes live there.
    pub dict: Option<Gc<Dict>>,
    /// Exception state, for exception instances.
    pub exc: Option<Box<crate::vm::exc::ExcData>>,
}

/// An instance. Every Python object of every user class is this one Rust
/// type; it tells pygc its class name ([`Trace::dynamic_type_name`]) and
/// labels its edges with attribute names ([`Visitor::attribute`]), so
/// objgraph counts `Node`s and draws `ref` edges. `__del__` runs through
/// [`Trace::finalize`] with the instance's own handle (PEP 442: once).
pub struct Instance {
    /// `__class__`.
    pub class: Gc<Class>,
    /// Attributes.
    pub data: GcCell<InstanceData>,
}

// SAFETY: `trace` reports every handle the instance owns exactly once, in
// a fixed order: the attribute values (inline, then `more`), the
// materialized `__dict__`, the exception state (through `ExcData`'s derived
// impl), then the class; the same ones on every call while the instance is
// unchanged; if the data cell is mutably borrowed it reports `untraceable`
// instead (the collector then keeps everything). To label the edges it only
// reads the class's key names through shared borrows that may fail
// (`try_get`, `try_borrow`): no handle is cloned or dropped, no cell is
// mutated, nothing is allocated on the pygc heap, no gc function is called.
#[allow(unsafe_code)]
unsafe impl Trace for Instance {
    const HAS_FINALIZER: bool = true;

    fn trace<V: Visitor>(&self, v: &mut V) {
        match self.data.try_borrow() {
            Ok(d) if !V::LABELS => {
                // The collector's visitors: no labels, so no class lookup
                // and no slot numbering, a plain loop over the slots.
                for value in d.inline.iter().flatten() {
                    value.trace(v);
                }
                if let Some(e) = d.extra.as_deref() {
                    for value in e.more.iter().flatten() {
                        value.trace(v);
                    }
                    if let Some(dict) = &e.dict {
                        dict.trace(v);
                    }
                    if let Some(exc) = &e.exc {
                        exc.trace(v);
                    }
                }
            }
            Ok(d) => {
                // Attribute names label the edges (objgraph, get_referents
                // with labels): one class borrow per instance.
                let keys = Gc::try_get(&self.class).ok().and_then(|c| c.keys.try_borrow().ok());
                let extra = d.extra.as_deref();
                let values = d.inline.iter().chain(extra.into_iter().flat_map(|e| e.more.iter()));
                for (i, value) in values.enumerate() {
                    let Some(value) = value else { continue };
                    match keys.as_ref().and_then(|k| k.names.get(i)) {
                        Some(name) => v.attribute(&name.s, |v| value.trace(v)),
                        None => v.index(i, |v| value.trace(v)),
                    }
                }
                if let Some(e) = extra {
                    if let Some(dict) = &e.dict {
                        v.field("__dict__", |v| dict.trace(v));
                    }
                    if let Some(exc) = &e.exc {
                        exc.trace(v);
                    }
                }
            }
            Err(_) => v.untraceable(),
        }
        v.field("__class__", |v| self.class.trace(v));
    }

    fn dynamic_type_name(&self) -> Option<&str> {
        Gc::try_get(&self.class).ok().map(|c| &*c.type_name)
    }

    /// Only instances of classes that define `__del__` go through the
    /// finalizer protocol (CPython's `tp_finalize` is set only for those):
    /// garbage without one skips the finalizer pass and the resurrection
    /// check.
    fn needs_finalize(&self) -> bool {
        Gc::try_get(&self.class).map_or(true, |c| c.has(crate::object::class::flags::HAS_DEL))
    }

    fn finalize(this: &Gc<Self>) {
        crate::vm::finalize_instance(this)
    }
}

impl Instance {
    /// A new instance with no attributes.
    pub fn new(class: Gc<Class>) -> Instance {
        Instance { class, data: GcCell::new(InstanceData::default()) }
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

#[cfg(test)]
mod tests {
    use crate::object::Value;
    use crate::run::run_for_test;

    #[test]
    fn edges_are_labelled_by_attribute_name_and_the_class_names_the_type() {
        let (_vm, g, r) = run_for_test(
            "class Node:\n    def __init__(self):\n        self.ref = None\n        self.kids = []\n        self.more = {}\nn = Node()\nn.ref = n\n",
        );
        assert!(r.is_ok());
        let Some(Value::Instance(n)) = g.get_str("n") else { panic!("n") };
        let any = pygc::Gc::to_any(&n);
        assert_eq!(any.dynamic_type_name().as_deref(), Some("Node"));
        let labels: Vec<String> = any.edges().into_iter().map(|e| e.label).collect();
        assert_eq!(labels, ["ref", "kids", "more", "__class__"]);
        n.set_index(0, None);
    }

    #[test]
    fn an_instance_with_a_materialized_dict_traces_it() {
        let (_vm, g, r) = run_for_test("class A:\n    pass\na = A()\na.x = 1\nd = a.__dict__\n");
        assert!(r.is_ok());
        let Some(Value::Instance(a)) = g.get_str("a") else { panic!("a") };
        let labels: Vec<String> = pygc::Gc::to_any(&a).edges().into_iter().map(|e| e.label).collect();
        assert_eq!(labels, ["__dict__", "__class__"]);
    }
}
