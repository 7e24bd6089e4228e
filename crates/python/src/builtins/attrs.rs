//! Attributes of built-in objects that are not methods (`__name__` of a
//! function, `gi_frame` of a generator, ...).

use crate::object::{NativeKind, Value};
use crate::vm::{PyResult, Vm};

/// A data attribute of a built-in object, if it has one by that name.
pub fn special_attr(vm: &Vm, obj: &Value, name: &str) -> PyResult<Option<Value>> {
    Ok(match (obj, name) {
        (_, "__class__") => Some(Value::Class(vm.class_of(obj).clone())),
        (Value::Function(f), "__name__") => Some(Value::Str(f.name.borrow().clone())),
        (Value::Function(f), "__qualname__") => Some(Value::Str(f.qualname.borrow().clone())),
        (Value::Function(f), "__module__") => Some(f.module.clone()),
        (Value::Function(f), "__doc__") => Some(f.doc.clone()),
        (Value::Function(f), "__code__") => Some(Value::Code(f.code.clone())),
        (Value::Function(f), "__globals__") => Some(Value::Dict(f.globals.clone())),
        (Value::Function(f), "__defaults__") => Some(f.defaults.clone().map_or(Value::None, Value::Tuple)),
        (Value::Function(f), "__kwdefaults__") => Some(f.kwdefaults.clone().map_or(Value::None, Value::Dict)),
        (Value::Function(f), "__closure__") => Some(if f.closure.is_empty() {
            Value::None
        } else {
            Value::tuple(f.closure.iter().cloned().map(Value::Cell).collect())
        }),
        (Value::Function(f), "__dict__") => {
            let d = f.dict.borrow().clone();
            Some(Value::Dict(match d {
                Some(d) => d,
                None => {
                    let d = crate::object::Dict::new_object();
                    *f.dict.borrow_mut() = Some(d.clone());
                    d
                }
            }))
        }
        (Value::Function(f), _) => f.dict.borrow().as_ref().and_then(|d| d.get_str(name)),
        (Value::Code(c), "co_name") => Some(Value::str(c.name.clone())),
        (Value::Code(c), "co_filename") => Some(Value::str(c.source.filename.clone())),
        (Value::Code(c), "co_firstlineno") => Some(Value::Int(c.firstlineno as i64)),
        (Value::Code(c), "co_qualname") => Some(Value::str(c.qualname.clone())),
        (Value::Code(c), "co_argcount") => Some(Value::Int(c.argcount as i64)),
        (Value::Code(c), "co_varnames") => {
            Some(Value::tuple(c.varnames.iter().cloned().map(Value::Str).collect()))
        }
        (Value::Method(m), "__self__") => Some(m.obj.clone()),
        (Value::Method(m), "__func__") => Some(m.func.clone()),
        (Value::Method(m), "__name__" | "__qualname__" | "__doc__" | "__module__") => {
            Some(vm.getattr(&m.func, &vm.name(static_name(name)))?)
        }
        (Value::Builtin(b), "__name__") => Some(Value::str(b.name)),
        (Value::Builtin(b), "__qualname__") => Some(Value::str(b.name)),
        (Value::Builtin(b), "__self__") => Some(b.bound.clone().unwrap_or(Value::None)),
        (Value::Generator(g), "__name__") => Some(Value::Str(g.name.clone())),
        (Value::Generator(g), "__qualname__") => Some(Value::Str(g.qualname.clone())),
        (Value::Generator(g), "gi_code") => Some(Value::Code(g.code.clone())),
        (Value::Generator(g), "gi_running") => {
            Some(Value::Bool(*g.state.borrow() == crate::object::func::GenState::Running))
        }
        (Value::Cell(c), "cell_contents") => match &*c.value.borrow() {
            Some(v) => Some(v.clone()),
            None => return Err(vm.value_error("Cell is empty")),
        },
        (Value::Slice(s), "start") => Some(s.start.clone()),
        (Value::Slice(s), "stop") => Some(s.stop.clone()),
        (Value::Slice(s), "step") => Some(s.step.clone()),
        (Value::Range(r), "start") => Some(Value::Int(r.start)),
        (Value::Range(r), "stop") => Some(Value::Int(r.stop)),
        (Value::Range(r), "step") => Some(Value::Int(r.step)),
        (Value::Int(_) | Value::Long(_) | Value::Bool(_), "real" | "numerator") => Some(match obj {
            Value::Bool(b) => Value::Int(*b as i64),
            o => o.clone(),
        }),
        (Value::Int(_) | Value::Long(_) | Value::Bool(_), "imag") => Some(Value::Int(0)),
        (Value::Int(_) | Value::Long(_) | Value::Bool(_), "denominator") => Some(Value::Int(1)),
        (Value::Float(f), "real") => Some(Value::Float(*f)),
        (Value::Float(_), "imag") => Some(Value::Float(0.0)),
        (Value::Native(n), _) => match (&n.kind, name) {
            (NativeKind::Property { fget, .. }, "fget") => Some(fget.clone()),
            (NativeKind::Property { fset, .. }, "fset") => Some(fset.clone()),
            (NativeKind::Property { fdel, .. }, "fdel") => Some(fdel.clone()),
            (NativeKind::Property { doc, .. }, "__doc__") => Some(doc.clone()),
            (NativeKind::StaticMethod(f) | NativeKind::ClassMethod(f), "__func__") => Some(f.clone()),
            (NativeKind::WeakProxy(w), _) => {
                let target = crate::modules::weakref::proxy_target(vm, w)?;
                Some(vm.getattr(&target, &pygc::Gc::new(crate::object::PyStr::new(name.to_string())))?)
            }
            (NativeKind::Opaque(o), _) => o.getattr(vm, obj, name)?,
            (NativeKind::DictView(d, _), "mapping") => {
                Some(Value::native(NativeKind::MappingProxy(d.clone())))
            }
            (NativeKind::Traceback(t), "tb_lineno") => {
                t.entries.last().map(|e| Value::Int(e.code.line_at(e.pc as usize) as i64))
            }
            _ => None,
        },
        (Value::Module(m), "__name__") => Some(Value::str(m.name.clone())),
        _ => None,
    })
}

fn static_name(name: &str) -> &'static str {
    match name {
        "__name__" => "__name__",
        "__qualname__" => "__qualname__",
        "__doc__" => "__doc__",
        _ => "__module__",
    }
}
