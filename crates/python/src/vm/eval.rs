//! The evaluation loop: one `match` over the instructions.
//!
//! Python-to-Python calls push a frame on this loop's frame stack and go on
//! in the same loop, so deep Python recursion never grows the native stack;
//! the recursion limit is checked at each push. Calls from native code into
//! Python (a `__repr__`, a key function, a generator resumed by `next()`)
//! start a nested loop, bounded by [`super::NATIVE_DEPTH_MAX`].

use crate::object::DictObject;
use pygc::{Gc, GcCell};

use super::frame::{Block, Frame};
use super::{PyErr, PyResult, Vm};
use crate::bytecode::Op;
use crate::object::func::GenState;
use crate::object::{Dict, Function, Generator, List, PyStr, Set, Value};

/// How a frame stack run ended.
pub enum Exit {
    /// The bottom frame returned.
    Return(Value),
    /// The bottom frame (a generator's) yielded; here is the frame back.
    Yield(Value, Box<Frame>),
}

/// What `execute` stopped for.
enum Control {
    Return(Value),
    Yield(Value),
    Call(Box<Frame>),
    /// A new exception raised in this frame.
    Error(PyErr),
    /// `raise` without argument / end of a finally: no new traceback entry.
    Reraise(PyErr),
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Control::Error(e),
        }
    };
}

impl Vm {
    /// Runs `frame` (and every Python frame it calls) to its return or, for
    /// a generator frame, its next yield. `throw` raises an exception at the
    /// frame's current point first (generator `throw()` / `close()`).
    pub fn run_frame(&self, frame: Box<Frame>, throw: Option<PyErr>) -> PyResult<Exit> {
        let _native = self.enter()?;
        self.push_depth()?;
        self.enter_frame(&frame);
        let mut stack = FrameStack::new(self);
        let frames = &mut stack.frames;
        frames.push(frame);
        let mut pending: Option<(PyErr, bool)> = throw.map(|e| (e, true));
        loop {
            let f = frames.last_mut().expect("a frame");
            let control = match pending.take() {
                Some((e, fresh)) => {
                    if fresh {
                        Control::Error(e)
                    } else {
                        Control::Reraise(e)
                    }
                }
                None => self.execute(f),
            };
            match control {
                Control::Call(new) => {
                    if let Err(e) = self.push_depth() {
                        drop(new);
                        pending = Some((e, true));
                        continue;
                    }
                    self.enter_frame(&new);
                    frames.push(new);
                }
                Control::Return(v) => {
                    if self.line_hook.get() {
                        crate::modules::memory_profiler::return_event(self);
                    }
                    let done = frames.pop().expect("a frame");
                    self.pop_depth();
                    self.leave_frame();
                    let v = match &done.init_self {
                        Some(obj) if !v.is_none() => {
                            let e = self.type_error(format!(
                                "__init__() should return None, not '{}'",
                                self.type_name(&v)
                            ));
                            drop(done);
                            if frames.is_empty() {
                                return Err(e);
                            }
                            pending = Some((e, true));
                            continue;
                        }
                        Some(obj) => obj.clone(),
                        None => v,
                    };
                    drop(done);
                    match frames.last_mut() {
                        Some(caller) => caller.stack.push(v),
                        None => return Ok(Exit::Return(v)),
                    }
                }
                Control::Yield(v) => {
                    debug_assert_eq!(frames.len(), 1, "only a generator's own frame yields");
                    self.pop_depth();
                    let frame = frames.pop().expect("a frame");
                    self.leave_frame();
                    return Ok(Exit::Yield(v, frame));
                }
                Control::Error(e) => {
                    let f = frames.last_mut().expect("a frame");
                    e.add_traceback(&f.code, f.pc.saturating_sub(1));
                    if let Err(e) = self.unwind(f, e) {
                        if !self.pop_failed_frame(frames) {
                            return Err(e);
                        }
                        pending = Some((e, true));
                    }
                }
                Control::Reraise(e) => {
                    let f = frames.last_mut().expect("a frame");
                    if let Err(e) = self.unwind(f, e) {
                        if !self.pop_failed_frame(frames) {
                            return Err(e);
                        }
                        pending = Some((e, true));
                    }
                }
            }
        }
    }

    /// Pops the frame an exception left; false when it was the last one.
    // Frames stay boxed: a generator's frame moves between the generator
    // object and this stack, a pointer move rather than a copy of the frame.
    #[allow(clippy::vec_box)]
    fn pop_failed_frame(&self, frames: &mut Vec<Box<Frame>>) -> bool {
        if self.line_hook.get() {
            crate::modules::memory_profiler::return_event(self);
        }
        let done = frames.pop().expect("a frame");
        self.pop_depth();
        self.leave_frame();
        drop(done);
        !frames.is_empty()
    }

    /// A frame starts running: the caller (if any) is at `cur_pc`.
    fn enter_frame(&self, f: &Frame) {
        let mut shadow = self.shadow.borrow_mut();
        if let Some(top) = shadow.last_mut() {
            top.pc = self.cur_pc.get();
        }
        shadow.push(super::frame::ShadowFrame { code: f.code.clone(), pc: f.pc as u32 });
        self.cur_pc.set(f.pc as u32);
    }

