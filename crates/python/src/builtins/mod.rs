//! The `builtins` module: functions, and the constructors of the built-in
//! types.

pub mod attrs;
pub mod format;
pub mod iters;
pub mod repr;
pub mod strings;
pub mod types;

use crate::object::DictObject;
use num_traits::{Signed, ToPrimitive};
use pygc::{Gc, GcCell};

use crate::object::{class, Builtin, Class, Dict, IterState, NativeFn, NativeKind, PyStr, Range, Set, Value};
use crate::vm::{Args, PyResult, Vm};

/// A built-in function value.
pub fn builtin(name: &'static str, owner: &'static str, f: NativeFn) -> Value {
    Value::Builtin(Gc::new(Builtin { name, f, bound: None, owner }))
}

/// Puts a function into a namespace.
pub fn def(dict: &Gc<Dict>, name: &'static str, owner: &'static str, f: NativeFn) {
    dict.set_str(&Gc::new(PyStr::new(name.to_string())), builtin(name, owner, f));
}

fn set(dict: &Gc<Dict>, name: &str, v: Value) {
    dict.set_str(&Gc::new(PyStr::new(name.to_string())), v);
}

/// Fills `vm.builtins`.
pub fn install(vm: &'static Vm) {
    let b = &vm.builtins;
    let t = &vm.types;
    for (name, c) in [
        ("object", &t.object),
        ("type", &t.type_),
        ("int", &t.int),
        ("bool", &t.bool),
        ("float", &t.float),
        ("str", &t.str),
        ("bytes", &t.bytes),
        ("tuple", &t.tuple),
        ("list", &t.list),
        ("dict", &t.dict),
        ("set", &t.set),
        ("frozenset", &t.frozenset),
        ("range", &t.range),
        ("slice", &t.slice),
        ("property", &t.property),
        ("staticmethod", &t.staticmethod),
        ("classmethod", &t.classmethod),
        ("super", &t.super_),
    ] {
        set(b, name, Value::Class(c.clone()));
    }
    for name in ["enumerate", "zip", "map", "filter"] {
        set(b, name, Value::Class(t.iter_types[name].clone()));
    }
    for (name, c) in &t.exceptions {
        set(b, name, Value::Class(c.clone()));
    }
    set(b, "EnvironmentError", Value::Class(t.exc("OSError").clone()));
    set(b, "IOError", Value::Class(t.exc("OSError").clone()));
    set(b, "None", Value::None);
    set(b, "Ellipsis", Value::Ellipsis);
    set(b, "NotImplemented", Value::NotImplemented);
    set(b, "__name__", Value::str("builtins"));
    for (name, f) in [
        ("print", print as NativeFn),
        ("len", len),
        ("repr", repr_fn),
        ("ascii", ascii_fn),
        ("isinstance", isinstance),
        ("issubclass", issubclass),
        ("id", id),
        ("hash", hash),
        ("iter", iter_fn),
        ("next", next_fn),
        ("getattr", getattr),
        ("setattr", setattr),
        ("hasattr", hasattr),
        ("delattr", delattr),
        ("sorted", sorted),
        ("reversed", reversed),
        ("sum", sum),
        ("min", min),
        ("max", max),
        ("abs", abs),
        ("any", any),
        ("all", all),
        ("callable", callable),
        ("chr", chr),
        ("ord", ord),
        ("round", round),
        ("divmod", divmod),
        ("pow", pow),
        ("vars", vars),
        ("dir", dir),
        ("globals", globals),
        ("format", format_fn),
        ("hex", hex),
        ("oct", oct),
        ("bin", bin),
        ("__build_class__", build_class),
        ("__import__", import_fn),
        ("input", input),
        ("exit", exit_fn),
        ("quit", exit_fn),
        ("open", open_fn),
    ] {
        def(b, name, "builtins", f);
    }
}

fn print(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    let sep = match a.kw("sep") {
        None | Some(Value::None) => " ".to_string(),
        Some(Value::Str(s)) => s.s.to_string(),
        Some(o) => {
            return Err(vm.type_error(format!("sep must be None or a string, not {}", vm.type_name(o))))
        }
    };
    let end = match a.kw("end") {
        None | Some(Value::None) => "\n".to_string(),
        Some(Value::Str(s)) => s.s.to_string(),
        Some(o) => {
            return Err(vm.type_error(format!("end must be None or a string, not {}", vm.type_name(o))))
        }
    };
    let mut s = String::new();
    for (i, v) in a.pos().iter().enumerate() {
        if i > 0 {
            s.push_str(&sep);
        }
        s.push_str(&vm.str_of(v)?);
    }
    s.push_str(&end);
    let flush = match a.kw("flush") {
        Some(v) => vm.truthy(v)?,
        None => false,
    };
    match a.kw("file") {
        None | Some(Value::None) => vm.write_stdout(&s),
        Some(f) => {
            crate::modules::sys::write_to(vm, f, &s)?;
        }
    }
    if flush {
        vm.flush_stdout();
    }
    Ok(Value::None)
}

