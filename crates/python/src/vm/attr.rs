//! Attribute access: `getattr`, `setattr`, `delattr` and method lookup,
//! with CPython's order (data descriptors on the type, then the instance's
//! own attributes, then the rest of the type).

use crate::object::DictObject;
use pygc::{Gc, GcCell};

use super::{PyResult, Vm};
use crate::object::class::{self, flags, Layout};
use crate::object::{BoundMethod, Builtin, Class, Dict, Instance, NativeKind, PyStr, Value};

/// What a class attribute does when read through an instance.
fn bind(vm: &Vm, attr: Value, obj: &Value, cls: &Gc<Class>) -> PyResult<Value> {
    match &attr {
        Value::Function(_) => {
            Ok(Value::Method(Gc::new(BoundMethod { func: attr.clone(), obj: obj.clone() })))
        }
        Value::Builtin(b) if b.bound.is_none() && !matches!(obj, Value::Class(_)) => {
            Ok(Value::Builtin(Gc::new(Builtin {
                name: b.name,
                f: b.f,
                bound: Some(obj.clone()),
                owner: b.owner,
            })))
        }
        Value::Native(n) => match &n.kind {
            NativeKind::StaticMethod(f) => Ok(f.clone()),
            NativeKind::ClassMethod(f) => {
                Ok(Value::Method(Gc::new(BoundMethod { func: f.clone(), obj: Value::Class(cls.clone()) })))
            }
            NativeKind::Property { fget, .. } => {
                if fget.is_none() {
                    return Err(vm.attribute_error("unreadable attribute"));
                }
                vm.call(fget, std::slice::from_ref(obj), &[])
            }
            _ => Ok(attr.clone()),
        },
        Value::Instance(_) => match vm.lookup_special(&attr, "__get__") {
            Some(get) => vm.call_bound(&get, &attr, &[obj.clone(), Value::Class(cls.clone())], &[]),
            None => Ok(attr.clone()),
        },
        _ => Ok(attr.clone()),
    }
}

fn is_data_descriptor(vm: &Vm, v: &Value) -> bool {
    match v {
        Value::Native(n) => matches!(n.kind, NativeKind::Property { .. } | NativeKind::Member { .. }),
        Value::Instance(i) => {
            let _ = vm;
            class::lookup(&i.class, "__set__").is_some() || class::lookup(&i.class, "__delete__").is_some()
        }
        _ => false,
    }
}

impl Vm {
    /// `obj.name`.
    pub fn getattr(&self, obj: &Value, name: &Gc<PyStr>) -> PyResult<Value> {
        match obj {
            Value::Instance(inst) => self.instance_getattr(obj, inst, name),
            Value::Class(c) => self.class_getattr(c, name),
            Value::Module(m) => {
                match m.dict.get_name(name) {
                    Some(v) => Ok(v),
                    None => match &*name.s {
                        "__dict__" => Ok(Value::Dict(m.dict.clone())),
                        _ => Err(self
                            .attribute_error(format!("module '{}' has no attribute '{}'", m.name, name.s))),
                    },
                }
            }
            Value::Native(n) if matches!(n.kind, NativeKind::Super { .. }) => {
                let NativeKind::Super { class: start, obj: target } = &n.kind else {
                    unreachable!("checked")
                };
                self.super_getattr(start, target, name)
            }
            _ => self.builtin_getattr(obj, name),
        }
    }

