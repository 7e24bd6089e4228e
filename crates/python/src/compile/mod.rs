//! The compiler: ruff's AST to [`Code`] objects for the stack machine.
//!
//! One `Unit` per function, class body or module, as CPython's
//! `compile.c`; scope decisions come from [`symtable`]. Constructs outside
//! the supported language are an [`CompileError::Unsupported`] naming the
//! construct and its line.

pub mod symtable;

use std::collections::HashMap;

use pygc::Gc;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::bytecode::{BinOp, CmpOp, Op, UnOp};
use crate::object::func::{code_flags, Source};
use crate::object::{Code, PyStr, Value};
use symtable::{Binding, ScopeKind, SymbolTable};

/// Why a module could not be compiled.
#[derive(Debug)]
pub enum CompileError {
    /// A `SyntaxError` (from the parser or from scope rules).
    Syntax {
        /// CPython's message.
        msg: String,
        /// Byte range in the source.
        range: TextRange,
    },
    /// Valid Python this interpreter does not support yet.
    Unsupported {
        /// The construct, e.g. "async def".
        what: String,
        /// Byte range in the source.
        range: TextRange,
    },
}

type CResult<T = ()> = Result<T, CompileError>;

fn unsupported<T>(what: &str, range: TextRange) -> CResult<T> {
    Err(CompileError::Unsupported { what: what.to_string(), range })
}

fn syntax<T>(msg: &str, range: TextRange) -> CResult<T> {
    Err(CompileError::Syntax { msg: msg.to_string(), range })
}

enum FBlock<'a> {
    Loop { start: usize, breaks: Vec<usize>, is_for: bool },
    TryExcept,
    Finally(&'a [Stmt]),
    Handler(Option<String>),
    With,
}

struct Unit<'a> {
    scope: usize,
    name: String,
    qualname: String,
    ops: Vec<Op>,
    positions: Vec<(u32, u32)>,
    consts: Vec<Value>,
    const_keys: HashMap<String, u32>,
    names: Vec<Gc<PyStr>>,
    name_index: HashMap<String, u32>,
    varnames: Vec<String>,
    cellvars: Vec<String>,
    freevars: Vec<String>,
    fblocks: Vec<FBlock<'a>>,
    pos: (u32, u32),
    flags: u32,
    argcount: u32,
    posonly: u32,
    kwonly: u32,
    firstlineno: u32,
    lastlineno: u32,
}

/// Compiles one module.
pub struct Compiler<'a> {
    src: Gc<Source>,
    table: SymbolTable,
    interned: HashMap<String, Gc<PyStr>>,
    units: Vec<Unit<'a>>,
}

/// Compiles a parsed module to its code object.
pub fn compile_module(module: &ast::ModModule, src: Gc<Source>) -> CResult<Gc<Code>> {
    let table = symtable::analyze(module).map_err(|e| CompileError::Syntax { msg: e.msg, range: e.range })?;
    let mut c = Compiler { src, table, interned: HashMap::new(), units: Vec::new() };
    c.push_unit(0, "<module>".into(), "<module>".into(), 1);
    c.unit().flags |= code_flags::NAMESPACE;
    c.stmts(&module.body)?;
    c.load_const(Value::None);
    c.emit(Op::Return);
    Ok(c.pop_unit())
}

