//! Methods of the built-in types.

use crate::object::DictObject;
use pygc::Gc;

use super::def;
use crate::bytecode::BinOp;
use crate::object::{DictIterKind, PyStr, Set, Value};
use crate::vm::{Args, PyResult, Vm};

macro_rules! this {
    ($vm:expr, $a:expr, $variant:ident, $name:expr) => {
        match $a.values.first() {
            Some(Value::$variant(x)) => x.clone(),
            _ => {
                return Err(
                    $vm.type_error(format!("descriptor '{}' requires a receiver of the right type", $name))
                )
            }
        }
    };
}

fn arg<'a>(vm: &Vm, a: &Args<'a>, i: usize, name: &str) -> PyResult<&'a Value> {
    a.values.get(i).ok_or_else(|| vm.type_error(format!("{name}() missing required argument")))
}

/// Installs the methods.
pub fn install(vm: &'static Vm) {
    let t = &vm.types;
    let l = &t.list.dict;
    def(l, "append", "list", |vm, a| {
        let l = this!(vm, a, List, "append");
        a.check(vm, "list.append", 2, 2, &[])?;
        l.items.borrow_mut().push(a.values[1].clone());
        Ok(Value::None)
    });
    def(l, "extend", "list", |vm, a| {
        let l = this!(vm, a, List, "extend");
        let items = vm.collect(arg(vm, &a, 1, "extend")?)?;
        l.items.borrow_mut().extend(items);
        Ok(Value::None)
    });
    def(l, "pop", "list", |vm, a| {
        let l = this!(vm, a, List, "pop");
        let n = l.items.borrow().len() as i64;
        if n == 0 {
            return Err(vm.index_error("pop from empty list"));
        }
        let i = match a.values.get(1) {
            Some(v) => vm.index_value(v)?,
            None => n - 1,
        };
        let j = if i < 0 { i + n } else { i };
        if j < 0 || j >= n {
            return Err(vm.index_error("pop index out of range"));
        }
        let v = l.items.borrow_mut().remove(j as usize);
        Ok(v)
    });
    def(l, "insert", "list", |vm, a| {
        let l = this!(vm, a, List, "insert");
        let i = vm.index_value(arg(vm, &a, 1, "insert")?)?;
        let v = arg(vm, &a, 2, "insert")?.clone();
        let n = l.items.borrow().len() as i64;
        let j = if i < 0 { (i + n).max(0) } else { i.min(n) };
        l.items.borrow_mut().insert(j as usize, v);
        Ok(Value::None)
    });
    def(l, "remove", "list", |vm, a| {
        let l = this!(vm, a, List, "remove");
        let x = arg(vm, &a, 1, "remove")?;
        let items = l.items.borrow().clone();
        for (i, v) in items.iter().enumerate() {
            if vm.eq(v, x)? {
                let old = l.items.borrow_mut().remove(i);
                drop(old);
                return Ok(Value::None);
            }
        }
        Err(vm.value_error("list.remove(x): x not in list"))
    });
    def(l, "index", "list", |vm, a| {
        let l = this!(vm, a, List, "index");
        let x = arg(vm, &a, 1, "index")?;
        let items = l.items.borrow().clone();
        for (i, v) in items.iter().enumerate() {
            if vm.eq(v, x)? {
                return Ok(Value::Int(i as i64));
            }
        }
        Err(vm.value_error(format!("{} is not in list", vm.repr(x)?)))
    });
    def(l, "count", "list", |vm, a| {
        let l = this!(vm, a, List, "count");
        let x = arg(vm, &a, 1, "count")?;
        let items = l.items.borrow().clone();
        let mut n = 0;
        for v in &items {
            if vm.eq(v, x)? {
                n += 1;
            }
        }
        Ok(Value::Int(n))
    });
    def(l, "sort", "list", |vm, a| {
        let l = this!(vm, a, List, "sort");
        let reverse = match a.kw("reverse") {
            Some(r) => vm.truthy(r)?,
            None => false,
        };
        let mut items = std::mem::take(&mut *l.items.borrow_mut());
        let r = super::sort_values(vm, &mut items, a.kw("key"), reverse);
        *l.items.borrow_mut() = items;
        r.map(|_| Value::None)
    });
    def(l, "reverse", "list", |vm, a| {
        let l = this!(vm, a, List, "reverse");
        l.items.borrow_mut().reverse();
        Ok(Value::None)
    });
    def(l, "clear", "list", |vm, a| {
        let l = this!(vm, a, List, "clear");
        let old = std::mem::take(&mut *l.items.borrow_mut());
        drop(old);
        Ok(Value::None)
    });
    def(l, "copy", "list", |vm, a| {
        let l = this!(vm, a, List, "copy");
        let v = l.items.borrow().clone();
        Ok(Value::list(v))
    });

    let d = &t.dict.dict;
    def(d, "get", "dict", |vm, a| {
        let d = this!(vm, a, Dict, "get");
        let k = arg(vm, &a, 1, "get")?;
        Ok(vm.dict_get(&d, k)?.unwrap_or_else(|| a.values.get(2).cloned().unwrap_or(Value::None)))
    });
    def(d, "keys", "dict", |vm, a| dict_view(vm, a, DictIterKind::Keys));
    def(d, "values", "dict", |vm, a| dict_view(vm, a, DictIterKind::Values));
    def(d, "items", "dict", |vm, a| dict_view(vm, a, DictIterKind::Items));
    def(d, "pop", "dict", |vm, a| {
        let d = this!(vm, a, Dict, "pop");
        let k = arg(vm, &a, 1, "pop")?;
        match vm.dict_del(&d, k)? {
            Some(v) => Ok(v),
            None => match a.values.get(2) {
                Some(v) => Ok(v.clone()),
                None => Err(vm.key_error(k.clone())),
            },
        }
    });
    def(d, "popitem", "dict", |vm, a| {
        let d = this!(vm, a, Dict, "popitem");
        let last = d.table.borrow().entries.iter().rposition(|e| e.is_some());
        match last {
            Some(i) => {
                let e = d.table.borrow_mut().remove_at(i).expect("live entry");
                d.version.bump();
                Ok(Value::tuple(vec![e.key, e.value]))
            }
            None => Err(vm.new_error("KeyError", "popitem(): dictionary is empty")),
        }
    });
    def(d, "setdefault", "dict", |vm, a| {
        let d = this!(vm, a, Dict, "setdefault");
        let k = arg(vm, &a, 1, "setdefault")?;
        if let Some(v) = vm.dict_get(&d, k)? {
            return Ok(v);
        }
        let v = a.values.get(2).cloned().unwrap_or(Value::None);
        vm.dict_set(&d, k.clone(), v.clone())?;
        Ok(v)
    });
    def(d, "update", "dict", |vm, a| {
        let d = this!(vm, a, Dict, "update");
        if let Some(m) = a.pos().get(1) {
            vm.dict_update_from(&d, m, false)?;
        }
        for (k, v) in a.kwargs() {
            d.set_str(&Gc::new(PyStr::new(k.to_string())), v.clone());
        }
        Ok(Value::None)
    });
    def(d, "clear", "dict", |vm, a| {
        let d = this!(vm, a, Dict, "clear");
        let old = d.table.borrow_mut().clear();
        d.version.bump();
        drop(old);
        Ok(Value::None)
    });
    def(d, "copy", "dict", |vm, a| {
        let d = this!(vm, a, Dict, "copy");
        let n = crate::object::Dict::new_object();
        vm.dict_update_from(&n, &Value::Dict(d), false)?;
        Ok(Value::Dict(n))
    });

    let s = &t.set.dict;
    def(s, "add", "set", |vm, a| {
        let s = this!(vm, a, Set, "add");
        vm.set_add(&s, arg(vm, &a, 1, "add")?.clone())?;
        Ok(Value::None)
    });
    def(s, "discard", "set", |vm, a| {
        let s = this!(vm, a, Set, "discard");
        vm.set_discard(&s, arg(vm, &a, 1, "discard")?)?;
        Ok(Value::None)
    });
    def(s, "remove", "set", |vm, a| {
        let s = this!(vm, a, Set, "remove");
        let k = arg(vm, &a, 1, "remove")?;
        if !vm.set_discard(&s, k)? {
            return Err(vm.key_error(k.clone()));
        }
        Ok(Value::None)
    });
    def(s, "pop", "set", |vm, a| {
        let s = this!(vm, a, Set, "pop");
        let v = s.table.borrow_mut().pop_first();
        match v {
            Some(v) => {
                s.version.bump();
                Ok(v)
            }
            None => Err(vm.new_error("KeyError", "pop from an empty set")),
        }
    });
    def(s, "clear", "set", |vm, a| {
        let s = this!(vm, a, Set, "clear");
        let old = s.table.borrow_mut().clear();
        drop(old);
        Ok(Value::None)
    });
    def(s, "update", "set", |vm, a| {
        let s = this!(vm, a, Set, "update");
        for o in &a.values[1..] {
            for x in vm.collect(o)? {
                vm.set_add(&s, x)?;
            }
        }
        Ok(Value::None)
    });
    for (name, op) in [
        ("union", BinOp::Or),
        ("intersection", BinOp::And),
        ("difference", BinOp::Sub),
        ("symmetric_difference", BinOp::Xor),
    ] {
        let f: crate::object::NativeFn = match op {
            BinOp::Or => |vm, a| set_method(vm, a, BinOp::Or),
            BinOp::And => |vm, a| set_method(vm, a, BinOp::And),
            BinOp::Sub => |vm, a| set_method(vm, a, BinOp::Sub),
            _ => |vm, a| set_method(vm, a, BinOp::Xor),
        };
        def(s, name, "set", f);
        def(&t.frozenset.dict, name, "frozenset", f);
    }
    def(s, "copy", "set", |vm, a| {
        let s = this!(vm, a, Set, "copy");
        set_op(vm, BinOp::Or, &Value::Set(s), &Value::Set(Gc::new(Set::default())))
    });
    let subset: crate::object::NativeFn = |vm, a| {
        let x = a.values[0].clone();
        let y = set_from(vm, arg(vm, &a, 1, "issubset")?)?;
        let r = vm.compare(crate::bytecode::CmpOp::Le, &x, &y)?;
        Ok(r)
    };
    let superset: crate::object::NativeFn = |vm, a| {
        let x = a.values[0].clone();
        let y = set_from(vm, arg(vm, &a, 1, "issuperset")?)?;
        vm.compare(crate::bytecode::CmpOp::Ge, &x, &y)
    };
    def(s, "issubset", "set", subset);
    def(s, "issuperset", "set", superset);
    def(&t.frozenset.dict, "issubset", "frozenset", subset);
    def(&t.frozenset.dict, "issuperset", "frozenset", superset);
    def(s, "isdisjoint", "set", |vm, a| {
        let x = a.values[0].clone();
        let y = set_from(vm, arg(vm, &a, 1, "isdisjoint")?)?;
        let i = set_op(vm, BinOp::And, &x, &y)?;
        Ok(Value::Bool(super::len_of(vm, &i)? == 0))
    });

    let tu = &t.tuple.dict;
    def(tu, "count", "tuple", |vm, a| {
        let t = this!(vm, a, Tuple, "count");
        let x = arg(vm, &a, 1, "count")?;
        let mut n = 0;
        for v in t.items.iter() {
            if vm.eq(v, x)? {
                n += 1;
            }
        }
        Ok(Value::Int(n))
    });
    def(tu, "index", "tuple", |vm, a| {
        let t = this!(vm, a, Tuple, "index");
        let x = arg(vm, &a, 1, "index")?;
        for (i, v) in t.items.iter().enumerate() {
            if vm.eq(v, x)? {
                return Ok(Value::Int(i as i64));
            }
        }
        Err(vm.value_error("tuple.index(x): x not in tuple"))
    });

    crate::builtins::strings::install(vm);

    let i = &t.int.dict;
    def(i, "bit_length", "int", |vm, a| match &a.values[0] {
        Value::Int(x) => Ok(Value::Int(64 - x.unsigned_abs().leading_zeros() as i64)),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Long(b) => Ok(Value::Int(b.0.bits() as i64)),
        _ => Err(vm.type_error("bit_length needs an int")),
    });
    fn property_with(vm: &Vm, a: Args<'_>, which: usize) -> PyResult<Value> {
        let (Some(Value::Native(n)), Some(f)) = (a.values.first(), a.values.get(1)) else {
            return Err(vm.type_error("property.setter() takes exactly one argument"));
        };
        let crate::object::NativeKind::Property { fget, fset, fdel, doc } = &n.kind else {
            return Err(vm.type_error("descriptor requires a 'property' object"));
        };
        let (mut g, mut s, mut d) = (fget.clone(), fset.clone(), fdel.clone());
        match which {
            0 => g = f.clone(),
            1 => s = f.clone(),
            _ => d = f.clone(),
        }
        Ok(Value::native(crate::object::NativeKind::Property { fget: g, fset: s, fdel: d, doc: doc.clone() }))
    }
    def(&t.property.dict, "getter", "property", |vm, a| property_with(vm, a, 0));
    def(&t.property.dict, "setter", "property", |vm, a| property_with(vm, a, 1));
    def(&t.property.dict, "deleter", "property", |vm, a| property_with(vm, a, 2));
    def(&t.slice.dict, "indices", "slice", |vm, a| {
        let s = this!(vm, a, Slice, "indices");
        a.check(vm, "slice.indices", 2, 2, &[])?;
        let n = vm.index_value(&a.values[1])?;
        if n < 0 {
            return Err(vm.value_error("length should not be negative"));
        }
        let (start, stop, step) = vm.slice_bounds(&s, n as usize)?;
        Ok(Value::tuple(vec![Value::Int(start), Value::Int(stop), Value::Int(step)]))
    });
    def(&t.float.dict, "is_integer", "float", |vm, a| match &a.values[0] {
        Value::Float(f) => Ok(Value::Bool(f.fract() == 0.0 && f.is_finite())),
        _ => Err(vm.type_error("is_integer needs a float")),
    });

    let be = &t.exc("BaseException").dict;
    def(be, "__init__", "BaseException", |vm, a| {
        let Some(Value::Instance(i)) = a.values.first() else {
            return Err(vm.type_error("BaseException.__init__ needs an instance"));
        };
        let args = Value::tuple(a.pos()[1..].to_vec());
        crate::vm::PyErr(i.clone()).with_data(|d| d.args = args);
        Ok(Value::None)
    });
    def(be, "with_traceback", "BaseException", |vm, a| {
        let Some(v @ Value::Instance(_)) = a.values.first() else {
            return Err(vm.type_error("with_traceback needs an exception"));
        };
        Ok(v.clone())
    });

    let g = &t.generator.dict;
    def(g, "send", "generator", |vm, a| {
        let g = this!(vm, a, Generator, "send");
        match vm.gen_send(&g, arg(vm, &a, 1, "send")?.clone())? {
            crate::vm::eval::GenStep::Yielded(v) => Ok(v),
            crate::vm::eval::GenStep::Returned(v) => {
                Err(vm.stop_iteration(if v.is_none() { None } else { Some(v) }))
            }
        }
    });
    def(g, "throw", "generator", |vm, a| {
        let g = this!(vm, a, Generator, "throw");
        let e = vm.make_raisable(arg(vm, &a, 1, "throw")?.clone())?;
        match vm.gen_resume(&g, None, Some(e))? {
            crate::vm::eval::GenStep::Yielded(v) => Ok(v),
            crate::vm::eval::GenStep::Returned(v) => {
                Err(vm.stop_iteration(if v.is_none() { None } else { Some(v) }))
            }
        }
    });
    def(g, "close", "generator", |vm, a| {
        let g = this!(vm, a, Generator, "close");
        vm.gen_close(&g)?;
        Ok(Value::None)
    });
    def(g, "__next__", "generator", |vm, a| {
        let g = this!(vm, a, Generator, "__next__");
        match vm.gen_send(&g, Value::None)? {
            crate::vm::eval::GenStep::Yielded(v) => Ok(v),
            crate::vm::eval::GenStep::Returned(v) => {
                Err(vm.stop_iteration(if v.is_none() { None } else { Some(v) }))
            }
        }
    });
    def(g, "__iter__", "generator", |_vm, a| Ok(a.values[0].clone()));

    let o = &t.object.dict;
    def(o, "__init__", "object", |_vm, _a| Ok(Value::None));
    def(o, "__new__", "object", |vm, a| match a.values.first() {
        Some(Value::Class(c)) => Ok(vm.new_instance(c, &[])),
        _ => Err(vm.type_error("object.__new__(X): X is not a type object")),
    });
    def(o, "__setattr__", "object", |vm, a| {
        let (Some(obj @ Value::Instance(i)), Some(Value::Str(n)), Some(v)) =
            (a.values.first(), a.values.get(1), a.values.get(2))
        else {
            return Err(vm.type_error("object.__setattr__ needs an instance, a name and a value"));
        };
        vm.object_setattr(obj, i, n, v.clone())?;
        Ok(Value::None)
    });
    def(o, "__getattribute__", "object", |vm, a| {
        let (Some(obj), Some(Value::Str(n))) = (a.values.first(), a.values.get(1)) else {
            return Err(vm.type_error("object.__getattribute__ needs an object and a name"));
        };
        vm.getattr(obj, n)
    });
    def(o, "__delattr__", "object", |vm, a| {
        let (Some(obj), Some(Value::Str(n))) = (a.values.first(), a.values.get(1)) else {
            return Err(vm.type_error("object.__delattr__ needs an object and a name"));
        };
        vm.delattr(obj, n)?;
        Ok(Value::None)
    });
    def(o, "__repr__", "object", |vm, a| Ok(Value::str(vm.default_repr(&a.values[0]))));
    def(o, "__str__", "object", |vm, a| Ok(Value::str(vm.repr(&a.values[0])?)));
    def(o, "__eq__", "object", |_vm, a| {
        Ok(if a.values[0].is(&a.values[1]) { Value::Bool(true) } else { Value::NotImplemented })
    });
    def(o, "__hash__", "object", |_vm, a| Ok(Value::Int(crate::vm::ops::id_hash(&a.values[0]))));

    let ty = &t.type_.dict;
    def(ty, "mro", "type", |vm, a| match a.values.first() {
        Some(Value::Class(c)) => {
            Ok(Value::list(crate::object::class::full_mro(c).into_iter().map(Value::Class).collect()))
        }
        _ => Err(vm.type_error("mro() needs a class")),
    });
}