    /// `super(start, target).name`: the MRO of `target`'s type after `start`.
    fn super_getattr(&self, start: &Gc<Class>, target: &Value, name: &Gc<PyStr>) -> PyResult<Value> {
        let owner = match target {
            Value::Class(c) => c.clone(),
            other => self.class_of(other).clone(),
        };
        let mro = class::full_mro(&owner);
        let pos = mro.iter().position(|c| Gc::ptr_eq(c, start)).map_or(mro.len(), |p| p + 1);
        for c in &mro[pos..] {
            if let Some(v) = c.dict.get_name(name) {
                if let Value::Class(_) = target {
                    return match &v {
                        Value::Native(n) => match &n.kind {
                            NativeKind::ClassMethod(f) => Ok(Value::Method(Gc::new(BoundMethod {
                                func: f.clone(),
                                obj: target.clone(),
                            }))),
                            NativeKind::StaticMethod(f) => Ok(f.clone()),
                            _ => Ok(v.clone()),
                        },
                        _ => Ok(v.clone()),
                    };
                }
                return bind(self, v, target, &owner);
            }
        }
        Err(self.attribute_error(format!("'super' object has no attribute '{}'", name.s)))
    }

    fn instance_getattr(&self, obj: &Value, inst: &Gc<Instance>, name: &Gc<PyStr>) -> PyResult<Value> {
        let cls = &inst.class;
        if cls.has(flags::HAS_GETATTRIBUTE) {
            let ga = class::lookup(cls, "__getattribute__").expect("flag says defined");
            return match self.call_bound(&ga, obj, &[Value::Str(name.clone())], &[]) {
                Err(e) if e.is(self, "AttributeError") && cls.has(flags::HAS_GETATTR) => {
                    self.call_getattr(obj, cls, name)
                }
                r => r,
            };
        }
        let descriptors = cls.has(flags::HAS_DESCRIPTORS);
        let mut cattr = None;
        if descriptors {
            cattr = class::lookup(cls, &name.s);
            if let Some(a) = &cattr {
                if let Value::Native(n) = a {
                    if let NativeKind::Member { index, name: mname, class_name } = &n.kind {
                        return match inst.get_index(*index) {
                            Some(v) => Ok(v),
                            None => Err(self.attribute_error(format!(
                                "'{}' object has no attribute '{}'",
                                class_name, mname
                            ))),
                        };
                    }
                }
                if is_data_descriptor(self, a) {
                    return bind(self, a.clone(), obj, cls);
                }
            }
        }
        if let Some(v) = self.instance_own_attr(inst, name) {
            return Ok(v);
        }
        if !descriptors {
            cattr = class::lookup(cls, &name.s);
        }
        if let Some(a) = cattr {
            return bind(self, a, obj, cls);
        }
        match &*name.s {
            "__class__" => return Ok(Value::Class(cls.clone())),
            "__dict__" if cls.slots.is_none() => return Ok(Value::Dict(self.instance_dict(inst))),
            _ => {}
        }
        if cls.layout == Layout::Exception {
            if let Some(v) = self.exception_attr(inst, &name.s) {
                return Ok(v);
            }
        }
        if cls.has(flags::HAS_GETATTR) {
            return self.call_getattr(obj, cls, name);
        }
        Err(self.attribute_error(format!("'{}' object has no attribute '{}'", cls.name(), name.s)))
    }

    fn call_getattr(&self, obj: &Value, cls: &Gc<Class>, name: &Gc<PyStr>) -> PyResult<Value> {
        let ga = class::lookup(cls, "__getattr__").expect("flag says defined");
        self.call_bound(&ga, obj, &[Value::Str(name.clone())], &[])
    }

    /// The instance's own attribute (inline value or `__dict__` entry).
    pub fn instance_own_attr(&self, inst: &Instance, name: &Gc<PyStr>) -> Option<Value> {
        if let Some(d) = inst.dict() {
            return d.get_name(name);
        }
        let i = inst.class.keys.borrow().index_of(name)?;
        inst.get_index(i)
    }

    /// Materializes the instance's `__dict__` (CPython 3.11 does the same the
    /// first time `__dict__` is asked for): from now on the attributes live
    /// in a dict object.
    pub fn instance_dict(&self, inst: &Instance) -> Gc<Dict> {
        if let Some(d) = inst.dict() {
            return d;
        }
        let dict = Dict::new_object();
        let names: Vec<Gc<PyStr>> = inst.class.keys.borrow().names.clone();
        for (i, n) in names.iter().enumerate() {
            if let Some(v) = inst.set_index(i, None) {
                dict.set_str(n, v);
            }
        }
        let mut d = inst.data.borrow_mut();
        d.extra.get_or_insert_with(Default::default).dict = Some(dict.clone());
        dict
    }