impl<'a> Compiler<'a> {
    fn unit(&mut self) -> &mut Unit<'a> {
        self.units.last_mut().expect("a unit is open")
    }

    fn intern(&mut self, s: &str) -> Gc<PyStr> {
        if let Some(g) = self.interned.get(s) {
            return g.clone();
        }
        let g = Gc::new(PyStr::new(s.to_string()));
        self.interned.insert(s.to_string(), g.clone());
        g
    }

    fn line_of(&self, r: TextRange) -> u32 {
        self.src.line_of(r.start().to_u32())
    }

    fn push_unit(&mut self, scope: usize, name: String, qualname: String, firstlineno: u32) {
        let s = &self.table.scopes[scope];
        let varnames = s.varnames.clone();
        let cellvars = s.cellvars.clone();
        let freevars = s.freevars.clone();
        let generator = s.generator;
        self.units.push(Unit {
            scope,
            name,
            qualname,
            ops: Vec::new(),
            positions: Vec::new(),
            consts: Vec::new(),
            const_keys: HashMap::new(),
            names: Vec::new(),
            name_index: HashMap::new(),
            varnames,
            cellvars,
            freevars,
            fblocks: Vec::new(),
            pos: (0, 0),
            flags: if generator { code_flags::GENERATOR } else { 0 },
            argcount: 0,
            posonly: 0,
            kwonly: 0,
            firstlineno,
            lastlineno: firstlineno,
        });
    }

    fn pop_unit(&mut self) -> Gc<Code> {
        let u = self.units.pop().expect("a unit is open");
        let names: Vec<Gc<PyStr>> = u.varnames.iter().map(|n| self.intern(n)).collect();
        let cellvars: Vec<Gc<PyStr>> = u.cellvars.iter().map(|n| self.intern(n)).collect();
        let freevars: Vec<Gc<PyStr>> = u.freevars.iter().map(|n| self.intern(n)).collect();
        let nparams = (u.argcount + u.kwonly) as usize
            + usize::from(u.flags & code_flags::VARARGS != 0)
            + usize::from(u.flags & code_flags::VARKEYWORDS != 0);
        let cell_params = u
            .cellvars
            .iter()
            .enumerate()
            .filter_map(|(ci, n)| {
                u.varnames
                    .iter()
                    .position(|v| v == n)
                    .filter(|&vi| vi < nparams)
                    .map(|vi| (vi as u32, ci as u32))
            })
            .collect();
        Gc::new(Code {
            name: u.name,
            qualname: u.qualname,
            ops: u.ops,
            positions: u.positions,
            consts: u.consts,
            names: u.names,
            varnames: names,
            cellvars,
            freevars,
            cell_params,
            argcount: u.argcount,
            posonlyargcount: u.posonly,
            kwonlyargcount: u.kwonly,
            flags: u.flags,
            firstlineno: u.firstlineno,
            lastlineno: u.lastlineno,
            source: self.src.clone(),
        })
    }

    fn set_pos(&mut self, r: TextRange) -> (u32, u32) {
        let old = self.unit().pos;
        self.unit().pos = (r.start().to_u32(), r.end().to_u32());
        old
    }

    fn emit(&mut self, op: Op) -> usize {
        let u = self.unit();
        u.ops.push(op);
        u.positions.push(u.pos);
        u.ops.len() - 1
    }

    fn here(&mut self) -> usize {
        self.unit().ops.len()
    }

    /// Points the jump at `at` to the current position.
    fn patch(&mut self, at: usize) {
        let target = self.here() as u32;
        self.patch_to(at, target);
    }

    fn patch_to(&mut self, at: usize, target: u32) {
        let op = &mut self.unit().ops[at];
        *op = match *op {
            Op::Jump(_) => Op::Jump(target),
            Op::PopJumpIfFalse(_) => Op::PopJumpIfFalse(target),
            Op::PopJumpIfTrue(_) => Op::PopJumpIfTrue(target),
            Op::JumpIfFalseOrPop(_) => Op::JumpIfFalseOrPop(target),
            Op::JumpIfTrueOrPop(_) => Op::JumpIfTrueOrPop(target),
            Op::ForIter(_) => Op::ForIter(target),
            Op::SetupFinally(_) => Op::SetupFinally(target),
            Op::SetupWith(_) => Op::SetupWith(target),
            other => other,
        };
    }

    fn add_const(&mut self, v: Value) -> u32 {
        let key = match &v {
            Value::None => Some("N".to_string()),
            Value::Bool(b) => Some(format!("B{b}")),
            Value::Int(i) => Some(format!("I{i}")),
            Value::Float(f) => Some(format!("F{}", f.to_bits())),
            Value::Str(s) => Some(format!("S{}", s.s)),
            Value::Ellipsis => Some("E".to_string()),
            _ => None,
        };
        if let Some(k) = &key {
            if let Some(&i) = self.unit().const_keys.get(k) {
                return i;
            }
        }
        let u = self.unit();
        u.consts.push(v);
        let i = (u.consts.len() - 1) as u32;
        if let Some(k) = key {
            u.const_keys.insert(k, i);
        }
        i
    }

    fn load_const(&mut self, v: Value) {
        let i = self.add_const(v);
        self.emit(Op::LoadConst(i));
    }

    fn load_str(&mut self, s: &str) {
        let g = self.intern(s);
        self.load_const(Value::Str(g));
    }

    fn name_idx(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.unit().name_index.get(name) {
            return i;
        }
        let g = self.intern(name);
        let u = self.unit();
        u.names.push(g);
        let i = (u.names.len() - 1) as u32;
        u.name_index.insert(name.to_string(), i);
        i
    }

    fn binding(&mut self, name: &str) -> Binding {
        let scope = self.unit().scope;
        self.table.scopes[scope].lookup(name)
    }

    fn scope_kind(&mut self) -> ScopeKind {
        let scope = self.unit().scope;
        self.table.scopes[scope].kind
    }

    fn local_idx(&mut self, name: &str) -> u32 {
        self.unit().varnames.iter().position(|n| n == name).expect("local in varnames") as u32
    }

    fn deref_idx(&mut self, name: &str) -> u32 {
        let u = self.unit();
        let nv = u.varnames.len();
        if let Some(i) = u.cellvars.iter().position(|n| n == name) {
            return (nv + i) as u32;
        }
        let nc = u.cellvars.len();
        (nv + nc + u.freevars.iter().position(|n| n == name).expect("free variable known")) as u32
    }

    fn load_name(&mut self, name: &str) {
        match self.binding(name) {
            Binding::Local => {
                let i = self.local_idx(name);
                self.emit(Op::LoadFast(i));
            }
            Binding::Cell | Binding::Free => {
                let i = self.deref_idx(name);
                if self.scope_kind() == ScopeKind::Class {
                    self.emit(Op::LoadClassDeref(i));
                } else {
                    self.emit(Op::LoadDeref(i));
                }
            }
            Binding::GlobalExplicit | Binding::GlobalImplicit => {
                let i = self.name_idx(name);
                if self.scope_kind() == ScopeKind::Function
                    || matches!(self.binding(name), Binding::GlobalExplicit)
                {
                    self.emit(Op::LoadGlobal(i));
                } else {
                    self.emit(Op::LoadName(i));
                }
            }
            Binding::Name => {
                let i = self.name_idx(name);
                self.emit(Op::LoadName(i));
            }
        }
    }

    fn store_name(&mut self, name: &str) {
        match self.binding(name) {
            Binding::Local => {
                let i = self.local_idx(name);
                self.emit(Op::StoreFast(i));
            }
            Binding::Cell | Binding::Free => {
                let i = self.deref_idx(name);
                self.emit(Op::StoreDeref(i));
            }
            Binding::GlobalExplicit | Binding::GlobalImplicit => {
                let i = self.name_idx(name);
                self.emit(Op::StoreGlobal(i));
            }
            Binding::Name => {
                let i = self.name_idx(name);
                self.emit(Op::StoreName(i));
            }
        }
    }

    fn delete_name(&mut self, name: &str) {
        match self.binding(name) {
            Binding::Local => {
                let i = self.local_idx(name);
                self.emit(Op::DeleteFast(i));
            }
            Binding::Cell | Binding::Free => {
                let i = self.deref_idx(name);
                self.emit(Op::DeleteDeref(i));
            }
            Binding::GlobalExplicit | Binding::GlobalImplicit => {
                let i = self.name_idx(name);
                self.emit(Op::DeleteGlobal(i));
            }
            Binding::Name => {
                let i = self.name_idx(name);
                self.emit(Op::DeleteName(i));
            }
        }
    }

    // ----- statements -----

    fn stmts(&mut self, body: &'a [Stmt]) -> CResult {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &'a Stmt) -> CResult {
        self.set_pos(s.range());
        match s {
            Stmt::Expr(e) => {
                self.expr(&e.value)?;
                self.emit(Op::Pop);
            }
            Stmt::Assign(a) => {
                self.expr(&a.value)?;
                let n = a.targets.len();
                for (i, t) in a.targets.iter().enumerate() {
                    if i + 1 < n {
                        self.emit(Op::Dup);
                    }
                    self.store_target(t)?;
                }
            }
            Stmt::AugAssign(a) => self.aug_assign(a)?,
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.expr(v)?;
                    self.store_target(&a.target)?;
                } else if !matches!(&*a.target, Expr::Name(_)) {
                    // `x.y: int` evaluates the target's object.
                    if let Expr::Attribute(at) = &*a.target {
                        self.expr(&at.value)?;
                        self.emit(Op::Pop);
                    }
                }
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.delete_target(t)?;
                }
            }
            Stmt::Pass(_) => {
                self.emit(Op::Nop);
            }
            Stmt::If(i) => self.if_stmt(i)?,
            Stmt::While(w) => self.while_stmt(w)?,
            Stmt::For(f) => {
                if f.is_async {
                    return unsupported("async for", f.range);
                }
                self.for_stmt(f)?
            }
            Stmt::Break(b) => self.break_continue(true, b.range)?,
            Stmt::Continue(c) => self.break_continue(false, c.range)?,
            Stmt::FunctionDef(f) => self.function_def(f)?,
            Stmt::ClassDef(c) => self.class_def(c)?,
            Stmt::Return(r) => {
                if self.scope_kind() != ScopeKind::Function {
                    return syntax("'return' outside function", r.range);
                }
                match &r.value {
                    Some(v) => self.expr(v)?,
                    None => self.load_const(Value::None),
                }
                self.unwind_fblocks(true)?;
                self.set_pos(r.range);
                self.emit(Op::Return);
            }
            Stmt::Raise(r) => {
                let mut n = 0;
                if let Some(e) = &r.exc {
                    self.expr(e)?;
                    n = 1;
                    if let Some(c) = &r.cause {
                        self.expr(c)?;
                        n = 2;
                    }
                }
                self.set_pos(r.range);
                self.emit(Op::Raise(n));
            }
            Stmt::Try(t) => {
                if t.is_star {
                    return unsupported("try/except*", t.range);
                }
                if t.finalbody.is_empty() {
                    self.try_except(&t.body, &t.handlers, &t.orelse)?;
                } else {
                    self.try_finally(t)?;
                }
            }
            Stmt::Assert(a) => {
                self.expr(&a.test)?;
                let j = self.emit(Op::PopJumpIfTrue(0));
                self.set_pos(a.range);
                self.emit(Op::LoadAssertionError);
                if let Some(m) = &a.msg {
                    self.expr(m)?;
                    self.set_pos(a.range);
                    self.emit(Op::Call(1));
                }
                self.emit(Op::Raise(1));
                self.patch(j);
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    self.load_const(Value::Int(0));
                    self.load_const(Value::None);
                    let idx = self.name_idx(&a.name.id);
                    self.emit(Op::ImportName(idx));
                    match &a.asname {
                        Some(asn) => {
                            // `import a.b as c` binds the submodule.
                            for part in a.name.id.split('.').skip(1) {
                                let pi = self.name_idx(part);
                                self.emit(Op::ImportFrom(pi));
                                self.emit(Op::Rot2);
                                self.emit(Op::Pop);
                            }
                            self.store_name(&asn.id);
                        }
                        None => {
                            let top = a.name.id.split('.').next().unwrap_or("").to_string();
                            self.store_name(&top);
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                if i.level > 0 {
                    return unsupported("relative import", i.range);
                }
                let module = i.module.as_ref().map(|m| m.id.to_string()).unwrap_or_default();
                self.load_const(Value::Int(0));
                let names: Vec<Value> = i.names.iter().map(|a| Value::Str(self.intern(&a.name.id))).collect();
                self.load_const(Value::tuple(names));
                let idx = self.name_idx(&module);
                self.emit(Op::ImportName(idx));
                if i.names.len() == 1 && &*i.names[0].name.id == "*" {
                    if self.scope_kind() == ScopeKind::Function {
                        return syntax("import * only allowed at module level", i.range);
                    }
                    self.emit(Op::ImportStar);
                } else {
                    for a in &i.names {
                        let ni = self.name_idx(&a.name.id);
                        self.emit(Op::ImportFrom(ni));
                        let bind = a.asname.as_ref().unwrap_or(&a.name);
                        self.store_name(&bind.id);
                    }
                    self.emit(Op::Pop);
                }
            }
            Stmt::Global(_) | Stmt::Nonlocal(_) => {
                self.emit(Op::Nop);
            }
            Stmt::With(w) => {
                if w.is_async {
                    return unsupported("async with", w.range);
                }
                self.with_stmt(w, 0)?;
            }
            Stmt::Match(m) => return unsupported("match statement", m.range),
            Stmt::TypeAlias(t) => return unsupported("type alias statement", t.range),
            Stmt::IpyEscapeCommand(c) => return syntax("invalid syntax", c.range),
        }
        Ok(())
    }

    fn aug_assign(&mut self, a: &'a ast::StmtAugAssign) -> CResult {
        let op = binop(a.op);
        match &*a.target {
            Expr::Name(n) => {
                self.load_name(&n.id);
                self.expr(&a.value)?;
                self.set_pos(a.range);
                self.emit(Op::Inplace(op));
                self.store_name(&n.id);
            }
            Expr::Attribute(at) => {
                self.expr(&at.value)?;
                self.emit(Op::Dup);
                let i = self.name_idx(&at.attr.id);
                self.set_pos(at.range);
                self.emit(Op::LoadAttr(i));
                self.expr(&a.value)?;
                self.set_pos(a.range);
                self.emit(Op::Inplace(op));
                self.emit(Op::Rot2);
                self.set_pos(at.range);
                self.emit(Op::StoreAttr(i));
            }
            Expr::Subscript(sub) => {
                self.expr(&sub.value)?;
                self.expr(&sub.slice)?;
                self.emit(Op::DupTop2);
                self.set_pos(sub.range);
                self.emit(Op::Subscr);
                self.expr(&a.value)?;
                self.set_pos(a.range);
                self.emit(Op::Inplace(op));
                // [o k v] -> [v o k]
                self.emit(Op::Rot3);
                self.set_pos(sub.range);
                self.emit(Op::StoreSubscr);
            }
            other => {
                return syntax(
                    "'expression' is an illegal expression for augmented assignment",
                    other.range(),
                )
            }
        }
        Ok(())
    }

    fn store_target(&mut self, t: &'a Expr) -> CResult {
        match t {
            Expr::Name(n) => {
                self.store_name(&n.id);
            }
            Expr::Attribute(a) => {
                self.expr(&a.value)?;
                let i = self.name_idx(&a.attr.id);
                self.set_pos(a.range);
                self.emit(Op::StoreAttr(i));
            }
            Expr::Subscript(s) => {
                self.expr(&s.value)?;
                self.expr(&s.slice)?;
                self.set_pos(s.range);
                self.emit(Op::StoreSubscr);
            }
            Expr::Tuple(ast::ExprTuple { elts, range, .. })
            | Expr::List(ast::ExprList { elts, range, .. }) => {
                self.set_pos(*range);
                let star = elts.iter().position(|e| matches!(e, Expr::Starred(_)));
                match star {
                    None => {
                        self.emit(Op::UnpackSequence(elts.len() as u32));
                    }
                    Some(i) => {
                        if elts.iter().filter(|e| matches!(e, Expr::Starred(_))).count() > 1 {
                            return syntax("multiple starred expressions in assignment", *range);
                        }
                        self.emit(Op::UnpackEx(i as u16, (elts.len() - i - 1) as u16));
                    }
                }
                for e in elts {
                    match e {
                        Expr::Starred(s) => self.store_target(&s.value)?,
                        e => self.store_target(e)?,
                    }
                }
            }
            Expr::Starred(s) => {
                return syntax("starred assignment target must be in a list or tuple", s.range)
            }
            other => return syntax(&format!("cannot assign to {}", describe(other)), other.range()),
        }
        Ok(())
    }

    fn delete_target(&mut self, t: &'a Expr) -> CResult {
        match t {
            Expr::Name(n) => {
                self.set_pos(n.range);
                self.delete_name(&n.id);
            }
            Expr::Attribute(a) => {
                self.expr(&a.value)?;
                let i = self.name_idx(&a.attr.id);
                self.set_pos(a.range);
                self.emit(Op::DeleteAttr(i));
            }
            Expr::Subscript(s) => {
                self.expr(&s.value)?;
                self.expr(&s.slice)?;
                self.set_pos(s.range);
                self.emit(Op::DeleteSubscr);
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for e in elts {
                    self.delete_target(e)?;
                }
            }
            other => return syntax(&format!("cannot delete {}", describe(other)), other.range()),
        }
        Ok(())
    }

    fn if_stmt(&mut self, i: &'a ast::StmtIf) -> CResult {
        let mut ends = Vec::new();
        self.expr(&i.test)?;
        let mut next = self.emit(Op::PopJumpIfFalse(0));
        self.stmts(&i.body)?;
        for clause in &i.elif_else_clauses {
            ends.push(self.emit(Op::Jump(0)));
            self.patch(next);
            match &clause.test {
                Some(t) => {
                    self.set_pos(t.range());
                    self.expr(t)?;
                    next = self.emit(Op::PopJumpIfFalse(0));
                    self.stmts(&clause.body)?;
                }
                None => {
                    self.stmts(&clause.body)?;
                    next = usize::MAX;
                }
            }
        }
        if next != usize::MAX {
            self.patch(next);
        }
        for e in ends {
            self.patch(e);
        }
        Ok(())
    }

    fn while_stmt(&mut self, w: &'a ast::StmtWhile) -> CResult {
        let start = self.here();
        self.expr(&w.test)?;
        let exit = self.emit(Op::PopJumpIfFalse(0));
        self.unit().fblocks.push(FBlock::Loop { start, breaks: Vec::new(), is_for: false });
        self.stmts(&w.body)?;
        self.emit(Op::Jump(start as u32));
        let Some(FBlock::Loop { breaks, .. }) = self.unit().fblocks.pop() else { unreachable!("loop block") };
        self.patch(exit);
        self.stmts(&w.orelse)?;
        for b in breaks {
            self.patch(b);
        }
        Ok(())
    }

    fn for_stmt(&mut self, f: &'a ast::StmtFor) -> CResult {
        self.expr(&f.iter)?;
        self.set_pos(f.iter.range());
        self.emit(Op::GetIter);
        let start = self.here();
        let exit = self.emit(Op::ForIter(0));
        self.store_target(&f.target)?;
        self.unit().fblocks.push(FBlock::Loop { start, breaks: Vec::new(), is_for: true });
        self.stmts(&f.body)?;
        self.emit(Op::Jump(start as u32));
        let Some(FBlock::Loop { breaks, .. }) = self.unit().fblocks.pop() else { unreachable!("loop block") };
        self.patch(exit);
        self.stmts(&f.orelse)?;
        for b in breaks {
            self.patch(b);
        }
        Ok(())
    }

    fn break_continue(&mut self, is_break: bool, range: TextRange) -> CResult {
        let Some(loop_at) = self.unit().fblocks.iter().rposition(|b| matches!(b, FBlock::Loop { .. })) else {
            return syntax(
                if is_break { "'break' outside loop" } else { "'continue' not properly in loop" },
                range,
            );
        };
        // Each inner block's cleanup is compiled with only the blocks
        // outside it active, as CPython does.
        let mut all = std::mem::take(&mut self.unit().fblocks);
        let mut popped = Vec::new();
        while all.len() > loop_at + 1 {
            let b = all.pop().expect("block");
            self.unit().fblocks = all;
            self.unwind_one(&b, false)?;
            all = std::mem::take(&mut self.unit().fblocks);
            popped.push(b);
        }
        popped.reverse();
        all.extend(popped);
        self.unit().fblocks = all;
        self.set_pos(range);
        let (start, is_for) = match &self.unit().fblocks[loop_at] {
            FBlock::Loop { start, is_for, .. } => (*start, *is_for),
            _ => unreachable!("loop block"),
        };
        if is_break {
            if is_for {
                self.emit(Op::Pop); // the iterator
            }
            let j = self.emit(Op::Jump(0));
            if let FBlock::Loop { breaks, .. } = &mut self.unit().fblocks[loop_at] {
                breaks.push(j);
            }
        } else {
            self.emit(Op::Jump(start as u32));
        }
        Ok(())
    }

    /// Emits the cleanup of one block being left by return/break/continue.
    fn unwind_one(&mut self, b: &FBlock<'a>, preserve_tos: bool) -> CResult {
        match b {
            FBlock::Loop { is_for, .. } => {
                if *is_for {
                    if preserve_tos {
                        self.emit(Op::Rot2);
                    }
                    self.emit(Op::Pop);
                }
            }
            FBlock::TryExcept => {
                self.emit(Op::PopBlock);
            }
            FBlock::Finally(body) => {
                self.emit(Op::PopBlock);
                self.stmts(body)?;
            }
            FBlock::Handler(name) => {
                if preserve_tos {
                    self.emit(Op::Rot2);
                }
                self.emit(Op::PopExcept);
                self.emit(Op::Pop);
                if let Some(n) = name {
                    let n = n.clone();
                    self.load_const(Value::None);
                    self.store_name(&n);
                    self.delete_name(&n);
                }
            }
            FBlock::With => {
                self.emit(Op::PopBlock);
                if preserve_tos {
                    self.emit(Op::Rot2);
                }
                self.load_const(Value::None);
                self.emit(Op::Dup);
                self.emit(Op::Dup);
                self.emit(Op::Call(3));
                self.emit(Op::Pop);
            }
        }
        Ok(())
    }

    /// Before `return`: every block's cleanup, innermost first.
    fn unwind_fblocks(&mut self, preserve_tos: bool) -> CResult {
        let mut all = std::mem::take(&mut self.unit().fblocks);
        let mut popped = Vec::new();
        while let Some(b) = all.pop() {
            self.unit().fblocks = all;
            self.unwind_one(&b, preserve_tos)?;
            all = std::mem::take(&mut self.unit().fblocks);
            popped.push(b);
        }
        popped.reverse();
        self.unit().fblocks = popped;
        Ok(())
    }
}

