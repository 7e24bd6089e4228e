//! Scope analysis: which names of each function are locals, cells, free
//! variables or globals (CPython's `symtable.c`, reduced to what the
//! compiler needs).

use std::collections::{HashMap, HashSet};

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

/// How a name is reached inside one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// A fast local.
    Local,
    /// A local captured by an inner function (a cell).
    Cell,
    /// A variable of an enclosing function (through the closure).
    Free,
    /// Declared `global`, or never bound in any enclosing function.
    GlobalExplicit,
    /// Not bound here nor in an enclosing function.
    GlobalImplicit,
    /// Module or class namespace.
    Name,
}

/// The kind of a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// The module.
    Module,
    /// A class body.
    Class,
    /// A function, lambda or comprehension.
    Function,
}

/// One scope's result.
#[derive(Debug)]
pub struct Scope {
    /// Kind.
    pub kind: ScopeKind,
    /// Names bound here (params first, in order).
    pub params: Vec<String>,
    bound: Vec<String>,
    bound_set: HashSet<String>,
    used: HashSet<String>,
    globals: HashSet<String>,
    nonlocals: HashSet<String>,
    children: Vec<usize>,
    parent: Option<usize>,
    /// Whether it yields.
    pub generator: bool,
    /// Resolved bindings.
    pub symbols: HashMap<String, Binding>,
    /// Cells in creation order.
    pub cellvars: Vec<String>,
    /// Free variables in order.
    pub freevars: Vec<String>,
    /// Locals in order (params first).
    pub varnames: Vec<String>,
    /// Uses `super()` or `__class__` (needs the `__class__` cell).
    pub needs_class_cell: bool,
}

impl Scope {
    fn new(kind: ScopeKind, parent: Option<usize>) -> Scope {
        Scope {
            kind,
            params: Vec::new(),
            bound: Vec::new(),
            bound_set: HashSet::new(),
            used: HashSet::new(),
            globals: HashSet::new(),
            nonlocals: HashSet::new(),
            children: Vec::new(),
            parent,
            generator: false,
            symbols: HashMap::new(),
            cellvars: Vec::new(),
            freevars: Vec::new(),
            varnames: Vec::new(),
            needs_class_cell: false,
        }
    }

    /// How `name` is reached here.
    pub fn lookup(&self, name: &str) -> Binding {
        match self.symbols.get(name) {
            Some(b) => *b,
            None => match self.kind {
                ScopeKind::Function => Binding::GlobalImplicit,
                _ => Binding::Name,
            },
        }
    }
}

/// All scopes of a module, keyed by the range of the node that opens them.
#[derive(Debug)]
pub struct SymbolTable {
    /// Scopes; 0 is the module.
    pub scopes: Vec<Scope>,
    /// Node range -> scope index.
    pub by_range: HashMap<(u32, u32), usize>,
}

/// A scope-analysis error (a `SyntaxError` at a range).
#[derive(Debug)]
pub struct SymError {
    /// Message, CPython's wording.
    pub msg: String,
    /// Where.
    pub range: TextRange,
}

fn key(r: TextRange) -> (u32, u32) {
    (r.start().to_u32(), r.end().to_u32())
}

struct Builder {
    scopes: Vec<Scope>,
    by_range: HashMap<(u32, u32), usize>,
    cur: usize,
    errors: Vec<SymError>,
}

impl Builder {
    fn scope(&mut self) -> &mut Scope {
        &mut self.scopes[self.cur]
    }

    fn bind(&mut self, name: &str) {
        let s = self.scope();
        if s.bound_set.insert(name.to_string()) {
            s.bound.push(name.to_string());
        }
    }

    fn use_name(&mut self, name: &str) {
        self.scope().used.insert(name.to_string());
    }

