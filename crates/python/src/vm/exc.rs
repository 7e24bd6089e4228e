//! Exceptions: the state an exception instance carries, creating them
//! from Rust, and printing tracebacks as CPython 3.11 does.

use pygc::{Gc, Trace};

use super::{PyResult, Vm};
use crate::object::instance::Extra;
use crate::object::{Class, Code, Instance, Value};

/// A raised exception: an instance of a `BaseException` subclass.
#[derive(Clone, Trace)]
pub struct PyErr(pub Gc<Instance>);

impl PyErr {
    /// The exception as a value.
    pub fn value(&self) -> Value {
        Value::Instance(self.0.clone())
    }

    /// Its class.
    pub fn class(&self) -> &Gc<Class> {
        &self.0.class
    }

    /// Whether it is an instance of the named built-in exception (or a
    /// subclass).
    pub fn is(&self, vm: &Vm, name: &str) -> bool {
        crate::object::class::is_subclass(&self.0.class, vm.types.exc(name))
    }

    /// Runs `f` on its exception state.
    pub fn with_data<R>(&self, f: impl FnOnce(&mut ExcData) -> R) -> R {
        let mut d = self.0.data.borrow_mut();
        let extra = d.extra.get_or_insert_with(Default::default);
        f(extra.exc.get_or_insert_with(Default::default).as_mut())
    }

    /// `args`.
    pub fn args(&self) -> Value {
        self.with_data(|d| d.args.clone())
    }

    /// Adds a traceback entry (a frame the exception passed through).
    pub fn add_traceback(&self, code: &Gc<Code>, pc: usize) {
        self.with_data(|d| d.traceback.push(TbEntry { code: code.clone(), pc: pc as u32 }))
    }
}

/// One frame of a traceback.
#[derive(Trace, Clone)]
pub struct TbEntry {
    /// The code that was running.
    pub code: Gc<Code>,
    /// The instruction.
    pub pc: u32,
}

/// What a `traceback` object holds.
#[derive(Trace)]
pub struct TracebackData {
    /// Frames, innermost first.
    pub entries: Vec<TbEntry>,
}

/// The state of an exception instance.
#[derive(Trace)]
pub struct ExcData {
    /// `args` (a tuple).
    pub args: Value,
    /// Frames it passed through, innermost first.
    pub traceback: Vec<TbEntry>,
    /// `__cause__`.
    pub cause: Option<Value>,
    /// `__context__`.
    pub context: Option<Value>,
    /// `__suppress_context__`.
    pub suppress_context: bool,
}

// SAFETY: `bool` fields own no handle; the rest is traced by the derive on
// `ExcData`'s fields through their own impls (see below).
impl Default for ExcData {
    fn default() -> Self {
        ExcData {
            args: Value::tuple(vec![]),
            traceback: Vec::new(),
            cause: None,
            context: None,
            suppress_context: false,
        }
    }
}

impl Vm {
    /// A new exception of class `class` with `args`.
    pub fn new_exception(&self, class: &Gc<Class>, args: Vec<Value>) -> PyErr {
        let inst = Instance::new(class.clone());
        {
            let mut d = inst.data.borrow_mut();
            let extra: &mut Extra = d.extra.get_or_insert_with(Default::default);
            extra.exc = Some(Box::new(ExcData { args: Value::tuple(args), ..Default::default() }));
        }
        PyErr(Gc::new(inst))
    }

    /// A new exception of the named built-in class with a message.
    pub fn new_error(&self, name: &str, msg: impl Into<String>) -> PyErr {
        let class = self.types.exc(name).clone();
        self.new_exception(&class, vec![Value::str(msg.into())])
    }

    /// `TypeError(msg)`.
    pub fn type_error(&self, msg: impl Into<String>) -> PyErr {
        self.new_error("TypeError", msg)
    }