    fn class_getattr(&self, c: &Gc<Class>, name: &Gc<PyStr>) -> PyResult<Value> {
        if let Some(v) = class::lookup(c, &name.s) {
            return match &v {
                Value::Native(n) => match &n.kind {
                    NativeKind::StaticMethod(f) => Ok(f.clone()),
                    NativeKind::ClassMethod(f) => Ok(Value::Method(Gc::new(BoundMethod {
                        func: f.clone(),
                        obj: Value::Class(c.clone()),
                    }))),
                    _ => Ok(v.clone()),
                },
                Value::Instance(_) => match self.lookup_special(&v, "__get__") {
                    Some(get) => self.call_bound(&get, &v, &[Value::None, Value::Class(c.clone())], &[]),
                    None => Ok(v.clone()),
                },
                _ => Ok(v.clone()),
            };
        }
        match &*name.s {
            "__name__" => Ok(Value::str(c.name())),
            "__qualname__" => Ok(Value::str(c.qualname.borrow().clone())),
            "__mro__" => Ok(Value::tuple(class::full_mro(c).into_iter().map(Value::Class).collect())),
            "__bases__" => Ok(Value::tuple(c.bases.iter().cloned().map(Value::Class).collect())),
            "__base__" => Ok(c.bases.first().cloned().map_or(Value::None, Value::Class)),
            "__dict__" => Ok(Value::native(NativeKind::MappingProxy(c.dict.clone()))),
            "__class__" => Ok(Value::Class(self.types.type_.clone())),
            "__module__" => Ok(Value::str("builtins")),
            "__doc__" => Ok(Value::None),
            _ => {
                // Methods of `type` itself (`mro`, `__subclasses__`...).
                if let Some(v) = self.types.type_.dict.get_name(name) {
                    return bind(self, v, &Value::Class(c.clone()), &self.types.type_);
                }
                Err(self.attribute_error(format!("type object '{}' has no attribute '{}'", c.name(), name.s)))
            }
        }
    }

    fn builtin_getattr(&self, obj: &Value, name: &Gc<PyStr>) -> PyResult<Value> {
        let cls = self.class_of(obj).clone();
        if let Some(v) = class::lookup(&cls, &name.s) {
            return bind(self, v, obj, &cls);
        }
        if let Some(v) = crate::builtins::attrs::special_attr(self, obj, &name.s)? {
            return Ok(v);
        }
        Err(self.attribute_error(format!("'{}' object has no attribute '{}'", cls.name(), name.s)))
    }

