//! `gc`: the collector's Python surface over `pygc::gc`.

use pygc::Gc;

use crate::builtins::def;
use crate::object::{Dict, Value};
use crate::vm::{Args, PyResult, Vm};

/// Fills the module.
pub fn fill(vm: &Vm, d: &Gc<Dict>) {
    def(d, "collect", "gc", collect);
    def(d, "enable", "gc", |_vm, _a| {
        pygc::gc::enable();
        Ok(Value::None)
    });
    def(d, "disable", "gc", |_vm, _a| {
        pygc::gc::disable();
        Ok(Value::None)
    });
    def(d, "isenabled", "gc", |_vm, _a| Ok(Value::Bool(pygc::gc::isenabled())));
    def(d, "get_count", "gc", |_vm, _a| {
        let (a, b, c) = pygc::gc::get_count();
        Ok(Value::tuple(vec![Value::Int(a as i64), Value::Int(b as i64), Value::Int(c as i64)]))
    });
    def(d, "get_threshold", "gc", |_vm, _a| {
        let (a, b, c) = pygc::gc::get_threshold();
        Ok(Value::tuple(vec![Value::Int(a as i64), Value::Int(b as i64), Value::Int(c as i64)]))
    });
    def(d, "set_threshold", "gc", set_threshold);
    def(d, "is_tracked", "gc", |vm, a| {
        a.check(vm, "is_tracked", 1, 1, &[])?;
        Ok(Value::Bool(a.pos()[0].to_any().is_some_and(|h| pygc::gc::is_tracked(&h))))
    });
    def(d, "is_finalized", "gc", |vm, a| {
        a.check(vm, "is_finalized", 1, 1, &[])?;
        Ok(Value::Bool(a.pos()[0].to_any().is_some_and(|h| pygc::gc::is_finalized(&h))))
    });
    def(d, "freeze", "gc", |_vm, _a| {
        pygc::gc::freeze();
        Ok(Value::None)
    });
    def(d, "unfreeze", "gc", |_vm, _a| {
        pygc::gc::unfreeze();
        Ok(Value::None)
    });
    def(d, "get_freeze_count", "gc", |_vm, _a| Ok(Value::Int(pygc::gc::get_freeze_count() as i64)));
    def(d, "get_debug", "gc", |_vm, _a| Ok(Value::Int(pygc::gc::get_debug().bits() as i64)));
    def(d, "set_debug", "gc", |vm, a| {
        a.check(vm, "set_debug", 1, 1, &[])?;
        let f = vm.index_value(&a.pos()[0])?;
        pygc::gc::set_debug(pygc::gc::DebugFlags::from_bits(f as u32));
        Ok(Value::None)
    });
    for (name, v) in [
        ("DEBUG_STATS", 1),
        ("DEBUG_COLLECTABLE", 2),
        ("DEBUG_UNCOLLECTABLE", 4),
        ("DEBUG_SAVEALL", 32),
        ("DEBUG_LEAK", 38),
    ] {
        d.set_str(&vm.name(name), Value::Int(v));
    }
}

fn collect(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "collect", 0, 1, &["generation"])?;
    let g = match a.get(0, "generation") {
        Some(v) => vm.index_value(v)?,
        None => 2,
    };
    if !(0..=2).contains(&g) {
        return Err(vm.value_error("invalid generation"));
    }
    vm.flush_stdout();
    match pygc::gc::collect_generation(g as usize) {
        Ok(n) => Ok(Value::Int(n as i64)),
        Err(e) => Err(vm.value_error(e.to_string())),
    }
}

fn set_threshold(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    let n = a.pos().len();
    if n == 0 {
        return Err(vm.type_error("set_threshold() takes at least 1 argument (0 given)"));
    }
    if n > 3 {
        return Err(vm.type_error(format!("set_threshold() takes at most 3 arguments ({n} given)")));
    }
    let (t0, t1, t2) = pygc::gc::get_threshold();
    let mut t = [t0, t1, t2];
    for (i, v) in a.pos().iter().enumerate() {
        t[i] = vm.index_value(v)?.max(0) as usize;
    }
    pygc::gc::set_threshold(t[0], t[1], t[2]).map_err(|e| vm.new_error("OverflowError", e.to_string()))?;
    Ok(Value::None)
}