    /// `ValueError(msg)`.
    pub fn value_error(&self, msg: impl Into<String>) -> PyErr {
        self.new_error("ValueError", msg)
    }

    /// `IndexError(msg)`.
    pub fn index_error(&self, msg: impl Into<String>) -> PyErr {
        self.new_error("IndexError", msg)
    }

    /// `KeyError(key)`.
    pub fn key_error(&self, key: Value) -> PyErr {
        let class = self.types.exc("KeyError").clone();
        self.new_exception(&class, vec![key])
    }

    /// `AttributeError(msg)`.
    pub fn attribute_error(&self, msg: impl Into<String>) -> PyErr {
        self.new_error("AttributeError", msg)
    }

    /// `StopIteration(value)`.
    pub fn stop_iteration(&self, value: Option<Value>) -> PyErr {
        let class = self.types.exc("StopIteration").clone();
        self.new_exception(&class, value.into_iter().collect())
    }

    /// Converts whatever `raise X` was given into an exception instance.
    pub fn make_raisable(&self, v: Value) -> PyResult<PyErr> {
        match &v {
            Value::Instance(i)
                if crate::object::class::is_subclass(&i.class, self.types.exc("BaseException")) =>
            {
                Ok(PyErr(i.clone()))
            }
            Value::Class(c) if crate::object::class::is_subclass(c, self.types.exc("BaseException")) => {
                let r = self.call(&v, &[], &[])?;
                match r {
                    Value::Instance(i)
                        if crate::object::class::is_subclass(&i.class, self.types.exc("BaseException")) =>
                    {
                        Ok(PyErr(i))
                    }
                    other => Err(self.type_error(format!(
                        "calling {} should have returned an instance of BaseException, not {}",
                        self.repr_or(&v),
                        self.type_name(&other)
                    ))),
                }
            }
            _ => Err(self.type_error("exceptions must derive from BaseException")),
        }
    }

    /// `str(exc)`, never failing.
    pub fn exc_str(&self, e: &PyErr) -> String {
        match self.str_of(&e.value()) {
            Ok(s) => s,
            Err(_) => "<exception str() failed>".to_string(),
        }
    }

    /// The name an exception's class is printed with: qualified by its
    /// module unless that is `builtins`.
    pub fn exc_type_name(&self, class: &Gc<Class>) -> String {
        let module = class.dict.get_str("__module__");
        let qual = class.qualname.borrow().clone();
        match module {
            Some(Value::Str(m)) if &*m.s != "builtins" => format!("{}.{}", m.s, qual),
            _ => qual,
        }
    }

    /// Prints an exception with its traceback and chained exceptions to
    /// stderr, as CPython's default `sys.excepthook`.
    pub fn print_exception(&self, e: &PyErr) {
        let mut out = String::new();
        let mut seen = Vec::new();
        self.format_exception_chain(e, &mut out, &mut seen);
        self.write_stderr(&out);
    }

    fn format_exception_chain(&self, e: &PyErr, out: &mut String, seen: &mut Vec<usize>) {
        seen.push(Gc::id(&e.0));
        let (cause, context, suppress) =
            e.with_data(|d| (d.cause.clone(), d.context.clone(), d.suppress_context));
        if let Some(Value::Instance(c)) = &cause {
            if !seen.contains(&Gc::id(c)) {
                self.format_exception_chain(&PyErr(c.clone()), out, seen);
                out.push_str("\nThe above exception was the direct cause of the following exception:\n\n");
            }
        } else if let (Some(Value::Instance(c)), false) = (&context, suppress) {
            if !seen.contains(&Gc::id(c)) {
                self.format_exception_chain(&PyErr(c.clone()), out, seen);
                out.push_str("\nDuring handling of the above exception, another exception occurred:\n\n");
            }
        }
        self.format_exception(e, out);
    }

