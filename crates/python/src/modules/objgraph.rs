//! `objgraph` over `pygc::objgraph`: census, growth, lookups, reference
//! chains and graphs (DOT, SVG or PNG, drawn without Graphviz), with
//! objgraph 3.7's names, keyword arguments and text layouts.
//!
//! Objects are counted by their Python type names, which every object of
//! the interpreter reports to pygc ([`pygc::Trace::dynamic_type_name`]),
//! and graph edges carry attribute names and dict keys
//! ([`pygc::Visitor::attribute`]). Predicates, `extra_info` and `output`
//! may be Python callables and file-like objects; an exception raised by
//! one is raised again once the call is over.

use std::cell::RefCell;
use std::path::PathBuf;

use pygc::objgraph::{self as og, CensusOptions, ChainOptions, GraphOptions, GrowthOptions};
use pygc::{Gc, GcAny};

use crate::builtins::def;
use crate::object::{Dict, DictObject, Value};
use crate::vm::{Args, PyErr, PyResult, Vm};

/// A Python callable used where pygc wants a Rust closure; the first
/// exception it raises is kept for the caller.
struct PyFn<'v> {
    vm: &'v Vm,
    f: Value,
    err: RefCell<Option<PyErr>>,
}

impl<'v> PyFn<'v> {
    fn new(vm: &'v Vm, f: Option<&Value>) -> Option<PyFn<'v>> {
        f.filter(|f| !f.is_none()).map(|f| PyFn { vm, f: f.clone(), err: RefCell::new(None) })
    }

    fn call(&self, o: &GcAny) -> Option<Value> {
        if self.err.borrow().is_some() {
            return None;
        }
        let v = Value::from_any(o.clone())?;
        match self.vm.call(&self.f, &[v], &[]) {
            Ok(r) => Some(r),
            Err(e) => {
                *self.err.borrow_mut() = Some(e);
                None
            }
        }
    }

    fn test(&self, o: &GcAny) -> bool {
        match self.call(o) {
            Some(r) => match self.vm.truthy(&r) {
                Ok(b) => b,
                Err(e) => {
                    *self.err.borrow_mut() = Some(e);
                    false
                }
            },
            None => false,
        }
    }

    fn text(&self, o: &GcAny) -> String {
        match self.call(o) {
            Some(r) => self.vm.str_of(&r).unwrap_or_default(),
            None => String::new(),
        }
    }

    fn finish(self) -> PyResult<()> {
        match self.err.into_inner() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn finish<'v>(fs: impl IntoIterator<Item = Option<PyFn<'v>>>) -> PyResult<()> {
    for f in fs.into_iter().flatten() {
        f.finish()?;
    }
    Ok(())
}

/// A census row: type name and count.
type TypeRow = (String, usize);
/// A growth row: type name, count and increase over the peak.
type GrowthRow = (String, usize, i64);

/// The heap objects among an `objects=` argument.
fn objects_arg(vm: &Vm, v: Option<&Value>) -> PyResult<Option<Vec<GcAny>>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => Ok(Some(vm.collect(v)?.iter().filter_map(Value::to_any).collect())),
    }
}

fn values(objs: Vec<GcAny>) -> Value {
    Value::list(objs.into_iter().filter_map(Value::from_any).collect())
}

fn flag(vm: &Vm, v: Option<&Value>, default: bool) -> PyResult<bool> {
    v.map_or(Ok(default), |v| vm.truthy(v))
}

fn limit_arg(vm: &Vm, v: Option<&Value>, default: Option<usize>) -> PyResult<Option<usize>> {
    match v {
        None => Ok(default),
        Some(Value::None) => Ok(None),
        Some(v) => Ok(Some(vm.index_value(v)?.max(0) as usize)),
    }
}

/// objgraph's `_long_typename`: `module.name` of the object's type.
fn long_typename(vm: &Vm, v: &Value) -> String {
    let cls = vm.class_of(v);
    let module = match cls.dict.get_str("__module__") {
        Some(Value::Str(m)) => m.s.to_string(),
        _ => "builtins".to_string(),
    };
    format!("{module}.{}", cls.name())
}