    fn push(&mut self, kind: ScopeKind, range: TextRange) -> usize {
        let id = self.scopes.len();
        self.scopes.push(Scope::new(kind, Some(self.cur)));
        self.scopes[self.cur].children.push(id);
        self.by_range.insert(key(range), id);
        let prev = self.cur;
        self.cur = id;
        prev
    }

    fn params(&mut self, p: &ast::Parameters) {
        let mut names = Vec::new();
        for a in p.posonlyargs.iter().chain(p.args.iter()) {
            names.push(a.parameter.name.id.to_string());
        }
        for a in p.kwonlyargs.iter() {
            names.push(a.parameter.name.id.to_string());
        }
        if let Some(v) = &p.vararg {
            names.push(v.name.id.to_string());
        }
        if let Some(v) = &p.kwarg {
            names.push(v.name.id.to_string());
        }
        for n in &names {
            self.bind(n);
        }
        self.scope().params = names;
    }

    fn defaults(&mut self, p: &ast::Parameters) {
        for a in p.posonlyargs.iter().chain(p.args.iter()).chain(p.kwonlyargs.iter()) {
            if let Some(d) = &a.default {
                self.expr(d);
            }
        }
    }

    fn stmts(&mut self, body: &[Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.expr(&d.expression);
                }
                self.defaults(&f.parameters);
                self.bind(&f.name.id);
                let prev = self.push(ScopeKind::Function, f.range);
                self.params(&f.parameters);
                self.stmts(&f.body);
                self.cur = prev;
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.expr(&d.expression);
                }
                if let Some(args) = &c.arguments {
                    for a in args.args.iter() {
                        self.expr(a);
                    }
                    for k in args.keywords.iter() {
                        self.expr(&k.value);
                    }
                }
                self.bind(&c.name.id);
                let prev = self.push(ScopeKind::Class, c.range);
                self.stmts(&c.body);
                self.cur = prev;
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.expr(v)
                }
            }
            Stmt::Delete(d) => d.targets.iter().for_each(|t| self.target(t)),
            Stmt::Assign(a) => {
                self.expr(&a.value);
                a.targets.iter().for_each(|t| self.target(t));
            }
            Stmt::AugAssign(a) => {
                self.expr(&a.value);
                if let Expr::Name(n) = &*a.target {
                    self.use_name(&n.id);
                }
                self.target(&a.target);
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.expr(v);
                    self.target(&a.target);
                } else if let Expr::Name(n) = &*a.target {
                    self.bind(&n.id);
                }
            }
            Stmt::For(f) => {
                self.expr(&f.iter);
                self.target(&f.target);
                self.stmts(&f.body);
                self.stmts(&f.orelse);
            }
            Stmt::While(w) => {
                self.expr(&w.test);
                self.stmts(&w.body);
                self.stmts(&w.orelse);
            }
            Stmt::If(i) => {
                self.expr(&i.test);
                self.stmts(&i.body);
                for c in &i.elif_else_clauses {
                    if let Some(t) = &c.test {
                        self.expr(t);
                    }
                    self.stmts(&c.body);
                }
            }
            Stmt::With(w) => {
                for it in &w.items {
                    self.expr(&it.context_expr);
                    if let Some(v) = &it.optional_vars {
                        self.target(v);
                    }
                }
                self.stmts(&w.body);
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e);
                }
                if let Some(c) = &r.cause {
                    self.expr(c);
                }
            }
            Stmt::Try(t) => {
                self.stmts(&t.body);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(ty) = &h.type_ {
                        self.expr(ty);
                    }
                    if let Some(n) = &h.name {
                        self.bind(&n.id);
                    }
                    self.stmts(&h.body);
                }
                self.stmts(&t.orelse);
                self.stmts(&t.finalbody);
            }
            Stmt::Assert(a) => {
                self.expr(&a.test);
                if let Some(m) = &a.msg {
                    self.expr(m);
                }
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    let name = match &a.asname {
                        Some(n) => n.id.to_string(),
                        None => a.name.id.split('.').next().unwrap_or("").to_string(),
                    };
                    self.bind(&name);
                }
            }
            Stmt::ImportFrom(i) => {
                for a in &i.names {
                    if &*a.name.id != "*" {
                        let name = a.asname.as_ref().unwrap_or(&a.name);
                        self.bind(&name.id);
                    }
                }
            }
            Stmt::Global(g) => {
                for n in &g.names {
                    if self.scope().bound_set.contains(n.id.as_str())
                        || self.scope().used.contains(n.id.as_str())
                    {
                        let what = if self.scope().params.iter().any(|p| p == n.id.as_str()) {
                            "parameter and global"
                        } else if self.scope().bound_set.contains(n.id.as_str()) {
                            "assigned to before global declaration"
                        } else {
                            "used prior to global declaration"
                        };
                        let msg = if what == "parameter and global" {
                            format!("name '{}' is parameter and global", n.id)
                        } else {
                            format!("name '{}' is {what}", n.id)
                        };
                        self.errors.push(SymError { msg, range: g.range });
                    }
                    self.scope().globals.insert(n.id.to_string());
                }
            }
            Stmt::Nonlocal(g) => {
                for n in &g.names {
                    if self.scope().kind == ScopeKind::Module {
                        self.errors.push(SymError {
                            msg: "nonlocal declaration not allowed at module level".into(),
                            range: g.range,
                        });
                    }
                    self.scope().nonlocals.insert(n.id.to_string());
                }
            }
            Stmt::Expr(e) => self.expr(&e.value),
            _ => {}
        }
    }

    fn target(&mut self, t: &Expr) {
        match t {
            Expr::Name(n) => self.bind(&n.id),
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
            Expr::List(t) => t.elts.iter().for_each(|e| self.target(e)),
            Expr::Starred(s) => self.target(&s.value),
            other => self.expr(other),
        }
    }

    fn comprehension(
        &mut self,
        range: TextRange,
        gens: &[ast::Comprehension],
        elts: &[&Expr],
        generator: bool,
    ) {
        // The first iterable is evaluated in the enclosing scope.
        if let Some(first) = gens.first() {
            self.expr(&first.iter);
        }
        let prev = self.push(ScopeKind::Function, range);
        self.scope().params = vec![".0".to_string()];
        self.bind(".0");
        self.scope().generator = generator;
        for (i, g) in gens.iter().enumerate() {
            if i > 0 {
                self.expr(&g.iter);
            }
            self.target(&g.target);
            for c in &g.ifs {
                self.expr(c);
            }
        }
        for e in elts {
            self.expr(e);
        }
        self.cur = prev;
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Name(n) => {
                self.use_name(&n.id);
                if &*n.id == "super" || &*n.id == "__class__" {
                    self.scope().needs_class_cell = true;
                }
            }
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    self.defaults(p);
                }
                let prev = self.push(ScopeKind::Function, l.range);
                if let Some(p) = &l.parameters {
                    self.params(p);
                }
                self.expr(&l.body);
                self.cur = prev;
            }
            Expr::ListComp(c) => self.comprehension(c.range, &c.generators, &[&c.elt], false),
            Expr::SetComp(c) => self.comprehension(c.range, &c.generators, &[&c.elt], false),
            Expr::Generator(c) => self.comprehension(c.range, &c.generators, &[&c.elt], true),
            Expr::DictComp(c) => {
                let mut elts: Vec<&Expr> = vec![&c.value];
                if let Some(k) = &c.key {
                    elts.insert(0, k);
                }
                self.comprehension(c.range, &c.generators, &elts, false)
            }
            Expr::Yield(y) => {
                self.scope().generator = true;
                if let Some(v) = &y.value {
                    self.expr(v);
                }
            }
            Expr::YieldFrom(y) => {
                self.scope().generator = true;
                self.expr(&y.value);
            }
            Expr::Named(n) => {
                self.expr(&n.value);
                // A walrus in a comprehension binds in the enclosing function.
                if let Expr::Name(t) = &*n.target {
                    let mut s = self.cur;
                    while self.scopes[s].params.first().map(String::as_str) == Some(".0") {
                        match self.scopes[s].parent {
                            Some(p) => s = p,
                            None => break,
                        }
                    }
                    if s != self.cur {
                        let name = t.id.to_string();
                        if self.scopes[s].kind == ScopeKind::Module {
                            self.scopes[self.cur].globals.insert(name.clone());
                        } else {
                            self.scopes[self.cur].nonlocals.insert(name.clone());
                        }
                        let sc = &mut self.scopes[s];
                        if sc.bound_set.insert(name.clone()) {
                            sc.bound.push(name);
                        }
                    } else {
                        self.bind(&t.id);
                    }
                }
            }
            _ => {
                walk_children(e, |c| self.expr(c));
            }
        }
    }

    fn resolve(&mut self, id: usize, enclosing_fn_bound: &[HashSet<String>]) {
        // Names bound in enclosing functions, visible for closures.
        let kind = self.scopes[id].kind;
        let mut visible: Vec<HashSet<String>> = enclosing_fn_bound.to_vec();
        if kind == ScopeKind::Function {
            let s = &self.scopes[id];
            let mine: HashSet<String> = s
                .bound_set
                .iter()
                .filter(|n| !s.globals.contains(*n) && !s.nonlocals.contains(*n))
                .cloned()
                .collect();
            visible.push(mine);
        }
        let children = self.scopes[id].children.clone();
        for c in &children {
            let pass: Vec<HashSet<String>> =
                if kind == ScopeKind::Module { Vec::new() } else { visible.clone() };
            self.resolve(*c, &pass);
        }
        // Free variables requested by children (and grandchildren through us).
        let mut requested: Vec<String> = Vec::new();
        for c in &children {
            for f in self.scopes[*c].freevars.clone() {
                if !requested.contains(&f) {
                    requested.push(f);
                }
            }
            if self.scopes[*c].needs_class_cell
                && kind == ScopeKind::Class
                && !requested.contains(&"__class__".to_string())
            {
                requested.push("__class__".to_string());
            }
        }
        let s = &mut self.scopes[id];
        match kind {
            ScopeKind::Module => {
                for n in s.bound.clone().iter().chain(s.used.clone().iter()) {
                    s.symbols.insert(
                        n.clone(),
                        if s.globals.contains(n) { Binding::GlobalExplicit } else { Binding::Name },
                    );
                }
            }
            ScopeKind::Class => {
                let mut names: Vec<String> = s.bound.clone();
                names.extend(s.used.iter().cloned());
                for n in names {
                    let b = if s.globals.contains(&n) {
                        Binding::GlobalExplicit
                    } else if s.nonlocals.contains(&n)
                        || (!s.bound_set.contains(&n) && enclosing_fn_bound.iter().any(|b| b.contains(&n)))
                    {
                        if !s.freevars.contains(&n) {
                            s.freevars.push(n.clone());
                        }
                        Binding::Free
                    } else {
                        Binding::Name
                    };
                    s.symbols.insert(n, b);
                }
                for r in requested {
                    if r == "__class__" {
                        s.cellvars.push(r);
                    } else if !s.freevars.contains(&r) && enclosing_fn_bound.iter().any(|b| b.contains(&r)) {
                        s.freevars.push(r);
                    }
                }
            }
            ScopeKind::Function => {
                if s.needs_class_cell {
                    // `super()` and `__class__` reach the class cell.
                    s.freevars.push("__class__".to_string());
                    s.symbols.insert("__class__".to_string(), Binding::Free);
                }
                let mut names: Vec<String> = s.params.clone();
                for n in s.bound.iter().chain(s.used.iter()) {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
                for n in names {
                    if n == "__class__" && s.needs_class_cell {
                        continue;
                    }
                    let b = if s.globals.contains(&n) {
                        Binding::GlobalExplicit
                    } else if s.nonlocals.contains(&n) {
                        Binding::Free
                    } else if s.bound_set.contains(&n) {
                        Binding::Local
                    } else if enclosing_fn_bound.iter().any(|b| b.contains(&n)) {
                        Binding::Free
                    } else {
                        Binding::GlobalImplicit
                    };
                    if b == Binding::Free && !s.freevars.contains(&n) {
                        s.freevars.push(n.clone());
                    }
                    if b == Binding::Local {
                        s.varnames.push(n.clone());
                    }
                    s.symbols.insert(n, b);
                }
                for r in requested {
                    match s.symbols.get(&r).copied() {
                        Some(Binding::Local) => {
                            s.symbols.insert(r.clone(), Binding::Cell);
                            s.cellvars.push(r);
                        }
                        Some(Binding::Free) => {}
                        _ => {
                            // Passed through from an enclosing function.
                            if !s.freevars.contains(&r) {
                                s.freevars.push(r.clone());
                            }
                            s.symbols.insert(r, Binding::Free);
                        }
                    }
                }
            }
        }
    }
}

