//! Calls: binding arguments to a new frame, calling built-ins, classes
//! (instantiation), bound methods, and `__build_class__`.

use crate::object::DictObject;
use pygc::{Gc, GcCell};

use super::eval::Exit;
use super::frame::Frame;
use super::{Args, PyResult, Vm};
use crate::object::class::{self, flags, Layout};
use crate::object::func::{code_flags, GenState};
use crate::object::{CellObj, Class, Dict, Function, Generator, Instance, NativeKind, PyStr, Value};

impl Vm {
    /// Calls `stack[base]` with the `argc` values above it (the last
    /// `kwnames.len()` of them keyword values). A Python function gets a new
    /// frame, returned for the loop to push (the arguments move from the
    /// stack into its locals, as CPython 3.11 moves them); anything else is
    /// called now and its result replaces the callee and arguments.
    pub fn call_from_stack(
        &self,
        f: &mut Frame,
        base: usize,
        argc: usize,
        kwnames: &[Value],
    ) -> PyResult<Option<Box<Frame>>> {
        match &f.stack[base] {
            Value::Function(func) if !func.code.is_generator() => {
                let func = func.clone();
                let frame = self.bind_frame(&func, &mut f.stack, base + 1, argc, kwnames)?;
                f.stack.truncate(base);
                return Ok(Some(frame));
            }
            Value::Method(m) => {
                if let Value::Function(func) = &m.func {
                    if !func.code.is_generator() {
                        let func = func.clone();
                        let obj = m.obj.clone();
                        f.stack.insert(base + 1, obj);
                        let frame = self.bind_frame(&func, &mut f.stack, base + 1, argc + 1, kwnames)?;
                        f.stack.truncate(base);
                        return Ok(Some(frame));
                    }
                }
            }
            Value::Class(c) if !c.builtin && c.layout == Layout::Object && !c.has(flags::HAS_NEW) => {
                let c = c.clone();
                if let Some(Value::Function(init)) = class::lookup(&c, "__init__") {
                    let obj = Value::Instance(Gc::new(Instance::new(c)));
                    f.stack.insert(base + 1, obj.clone());
                    let mut frame = self.bind_frame(&init, &mut f.stack, base + 1, argc + 1, kwnames)?;
                    frame.init_self = Some(obj);
                    f.stack.truncate(base);
                    return Ok(Some(frame));
                }
            }
            _ => {}
        }
        let callee = f.stack[base].clone();
        let r = self.call(&callee, &f.stack[base + 1..], kwnames)?;
        f.stack.truncate(base);
        f.stack.push(r);
        Ok(None)
    }

    /// Calls any callable from native code (a nested evaluation loop for
    /// Python functions).
    pub fn call(&self, callee: &Value, args: &[Value], kwnames: &[Value]) -> PyResult<Value> {
        match callee {
            Value::Builtin(b) => match &b.bound {
                None => (b.f)(self, Args { values: args, kwnames }),
                Some(obj) => {
                    let mut v = Vec::with_capacity(args.len() + 1);
                    v.push(obj.clone());
                    v.extend_from_slice(args);
                    (b.f)(self, Args { values: &v, kwnames })
                }
            },
            Value::Function(func) => {
                let mut stack: Vec<Value> = args.to_vec();
                let frame = self.bind_frame(func, &mut stack, 0, args.len(), kwnames)?;
                if func.code.is_generator() {
                    return Ok(self.make_generator(func, frame));
                }
                match self.run_frame(frame, None)? {
                    Exit::Return(v) => Ok(v),
                    Exit::Yield(..) => unreachable!("a function frame does not yield"),
                }
            }
            Value::Method(m) => {
                let mut v = Vec::with_capacity(args.len() + 1);
                v.push(m.obj.clone());
                v.extend_from_slice(args);
                self.call(&m.func, &v, kwnames)
            }
            Value::Class(c) => self.instantiate(c, args, kwnames),
            Value::Instance(_) => match self.lookup_special(callee, "__call__") {
                Some(m) => self.call_bound(&m, callee, args, kwnames),
                None => Err(self.type_error(format!("'{}' object is not callable", self.type_name(callee)))),
            },
            Value::Native(n) => match &n.kind {
                NativeKind::StaticMethod(f) => self.call(f, args, kwnames),
                NativeKind::WeakRef(w) => {
                    if !args.is_empty() {
                        return Err(
                            self.type_error(format!("weakref() takes no arguments ({} given)", args.len()))
                        );
                    }
                    Ok(w.get().unwrap_or(Value::None))
                }
                NativeKind::WeakProxy(w) => {
                    let t = crate::modules::weakref::proxy_target(self, w)?;
                    self.call(&t, args, kwnames)
                }
                NativeKind::Opaque(o) => match o.call(self, callee, args, kwnames)? {
                    Some(v) => Ok(v),
                    None => {
                        Err(self.type_error(format!("'{}' object is not callable", self.type_name(callee))))
                    }
                },
                _ => Err(self.type_error(format!("'{}' object is not callable", self.type_name(callee)))),
            },
            _ => Err(self.type_error(format!("'{}' object is not callable", self.type_name(callee)))),
        }
    }