impl<'a> Compiler<'a> {
    fn try_except(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ast::ExceptHandler],
        orelse: &'a [Stmt],
    ) -> CResult {
        let setup = self.emit(Op::SetupFinally(0));
        self.unit().fblocks.push(FBlock::TryExcept);
        self.stmts(body)?;
        self.unit().fblocks.pop();
        self.emit(Op::PopBlock);
        self.stmts(orelse)?;
        let to_end = self.emit(Op::Jump(0));
        self.patch(setup);
        // Handler entry: [exc]; the handled exception is current.
        let mut ends = vec![to_end];
        for (hi, h) in handlers.iter().enumerate() {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            self.set_pos(h.range);
            let mut next = None;
            match &h.type_ {
                Some(ty) => {
                    // [exc type] -> [exc bool]: the exception stays.
                    self.expr(ty)?;
                    self.set_pos(h.range);
                    self.emit(Op::CheckExcMatch);
                    next = Some(self.emit(Op::PopJumpIfFalse(0)));
                }
                None => {
                    if hi + 1 != handlers.len() {
                        return syntax("default 'except:' must be last", h.range);
                    }
                }
            }
            let name = h.name.as_ref().map(|n| n.id.to_string());
            if let Some(n) = &name {
                self.emit(Op::Dup);
                self.store_name(n);
            }
            // The body runs inside a cleanup that clears the name, as
            // CPython's `try: body finally: name = None; del name`.
            match &name {
                Some(n) => {
                    let cleanup = self.emit(Op::SetupFinally(0));
                    self.unit().fblocks.push(FBlock::Handler(Some(n.clone())));
                    self.unit().fblocks.push(FBlock::Finally(&[]));
                    self.stmts(&h.body)?;
                    self.unit().fblocks.pop();
                    self.unit().fblocks.pop();
                    self.emit(Op::PopBlock);
                    self.emit(Op::PopExcept);
                    self.emit(Op::Pop);
                    self.load_const(Value::None);
                    self.store_name(n);
                    self.delete_name(n);
                    ends.push(self.emit(Op::Jump(0)));
                    // Exceptional exit from the body: clear the name, re-raise.
                    self.patch(cleanup);
                    self.load_const(Value::None);
                    self.store_name(n);
                    self.delete_name(n);
                    self.emit(Op::Reraise);
                }
                None => {
                    self.unit().fblocks.push(FBlock::Handler(None));
                    self.stmts(&h.body)?;
                    self.unit().fblocks.pop();
                    self.emit(Op::PopExcept);
                    self.emit(Op::Pop);
                    ends.push(self.emit(Op::Jump(0)));
                }
            }
            if let Some(nx) = next {
                self.patch(nx);
            }
        }
        // No handler matched.
        self.emit(Op::Reraise);
        for e in ends {
            self.patch(e);
        }
        Ok(())
    }

    fn try_finally(&mut self, t: &'a ast::StmtTry) -> CResult {
        let setup = self.emit(Op::SetupFinally(0));
        self.unit().fblocks.push(FBlock::Finally(&t.finalbody));
        if t.handlers.is_empty() {
            self.stmts(&t.body)?;
        } else {
            self.try_except(&t.body, &t.handlers, &t.orelse)?;
        }
        self.unit().fblocks.pop();
        self.emit(Op::PopBlock);
        self.stmts(&t.finalbody)?;
        let end = self.emit(Op::Jump(0));
        self.patch(setup);
        // [exc]: run the finally body, then re-raise.
        self.unit().fblocks.push(FBlock::Handler(None));
        self.stmts(&t.finalbody)?;
        self.unit().fblocks.pop();
        self.emit(Op::Reraise);
        self.patch(end);
        Ok(())
    }

    fn with_stmt(&mut self, w: &'a ast::StmtWith, item: usize) -> CResult {
        let it = &w.items[item];
        self.expr(&it.context_expr)?;
        self.set_pos(it.context_expr.range());
        let setup = self.emit(Op::SetupWith(0));
        match &it.optional_vars {
            Some(v) => self.store_target(v)?,
            None => {
                self.emit(Op::Pop);
            }
        }
        self.unit().fblocks.push(FBlock::With);
        if item + 1 < w.items.len() {
            self.with_stmt(w, item + 1)?;
        } else {
            self.stmts(&w.body)?;
        }
        self.unit().fblocks.pop();
        self.emit(Op::PopBlock);
        self.set_pos(w.range);
        self.load_const(Value::None);
        self.emit(Op::Dup);
        self.emit(Op::Dup);
        self.emit(Op::Call(3));
        self.emit(Op::Pop);
        let end = self.emit(Op::Jump(0));
        self.patch(setup);
        // [exit exc]
        self.emit(Op::WithExceptStart);
        let suppress = self.emit(Op::PopJumpIfTrue(0));
        self.emit(Op::Reraise);
        self.patch(suppress);
        self.emit(Op::PopExcept);
        self.emit(Op::Pop); // exc
        self.emit(Op::Pop); // exit
        self.patch(end);
        Ok(())
    }

    /// Pushes defaults / kwdefaults and returns the MakeFunction flags.
    fn function_defaults(&mut self, p: &'a ast::Parameters) -> CResult<u32> {
        let mut flags = 0;
        let defaults: Vec<&Expr> =
            p.posonlyargs.iter().chain(p.args.iter()).filter_map(|a| a.default.as_deref()).collect();
        if !defaults.is_empty() {
            for d in &defaults {
                self.expr(d)?;
            }
            self.emit(Op::BuildTuple(defaults.len() as u32));
            flags |= 1;
        }
        let kwd: Vec<(&str, &Expr)> = p
            .kwonlyargs
            .iter()
            .filter_map(|a| a.default.as_deref().map(|d| (a.parameter.name.id.as_str(), d)))
            .collect();
        if !kwd.is_empty() {
            for (n, d) in &kwd {
                self.load_str(n);
                self.expr(d)?;
            }
            self.emit(Op::BuildMap(kwd.len() as u32));
            flags |= 2;
        }
        Ok(flags)
    }

    fn qualname_for(&mut self, name: &str) -> String {
        let parent = self.units.last().expect("unit");
        let kind = self.table.scopes[parent.scope].kind;
        match kind {
            ScopeKind::Module => name.to_string(),
            ScopeKind::Class => format!("{}.{}", parent.qualname, name),
            ScopeKind::Function => format!("{}.<locals>.{}", parent.qualname, name),
        }
    }

    /// Compiles a function body into a code object and emits MakeFunction.
    fn make_function(
        &mut self,
        range: TextRange,
        name: &str,
        params: Option<&'a ast::Parameters>,
        body: FnBody<'a>,
        mut flags: u32,
        firstlineno: u32,
    ) -> CResult {
        let scope = symtable::scope_of(&self.table, range);
        let qualname = self.qualname_for(name);
        self.push_unit(scope, name.to_string(), qualname.clone(), firstlineno);
        self.unit().lastlineno = self.src.line_of(range.end().to_u32().saturating_sub(1));
        if let Some(p) = params {
            let u = self.unit();
            u.posonly = p.posonlyargs.len() as u32;
            u.argcount = (p.posonlyargs.len() + p.args.len()) as u32;
            u.kwonly = p.kwonlyargs.len() as u32;
            if p.vararg.is_some() {
                u.flags |= code_flags::VARARGS;
            }
            if p.kwarg.is_some() {
                u.flags |= code_flags::VARKEYWORDS;
            }
            // Parameters come first in varnames, in CPython's order:
            // positional, keyword-only, *args, **kwargs.
            let mut order: Vec<String> = Vec::new();
            for a in p.posonlyargs.iter().chain(p.args.iter()).chain(p.kwonlyargs.iter()) {
                order.push(a.parameter.name.id.to_string());
            }
            if let Some(v) = &p.vararg {
                order.push(v.name.id.to_string());
            }
            if let Some(v) = &p.kwarg {
                order.push(v.name.id.to_string());
            }
            let rest: Vec<String> = u.varnames.iter().filter(|n| !order.contains(n)).cloned().collect();
            order.extend(rest);
            u.varnames = order;
        }
        self.set_pos(range);
        match body {
            FnBody::Stmts(b) => {
                // A docstring is the first constant (CPython's co_consts[0]).
                if let Some(Stmt::Expr(e)) = b.first() {
                    if let Expr::StringLiteral(s) = &*e.value {
                        let doc = s.value.to_str().to_string();
                        self.add_const(Value::str(doc));
                        self.unit().flags |= code_flags::HAS_DOC;
                    }
                }
                self.stmts(b)?;
                self.load_const(Value::None);
                self.emit(Op::Return);
            }
            FnBody::Expr(e) => {
                self.expr(e)?;
                if !self.table.scopes[scope].generator {
                    self.emit(Op::Return);
                } else {
                    self.emit(Op::Pop);
                    self.load_const(Value::None);
                    self.emit(Op::Return);
                }
            }
            FnBody::Comprehension(kind, gens, elt, val) => {
                self.comprehension_body(kind, gens, elt, val)?;
            }
        }
        let code = self.pop_unit();
        let freevars: Vec<String> = code.freevars.iter().map(|f| f.s.to_string()).collect();
        if !freevars.is_empty() {
            for f in &freevars {
                let i = self.deref_idx(f);
                self.emit(Op::LoadClosure(i));
            }
            self.emit(Op::BuildTuple(freevars.len() as u32));
            flags |= 8;
        }
        self.load_const(Value::Code(code));
        self.load_str(&qualname);
        self.emit(Op::MakeFunction(flags));
        Ok(())
    }

    fn function_def(&mut self, f: &'a ast::StmtFunctionDef) -> CResult {
        if f.is_async {
            return unsupported("async def", f.range);
        }
        if f.type_params.is_some() {
            return unsupported("type parameters", f.range);
        }
        for d in &f.decorator_list {
            self.expr(&d.expression)?;
        }
        let flags = self.function_defaults(&f.parameters)?;
        // CPython's co_firstlineno: the first decorator's line, else `def`'s.
        let line =
            f.decorator_list.first().map(|d| self.line_of(d.range)).unwrap_or_else(|| self.line_of(f.range));
        self.make_function(f.range, &f.name.id, Some(&f.parameters), FnBody::Stmts(&f.body), flags, line)?;
        self.set_pos(f.range);
        for _ in &f.decorator_list {
            self.emit(Op::Call(1));
        }
        self.store_name(&f.name.id);
        Ok(())
    }

    fn class_def(&mut self, c: &'a ast::StmtClassDef) -> CResult {
        if c.type_params.is_some() {
            return unsupported("type parameters", c.range);
        }
        for d in &c.decorator_list {
            self.expr(&d.expression)?;
        }
        self.set_pos(c.range);
        self.emit(Op::LoadBuildClass);
        // The body, compiled as a function that returns its namespace.
        let scope = symtable::scope_of(&self.table, c.range);
        let qualname = self.qualname_for(&c.name.id);
        let line = self.line_of(c.name.range);
        self.push_unit(scope, c.name.id.to_string(), qualname.clone(), line);
        self.unit().flags |= code_flags::NAMESPACE;
        self.set_pos(c.range);
        self.load_name("__name__");
        self.store_name("__module__");
        self.load_str(&qualname);
        self.store_name("__qualname__");
        if let Some(Stmt::Expr(e)) = c.body.first() {
            if let Expr::StringLiteral(s) = &*e.value {
                let doc = s.value.to_str().to_string();
                self.load_const(Value::str(doc));
                self.store_name("__doc__");
            }
        }
        self.stmts(&c.body)?;
        if self.unit().cellvars.iter().any(|n| n == "__class__") {
            let i = self.deref_idx("__class__");
            self.emit(Op::LoadClosure(i));
            self.store_name("__classcell__");
        }
        self.emit(Op::LoadLocals);
        self.emit(Op::Return);
        let code = self.pop_unit();
        let freevars: Vec<String> = code.freevars.iter().map(|f| f.s.to_string()).collect();
        let mut flags = 0;
        if !freevars.is_empty() {
            for f in &freevars {
                let i = self.deref_idx(f);
                self.emit(Op::LoadClosure(i));
            }
            self.emit(Op::BuildTuple(freevars.len() as u32));
            flags |= 8;
        }
        self.load_const(Value::Code(code));
        self.load_str(&qualname);
        self.emit(Op::MakeFunction(flags));
        self.load_str(&c.name.id);
        let mut nargs = 2;
        let mut kwnames = Vec::new();
        if let Some(args) = &c.arguments {
            for a in args.args.iter() {
                if let Expr::Starred(s) = a {
                    return unsupported("starred base classes", s.range);
                }
                self.expr(a)?;
                nargs += 1;
            }
            for k in args.keywords.iter() {
                match &k.arg {
                    Some(n) if &**n == "metaclass" => return unsupported("metaclasses", k.range),
                    Some(n) => {
                        self.expr(&k.value)?;
                        kwnames.push(Value::Str(self.intern(n)));
                    }
                    None => return unsupported("**kwargs in a class definition", k.range),
                }
            }
        }
        self.set_pos(c.range);
        if kwnames.is_empty() {
            self.emit(Op::Call(nargs));
        } else {
            let n = kwnames.len() as u32;
            self.load_const(Value::tuple(kwnames));
            self.emit(Op::CallKw(nargs + n));
        }
        for _ in &c.decorator_list {
            self.emit(Op::Call(1));
        }
        self.store_name(&c.name.id);
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum CompKind {
    List,
    Set,
    Dict,
    Gen,
}

enum FnBody<'a> {
    Stmts(&'a [Stmt]),
    Expr(&'a Expr),
    Comprehension(CompKind, &'a [ast::Comprehension], &'a Expr, Option<&'a Expr>),
}

fn binop(op: ast::Operator) -> BinOp {
    use ast::Operator as O;
    match op {
        O::Add => BinOp::Add,
        O::Sub => BinOp::Sub,
        O::Mult => BinOp::Mul,
        O::MatMult => BinOp::MatMul,
        O::Div => BinOp::TrueDiv,
        O::FloorDiv => BinOp::FloorDiv,
        O::Mod => BinOp::Mod,
        O::Pow => BinOp::Pow,
        O::LShift => BinOp::LShift,
        O::RShift => BinOp::RShift,
        O::BitAnd => BinOp::And,
        O::BitOr => BinOp::Or,
        O::BitXor => BinOp::Xor,
    }
}

fn describe(e: &Expr) -> &'static str {
    match e {
        Expr::Call(_) => "function call",
        Expr::Compare(_) => "comparison",
        Expr::BinOp(_) | Expr::UnaryOp(_) | Expr::BoolOp(_) => "expression",
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::BytesLiteral(_) | Expr::BooleanLiteral(_) => {
            "literal"
        }
        Expr::NoneLiteral(_) => "None",
        Expr::Lambda(_) => "lambda",
        Expr::ListComp(_) => "list comprehension",
        Expr::Generator(_) => "generator expression",
        _ => "expression",
    }
}

impl<'a> Compiler<'a> {
    fn expr(&mut self, e: &'a Expr) -> CResult {
        let saved = self.set_pos(e.range());
        let r = self.expr_inner(e);
        self.unit().pos = saved;
        r
    }

    fn expr_inner(&mut self, e: &'a Expr) -> CResult {
        match e {
            Expr::NoneLiteral(_) => self.load_const(Value::None),
            Expr::BooleanLiteral(b) => self.load_const(Value::Bool(b.value)),
            Expr::EllipsisLiteral(_) => self.load_const(Value::Ellipsis),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => {
                    let v = match i.as_i64() {
                        Some(v) => Value::Int(v),
                        None => Value::from_bigint(parse_big_int(&i.to_string()).ok_or_else(|| {
                            CompileError::Syntax { msg: "invalid integer literal".into(), range: n.range }
                        })?),
                    };
                    self.load_const(v)
                }
                ast::Number::Float(f) => self.load_const(Value::Float(*f)),
                ast::Number::Complex { .. } => return unsupported("complex numbers", n.range),
            },
            Expr::StringLiteral(s) => {
                let text = s.value.to_str();
                let g = self.intern(text);
                self.load_const(Value::Str(g));
            }
            Expr::BytesLiteral(b) => {
                let data: Vec<u8> = b.value.bytes().collect();
                self.load_const(Value::Bytes(Gc::new(crate::object::Bytes {
                    data: data.into_boxed_slice(),
                })));
            }
            Expr::FString(f) => self.fstring(f)?,
            Expr::TString(t) => return unsupported("template strings", t.range),
            Expr::Name(n) => {
                if &*n.id == "__debug__" {
                    self.load_const(Value::Bool(true));
                } else {
                    self.load_name(&n.id);
                }
            }
            Expr::Attribute(a) => {
                self.expr(&a.value)?;
                let i = self.name_idx(&a.attr.id);
                self.set_pos(a.range);
                self.emit(Op::LoadAttr(i));
            }
            Expr::Subscript(s) => {
                self.expr(&s.value)?;
                self.expr(&s.slice)?;
                self.set_pos(s.range);
                self.emit(Op::Subscr);
            }
            Expr::Slice(s) => {
                for part in [&s.lower, &s.upper] {
                    match part {
                        Some(x) => self.expr(x)?,
                        None => self.load_const(Value::None),
                    }
                }
                match &s.step {
                    Some(x) => {
                        self.expr(x)?;
                        self.emit(Op::BuildSlice(3));
                    }
                    None => {
                        self.emit(Op::BuildSlice(2));
                    }
                }
            }
            Expr::BinOp(b) => {
                self.expr(&b.left)?;
                self.expr(&b.right)?;
                self.set_pos(b.range);
                self.emit(Op::Binary(binop(b.op)));
            }
            Expr::UnaryOp(u) => {
                self.expr(&u.operand)?;
                self.set_pos(u.range);
                let op = match u.op {
                    ast::UnaryOp::Not => UnOp::Not,
                    ast::UnaryOp::USub => UnOp::Neg,
                    ast::UnaryOp::UAdd => UnOp::Pos,
                    ast::UnaryOp::Invert => UnOp::Invert,
                };
                self.emit(Op::Unary(op));
            }
            Expr::BoolOp(b) => {
                let mut jumps = Vec::new();
                let n = b.values.len();
                for (i, v) in b.values.iter().enumerate() {
                    self.expr(v)?;
                    if i + 1 < n {
                        jumps.push(self.emit(match b.op {
                            ast::BoolOp::And => Op::JumpIfFalseOrPop(0),
                            ast::BoolOp::Or => Op::JumpIfTrueOrPop(0),
                        }));
                    }
                }
                for j in jumps {
                    self.patch(j);
                }
            }
            Expr::Compare(c) => self.compare(c)?,
            Expr::If(i) => {
                self.expr(&i.test)?;
                let j = self.emit(Op::PopJumpIfFalse(0));
                self.expr(&i.body)?;
                let end = self.emit(Op::Jump(0));
                self.patch(j);
                self.expr(&i.orelse)?;
                self.patch(end);
            }
            Expr::Named(n) => {
                self.expr(&n.value)?;
                self.emit(Op::Dup);
                self.store_target(&n.target)?;
            }
            Expr::Tuple(t) => {
                if t.elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
                    self.starred_sequence(&t.elts)?;
                    self.emit(Op::ListToTuple);
                } else if !t.elts.is_empty() && t.elts.iter().all(is_simple_const) {
                    let items: Vec<Value> = t.elts.iter().map(|e| self.const_value(e)).collect();
                    self.load_const(Value::tuple(items));
                } else {
                    for x in &t.elts {
                        self.expr(x)?;
                    }
                    self.emit(Op::BuildTuple(t.elts.len() as u32));
                }
            }
            Expr::List(l) => {
                if l.elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
                    self.starred_sequence(&l.elts)?;
                } else {
                    for x in &l.elts {
                        self.expr(x)?;
                    }
                    self.emit(Op::BuildList(l.elts.len() as u32));
                }
            }
            Expr::Set(s) => {
                if s.elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
                    self.emit(Op::BuildSet(0));
                    for x in &s.elts {
                        match x {
                            Expr::Starred(st) => {
                                self.expr(&st.value)?;
                                self.emit(Op::SetUpdate(1));
                            }
                            x => {
                                self.expr(x)?;
                                self.emit(Op::SetAdd(1));
                            }
                        }
                    }
                } else {
                    for x in &s.elts {
                        self.expr(x)?;
                    }
                    self.emit(Op::BuildSet(s.elts.len() as u32));
                }
            }
            Expr::Dict(d) => {
                if d.items.iter().any(|i| i.key.is_none()) {
                    self.emit(Op::BuildMap(0));
                    for it in &d.items {
                        match &it.key {
                            Some(k) => {
                                self.expr(k)?;
                                self.expr(&it.value)?;
                                self.emit(Op::MapAdd(1));
                            }
                            None => {
                                self.expr(&it.value)?;
                                self.emit(Op::DictUpdate(1));
                            }
                        }
                    }
                } else {
                    for it in &d.items {
                        self.expr(it.key.as_ref().expect("key"))?;
                        self.expr(&it.value)?;
                    }
                    self.emit(Op::BuildMap(d.items.len() as u32));
                }
            }
            Expr::Call(c) => self.call(c)?,
            Expr::Lambda(l) => {
                let flags = match &l.parameters {
                    Some(p) => self.function_defaults(p)?,
                    None => 0,
                };
                let line = self.line_of(l.range);
                self.make_function(
                    l.range,
                    "<lambda>",
                    l.parameters.as_deref(),
                    FnBody::Expr(&l.body),
                    flags,
                    line,
                )?;
            }
            Expr::ListComp(c) => {
                self.comprehension(c.range, "<listcomp>", CompKind::List, &c.generators, &c.elt, None)?
            }
            Expr::SetComp(c) => {
                self.comprehension(c.range, "<setcomp>", CompKind::Set, &c.generators, &c.elt, None)?
            }
            Expr::DictComp(c) => match &c.key {
                Some(k) => self.comprehension(
                    c.range,
                    "<dictcomp>",
                    CompKind::Dict,
                    &c.generators,
                    k,
                    Some(&c.value),
                )?,
                None => return unsupported("dict unpacking in a comprehension", c.range),
            },
            Expr::Generator(g) => {
                self.comprehension(g.range, "<genexpr>", CompKind::Gen, &g.generators, &g.elt, None)?
            }
            Expr::Yield(y) => {
                if self.scope_kind() != ScopeKind::Function {
                    return syntax("'yield' outside function", y.range);
                }
                match &y.value {
                    Some(v) => self.expr(v)?,
                    None => self.load_const(Value::None),
                }
                self.set_pos(y.range);
                self.emit(Op::Yield);
            }
            Expr::YieldFrom(y) => {
                if self.scope_kind() != ScopeKind::Function {
                    return syntax("'yield' outside function", y.range);
                }
                self.expr(&y.value)?;
                self.set_pos(y.range);
                self.emit(Op::GetYieldFromIter);
                self.load_const(Value::None);
                self.emit(Op::YieldFrom);
            }
            Expr::Await(a) => return unsupported("await", a.range),
            Expr::Starred(s) => return syntax("can't use starred expression here", s.range),
            Expr::IpyEscapeCommand(c) => return syntax("invalid syntax", c.range),
        }
        Ok(())
    }

    fn const_value(&mut self, e: &Expr) -> Value {
        match e {
            Expr::NoneLiteral(_) => Value::None,
            Expr::BooleanLiteral(b) => Value::Bool(b.value),
            Expr::NumberLiteral(ast::ExprNumberLiteral { value: ast::Number::Int(i), .. }) => {
                Value::Int(i.as_i64().expect("simple const"))
            }
            Expr::NumberLiteral(ast::ExprNumberLiteral { value: ast::Number::Float(f), .. }) => {
                Value::Float(*f)
            }
            Expr::StringLiteral(s) => Value::Str(self.intern(s.value.to_str())),
            _ => Value::None,
        }
    }

    /// `[*a, b, *c]` as a list on the stack.
    fn starred_sequence(&mut self, elts: &'a [Expr]) -> CResult {
        self.emit(Op::BuildList(0));
        for x in elts {
            match x {
                Expr::Starred(s) => {
                    self.expr(&s.value)?;
                    self.emit(Op::ListExtend(1));
                }
                x => {
                    self.expr(x)?;
                    self.emit(Op::ListAppend(1));
                }
            }
        }
        Ok(())
    }

    fn compare(&mut self, c: &'a ast::ExprCompare) -> CResult {
        self.expr(&c.left)?;
        let n = c.ops.len();
        let mut cleanups = Vec::new();
        for (i, (op, right)) in c.ops.iter().zip(c.comparators.iter()).enumerate() {
            self.expr(right)?;
            if i + 1 < n {
                self.emit(Op::Dup);
                self.emit(Op::Rot3);
            }
            self.set_pos(c.range);
            self.emit(cmp_op(*op));
            if i + 1 < n {
                cleanups.push(self.emit(Op::JumpIfFalseOrPop(0)));
            }
        }
        if !cleanups.is_empty() {
            let end = self.emit(Op::Jump(0));
            for j in cleanups {
                self.patch(j);
            }
            // [middle result] -> [result]
            self.emit(Op::Rot2);
            self.emit(Op::Pop);
            self.patch(end);
        }
        Ok(())
    }

    fn call(&mut self, c: &'a ast::ExprCall) -> CResult {
        let args = &c.arguments;
        let has_star = args.args.iter().any(|a| matches!(a, Expr::Starred(_)));
        let has_dstar = args.keywords.iter().any(|k| k.arg.is_none());
        // `super()` with no arguments: super(__class__, <first argument>).
        if let Expr::Name(n) = &*c.func {
            if &*n.id == "super"
                && args.args.is_empty()
                && args.keywords.is_empty()
                && self.binding("super") != Binding::Local
            {
                let scope = self.unit().scope;
                let first = self.table.scopes[scope].params.first().cloned();
                if self.scope_kind() == ScopeKind::Function
                    && self.unit().freevars.iter().any(|f| f == "__class__")
                {
                    let Some(first) = first else {
                        self.load_name("super");
                        self.set_pos(c.range());
                        self.emit(Op::Call(0));
                        return Ok(());
                    };
                    self.load_name("super");
                    self.load_name("__class__");
                    self.load_name(&first);
                    self.set_pos(c.range());
                    self.emit(Op::Call(2));
                    return Ok(());
                }
            }
        }
        if !has_star && !has_dstar && args.keywords.is_empty() {
            if let Expr::Attribute(a) = &*c.func {
                self.expr(&a.value)?;
                let i = self.name_idx(&a.attr.id);
                self.set_pos(a.range);
                self.emit(Op::LoadMethod(i));
                for x in args.args.iter() {
                    self.expr(x)?;
                }
                self.set_pos(c.range());
                self.emit(Op::CallMethod(args.args.len() as u32));
                return Ok(());
            }
        }
        self.expr(&c.func)?;
        if has_star || has_dstar {
            if has_star {
                self.starred_sequence(&args.args)?;
                self.emit(Op::ListToTuple);
            } else {
                for x in args.args.iter() {
                    self.expr(x)?;
                }
                self.emit(Op::BuildTuple(args.args.len() as u32));
            }
            if args.keywords.is_empty() {
                self.set_pos(c.range());
                self.emit(Op::CallEx(false));
            } else {
                self.emit(Op::BuildMap(0));
                for k in args.keywords.iter() {
                    match &k.arg {
                        Some(n) => {
                            self.load_str(n);
                            self.expr(&k.value)?;
                            self.emit(Op::MapAdd(1));
                        }
                        None => {
                            self.expr(&k.value)?;
                            self.emit(Op::DictMerge(1));
                        }
                    }
                }
                self.set_pos(c.range());
                self.emit(Op::CallEx(true));
            }
            return Ok(());
        }
        for x in args.args.iter() {
            self.expr(x)?;
        }
        if args.keywords.is_empty() {
            self.set_pos(c.range());
            self.emit(Op::Call(args.args.len() as u32));
        } else {
            let mut names = Vec::new();
            for k in args.keywords.iter() {
                self.expr(&k.value)?;
                let n = k.arg.as_ref().expect("named keyword");
                if names.iter().any(|v: &Value| matches!(v, Value::Str(s) if *s.s == **n)) {
                    return syntax(&format!("keyword argument repeated: {n}"), k.range);
                }
                names.push(Value::Str(self.intern(n)));
            }
            let total = args.args.len() + names.len();
            self.load_const(Value::tuple(names));
            self.set_pos(c.range());
            self.emit(Op::CallKw(total as u32));
        }
        Ok(())
    }

    fn comprehension(
        &mut self,
        range: TextRange,
        name: &str,
        kind: CompKind,
        gens: &'a [ast::Comprehension],
        elt: &'a Expr,
        val: Option<&'a Expr>,
    ) -> CResult {
        if gens.iter().any(|g| g.is_async) {
            return unsupported("async comprehension", range);
        }
        let line = self.line_of(range);
        self.make_function(range, name, None, FnBody::Comprehension(kind, gens, elt, val), 0, line)?;
        self.expr(&gens[0].iter)?;
        self.set_pos(range);
        self.emit(Op::GetIter);
        self.emit(Op::Call(1));
        Ok(())
    }

    fn comprehension_body(
        &mut self,
        kind: CompKind,
        gens: &'a [ast::Comprehension],
        elt: &'a Expr,
        val: Option<&'a Expr>,
    ) -> CResult {
        {
            let u = self.unit();
            u.argcount = 1;
            if !u.varnames.iter().any(|v| v == ".0") {
                u.varnames.insert(0, ".0".to_string());
            }
        }
        match kind {
            CompKind::List => {
                self.emit(Op::BuildList(0));
            }
            CompKind::Set => {
                self.emit(Op::BuildSet(0));
            }
            CompKind::Dict => {
                self.emit(Op::BuildMap(0));
            }
            CompKind::Gen => {}
        }
        self.comp_level(kind, gens, 0, elt, val)?;
        if let CompKind::Gen = kind {
            self.load_const(Value::None)
        }
        self.emit(Op::Return);
        Ok(())
    }

    fn comp_level(
        &mut self,
        kind: CompKind,
        gens: &'a [ast::Comprehension],
        i: usize,
        elt: &'a Expr,
        val: Option<&'a Expr>,
    ) -> CResult {
        let g = &gens[i];
        if i == 0 {
            let idx = self.local_idx(".0");
            self.emit(Op::LoadFast(idx));
        } else {
            self.expr(&g.iter)?;
            self.emit(Op::GetIter);
        }
        let start = self.here();
        let exit = self.emit(Op::ForIter(0));
        self.store_target(&g.target)?;
        let mut skips = Vec::new();
        for cond in &g.ifs {
            self.expr(cond)?;
            skips.push(self.emit(Op::PopJumpIfFalse(0)));
        }
        if i + 1 < gens.len() {
            self.comp_level(kind, gens, i + 1, elt, val)?;
        } else {
            // Depth of the result below the iterators: one per level, plus one.
            let depth = (gens.len() + 1) as u32;
            match kind {
                CompKind::List => {
                    self.expr(elt)?;
                    self.emit(Op::ListAppend(depth));
                }
                CompKind::Set => {
                    self.expr(elt)?;
                    self.emit(Op::SetAdd(depth));
                }
                CompKind::Dict => {
                    self.expr(elt)?;
                    self.expr(val.expect("dict value"))?;
                    self.emit(Op::MapAdd(depth));
                }
                CompKind::Gen => {
                    self.expr(elt)?;
                    self.emit(Op::Yield);
                    self.emit(Op::Pop);
                }
            }
        }
        for s in skips {
            self.patch_to(s, start as u32);
        }
        self.emit(Op::Jump(start as u32));
        self.patch(exit);
        Ok(())
    }

    fn fstring(&mut self, f: &'a ast::ExprFString) -> CResult {
        let mut n = 0;
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => {
                    if !l.value.is_empty() {
                        self.load_str(&l.value);
                        n += 1;
                    }
                }
                ast::FStringPart::FString(fs) => {
                    n += self.fstring_elements(&fs.elements)?;
                }
            }
        }
        if n == 0 {
            self.load_str("");
        } else if n > 1 {
            self.emit(Op::BuildString(n));
        }
        Ok(())
    }

    fn fstring_elements(&mut self, els: &'a ast::InterpolatedStringElements) -> CResult<u32> {
        let mut n = 0;
        for el in els.iter() {
            match el {
                ast::InterpolatedStringElement::Literal(l) => {
                    if !l.value.is_empty() {
                        self.load_str(&l.value);
                        n += 1;
                    }
                }
                ast::InterpolatedStringElement::Interpolation(i) => {
                    let mut conv = match i.conversion {
                        ast::ConversionFlag::None => 0,
                        ast::ConversionFlag::Str => 1,
                        ast::ConversionFlag::Repr => 2,
                        ast::ConversionFlag::Ascii => 3,
                    };
                    if let Some(d) = &i.debug_text {
                        let text = format!(
                            "{}{}{}",
                            d.leading(),
                            &self.src.text[i.expression.range().start().to_usize()
                                ..i.expression.range().end().to_usize()],
                            d.trailing()
                        );
                        self.load_str(&text);
                        n += 1;
                        if conv == 0 && i.format_spec.is_none() {
                            conv = 2;
                        }
                    }
                    self.expr(&i.expression)?;
                    let has_spec = match &i.format_spec {
                        Some(spec) => {
                            let k = self.fstring_elements(&spec.elements)?;
                            if k == 0 {
                                self.load_str("");
                            } else if k > 1 {
                                self.emit(Op::BuildString(k));
                            }
                            true
                        }
                        None => false,
                    };
                    self.emit(Op::FormatValue(conv, has_spec));
                    n += 1;
                }
            }
        }
        Ok(n)
    }
}