    /// The innermost frame stopped running (returned, yielded or failed).
    fn leave_frame(&self) {
        let mut shadow = self.shadow.borrow_mut();
        let left = shadow.pop();
        if let Some(top) = shadow.last() {
            self.cur_pc.set(top.pc);
        }
        drop(shadow);
        drop(left);
    }

    /// Counts one more Python frame against the recursion limit.
    pub fn push_depth(&self) -> PyResult<()> {
        let d = self.depth.get() + 1;
        if d > self.recursion_limit.get() {
            return Err(self.new_error("RecursionError", "maximum recursion depth exceeded"));
        }
        self.depth.set(d);
        Ok(())
    }

    /// One frame fewer.
    pub fn pop_depth(&self) {
        self.depth.set(self.depth.get() - 1);
    }

    /// Finds a handler for `e` in the frame; `Err(e)` if there is none.
    fn unwind(&self, f: &mut Frame, e: PyErr) -> Result<(), PyErr> {
        while let Some(b) = f.blocks.pop() {
            if b.is_handler {
                // Leaving an except handler by an exception.
                self.handled.borrow_mut().pop();
                continue;
            }
            f.stack.truncate(b.level as usize);
            f.blocks.push(Block { handler: 0, level: b.level, is_handler: true });
            f.stack.push(e.value());
            self.handled.borrow_mut().push(Some(e));
            f.pc = b.handler as usize;
            return Ok(());
        }
        Err(e)
    }

