//! `tracemalloc` over pygc's tracer, with **Python** frames: the VM is the
//! tracer's frame source ([`pygc::tracemalloc::set_frame_source`]), so every
//! traced block (a pygc object, or any Rust allocation through the tracing
//! global allocator: list buffers, dict tables, strings) says which line of
//! which Python file allocated it. Snapshots, statistics, `compare_to`,
//! filters and the text of every object are the tracer's, which follow
//! CPython's.

use std::rc::Rc;

use pygc::tracemalloc::{self as tm, HostFrame, KeyType};
use pygc::{Gc, Trace};

use super::Opaque;
use crate::builtins::def;
use crate::object::{Dict, DictObject, NativeKind, Value};
use crate::vm::{Args, PyResult, Vm};

/// A `tracemalloc` object: the tracer's own value, wrapped.
#[derive(Trace)]
pub enum TmObject {
    /// `Snapshot`.
    Snapshot(#[pygc(skip)] Rc<tm::Snapshot>),
    /// `Statistic`.
    Statistic(#[pygc(skip)] tm::Statistic),
    /// `StatisticDiff`.
    StatisticDiff(#[pygc(skip)] tm::StatisticDiff),
    /// `Traceback`.
    Traceback(#[pygc(skip)] tm::Traceback),
    /// `Frame`.
    Frame(#[pygc(skip)] tm::Frame),
    /// `Trace`.
    Trace(#[pygc(skip)] tm::Trace),
    /// `Filter`.
    Filter(#[pygc(skip)] tm::Filter),
    /// `DomainFilter`.
    DomainFilter(#[pygc(skip)] tm::DomainFilter),
}

fn wrap(o: TmObject) -> Value {
    Value::native(NativeKind::Opaque(Opaque::Tracemalloc(o)))
}

fn int(n: impl TryInto<i64>) -> Value {
    Value::Int(n.try_into().unwrap_or(i64::MAX))
}

impl TmObject {
    /// `type(self).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            TmObject::Snapshot(_) => "Snapshot",
            TmObject::Statistic(_) => "Statistic",
            TmObject::StatisticDiff(_) => "StatisticDiff",
            TmObject::Traceback(_) => "Traceback",
            TmObject::Frame(_) => "Frame",
            TmObject::Trace(_) => "Trace",
            TmObject::Filter(_) => "Filter",
            TmObject::DomainFilter(_) => "DomainFilter",
        }
    }

    /// `repr`: the tracer's `Debug`, which is CPython's `repr`.
    pub fn repr(&self) -> String {
        match self {
            TmObject::Snapshot(_) | TmObject::Filter(_) | TmObject::DomainFilter(_) => {
                format!("<tracemalloc.{} object at {:#x}>", self.type_name(), std::ptr::from_ref(self).addr())
            }
            TmObject::Statistic(s) => format!("{s:?}"),
            TmObject::StatisticDiff(s) => format!("{s:?}"),
            TmObject::Traceback(t) => format!("{t:?}"),
            TmObject::Frame(f) => format!("{f:?}"),
            TmObject::Trace(t) => format!("{t:?}"),
        }
    }

    /// `str`: the tracer's `Display`, which is CPython's `str`.
    pub fn str(&self) -> Option<String> {
        Some(match self {
            TmObject::Statistic(s) => s.to_string(),
            TmObject::StatisticDiff(s) => s.to_string(),
            TmObject::Traceback(t) => t.to_string(),
            TmObject::Frame(f) => f.to_string(),
            TmObject::Trace(t) => t.to_string(),
            _ => return None,
        })
    }

    /// Data attributes.
    pub fn getattr(&self, vm: &Vm, name: &str) -> Option<Value> {
        let _ = vm;
        Some(match (self, name) {
            (TmObject::Snapshot(s), "traces") => {
                Value::list(s.traces().iter().map(|t| wrap(TmObject::Trace(t.clone()))).collect())
            }
            (TmObject::Snapshot(s), "traceback_limit") => int(s.traceback_limit()),
            (TmObject::Statistic(s), "traceback") => wrap(TmObject::Traceback(s.traceback.clone())),
            (TmObject::Statistic(s), "size") => int(s.size),
            (TmObject::Statistic(s), "count") => int(s.count),
            (TmObject::StatisticDiff(s), "traceback") => wrap(TmObject::Traceback(s.traceback.clone())),
            (TmObject::StatisticDiff(s), "size") => int(s.size),
            (TmObject::StatisticDiff(s), "size_diff") => int(s.size_diff),
            (TmObject::StatisticDiff(s), "count") => int(s.count),
            (TmObject::StatisticDiff(s), "count_diff") => int(s.count_diff),
            (TmObject::Traceback(t), "total_nframe") => t.total_nframe().map_or(Value::None, int),
            (TmObject::Frame(f), "filename") => Value::str(f.filename.to_string()),
            (TmObject::Frame(f), "lineno") => int(f.lineno),
            (TmObject::Trace(t), "domain") => int(t.domain),
            (TmObject::Trace(t), "size") => int(t.size),
            (TmObject::Trace(t), "traceback") => wrap(TmObject::Traceback(t.traceback.clone())),
            (TmObject::Filter(f), "inclusive") => Value::Bool(f.inclusive),
            (TmObject::Filter(f), "filename_pattern") => Value::str(f.filename_pattern().to_string()),
            (TmObject::Filter(f), "lineno") => f.lineno.map_or(Value::None, int),
            (TmObject::Filter(f), "all_frames") => Value::Bool(f.all_frames),
            (TmObject::Filter(f), "domain") => f.domain.map_or(Value::None, int),
            (TmObject::DomainFilter(f), "inclusive") => Value::Bool(f.inclusive),
            (TmObject::DomainFilter(f), "domain") => int(f.domain),
            _ => return None,
        })
    }

    /// The frames of a traceback, oldest first (what iterating it gives).
    pub fn items(&self) -> Option<Vec<Value>> {
        match self {
            TmObject::Traceback(t) => {
                Some(t.frames().iter().map(|f| wrap(TmObject::Frame(f.clone()))).collect())
            }
            _ => None,
        }
    }

    /// `traceback[i]` (and slices, as tuples).
    pub fn getitem(&self, vm: &Vm, k: &Value) -> PyResult<Option<Value>> {
        let Some(items) = self.items() else { return Ok(None) };
        if let Value::Slice(_) = k {
            let t = Value::tuple(items);
            return vm.getitem(&t, k).map(Some);
        }
        let i = vm.index_value(k)?;
        let n = items.len() as i64;
        let j = if i < 0 { i + n } else { i };
        if j < 0 || j >= n {
            return Err(vm.index_error("tuple index out of range"));
        }
        Ok(Some(items[j as usize].clone()))
    }

    /// Equality of value objects (CPython defines `__eq__` for these).
    pub fn eq(&self, other: &TmObject) -> Option<bool> {
        Some(match (self, other) {
            (TmObject::Frame(a), TmObject::Frame(b)) => a == b,
            (TmObject::Traceback(a), TmObject::Traceback(b)) => a == b,
            (TmObject::Statistic(a), TmObject::Statistic(b)) => a == b,
            (TmObject::StatisticDiff(a), TmObject::StatisticDiff(b)) => a == b,
            (TmObject::Trace(a), TmObject::Trace(b)) => a == b,
            _ => return None,
        })
    }
}

/// The tracer's error as the exception CPython raises.
fn error(vm: &Vm, e: tm::Error) -> crate::vm::PyErr {
    let name = match &e {
        tm::Error::NotTracing => "RuntimeError",
        tm::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => "FileNotFoundError",
        tm::Error::Io(_) => "OSError",
        _ => "ValueError",
    };
    vm.new_error(name, e.to_string())
}

/// The Python frames of the running program, most recent first: the
/// tracer's frame source. Runs inside the allocator: it only reads the
/// VM's frame list (giving up if it is being changed) and never allocates
/// on the pygc heap.
fn python_frames(push: &mut dyn FnMut(HostFrame) -> bool) -> usize {
    let Some(vm) = crate::vm::current() else { return 0 };
    let Ok(shadow) = vm.shadow.try_borrow() else { return 0 };
    let last = shadow.len().wrapping_sub(1);
    let mut n = 0;
    for (i, f) in shadow.iter().enumerate().rev() {
        let pc = if i == last { vm.cur_pc.get() } else { f.pc };
        n += 1;
        if !push(HostFrame::new(f.code.source.static_name, f.code.line_at(pc as usize))) {
            break;
        }
    }
    n
}

/// Makes the VM the tracer's frame source (once, when the VM is made).
pub fn install_frame_source() {
    tm::set_frame_source(Some(python_frames));
}

fn this<'a>(vm: &Vm, a: &Args<'a>) -> PyResult<&'a TmObject> {
    match a.values.first() {
        Some(Value::Native(n)) => match &n.kind {
            NativeKind::Opaque(Opaque::Tracemalloc(t)) => Ok(t),
            _ => Err(vm.type_error("descriptor requires a tracemalloc object")),
        },
        _ => Err(vm.type_error("descriptor requires a tracemalloc object")),
    }
}

fn snapshot_of<'a>(vm: &Vm, v: &'a Value) -> PyResult<&'a Rc<tm::Snapshot>> {
    match v {
        Value::Native(n) => match &n.kind {
            NativeKind::Opaque(Opaque::Tracemalloc(TmObject::Snapshot(s))) => Ok(s),
            _ => Err(vm.type_error(format!("expected a Snapshot, not {}", vm.type_name(v)))),
        },
        _ => Err(vm.type_error(format!("expected a Snapshot, not {}", vm.type_name(v)))),
    }
}

fn key_type(vm: &Vm, v: Option<&Value>) -> PyResult<KeyType> {
    match v {
        Some(Value::Str(s)) => s.s.parse::<KeyType>().map_err(|e| error(vm, e)),
        Some(other) => Err(vm.value_error(format!("unknown key_type: {}", vm.repr(other)?))),
        None => Err(vm.type_error("statistics() missing 1 required positional argument: 'key_type'")),
    }
}

fn cumulative(vm: &Vm, v: Option<&Value>) -> PyResult<bool> {
    v.map_or(Ok(false), |v| vm.truthy(v))
}

fn frame_count(vm: &Vm, v: Option<&Value>) -> PyResult<i64> {
    match v {
        None => Ok(1),
        Some(v) => vm.index_value(v),
    }
}

/// Fills the module.
pub fn fill(vm: &Vm, d: &Gc<Dict>) {
    def(d, "start", "tracemalloc", |vm, a| {
        a.check(vm, "start", 0, 1, &["nframe"])?;
        tm::start(frame_count(vm, a.get(0, "nframe"))?).map_err(|e| error(vm, e))?;
        Ok(Value::None)
    });
    def(d, "stop", "tracemalloc", |vm, a| {
        a.check(vm, "stop", 0, 0, &[])?;
        tm::stop();
        Ok(Value::None)
    });
    def(d, "is_tracing", "tracemalloc", |vm, a| {
        a.check(vm, "is_tracing", 0, 0, &[])?;
        Ok(Value::Bool(tm::is_tracing()))
    });
    def(d, "clear_traces", "tracemalloc", |vm, a| {
        a.check(vm, "clear_traces", 0, 0, &[])?;
        tm::clear_traces();
        Ok(Value::None)
    });
    def(d, "get_traceback_limit", "tracemalloc", |vm, a| {
        a.check(vm, "get_traceback_limit", 0, 0, &[])?;
        Ok(int(tm::get_traceback_limit()))
    });
    def(d, "get_traced_memory", "tracemalloc", |vm, a| {
        a.check(vm, "get_traced_memory", 0, 0, &[])?;
        let (current, peak) = tm::get_traced_memory();
        Ok(Value::tuple(vec![int(current), int(peak)]))
    });
    def(d, "reset_peak", "tracemalloc", |vm, a| {
        a.check(vm, "reset_peak", 0, 0, &[])?;
        tm::reset_peak();
        Ok(Value::None)
    });
    def(d, "get_tracemalloc_memory", "tracemalloc", |vm, a| {
        a.check(vm, "get_tracemalloc_memory", 0, 0, &[])?;
        Ok(int(tm::get_tracemalloc_memory()))
    });
    def(d, "take_snapshot", "tracemalloc", |vm, a| {
        a.check(vm, "take_snapshot", 0, 0, &[])?;
        let s = tm::take_snapshot().map_err(|e| error(vm, e))?;
        Ok(wrap(TmObject::Snapshot(Rc::new(s))))
    });
    def(d, "get_object_traceback", "tracemalloc", |vm, a| {
        a.check(vm, "get_object_traceback", 1, 1, &[])?;
        Ok(match a.pos()[0].to_any().and_then(|h| tm::get_object_traceback(&h)) {
            Some(tb) => wrap(TmObject::Traceback(tb)),
            None => Value::None,
        })
    });
    for name in
        ["Snapshot", "Statistic", "StatisticDiff", "Traceback", "Frame", "Trace", "Filter", "DomainFilter"]
    {
        d.set_str(&vm.name(name), Value::Class(vm.types.native[name].clone()));
    }
    fill_classes(vm);
}

/// The methods of the classes (installed once, with the module).
fn fill_classes(vm: &Vm) {
    let snap = &vm.types.native["Snapshot"].dict;
    if snap.get_str("statistics").is_some() {
        return;
    }
    def(snap, "statistics", "Snapshot", |vm, a| {
        a.check(vm, "statistics", 2, 3, &["key_type", "cumulative"])?;
        let TmObject::Snapshot(s) = this(vm, &a)? else { return Err(vm.type_error("not a Snapshot")) };
        let key = key_type(vm, a.get(1, "key_type"))?;
        let stats = s.statistics(key, cumulative(vm, a.get(2, "cumulative"))?).map_err(|e| error(vm, e))?;
        Ok(Value::list(stats.into_iter().map(|st| wrap(TmObject::Statistic(st))).collect()))
    });
    def(snap, "compare_to", "Snapshot", |vm, a| {
        a.check(vm, "compare_to", 3, 4, &["old_snapshot", "key_type", "cumulative"])?;
        let TmObject::Snapshot(s) = this(vm, &a)? else { return Err(vm.type_error("not a Snapshot")) };
        let old = snapshot_of(vm, a.get(1, "old_snapshot").unwrap_or(&Value::None))?;
        let key = key_type(vm, a.get(2, "key_type"))?;
        let diffs =
            s.compare_to(old, key, cumulative(vm, a.get(3, "cumulative"))?).map_err(|e| error(vm, e))?;
        Ok(Value::list(diffs.into_iter().map(|st| wrap(TmObject::StatisticDiff(st))).collect()))
    });
    def(snap, "filter_traces", "Snapshot", |vm, a| {
        a.check(vm, "filter_traces", 2, 2, &["filters"])?;
        let TmObject::Snapshot(s) = this(vm, &a)? else { return Err(vm.type_error("not a Snapshot")) };
        let given = vm.collect(a.get(1, "filters").unwrap_or(&Value::None))?;
        let mut filters: Vec<&dyn tm::TraceFilter> = Vec::new();
        for f in &given {
            match f {
                Value::Native(n) => match &n.kind {
                    NativeKind::Opaque(Opaque::Tracemalloc(TmObject::Filter(f))) => filters.push(f),
                    NativeKind::Opaque(Opaque::Tracemalloc(TmObject::DomainFilter(f))) => filters.push(f),
                    _ => return Err(filter_type_error(vm, f)),
                },
                other => return Err(filter_type_error(vm, other)),
            }
        }
        Ok(wrap(TmObject::Snapshot(Rc::new(s.filter_traces(filters)))))
    });
    def(snap, "dump", "Snapshot", |vm, a| {
        a.check(vm, "dump", 2, 2, &["filename"])?;
        let TmObject::Snapshot(s) = this(vm, &a)? else { return Err(vm.type_error("not a Snapshot")) };
        let path = vm.str_of(&a.values[1])?;
        s.dump(&path).map_err(|e| error(vm, e))?;
        Ok(Value::None)
    });
    // `Snapshot.load(filename)`: a static method.
    def(snap, "load", "Snapshot", |vm, a| {
        let path = match a.pos() {
            [p] => vm.str_of(p)?,
            [_, p] => vm.str_of(p)?,
            _ => return Err(vm.type_error("load() takes exactly one argument (the file name)")),
        };
        let s = tm::Snapshot::load(&path).map_err(|e| error(vm, e))?;
        Ok(wrap(TmObject::Snapshot(Rc::new(s))))
    });
    let tb = &vm.types.native["Traceback"].dict;
    def(tb, "format", "Traceback", |vm, a| {
        a.check(vm, "format", 1, 3, &["limit", "most_recent_first"])?;
        let TmObject::Traceback(t) = this(vm, &a)? else { return Err(vm.type_error("not a Traceback")) };
        let limit = match a.get(1, "limit") {
            None | Some(Value::None) => None,
            Some(v) => Some(vm.index_value(v)? as isize),
        };
        let recent_first = cumulative(vm, a.get(2, "most_recent_first"))?;
        Ok(Value::list(t.format(limit, recent_first).into_iter().map(Value::str).collect()))
    });
}

fn filter_type_error(vm: &Vm, v: &Value) -> crate::vm::PyErr {
    vm.type_error(format!("filters must be a list of filters, not {}", vm.type_name(v)))
}

/// `Filter(inclusive, filename_pattern, lineno=None, all_frames=False,
/// domain=None)` and `DomainFilter(inclusive, domain)`: the classes'
/// constructors.
pub fn construct(vm: &Vm, name: &str, a: Args<'_>) -> PyResult<Value> {
    match name {
        "Filter" => {
            a.check(
                vm,
                "Filter",
                2,
                5,
                &["inclusive", "filename_pattern", "lineno", "all_frames", "domain"],
            )?;
            let inclusive = vm.truthy(a.get(0, "inclusive").unwrap_or(&Value::None))?;
            let pattern = vm.str_of(a.get(1, "filename_pattern").unwrap_or(&Value::None))?;
            let mut f = tm::Filter::new(inclusive, pattern);
            if let Some(l) = a.get(2, "lineno").filter(|v| !v.is_none()) {
                f = f.lineno(vm.index_value(l)? as u32);
            }
            if let Some(all) = a.get(3, "all_frames") {
                f = f.all_frames(vm.truthy(all)?);
            }
            if let Some(dom) = a.get(4, "domain").filter(|v| !v.is_none()) {
                f = f.domain(vm.index_value(dom)? as u32);
            }
            Ok(wrap(TmObject::Filter(f)))
        }
        "DomainFilter" => {
            a.check(vm, "DomainFilter", 2, 2, &["inclusive", "domain"])?;
            let inclusive = vm.truthy(a.get(0, "inclusive").unwrap_or(&Value::None))?;
            let domain = vm.index_value(a.get(1, "domain").unwrap_or(&Value::None))?;
            Ok(wrap(TmObject::DomainFilter(tm::DomainFilter::new(inclusive, domain as u32))))
        }
        "Frame" => {
            a.check(vm, "Frame", 1, 1, &[])?;
            let parts = vm.collect(&a.pos()[0])?;
            let (Some(file), Some(line)) = (parts.first(), parts.get(1)) else {
                return Err(vm.type_error("Frame() takes a (filename, lineno) tuple"));
            };
            Ok(wrap(TmObject::Frame(tm::Frame::new(vm.str_of(file)?, vm.index_value(line)? as u32))))
        }
        other => Err(vm.type_error(format!("cannot create 'tracemalloc.{other}' instances"))),
    }
}