    /// One exception: its traceback, then `Type: message`.
    pub fn format_exception(&self, e: &PyErr, out: &mut String) {
        let tb = e.with_data(|d| d.traceback.clone());
        if !tb.is_empty() {
            out.push_str("Traceback (most recent call last):\n");
            format_tb(&tb, out);
        }
        out.push_str(&self.format_exception_only(e));
    }

    /// `Type: message\n`.
    pub fn format_exception_only(&self, e: &PyErr) -> String {
        let name = self.exc_type_name(e.class());
        if e.is(self, "SyntaxError") {
            if let Some(s) = self.format_syntax_error_detail(e) {
                return s;
            }
        }
        let msg = self.exc_str(e);
        if msg.is_empty() {
            format!("{name}\n")
        } else {
            format!("{name}: {msg}\n")
        }
    }

    fn format_syntax_error_detail(&self, e: &PyErr) -> Option<String> {
        let args = e.args();
        let Value::Tuple(t) = &args else { return None };
        if t.items.len() != 2 {
            return None;
        }
        let msg = self.str_of(&t.items[0]).ok()?;
        let Value::Tuple(info) = &t.items[1] else { return None };
        let get = |i: usize| info.items.get(i).cloned().unwrap_or(Value::None);
        let filename = self.str_of(&get(0)).ok()?;
        let lineno = match get(1) {
            Value::Int(i) => i,
            _ => 0,
        };
        let offset = match get(2) {
            Value::Int(i) => i,
            _ => 0,
        };
        let text = match get(3) {
            Value::Str(s) => Some(s.s.to_string()),
            _ => None,
        };
        let end_offset = match get(5) {
            Value::Int(i) => i,
            _ => offset + 1,
        };
        let mut s = format!("  File \"{filename}\", line {lineno}\n");
        if let Some(text) = text {
            let line = text.trim_end_matches('\n');
            let stripped = line.trim_start();
            let lead = line.chars().count() - stripped.chars().count();
            s.push_str(&format!("    {stripped}\n"));
            if offset >= 1 {
                let start = (offset as usize).saturating_sub(1).saturating_sub(lead);
                let width = ((end_offset - offset).max(1)) as usize;
                s.push_str(&format!("    {}{}\n", " ".repeat(start), "^".repeat(width)));
            }
        }
        s.push_str(&format!("{}: {msg}\n", self.exc_type_name(e.class())));
        Some(s)
    }

    /// A best-effort `repr`, for error messages.
    pub fn repr_or(&self, v: &Value) -> String {
        self.repr(v).unwrap_or_else(|_| format!("<{} object>", self.type_name(v)))
    }

    /// Reports an exception that cannot propagate (in `__del__`, a weakref
    /// callback, a gc callback), as CPython's `sys.unraisablehook`.
    pub fn report_unraisable(&self, e: &PyErr, context: &str) {
        let mut out = format!("Exception ignored in: {context}\n");
        self.format_exception(e, &mut out);
        self.write_stderr(&out);
    }
}

/// The traceback lines, most recent call last, with CPython's collapsing
/// of repeated lines.
pub fn format_tb(tb: &[TbEntry], out: &mut String) {
    let mut last: Option<(usize, u32, String)> = None;
    let mut count = 0;
    for entry in tb.iter().rev() {
        let code = &entry.code;
        let line = code.line_at(entry.pc as usize);
        let key = (Gc::id(&code.source), line, code.name.clone());
        if last.as_ref() == Some(&key) {
            count += 1;
        } else {
            if count > 3 {
                let n = count - 3;
                out.push_str(&format!(
                    "  [Previous line repeated {n} more time{}]\n",
                    if n > 1 { "s" } else { "" }
                ));
            }
            last = Some(key);
            count = 1;
        }
        if count > 3 {
            continue;
        }
        out.push_str(&format!("  File \"{}\", line {}, in {}\n", code.source.filename, line, code.name));
        // CPython reads the line from the file (linecache): `<string>` and
        // `<frozen ...>` sources show none.
        let pseudo = code.source.filename.starts_with('<') && code.source.filename.ends_with('>');
        if let Some(text) = code.source.line(line).filter(|_| !pseudo) {
            let stripped = text.trim();
            if !stripped.is_empty() {
                out.push_str(&format!("    {stripped}\n"));
                if let Some(carets) = carets(code, entry.pc as usize, text) {
                    out.push_str(&carets);
                }
            }
        }
    }
    if count > 3 {
        let n = count - 3;
        out.push_str(&format!("  [Previous line repeated {n} more time{}]\n", if n > 1 { "s" } else { "" }));
    }
}