    /// Runs instructions until a call, return, yield or exception.
    fn execute(&self, f: &mut Frame) -> Control {
        let code = f.code.clone();
        let ops = &code.ops[..];
        loop {
            let pc = f.pc;
            self.cur_pc.set(pc as u32);
            if self.line_hook.get() {
                crate::modules::memory_profiler::line_event(self, f, pc);
            }
            let op = ops[pc];
            f.pc = pc + 1;
            match op {
                Op::Nop => {}
                Op::Pop => {
                    f.stack.pop();
                }
                Op::Dup => {
                    let v = f.stack.last().expect("stack").clone();
                    f.stack.push(v);
                }
                Op::DupTop2 => {
                    let n = f.stack.len();
                    let a = f.stack[n - 2].clone();
                    let b = f.stack[n - 1].clone();
                    f.stack.push(a);
                    f.stack.push(b);
                }
                Op::Rot2 => {
                    let n = f.stack.len();
                    f.stack.swap(n - 1, n - 2);
                }
                Op::Rot3 => {
                    let v = f.stack.pop().expect("stack");
                    let n = f.stack.len();
                    f.stack.insert(n - 2, v);
                }
                Op::Rot4 => {
                    let v = f.stack.pop().expect("stack");
                    let n = f.stack.len();
                    f.stack.insert(n - 3, v);
                }
                Op::LoadConst(i) => f.stack.push(code.consts[i as usize].clone()),
                Op::LoadFast(i) => match &f.locals[i as usize] {
                    Some(v) => {
                        let v = v.clone();
                        f.stack.push(v)
                    }
                    None => {
                        let name = &code.varnames[i as usize].s;
                        return Control::Error(self.new_error(
                            "UnboundLocalError",
                            format!("cannot access local variable '{name}' where it is not associated with a value"),
                        ));
                    }
                },
                Op::StoreFast(i) => {
                    let v = f.stack.pop().expect("stack");
                    let old = f.locals[i as usize].replace(v);
                    drop(old);
                }
                Op::DeleteFast(i) => {
                    if f.locals[i as usize].take().is_none() {
                        let name = &code.varnames[i as usize].s;
                        return Control::Error(self.new_error(
                            "UnboundLocalError",
                            format!("cannot access local variable '{name}' where it is not associated with a value"),
                        ));
                    }
                }
                Op::LoadDeref(i) => {
                    let v = tri!(self.load_deref(f, i as usize));
                    f.stack.push(v);
                }
                Op::LoadClassDeref(i) => {
                    let name = self.deref_name(&code, i as usize);
                    let ns = f.namespace.clone().expect("class body namespace");
                    match ns.get_name(&name) {
                        Some(v) => f.stack.push(v),
                        None => {
                            let v = tri!(self.load_deref(f, i as usize));
                            f.stack.push(v);
                        }
                    }
                }
                Op::StoreDeref(i) => {
                    let v = f.stack.pop().expect("stack");
                    if let Some(Value::Cell(c)) = &f.locals[i as usize] {
                        let old = c.value.borrow_mut().replace(v);
                        drop(old);
                    }
                }
                Op::DeleteDeref(i) => {
                    if let Some(Value::Cell(c)) = &f.locals[i as usize] {
                        let old = c.value.borrow_mut().take();
                        if old.is_none() {
                            let name = self.deref_name(&code, i as usize);
                            return Control::Error(self.new_error(
                                "NameError",
                                format!("cannot access free variable '{}' where it is not associated with a value in enclosing scope", name.s),
                            ));
                        }
                    }
                }
                Op::LoadClosure(i) => {
                    let v = f.locals[i as usize].clone().expect("cell slot");
                    f.stack.push(v);
                }
                Op::LoadName(i) => {
                    let name = &code.names[i as usize];
                    let ns = f.namespace.as_ref().unwrap_or(&f.globals);
                    let v = match ns.get_name(name) {
                        Some(v) => v,
                        None => tri!(self.load_global(&f.globals, name)),
                    };
                    f.stack.push(v);
                }
                Op::StoreName(i) => {
                    let v = f.stack.pop().expect("stack");
                    let name = &code.names[i as usize];
                    let ns = f.namespace.as_ref().unwrap_or(&f.globals);
                    let old = ns.set_str(name, v);
                    drop(old);
                }
                Op::DeleteName(i) => {
                    let name = &code.names[i as usize];
                    let ns = f.namespace.as_ref().unwrap_or(&f.globals);
                    match ns.del_str(&name.s) {
                        Some(e) => drop(e),
                        None => {
                            return Control::Error(
                                self.new_error("NameError", format!("name '{}' is not defined", name.s)),
                            )
                        }
                    }
                }
                Op::LoadGlobal(i) => {
                    let v = tri!(self.load_global(&f.globals, &code.names[i as usize]));
                    f.stack.push(v);
                }
                Op::StoreGlobal(i) => {
                    let v = f.stack.pop().expect("stack");
                    let old = f.globals.set_str(&code.names[i as usize], v);
                    drop(old);
                }
                Op::DeleteGlobal(i) => {
                    let name = &code.names[i as usize];
                    match f.globals.del_str(&name.s) {
                        Some(e) => drop(e),
                        None => {
                            return Control::Error(
                                self.new_error("NameError", format!("name '{}' is not defined", name.s)),
                            )
                        }
                    }
                }
                Op::LoadAttr(i) => {
                    let o = f.stack.pop().expect("stack");
                    let v = tri!(self.getattr(&o, &code.names[i as usize]));
                    drop(o);
                    f.stack.push(v);
                }
                Op::StoreAttr(i) => {
                    let o = f.stack.pop().expect("stack");
                    let v = f.stack.pop().expect("stack");
                    tri!(self.setattr(&o, &code.names[i as usize], v));
                }
                Op::DeleteAttr(i) => {
                    let o = f.stack.pop().expect("stack");
                    tri!(self.delattr(&o, &code.names[i as usize]));
                }
                Op::LoadMethod(i) => {
                    let o = f.stack.pop().expect("stack");
                    let (m, selfv) = tri!(self.load_method(o, &code.names[i as usize]));
                    f.stack.push(m);
                    f.stack.push(selfv.unwrap_or(Value::Null));
                }
                Op::CallMethod(argc) => {
                    let argc = argc as usize;
                    let n = f.stack.len();
                    let self_at = n - argc - 1;
                    if matches!(f.stack[self_at], Value::Null) {
                        // [f NULL args] -> [f args]
                        f.stack.remove(self_at);
                        if let Some(c) = tri!(self.call_from_stack(f, self_at - 1, argc, &[])) {
                            return Control::Call(c);
                        }
                    } else if let Some(c) = tri!(self.call_from_stack(f, self_at - 1, argc + 1, &[])) {
                        return Control::Call(c);
                    }
                }
                Op::Call(argc) => {
                    let n = f.stack.len();
                    let base = n - argc as usize - 1;
                    if let Some(c) = tri!(self.call_from_stack(f, base, argc as usize, &[])) {
                        return Control::Call(c);
                    }
                }
                Op::CallKw(argc) => {
                    let names = f.stack.pop().expect("stack");
                    let Value::Tuple(t) = &names else { unreachable!("kwnames tuple") };
                    let n = f.stack.len();
                    let base = n - argc as usize - 1;
                    if let Some(c) = tri!(self.call_from_stack(f, base, argc as usize, &t.items)) {
                        return Control::Call(c);
                    }
                }
                Op::CallEx(has_kw) => {
                    let kwargs = if has_kw { f.stack.pop() } else { None };
                    let args = f.stack.pop().expect("stack");
                    let func = f.stack.pop().expect("stack");
                    let Value::Tuple(args) = args else { unreachable!("args tuple") };
                    let mut vals: Vec<Value> = args.items.to_vec();
                    let mut names = Vec::new();
                    if let Some(Value::Dict(d)) = kwargs {
                        for e in d.table.borrow().iter() {
                            names.push(e.key.clone());
                            vals.push(e.value.clone());
                        }
                    }
                    let base = f.stack.len();
                    f.stack.push(func);
                    let argc = vals.len();
                    f.stack.extend(vals);
                    if let Some(c) = tri!(self.call_from_stack(f, base, argc, &names)) {
                        return Control::Call(c);
                    }
                }
                Op::Subscr => {
                    let k = f.stack.pop().expect("stack");
                    let o = f.stack.pop().expect("stack");
                    let v = tri!(self.getitem(&o, &k));
                    f.stack.push(v);
                }
                Op::StoreSubscr => {
                    let k = f.stack.pop().expect("stack");
                    let o = f.stack.pop().expect("stack");
                    let v = f.stack.pop().expect("stack");
                    tri!(self.setitem(&o, k, v));
                }
                Op::DeleteSubscr => {
                    let k = f.stack.pop().expect("stack");
                    let o = f.stack.pop().expect("stack");
                    tri!(self.delitem(&o, &k));
                }
                Op::Binary(op) => {
                    let b = f.stack.pop().expect("stack");
                    let a = f.stack.pop().expect("stack");
                    let v = tri!(self.binary(op, &a, &b));
                    drop((a, b));
                    f.stack.push(v);
                }
                Op::Inplace(op) => {
                    let b = f.stack.pop().expect("stack");
                    let a = f.stack.pop().expect("stack");
                    let v = tri!(self.inplace(op, a, &b));
                    f.stack.push(v);
                }
                Op::Unary(op) => {
                    let a = f.stack.pop().expect("stack");
                    let v = tri!(self.unary(op, &a));
                    f.stack.push(v);
                }
                Op::Compare(op) => {
                    let b = f.stack.pop().expect("stack");
                    let a = f.stack.pop().expect("stack");
                    let v = tri!(self.compare(op, &a, &b));
                    drop((a, b));
                    f.stack.push(v);
                }
                Op::Is(neg) => {
                    let b = f.stack.pop().expect("stack");
                    let a = f.stack.pop().expect("stack");
                    f.stack.push(Value::Bool(a.is(&b) != neg));
                }
                Op::In(neg) => {
                    let b = f.stack.pop().expect("stack");
                    let a = f.stack.pop().expect("stack");
                    let r = tri!(self.contains(&b, &a));
                    f.stack.push(Value::Bool(r != neg));
                }
                Op::Jump(t) => f.pc = t as usize,
                Op::PopJumpIfFalse(t) => {
                    let v = f.stack.pop().expect("stack");
                    if !tri!(self.truthy(&v)) {
                        f.pc = t as usize;
                    }
                }
                Op::PopJumpIfTrue(t) => {
                    let v = f.stack.pop().expect("stack");
                    if tri!(self.truthy(&v)) {
                        f.pc = t as usize;
                    }
                }
                Op::JumpIfFalseOrPop(t) => {
                    let v = f.stack.last().expect("stack");
                    if !tri!(self.truthy(v)) {
                        f.pc = t as usize;
                    } else {
                        f.stack.pop();
                    }
                }
                Op::JumpIfTrueOrPop(t) => {
                    let v = f.stack.last().expect("stack");
                    if tri!(self.truthy(v)) {
                        f.pc = t as usize;
                    } else {
                        f.stack.pop();
                    }
                }
                Op::GetIter => {
                    let o = f.stack.pop().expect("stack");
                    let it = tri!(self.iter(&o));
                    drop(o);
                    f.stack.push(it);
                }
                Op::ForIter(t) => {
                    let it = f.stack.last().expect("stack");
                    match tri!(self.next(it)) {
                        Some(v) => f.stack.push(v),
                        None => {
                            f.stack.pop();
                            f.pc = t as usize;
                        }
                    }
                }
                Op::BuildTuple(n) => {
                    let at = f.stack.len() - n as usize;
                    let items: Vec<Value> = f.stack.drain(at..).collect();
                    f.stack.push(Value::tuple(items));
                }
                Op::BuildList(n) => {
                    let at = f.stack.len() - n as usize;
                    let items: Vec<Value> = f.stack.drain(at..).collect();
                    f.stack.push(Value::list(items));
                }
                Op::BuildSet(n) => {
                    let at = f.stack.len() - n as usize;
                    let items: Vec<Value> = f.stack.drain(at..).collect();
                    let s = Gc::new(Set::default());
                    for it in items {
                        tri!(self.set_add(&s, it));
                    }
                    f.stack.push(Value::Set(s));
                }
                Op::BuildMap(n) => {
                    let at = f.stack.len() - 2 * n as usize;
                    let items: Vec<Value> = f.stack.drain(at..).collect();
                    let d = Dict::new_object();
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        tri!(self.dict_set(&d, k, v));
                    }
                    f.stack.push(Value::Dict(d));
                }
                Op::BuildSlice(n) => {
                    let step = if n == 3 { f.stack.pop().expect("stack") } else { Value::None };
                    let stop = f.stack.pop().expect("stack");
                    let start = f.stack.pop().expect("stack");
                    f.stack.push(Value::Slice(Gc::new(crate::object::Slice {
                        start,
                        stop,
                        step,
                        track: crate::object::TrackAtBirth,
                    })));
                }
                Op::BuildString(n) => {
                    let at = f.stack.len() - n as usize;
                    let mut s = String::new();
                    for v in f.stack.drain(at..) {
                        if let Value::Str(p) = &v {
                            s.push_str(&p.s);
                        }
                    }
                    f.stack.push(Value::str(s));
                }
                Op::ListAppend(i) => {
                    let v = f.stack.pop().expect("stack");
                    let n = f.stack.len();
                    if let Value::List(l) = &f.stack[n - i as usize] {
                        l.items.borrow_mut().push(v);
                    }
                }
                Op::SetAdd(i) => {
                    let v = f.stack.pop().expect("stack");
                    let n = f.stack.len();
                    if let Value::Set(s) = &f.stack[n - i as usize] {
                        let s = s.clone();
                        tri!(self.set_add(&s, v));
                    }
                }
                Op::MapAdd(i) => {
                    let v = f.stack.pop().expect("stack");
                    let k = f.stack.pop().expect("stack");
                    let n = f.stack.len();
                    if let Value::Dict(d) = &f.stack[n - i as usize] {
                        let d = d.clone();
                        tri!(self.dict_set(&d, k, v));
                    }
                }
                Op::ListExtend(i) => {
                    let it = f.stack.pop().expect("stack");
                    let items = tri!(self.collect(&it));
                    let n = f.stack.len();
                    if let Value::List(l) = &f.stack[n - i as usize] {
                        l.items.borrow_mut().extend(items);
                    }
                }
                Op::SetUpdate(i) => {
                    let it = f.stack.pop().expect("stack");
                    let items = tri!(self.collect(&it));
                    let n = f.stack.len();
                    if let Value::Set(s) = &f.stack[n - i as usize] {
                        let s = s.clone();
                        for x in items {
                            tri!(self.set_add(&s, x));
                        }
                    }
                }
                Op::DictUpdate(i) | Op::DictMerge(i) => {
                    let m = f.stack.pop().expect("stack");
                    let n = f.stack.len();
                    if let Value::Dict(d) = &f.stack[n - i as usize] {
                        let d = d.clone();
                        tri!(self.dict_update_from(&d, &m, matches!(op, Op::DictMerge(_))));
                    }
                }
                Op::ListToTuple => {
                    let l = f.stack.pop().expect("stack");
                    if let Value::List(l) = l {
                        let items = std::mem::take(&mut *l.items.borrow_mut());
                        f.stack.push(Value::tuple(items));
                    }
                }
                Op::UnpackSequence(n) => {
                    let seq = f.stack.pop().expect("stack");
                    let items = tri!(self.unpack(&seq, n as usize));
                    f.stack.extend(items.into_iter().rev());
                }
                Op::UnpackEx(before, after) => {
                    let seq = f.stack.pop().expect("stack");
                    let mut items = tri!(self.collect(&seq));
                    let (b, a) = (before as usize, after as usize);
                    if items.len() < b + a {
                        return Control::Error(self.value_error(format!(
                            "not enough values to unpack (expected at least {}, got {})",
                            b + a,
                            items.len()
                        )));
                    }
                    let tail = items.split_off(items.len() - a);
                    let middle = items.split_off(b);
                    for v in tail.into_iter().rev() {
                        f.stack.push(v);
                    }
                    f.stack.push(Value::list(middle));
                    for v in items.into_iter().rev() {
                        f.stack.push(v);
                    }
                }
                Op::FormatValue(conv, has_spec) => {
                    let spec = if has_spec { f.stack.pop() } else { None };
                    let v = f.stack.pop().expect("stack");
                    let s = tri!(self.format_value(&v, conv, spec.as_ref()));
                    f.stack.push(s);
                }
                Op::MakeFunction(flags) => {
                    let qualname = f.stack.pop().expect("stack");
                    let Some(Value::Code(c)) = f.stack.pop() else { unreachable!("code object") };
                    let closure = if flags & 8 != 0 {
                        match f.stack.pop() {
                            Some(Value::Tuple(t)) => t
                                .items
                                .iter()
                                .filter_map(|v| if let Value::Cell(c) = v { Some(c.clone()) } else { None })
                                .collect(),
                            _ => Vec::new(),
                        }
                    } else {
                        Vec::new()
                    };
                    let kwdefaults = if flags & 2 != 0 {
                        match f.stack.pop() {
                            Some(Value::Dict(d)) => Some(d),
                            _ => None,
                        }
                    } else {
                        None
                    };
                    let defaults = if flags & 1 != 0 {
                        match f.stack.pop() {
                            Some(Value::Tuple(t)) => Some(t),
                            _ => None,
                        }
                    } else {
                        None
                    };
                    let Value::Str(qualname) = qualname else { unreachable!("qualname") };
                    let name = Gc::new(PyStr::new(c.name.clone()));
                    let doc = match c.consts.first() {
                        Some(Value::Str(s)) if c.flags & crate::object::func::code_flags::HAS_DOC != 0 => {
                            Value::Str(s.clone())
                        }
                        _ => Value::None,
                    };
                    let module = f.globals.get_str("__name__").unwrap_or(Value::None);
                    let func = Function {
                        code: c,
                        globals: f.globals.clone(),
                        name: GcCell::new(name),
                        qualname: GcCell::new(qualname),
                        defaults,
                        kwdefaults,
                        closure,
                        dict: GcCell::new(None),
                        module,
                        doc,
                    };
                    f.stack.push(Value::Function(Gc::new(func)));
                }
                Op::Return => {
                    let v = f.stack.pop().expect("stack");
                    return Control::Return(v);
                }
                Op::Yield => {
                    let v = f.stack.pop().expect("stack");
                    return Control::Yield(v);
                }
                Op::GetYieldFromIter => {
                    let o = f.stack.pop().expect("stack");
                    let it = match o {
                        Value::Generator(_) => o,
                        other => tri!(self.iter(&other)),
                    };
                    f.stack.push(it);
                }
                Op::YieldFrom => {
                    // [iter sent]
                    let sent = f.stack.pop().expect("stack");
                    let it = f.stack.last().expect("stack").clone();
                    let r = match &it {
                        Value::Generator(g) => self.gen_send(g, sent),
                        other => {
                            if sent.is_none() {
                                self.next(other).map(|o| match o {
                                    Some(v) => GenStep::Yielded(v),
                                    None => GenStep::Returned(Value::None),
                                })
                            } else {
                                self.call_method(other, "send", &[sent]).map(GenStep::Yielded)
                            }
                        }
                    };
                    match tri!(r) {
                        GenStep::Yielded(v) => {
                            // Re-run this instruction when resumed.
                            f.pc -= 1;
                            return Control::Yield(v);
                        }
                        GenStep::Returned(v) => {
                            f.stack.pop();
                            f.stack.push(v);
                        }
                    }
                }
                Op::Raise(n) => {
                    let e = match n {
                        0 => {
                            let cur = self.handled.borrow().last().cloned().flatten();
                            match cur {
                                Some(e) => return Control::Reraise(e),
                                None => {
                                    return Control::Error(
                                        self.new_error("RuntimeError", "No active exception to reraise"),
                                    )
                                }
                            }
                        }
                        1 => {
                            let v = f.stack.pop().expect("stack");
                            tri!(self.make_raisable(v))
                        }
                        _ => {
                            let cause = f.stack.pop().expect("stack");
                            let v = f.stack.pop().expect("stack");
                            let e = tri!(self.make_raisable(v));
                            let cause = match cause {
                                Value::None => None,
                                c => Some(tri!(self.make_raisable(c)).value()),
                            };
                            e.with_data(|d| {
                                d.cause = cause;
                                d.suppress_context = true;
                            });
                            e
                        }
                    };
                    self.set_context(&e);
                    return Control::Error(e);
                }
                Op::Reraise => {
                    let v = f.stack.pop().expect("stack");
                    // Leaving the handler: its block and exc_info entry.
                    if let Some(b) = f.blocks.last() {
                        if b.is_handler {
                            f.blocks.pop();
                            self.handled.borrow_mut().pop();
                        }
                    }
                    let Value::Instance(i) = v else { unreachable!("exception") };
                    return Control::Reraise(PyErr(i));
                }
                Op::SetupFinally(t) => {
                    f.blocks.push(Block { handler: t, level: f.stack.len() as u32, is_handler: false })
                }
                Op::PopBlock => {
                    f.blocks.pop();
                }
                Op::PopExcept => {
                    if let Some(b) = f.blocks.pop() {
                        debug_assert!(b.is_handler);
                    }
                    self.handled.borrow_mut().pop();
                }
                Op::CheckExcMatch => {
                    let ty = f.stack.pop().expect("stack");
                    let exc = f.stack.last().expect("stack").clone();
                    let r = tri!(self.exception_matches(&exc, &ty));
                    f.stack.push(Value::Bool(r));
                }
                Op::SetupWith(t) => {
                    let ctx = f.stack.pop().expect("stack");
                    let exit = tri!(self.special_method(&ctx, "__exit__"));
                    let enter = tri!(self.special_method(&ctx, "__enter__"));
                    let r = tri!(self.call(&enter, &[], &[]));
                    f.stack.push(exit);
                    f.blocks.push(Block { handler: t, level: f.stack.len() as u32, is_handler: false });
                    f.stack.push(r);
                }
                Op::WithExceptStart => {
                    let n = f.stack.len();
                    let exc = f.stack[n - 1].clone();
                    let exit = f.stack[n - 2].clone();
                    let ty = Value::Class(self.class_of(&exc).clone());
                    let tb = self.traceback_of(&exc);
                    let r = tri!(self.call(&exit, &[ty, exc, tb], &[]));
                    f.stack.push(r);
                }
                Op::ImportName(i) => {
                    let _fromlist = f.stack.pop();
                    let _level = f.stack.pop();
                    let m = tri!(self.import(&code.names[i as usize].s));
                    f.stack.push(m);
                }
                Op::ImportFrom(i) => {
                    let m = f.stack.last().expect("stack").clone();
                    let name = &code.names[i as usize];
                    let v = match self.getattr(&m, name) {
                        Ok(v) => v,
                        Err(e) if e.is(self, "AttributeError") => {
                            let mname = match &m {
                                Value::Module(m) => m.name.clone(),
                                _ => "?".into(),
                            };
                            return Control::Error(self.new_error(
                                "ImportError",
                                format!(
                                    "cannot import name '{}' from '{}' (unknown location)",
                                    name.s, mname
                                ),
                            ));
                        }
                        Err(e) => return Control::Error(e),
                    };
                    f.stack.push(v);
                }
                Op::ImportStar => {
                    let m = f.stack.pop().expect("stack");
                    if let Value::Module(m) = &m {
                        let ns = f.namespace.clone().unwrap_or_else(|| f.globals.clone());
                        let entries: Vec<(Value, Value)> =
                            m.dict.table.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
                        for (k, v) in entries {
                            if let Value::Str(s) = &k {
                                if !s.s.starts_with('_') {
                                    ns.set_str(s, v);
                                }
                            }
                        }
                    }
                }
                Op::LoadBuildClass => {
                    f.stack.push(self.builtins.get_str("__build_class__").expect("__build_class__"))
                }
                Op::LoadAssertionError => {
                    f.stack.push(Value::Class(self.types.exc("AssertionError").clone()))
                }
                Op::LoadLocals => {
                    let ns = f.namespace.clone().expect("namespace");
                    f.stack.push(Value::Dict(ns));
                }
            }
        }
    }

    fn deref_name(&self, code: &crate::object::Code, i: usize) -> Gc<PyStr> {
        let nv = code.varnames.len();
        let nc = code.cellvars.len();
        if i < nv + nc {
            code.cellvars[i - nv].clone()
        } else {
            code.freevars[i - nv - nc].clone()
        }
    }

    fn load_deref(&self, f: &Frame, i: usize) -> PyResult<Value> {
        if let Some(Value::Cell(c)) = &f.locals[i] {
            if let Some(v) = &*c.value.borrow() {
                return Ok(v.clone());
            }
        }
        let name = self.deref_name(&f.code, i);
        let nv = f.code.varnames.len();
        if i < nv + f.code.cellvars.len() {
            Err(self.new_error(
                "UnboundLocalError",
                format!("cannot access local variable '{}' where it is not associated with a value", name.s),
            ))
        } else {
            Err(self.new_error(
                "NameError",
                format!("cannot access free variable '{}' where it is not associated with a value in enclosing scope", name.s),
            ))
        }
    }

    /// A global or built-in name.
    pub fn load_global(&self, globals: &Gc<Dict>, name: &Gc<PyStr>) -> PyResult<Value> {
        if let Some(v) = globals.get_name(name) {
            return Ok(v);
        }
        if let Some(v) = self.builtins.get_name(name) {
            return Ok(v);
        }
        Err(self.new_error("NameError", format!("name '{}' is not defined", name.s)))
    }

    /// Sets `__context__` of a newly raised exception to the one being
    /// handled, as CPython does.
    pub fn set_context(&self, e: &PyErr) {
        let cur = self.handled.borrow().last().cloned().flatten();
        if let Some(h) = cur {
            if Gc::ptr_eq(&h.0, &e.0) {
                return;
            }
            // Cut a cycle in the context chain.
            let mut o = h.with_data(|d| d.context.clone());
            let mut prev = h.clone();
            while let Some(Value::Instance(c)) = o {
                if Gc::ptr_eq(&c, &e.0) {
                    prev.with_data(|d| d.context = None);
                    break;
                }
                prev = PyErr(c.clone());
                o = prev.with_data(|d| d.context.clone());
            }
            e.with_data(|d| d.context = Some(h.value()));
        }
    }

    /// Sends a value into a generator: the next yielded value, or what it
    /// returned.
    pub fn gen_send(&self, g: &Gc<Generator>, v: Value) -> PyResult<GenStep> {
        self.gen_resume(g, Some(v), None)
    }

    /// Resumes a generator with a value or an exception.
    pub fn gen_resume(&self, g: &Gc<Generator>, v: Option<Value>, throw: Option<PyErr>) -> PyResult<GenStep> {
        let state = *g.state.borrow();
        match state {
            GenState::Running => return Err(self.value_error("generator already executing")),
            GenState::Closed => {
                return match throw {
                    Some(e) => Err(e),
                    None => Ok(GenStep::Returned(Value::None)),
                }
            }
            GenState::Created => {
                if let Some(v) = &v {
                    if !v.is_none() && throw.is_none() {
                        return Err(self.type_error("can't send non-None value to a just-started generator"));
                    }
                }
            }
            GenState::Suspended => {}
        }
        let mut frame = g.frame.borrow_mut().take().expect("suspended generator has its frame");
        if state == GenState::Suspended && throw.is_none() {
            frame.stack.push(v.unwrap_or(Value::None));
        }
        *g.state.borrow_mut() = GenState::Running;
        let r = self.run_frame(frame, throw);
        match r {
            Ok(Exit::Yield(v, frame)) => {
                *g.frame.borrow_mut() = Some(frame);
                *g.state.borrow_mut() = GenState::Suspended;
                Ok(GenStep::Yielded(v))
            }
            Ok(Exit::Return(v)) => {
                *g.state.borrow_mut() = GenState::Closed;
                Ok(GenStep::Returned(v))
            }
            Err(e) => {
                *g.state.borrow_mut() = GenState::Closed;
                if e.is(self, "StopIteration") {
                    let r = self.new_error("RuntimeError", "generator raised StopIteration");
                    r.with_data(|d| d.cause = Some(e.value()));
                    r.with_data(|d| d.context = Some(e.value()));
                    r.with_data(|d| d.suppress_context = true);
                    return Err(r);
                }
                Err(e)
            }
        }
    }

    /// `generator.close()`.
    pub fn gen_close(&self, g: &Gc<Generator>) -> PyResult<()> {
        let state = *g.state.borrow();
        if state != GenState::Suspended {
            *g.state.borrow_mut() = GenState::Closed;
            g.frame.borrow_mut().take();
            return Ok(());
        }
        let exit = self.new_exception(&self.types.exc("GeneratorExit").clone(), vec![]);
        match self.gen_resume(g, None, Some(exit)) {
            Ok(GenStep::Yielded(_)) => Err(self.new_error("RuntimeError", "generator ignored GeneratorExit")),
            Ok(GenStep::Returned(_)) => Ok(()),
            Err(e) if e.is(self, "GeneratorExit") || e.is(self, "StopIteration") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `list.append` on a list value (used by comprehensions and builtins).
    pub fn list_push(&self, l: &Gc<List>, v: Value) {
        l.items.borrow_mut().push(v);
    }

    /// The traceback object of an exception value, or `None`.
    pub fn traceback_of(&self, exc: &Value) -> Value {
        match exc {
            Value::Instance(i) => {
                let e = PyErr(i.clone());
                let entries = e.with_data(|d| d.traceback.clone());
                if entries.is_empty() {
                    Value::None
                } else {
                    Value::native(crate::object::NativeKind::Traceback(super::exc::TracebackData { entries }))
                }
            }
            _ => Value::None,
        }
    }
}

/// The frames of one evaluation loop, in a vector reused from the VM's
/// pool and given back (emptied) when the loop ends, however it ends.
struct FrameStack<'v> {
    vm: &'v Vm,
    // Boxed: frames move to and from generators (see `pop_failed_frame`).
    #[allow(clippy::vec_box)]
    frames: Vec<Box<Frame>>,
}

