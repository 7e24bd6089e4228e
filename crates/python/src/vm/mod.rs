//! The virtual machine: one evaluation loop over [`crate::bytecode`],
//! frames, calls, attribute access and the operators.
//!
//! The VM is one per thread and lives for the whole program (`&'static`),
//! so that code running from pygc's callbacks (`__del__`, weakref
//! callbacks, gc callbacks) can reach it.

pub mod args;
pub mod attr;
pub mod call;
pub mod eval;
pub mod exc;
pub mod frame;
pub mod ops;
pub mod types;

use std::cell::{Cell, RefCell};
use std::io::Write;

use pygc::Gc;

pub use args::Args;
pub use exc::PyErr;
pub use frame::Frame;
pub use types::Types;

use crate::object::{Class, Dict, Instance, PyStr, Value};

/// Result of anything that can raise.
pub type PyResult<T> = Result<T, PyErr>;

thread_local! {
    static VM: Cell<Option<&'static Vm>> = const { Cell::new(None) };
}

/// The interpreter of this thread, if one was created.
pub fn current() -> Option<&'static Vm> {
    // `try_with`: the tracer asks from inside the allocator, even while the
    // thread's locals are being destroyed.
    VM.try_with(|v| v.get()).ok().flatten()
}

/// Runs a class's `__del__` for an instance being finalized (pygc's
/// PEP 442 finalizer hook): `self` is the dying object itself, held while
/// `__del__` runs, so storing it somewhere resurrects it, as in CPython.
pub fn finalize_instance(inst: &Gc<Instance>) {
    let Some(vm) = current() else { return };
    if !inst.class.has(crate::object::class::flags::HAS_DEL) {
        return;
    }
    vm.run_del(inst);
}

/// The interpreter state.
pub struct Vm {
    /// Built-in types and exception classes.
    pub types: Types,
    /// The `builtins` module namespace.
    pub builtins: Gc<Dict>,
    /// `sys.modules`.
    pub modules: Gc<Dict>,
    /// Python frames live now (for the recursion limit).
    pub depth: Cell<usize>,
    /// `sys.getrecursionlimit()`.
    pub recursion_limit: Cell<usize>,
    /// Nested evaluation loops (native recursion), bounded separately.
    pub native_depth: Cell<usize>,
    /// The exceptions being handled, innermost last (`sys.exc_info()`).
    pub handled: RefCell<Vec<Option<PyErr>>>,
    /// `sys.argv`.
    pub argv: RefCell<Vec<String>>,
    /// Buffered standard output.
    pub stdout: RefCell<std::io::BufWriter<std::io::Stdout>>,
    /// Interned attribute names used by the VM itself.
    pub names: RefCell<std::collections::HashMap<&'static str, Gc<PyStr>>>,
    /// The main module's name, for tracebacks (`<module>`).
    pub main_module: RefCell<Option<Value>>,
    /// Set while the interpreter is shutting down.
    pub finalizing: Cell<bool>,
    /// The Python frames running now, outermost first, across nested
    /// evaluation loops: what tracemalloc's frame source reports.
    pub shadow: RefCell<Vec<frame::ShadowFrame>>,
    /// The instruction the innermost frame is running (the others' are in
    /// their [`frame::ShadowFrame`]).
    pub cur_pc: Cell<u32>,
    /// Set while a `@profile`d call runs: the loop then reports line events.
    pub line_hook: Cell<bool>,
    /// Frame stacks of finished evaluation loops, kept for the next ones
    /// (a generator step starts a loop: no allocation for its stack).
    #[allow(clippy::vec_box)]
    pub frame_stacks: RefCell<Vec<Vec<Box<Frame>>>>,
    /// The `@profile`d calls running now, innermost last.
    pub profiling: RefCell<Vec<crate::modules::memory_profiler::ProfCall>>,
    /// `gc.callbacks`.
    pub gc_callbacks: Gc<crate::object::List>,
    /// `gc.garbage`.
    pub gc_garbage: Gc<crate::object::List>,
}