/// `len(v)`.
pub fn len_of(vm: &Vm, v: &Value) -> PyResult<usize> {
    Ok(match v {
        Value::Str(s) => s.chars,
        Value::Bytes(b) => b.data.len(),
        Value::Tuple(t) => t.items.len(),
        Value::List(l) => l.items.borrow().len(),
        Value::Dict(d) => d.len(),
        Value::Set(s) | Value::FrozenSet(s) => s.table.borrow().len(),
        Value::Range(r) => r.len() as usize,
        Value::Native(n) if matches!(n.kind, NativeKind::MappingProxy(_) | NativeKind::DictView(..)) => {
            match &n.kind {
                NativeKind::MappingProxy(d) | NativeKind::DictView(d, _) => d.len(),
                _ => 0,
            }
        }
        Value::Native(n) if matches!(n.kind, NativeKind::Opaque(_)) => match &n.kind {
            NativeKind::Opaque(o) => o.len(vm, v)?,
            _ => 0,
        },
        Value::Instance(_) => match vm.lookup_special(v, "__len__") {
            Some(m) => {
                let r = vm.call_bound(&m, v, &[], &[])?;
                let n = vm.index_value(&r)?;
                if n < 0 {
                    return Err(vm.value_error("__len__() should return >= 0"));
                }
                n as usize
            }
            None => return Err(vm.type_error(format!("object of type '{}' has no len()", vm.type_name(v)))),
        },
        _ => return Err(vm.type_error(format!("object of type '{}' has no len()", vm.type_name(v)))),
    })
}

fn len(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "len", 1, 1, &[])?;
    Ok(Value::Int(len_of(vm, &a.pos()[0])? as i64))
}

fn repr_fn(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "repr", 1, 1, &[])?;
    Ok(Value::str(vm.repr(&a.pos()[0])?))
}

fn ascii_fn(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "ascii", 1, 1, &[])?;
    Ok(Value::str(format::ascii_escape(&vm.repr(&a.pos()[0])?)))
}

fn class_list(vm: &Vm, spec: &Value, fname: &str) -> PyResult<Vec<Gc<Class>>> {
    match spec {
        Value::Class(c) => Ok(vec![c.clone()]),
        Value::Tuple(t) => {
            let mut v = Vec::new();
            for x in t.items.iter() {
                v.extend(class_list(vm, x, fname)?);
            }
            Ok(v)
        }
        _ => Err(vm.type_error(format!("{fname}() arg 2 must be a type, a tuple of types, or a union"))),
    }
}

fn isinstance(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "isinstance", 2, 2, &[])?;
    let classes = class_list(vm, &a.pos()[1], "isinstance")?;
    Ok(Value::Bool(classes.iter().any(|c| vm.isinstance_class(&a.pos()[0], c))))
}

fn issubclass(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "issubclass", 2, 2, &[])?;
    let Value::Class(c) = &a.pos()[0] else {
        return Err(vm.type_error("issubclass() arg 1 must be a class"));
    };
    let classes = class_list(vm, &a.pos()[1], "issubclass")?;
    Ok(Value::Bool(classes.iter().any(|b| {
        class::is_subclass(c, b) || (Gc::ptr_eq(b, &vm.types.int) && Gc::ptr_eq(c, &vm.types.bool))
    })))
}

/// `id(v)`: the address of a heap object; immediates get a stable
/// address-like number of their own.
pub fn id_of(v: &Value) -> i64 {
    match v.heap_id() {
        Some(id) => id as i64,
        None => match v {
            Value::None | Value::Null => 0x7f00_0000_1000,
            Value::Bool(b) => 0x7f00_0000_2000 + *b as i64 * 32,
            Value::NotImplemented => 0x7f00_0000_3000,
            Value::Ellipsis => 0x7f00_0000_4000,
            Value::Int(i) => 0x7f10_0000_0000_i64.wrapping_add(i.wrapping_mul(32)),
            Value::Float(f) => 0x7f20_0000_0000_i64 ^ (f.to_bits() as i64 & 0xffff_ffff) << 4,
            _ => 0,
        },
    }
}