fn dict_view(vm: &Vm, a: Args<'_>, kind: DictIterKind) -> PyResult<Value> {
    let d = this!(vm, a, Dict, "keys");
    a.check(vm, "keys", 1, 1, &[])?;
    Ok(Value::native(crate::object::NativeKind::DictView(d, kind)))
}

/// The current items of a dict view (keys, values or `(key, value)` tuples).
pub fn view_items(d: &Gc<crate::object::Dict>, kind: DictIterKind) -> Vec<Value> {
    d.table
        .borrow()
        .iter()
        .map(|e| match kind {
            DictIterKind::Keys => e.key.clone(),
            DictIterKind::Values => e.value.clone(),
            DictIterKind::Items => Value::tuple(vec![e.key.clone(), e.value.clone()]),
        })
        .collect()
}

/// A set of what `v` holds, when `v` is a keys or items view (the views that
/// behave as sets).
pub fn view_as_set(vm: &Vm, v: &Value) -> PyResult<Option<Value>> {
    if let Value::Native(n) = v {
        if let crate::object::NativeKind::DictView(d, kind) = &n.kind {
            if *kind != DictIterKind::Values {
                let s = Gc::new(Set::default());
                for x in view_items(d, *kind) {
                    vm.set_add(&s, x)?;
                }
                return Ok(Some(Value::Set(s)));
            }
        }
    }
    Ok(None)
}

