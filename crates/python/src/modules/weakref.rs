//! `weakref`: `ref` with callbacks, over pygc's `Weak`.

use pygc::{Gc, GcCell, Trace, Weak};

use crate::builtins::def;
use crate::object::{
    BoundMethod, Class, Dict, Function, Generator, Instance, Native, NativeKind, Set, Value,
};
use crate::vm::{Args, PyResult, Vm};

/// A weak handle to any object that can be weakly referenced.
#[derive(Trace)]
pub enum WeakTarget {
    /// An instance.
    Instance(Weak<Instance>),
    /// A function.
    Function(Weak<Function>),
    /// A class.
    Class(Weak<Class>),
    /// A set or frozenset.
    Set(Weak<Set>, bool),
    /// A generator.
    Generator(Weak<Generator>),
    /// A bound method.
    Method(Weak<BoundMethod>),
}

/// What a `weakref.ref` / `proxy` holds.
#[derive(Trace)]
pub struct WeakRefData {
    /// The referent (set right after creation).
    pub target: GcCell<Option<WeakTarget>>,
    /// The callback, kept alive by the weakref as in CPython.
    pub callback: GcCell<Option<Value>>,
}

impl WeakRefData {
    /// The referent, if alive.
    pub fn get(&self) -> Option<Value> {
        match self.target.borrow().as_ref()? {
            WeakTarget::Instance(w) => w.upgrade().map(Value::Instance),
            WeakTarget::Function(w) => w.upgrade().map(Value::Function),
            WeakTarget::Class(w) => w.upgrade().map(Value::Class),
            WeakTarget::Set(w, frozen) => {
                w.upgrade().map(|s| if *frozen { Value::FrozenSet(s) } else { Value::Set(s) })
            }
            WeakTarget::Generator(w) => w.upgrade().map(Value::Generator),
            WeakTarget::Method(w) => w.upgrade().map(Value::Method),
        }
    }
}

/// Fills the module.
pub fn fill(vm: &Vm, d: &Gc<Dict>) {
    def(d, "ref", "weakref", |vm, a| new_ref(vm, a, false));
    def(d, "proxy", "weakref", |vm, a| new_ref(vm, a, true));
    def(d, "getweakrefcount", "weakref", |vm, a| {
        a.check(vm, "getweakrefcount", 1, 1, &[])?;
        Ok(Value::Int(weak_count(&a.pos()[0]) as i64))
    });
    let _ = vm;
}

fn weak_count(v: &Value) -> usize {
    match v {
        Value::Instance(g) => Gc::downgrade(g).weak_count().saturating_sub(1),
        Value::Function(g) => Gc::downgrade(g).weak_count().saturating_sub(1),
        Value::Class(g) => Gc::downgrade(g).weak_count().saturating_sub(1),
        _ => 0,
    }
}

fn new_ref(vm: &Vm, a: Args<'_>, proxy: bool) -> PyResult<Value> {
    a.check(vm, if proxy { "proxy" } else { "ref" }, 1, 2, &[])?;
    let obj = &a.pos()[0];
    let callback = a.pos().get(1).filter(|c| !c.is_none()).cloned();
    let data = WeakRefData { target: GcCell::new(None), callback: GcCell::new(callback.clone()) };
    let native =
        Gc::new(Native { kind: if proxy { NativeKind::WeakProxy(data) } else { NativeKind::WeakRef(data) } });
    let me: Weak<Native> = Gc::downgrade(&native);
    let fire = move || {
        let Some(vm) = crate::vm::current() else { return };
        let Some(wr) = me.upgrade() else { return };
        let cb = match &wr.kind {
            NativeKind::WeakRef(d) | NativeKind::WeakProxy(d) => d.callback.borrow_mut().take(),
            _ => None,
        };
        if let Some(cb) = cb {
            let wrv = Value::Native(wr);
            if let Err(e) = vm.call(&cb, std::slice::from_ref(&wrv), &[]) {
                let ctx = vm.repr_or(&cb);
                vm.report_unraisable(&e, &ctx);
            }
        }
    };
    macro_rules! make {
        ($g:expr) => {
            if callback.is_some() {
                Gc::downgrade_with_callback($g, fire)
            } else {
                Gc::downgrade($g)
            }
        };
    }
    let target = match obj {
        Value::Instance(g) => WeakTarget::Instance(make!(g)),
        Value::Function(g) => WeakTarget::Function(make!(g)),
        Value::Class(g) => WeakTarget::Class(make!(g)),
        Value::Set(g) => WeakTarget::Set(make!(g), false),
        Value::FrozenSet(g) => WeakTarget::Set(make!(g), true),
        Value::Generator(g) => WeakTarget::Generator(make!(g)),
        Value::Method(g) => WeakTarget::Method(make!(g)),
        other => {
            return Err(
                vm.type_error(format!("cannot create weak reference to '{}' object", vm.type_name(other)))
            )
        }
    };
    match &native.kind {
        NativeKind::WeakRef(d) | NativeKind::WeakProxy(d) => *d.target.borrow_mut() = Some(target),
        _ => unreachable!("just built"),
    }
    Ok(Value::Native(native))
}

/// `repr(weakref.ref(x))`.
pub fn repr(vm: &Vm, v: &Value, w: &WeakRefData) -> String {
    let id = v.heap_id().unwrap_or(0);
    match w.get() {
        Some(t) => format!(
            "<weakref at {:#x}; to '{}' at {:#x}>",
            id,
            vm.class_of(&t).qualname.borrow(),
            t.heap_id().unwrap_or(0)
        ),
        None => format!("<weakref at {id:#x}; dead>"),
    }
}

/// `repr(weakref.proxy(x))`.
pub fn proxy_repr(vm: &Vm, v: &Value, w: &WeakRefData) -> String {
    let id = v.heap_id().unwrap_or(0);
    match w.get() {
        Some(t) => format!(
            "<weakproxy at {:#x}; to '{}' at {:#x}>",
            id,
            vm.class_of(&t).qualname.borrow(),
            t.heap_id().unwrap_or(0)
        ),
        None => format!("<weakproxy at {id:#x}; dead>"),
    }
}

/// The referent of a proxy, or `ReferenceError`.
pub fn proxy_target(vm: &Vm, w: &WeakRefData) -> PyResult<Value> {
    w.get().ok_or_else(|| vm.new_error("ReferenceError", "weakly-referenced object no longer exists"))
}

/// Runs the `weakref.finalize` callbacks still registered at exit.
pub fn run_atexit(vm: &Vm) {
    let pending = std::mem::take(&mut *vm.atexit.borrow_mut());
    drop(pending);
}
