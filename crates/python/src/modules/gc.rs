//! `gc`: the collector's Python surface over `pygc::gc`, with CPython
//! 3.11's names, defaults and messages.
//!
//! The interpreter registers one pygc callback ([`install_hooks`]) that,
//! around every collection, untracks the young tuples CPython would
//! untrack, moves what pygc saved (`DEBUG_SAVEALL`) into `gc.garbage`, and
//! calls the Python functions in `gc.callbacks`. The `DEBUG_*` lines go to
//! `sys.stderr`, as CPython writes them.

use pygc::gc::{self as pgc, CallbackInfo, CallbackPhase};
use pygc::{Gc, GcAny};

use crate::builtins::def;
use crate::object::dict::may_be_tracked;
use crate::object::{Dict, DictObject, Tuple, Value};
use crate::vm::{Args, PyResult, Vm};

/// Fills the module.
pub fn fill(vm: &Vm, d: &Gc<Dict>) {
    def(d, "collect", "gc", collect);
    def(d, "enable", "gc", |vm, a| {
        a.check(vm, "enable", 0, 0, &[])?;
        pgc::enable();
        Ok(Value::None)
    });
    def(d, "disable", "gc", |vm, a| {
        a.check(vm, "disable", 0, 0, &[])?;
        pgc::disable();
        Ok(Value::None)
    });
    def(d, "isenabled", "gc", |vm, a| {
        a.check(vm, "isenabled", 0, 0, &[])?;
        Ok(Value::Bool(pgc::isenabled()))
    });
    def(d, "get_count", "gc", |vm, a| {
        a.check(vm, "get_count", 0, 0, &[])?;
        let (x, y, z) = pgc::get_count();
        Ok(int_tuple(&[x, y, z]))
    });
    def(d, "get_threshold", "gc", |vm, a| {
        a.check(vm, "get_threshold", 0, 0, &[])?;
        let (x, y, z) = pgc::get_threshold();
        Ok(int_tuple(&[x, y, z]))
    });
    def(d, "set_threshold", "gc", set_threshold);
    def(d, "get_objects", "gc", get_objects);
    def(d, "get_referrers", "gc", get_referrers);
    def(d, "get_referents", "gc", get_referents);
    def(d, "get_stats", "gc", get_stats);
    def(d, "is_tracked", "gc", |vm, a| {
        a.check(vm, "is_tracked", 1, 1, &[])?;
        Ok(Value::Bool(a.pos()[0].to_any().is_some_and(|h| pgc::is_tracked(&h))))
    });
    def(d, "is_finalized", "gc", |vm, a| {
        a.check(vm, "is_finalized", 1, 1, &[])?;
        Ok(Value::Bool(a.pos()[0].to_any().is_some_and(|h| pgc::is_finalized(&h))))
    });
    def(d, "freeze", "gc", |vm, a| {
        a.check(vm, "freeze", 0, 0, &[])?;
        pgc::freeze();
        Ok(Value::None)
    });
    def(d, "unfreeze", "gc", |vm, a| {
        a.check(vm, "unfreeze", 0, 0, &[])?;
        pgc::unfreeze();
        Ok(Value::None)
    });
    def(d, "get_freeze_count", "gc", |vm, a| {
        a.check(vm, "get_freeze_count", 0, 0, &[])?;
        Ok(Value::Int(pgc::get_freeze_count() as i64))
    });
    def(d, "get_debug", "gc", |vm, a| {
        a.check(vm, "get_debug", 0, 0, &[])?;
        Ok(Value::Int(pgc::get_debug().bits() as i64))
    });
    def(d, "set_debug", "gc", |vm, a| {
        a.check(vm, "set_debug", 1, 1, &[])?;
        let f = vm.index_value(&a.pos()[0])?;
        let f = u32::try_from(f)
            .map_err(|_| vm.new_error("OverflowError", "Python int too large to convert to C int"))?;
        pgc::set_debug(pgc::DebugFlags::from_bits(f));
        Ok(Value::None)
    });
    for (name, flag) in [
        ("DEBUG_STATS", pgc::DEBUG_STATS),
        ("DEBUG_COLLECTABLE", pgc::DEBUG_COLLECTABLE),
        ("DEBUG_UNCOLLECTABLE", pgc::DEBUG_UNCOLLECTABLE),
        ("DEBUG_SAVEALL", pgc::DEBUG_SAVEALL),
        ("DEBUG_LEAK", pgc::DEBUG_LEAK),
    ] {
        d.set_str(&vm.name(name), Value::Int(flag.bits() as i64));
    }
    d.set_str(&vm.name("garbage"), Value::List(vm.gc_garbage.clone()));
    d.set_str(&vm.name("callbacks"), Value::List(vm.gc_callbacks.clone()));
}