/// Calls `f` on every direct sub-expression of `e` that opens no scope of
/// its own (lambdas and comprehensions are handled by the caller).
pub fn walk_children(e: &Expr, mut f: impl FnMut(&Expr)) {
    match e {
        Expr::BoolOp(b) => b.values.iter().for_each(f),
        Expr::Named(n) => {
            f(&n.target);
            f(&n.value)
        }
        Expr::BinOp(b) => {
            f(&b.left);
            f(&b.right)
        }
        Expr::UnaryOp(u) => f(&u.operand),
        Expr::If(i) => {
            f(&i.test);
            f(&i.body);
            f(&i.orelse)
        }
        Expr::Dict(d) => {
            for it in &d.items {
                if let Some(k) = &it.key {
                    f(k);
                }
                f(&it.value);
            }
        }
        Expr::Set(s) => s.elts.iter().for_each(f),
        Expr::Await(a) => f(&a.value),
        Expr::Compare(c) => {
            f(&c.left);
            c.comparators.iter().for_each(f)
        }
        Expr::Call(c) => {
            f(&c.func);
            c.arguments.args.iter().for_each(&mut f);
            c.arguments.keywords.iter().for_each(|k| f(&k.value));
        }
        Expr::FString(fs) => {
            for part in fs.value.iter() {
                if let ast::FStringPart::FString(s) = part {
                    walk_fstring_elements(&s.elements, &mut f);
                }
            }
        }
        Expr::Attribute(a) => f(&a.value),
        Expr::Subscript(s) => {
            f(&s.value);
            f(&s.slice)
        }
        Expr::Starred(s) => f(&s.value),
        Expr::List(l) => l.elts.iter().for_each(f),
        Expr::Tuple(t) => t.elts.iter().for_each(f),
        Expr::Slice(s) => {
            for x in [&s.lower, &s.upper, &s.step].into_iter().flatten() {
                f(x);
            }
        }
        _ => {}
    }
}

