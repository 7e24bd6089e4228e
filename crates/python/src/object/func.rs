//! Code objects, functions, built-in functions, bound methods, cells and
//! generators.

use pygc::{Gc, GcCell, Trace};

use super::{python_type_name, Dict, PyStr, Tuple, Value};
use crate::bytecode::Op;
use crate::vm::{Args, Frame, PyResult, Vm};

/// The source a code object came from (for tracebacks).
#[derive(Trace)]
pub struct Source {
    /// The file name as given (`x.py`, `<string>`).
    pub filename: String,
    /// The text.
    pub text: String,
    /// Byte offset of each line start.
    pub line_starts: Vec<u32>,
    /// The file name for tracemalloc's frames, which must be `'static`: one
    /// copy per source for the life of the process (a program has a few).
    #[pygc(skip)]
    pub static_name: &'static str,
}

impl Source {
    /// Indexes the line starts of `text`.
    pub fn new(filename: String, text: String) -> Source {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i as u32 + 1);
            }
        }
        let static_name: &'static str = Box::leak(filename.clone().into_boxed_str());
        Source { filename, text, line_starts, static_name }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: u32) -> u32 {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// 0-based character column of a byte offset within its line.
    pub fn col_of(&self, offset: u32) -> usize {
        let line = self.line_of(offset) as usize;
        let start = self.line_starts[line - 1] as usize;
        self.text.get(start..offset as usize).map_or(0, |s| s.chars().count())
    }

    /// The text of a 1-based line, without its newline.
    pub fn line(&self, line: u32) -> Option<&str> {
        let i = line.checked_sub(1)? as usize;
        let start = *self.line_starts.get(i)? as usize;
        let end = self.line_starts.get(i + 1).map_or(self.text.len(), |&e| e as usize);
        Some(self.text[start..end].trim_end_matches(['\n', '\r']))
    }
}

/// Code flags.
pub mod code_flags {
    /// Takes `*args`.
    pub const VARARGS: u32 = 4;
    /// Takes `**kwargs`.
    pub const VARKEYWORDS: u32 = 8;
    /// A generator function.
    pub const GENERATOR: u32 = 32;
    /// Module or class body: names live in a namespace dict.
    pub const NAMESPACE: u32 = 1 << 16;
    /// `consts[0]` is the docstring.
    pub const HAS_DOC: u32 = 1 << 17;
}

/// A compiled function body, module or class body. Untracked, as CPython's
/// code objects are: its constants are immutable (strs, numbers, tuples of
/// constants), so no cycle can pass through them.
#[derive(Trace)]
#[pygc(dynamic_type_name = Code::python_type_name)]
pub struct Code {
    /// `co_name`.
    pub name: String,
    /// `co_qualname`.
    pub qualname: String,
    /// Instructions.
    #[pygc(skip)]
    pub ops: Vec<Op>,
    /// Source byte range of each instruction.
    pub positions: Vec<(u32, u32)>,
    /// Constants (not traced: see the type's docs).
    #[pygc(skip)]
    pub consts: Vec<Value>,
    /// Names (attributes, globals).
    pub names: Vec<Gc<PyStr>>,
    /// Local variable names: parameters first.
    pub varnames: Vec<Gc<PyStr>>,
    /// Names of cells created by this code (locals captured by inner
    /// functions).
    pub cellvars: Vec<Gc<PyStr>>,
    /// Names of cells received from the enclosing function.
    pub freevars: Vec<Gc<PyStr>>,
    /// For each cellvar that is also a parameter, its local index.
    pub cell_params: Vec<(u32, u32)>,
    /// Positional parameters (including positional-only).
    pub argcount: u32,
    /// Positional-only parameters.
    pub posonlyargcount: u32,
    /// Keyword-only parameters.
    pub kwonlyargcount: u32,
    /// [`code_flags`].
    pub flags: u32,
    /// First line (of the first decorator, for a decorated function).
    pub firstlineno: u32,
    /// Last line of the body (for memory_profiler's table).
    pub lastlineno: u32,
    /// The source.
    pub source: Gc<Source>,
}