/// `view op other` for `&`, `|`, `-`, `^` with a keys or items view on
/// either side: a new set, as CPython's views give.
pub fn view_binary(vm: &Vm, op: BinOp, a: &Value, b: &Value) -> PyResult<Option<Value>> {
    if !matches!(op, BinOp::And | BinOp::Or | BinOp::Sub | BinOp::Xor) {
        return Ok(None);
    }
    let (sa, sb) = (view_as_set(vm, a)?, view_as_set(vm, b)?);
    if sa.is_none() && sb.is_none() {
        return Ok(None);
    }
    let x = match sa {
        Some(s) => s,
        None => set_from(vm, a)?,
    };
    let y = match sb {
        Some(s) => s,
        None => set_from(vm, b)?,
    };
    let x = match x {
        Value::FrozenSet(f) => {
            let s = Gc::new(Set::default());
            for k in f.table.borrow().iter().map(|(_, k)| k.clone()).collect::<Vec<_>>() {
                vm.set_add(&s, k)?;
            }
            Value::Set(s)
        }
        other => other,
    };
    set_op(vm, op, &x, &y).map(Some)
}

fn set_from(vm: &Vm, v: &Value) -> PyResult<Value> {
    match v {
        Value::Set(_) | Value::FrozenSet(_) => Ok(v.clone()),
        other => {
            let s = Gc::new(Set::default());
            for x in vm.collect(other)? {
                vm.set_add(&s, x)?;
            }
            Ok(Value::Set(s))
        }
    }
}