fn is_simple_const(e: &Expr) -> bool {
    match e {
        Expr::NoneLiteral(_) | Expr::BooleanLiteral(_) | Expr::StringLiteral(_) => true,
        Expr::NumberLiteral(ast::ExprNumberLiteral { value: ast::Number::Int(i), .. }) => {
            i.as_i64().is_some()
        }
        Expr::NumberLiteral(ast::ExprNumberLiteral { value: ast::Number::Float(_), .. }) => true,
        _ => false,
    }
}

fn cmp_op(op: ast::CmpOp) -> Op {
    use ast::CmpOp as C;
    match op {
        C::Eq => Op::Compare(CmpOp::Eq),
        C::NotEq => Op::Compare(CmpOp::Ne),
        C::Lt => Op::Compare(CmpOp::Lt),
        C::LtE => Op::Compare(CmpOp::Le),
        C::Gt => Op::Compare(CmpOp::Gt),
        C::GtE => Op::Compare(CmpOp::Ge),
        C::Is => Op::Is(false),
        C::IsNot => Op::Is(true),
        C::In => Op::In(false),
        C::NotIn => Op::In(true),
    }
}

/// Parses an integer literal token (`0x...`, `0o...`, `0b...`, with `_`).
pub fn parse_big_int(token: &str) -> Option<num_bigint::BigInt> {
    let t: String = token.chars().filter(|&c| c != '_').collect();
    let lower = t.to_ascii_lowercase();
    let (digits, radix) = if let Some(r) = lower.strip_prefix("0x") {
        (r.to_string(), 16)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (r.to_string(), 8)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (r.to_string(), 2)
    } else {
        (lower, 10)
    };
    num_bigint::BigInt::parse_bytes(digits.as_bytes(), radix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(src: &str) -> CResult<Gc<Code>> {
        let source = Gc::new(Source::new("<test>".into(), src.into()));
        let parsed = ruff_python_parser::parse_module(src).expect("parses");
        compile_module(parsed.syntax(), source)
    }

    fn ops(src: &str) -> Vec<Op> {
        compile(src).expect("compiles").ops.clone()
    }

    #[test]
    fn a_module_assignment_stores_a_name() {
        let ops = ops("x = 1\n");
        assert!(
            matches!(ops[..], [Op::LoadConst(_), Op::StoreName(_), Op::LoadConst(_), Op::Return]),
            "{ops:?}"
        );
    }

    #[test]
    fn a_method_call_uses_load_method() {
        let ops = ops("l = []\nl.append(1)\n");
        assert!(ops.iter().any(|o| matches!(o, Op::LoadMethod(_))), "{ops:?}");
        assert!(ops.iter().any(|o| matches!(o, Op::CallMethod(1))), "{ops:?}");
    }

    #[test]
    fn function_locals_are_fast_and_arguments_come_first() {
        let code = compile("def f(a, b=1, *args, c, **kw):\n    d = a\n    return d\n").expect("compiles");
        let Some(Value::Code(f)) = code.consts.iter().find(|c| matches!(c, Value::Code(_))) else {
            panic!("no code constant")
        };
        let names: Vec<&str> = f.varnames.iter().map(|n| &*n.s).collect();
        assert_eq!(names, ["a", "b", "c", "args", "kw", "d"]);
        assert_eq!((f.argcount, f.kwonlyargcount), (2, 1));
        assert!(f.ops.iter().any(|o| matches!(o, Op::StoreFast(5))), "{:?}", f.ops);
        assert_eq!((f.firstlineno, f.lastlineno), (1, 3));
    }

    #[test]
    fn a_decorated_function_starts_at_its_decorator() {
        let code = compile("def d(f): return f\n\n@d\ndef g():\n    pass\n").expect("compiles");
        let lines: Vec<u32> = code
            .consts
            .iter()
            .filter_map(|c| match c {
                Value::Code(c) => Some(c.firstlineno),
                _ => None,
            })
            .collect();
        assert_eq!(lines, [1, 3]);
    }

    #[test]
    fn unsupported_constructs_name_themselves() {
        for (src, what) in [
            ("match x:\n    case 1:\n        pass\n", "match statement"),
            ("async def f():\n    pass\n", "async def"),
            ("x = 1j\n", "complex numbers"),
            ("class C(metaclass=M):\n    pass\n", "metaclasses"),
        ] {
            match compile(src) {
                Err(CompileError::Unsupported { what: w, .. }) => assert_eq!(w, what),
                Err(CompileError::Syntax { msg, .. }) => panic!("{src:?}: syntax error {msg}"),
                Ok(_) => panic!("{src:?} compiled"),
            }
        }
    }

    #[test]
    fn misplaced_statements_are_syntax_errors() {
        for src in ["return 1\n", "break\n", "def f():\n    x = 1\n    global x\n"] {
            assert!(matches!(compile(src), Err(CompileError::Syntax { .. })), "{src:?}");
        }
    }
}
