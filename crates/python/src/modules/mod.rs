//! The built-in modules, one file each, each mapping Python names onto
//! pygc's API.

pub mod gc;
pub mod sys;
pub mod time;
pub mod tracemalloc;
pub mod weakref;

use crate::object::DictObject;
use pygc::{Gc, Trace};

use crate::object::{Class, Dict, Module, Value};
use crate::vm::{PyResult, Vm};

const BUILTIN_MODULES: &[&str] = &["sys", "gc", "time", "weakref", "builtins"];

/// Whether `name` is a module built into the interpreter.
pub fn is_builtin_module(name: &str) -> bool {
    BUILTIN_MODULES.contains(&name)
}

/// Registers `builtins` in `sys.modules`.
pub fn install(vm: &'static Vm) {
    let m = Value::Module(Gc::new(Module { name: "builtins".into(), dict: vm.builtins.clone() }));
    vm.modules.set_str(&vm.name("builtins"), m);
}

fn new_module(vm: &Vm, name: &str) -> Option<Gc<Module>> {
    let dict = Dict::new_object();
    dict.set_str(&vm.name("__name__"), Value::str(name.to_string()));
    match name {
        "sys" => sys::fill(vm, &dict),
        "gc" => gc::fill(vm, &dict),
        "time" => time::fill(vm, &dict),
        "weakref" => weakref::fill(vm, &dict),
        _ => return None,
    }
    Some(Gc::new(Module { name: name.to_string(), dict }))
}

impl Vm {
    /// `import name`: a built-in module (created on first import and kept in
    /// `sys.modules`).
    pub fn import(&self, name: &str) -> PyResult<Value> {
        if let Some(m) = self.modules.get_str(name) {
            return Ok(m);
        }
        match new_module(self, name) {
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
}

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
        }
    }

    /// Its class.
    pub fn class<'v>(&'v self, vm: &'v Vm) -> &'v Gc<Class> {
        match self {
            Opaque::Object => &vm.types.object,
            Opaque::Stream(_) => &vm.types.opaque,
        }
    }

    /// `repr`.
    pub fn repr(&self, vm: &Vm, v: &Value) -> PyResult<String> {
        Ok(match self {
            Opaque::Object => format!("<object object at {:#x}>", v.heap_id().unwrap_or(0)),
            Opaque::Stream(out) => {
                if *out {
                    "<_io.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>".into()
                } else {
                    let _ = vm;
                    "<_io.TextIOWrapper name='<stderr>' mode='w' encoding='utf-8'>".into()
                }
            }
        })
    }

    /// Attributes.
    pub fn getattr(&self, vm: &Vm, obj: &Value, name: &str) -> PyResult<Option<Value>> {
        match self {
            Opaque::Stream(_) => sys::stream_attr(vm, obj, name),
            Opaque::Object => Ok(None),
        }
    }

    /// `len`.
    pub fn len(&self, vm: &Vm, v: &Value) -> PyResult<usize> {
        Err(vm.type_error(format!("object of type '{}' has no len()", vm.type_name(v))))
    }
}