/// Writes text to `file` (a Python file object) or `sys.stdout`.
fn emit(vm: &Vm, file: Option<&Value>, text: &str) -> PyResult<()> {
    match file.filter(|f| !f.is_none()) {
        Some(f) => super::sys::write_to(vm, f, text),
        None => {
            vm.write_stdout(text);
            Ok(())
        }
    }
}

/// `typestats(objects=None, shortnames=True, filter=None)` as rows in
/// first-seen order.
fn typestats_rows(
    vm: &Vm,
    objects: Option<&[GcAny]>,
    shortnames: bool,
    filter: Option<&PyFn<'_>>,
) -> Vec<(String, usize)> {
    if shortnames {
        let pred = filter.map(|f| move |o: &GcAny| f.test(o));
        let opts = CensusOptions {
            shortnames: true,
            objects,
            filter: pred.as_ref().map(|p| p as &dyn Fn(&GcAny) -> bool),
            bytes: false,
        };
        return og::typestats(&opts).into_iter().map(|s| (s.name, s.count)).collect();
    }
    let owned;
    let objects = match objects {
        Some(o) => o,
        None => {
            owned = pygc::gc::get_objects(None).unwrap_or_default();
            &owned[..]
        }
    };
    let mut rows: Vec<(String, usize)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for o in objects {
        if filter.is_some_and(|f| !f.test(o)) {
            continue;
        }
        let Some(v) = Value::from_any(o.clone()) else { continue };
        let name = long_typename(vm, &v);
        match index.get(&name) {
            Some(&i) => rows[i].1 += 1,
            None => {
                index.insert(name.clone(), rows.len());
                rows.push((name, 1));
            }
        }
    }
    rows
}

fn most_common_rows(
    vm: &Vm,
    a: &Args<'_>,
    limit_pos: usize,
    has_file: bool,
) -> PyResult<(Vec<TypeRow>, Option<Value>)> {
    let limit = limit_arg(vm, a.get(limit_pos, "limit"), Some(10))?;
    let objects = objects_arg(vm, a.get(limit_pos + 1, "objects"))?;
    let shortnames = flag(vm, a.get(limit_pos + 2, "shortnames"), true)?;
    let (file, filter_at) = if has_file { (a.get(3, "file").cloned(), 4) } else { (None, 3) };
    let filter = PyFn::new(vm, a.get(filter_at, "filter"));
    let mut rows = typestats_rows(vm, objects.as_deref(), shortnames, filter.as_ref());
    finish([filter])?;
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    if let Some(l) = limit {
        rows.truncate(l);
    }
    Ok((rows, file))
}

fn table(rows: &[(String, usize)]) -> String {
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    rows.iter().map(|(n, c)| format!("{n:<width$} {c}\n")).collect()
}

fn show_most_common_types(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "show_most_common_types", 0, 5, &["limit", "objects", "shortnames", "file", "filter"])?;
    let (rows, file) = most_common_rows(vm, &a, 0, true)?;
    emit(vm, file.as_ref(), &table(&rows))?;
    Ok(Value::None)
}

fn most_common_types(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "most_common_types", 0, 4, &["limit", "objects", "shortnames", "filter"])?;
    let (rows, _) = most_common_rows(vm, &a, 0, false)?;
    Ok(Value::list(
        rows.into_iter().map(|(n, c)| Value::tuple(vec![Value::str(n), Value::Int(c as i64)])).collect(),
    ))
}

fn typestats(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "typestats", 0, 3, &["objects", "shortnames", "filter"])?;
    let objects = objects_arg(vm, a.get(0, "objects"))?;
    let shortnames = flag(vm, a.get(1, "shortnames"), true)?;
    let filter = PyFn::new(vm, a.get(2, "filter"));
    let rows = typestats_rows(vm, objects.as_deref(), shortnames, filter.as_ref());
    finish([filter])?;
    let d = Dict::new_object();
    for (n, c) in rows {
        d.set_str(&Gc::new(crate::object::PyStr::new(n)), Value::Int(c as i64));
    }
    Ok(Value::Dict(d))
}