fn set_method(vm: &Vm, a: Args<'_>, op: BinOp) -> PyResult<Value> {
    let mut acc = a.values[0].clone();
    if a.values.len() == 1 {
        return set_op(vm, BinOp::Or, &acc, &Value::Set(Gc::new(Set::default())));
    }
    for o in &a.values[1..] {
        let other = set_from(vm, o)?;
        acc = set_op(vm, op, &acc, &other)?;
    }
    Ok(acc)
}

/// `a | b`, `a & b`, `a - b`, `a ^ b` on sets.
pub fn set_op(vm: &Vm, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
    let (Value::Set(x) | Value::FrozenSet(x)) = a else { unreachable!("set") };
    let (Value::Set(y) | Value::FrozenSet(y)) = b else { unreachable!("set") };
    let frozen = matches!(a, Value::FrozenSet(_));
    let out = Gc::new(Set { table: Default::default(), version: Default::default(), frozen });
    let xs: Vec<Value> = x.table.borrow().iter().map(|(_, k)| k.clone()).collect();
    let ys: Vec<Value> = y.table.borrow().iter().map(|(_, k)| k.clone()).collect();
    match op {
        BinOp::Or => {
            for k in xs.into_iter().chain(ys) {
                vm.set_add(&out, k)?;
            }
        }
        BinOp::And => {
            for k in xs {
                if vm.set_contains(y, &k)? {
                    vm.set_add(&out, k)?;
                }
            }
        }
        BinOp::Sub => {
            for k in xs {
                if !vm.set_contains(y, &k)? {
                    vm.set_add(&out, k)?;
                }
            }
        }
        _ => {
            for k in xs {
                if !vm.set_contains(y, &k)? {
                    vm.set_add(&out, k)?;
                }
            }
            for k in ys {
                if !vm.set_contains(x, &k)? {
                    vm.set_add(&out, k)?;
                }
            }
        }
    }
    Ok(if frozen { Value::FrozenSet(out) } else { Value::Set(out) })
}