/// The `^^^` / `~~^~~` line under a traceback source line, as 3.11's
/// fine-grained error locations (PEP 657).
fn carets(code: &Code, pc: usize, line_text: &str) -> Option<String> {
    let (start, end) = *code.positions.get(pc)?;
    let src = &code.source;
    let line = src.line_of(start);
    let end_line = src.line_of(end.saturating_sub(1).max(start));
    let line_start = src.line_starts[line as usize - 1] as usize;
    let stripped = line_text.trim_start();
    let lead = line_text.chars().count() - stripped.chars().count();
    let stripped_len = stripped.trim_end().chars().count();
    let start_col = src.col_of(start);
    let (end_col, segment) = if line == end_line {
        let end_col = src.col_of(end);
        (end_col, Some(&src.text[start as usize..end as usize]))
    } else {
        (lead + stripped_len, None)
    };
    let _ = line_start;
    let anchors = segment.and_then(anchors_of);
    let width = end_col.saturating_sub(start_col);
    let spans_line = start_col <= lead && end_col >= lead + stripped_len;
    if spans_line && anchors.is_none_or(|(l, r)| r <= l) {
        return None;
    }
    let mut s = String::from("    ");
    s.push_str(&" ".repeat(start_col.saturating_sub(lead)));
    match anchors {
        Some((l, r)) => {
            s.push_str(&"~".repeat(l));
            s.push_str(&"^".repeat(r - l));
            s.push_str(&"~".repeat(width.saturating_sub(r)));
        }
        None => s.push_str(&"^".repeat(width.max(1))),
    }
    s.push('\n');
    Some(s)
}

/// For a binary operation or subscript segment, the character range to
/// mark with `^` (CPython's `extract_anchors_from_line`).
fn anchors_of(segment: &str) -> Option<(usize, usize)> {
    use ruff_python_ast::Expr;
    use ruff_text_size::Ranged;
    let parsed = ruff_python_parser::parse_expression(segment).ok()?;
    let expr = parsed.expr();
    let chars: Vec<char> = segment.chars().collect();
    let to_char = |byte: usize| segment[..byte.min(segment.len())].chars().count();
    match expr {
        Expr::BinOp(b) => {
            let left_end = b.left.range().end().to_usize();
            let right_start = b.right.range().start().to_usize();
            let op_str = &segment[left_end..right_start];
            let op_offset = op_str.len() - op_str.trim_start().len();
            let mut left = to_char(left_end + op_offset);
            let mut right = left + 1;
            let rest: Vec<char> = op_str.trim_start().chars().collect();
            if rest.len() > 1 && !rest[1].is_whitespace() {
                right += 1;
            }
            while left < chars.len()
                && (chars[left].is_whitespace() || chars[left] == ')' || chars[left] == '#')
            {
                left += 1;
                right += 1;
            }
            Some((left, right))
        }
        Expr::Subscript(s) => {
            let mut left = to_char(s.value.range().end().to_usize());
            let mut right = to_char(s.slice.range().end().to_usize()) + 1;
            while left < chars.len() && chars[left] != '[' {
                left += 1;
            }
            while right < chars.len() && chars[right] != ']' {
                right += 1;
            }
            if right < chars.len() {
                right += 1;
            }
            Some((left, right.min(chars.len())))
        }
        _ => None,
    }
}