fn id(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "id", 1, 1, &[])?;
    Ok(Value::Int(id_of(&a.pos()[0])))
}

fn hash(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "hash", 1, 1, &[])?;
    Ok(Value::Int(vm.hash(&a.pos()[0])?))
}

fn iter_fn(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "iter", 1, 2, &[])?;
    if let Some(sentinel) = a.pos().get(1) {
        return Ok(Value::iter(IterState::Callable(a.pos()[0].clone(), sentinel.clone())));
    }
    vm.iter(&a.pos()[0])
}

fn next_fn(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "next", 1, 2, &[])?;
    let it = &a.pos()[0];
    if matches!(
        it,
        Value::List(_)
            | Value::Tuple(_)
            | Value::Str(_)
            | Value::Dict(_)
            | Value::Set(_)
            | Value::Int(_)
            | Value::None
    ) {
        return Err(vm.type_error(format!("'{}' object is not an iterator", vm.type_name(it))));
    }
    if let Value::Generator(g) = it {
        return match vm.gen_send(g, Value::None)? {
            crate::vm::eval::GenStep::Yielded(v) => Ok(v),
            crate::vm::eval::GenStep::Returned(v) => match a.pos().get(1) {
                Some(d) => Ok(d.clone()),
                None => Err(vm.stop_iteration(if v.is_none() { None } else { Some(v) })),
            },
        };
    }
    match vm.next(it)? {
        Some(v) => Ok(v),
        None => match a.pos().get(1) {
            Some(d) => Ok(d.clone()),
            None => Err(vm.stop_iteration(None)),
        },
    }
}

fn attr_name(vm: &Vm, v: &Value) -> PyResult<Gc<PyStr>> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(vm.type_error(format!("attribute name must be string, not '{}'", vm.type_name(other)))),
    }
}

fn getattr(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "getattr", 2, 3, &[])?;
    let name = attr_name(vm, &a.pos()[1])?;
    match vm.getattr(&a.pos()[0], &name) {
        Err(e) if e.is(vm, "AttributeError") && a.pos().len() == 3 => Ok(a.pos()[2].clone()),
        r => r,
    }
}

fn setattr(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "setattr", 3, 3, &[])?;
    let name = attr_name(vm, &a.pos()[1])?;
    vm.setattr(&a.pos()[0], &name, a.pos()[2].clone())?;
    Ok(Value::None)
}

fn hasattr(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "hasattr", 2, 2, &[])?;
    let name = attr_name(vm, &a.pos()[1])?;
    match vm.getattr(&a.pos()[0], &name) {
        Ok(_) => Ok(Value::Bool(true)),
        Err(e) if e.is(vm, "AttributeError") => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

fn delattr(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "delattr", 2, 2, &[])?;
    let name = attr_name(vm, &a.pos()[1])?;
    vm.delattr(&a.pos()[0], &name)?;
    Ok(Value::None)
}

/// Sorts values in place with an optional key, stably, as `list.sort`.
pub fn sort_values(vm: &Vm, items: &mut Vec<Value>, key: Option<&Value>, reverse: bool) -> PyResult<()> {
    let keys: Vec<Value> = match key {
        Some(k) if !k.is_none() => {
            items.iter().map(|x| vm.call(k, std::slice::from_ref(x), &[])).collect::<PyResult<_>>()?
        }
        _ => items.clone(),
    };
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let mut err = None;
    // Merge sort on indices with a fallible comparison (stable).
    let mut less = |a: usize, b: usize| -> bool {
        if err.is_some() {
            return false;
        }
        let (x, y) = if reverse { (&keys[b], &keys[a]) } else { (&keys[a], &keys[b]) };
        match vm.compare(crate::bytecode::CmpOp::Lt, x, y).and_then(|r| vm.truthy(&r)) {
            Ok(r) => r,
            Err(e) => {
                err = Some(e);
                false
            }
        }
    };
    merge_sort(&mut idx, &mut less);
    if let Some(e) = err {
        return Err(e);
    }
    let old = std::mem::take(items);
    let mut slots: Vec<Option<Value>> = old.into_iter().map(Some).collect();
    *items = idx.into_iter().map(|i| slots[i].take().expect("each index once")).collect();
    Ok(())
}