impl Vm {
    /// Creates the interpreter of this thread.
    pub fn new(argv: Vec<String>) -> &'static Vm {
        if let Some(vm) = current() {
            return vm;
        }
        let types = Types::new();
        let builtins = Dict::new_object();
        let modules = Dict::new_object();
        let vm: &'static Vm = Box::leak(Box::new(Vm {
            types,
            builtins,
            modules,
            depth: Cell::new(0),
            recursion_limit: Cell::new(1000),
            native_depth: Cell::new(0),
            handled: RefCell::new(Vec::new()),
            argv: RefCell::new(argv),
            stdout: RefCell::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())),
            names: RefCell::new(std::collections::HashMap::new()),
            main_module: RefCell::new(None),
            finalizing: Cell::new(false),
            shadow: RefCell::new(Vec::with_capacity(64)),
            cur_pc: Cell::new(0),
            line_hook: Cell::new(false),
            profiling: RefCell::new(Vec::new()),
            frame_stacks: RefCell::new(Vec::new()),
            gc_callbacks: Gc::new(crate::object::List::default()),
            gc_garbage: Gc::new(crate::object::List::default()),
        }));
        VM.with(|v| v.set(Some(vm)));
        types::install_methods(vm);
        crate::builtins::install(vm);
        crate::modules::install(vm);
        crate::modules::gc::install_hooks(vm);
        crate::modules::tracemalloc::install_frame_source();
        vm
    }

    /// An interned name.
    pub fn name(&self, s: &'static str) -> Gc<PyStr> {
        if let Some(g) = self.names.borrow().get(s) {
            return g.clone();
        }
        let g = Gc::new(PyStr::new(s.to_string()));
        self.names.borrow_mut().insert(s, g.clone());
        g
    }

    /// Writes to standard output (buffered).
    pub fn write_stdout(&self, s: &str) {
        let _ = self.stdout.borrow_mut().write_all(s.as_bytes());
    }

    /// Flushes standard output.
    pub fn flush_stdout(&self) {
        let _ = self.stdout.borrow_mut().flush();
    }

    /// Writes to standard error (unbuffered, after flushing stdout so the
    /// two interleave as written).
    pub fn write_stderr(&self, s: &str) {
        self.flush_stdout();
        let _ = std::io::stderr().write_all(s.as_bytes());
    }

    /// The class of any value.
    #[inline]
    pub fn class_of<'v>(&'v self, v: &'v Value) -> &'v Gc<Class> {
        let t = &self.types;
        match v {
            Value::None | Value::Null => &t.none_type,
            Value::NotImplemented => &t.not_implemented_type,
            Value::Ellipsis => &t.ellipsis_type,
            Value::Bool(_) => &t.bool,
            Value::Int(_) | Value::Long(_) => &t.int,
            Value::Float(_) => &t.float,
            Value::Str(_) => &t.str,
            Value::Bytes(_) => &t.bytes,
            Value::Tuple(_) => &t.tuple,
            Value::List(_) => &t.list,
            Value::Dict(_) => &t.dict,
            Value::Set(_) => &t.set,
            Value::FrozenSet(_) => &t.frozenset,
            Value::Range(_) => &t.range,
            Value::Slice(_) => &t.slice,
            Value::Function(_) => &t.function,
            Value::Builtin(b) => {
                if b.bound.is_some() {
                    &t.builtin_method
                } else {
                    &t.builtin_function
                }
            }
            Value::Method(_) => &t.method,
            Value::Class(_) => &t.type_,
            Value::Instance(i) => &i.class,
            Value::Module(_) => &t.module,
            Value::Generator(_) => &t.generator,
            Value::Cell(_) => &t.cell,
            Value::Code(_) => &t.code,
            Value::Native(n) => types::native_class(self, n),
        }
    }

    /// `type(v).__name__`.
    pub fn type_name(&self, v: &Value) -> String {
        self.class_of(v).name()
    }

    /// Enters a native recursion level (nested eval loop, repr of nested
    /// containers...): a `RecursionError` past the limit.
    pub fn enter(&self) -> PyResult<DepthGuard<'_>> {
        let d = self.native_depth.get() + 1;
        if d > NATIVE_DEPTH_MAX || self.depth.get() + d / 4 > self.recursion_limit.get() + 50 {
            return Err(self.new_error(
                "RecursionError",
                "maximum recursion depth exceeded while calling a Python object",
            ));
        }
        self.native_depth.set(d);
        Ok(DepthGuard(self))
    }
}

/// Nested evaluation loops allowed on the native stack (the interpreter
/// thread has a large stack; see `main.rs`).
pub const NATIVE_DEPTH_MAX: usize = 20_000;

/// Leaves a native recursion level on drop.
pub struct DepthGuard<'a>(&'a Vm);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.native_depth.set(self.0.native_depth.get() - 1);
    }
}