/// Objects among `objects` (or the heap) whose type is `typename`: a dotted
/// name is compared with `module.name`, a bare one with `name`.
fn of_type(vm: &Vm, typename: &str, objects: Option<Vec<GcAny>>) -> Vec<GcAny> {
    if !typename.contains('.') {
        return og::by_type(typename, objects.as_deref());
    }
    let objects = objects.unwrap_or_else(|| pygc::gc::get_objects(None).unwrap_or_default());
    objects
        .into_iter()
        .filter(|o| Value::from_any(o.clone()).is_some_and(|v| long_typename(vm, &v) == typename))
        .collect()
}

fn count(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "count", 1, 2, &["typename", "objects"])?;
    let name = vm.str_of(a.get(0, "typename").unwrap_or(&Value::None))?;
    let objects = objects_arg(vm, a.get(1, "objects"))?;
    let n = if name.contains('.') {
        of_type(vm, &name, objects).len()
    } else {
        og::count(&name, objects.as_deref())
    };
    Ok(Value::Int(n as i64))
}

fn by_type(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "by_type", 1, 2, &["typename", "objects"])?;
    let name = vm.str_of(a.get(0, "typename").unwrap_or(&Value::None))?;
    let objects = objects_arg(vm, a.get(1, "objects"))?;
    Ok(values(of_type(vm, &name, objects)))
}

/// `growth` rows: (name, count, delta), largest delta first.
fn growth_rows(vm: &Vm, a: &Args<'_>, has_file: bool) -> PyResult<(Vec<GrowthRow>, Option<Value>)> {
    let limit = limit_arg(vm, a.get(0, "limit"), Some(10))?;
    let peak_stats = a.get(1, "peak_stats").filter(|p| !p.is_none()).cloned();
    let shortnames = flag(vm, a.get(2, "shortnames"), true)?;
    let (file, filter_at) = if has_file { (a.get(3, "file").cloned(), 4) } else { (None, 3) };
    let filter = PyFn::new(vm, a.get(filter_at, "filter"));
    let rows = match (&peak_stats, shortnames) {
        (None, true) => {
            let pred = filter.as_ref().map(|f| move |o: &GcAny| f.test(o));
            let opts = GrowthOptions {
                shortnames: true,
                filter: pred.as_ref().map(|p| p as &dyn Fn(&GcAny) -> bool),
                collect: true,
                bytes: false,
            };
            og::growth(limit.filter(|&l| l > 0), &opts)
                .into_iter()
                .map(|r| (r.name, r.count, r.delta as i64))
                .collect()
        }
        _ => {
            let peaks = match &peak_stats {
                Some(Value::Dict(d)) => d.clone(),
                Some(other) => {
                    return Err(
                        vm.type_error(format!("peak_stats must be a dict, not {}", vm.type_name(other)))
                    )
                }
                None => own_peaks(vm),
            };
            pygc::gc::collect();
            let stats = typestats_rows(vm, None, shortnames, filter.as_ref());
            let mut rows = Vec::new();
            for (name, n) in stats {
                let key = Value::str(name.clone());
                let old = match vm.dict_get(&peaks, &key)? {
                    Some(v) => vm.index_value(&v)?,
                    None => 0,
                };
                if n as i64 > old {
                    vm.dict_set(&peaks, key, Value::Int(n as i64))?;
                    rows.push((name, n, n as i64 - old));
                }
            }
            rows.sort_by_key(|r| std::cmp::Reverse(r.2));
            if let Some(l) = limit.filter(|&l| l > 0) {
                rows.truncate(l);
            }
            rows
        }
    };
    finish([filter])?;
    Ok((rows, file))
}

/// The peaks of `growth(shortnames=False)` without `peak_stats` (objgraph
/// keeps one dict for the module).
fn own_peaks(vm: &Vm) -> Gc<Dict> {
    thread_local! {
        static PEAKS: RefCell<Option<Gc<Dict>>> = const { RefCell::new(None) };
    }
    let _ = vm;
    PEAKS.with(|p| p.borrow_mut().get_or_insert_with(Dict::new_object).clone())
}

fn show_growth(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "show_growth", 0, 5, &["limit", "peak_stats", "shortnames", "file", "filter"])?;
    let (rows, file) = growth_rows(vm, &a, true)?;
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let text: String = rows.iter().map(|(n, c, d)| format!("{n:<width$}{c:>9} {d:>+9}\n")).collect();
    emit(vm, file.as_ref(), &text)?;
    Ok(Value::None)
}