fn merge_sort(v: &mut [usize], less: &mut impl FnMut(usize, usize) -> bool) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    if n <= 16 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && less(v[j], v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mid = n / 2;
    merge_sort(&mut v[..mid], less);
    merge_sort(&mut v[mid..], less);
    let mut out = Vec::with_capacity(n);
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if less(v[j], v[i]) {
            out.push(v[j]);
            j += 1;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&v[i..mid]);
    out.extend_from_slice(&v[j..n]);
    v.copy_from_slice(&out);
}

fn sorted(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "sorted", 1, 1, &["key", "reverse"])?;
    let mut items = vm.collect(&a.pos()[0])?;
    let reverse = match a.kw("reverse") {
        Some(r) => vm.truthy(r)?,
        None => false,
    };
    sort_values(vm, &mut items, a.kw("key"), reverse)?;
    Ok(Value::list(items))
}

fn reversed(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "reversed", 1, 1, &[])?;
    let v = &a.pos()[0];
    match v {
        Value::List(l) => {
            let n = l.items.borrow().len();
            Ok(Value::iter(IterState::Reversed(v.clone(), n)))
        }
        Value::Tuple(_) | Value::Str(_) | Value::Range(_) | Value::Bytes(_) => {
            let n = len_of(vm, v)?;
            Ok(Value::iter(IterState::Reversed(v.clone(), n)))
        }
        Value::Dict(d) => {
            let keys: Vec<Value> = d.table.borrow().iter().map(|e| e.key.clone()).collect();
            let n = keys.len();
            Ok(Value::iter(IterState::Reversed(Value::list(keys), n)))
        }
        Value::Native(n) if matches!(n.kind, NativeKind::DictView(..)) => {
            let NativeKind::DictView(d, kind) = &n.kind else { unreachable!("checked") };
            let items = types::view_items(d, *kind);
            let n = items.len();
            Ok(Value::iter(IterState::Reversed(Value::list(items), n)))
        }
        Value::Instance(_) => {
            if let Some(m) = vm.lookup_special(v, "__reversed__") {
                return vm.call_bound(&m, v, &[], &[]);
            }
            let n = len_of(vm, v)?;
            Ok(Value::iter(IterState::Reversed(v.clone(), n)))
        }
        _ => Err(vm.type_error(format!("'{}' object is not reversible", vm.type_name(v)))),
    }
}

fn sum(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "sum", 1, 2, &["start"])?;
    let mut acc = a.get(1, "start").cloned().unwrap_or(Value::Int(0));
    if let Value::Str(_) = acc {
        return Err(vm.type_error("sum() can't sum strings [use ''.join(seq) instead]"));
    }
    let it = vm.iter(&a.pos()[0])?;
    while let Some(x) = vm.next(&it)? {
        acc = vm.binary(crate::bytecode::BinOp::Add, &acc, &x)?;
    }
    Ok(acc)
}

fn min_max(vm: &Vm, a: Args<'_>, name: &str, op: crate::bytecode::CmpOp) -> PyResult<Value> {
    a.check(vm, name, 1, usize::MAX, &["key", "default"])?;
    let items = if a.pos().len() == 1 { vm.collect(&a.pos()[0])? } else { a.pos().to_vec() };
    let key = a.kw("key").filter(|k| !k.is_none());
    let mut best: Option<(Value, Value)> = None;
    for x in items {
        let k = match key {
            Some(f) => vm.call(f, std::slice::from_ref(&x), &[])?,
            None => x.clone(),
        };
        best = match best {
            None => Some((k, x)),
            Some((bk, bx)) => {
                let r = vm.compare(op, &k, &bk)?;
                if vm.truthy(&r)? {
                    Some((k, x))
                } else {
                    Some((bk, bx))
                }
            }
        };
    }
    match best {
        Some((_, x)) => Ok(x),
        None => match a.kw("default") {
            Some(d) => Ok(d.clone()),
            None => Err(vm.value_error(format!("{name}() arg is an empty sequence"))),
        },
    }
}

fn min(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    min_max(vm, a, "min", crate::bytecode::CmpOp::Lt)
}

fn max(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    min_max(vm, a, "max", crate::bytecode::CmpOp::Gt)
}