impl<'v> FrameStack<'v> {
    fn new(vm: &'v Vm) -> FrameStack<'v> {
        let frames = vm.frame_stacks.borrow_mut().pop().unwrap_or_default();
        FrameStack { vm, frames }
    }
}

impl Drop for FrameStack<'_> {
    fn drop(&mut self) {
        let mut frames = std::mem::take(&mut self.frames);
        // Frames left here (an unwinding) drop outside the pool's borrow:
        // their values' `__del__` may start loops of their own.
        frames.clear();
        if let Ok(mut pool) = self.vm.frame_stacks.try_borrow_mut() {
            if pool.len() < 64 {
                pool.push(frames);
            }
        }
    }
}

/// One step of a generator.
pub enum GenStep {
    /// It yielded this.
    Yielded(Value),
    /// It returned this.
    Returned(Value),
}

#[cfg(test)]
mod tests {
    use crate::object::Value;
    use crate::run::run_for_test;

    fn int(src: &str, name: &str) -> i64 {
        let (_vm, g, r) = run_for_test(src);
        if let Err(e) = r {
            panic!("{src:?} raised {}", crate::vm::current().expect("vm").exc_str(&e));
        }
        match g.get_str(name) {
            Some(Value::Int(i)) => i,
            other => panic!("{name} is {:?}", other.map(|v| crate::vm::current().expect("vm").repr_or(&v))),
        }
    }

