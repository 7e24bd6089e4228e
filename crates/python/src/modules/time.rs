//! `time`: `perf_counter`, `time`, `sleep`, `monotonic`, `process_time`.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pygc::Gc;

use crate::builtins::def;
use crate::object::{Dict, Value};
use crate::vm::{Args, PyResult, Vm};

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Fills the module.
pub fn fill(_vm: &Vm, d: &Gc<Dict>) {
    def(d, "perf_counter", "time", |_vm, _a| Ok(Value::Float(start().elapsed().as_secs_f64())));
    def(d, "monotonic", "time", |_vm, _a| Ok(Value::Float(start().elapsed().as_secs_f64())));
    def(d, "perf_counter_ns", "time", |_vm, _a| Ok(Value::Int(start().elapsed().as_nanos() as i64)));
    def(d, "time", "time", |_vm, _a| {
        Ok(Value::Float(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)))
    });
    def(d, "time_ns", "time", |_vm, _a| {
        Ok(Value::Int(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)))
    });
    def(d, "process_time", "time", |_vm, _a| Ok(Value::Float(start().elapsed().as_secs_f64())));
    def(d, "sleep", "time", sleep);
}

fn sleep(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "sleep", 1, 1, &[])?;
    let secs = match &a.pos()[0] {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        v => {
            return Err(
                vm.type_error(format!("'{}' object cannot be interpreted as an integer", vm.type_name(v)))
            )
        }
    };
    if secs < 0.0 {
        return Err(vm.value_error("sleep length must be non-negative"));
    }
    vm.flush_stdout();
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Ok(Value::None)
}
