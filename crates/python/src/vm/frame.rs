//! Frames: the locals, value stack and handler blocks of one running (or
//! suspended) code object.

use pygc::{Gc, Trace};

use crate::object::{Code, Dict, Function, Value};

/// An exception handler pushed by `SetupFinally` / `SetupWith`, or the
/// marker of an except handler being run.
#[derive(Clone, Copy, Debug, Trace)]
pub struct Block {
    /// Where to jump with the exception on the stack.
    pub handler: u32,
    /// Stack depth to restore.
    pub level: u32,
    /// An except handler is running (leaving it restores `sys.exc_info`).
    pub is_handler: bool,
}

/// A running frame as tracemalloc's frame source sees it: its code and,
/// unless it is the innermost one, the instruction it is calling from.
pub struct ShadowFrame {
    /// The code.
    pub code: Gc<Code>,
    /// The call instruction (for the innermost frame see `Vm::cur_pc`).
    pub pc: u32,
}

/// A frame.
#[derive(Trace)]
pub struct Frame {
    /// The code.
    pub code: Gc<Code>,
    /// Fast locals, then cells, then free variables.
    pub locals: Vec<Option<Value>>,
    /// The value stack.
    pub stack: Vec<Value>,
    /// Next instruction.
    pub pc: usize,
    /// Module namespace.
    pub globals: Gc<Dict>,
    /// The locals namespace of module and class bodies.
    pub namespace: Option<Gc<Dict>>,
    /// Handler blocks.
    pub blocks: Vec<Block>,
    /// The function being run (for its closure and `__qualname__`).
    pub func: Option<Gc<Function>>,
    /// A constructor call: the instance `__init__` was called for, which the
    /// call returns.
    pub init_self: Option<Value>,
}

impl Frame {
    /// A frame for `code` with empty locals.
    pub fn new(code: Gc<Code>, globals: Gc<Dict>, namespace: Option<Gc<Dict>>) -> Frame {
        let n = code.nlocals_total();
        Frame {
            code,
            locals: vec![None; n],
            stack: Vec::with_capacity(8),
            pc: 0,
            globals,
            namespace,
            blocks: Vec::new(),
            func: None,
            init_self: None,
        }
    }

    /// The line being run.
    pub fn line(&self) -> u32 {
        self.code.line_at(self.pc.saturating_sub(1))
    }
}