fn int_tuple(v: &[usize]) -> Value {
    Value::tuple(v.iter().map(|&x| Value::Int(x as i64)).collect())
}

fn collect(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "collect", 0, 1, &["generation"])?;
    let g = match a.get(0, "generation") {
        Some(v) => vm.index_value(v)?,
        None => 2,
    };
    let g = usize::try_from(g).map_err(|_| vm.value_error("invalid generation"))?;
    vm.flush_stdout();
    match pgc::collect_generation(g) {
        Ok(n) => Ok(Value::Int(n as i64)),
        Err(pgc::GcError::InvalidGeneration(_)) => Err(vm.value_error("invalid generation")),
        Err(e) => Err(vm.value_error(e.to_string())),
    }
}

fn set_threshold(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "set_threshold", 1, 3, &[])?;
    let (t0, t1, t2) = pgc::get_threshold();
    let mut t = [t0, t1, t2];
    for (i, v) in a.pos().iter().enumerate() {
        // CPython stores C ints; a negative threshold behaves as 0.
        t[i] = vm.index_value(v)?.max(0) as usize;
    }
    pgc::set_threshold(t[0], t[1], t[2])
        .map_err(|_| vm.new_error("OverflowError", "signed integer is greater than maximum"))?;
    Ok(Value::None)
}

/// Values of the handles pygc returns (every object of the heap is one of
/// the interpreter's types).
fn values(objs: Vec<GcAny>) -> Value {
    Value::list(objs.into_iter().filter_map(Value::from_any).collect())
}

fn get_objects(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "get_objects", 0, 1, &["generation"])?;
    let g = match a.get(0, "generation") {
        None | Some(Value::None) => None,
        Some(v) => match vm.index_value(v)? {
            -1 => None,
            g if g < -1 => return Err(vm.value_error("generation parameter cannot be negative")),
            g => Some(g as usize),
        },
    };
    match pgc::get_objects(g) {
        Ok(objs) => Ok(values(objs)),
        Err(_) => Err(
            vm.value_error("generation parameter must be less than the number of available generations (3)")
        ),
    }
}

/// The heap objects among `args` (ints, floats, `None` and booleans are
/// immediate values here, not objects: nothing refers to them).
fn handles(a: &Args<'_>) -> Vec<GcAny> {
    a.pos().iter().filter_map(Value::to_any).collect()
}

fn get_referrers(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "get_referrers", 0, usize::MAX, &[])?;
    let targets = handles(&a);
    let refs: Vec<&dyn pygc::Handle> = targets.iter().map(|h| h as &dyn pygc::Handle).collect();
    Ok(values(pgc::get_referrers(&refs)))
}

fn get_referents(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "get_referents", 0, usize::MAX, &[])?;
    let objs = handles(&a);
    let refs: Vec<&dyn pygc::Handle> = objs.iter().map(|h| h as &dyn pygc::Handle).collect();
    Ok(values(pgc::get_referents(&refs)))
}

fn get_stats(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "get_stats", 0, 0, &[])?;
    let rows = pgc::get_stats()
        .iter()
        .map(|s| {
            let d = Dict::new_object();
            d.set_str(&vm.name("collections"), Value::Int(s.collections as i64));
            d.set_str(&vm.name("collected"), Value::Int(s.collected as i64));
            d.set_str(&vm.name("uncollectable"), Value::Int(s.uncollectable as i64));
            Value::Dict(d)
        })
        .collect();
    Ok(Value::list(rows))
}