impl Code {
    /// Line of instruction `pc`.
    pub fn line_at(&self, pc: usize) -> u32 {
        let off = self.positions.get(pc).map_or(0, |p| p.0);
        self.source.line_of(off)
    }

    /// Number of local slots (variables, then cells, then free variables).
    pub fn nlocals_total(&self) -> usize {
        self.varnames.len() + self.cellvars.len() + self.freevars.len()
    }

    /// Whether this is a generator function.
    pub fn is_generator(&self) -> bool {
        self.flags & code_flags::GENERATOR != 0
    }
}

python_type_name!(Code, "code");
python_type_name!(Function, "function");
python_type_name!(Builtin, "builtin_function_or_method");
python_type_name!(BoundMethod, "method");
python_type_name!(CellObj, "cell");
python_type_name!(Generator, "generator");

/// A Python function.
#[derive(Trace)]
#[pygc(dynamic_type_name = Function::python_type_name)]
pub struct Function {
    /// The code.
    pub code: Gc<Code>,
    /// The module namespace it was defined in.
    pub globals: Gc<Dict>,
    /// `__name__`.
    pub name: GcCell<Gc<PyStr>>,
    /// `__qualname__`.
    pub qualname: GcCell<Gc<PyStr>>,
    /// Positional defaults.
    pub defaults: Option<Gc<Tuple>>,
    /// Keyword-only defaults.
    pub kwdefaults: Option<Gc<Dict>>,
    /// Closure cells, in `code.freevars` order.
    pub closure: Vec<Gc<CellObj>>,
    /// `__dict__`, created on first attribute assignment.
    pub dict: GcCell<Option<Gc<Dict>>>,
    /// `__module__`.
    pub module: Value,
    /// `__doc__`.
    pub doc: Value,
}

/// Signature of built-in functions: positional arguments first, then the
/// values of the keyword arguments named by `args.kwnames`.
pub type NativeFn = fn(&Vm, Args<'_>) -> PyResult<Value>;

/// A built-in function or method.
#[derive(Trace)]
#[pygc(dynamic_type_name = Builtin::python_type_name)]
pub struct Builtin {
    /// `__name__`.
    pub name: &'static str,
    /// The implementation.
    #[pygc(skip)]
    pub f: NativeFn,
    /// The bound `self`, for methods of built-in objects.
    pub bound: Option<Value>,
    /// The module or class it belongs to (for repr).
    pub owner: &'static str,
}

/// A method bound to an instance.
#[derive(Trace)]
#[pygc(dynamic_type_name = BoundMethod::python_type_name)]
pub struct BoundMethod {
    /// The function.
    pub func: Value,
    /// The instance.
    pub obj: Value,
}

/// A closure cell.
#[derive(Trace, Default)]
#[pygc(dynamic_type_name = CellObj::python_type_name)]
pub struct CellObj {
    /// The contents (`None` while unbound).
    pub value: GcCell<Option<Value>>,
}

/// Generator states.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Trace)]
pub enum GenState {
    /// Created, not started.
    Created,
    /// Suspended at a `yield`.
    Suspended,
    /// Running now.
    Running,
    /// Finished.
    Closed,
}

/// A generator: its suspended frame.
#[derive(Trace)]
#[pygc(dynamic_type_name = Generator::python_type_name)]
pub struct Generator {
    /// The frame; taken out while running.
    pub frame: GcCell<Option<Box<Frame>>>,
    /// State.
    pub state: GcCell<GenState>,
    /// `__name__`.
    pub name: Gc<PyStr>,
    /// `__qualname__`.
    pub qualname: Gc<PyStr>,
    /// The code (for `gi_code` and reprs).
    pub code: Gc<Code>,
}