    #[test]
    fn calls_run_in_one_loop_without_native_recursion() {
        // 900 nested Python calls: below the limit, and no native stack.
        assert_eq!(int("def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nx = f(900)\n", "x"), 900);
    }

    #[test]
    fn the_recursion_limit_is_a_recursion_error() {
        let (vm, _g, r) = run_for_test("import sys\nsys.setrecursionlimit(50)\ndef f():\n    f()\nf()\n");
        assert!(r.expect_err("raises").is(vm, "RecursionError"));
        vm.recursion_limit.set(1000);
    }

    #[test]
    fn handlers_restore_the_stack_inside_loops() {
        let src = "x = 0\nfor i in range(5):\n    try:\n        raise ValueError(i)\n    except ValueError:\n        x += i\n";
        assert_eq!(int(src, "x"), 10);
    }

    #[test]
    fn generators_suspend_and_resume() {
        let src = "def g():\n    a = yield 1\n    yield a * 2\nit = g()\nnext(it)\nx = it.send(21)\n";
        assert_eq!(int(src, "x"), 42);
    }

    #[test]
    fn finally_runs_on_return() {
        let src = "log = []\ndef f():\n    try:\n        return 1\n    finally:\n        log.append(2)\nx = f() + len(log)\n";
        assert_eq!(int(src, "x"), 2);
    }

    #[test]
    fn the_frame_list_follows_calls() {
        let (vm, _g, r) = run_for_test("def f():\n    return 1\nf()\n");
        assert!(r.is_ok());
        assert!(vm.shadow.borrow().is_empty(), "every frame left the list");
    }
}