fn walk_fstring_elements(els: &ast::InterpolatedStringElements, f: &mut impl FnMut(&Expr)) {
    for el in els.iter() {
        if let ast::InterpolatedStringElement::Interpolation(i) = el {
            f(&i.expression);
            if let Some(spec) = &i.format_spec {
                walk_fstring_elements(&spec.elements, f);
            }
        }
    }
}

/// Analyses a module.
pub fn analyze(module: &ast::ModModule) -> Result<SymbolTable, SymError> {
    let mut b = Builder {
        scopes: vec![Scope::new(ScopeKind::Module, None)],
        by_range: HashMap::new(),
        cur: 0,
        errors: Vec::new(),
    };
    b.by_range.insert(key(module.range()), 0);
    b.stmts(&module.body);
    if let Some(e) = b.errors.into_iter().next() {
        return Err(e);
    }
    b.errors = Vec::new();
    b.resolve(0, &[]);
    // A nonlocal name must be bound in an enclosing function.
    for s in &b.scopes {
        for n in &s.nonlocals {
            let mut p = s.parent;
            let mut found = false;
            while let Some(i) = p {
                let sc = &b.scopes[i];
                if sc.kind == ScopeKind::Function && sc.bound_set.contains(n) && !sc.globals.contains(n) {
                    found = true;
                    break;
                }
                if sc.kind == ScopeKind::Module {
                    break;
                }
                p = sc.parent;
            }
            if !found && s.params.first().map(String::as_str) != Some(".0") {
                return Err(SymError {
                    msg: format!("no binding for nonlocal '{n}' found"),
                    range: TextRange::default(),
                });
            }
        }
    }
    Ok(SymbolTable { scopes: b.scopes, by_range: b.by_range })
}