fn growth(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "growth", 0, 4, &["limit", "peak_stats", "shortnames", "filter"])?;
    let (rows, _) = growth_rows(vm, &a, false)?;
    Ok(Value::list(
        rows.into_iter()
            .map(|(n, c, d)| Value::tuple(vec![Value::str(n), Value::Int(c as i64), Value::Int(d)]))
            .collect(),
    ))
}

fn at(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "at", 1, 1, &["addr"])?;
    let addr = vm.index_value(&a.pos()[0])?;
    Ok(og::at(addr as usize).and_then(Value::from_any).unwrap_or(Value::None))
}

fn get_leaking_objects(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "get_leaking_objects", 0, 1, &["objects"])?;
    let objects = objects_arg(vm, a.get(0, "objects"))?;
    Ok(values(og::get_leaking_objects(objects.as_deref(), true)))
}

fn ids(vm: &Vm, v: Option<&Value>) -> PyResult<Vec<usize>> {
    match v {
        None | Some(Value::None) => Ok(Vec::new()),
        Some(v) => Ok(vm.collect(v)?.iter().filter_map(Value::heap_id).collect()),
    }
}

fn chain(vm: &Vm, a: Args<'_>, backrefs: bool) -> PyResult<Value> {
    let name = if backrefs { "find_backref_chain" } else { "find_ref_chain" };
    a.check(vm, name, 2, 4, &["obj", "predicate", "max_depth", "extra_ignore"])?;
    let Some(obj) = a.get(0, "obj").and_then(Value::to_any) else {
        return Ok(Value::list(vec![a.get(0, "obj").cloned().unwrap_or(Value::None)]));
    };
    let pred =
        PyFn::new(vm, a.get(1, "predicate")).ok_or_else(|| vm.type_error("predicate must be callable"))?;
    let max_depth = match a.get(2, "max_depth") {
        Some(v) => vm.index_value(v)?.max(0) as usize,
        None => 20,
    };
    let ignore = ids(vm, a.get(3, "extra_ignore"))?;
    let opts = ChainOptions { max_depth, extra_ignore: &ignore, collect: true };
    let test = |o: &GcAny| pred.test(o);
    let found = if backrefs {
        og::find_backref_chain(&obj, &test, &opts)
    } else {
        og::find_ref_chain(&obj, &test, &opts)
    };
    pred.finish()?;
    Ok(values(found))
}

/// `show_refs` / `show_backrefs` / `show_chain`: the shared keywords.
const GRAPH_KEYWORDS: &[&str] = &[
    "objs",
    "max_depth",
    "extra_ignore",
    "filter",
    "too_many",
    "highlight",
    "filename",
    "extra_info",
    "refcounts",
    "shortnames",
    "output",
    "extra_node_attrs",
    "backrefs",
];

enum Graph {
    Refs,
    Backrefs,
    Chain(Vec<Vec<GcAny>>),
}

