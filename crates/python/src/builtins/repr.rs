//! `repr()` and `str()`.

use pygc::Gc;

use crate::object::{class, NativeKind, Value};
use crate::vm::{PyResult, Vm};

/// Python's quoting of a str for `repr`.
pub fn quote_str(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// `repr(bytes)`.
pub fn bytes_repr(b: &[u8]) -> String {
    let q = if b.contains(&b'\'') && !b.contains(&b'"') { '"' } else { '\'' };
    let mut out = String::from("b");
    out.push(q);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c as char == q => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(q);
    out
}

impl Vm {
    /// `repr(v)`.
    pub fn repr(&self, v: &Value) -> PyResult<String> {
        Ok(match v {
            Value::None | Value::Null => "None".into(),
            Value::NotImplemented => "NotImplemented".into(),
            Value::Ellipsis => "Ellipsis".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Long(b) => b.0.to_string(),
            Value::Float(f) => crate::vm::ops::float_repr(*f),
            Value::Str(s) => quote_str(&s.s),
            Value::Bytes(b) => bytes_repr(&b.data),
            Value::Tuple(t) => {
                let _g = self.enter()?;
                let parts: Vec<String> = t.items.iter().map(|x| self.repr(x)).collect::<PyResult<_>>()?;
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            Value::List(l) => {
                let _g = self.enter()?;
                if !self.repr_enter(v) {
                    return Ok("[...]".into());
                }
                let items = l.items.borrow().clone();
                let r: PyResult<Vec<String>> = items.iter().map(|x| self.repr(x)).collect();
                self.repr_leave(v);
                format!("[{}]", r?.join(", "))
            }
            Value::Dict(d) => {
                let _g = self.enter()?;
                if !self.repr_enter(v) {
                    return Ok("{...}".into());
                }
                let entries: Vec<(Value, Value)> =
                    d.table.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
                let r: PyResult<Vec<String>> = entries
                    .iter()
                    .map(|(k, x)| Ok(format!("{}: {}", self.repr(k)?, self.repr(x)?)))
                    .collect();
                self.repr_leave(v);
                format!("{{{}}}", r?.join(", "))
            }
            Value::Set(s) | Value::FrozenSet(s) => {
                let _g = self.enter()?;
                let items: Vec<Value> = s.table.borrow().iter().map(|(_, k)| k.clone()).collect();
                let name = if matches!(v, Value::Set(_)) { "set" } else { "frozenset" };
                if items.is_empty() {
                    return Ok(format!("{name}()"));
                }
                let parts: Vec<String> = items.iter().map(|x| self.repr(x)).collect::<PyResult<_>>()?;
                if name == "set" {
                    format!("{{{}}}", parts.join(", "))
                } else {
                    format!("frozenset({{{}}})", parts.join(", "))
                }
            }
            Value::Range(r) => {
                if r.step == 1 {
                    format!("range({}, {})", r.start, r.stop)
                } else {
                    format!("range({}, {}, {})", r.start, r.stop, r.step)
                }
            }
            Value::Slice(s) => {
                format!("slice({}, {}, {})", self.repr(&s.start)?, self.repr(&s.stop)?, self.repr(&s.step)?)
            }
            Value::Function(f) => format!("<function {} at {:#x}>", f.qualname.borrow().s, Gc::id(f)),
            Value::Builtin(b) => match &b.bound {
                Some(obj) if !matches!(obj, Value::Module(_)) => {
                    format!(
                        "<built-in method {} of {} object at {:#x}>",
                        b.name,
                        self.type_name(obj),
                        obj.heap_id().unwrap_or(0)
                    )
                }
                _ => format!("<built-in function {}>", b.name),
            },
            Value::Method(m) => {
                let fname = match &m.func {
                    Value::Function(f) => f.qualname.borrow().s.to_string(),
                    other => self.repr(other)?,
                };
                format!("<bound method {} of {}>", fname, self.repr(&m.obj)?)
            }
            Value::Class(c) => {
                let module = match c.dict.get_str("__module__") {
                    Some(Value::Str(m)) if !c.builtin => Some(m.s.to_string()),
                    _ => None,
                };
                match module {
                    Some(m) if m != "builtins" => format!("<class '{}.{}'>", m, c.qualname.borrow()),
                    _ => format!("<class '{}'>", c.qualname.borrow()),
                }
            }
            Value::Module(m) => {
                if crate::modules::is_builtin_module(&m.name) {
                    format!("<module '{}' (built-in)>", m.name)
                } else {
                    format!("<module '{}'>", m.name)
                }
            }
            Value::Generator(g) => format!("<generator object {} at {:#x}>", g.qualname.s, Gc::id(g)),
            Value::Cell(c) => format!("<cell at {:#x}>", Gc::id(c)),
            Value::Code(c) => format!(
                "<code object {} at {:#x}, file \"{}\", line {}>",
                c.name,
                Gc::id(c),
                c.source.filename,
                c.firstlineno
            ),
            Value::Instance(inst) => {
                let cls = &inst.class;
                if cls.layout == class::Layout::Exception && !user_defines(cls, "__repr__") {
                    let e = crate::vm::PyErr(inst.clone());
                    let args = e.args();
                    let name = cls.qualname.borrow().clone();
                    return Ok(match &args {
                        Value::Tuple(t) if t.items.len() == 1 => {
                            format!("{}({})", name, self.repr(&t.items[0])?)
                        }
                        Value::Tuple(t) => {
                            let parts: Vec<String> =
                                t.items.iter().map(|x| self.repr(x)).collect::<PyResult<_>>()?;
                            format!("{}({})", name, parts.join(", "))
                        }
                        _ => format!("{name}()"),
                    });
                }
                match class::lookup(cls, "__repr__") {
                    Some(m @ (Value::Function(_) | Value::Method(_))) => {
                        let _g = self.enter()?;
                        let r = self.call_bound(&m, v, &[], &[])?;
                        match r {
                            Value::Str(s) => s.s.to_string(),
                            other => {
                                return Err(self.type_error(format!(
                                    "__repr__ returned non-string (type {})",
                                    self.type_name(&other)
                                )))
                            }
                        }
                    }
                    _ => self.default_repr(v),
                }
            }
            Value::Native(n) => match &n.kind {
                NativeKind::WeakRef(w) => crate::modules::weakref::repr(self, v, w),
                NativeKind::WeakProxy(w) => crate::modules::weakref::proxy_repr(self, v, w),
                NativeKind::Member { name, class_name, .. } => {
                    format!("<member '{name}' of '{class_name}' objects>")
                }
                NativeKind::DictView(d, kind) => {
                    let items = crate::builtins::types::view_items(d, *kind);
                    format!("{}({})", n.kind_name(), self.repr(&Value::list(items))?)
                }
                NativeKind::MappingProxy(d) => {
                    format!("mappingproxy({})", self.repr(&Value::Dict(d.clone()))?)
                }
                NativeKind::Opaque(o) => o.repr(self, v)?,
                _ => self.default_repr(v),
            },
        })
    }

    /// `<__main__.Node object at 0x...>`.
    pub fn default_repr(&self, v: &Value) -> String {
        let cls = self.class_of(v);
        let module = match cls.dict.get_str("__module__") {
            Some(Value::Str(m)) if !cls.builtin => format!("{}.", m.s),
            _ => String::new(),
        };
        format!("<{}{} object at {:#x}>", module, cls.qualname.borrow(), v.heap_id().unwrap_or(0))
    }

    fn repr_enter(&self, v: &Value) -> bool {
        REPR_STACK.with(|s| {
            let id = v.heap_id().unwrap_or(0);
            let mut s = s.borrow_mut();
            if s.contains(&id) {
                false
            } else {
                s.push(id);
                true
            }
        })
    }

    fn repr_leave(&self, v: &Value) {
        REPR_STACK.with(|s| {
            let id = v.heap_id().unwrap_or(0);
            let mut s = s.borrow_mut();
            if let Some(p) = s.iter().rposition(|&x| x == id) {
                s.remove(p);
            }
        })
    }

    /// `str(v)`.
    pub fn str_of(&self, v: &Value) -> PyResult<String> {
        match v {
            Value::Str(s) => Ok(s.s.to_string()),
            Value::Instance(inst) => {
                let cls = &inst.class;
                if let Some(m @ (Value::Function(_) | Value::Method(_))) = class::lookup(cls, "__str__") {
                    let _g = self.enter()?;
                    return match self.call_bound(&m, v, &[], &[])? {
                        Value::Str(s) => Ok(s.s.to_string()),
                        other => Err(self.type_error(format!(
                            "__str__ returned non-string (type {})",
                            self.type_name(&other)
                        ))),
                    };
                }
                if cls.layout == class::Layout::Exception && !user_defines(cls, "__repr__") {
                    let e = crate::vm::PyErr(inst.clone());
                    let args = e.args();
                    return match &args {
                        Value::Tuple(t) if t.items.is_empty() => Ok(String::new()),
                        Value::Tuple(t) if t.items.len() == 1 => {
                            if e.is(self, "KeyError") {
                                self.repr(&t.items[0])
                            } else {
                                self.str_of(&t.items[0])
                            }
                        }
                        other => self.repr(other),
                    };
                }
                self.repr(v)
            }
            Value::Native(n) => match &n.kind {
                NativeKind::Opaque(o) => match o.str() {
                    Some(s) => Ok(s),
                    None => self.repr(v),
                },
                _ => self.repr(v),
            },
            _ => self.repr(v),
        }
    }
}

fn user_defines(cls: &Gc<class::Class>, name: &str) -> bool {
    class::full_mro(cls).iter().any(|c| !c.builtin && c.dict.get_str(name).is_some())
}

thread_local! {
    static REPR_STACK: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}