    /// `getattr` that returns `None` for AttributeError.
    pub fn getattr_opt(&self, obj: &Value, name: &str) -> PyResult<Option<Value>> {
        let n = Gc::new(PyStr::new(name.to_string()));
        match self.getattr(obj, &n) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is(self, "AttributeError") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Looks a method up on the type (not the instance), as CPython looks up
    /// special methods; unbound.
    pub fn lookup_special(&self, obj: &Value, name: &str) -> Option<Value> {
        class::lookup(self.class_of(obj), name)
    }

    /// A special method bound to `obj`, or an `AttributeError`.
    pub fn special_method(&self, obj: &Value, name: &str) -> PyResult<Value> {
        let cls = self.class_of(obj).clone();
        match class::lookup(&cls, name) {
            Some(v) => bind(self, v, obj, &cls),
            None => Err(self.attribute_error(name.to_string())),
        }
    }

    /// `LoadMethod`: an unbound function and `Some(obj)` when calling it as a
    /// method, or the attribute itself and `None`.
    pub fn load_method(&self, obj: Value, name: &Gc<PyStr>) -> PyResult<(Value, Option<Value>)> {
        match &obj {
            Value::Instance(inst) => {
                let cls = &inst.class;
                if !cls.has(flags::HAS_GETATTRIBUTE) {
                    let attr = class::lookup(cls, &name.s);
                    if let Some(a @ Value::Function(_)) = &attr {
                        if self.instance_own_attr(inst, name).is_none() {
                            return Ok((a.clone(), Some(obj)));
                        }
                    }
                }
                Ok((self.getattr(&obj, name)?, None))
            }
            Value::Class(_) | Value::Module(_) => Ok((self.getattr(&obj, name)?, None)),
            // `super().m`: found along the MRO, not on the `super` type.
            Value::Native(n) if matches!(n.kind, NativeKind::Super { .. } | NativeKind::WeakProxy(_)) => {
                Ok((self.getattr(&obj, name)?, None))
            }
            _ => {
                let cls = self.class_of(&obj);
                match class::lookup(cls, &name.s) {
                    Some(b @ Value::Builtin(_)) => Ok((b, Some(obj))),
                    _ => Ok((self.getattr(&obj, name)?, None)),
                }
            }
        }
    }

    /// `obj.name = v`.
    pub fn setattr(&self, obj: &Value, name: &Gc<PyStr>, v: Value) -> PyResult<()> {
        if let Value::Native(n) = obj {
            if let NativeKind::WeakProxy(w) = &n.kind {
                let target = crate::modules::weakref::proxy_target(self, w)?;
                return self.setattr(&target, name, v);
            }
        }
        match obj {
            Value::Instance(inst) => {
                let cls = &inst.class;
                if cls.has(flags::HAS_SETATTR) {
                    let sa = class::lookup(cls, "__setattr__").expect("flag says defined");
                    self.call_bound(&sa, obj, &[Value::Str(name.clone()), v], &[])?;
                    return Ok(());
                }
                self.object_setattr(obj, inst, name, v)
            }
            Value::Class(c) => {
                if c.builtin {
                    return Err(self.type_error(format!(
                        "cannot set '{}' attribute of immutable type '{}'",
                        name.s,
                        c.name()
                    )));
                }
                match &*name.s {
                    "__name__" => {
                        *c.name.borrow_mut() = self.str_of(&v)?;
                        return Ok(());
                    }
                    "__qualname__" => {
                        *c.qualname.borrow_mut() = self.str_of(&v)?;
                        return Ok(());
                    }
                    _ => {}
                }
                let old = c.dict.set_str(name, v);
                drop(old);
                self.compute_flags(c);
                Ok(())
            }
            Value::Module(m) => {
                let old = m.dict.set_str(name, v);
                drop(old);
                Ok(())
            }
            Value::Function(f) => {
                match &*name.s {
                    "__name__" => {
                        if let Value::Str(s) = v {
                            *f.name.borrow_mut() = s;
                            return Ok(());
                        }
                        return Err(self.type_error("__name__ must be set to a string object"));
                    }
                    "__qualname__" => {
                        if let Value::Str(s) = v {
                            *f.qualname.borrow_mut() = s;
                            return Ok(());
                        }
                        return Err(self.type_error("__qualname__ must be set to a string object"));
                    }
                    _ => {}
                }
                let d = f.dict.borrow().clone();
                let d = match d {
                    Some(d) => d,
                    None => {
                        let d = Dict::new_object();
                        *f.dict.borrow_mut() = Some(d.clone());
                        d
                    }
                };
                let old = d.set_str(name, v);
                drop(old);
                Ok(())
            }
            _ => {
                let cls = self.class_of(obj);
                if class::lookup(cls, &name.s).is_some() {
                    Err(self.attribute_error(format!(
                        "'{}' object attribute '{}' is read-only",
                        cls.name(),
                        name.s
                    )))
                } else {
                    Err(self.attribute_error(format!(
                        "'{}' object has no attribute '{}'",
                        cls.name(),
                        name.s
                    )))
                }
            }
        }
    }

    /// `object.__setattr__(obj, name, v)`.
    pub fn object_setattr(
        &self,
        obj: &Value,
        inst: &Gc<Instance>,
        name: &Gc<PyStr>,
        v: Value,
    ) -> PyResult<()> {
        let cls = &inst.class;
        if cls.has(flags::HAS_DESCRIPTORS) {
            if let Some(a) = class::lookup(cls, &name.s) {
                match &a {
                    Value::Native(n) => match &n.kind {
                        NativeKind::Property { fset, .. } => {
                            if fset.is_none() {
                                return Err(self.attribute_error(format!(
                                    "property '{}' of '{}' object has no setter",
                                    name.s,
                                    cls.name()
                                )));
                            }
                            self.call(fset, &[obj.clone(), v], &[])?;
                            return Ok(());
                        }
                        NativeKind::Member { index, .. } => {
                            let old = inst.set_index(*index, Some(v));
                            drop(old);
                            return Ok(());
                        }
                        _ => {}
                    },
                    Value::Instance(_) => {
                        if let Some(set) = self.lookup_special(&a, "__set__") {
                            self.call_bound(&set, &a, &[obj.clone(), v], &[])?;
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(d) = inst.dict() {
            let old = d.set_str(name, v);
            drop(old);
            return Ok(());
        }
        if cls.slots.is_some() && (&*name.s == "__dict__" || cls.keys.borrow().index_of(name).is_none()) {
            return Err(self.attribute_error(format!(
                "'{}' object has no attribute '{}'",
                cls.name(),
                name.s
            )));
        }
        if cls.layout == Layout::Exception && self.set_exception_attr(inst, &name.s, &v)? {
            return Ok(());
        }
        if &*name.s == "__dict__" {
            let Value::Dict(nd) = v else {
                return Err(self.type_error("__dict__ must be set to a dictionary"));
            };
            let _ = self.instance_dict(inst);
            inst.data.borrow_mut().extra.get_or_insert_with(Default::default).dict = Some(nd);
            return Ok(());
        }
        let idx = {
            let mut keys = cls.keys.borrow_mut();
            match keys.index_of(name) {
                Some(i) => i,
                None => {
                    keys.names.push(name.clone());
                    keys.names.len() - 1
                }
            }
        };
        let old = inst.set_index(idx, Some(v));
        drop(old);
        Ok(())
    }

    /// `del obj.name`.
    pub fn delattr(&self, obj: &Value, name: &Gc<PyStr>) -> PyResult<()> {
        if let Value::Native(n) = obj {
            if let NativeKind::WeakProxy(w) = &n.kind {
                let target = crate::modules::weakref::proxy_target(self, w)?;
                return self.delattr(&target, name);
            }
        }
        match obj {
            Value::Instance(inst) => {
                let cls = &inst.class;
                if cls.has(flags::HAS_DELATTR) {
                    let da = class::lookup(cls, "__delattr__").expect("flag says defined");
                    self.call_bound(&da, obj, &[Value::Str(name.clone())], &[])?;
                    return Ok(());
                }
                if cls.has(flags::HAS_DESCRIPTORS) {
                    if let Some(Value::Native(n)) = class::lookup(cls, &name.s) {
                        match &n.kind {
                            NativeKind::Property { fdel, .. } => {
                                if fdel.is_none() {
                                    return Err(self.attribute_error(format!(
                                        "property '{}' of '{}' object has no deleter",
                                        name.s,
                                        cls.name()
                                    )));
                                }
                                self.call(fdel, std::slice::from_ref(obj), &[])?;
                                return Ok(());
                            }
                            NativeKind::Member { index, class_name, name: mname } => {
                                return match inst.set_index(*index, None) {
                                    Some(old) => {
                                        drop(old);
                                        Ok(())
                                    }
                                    None => Err(self.attribute_error(format!(
                                        "'{}' object has no attribute '{}'",
                                        class_name, mname
                                    ))),
                                };
                            }
                            _ => {}
                        }
                    }
                }
                let removed = match inst.dict() {
                    Some(d) => d.del_str(&name.s).map(|e| e.value),
                    None => {
                        let i = cls.keys.borrow().index_of(name);
                        i.and_then(|i| inst.set_index(i, None))
                    }
                };
                match removed {
                    Some(old) => {
                        drop(old);
                        Ok(())
                    }
                    None => Err(self.attribute_error(format!(
                        "'{}' object has no attribute '{}'",
                        cls.name(),
                        name.s
                    ))),
                }
            }
            Value::Class(c) if !c.builtin => match c.dict.del_str(&name.s) {
                Some(e) => {
                    drop(e);
                    self.compute_flags(c);
                    Ok(())
                }
                None => Err(self.attribute_error(format!(
                    "type object '{}' has no attribute '{}'",
                    c.name(),
                    name.s
                ))),
            },
            Value::Module(m) => match m.dict.del_str(&name.s) {
                Some(e) => {
                    drop(e);
                    Ok(())
                }
                None => {
                    Err(self.attribute_error(format!("module '{}' has no attribute '{}'", m.name, name.s)))
                }
            },
            Value::Function(f) => {
                let d = f.dict.borrow().clone();
                match d.and_then(|d| d.del_str(&name.s)) {
                    Some(e) => {
                        drop(e);
                        Ok(())
                    }
                    None => {
                        Err(self.attribute_error(format!("'function' object has no attribute '{}'", name.s)))
                    }
                }
            }
            _ => Err(self.attribute_error(format!(
                "'{}' object has no attribute '{}'",
                self.type_name(obj),
                name.s
            ))),
        }
    }

    fn exception_attr(&self, inst: &Gc<Instance>, name: &str) -> Option<Value> {
        let e = super::PyErr(inst.clone());
        match name {
            "args" => Some(e.args()),
            "__traceback__" => Some(self.traceback_of(&e.value())),
            "__cause__" => Some(e.with_data(|d| d.cause.clone()).unwrap_or(Value::None)),
            "__context__" => Some(e.with_data(|d| d.context.clone()).unwrap_or(Value::None)),
            "__suppress_context__" => Some(Value::Bool(e.with_data(|d| d.suppress_context))),
            "value" if e.is(self, "StopIteration") => {
                let a = e.args();
                Some(match &a {
                    Value::Tuple(t) => t.items.first().cloned().unwrap_or(Value::None),
                    _ => Value::None,
                })
            }
            "code" if e.is(self, "SystemExit") => {
                let a = e.args();
                Some(match &a {
                    Value::Tuple(t) if t.items.len() == 1 => t.items[0].clone(),
                    Value::Tuple(t) if t.items.is_empty() => Value::None,
                    other => other.clone(),
                })
            }
            _ => None,
        }
    }

    fn set_exception_attr(&self, inst: &Gc<Instance>, name: &str, v: &Value) -> PyResult<bool> {
        let e = super::PyErr(inst.clone());
        match name {
            "args" => {
                let t = Value::tuple(self.collect(v)?);
                e.with_data(|d| d.args = t);
            }
            "__cause__" => {
                let c = if v.is_none() { None } else { Some(v.clone()) };
                e.with_data(|d| {
                    d.cause = c;
                    d.suppress_context = true;
                });
            }
            "__context__" => {
                let c = if v.is_none() { None } else { Some(v.clone()) };
                e.with_data(|d| d.context = c);
            }
            "__suppress_context__" => {
                let b = self.truthy(v)?;
                e.with_data(|d| d.suppress_context = b);
            }
            "__traceback__" => {
                if v.is_none() {
                    e.with_data(|d| d.traceback.clear());
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// An empty cell helper used by `GcCell` users.
pub fn empty<T: Default>() -> GcCell<T> {
    GcCell::new(T::default())
}