/// The scope opened by the node at `range`.
pub fn scope_of(table: &SymbolTable, range: TextRange) -> usize {
    table.by_range[&key(range)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(src: &str) -> SymbolTable {
        let parsed = ruff_python_parser::parse_module(src).expect("parses");
        analyze(parsed.syntax()).expect("analyzes")
    }

    fn scope(t: &SymbolTable, kind: ScopeKind, nth: usize) -> &Scope {
        t.scopes.iter().filter(|s| s.kind == kind).nth(nth).expect("scope")
    }

    #[test]
    fn locals_cells_and_free_variables() {
        let t =
            table("def outer(a):\n    b = 1\n    def inner():\n        return a + b + c\n    return inner\n");
        let outer = scope(&t, ScopeKind::Function, 0);
        assert_eq!(outer.lookup("a"), Binding::Cell);
        assert_eq!(outer.lookup("b"), Binding::Cell);
        assert_eq!(outer.lookup("inner"), Binding::Local);
        let inner = scope(&t, ScopeKind::Function, 1);
        assert_eq!(inner.lookup("a"), Binding::Free);
        assert_eq!(inner.lookup("c"), Binding::GlobalImplicit);
        let mut free = inner.freevars.clone();
        free.sort();
        assert_eq!(free, ["a", "b"]);
    }

    #[test]
    fn global_and_nonlocal_declarations() {
        let t = table("x = 0\ndef f():\n    global x\n    x = 1\n    y = 2\n    def g():\n        nonlocal y\n        y = 3\n");
        let f = scope(&t, ScopeKind::Function, 0);
        assert_eq!(f.lookup("x"), Binding::GlobalExplicit);
        assert_eq!(f.lookup("y"), Binding::Cell);
        assert_eq!(scope(&t, ScopeKind::Function, 1).lookup("y"), Binding::Free);
        assert_eq!(scope(&t, ScopeKind::Module, 0).lookup("x"), Binding::Name);
    }

    #[test]
    fn generators_and_class_cells() {
        let t = table("def g():\n    yield 1\nclass C:\n    def m(self):\n        return super().m()\n");
        assert!(scope(&t, ScopeKind::Function, 0).generator);
        let method = scope(&t, ScopeKind::Function, 1);
        assert!(method.needs_class_cell);
        assert!(method.freevars.contains(&"__class__".to_string()), "{:?}", method.freevars);
        assert!(scope(&t, ScopeKind::Class, 0).cellvars.contains(&"__class__".to_string()));
    }

    #[test]
    fn a_bad_nonlocal_is_a_syntax_error() {
        let parsed = ruff_python_parser::parse_module("def f():\n    nonlocal q\n").expect("parses");
        let e = analyze(parsed.syntax()).expect_err("no binding for q");
        assert!(e.msg.contains("nonlocal"), "{}", e.msg);
    }
}
