//! `memory_profiler` over pygc's: `@profile` prints memory_profiler's line
//! table for a Python function (the VM reports line and return events of
//! the profiled call, as `sys.settrace` does for memory_profiler), and
//! `memory_usage` samples this process, another pid, or this process while
//! a Python function runs.
//!
//! Memory is measured as `pygc::memory_profiler` measures it: by default
//! the exact live bytes of the heap (obmalloc's counter), which moves only
//! when a line allocates or frees; `backend='psutil'` (or `'posix'`) gives
//! the resident set size that Python's memory_profiler reports by default.

use std::time::Duration;

use pygc::memory_profiler::{self as mp, LineProfiler, Measure, Options, Site};
use pygc::{Gc, Trace};

use super::Opaque;
use crate::builtins::def;
use crate::object::{Code, Dict, NativeKind, Value};
use crate::vm::{Args, Frame, PyResult, Vm};

/// A function wrapped by `@profile` (or, with no function yet, the
/// decorator `profile(precision=...)` returns).
#[derive(Trace)]
pub struct Profiled {
    /// The function; `None` for a decorator waiting for it.
    pub func: Option<Value>,
    /// Where the table goes (`None`: `sys.stdout`).
    pub stream: Value,
    /// Decimals of the MiB columns.
    #[pygc(skip)]
    pub precision: usize,
    /// What memory is.
    #[pygc(skip)]
    pub measure: Measure,
    /// The function's place in its source (made once per decoration).
    #[pygc(skip)]
    pub site: Option<&'static Site>,
}

/// A profiled call running now.
pub struct ProfCall {
    /// Index of its frame in the VM's frame list.
    pub frame_index: usize,
    /// Its code.
    pub code: Gc<Code>,
    /// The line profiler.
    pub profiler: LineProfiler,
    /// The line of the last line event.
    pub last_line: u32,
    /// The last instruction run in the frame.
    pub last_pc: usize,
}

impl Profiled {
    /// `repr`.
    pub fn repr(&self, vm: &Vm, v: &Value) -> String {
        match &self.func {
            Some(f) => vm.repr_or(f),
            None => format!("<function profile.<locals>.inner_wrapper at {:#x}>", v.heap_id().unwrap_or(0)),
        }
    }

    /// `__name__`, `__wrapped__` and the like come from the function.
    pub fn getattr(&self, vm: &Vm, name: &str) -> PyResult<Option<Value>> {
        match (&self.func, name) {
            (Some(f), "__wrapped__") => Ok(Some(f.clone())),
            (Some(f), _) => vm.getattr_opt(f, name),
            (None, _) => Ok(None),
        }
    }

    /// Calling: the decorator takes the function; the wrapper profiles a call.
    pub fn call(&self, vm: &Vm, _me: &Value, args: &[Value], kwnames: &[Value]) -> PyResult<Value> {
        match &self.func {
            None => {
                if args.len() != 1 || !kwnames.is_empty() {
                    return Err(vm.type_error("profile() decorator takes the function to profile"));
                }
                wrap(vm, args[0].clone(), self.stream.clone(), self.precision, self.measure)
            }
            Some(func) => profile_call(vm, self, func, args, kwnames),
        }
    }
}

fn wrap(vm: &Vm, func: Value, stream: Value, precision: usize, measure: Measure) -> PyResult<Value> {
    let Value::Function(f) = &func else {
        return Err(vm.type_error(format!(
            "pygc-python's memory_profiler profiles Python functions, not '{}' objects",
            vm.type_name(&func)
        )));
    };
    if f.code.is_generator() {
        return Err(vm.new_error(
            "NotImplementedError",
            "pygc-python's memory_profiler does not profile generator functions",
        ));
    }
    let code = &f.code;
    let name: &'static str = Box::leak(code.name.clone().into_boxed_str());
    let site: &'static Site = Box::leak(Box::new(Site {
        file: code.source.static_name,
        manifest_dir: "",
        module: "__main__",
        name,
        first_line: code.firstlineno,
        last_line: code.lastlineno.max(code.firstlineno),
    }));
    let p = Profiled { func: Some(func), stream, precision, measure, site: Some(site) };
    Ok(Value::native(NativeKind::Opaque(Opaque::Profiled(p))))
}