/// Registers the interpreter's collection hook and sends the `DEBUG_*`
/// output to `sys.stderr`. Called once, when the VM is made.
pub fn install_hooks(vm: &'static Vm) {
    pgc::add_callback(move |phase, info| on_collection(vm, phase, info));
    pgc::set_debug_output(Some(Box::new(SysStderr)));
}

fn on_collection(vm: &Vm, phase: CallbackPhase, info: &CallbackInfo) {
    match phase {
        CallbackPhase::Start => {
            if crate::object::take_untrack_candidates() > 0 {
                untrack_young_tuples();
            }
        }
        CallbackPhase::Stop => {
            let saved = pgc::take_garbage();
            if !saved.is_empty() {
                let mut g = vm.gc_garbage.items.borrow_mut();
                g.extend(saved.into_iter().filter_map(Value::from_any));
            }
        }
    }
    let callbacks = vm.gc_callbacks.items.borrow().clone();
    if callbacks.is_empty() {
        return;
    }
    let phase = Value::str(match phase {
        CallbackPhase::Start => "start",
        CallbackPhase::Stop => "stop",
    });
    let d = Dict::new_object();
    d.set_str(&vm.name("generation"), Value::Int(info.generation as i64));
    d.set_str(&vm.name("collected"), Value::Int(info.collected as i64));
    d.set_str(&vm.name("uncollectable"), Value::Int(info.uncollectable as i64));
    let args = [phase, Value::Dict(d)];
    for cb in callbacks {
        if let Err(e) = vm.call(&cb, &args, &[]) {
            let ctx = vm.repr_or(&cb);
            vm.report_unraisable(&e, &ctx);
        }
    }
}

/// CPython's `untrack_tuples`: a tuple whose items are all atomic or
/// untracked tuples can never be part of a cycle, and a collection that
/// meets one untracks it. Only generation 0 is walked: a tuple that stayed
/// tracked there holds something that keeps it tracked for good (tuples
/// are immutable), and tuples are walked in birth order, so nested atomic
/// tuples are untracked inside out, as in CPython.
fn untrack_young_tuples() {
    let Ok(young) = pgc::get_objects(Some(0)) else { return };
    for o in young {
        if let Ok(t) = o.downcast::<Tuple>() {
            if !t.items.iter().any(may_be_tracked) {
                pgc::untrack(&t);
            }
        }
    }
}

/// Writes the collector's debug lines to the current `sys.stderr`.
struct SysStderr;

impl std::io::Write for SysStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        if let Some(vm) = crate::vm::current() {
            super::sys::write_stderr_value(vm, &text);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::object::Value;
    use crate::run::run_for_test;

    #[test]
    fn a_collection_untracks_atomic_tuples_inside_out() {
        let (_vm, g, r) = run_for_test("t = ((1, 2), 'x')\nu = ([],)\n");
        assert!(r.is_ok());
        let (Some(Value::Tuple(t)), Some(Value::Tuple(u))) = (g.get_str("t"), g.get_str("u")) else {
            panic!()
        };
        assert!(pygc::gc::is_tracked(&t), "tracked at birth, as in CPython");
        pygc::gc::collect();
        assert!(!pygc::gc::is_tracked(&t), "atomic: untracked by the collection");
        assert!(pygc::gc::is_tracked(&u), "holds a list: stays tracked");
    }

    #[test]
    fn python_callbacks_see_both_phases() {
        let src = "import gc\nlog = []\ngc.callbacks.append(lambda p, i: log.append((p, i['generation'])))\n\
                   gc.collect()\ngc.callbacks.clear()\nn = len(log)\n";
        let (_vm, g, r) = run_for_test(src);
        assert!(r.is_ok());
        assert!(matches!(g.get_str("n"), Some(Value::Int(2))));
    }
}