/// `a |= b` etc. on a set.
pub fn set_inplace(vm: &Vm, op: BinOp, a: &Value, b: &Value) -> PyResult<()> {
    let r = set_op(vm, op, a, &set_from(vm, b)?)?;
    let (Value::Set(x), Value::Set(r)) = (a, &r) else { return Ok(()) };
    let new = std::mem::take(&mut *r.table.borrow_mut());
    let old = std::mem::replace(&mut *x.table.borrow_mut(), new);
    drop(old);
    Ok(())
}

/// A frozenset with the items of a set (for `set in set` lookups).
pub fn frozen_copy(vm: &Vm, v: &Value) -> PyResult<Value> {
    let r = set_op(vm, BinOp::Or, v, &Value::Set(Gc::new(Set::default())))?;
    match r {
        Value::Set(s) => Ok(Value::FrozenSet(s)),
        other => Ok(other),
    }
}

/// `int(x, base)`.
pub fn int_new(vm: &Vm, v: Option<&Value>, base: Option<&Value>) -> PyResult<Value> {
    let Some(v) = v else { return Ok(Value::Int(0)) };
    if let Some(b) = base {
        let base = vm.index_value(b)? as u32;
        let Value::Str(s) = v else {
            return Err(vm.type_error("int() can't convert non-string with explicit base"));
        };
        return parse_int(vm, &s.s, base);
    }
    match v {
        Value::Int(_) | Value::Long(_) => Ok(v.clone()),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(f) => {
            if f.is_nan() {
                return Err(vm.value_error("cannot convert float NaN to integer"));
            }
            if f.is_infinite() {
                return Err(vm.new_error("OverflowError", "cannot convert float infinity to integer"));
            }
            if f.abs() < 9.0e18 {
                Ok(Value::Int(f.trunc() as i64))
            } else {
                Ok(Value::from_bigint(num_bigint::BigInt::from(f.trunc() as i128)))
            }
        }
        Value::Str(s) => parse_int(vm, &s.s, 10),
        Value::Instance(_) => {
            for m in ["__int__", "__index__"] {
                if let Some(f) = vm.lookup_special(v, m) {
                    return vm.call_bound(&f, v, &[], &[]);
                }
            }
            Err(vm.type_error(format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                vm.type_name(v)
            )))
        }
        _ => Err(vm.type_error(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            vm.type_name(v)
        ))),
    }
}

