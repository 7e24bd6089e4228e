//! `weakref`: `ref` with callbacks, over pygc's `Weak`.

use pygc::{Gc, GcCell, Trace, Weak};

use crate::builtins::def;
use crate::object::DictObject;
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
    /// The referent's hash, kept once asked for (so a dead weakref that is
    /// a dict key can still be found and deleted, as in CPython).
    pub hash: crate::object::HashCache,
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

/// Fills the module: the native `ref`, `proxy`, `getweakrefcount` and
/// `getweakrefs`, then the containers and `finalize`, written in Python
/// (`weakref.py`, beside this file).
pub fn fill(vm: &Vm, d: &Gc<Dict>) -> PyResult<()> {
    def(d, "ref", "weakref", |vm, a| new_ref(vm, a, false));
    def(d, "proxy", "weakref", |vm, a| new_ref(vm, a, true));
    def(d, "getweakrefcount", "weakref", |vm, a| {
        a.check(vm, "getweakrefcount", 1, 1, &[])?;
        Ok(Value::Int(refs_to(&a.pos()[0]).len() as i64))
    });
    def(d, "getweakrefs", "weakref", |vm, a| {
        a.check(vm, "getweakrefs", 1, 1, &[])?;
        Ok(Value::list(refs_to(&a.pos()[0])))
    });
    d.set_str(&vm.name("ReferenceType"), Value::Class(vm.types.weakref.clone()));
    d.set_str(&vm.name("ProxyType"), Value::Class(vm.types.weakproxy.clone()));
    crate::run::run_builtin_source(vm, "<frozen weakref>", include_str!("weakref.py"), d)
}

/// The weak reference objects (`ref` and `proxy`) whose referent is `v`,
/// oldest first: found among the tracked objects (a weakref is tracked).
fn refs_to(v: &Value) -> Vec<Value> {
    let Some(id) = v.heap_id() else { return Vec::new() };
    let Ok(objs) = pygc::gc::get_objects(None) else { return Vec::new() };
    let mut out: Vec<Value> = objs
        .into_iter()
        .filter_map(|o| o.downcast::<Native>().ok())
        .filter(|n| match &n.kind {
            NativeKind::WeakRef(w) | NativeKind::WeakProxy(w) => {
                w.get().and_then(|t| t.heap_id()) == Some(id)
            }
            _ => false,
        })
        .map(Value::Native)
        .collect();
    out.reverse();
    out
}

fn new_ref(vm: &Vm, a: Args<'_>, proxy: bool) -> PyResult<Value> {
    a.check(vm, if proxy { "proxy" } else { "ref" }, 1, 2, &[])?;
    let obj = &a.pos()[0];
    let callback = a.pos().get(1).filter(|c| !c.is_none()).cloned();
    if callback.is_none() {
        // CPython shares one callback-less ref (and proxy) per object.
        if let Some(shared) = shared_ref(obj, proxy) {
            return Ok(shared);
        }
    }
    let data = WeakRefData {
        target: GcCell::new(None),
        callback: GcCell::new(callback.clone()),
        hash: Default::default(),
    };
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
    if callback.is_none() {
        remember_shared(obj, proxy, &native);
    }
    Ok(Value::Native(native))
}

thread_local! {
    /// The callback-less ref and proxy of each object, by its `id()`.
    static SHARED: std::cell::RefCell<std::collections::HashMap<(usize, bool), Weak<Native>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The shared callback-less weak reference to `obj`, if one is alive and
/// still refers to it (an `id()` can be reused once its object is gone).
fn shared_ref(obj: &Value, proxy: bool) -> Option<Value> {
    let id = obj.heap_id()?;
    let w = SHARED.with(|s| s.borrow().get(&(id, proxy)).cloned())?;
    let n = w.upgrade()?;
    let same = match &n.kind {
        NativeKind::WeakRef(d) | NativeKind::WeakProxy(d) => d.get().is_some_and(|t| t.is(obj)),
        _ => false,
    };
    same.then_some(Value::Native(n))
}

fn remember_shared(obj: &Value, proxy: bool, native: &Gc<Native>) {
    let Some(id) = obj.heap_id() else { return };
    let w = Gc::downgrade(native);
    let old = SHARED.with(|s| {
        let mut s = s.borrow_mut();
        // Forget entries whose weakref died, so the table stays small.
        if s.len() > 64 && s.len().is_power_of_two() {
            s.retain(|_, w| w.upgrade().is_some());
        }
        s.insert((id, proxy), w)
    });
    drop(old);
}

/// `hash(ref)`: the referent's hash (an error once it is dead), as CPython.
pub fn ref_hash(vm: &Vm, w: &WeakRefData) -> PyResult<i64> {
    if let Some(h) = w.hash.0.get() {
        return Ok(h);
    }
    match w.get() {
        Some(t) => {
            let h = vm.hash(&t)?;
            w.hash.0.set(Some(h));
            Ok(h)
        }
        None => Err(vm.type_error("weak object has gone away")),
    }
}

/// `ref1 == ref2`: the referents compared while both are alive, else
/// identity.
pub fn ref_eq(vm: &Vm, a: &Value, x: &WeakRefData, b: &Value, y: &WeakRefData) -> PyResult<bool> {
    match (x.get(), y.get()) {
        (Some(p), Some(q)) => vm.eq(&p, &q),
        _ => Ok(a.is(b)),
    }
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

/// Runs the `weakref.finalize` callbacks still registered at exit (CPython
/// runs them from `atexit`, before the modules are torn down), if the
/// program imported `weakref`.
pub fn run_atexit(vm: &Vm) {
    let Some(Value::Module(m)) = vm.modules.get_str("weakref") else { return };
    let Some(f) = m.dict.get_str("_run_atexit") else { return };
    if let Err(e) = vm.call(&f, &[], &[]) {
        let ctx = vm.repr_or(&f);
        vm.report_unraisable(&e, &ctx);
    }
}