fn graph(vm: &Vm, a: Args<'_>, kind: Graph, objs: Vec<GcAny>) -> PyResult<Value> {
    let kw = |name: &str| a.kw(name);
    let max_depth = match kw("max_depth").or_else(|| a.pos().get(1)) {
        Some(v) => vm.index_value(v)?.max(0) as usize,
        None => match &kind {
            Graph::Chain(chains) => chains.iter().map(Vec::len).max().unwrap_or(1).saturating_sub(1),
            _ => 3,
        },
    };
    let ignore = ids(vm, kw("extra_ignore"))?;
    let filter = PyFn::new(vm, kw("filter"));
    let highlight = PyFn::new(vm, kw("highlight"));
    let extra_info = PyFn::new(vm, kw("extra_info"));
    if kw("extra_node_attrs").is_some_and(|v| !v.is_none()) {
        return Err(
            vm.new_error("NotImplementedError", "pygc-python's objgraph does not support extra_node_attrs")
        );
    }
    let too_many = match kw("too_many") {
        Some(v) => vm.index_value(v)?.max(1) as usize,
        None => 10,
    };
    let filename = match kw("filename").filter(|v| !v.is_none()) {
        Some(v) => Some(PathBuf::from(vm.str_of(v)?)),
        None => None,
    };
    let output = kw("output").filter(|v| !v.is_none()).cloned();
    let filter_fn = filter.as_ref().map(|f| move |o: &GcAny| f.test(o));
    let highlight_fn = highlight.as_ref().map(|f| move |o: &GcAny| f.test(o));
    let info_fn = extra_info.as_ref().map(|f| move |o: &GcAny| f.text(o));
    let mut dot = Vec::new();
    let mut status = Vec::new();
    let opts = GraphOptions {
        max_depth,
        extra_ignore: &ignore,
        filter: filter_fn.as_ref().map(|p| p as &dyn Fn(&GcAny) -> bool),
        too_many,
        highlight: highlight_fn.as_ref().map(|p| p as &dyn Fn(&GcAny) -> bool),
        filename,
        output: if output.is_some() { Some(&mut dot) } else { None },
        extra_info: info_fn.as_ref().map(|p| p as &dyn Fn(&GcAny) -> String),
        refcounts: flag(vm, kw("refcounts"), false)?,
        shortnames: flag(vm, kw("shortnames"), true)?,
        status: Some(&mut status),
        ..Default::default()
    };
    vm.flush_stdout();
    let r = match &kind {
        Graph::Refs => og::show_refs(&objs, opts),
        Graph::Backrefs => og::show_backrefs(&objs, opts),
        Graph::Chain(chains) => og::show_chain(chains, true, opts),
    };
    finish([filter, highlight, extra_info])?;
    match r {
        Ok(_) => {}
        Err(og::ObjgraphError::OutputAndFilename) => {
            return Err(vm.value_error("Cannot specify both output and filename."))
        }
        Err(e) => return Err(vm.new_error("OSError", e.to_string())),
    }
    vm.write_stdout(&String::from_utf8_lossy(&status));
    if let Some(out) = output {
        super::sys::write_to(vm, &out, &String::from_utf8_lossy(&dot))?;
    }
    Ok(Value::None)
}

/// objgraph accepts one object or a list or tuple of them.
fn graph_roots(vm: &Vm, v: Option<&Value>) -> PyResult<Vec<GcAny>> {
    let v = v.ok_or_else(|| vm.type_error("missing required argument 'objs'"))?;
    let items = match v {
        Value::List(_) | Value::Tuple(_) => vm.collect(v)?,
        other => vec![other.clone()],
    };
    Ok(items.iter().filter_map(Value::to_any).collect())
}

fn show_refs(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "show_refs", 1, 2, GRAPH_KEYWORDS)?;
    let objs = graph_roots(vm, a.get(0, "objs"))?;
    graph(vm, a, Graph::Refs, objs)
}

fn show_backrefs(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "show_backrefs", 1, 2, GRAPH_KEYWORDS)?;
    let objs = graph_roots(vm, a.get(0, "objs"))?;
    graph(vm, a, Graph::Backrefs, objs)
}

fn show_chain(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "show_chain", 0, usize::MAX, GRAPH_KEYWORDS)?;
    let mut chains = Vec::new();
    for c in a.pos() {
        chains.push(vm.collect(c)?.iter().filter_map(Value::to_any).collect::<Vec<_>>());
    }
    let roots: Vec<GcAny> = chains.iter().filter_map(|c| c.last().cloned()).collect();
    graph(vm, Args { values: a.values, kwnames: a.kwnames }, Graph::Chain(chains), roots)
}

/// Fills the module.
pub fn fill(_vm: &Vm, d: &Gc<Dict>) {
    def(d, "show_most_common_types", "objgraph", show_most_common_types);
    def(d, "most_common_types", "objgraph", most_common_types);
    def(d, "typestats", "objgraph", typestats);
    def(d, "count", "objgraph", count);
    def(d, "by_type", "objgraph", by_type);
    def(d, "show_growth", "objgraph", show_growth);
    def(d, "growth", "objgraph", growth);
    def(d, "at", "objgraph", at);
    def(d, "get_leaking_objects", "objgraph", get_leaking_objects);
    def(d, "find_backref_chain", "objgraph", |vm, a| chain(vm, a, true));
    def(d, "find_ref_chain", "objgraph", |vm, a| chain(vm, a, false));
    def(d, "show_refs", "objgraph", show_refs);
    def(d, "show_backrefs", "objgraph", show_backrefs);
    def(d, "show_chain", "objgraph", show_chain);
}