fn abs(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "abs", 1, 1, &[])?;
    Ok(match &a.pos()[0] {
        Value::Int(i) => match i.checked_abs() {
            Some(r) => Value::Int(r),
            None => Value::from_bigint(num_bigint::BigInt::from(*i).abs()),
        },
        Value::Bool(b) => Value::Int(*b as i64),
        Value::Long(b) => Value::from_bigint(b.0.abs()),
        Value::Float(f) => Value::Float(f.abs()),
        v @ Value::Instance(_) => match vm.lookup_special(v, "__abs__") {
            Some(m) => vm.call_bound(&m, v, &[], &[])?,
            None => return Err(vm.type_error(format!("bad operand type for abs(): '{}'", vm.type_name(v)))),
        },
        v => return Err(vm.type_error(format!("bad operand type for abs(): '{}'", vm.type_name(v)))),
    })
}

fn any(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "any", 1, 1, &[])?;
    let it = vm.iter(&a.pos()[0])?;
    while let Some(x) = vm.next(&it)? {
        if vm.truthy(&x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn all(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "all", 1, 1, &[])?;
    let it = vm.iter(&a.pos()[0])?;
    while let Some(x) = vm.next(&it)? {
        if !vm.truthy(&x)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn callable(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "callable", 1, 1, &[])?;
    Ok(Value::Bool(vm.callable(&a.pos()[0])))
}

impl Vm {
    /// `callable(v)`.
    pub fn callable(&self, v: &Value) -> bool {
        match v {
            Value::Function(_) | Value::Builtin(_) | Value::Method(_) | Value::Class(_) => true,
            Value::Instance(_) => self.lookup_special(v, "__call__").is_some(),
            Value::Native(n) => matches!(
                n.kind,
                NativeKind::StaticMethod(_)
                    | NativeKind::WeakRef(_)
                    | NativeKind::Opaque(crate::modules::Opaque::Profiled(_))
            ),
            _ => false,
        }
    }
}

fn chr(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "chr", 1, 1, &[])?;
    let i = vm.index_value(&a.pos()[0])?;
    match u32::try_from(i).ok().and_then(char::from_u32) {
        Some(c) => Ok(Value::str(c.to_string())),
        None => Err(vm.value_error("chr() arg not in range(0x110000)")),
    }
}

fn ord(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "ord", 1, 1, &[])?;
    match &a.pos()[0] {
        Value::Str(s) if s.chars == 1 => Ok(Value::Int(s.s.chars().next().expect("one char") as i64)),
        Value::Str(s) => {
            Err(vm.type_error(format!("ord() expected a character, but string of length {} found", s.chars)))
        }
        Value::Bytes(b) if b.data.len() == 1 => Ok(Value::Int(b.data[0] as i64)),
        v => Err(vm.type_error(format!("ord() expected string of length 1, but {} found", vm.type_name(v)))),
    }
}

fn round(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "round", 1, 2, &["ndigits"])?;
    let nd = a.get(1, "ndigits").filter(|v| !v.is_none());
    match &a.pos()[0] {
        Value::Float(f) => match nd {
            None => {
                let r = round_half_even(*f);
                if !r.is_finite() {
                    return Err(vm.new_error("OverflowError", "cannot convert float infinity to integer"));
                }
                Ok(Value::from_bigint(num_bigint::BigInt::from(r as i128)))
            }
            Some(n) => {
                let n = vm.index_value(n)?;
                let s = format!("{:.*}", n.max(0) as usize, f);
                if n >= 0 {
                    Ok(Value::Float(s.parse().unwrap_or(*f)))
                } else {
                    let p = 10f64.powi((-n) as i32);
                    Ok(Value::Float(round_half_even(f / p) * p))
                }
            }
        },
        Value::Int(i) => match nd {
            None => Ok(Value::Int(*i)),
            Some(n) => {
                let n = vm.index_value(n)?;
                if n >= 0 {
                    Ok(Value::Int(*i))
                } else {
                    let p = 10i64.pow((-n) as u32);
                    let r = round_half_even(*i as f64 / p as f64) as i64 * p;
                    Ok(Value::Int(r))
                }
            }
        },
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        v @ Value::Instance(_) => match vm.lookup_special(v, "__round__") {
            Some(m) => vm.call_bound(&m, v, &a.pos()[1..], &[]),
            None => Err(vm.type_error(format!("type {} doesn't define __round__ method", vm.type_name(v)))),
        },
        v => Err(vm.type_error(format!("type {} doesn't define __round__ method", vm.type_name(v)))),
    }
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

fn divmod(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "divmod", 2, 2, &[])?;
    let (x, y) = (&a.pos()[0], &a.pos()[1]);
    let q = vm.binary(crate::bytecode::BinOp::FloorDiv, x, y)?;
    let r = vm.binary(crate::bytecode::BinOp::Mod, x, y)?;
    Ok(Value::tuple(vec![q, r]))
}