    /// Calls a function found on the class with `obj` as its first argument.
    pub fn call_bound(
        &self,
        func: &Value,
        obj: &Value,
        args: &[Value],
        kwnames: &[Value],
    ) -> PyResult<Value> {
        let mut v = Vec::with_capacity(args.len() + 1);
        v.push(obj.clone());
        v.extend_from_slice(args);
        self.call(func, &v, kwnames)
    }

    /// A generator object over `frame`.
    pub fn make_generator(&self, func: &Gc<Function>, frame: Box<Frame>) -> Value {
        let name = func.name.borrow().clone();
        let qualname = func.qualname.borrow().clone();
        Value::Generator(Gc::new(Generator {
            frame: GcCell::new(Some(frame)),
            state: GcCell::new(GenState::Created),
            name,
            qualname,
            code: func.code.clone(),
        }))
    }

    /// Moves `argc` values from `stack[at..]` into a new frame's locals,
    /// following the function's signature.
    pub fn bind_frame(
        &self,
        func: &Gc<Function>,
        stack: &mut Vec<Value>,
        at: usize,
        argc: usize,
        kwnames: &[Value],
    ) -> PyResult<Box<Frame>> {
        let code = &func.code;
        let mut frame = Box::new(Frame::new(code.clone(), func.globals.clone(), None));
        frame.func = Some(func.clone());
        let nkw = kwnames.len();
        let npos = argc - nkw;
        let argcount = code.argcount as usize;
        let kwonly = code.kwonlyargcount as usize;
        let varargs = code.flags & code_flags::VARARGS != 0;
        let varkw = code.flags & code_flags::VARKEYWORDS != 0;
        let fname = || format!("{}()", func.qualname.borrow().s);
        if nkw == 0 && npos == argcount && !varargs && !varkw && kwonly == 0 {
            // The fast path: exactly the positional parameters.
            for (i, v) in stack.drain(at..at + argc).enumerate() {
                frame.locals[i] = Some(v);
            }
        } else {
            let mut args: Vec<Value> = stack.drain(at..at + argc).collect();
            let kwvalues = args.split_off(npos);
            let mut extra = Vec::new();
            for (i, v) in args.into_iter().enumerate() {
                if i < argcount {
                    frame.locals[i] = Some(v);
                } else {
                    extra.push(v);
                }
            }
            if !extra.is_empty() && !varargs {
                let ndef = func.defaults.as_ref().map_or(0, |d| d.items.len());
                let given = npos;
                let takes = if ndef > 0 {
                    format!("from {} to {} positional arguments", argcount - ndef, argcount)
                } else {
                    format!("{} positional argument{}", argcount, if argcount == 1 { "" } else { "s" })
                };
                let kwgiven = kwnames.len();
                let extra_kw = if kwgiven > 0 {
                    format!(
                        " positional argument{} (and {} keyword-only argument{})",
                        if given == 1 { "" } else { "s" },
                        kwgiven,
                        if kwgiven == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                };
                let was = if given == 1 { "was" } else { "were" };
                return Err(if extra_kw.is_empty() {
                    self.type_error(format!("{} takes {} but {} {} given", fname(), takes, given, was))
                } else {
                    self.type_error(format!(
                        "{} takes {} but {}{} were given",
                        fname(),
                        takes,
                        given,
                        extra_kw
                    ))
                });
            }
            let kwdict = if varkw { Some(Dict::new_object()) } else { None };
            for (k, v) in kwnames.iter().zip(kwvalues) {
                let Value::Str(k) = k else { return Err(self.type_error("keywords must be strings")) };
                let pos = code.varnames[code.posonlyargcount as usize..argcount + kwonly]
                    .iter()
                    .position(|n| n.s == k.s);
                match pos {
                    Some(p) => {
                        let i = p + code.posonlyargcount as usize;
                        if frame.locals[i].is_some() {
                            return Err(self.type_error(format!(
                                "{} got multiple values for argument '{}'",
                                fname(),
                                k.s
                            )));
                        }
                        frame.locals[i] = Some(v);
                    }
                    None => match &kwdict {
                        Some(d) => {
                            d.set_str(k, v);
                        }
                        None => {
                            let posonly = &code.varnames[..code.posonlyargcount as usize];
                            if posonly.iter().any(|n| n.s == k.s) {
                                // CPython names every positional-only
                                // parameter given by keyword.
                                let given: Vec<&str> = posonly
                                    .iter()
                                    .filter(|n| {
                                        kwnames.iter().any(|kn| matches!(kn, Value::Str(s) if s.s == n.s))
                                    })
                                    .map(|n| &*n.s)
                                    .collect();
                                return Err(self.type_error(format!(
                                    "{} got some positional-only arguments passed as keyword arguments: '{}'",
                                    fname(),
                                    given.join(", ")
                                )));
                            }
                            return Err(self.type_error(format!(
                                "{} got an unexpected keyword argument '{}'",
                                fname(),
                                k.s
                            )));
                        }
                    },
                }
            }
            // Defaults for missing positional parameters.
            let defaults = func.defaults.as_ref().map(|d| &d.items[..]).unwrap_or(&[]);
            let first_default = argcount - defaults.len();
            let mut missing = Vec::new();
            for i in 0..argcount {
                if frame.locals[i].is_none() {
                    if i >= first_default {
                        frame.locals[i] = Some(defaults[i - first_default].clone());
                    } else {
                        missing.push(format!("'{}'", code.varnames[i].s));
                    }
                }
            }
            if !missing.is_empty() {
                return Err(self.type_error(format!(
                    "{} missing {} required positional argument{}: {}",
                    fname(),
                    missing.len(),
                    if missing.len() == 1 { "" } else { "s" },
                    join_names(&missing)
                )));
            }
            for i in argcount..argcount + kwonly {
                if frame.locals[i].is_none() {
                    let name = &code.varnames[i];
                    match func.kwdefaults.as_ref().and_then(|d| d.get_str(&name.s)) {
                        Some(v) => frame.locals[i] = Some(v),
                        None => missing.push(format!("'{}'", name.s)),
                    }
                }
            }
            if !missing.is_empty() {
                return Err(self.type_error(format!(
                    "{} missing {} required keyword-only argument{}: {}",
                    fname(),
                    missing.len(),
                    if missing.len() == 1 { "" } else { "s" },
                    join_names(&missing)
                )));
            }
            let mut slot = argcount + kwonly;
            if varargs {
                frame.locals[slot] = Some(Value::tuple(extra));
                slot += 1;
            }
            if let Some(d) = kwdict {
                frame.locals[slot] = Some(Value::Dict(d));
            }
        }
        self.setup_cells(&mut frame, &func.closure);
        if code.is_generator() {
            // Generator frames stay with the generator object; the caller
            // wraps it.
        }
        Ok(frame)
    }

    /// Creates the frame's cells and installs its closure.
    pub fn setup_cells(&self, frame: &mut Frame, closure: &[Gc<CellObj>]) {
        let code = frame.code.clone();
        let nv = code.varnames.len();
        for i in 0..code.cellvars.len() {
            let init = code
                .cell_params
                .iter()
                .find(|(_, ci)| *ci as usize == i)
                .and_then(|(vi, _)| frame.locals[*vi as usize].take());
            frame.locals[nv + i] = Some(Value::Cell(Gc::new(CellObj { value: GcCell::new(init) })));
        }
        let nc = code.cellvars.len();
        for (i, c) in closure.iter().enumerate() {
            frame.locals[nv + nc + i] = Some(Value::Cell(c.clone()));
        }
    }

    /// `cls(*args)`.
    pub fn instantiate(&self, cls: &Gc<Class>, args: &[Value], kwnames: &[Value]) -> PyResult<Value> {
        if cls.builtin && cls.layout != Layout::Exception {
            return crate::builtins::construct(self, cls, Args { values: args, kwnames });
        }
        let obj = match class::lookup(cls, "__new__") {
            Some(new) if !matches!(new, Value::Builtin(_)) => {
                let new = match &new {
                    Value::Native(n) => match &n.kind {
                        NativeKind::StaticMethod(f) => f.clone(),
                        _ => new.clone(),
                    },
                    _ => new.clone(),
                };
                let mut v = vec![Value::Class(cls.clone())];
                v.extend_from_slice(args);
                let obj = self.call(&new, &v, kwnames)?;
                if !self.isinstance_class(&obj, cls) {
                    return Ok(obj);
                }
                obj
            }
            _ => self.new_instance(cls, args),
        };
        match class::lookup(cls, "__init__") {
            Some(init @ (Value::Function(_) | Value::Method(_))) => {
                let r = self.call_bound(&init, &obj, args, kwnames)?;
                if !r.is_none() {
                    return Err(self
                        .type_error(format!("__init__() should return None, not '{}'", self.type_name(&r))));
                }
            }
            Some(Value::Builtin(b)) if cls.layout == Layout::Exception => {
                let mut v = vec![obj.clone()];
                v.extend_from_slice(args);
                (b.f)(self, Args { values: &v, kwnames })?;
            }
            _ => {
                if (!args.is_empty() || !kwnames.is_empty())
                    && class::lookup(cls, "__new__").is_none_or(|n| matches!(n, Value::Builtin(_)))
                {
                    return Err(self.type_error(format!("{}() takes no arguments", cls.name())));
                }
            }
        }
        Ok(obj)
    }

    /// `object.__new__(cls)` (for exception classes, `BaseException.__new__`).
    pub fn new_instance(&self, cls: &Gc<Class>, args: &[Value]) -> Value {
        if cls.layout == Layout::Exception {
            return self.new_exception(cls, args.to_vec()).value();
        }
        Value::Instance(Gc::new(Instance::new(cls.clone())))
    }

    /// `__build_class__(func, name, *bases)`: runs the body, makes the class.
    pub fn build_class(&self, args: Args<'_>) -> PyResult<Value> {
        let pos = args.pos();
        let (Some(Value::Function(body)), Some(Value::Str(name))) = (pos.first(), pos.get(1)) else {
            return Err(self.type_error("__build_class__: func must be a function"));
        };
        let mut bases = Vec::new();
        for b in &pos[2..] {
            match b {
                Value::Class(c) => bases.push(c.clone()),
                other => {
                    return Err(self.type_error(format!("bases must be types, not {}", self.type_name(other))))
                }
            }
        }
        if args.kwargs().next().is_some() {
            return Err(self.type_error("class keyword arguments are not supported"));
        }
        if bases.is_empty() {
            bases.push(self.types.object.clone());
        }
        let mut layout = Layout::Object;
        for b in &bases {
            if b.layout == Layout::Exception {
                layout = Layout::Exception;
            } else if b.layout == Layout::Builtin {
                return Err(self.type_error(format!(
                    "pygc-python does not support subclassing the built-in type '{}' yet",
                    b.name()
                )));
            }
        }
        let Some(mro) = class::c3_merge(&bases) else {
            let names: Vec<String> = bases.iter().map(|b| b.name()).collect();
            return Err(self.type_error(format!(
                "Cannot create a consistent method resolution order (MRO) for bases {}",
                names.join(", ")
            )));
        };
        let ns = Dict::new_object();
        let mut frame = Box::new(Frame::new(body.code.clone(), body.globals.clone(), Some(ns.clone())));
        self.setup_cells(&mut frame, &body.closure);
        match self.run_frame(frame, None)? {
            Exit::Return(_) => {}
            Exit::Yield(..) => unreachable!("class bodies do not yield"),
        }
        let qualname = match ns.get_str("__qualname__") {
            Some(Value::Str(q)) => q.s.to_string(),
            _ => name.s.to_string(),
        };
        ns.del_str("__qualname__");
        let classcell = ns.del_str("__classcell__");
        let slots = match ns.get_str("__slots__") {
            None => None,
            Some(v) => {
                let names = match &v {
                    Value::Str(s) => vec![s.s.to_string()],
                    other => {
                        self.collect(other)?.iter().map(|n| self.str_of(n)).collect::<PyResult<Vec<_>>>()?
                    }
                };
                Some(names)
            }
        };
        // Slots of the bases come first.
        let mut all_slots: Option<Vec<String>> = None;
        if let Some(own) = &slots {
            let mut v: Vec<String> = Vec::new();
            for b in mro.iter().rev() {
                if let Some(s) = &b.slots {
                    for n in s {
                        if !v.contains(n) {
                            v.push(n.clone());
                        }
                    }
                }
            }
            for n in own {
                if n != "__dict__" && n != "__weakref__" && !v.contains(n) {
                    v.push(n.clone());
                }
            }
            all_slots = Some(v);
        }
        let has_dict_base = mro.iter().any(|b| !b.builtin && b.slots.is_none());
        let slots_final =
            if has_dict_base || slots.as_ref().is_some_and(|s| s.iter().any(|n| n == "__dict__")) {
                None
            } else {
                all_slots
            };
        let cls = Gc::new(Class {
            name: GcCell::new(name.s.to_string()),
            type_name: name.s.clone(),
            qualname: GcCell::new(qualname),
            bases,
            mro,
            dict: ns.clone(),
            layout,
            keys: GcCell::new(Default::default()),
            slots: slots_final.clone(),
            flags: Default::default(),
            builtin: false,
        });
        if let Some(names) = &slots_final {
            // Member descriptors, one per slot, and the shared keys fixed.
            let mut keys = cls.keys.borrow_mut();
            for (i, n) in names.iter().enumerate() {
                let g = Gc::new(PyStr::new(n.clone()));
                keys.names.push(g.clone());
                if slots.as_ref().is_some_and(|s| s.contains(n)) {
                    ns.set_str(
                        &g,
                        Value::native(NativeKind::Member {
                            name: n.clone(),
                            class_name: name.s.to_string(),
                            index: i,
                        }),
                    );
                }
            }
        }
        self.compute_flags(&cls);
        if let Some(e) = classcell {
            if let Value::Cell(c) = &e.value {
                *c.value.borrow_mut() = Some(Value::Class(cls.clone()));
            }
        }
        // __set_name__ on descriptors that define it.
        let entries: Vec<(Value, Value)> =
            ns.table.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
        for (k, v) in entries {
            if let Value::Instance(_) = &v {
                if let Some(m) = self.lookup_special(&v, "__set_name__") {
                    self.call_bound(&m, &v, &[Value::Class(cls.clone()), k], &[])?;
                }
            }
        }
        if let Some(Value::Method(m)) = self.lookup_class_attr_bound(&cls, "__init_subclass__") {
            self.call(&Value::Method(m), &[], &[])?;
        }
        Ok(Value::Class(cls))
    }

    fn lookup_class_attr_bound(&self, cls: &Gc<Class>, name: &str) -> Option<Value> {
        for c in &cls.mro {
            if let Some(v) = c.dict.get_str(name) {
                if let Value::Native(n) = &v {
                    if let NativeKind::ClassMethod(f) = &n.kind {
                        return Some(Value::Method(Gc::new(crate::object::BoundMethod {
                            func: f.clone(),
                            obj: Value::Class(cls.clone()),
                        })));
                    }
                }
                return None;
            }
        }
        None
    }

    /// Recomputes the cached [`flags`] of a class.
    pub fn compute_flags(&self, cls: &Gc<Class>) {
        let mut fl = 0;
        let py = |n: &str| {
            matches!(
                class::lookup(cls, n),
                Some(Value::Function(_)) | Some(Value::Method(_)) | Some(Value::Instance(_))
            )
        };
        if py("__del__") {
            fl |= flags::HAS_DEL;
        }
        if py("__getattr__") {
            fl |= flags::HAS_GETATTR;
        }
        if py("__setattr__") {
            fl |= flags::HAS_SETATTR;
        }
        if py("__delattr__") {
            fl |= flags::HAS_DELATTR;
        }
        if py("__getattribute__") {
            fl |= flags::HAS_GETATTRIBUTE;
        }
        if class::lookup(cls, "__new__").is_some_and(|v| !matches!(v, Value::Builtin(_))) {
            fl |= flags::HAS_NEW;
        }
        for c in class::full_mro(cls) {
            for e in c.dict.table.borrow().iter() {
                match &e.value {
                    Value::Native(n)
                        if matches!(n.kind, NativeKind::Property { .. } | NativeKind::Member { .. }) =>
                    {
                        fl |= flags::HAS_DESCRIPTORS;
                    }
                    Value::Instance(i)
                        if class::lookup(&i.class, "__set__").is_some()
                            || class::lookup(&i.class, "__get__").is_some() =>
                    {
                        fl |= flags::HAS_DESCRIPTORS;
                    }
                    _ => {}
                }
            }
        }
        cls.flags.0.set(fl);
    }

    /// Calls `__del__` for an instance being finalized (see
    /// [`super::finalize_instance`]); an exception is reported as
    /// unraisable, as CPython does.
    pub fn run_del(&self, inst: &Gc<Instance>) {
        let Some(del) = class::lookup(&inst.class, "__del__") else { return };
        let me = Value::Instance(inst.clone());
        let saved_depth = self.handled.borrow().len();
        if let Err(e) = self.call(&del, std::slice::from_ref(&me), &[]) {
            let ctx = self.repr_or(&del);
            self.report_unraisable(&e, &ctx);
        }
        self.handled.borrow_mut().truncate(saved_depth);
    }

    /// `obj.name(*args)`.
    pub fn call_method(&self, obj: &Value, name: &str, args: &[Value]) -> PyResult<Value> {
        let n = Gc::new(PyStr::new(name.to_string()));
        let m = self.getattr(obj, &n)?;
        self.call(&m, args, &[])
    }
}

fn join_names(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        2 => format!("{} and {}", names[0], names[1]),
        n => format!("{}, and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}
