//! `sys`: reference counts, sizes, argv, exit, the recursion limit,
//! `stdout`/`stderr`, `_debugmallocstats`.

use crate::object::DictObject;
use pygc::Gc;

use crate::builtins::{builtin, def};
use crate::object::{Dict, NativeKind, Value};
use crate::vm::{Args, PyResult, Vm};

/// Fills the module.
pub fn fill(vm: &Vm, d: &Gc<Dict>) {
    def(d, "getrefcount", "sys", getrefcount);
    def(d, "getsizeof", "sys", getsizeof);
    def(d, "exit", "sys", exit);
    def(d, "getrecursionlimit", "sys", |vm, _a| Ok(Value::Int(vm.recursion_limit.get() as i64)));
    def(d, "setrecursionlimit", "sys", setrecursionlimit);
    def(d, "_debugmallocstats", "sys", |vm, _a| {
        vm.flush_stdout();
        pygc::sys::debugmallocstats();
        Ok(Value::None)
    });
    def(d, "exc_info", "sys", |vm, _a| {
        let cur = vm.handled.borrow().last().cloned().flatten();
        Ok(match cur {
            Some(e) => {
                let v = e.value();
                Value::tuple(vec![Value::Class(e.class().clone()), v.clone(), vm.traceback_of(&v)])
            }
            None => Value::tuple(vec![Value::None, Value::None, Value::None]),
        })
    });
    let argv: Vec<Value> = vm.argv.borrow().iter().map(|a| Value::str(a.clone())).collect();
    d.set_str(&vm.name("argv"), Value::list(argv));
    let stdout = Value::native(NativeKind::Opaque(super::Opaque::Stream(true)));
    let stderr = Value::native(NativeKind::Opaque(super::Opaque::Stream(false)));
    d.set_str(&vm.name("stdout"), stdout.clone());
    d.set_str(&vm.name("stderr"), stderr.clone());
    d.set_str(&vm.name("__stdout__"), stdout);
    d.set_str(&vm.name("__stderr__"), stderr);
    d.set_str(&vm.name("modules"), Value::Dict(vm.modules.clone()));
    d.set_str(&vm.name("maxsize"), Value::Int(i64::MAX));
    d.set_str(&vm.name("platform"), Value::str("linux"));
    d.set_str(&vm.name("byteorder"), Value::str("little"));
    d.set_str(&vm.name("implementation_name"), Value::str("pygc-python"));
    d.set_str(
        &vm.name("version_info"),
        Value::tuple(vec![Value::Int(3), Value::Int(11), Value::Int(0), Value::str("final"), Value::Int(0)]),
    );
    d.set_str(&vm.name("version"), Value::str("3.11.0 (pygc-python)"));
}

/// The true strong count: the argument on the VM stack is one of them, as
/// CPython's argument reference is, so `x = []; getrefcount(x)` gives 2.
fn getrefcount(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "getrefcount", 1, 1, &[])?;
    Ok(Value::Int(match a.pos()[0].ref_count() {
        Some(n) => n as i64,
        // Immediates are not counted objects here; CPython 3.11 counts its
        // statically allocated small ints and None from a large base.
        None => 1_000_000_000,
    }))
}

fn getsizeof(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "getsizeof", 1, 2, &[])?;
    let v = &a.pos()[0];
    Ok(Value::Int(match v.to_any() {
        Some(any) => pygc::sys::getsizeof(&any) as i64,
        None => match v {
            Value::Int(i) if *i == 0 => 24,
            Value::Int(_) | Value::Bool(_) => 28,
            Value::Float(_) => 24,
            _ => 16,
        },
    }))
}

fn exit(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "exit", 0, 1, &[])?;
    let class = vm.types.exc("SystemExit").clone();
    Err(vm.new_exception(&class, a.pos().to_vec()))
}

fn setrecursionlimit(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "setrecursionlimit", 1, 1, &[])?;
    let n = vm.index_value(&a.pos()[0])?;
    if n < 1 {
        return Err(vm.value_error("recursion limit must be greater or equal than 1"));
    }
    let depth = vm.depth.get() as i64;
    if n <= depth {
        return Err(vm.new_error(
            "RecursionError",
            format!(
                "cannot set the recursion limit to {n} at the recursion depth {depth}: the limit is too low"
            ),
        ));
    }
    vm.recursion_limit.set(n as usize);
    Ok(Value::None)
}

/// Writes to `sys.stdout`/`sys.stderr` or any object with `write`.
pub fn write_to(vm: &Vm, f: &Value, s: &str) -> PyResult<()> {
    if let Value::Native(n) = f {
        if let NativeKind::Opaque(super::Opaque::Stream(out)) = &n.kind {
            if *out {
                vm.write_stdout(s);
            } else {
                vm.write_stderr(s);
            }
            return Ok(());
        }
    }
    vm.call_method(f, "write", &[Value::str(s.to_string())])?;
    Ok(())
}

fn stream_write(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    let (Some(f), Some(Value::Str(s))) = (a.values.first(), a.values.get(1)) else {
        return Err(vm.type_error("write() argument must be str"));
    };
    write_to(vm, f, &s.s)?;
    Ok(Value::Int(s.chars as i64))
}

/// Attributes of the standard streams.
pub fn stream_attr(vm: &Vm, obj: &Value, name: &str) -> PyResult<Option<Value>> {
    let f: crate::object::NativeFn = match name {
        "write" => stream_write,
        "flush" => |vm, _a| {
            vm.flush_stdout();
            Ok(Value::None)
        },
        _ => return Ok(None),
    };
    let b = builtin(if name == "write" { "write" } else { "flush" }, "TextIOWrapper", f);
    let Value::Builtin(b) = b else { unreachable!("builtin") };
    let _ = vm;
    Ok(Some(Value::Builtin(Gc::new(crate::object::Builtin {
        name: b.name,
        f: b.f,
        bound: Some(obj.clone()),
        owner: b.owner,
    }))))
}

/// Writes `s` to the current `sys.stderr` (what the program may have
/// replaced it with), or to the process's stderr if `sys` was never
/// imported or the write fails.
pub fn write_stderr_value(vm: &Vm, s: &str) {
    let target = match vm.modules.get_str("sys") {
        Some(Value::Module(m)) => m.dict.get_str("stderr"),
        _ => None,
    };
    match target {
        Some(f) if write_to(vm, &f, s).is_ok() => {}
        _ => vm.write_stderr(s),
    }
}