fn profile_call(vm: &Vm, p: &Profiled, func: &Value, args: &[Value], kwnames: &[Value]) -> PyResult<Value> {
    let (Value::Function(f), Some(site)) = (func, p.site) else { return vm.call(func, args, kwnames) };
    let options = Options::default().precision(p.precision).measure(p.measure).stream(std::io::sink());
    let call = ProfCall {
        frame_index: vm.shadow.borrow().len(),
        code: f.code.clone(),
        profiler: LineProfiler::start(site, options),
        last_line: 0,
        last_pc: usize::MAX,
    };
    vm.profiling.borrow_mut().push(call);
    vm.line_hook.set(true);
    let r = vm.call(func, args, kwnames);
    let done = vm.profiling.borrow_mut().pop();
    vm.line_hook.set(!vm.profiling.borrow().is_empty());
    let Some(done) = done else { return r };
    let value = r?;
    let table = done.profiler.table();
    drop(done);
    if p.stream.is_none() {
        vm.write_stdout(&table);
    } else {
        super::sys::write_to(vm, &p.stream, &table)?;
    }
    Ok(value)
}

/// The profiled call whose frame is the innermost one, if any.
fn innermost<'a>(vm: &Vm, calls: &'a mut [ProfCall], code: Option<&Gc<Code>>) -> Option<&'a mut ProfCall> {
    let depth = vm.shadow.try_borrow().ok()?.len();
    let call = calls.last_mut()?;
    let same_code = code.is_none_or(|c| Gc::ptr_eq(c, &call.code));
    (call.frame_index + 1 == depth && same_code).then_some(call)
}

/// The loop is about to run instruction `pc` of `f`: a line event when it
/// starts a new line or jumps back (CPython 3.11's rule for `settrace`).
pub fn line_event(vm: &Vm, f: &Frame, pc: usize) {
    let Ok(mut calls) = vm.profiling.try_borrow_mut() else { return };
    let Some(call) = innermost(vm, &mut calls, Some(&f.code)) else { return };
    let line = f.code.line_at(pc);
    if line != call.last_line || pc <= call.last_pc {
        call.profiler.enter(line);
        call.last_line = line;
    }
    call.last_pc = pc;
}

/// The innermost frame returns (or leaves by an exception) with its
/// locals still alive: the return event.
pub fn return_event(vm: &Vm) {
    let Ok(mut calls) = vm.profiling.try_borrow_mut() else { return };
    if let Some(call) = innermost(vm, &mut calls, None) {
        call.profiler.ret(());
    }
}

fn measure_of(vm: &Vm, backend: Option<&Value>) -> PyResult<Measure> {
    match backend {
        None | Some(Value::None) => Ok(Measure::Auto),
        Some(Value::Str(s)) => match &*s.s {
            "psutil" | "psutil_pss" | "psutil_uss" | "posix" => Ok(Measure::Rss),
            "tracemalloc" | "heap" => Ok(Measure::Heap),
            other => Err(vm.value_error(format!("unknown backend: {other}"))),
        },
        Some(other) => Err(vm.type_error(format!("backend must be a str, not {}", vm.type_name(other)))),
    }
}

fn seconds(vm: &Vm, v: &Value) -> PyResult<Duration> {
    let s = match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        other => {
            return Err(vm.type_error(format!("expected a number of seconds, not {}", vm.type_name(other))))
        }
    };
    if !(s >= 0.0 && s.is_finite()) {
        return Err(vm.value_error("interval and timeout must be non-negative"));
    }
    Ok(Duration::from_secs_f64(s))
}

