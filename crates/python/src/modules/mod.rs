//! The built-in modules, one file each, each mapping Python names onto
//! pygc's API.

pub mod gc;
pub mod memory_profiler;
pub mod objgraph;
pub mod sys;
pub mod time;
pub mod tracemalloc;
pub mod weakref;

use crate::object::DictObject;
use pygc::{Gc, Trace};

use crate::object::{Class, Dict, Module, Value};
use crate::vm::{PyResult, Vm};

const BUILTIN_MODULES: &[&str] =
    &["sys", "gc", "time", "weakref", "builtins", "tracemalloc", "objgraph", "memory_profiler"];

/// Whether `name` is a module built into the interpreter.
pub fn is_builtin_module(name: &str) -> bool {
    BUILTIN_MODULES.contains(&name)
}

/// Registers `builtins` in `sys.modules`.
pub fn install(vm: &'static Vm) {
    let m = Value::Module(Gc::new(Module { name: "builtins".into(), dict: vm.builtins.clone() }));
    vm.modules.set_str(&vm.name("builtins"), m);
}

fn new_module(vm: &Vm, name: &str) -> PyResult<Option<Gc<Module>>> {
    let dict = Dict::new_object();
    dict.set_str(&vm.name("__name__"), Value::str(name.to_string()));
    match name {
        "sys" => sys::fill(vm, &dict),
        "gc" => gc::fill(vm, &dict),
        "time" => time::fill(vm, &dict),
        "weakref" => weakref::fill(vm, &dict)?,
        "tracemalloc" => tracemalloc::fill(vm, &dict),
        "objgraph" => objgraph::fill(vm, &dict),
        "memory_profiler" => memory_profiler::fill(vm, &dict),
        _ => return Ok(None),
    }
    Ok(Some(Gc::new(Module { name: name.to_string(), dict })))
}

impl Vm {
    /// `import name`: a built-in module (created on first import and kept in
    /// `sys.modules`).
    pub fn import(&self, name: &str) -> PyResult<Value> {
        if let Some(m) = self.modules.get_str(name) {
            return Ok(m);
        }
        match new_module(self, name)? {
            Some(m) => {
                let v = Value::Module(m);
                self.modules.set_str(&Gc::new(crate::object::PyStr::new(name.to_string())), v.clone());
                Ok(v)
            }
            None => {
                let e = self.new_error("ModuleNotFoundError", format!("No module named '{name}'"));
                Err(e)
            }
        }
    }
}

/// Objects of native modules that are not worth a `NativeKind` each.
#[derive(Trace)]
pub enum Opaque {
    /// `object()`.
    Object,
    /// `sys.stdout` (true) or `sys.stderr` (false).
    Stream(bool),
    /// A `tracemalloc` object (snapshot, statistic, traceback...).
    Tracemalloc(tracemalloc::TmObject),
    /// A function wrapped by memory_profiler's `@profile`.
    Profiled(memory_profiler::Profiled),
}

/// Classes of the objects of native modules, by `type(o).__name__`, and
/// the module each belongs to (for `repr` of the class).
pub const NATIVE_CLASSES: &[(&str, &str)] = &[
    ("Snapshot", "tracemalloc"),
    ("Statistic", "tracemalloc"),
    ("StatisticDiff", "tracemalloc"),
    ("Traceback", "tracemalloc"),
    ("Frame", "tracemalloc"),
    ("Trace", "tracemalloc"),
    ("Filter", "tracemalloc"),
    ("DomainFilter", "tracemalloc"),
];

impl Opaque {
    /// `object()`.
    pub fn plain_object() -> Opaque {
        Opaque::Object
    }

    /// `type(self).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Opaque::Object => "object",
            Opaque::Stream(_) => "TextIOWrapper",
            Opaque::Tracemalloc(t) => t.type_name(),
            Opaque::Profiled(_) => "function",
        }
    }

    /// Its class.
    pub fn class<'v>(&'v self, vm: &'v Vm) -> &'v Gc<Class> {
        match self {
            Opaque::Object => &vm.types.object,
            Opaque::Stream(_) => &vm.types.opaque,
            Opaque::Profiled(_) => &vm.types.function,
            other => &vm.types.native[other.type_name()],
        }
    }

    /// `repr`.
    pub fn repr(&self, vm: &Vm, v: &Value) -> PyResult<String> {
        Ok(match self {
            Opaque::Object => format!("<object object at {:#x}>", v.heap_id().unwrap_or(0)),
            Opaque::Stream(true) => "<_io.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>".into(),
            Opaque::Stream(false) => "<_io.TextIOWrapper name='<stderr>' mode='w' encoding='utf-8'>".into(),
            Opaque::Tracemalloc(t) => t.repr(),
            Opaque::Profiled(p) => p.repr(vm, v),
        })
    }

    /// `str`, where it is not `repr`.
    pub fn str(&self) -> Option<String> {
        match self {
            Opaque::Tracemalloc(t) => t.str(),
            _ => None,
        }
    }

    /// Attributes (methods are on the class).
    pub fn getattr(&self, vm: &Vm, obj: &Value, name: &str) -> PyResult<Option<Value>> {
        match self {
            Opaque::Stream(_) => sys::stream_attr(vm, obj, name),
            Opaque::Object => Ok(None),
            Opaque::Tracemalloc(t) => Ok(t.getattr(vm, name)),
            Opaque::Profiled(p) => p.getattr(vm, name),
        }
    }

    /// `len`.
    pub fn len(&self, vm: &Vm, v: &Value) -> PyResult<usize> {
        match self {
            Opaque::Tracemalloc(tracemalloc::TmObject::Traceback(tb)) => Ok(tb.len()),
            _ => Err(vm.type_error(format!("object of type '{}' has no len()", vm.type_name(v)))),
        }
    }

    /// `v[k]`; `None` when the object is not subscriptable.
    pub fn getitem(&self, vm: &Vm, k: &Value) -> PyResult<Option<Value>> {
        match self {
            Opaque::Tracemalloc(t) => t.getitem(vm, k),
            _ => Ok(None),
        }
    }

    /// `iter(v)`; `None` when the object is not iterable.
    pub fn iter(&self, vm: &Vm) -> PyResult<Option<Value>> {
        match self {
            Opaque::Tracemalloc(t) => match t.items() {
                Some(items) => Ok(Some(vm.iter(&Value::list(items))?)),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// `v(*args)`; `None` when the object is not callable.
    pub fn call(&self, vm: &Vm, v: &Value, args: &[Value], kwnames: &[Value]) -> PyResult<Option<Value>> {
        match self {
            Opaque::Profiled(p) => p.call(vm, v, args, kwnames).map(Some),
            _ => Ok(None),
        }
    }

    /// `v == other` for objects compared by value; `None` for identity.
    pub fn eq(&self, other: &Opaque) -> Option<bool> {
        match (self, other) {
            (Opaque::Tracemalloc(a), Opaque::Tracemalloc(b)) => a.eq(b),
            _ => None,
        }
    }
}