fn pow(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "pow", 2, 3, &[])?;
    if let Some(m) = a.pos().get(2) {
        if !m.is_none() {
            let (Value::Int(b), Value::Int(e), Value::Int(m)) = (&a.pos()[0], &a.pos()[1], m) else {
                return Err(vm.type_error("pow() 3rd argument not allowed unless all arguments are integers"));
            };
            if *m == 0 {
                return Err(vm.value_error("pow() 3rd argument cannot be 0"));
            }
            let r = num_bigint::BigInt::from(*b)
                .modpow(&num_bigint::BigInt::from(*e), &num_bigint::BigInt::from(*m));
            let r = if r.sign() == num_bigint::Sign::Minus { r + m } else { r };
            return Ok(Value::from_bigint(r));
        }
    }
    vm.binary(crate::bytecode::BinOp::Pow, &a.pos()[0], &a.pos()[1])
}

fn vars(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "vars", 1, 1, &[])?;
    vm.getattr(&a.pos()[0], &vm.name("__dict__"))
        .map_err(|_| vm.type_error("vars() argument must have __dict__ attribute"))
}

fn dir(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "dir", 0, 1, &[])?;
    let mut names: Vec<String> = Vec::new();
    fn add_to(names: &mut Vec<String>, d: &Gc<Dict>) {
        for e in d.table.borrow().iter() {
            if let Value::Str(s) = &e.key {
                if !names.contains(&s.s.to_string()) {
                    names.push(s.s.to_string());
                }
            }
        }
    }
    match a.pos().first() {
        None => return Err(vm.type_error("dir() without arguments is not supported: pass an object")),
        Some(Value::Module(m)) => add_to(&mut names, &m.dict),
        Some(Value::Class(c)) => {
            for k in class::full_mro(c) {
                add_to(&mut names, &k.dict);
            }
        }
        Some(v) => {
            if let Value::Instance(i) = v {
                if let Some(d) = i.dict() {
                    add_to(&mut names, &d);
                } else {
                    let keys = i.class.keys.borrow().names.clone();
                    for (idx, k) in keys.iter().enumerate() {
                        if i.get_index(idx).is_some() && !names.contains(&k.s.to_string()) {
                            names.push(k.s.to_string());
                        }
                    }
                }
            }
            for k in class::full_mro(vm.class_of(v)) {
                add_to(&mut names, &k.dict);
            }
        }
    }
    names.sort();
    Ok(Value::list(names.into_iter().map(Value::str).collect()))
}

fn globals(vm: &Vm, _a: Args<'_>) -> PyResult<Value> {
    match &*vm.main_module.borrow() {
        Some(Value::Module(m)) => Ok(Value::Dict(m.dict.clone())),
        _ => Err(vm.new_error("RuntimeError", "globals(): no main module")),
    }
}

fn format_fn(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "format", 1, 2, &[])?;
    let spec = match a.pos().get(1) {
        Some(Value::Str(s)) => s.s.to_string(),
        Some(_) => return Err(vm.type_error("format() argument 2 must be str")),
        None => String::new(),
    };
    Ok(Value::str(format::format_spec(vm, &a.pos()[0], &spec)?))
}

fn radix(vm: &Vm, v: &Value, r: u32, prefix: &str) -> PyResult<Value> {
    let big = match v {
        Value::Int(i) => num_bigint::BigInt::from(*i),
        Value::Bool(b) => num_bigint::BigInt::from(*b as i64),
        Value::Long(b) => b.0.clone(),
        other => {
            return Err(vm
                .type_error(format!("'{}' object cannot be interpreted as an integer", vm.type_name(other))))
        }
    };
    let s = big.magnitude().to_str_radix(r);
    Ok(Value::str(if big.sign() == num_bigint::Sign::Minus {
        format!("-{prefix}{s}")
    } else {
        format!("{prefix}{s}")
    }))
}

fn hex(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "hex", 1, 1, &[])?;
    radix(vm, &a.pos()[0], 16, "0x")
}

fn oct(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "oct", 1, 1, &[])?;
    radix(vm, &a.pos()[0], 8, "0o")
}

fn bin(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "bin", 1, 1, &[])?;
    radix(vm, &a.pos()[0], 2, "0b")
}

fn build_class(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    vm.build_class(a)
}