fn parse_int(vm: &Vm, s: &str, base: u32) -> PyResult<Value> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut base = base;
    let mut body = body.to_string();
    let lower = body.to_ascii_lowercase();
    for (p, b) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if (base == b || base == 0) && lower.starts_with(p) {
            body = body[2..].to_string();
            base = b;
        }
    }
    if base == 0 {
        base = 10;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let err = || {
        vm.value_error(format!("invalid literal for int() with base {base}: {}", super::repr::quote_str(s)))
    };
    if clean.is_empty() || body.starts_with('_') || body.ends_with('_') {
        return Err(err());
    }
    let n = num_bigint::BigInt::parse_bytes(clean.as_bytes(), base).ok_or_else(err)?;
    Ok(Value::from_bigint(if neg { -n } else { n }))
}

/// `float(x)`.
pub fn float_new(vm: &Vm, v: Option<&Value>) -> PyResult<Value> {
    let Some(v) = v else { return Ok(Value::Float(0.0)) };
    match v {
        Value::Float(_) => Ok(v.clone()),
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Bool(b) => Ok(Value::Float(*b as i64 as f64)),
        Value::Long(b) => Ok(Value::Float(num_traits::ToPrimitive::to_f64(&b.0).unwrap_or(f64::INFINITY))),
        Value::Str(s) => {
            let t = s.s.trim().replace('_', "");
            let r = match t.to_ascii_lowercase().as_str() {
                "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
                "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
                "nan" | "+nan" | "-nan" => Some(f64::NAN),
                _ => t.parse::<f64>().ok(),
            };
            r.map(Value::Float).ok_or_else(|| {
                vm.value_error(format!("could not convert string to float: {}", super::repr::quote_str(&s.s)))
            })
        }
        Value::Instance(_) => match vm.lookup_special(v, "__float__") {
            Some(f) => vm.call_bound(&f, v, &[], &[]),
            None => Err(vm.type_error(format!(
                "float() argument must be a string or a real number, not '{}'",
                vm.type_name(v)
            ))),
        },
        _ => Err(vm.type_error(format!(
            "float() argument must be a string or a real number, not '{}'",
            vm.type_name(v)
        ))),
    }
}

/// `bytes(x)`.
pub fn bytes_new(vm: &Vm, a: Args<'_>) -> PyResult<Value> {
    let data: Vec<u8> = match a.pos().first() {
        None => Vec::new(),
        Some(Value::Str(s)) => {
            if a.get(1, "encoding").is_none() {
                return Err(vm.type_error("string argument without an encoding"));
            }
            s.s.as_bytes().to_vec()
        }
        Some(Value::Int(n)) => vec![0; (*n).max(0) as usize],
        Some(v) => {
            vm.collect(v)?.iter().map(|x| vm.index_value(x).map(|i| i as u8)).collect::<PyResult<_>>()?
        }
    };
    Ok(Value::Bytes(Gc::new(crate::object::Bytes { data: data.into_boxed_slice() })))
}