/// `profile(func=None, stream=None, precision=1, backend=None)`.
fn profile(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "profile", 0, 4, &["func", "stream", "precision", "backend"])?;
    let stream = a.get(1, "stream").cloned().unwrap_or(Value::None);
    let precision = match a.get(2, "precision") {
        Some(p) => vm.index_value(p)?.clamp(0, 20) as usize,
        None => 1,
    };
    let measure = measure_of(vm, a.get(3, "backend"))?;
    match a.get(0, "func").filter(|f| !f.is_none()) {
        Some(f) => wrap(vm, f.clone(), stream, precision, measure),
        None => {
            let p = Profiled { func: None, stream, precision, measure, site: None };
            Ok(Value::native(NativeKind::Opaque(Opaque::Profiled(p))))
        }
    }
}

/// `memory_usage(proc=-1, interval=.1, timeout=None, timestamps=False,
/// include_children=False, max_usage=False, retval=False)`: MiB samples.
fn memory_usage(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(
        vm,
        "memory_usage",
        0,
        7,
        &["proc", "interval", "timeout", "timestamps", "include_children", "max_usage", "retval", "backend"],
    )?;
    let flag = |i: usize, name: &str| a.get(i, name).map_or(Ok(false), |v| vm.truthy(v));
    let mut m =
        mp::memory_usage().include_children(flag(4, "include_children")?).max_usage(flag(5, "max_usage")?);
    if let Some(i) = a.get(1, "interval") {
        m = m.interval(seconds(vm, i)?);
    }
    if let Some(t) = a.get(2, "timeout").filter(|t| !t.is_none()) {
        m = m.timeout(seconds(vm, t)?);
    }
    let (timestamps, max_usage, want_retval) =
        (flag(3, "timestamps")?, flag(5, "max_usage")?, flag(6, "retval")?);
    let proc = a.get(0, "proc").cloned().unwrap_or(Value::Int(-1));
    let os_err = |e: std::io::Error| vm.new_error("OSError", e.to_string());
    let (samples, stamps, retval) = if vm.callable(&proc) || matches!(proc, Value::Tuple(_) | Value::List(_))
    {
        let parts = if vm.callable(&proc) { vec![proc.clone()] } else { vm.collect(&proc)? };
        let f = parts.first().cloned().unwrap_or(Value::None);
        let args = match parts.get(1) {
            Some(x) => vm.collect(x)?,
            None => Vec::new(),
        };
        let (mut names, mut vals) = (Vec::new(), Vec::new());
        if let Some(Value::Dict(kw)) = parts.get(2) {
            for e in kw.table.borrow().iter() {
                names.push(e.key.clone());
                vals.push(e.value.clone());
            }
        }
        let mut all = args;
        all.extend(vals);
        let u = m.call(|| vm.call(&f, &all, &names)).map_err(os_err)?;
        let r = u.retval?;
        (u.samples, u.timestamps, Some(r))
    } else {
        let pid = vm.index_value(&proc)?;
        if pid >= 0 {
            m = m.pid(pid as u32);
        }
        let u = m.sample().map_err(os_err)?;
        (u.samples, u.timestamps, None)
    };
    let result = if max_usage {
        let peak = samples.iter().copied().fold(f64::NAN, f64::max);
        if timestamps {
            Value::tuple(vec![Value::Float(peak), Value::Float(stamps.first().copied().unwrap_or(0.0))])
        } else {
            Value::Float(peak)
        }
    } else if timestamps {
        Value::list(
            samples
                .iter()
                .zip(&stamps)
                .map(|(m, t)| Value::tuple(vec![Value::Float(*m), Value::Float(*t)]))
                .collect(),
        )
    } else {
        Value::list(samples.into_iter().map(Value::Float).collect())
    };
    Ok(match (want_retval, retval) {
        (true, Some(r)) => Value::tuple(vec![result, r]),
        _ => result,
    })
}

/// Fills the module.
pub fn fill(_vm: &Vm, d: &Gc<Dict>) {
    def(d, "profile", "memory_profiler", profile);
    def(d, "memory_usage", "memory_profiler", memory_usage);
}