fn import_fn(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "__import__", 1, 5, &["globals", "locals", "fromlist", "level"])?;
    let name = vm.str_of(&a.pos()[0])?;
    vm.import(&name)
}

fn input(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    a.check(vm, "input", 0, 1, &[])?;
    if let Some(p) = a.pos().first() {
        vm.write_stdout(&vm.str_of(p)?);
    }
    vm.flush_stdout();
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) => Err(vm.new_error("EOFError", "EOF when reading a line")),
        Ok(_) => Ok(Value::str(line.trim_end_matches('\n').to_string())),
        Err(e) => Err(vm.new_error("OSError", e.to_string())),
    }
}

fn exit_fn(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    let class = vm.types.exc("SystemExit").clone();
    Err(vm.new_exception(&class, a.pos().to_vec()))
}

fn open_fn(vm: &Vm, _a: Args<'_>) -> PyResult<Value> {
    Err(vm.new_error("NotImplementedError", "pygc-python does not support open() (file objects) yet"))
}

/// Calls a built-in type: `int("3")`, `list(x)`, `property(f)`...
pub fn construct(vm: &Vm, cls: &Gc<Class>, a: Args<'_>) -> PyResult<Value> {
    let t = &vm.types;
    if let Some((name, _)) = t.native.iter().find(|(_, c)| Gc::ptr_eq(c, cls)) {
        return crate::modules::tracemalloc::construct(vm, name, a);
    }
    let pos = a.pos();
    let arg0 = pos.first();
    if Gc::ptr_eq(cls, &t.object) {
        if !pos.is_empty() {
            return Err(vm.type_error("object() takes no arguments"));
        }
        return Ok(Value::native(NativeKind::Opaque(crate::modules::Opaque::plain_object())));
    }
    if Gc::ptr_eq(cls, &t.type_) {
        return match pos.len() {
            1 => Ok(Value::Class(vm.class_of(&pos[0]).clone())),
            3 => Err(vm.type_error("type(name, bases, dict) is not supported by pygc-python yet")),
            _ => Err(vm.type_error("type() takes 1 or 3 arguments")),
        };
    }
    if Gc::ptr_eq(cls, &t.int) {
        a.check(vm, "int", 0, 2, &["base"])?;
        return types::int_new(vm, arg0, a.get(1, "base"));
    }
    if Gc::ptr_eq(cls, &t.bool) {
        a.check(vm, "bool", 0, 1, &[])?;
        return Ok(Value::Bool(match arg0 {
            Some(v) => vm.truthy(v)?,
            None => false,
        }));
    }
    if Gc::ptr_eq(cls, &t.float) {
        a.check(vm, "float", 0, 1, &[])?;
        return types::float_new(vm, arg0);
    }
    if Gc::ptr_eq(cls, &t.str) {
        a.check(vm, "str", 0, 3, &["encoding", "errors"])?;
        return Ok(match arg0 {
            None => Value::str(""),
            Some(Value::Bytes(b)) if a.get(1, "encoding").is_some() => {
                Value::str(String::from_utf8_lossy(&b.data).to_string())
            }
            Some(v) => Value::str(vm.str_of(v)?),
        });
    }
    if Gc::ptr_eq(cls, &t.bytes) {
        return types::bytes_new(vm, a);
    }
    if Gc::ptr_eq(cls, &t.tuple) {
        a.check(vm, "tuple", 0, 1, &[])?;
        return Ok(match arg0 {
            None => Value::tuple(vec![]),
            Some(v @ Value::Tuple(_)) => v.clone(),
            Some(v) => Value::tuple(vm.collect(v)?),
        });
    }
    if Gc::ptr_eq(cls, &t.list) {
        a.check(vm, "list", 0, 1, &[])?;
        return Ok(match arg0 {
            None => Value::list(vec![]),
            Some(v) => Value::list(vm.collect(v)?),
        });
    }
    if Gc::ptr_eq(cls, &t.dict) {
        let d = Dict::new_object();
        if let Some(v) = arg0 {
            vm.dict_update_from(&d, v, false)?;
        }
        for (k, v) in a.kwargs() {
            d.set_str(&Gc::new(PyStr::new(k.to_string())), v.clone());
        }
        return Ok(Value::Dict(d));
    }
    if Gc::ptr_eq(cls, &t.set) || Gc::ptr_eq(cls, &t.frozenset) {
        let frozen = Gc::ptr_eq(cls, &t.frozenset);
        a.check(vm, if frozen { "frozenset" } else { "set" }, 0, 1, &[])?;
        let s = Gc::new(Set { table: Default::default(), version: Default::default(), frozen });
        if let Some(v) = arg0 {
            for x in vm.collect(v)? {
                vm.set_add(&s, x)?;
            }
        }
        return Ok(if frozen { Value::FrozenSet(s) } else { Value::Set(s) });
    }
    if Gc::ptr_eq(cls, &t.range) {
        a.check(vm, "range", 1, 3, &[])?;
        let ints: Vec<i64> = pos.iter().map(|v| vm.index_value(v)).collect::<PyResult<_>>()?;
        let (start, stop, step) = match ints.len() {
            1 => (0, ints[0], 1),
            2 => (ints[0], ints[1], 1),
            _ => (ints[0], ints[1], ints[2]),
        };
        if step == 0 {
            return Err(vm.value_error("range() arg 3 must not be zero"));
        }
        return Ok(Value::Range(Gc::new(Range { start, stop, step })));
    }
    if Gc::ptr_eq(cls, &t.slice) {
        a.check(vm, "slice", 1, 3, &[])?;
        let (start, stop, step) = match pos.len() {
            1 => (Value::None, pos[0].clone(), Value::None),
            2 => (pos[0].clone(), pos[1].clone(), Value::None),
            _ => (pos[0].clone(), pos[1].clone(), pos[2].clone()),
        };
        return Ok(Value::Slice(Gc::new(crate::object::Slice {
            start,
            stop,
            step,
            track: crate::object::TrackAtBirth,
        })));
    }
    if Gc::ptr_eq(cls, &t.property) {
        a.check(vm, "property", 0, 4, &["fget", "fset", "fdel", "doc"])?;
        let g = |i, n| a.get(i, n).cloned().unwrap_or(Value::None);
        let fget = g(0, "fget");
        let mut doc = g(3, "doc");
        if doc.is_none() {
            if let Value::Function(f) = &fget {
                doc = f.doc.clone();
            }
        }
        return Ok(Value::native(NativeKind::Property { fget, fset: g(1, "fset"), fdel: g(2, "fdel"), doc }));
    }
    if Gc::ptr_eq(cls, &t.staticmethod) {
        a.check(vm, "staticmethod", 1, 1, &[])?;
        return Ok(Value::native(NativeKind::StaticMethod(pos[0].clone())));
    }
    if Gc::ptr_eq(cls, &t.classmethod) {
        a.check(vm, "classmethod", 1, 1, &[])?;
        return Ok(Value::native(NativeKind::ClassMethod(pos[0].clone())));
    }
    if Gc::ptr_eq(cls, &t.super_) {
        a.check(vm, "super", 0, 2, &[])?;
        if pos.len() < 2 {
            return Err(vm.new_error("RuntimeError", "super(): no arguments"));
        }
        let Value::Class(c) = &pos[0] else { return Err(vm.type_error("super() argument 1 must be a type")) };
        return Ok(Value::native(NativeKind::Super { class: c.clone(), obj: pos[1].clone() }));
    }
    if let Some((name, _)) = t.iter_types.iter().find(|(_, c)| Gc::ptr_eq(c, cls)) {
        return match *name {
            "enumerate" => {
                a.check(vm, "enumerate", 1, 2, &["start"])?;
                let start = match a.get(1, "start") {
                    Some(v) => vm.index_value(v)?,
                    None => 0,
                };
                Ok(Value::iter(IterState::Enumerate(vm.iter(&pos[0])?, start)))
            }
            "zip" => {
                let its = pos.iter().map(|v| vm.iter(v)).collect::<PyResult<Vec<_>>>()?;
                Ok(Value::iter(IterState::Zip(its)))
            }
            "map" => {
                if pos.len() < 2 {
                    return Err(vm.type_error("map() must have at least two arguments."));
                }
                let its = pos[1..].iter().map(|v| vm.iter(v)).collect::<PyResult<Vec<_>>>()?;
                Ok(Value::iter(IterState::Map(pos[0].clone(), its)))
            }
            "filter" => {
                a.check(vm, "filter", 2, 2, &[])?;
                Ok(Value::iter(IterState::Filter(pos[0].clone(), vm.iter(&pos[1])?)))
            }
            other => Err(vm.type_error(format!("cannot create '{other}' instances"))),
        };
    }
    let _ = (GcCell::new(0u8), ToPrimitive::to_i64(&0i64));
    Err(vm.type_error(format!("cannot create '{}' instances", cls.name())))
}
