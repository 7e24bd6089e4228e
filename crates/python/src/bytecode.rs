//! The bytecode: a stack machine's instructions, one enum, operands inline.
//!
//! Stack effects are written beside each instruction as `[before] -> [after]`
//! (top of stack last).

/// Binary operators (also used in place: `x += y`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    MatMul,
    TrueDiv,
    FloorDiv,
    Mod,
    Pow,
    LShift,
    RShift,
    And,
    Or,
    Xor,
}

impl BinOp {
    /// The operator's symbol, for error messages.
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            MatMul => "@",
            TrueDiv => "/",
            FloorDiv => "//",
            Mod => "%",
            Pow => "** or pow()",
            LShift => "<<",
            RShift => ">>",
            And => "&",
            Or => "|",
            Xor => "^",
        }
    }

    /// `__add__` and `__radd__` (and `__iadd__`).
    pub fn dunders(self) -> (&'static str, &'static str, &'static str) {
        use BinOp::*;
        match self {
            Add => ("__add__", "__radd__", "__iadd__"),
            Sub => ("__sub__", "__rsub__", "__isub__"),
            Mul => ("__mul__", "__rmul__", "__imul__"),
            MatMul => ("__matmul__", "__rmatmul__", "__imatmul__"),
            TrueDiv => ("__truediv__", "__rtruediv__", "__itruediv__"),
            FloorDiv => ("__floordiv__", "__rfloordiv__", "__ifloordiv__"),
            Mod => ("__mod__", "__rmod__", "__imod__"),
            Pow => ("__pow__", "__rpow__", "__ipow__"),
            LShift => ("__lshift__", "__rlshift__", "__ilshift__"),
            RShift => ("__rshift__", "__rrshift__", "__irshift__"),
            And => ("__and__", "__rand__", "__iand__"),
            Or => ("__or__", "__ror__", "__ior__"),
            Xor => ("__xor__", "__rxor__", "__ixor__"),
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum UnOp {
    Neg,
    Pos,
    Not,
    Invert,
}

/// Rich comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CmpOp {
    Lt,
    Le,
    Eq,
    Ne,
    Gt,
    Ge,
}

impl CmpOp {
    /// The symbol, for error messages.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The dunder and its reflection.
    pub fn dunders(self) -> (&'static str, &'static str) {
        match self {
            CmpOp::Lt => ("__lt__", "__gt__"),
            CmpOp::Le => ("__le__", "__ge__"),
            CmpOp::Eq => ("__eq__", "__eq__"),
            CmpOp::Ne => ("__ne__", "__ne__"),
            CmpOp::Gt => ("__gt__", "__lt__"),
            CmpOp::Ge => ("__ge__", "__le__"),
        }
    }
}

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `[a] -> []`
    Pop,
    /// `[a] -> [a a]`
    Dup,
    /// `[a b] -> [a b a b]`
    DupTop2,
    /// `[a b] -> [b a]`
    Rot2,
    /// `[a b c] -> [c a b]`
    Rot3,
    /// `[a b c d] -> [d a b c]`
    Rot4,
    /// `[] -> [consts[i]]`
    LoadConst(u32),
    /// `[] -> [locals[i]]`
    LoadFast(u32),
    /// `[v] -> []`
    StoreFast(u32),
    /// Unbinds a local.
    DeleteFast(u32),
    /// `[] -> [cell i's contents]`
    LoadDeref(u32),
    /// `[v] -> []` into cell i.
    StoreDeref(u32),
    /// Empties cell i.
    DeleteDeref(u32),
    /// `[] -> [cell i]` (to build a closure).
    LoadClosure(u32),
    /// In a class body: the namespace, then cell i.
    LoadClassDeref(u32),
    /// `[] -> [v]`: locals namespace, globals, builtins.
    LoadName(u32),
    /// `[v] -> []` into the locals namespace.
    StoreName(u32),
    /// Removes from the locals namespace.
    DeleteName(u32),
    /// `[] -> [v]`: globals, builtins.
    LoadGlobal(u32),
    /// `[v] -> []` into globals.
    StoreGlobal(u32),
    /// Removes from globals.
    DeleteGlobal(u32),
    /// `[o] -> [o.name]`
    LoadAttr(u32),
    /// `[v o] -> []`: `o.name = v`
    StoreAttr(u32),
    /// `[o] -> []`
    DeleteAttr(u32),
    /// `[o] -> [f o]` (an unbound method and its self) or `[attr NULL]`.
    LoadMethod(u32),
    /// `[f self/NULL args...] -> [result]`
    CallMethod(u32),
    /// `[o k] -> [o[k]]`
    Subscr,
    /// `[v o k] -> []`
    StoreSubscr,
    /// `[o k] -> []`
    DeleteSubscr,
    /// `[a b] -> [a op b]`
    Binary(BinOp),
    /// `[a b] -> [a op= b]`
    Inplace(BinOp),
    /// `[a] -> [op a]`
    Unary(UnOp),
    /// `[a b] -> [a cmp b]`
    Compare(CmpOp),
    /// `[a b] -> [a is b]` (`is not` when true)
    Is(bool),
    /// `[a b] -> [a in b]` (`not in` when true)
    In(bool),
    /// Jumps.
    Jump(u32),
    /// `[c] -> []`
    PopJumpIfFalse(u32),
    /// `[c] -> []`
    PopJumpIfTrue(u32),
    /// `[c] -> [c]` and jump if false, else `[]`.
    JumpIfFalseOrPop(u32),
    /// `[c] -> [c]` and jump if true, else `[]`.
    JumpIfTrueOrPop(u32),
    /// `[o] -> [iter(o)]`
    GetIter,
    /// `[it] -> [it next]`, or `[]` and jump when exhausted.
    ForIter(u32),
    /// `[items...] -> [tuple]`
    BuildTuple(u32),
    /// `[items...] -> [list]`
    BuildList(u32),
    /// `[items...] -> [set]`
    BuildSet(u32),
    /// `[k v ...] -> [dict]`
    BuildMap(u32),
    /// `[a b (c)] -> [slice]`
    BuildSlice(u32),
    /// `[strs...] -> [joined]`
    BuildString(u32),
    /// `[list ... v] -> [list ...]`, the list `i` below the value.
    ListAppend(u32),
    /// As `ListAppend`, for sets.
    SetAdd(u32),
    /// `[dict ... k v] -> [dict ...]`
    MapAdd(u32),
    /// `[list ... it] -> [list ...]`
    ListExtend(u32),
    /// `[set ... it] -> [set ...]`
    SetUpdate(u32),
    /// `[dict ... m] -> [dict ...]` (`{**m}`)
    DictUpdate(u32),
    /// `[dict ... m] -> [dict ...]`, duplicate keys are an error (`f(**m)`).
    DictMerge(u32),
    /// `[list] -> [tuple]`
    ListToTuple,
    /// `[seq] -> [items... reversed]`
    UnpackSequence(u32),
    /// `[seq] -> [after... list before...]`, `a, *b, c = seq`.
    UnpackEx(u16, u16),
    /// `[v (spec)] -> [str]`: conversion (0 none, 1 str, 2 repr, 3 ascii),
    /// and whether a format spec is on the stack.
    FormatValue(u8, bool),
    /// `[f args...] -> [result]`
    Call(u32),
    /// `[f args... kwvalues... kwnames] -> [result]`
    CallKw(u32),
    /// `[f args-tuple (kwargs-dict)] -> [result]`
    CallEx(bool),
    /// `[defaults? kwdefaults? closure? code qualname] -> [function]`;
    /// bit 1 defaults, 2 kwdefaults, 8 closure.
    MakeFunction(u32),
    /// `[v] -> ` returns v.
    Return,
    /// `[v] -> [sent]`
    Yield,
    /// `[iter v] -> [iter]` while the sub-iterator yields; `[result]` at the end.
    YieldFrom,
    /// `[o] -> [iter(o)]`, generators kept as they are.
    GetYieldFromIter,
    /// `raise` (0), `raise e` (1), `raise e from c` (2).
    Raise(u32),
    /// `[exc] -> ` raises exc again, keeping its traceback.
    Reraise,
    /// Pushes an exception handler at the given target.
    SetupFinally(u32),
    /// Pops the innermost handler block.
    PopBlock,
    /// Leaves an except handler: the handled exception is no longer
    /// current.
    PopExcept,
    /// `[exc type] -> [exc bool]`
    CheckExcMatch,
    /// `[ctx] -> [exit enter()]` and a handler block at the target.
    SetupWith(u32),
    /// `[exit exc] -> [exit exc exit(type, exc, tb)]`
    WithExceptStart,
    /// `[level fromlist] -> [module]`
    ImportName(u32),
    /// `[module] -> [module attr]`
    ImportFrom(u32),
    /// `[module] -> []`: `from m import *`
    ImportStar,
    /// `[] -> [__build_class__]`
    LoadBuildClass,
    /// `[] -> [AssertionError]`
    LoadAssertionError,
    /// `[] -> [locals()]` — class bodies return their namespace.
    LoadLocals,
    /// Nothing.
    Nop,
}
