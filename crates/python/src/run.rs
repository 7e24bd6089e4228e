//! Running a program: parse, compile, execute the module, report an
//! uncaught exception as CPython does, finalize at exit.

use crate::object::DictObject;
use pygc::Gc;
use ruff_text_size::TextRange;

use crate::compile::{self, CompileError};
use crate::object::func::Source;
use crate::object::{Dict, Module, Value};
use crate::vm::eval::Exit;
use crate::vm::{Frame, PyErr, Vm};

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status.
    Exit(i32),
}

/// Runs a file: `pygc-python FILE [ARGS]`.
pub fn run_file(path: &str, args: Vec<String>) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(2);
            let msg = match e.kind() {
                std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
                _ => e.to_string(),
            };
            eprintln!("pygc-python: can't open file '{}': [Errno {errno}] {msg}", absolute(path));
            return Outcome::Exit(2);
        }
    };
    let mut argv = vec![path.to_string()];
    argv.extend(args);
    // CPython 3.9+ names a script by its absolute path (`__file__`,
    // `co_filename`, tracebacks, tracemalloc), while `sys.argv[0]` stays as
    // given.
    run_source(&absolute(path), text, argv)
}

fn absolute(path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        std::env::current_dir().map(|d| d.join(p).display().to_string()).unwrap_or_else(|_| path.to_string())
    }
}

/// Runs source text as the `__main__` module.
pub fn run_source(filename: &str, text: String, argv: Vec<String>) -> Outcome {
    let vm = Vm::new(argv);
    let src = Gc::new(Source::new(filename.to_string(), text));
    let code = match parse_and_compile(&src) {
        Ok(c) => c,
        Err(e) => {
            report_compile_error(vm, &src, e);
            return Outcome::Exit(1);
        }
    };
    let globals = Dict::new_object();
    globals.set_str(&vm.name("__name__"), Value::str("__main__"));
    globals.set_str(&vm.name("__file__"), Value::str(filename.to_string()));
    globals.set_str(&vm.name("__builtins__"), vm.modules.get_str("builtins").unwrap_or(Value::None));
    globals.set_str(&vm.name("__doc__"), Value::None);
    let main = Value::Module(Gc::new(Module { name: "__main__".into(), dict: globals.clone() }));
    vm.modules.set_str(&vm.name("__main__"), main.clone());
    *vm.main_module.borrow_mut() = Some(main);
    let frame = Box::new(Frame::new(code, globals.clone(), None));
    let status = match vm.run_frame(frame, None) {
        Ok(Exit::Return(_)) => 0,
        Ok(Exit::Yield(..)) => 0,
        Err(e) => handle_uncaught(vm, e),
    };
    let status = finalize(vm, status);
    vm.flush_stdout();
    Outcome::Exit(status)
}

/// Compiles the source of a module written in Python and built into the
/// interpreter (`weakref`'s containers), then runs it in `globals`.
pub(crate) fn run_builtin_source(
    vm: &Vm,
    filename: &str,
    text: &str,
    globals: &Gc<Dict>,
) -> crate::vm::PyResult<()> {
    let src = Gc::new(Source::new(filename.to_string(), text.to_string()));
    let code = parse_and_compile(&src).map_err(|_| {
        vm.new_error("SystemError", format!("the built-in source {filename} does not compile"))
    })?;
    vm.run_frame(Box::new(Frame::new(code, globals.clone(), None)), None)?;
    Ok(())
}

fn parse_and_compile(src: &Gc<Source>) -> Result<Gc<crate::object::Code>, CompileError> {
    let parsed = ruff_python_parser::parse_module(&src.text).map_err(|e| CompileError::Syntax {
        msg: cpython_message(&e.error.to_string()),
        range: e.location,
    })?;
    if let Some(e) = parsed.unsupported_syntax_errors().first() {
        return Err(CompileError::Syntax { msg: e.to_string(), range: e.range });
    }
    compile::compile_module(parsed.syntax(), src.clone())
}

/// CPython's wording for the parser errors that have a well-known one.
fn cpython_message(ruff: &str) -> String {
    let lower = ruff.to_ascii_lowercase();
    if lower.contains("expected ':'") || lower.contains("expected `:`") {
        return "expected ':'".into();
    }
    if lower.contains("unexpected indentation") {
        return "unexpected indent".into();
    }
    if lower.contains("expected an indented block") {
        return "expected an indented block".into();
    }
    if lower.contains("unindent") {
        return "unindent does not match any outer indentation level".into();
    }
    if lower.contains("missing closing quote") || lower.contains("unterminated string") {
        return "unterminated string literal".into();
    }
    "invalid syntax".into()
}

fn report_compile_error(vm: &Vm, src: &Source, e: CompileError) {
    match e {
        CompileError::Syntax { msg, range } => {
            let (line, col, end_col, text) = location(src, range);
            let info = Value::tuple(vec![
                Value::str(src.filename.clone()),
                Value::Int(line as i64),
                Value::Int(col as i64 + 1),
                Value::str(text),
                Value::Int(line as i64),
                Value::Int(end_col as i64 + 1),
            ]);
            let class = vm.types.exc("SyntaxError").clone();
            let err = vm.new_exception(&class, vec![Value::str(msg), info]);
            vm.print_exception(&err);
        }
        CompileError::Unsupported { what, range } => {
            let (line, _, _, text) = location(src, range);
            let mut out = format!("  File \"{}\", line {}\n", src.filename, line);
            let t = text.trim();
            if !t.is_empty() {
                out.push_str(&format!("    {t}\n"));
            }
            out.push_str(&format!(
                "NotImplementedError: pygc-python does not support {what} (line {line})\n"
            ));
            vm.write_stderr(&out);
        }
    }
}

fn location(src: &Source, range: TextRange) -> (u32, usize, usize, String) {
    let start = range.start().to_u32();
    let line = src.line_of(start);
    let col = src.col_of(start);
    let end = range.end().to_u32();
    let end_col = if src.line_of(end) == line && end > start { src.col_of(end) } else { col + 1 };
    let text = src.line(line).unwrap_or("").to_string();
    (line, col, end_col.max(col + 1), text)
}

/// Prints an uncaught exception; the exit status (SystemExit's code).
fn handle_uncaught(vm: &Vm, e: PyErr) -> i32 {
    if e.is(vm, "SystemExit") {
        let args = e.args();
        let code = match &args {
            Value::Tuple(t) if t.items.len() == 1 => t.items[0].clone(),
            Value::Tuple(t) if t.items.is_empty() => Value::None,
            other => other.clone(),
        };
        return match code {
            Value::None => 0,
            Value::Int(i) => i as i32,
            Value::Bool(b) => b as i32,
            other => {
                let s = vm.str_of(&other).unwrap_or_default();
                vm.write_stderr(&format!("{s}\n"));
                1
            }
        };
    }
    vm.print_exception(&e);
    1
}

/// Interpreter shutdown, in CPython's order: the main module's names are
/// cleared (running `__del__` of what they held), then a last collection.
fn finalize(vm: &Vm, status: i32) -> i32 {
    vm.finalizing.set(true);
    vm.flush_stdout();
    crate::modules::weakref::run_atexit(vm);
    if let Some(Value::Module(m)) = vm.main_module.borrow_mut().take() {
        // CPython 3.11 sets the module's globals to None (keys kept).
        let keys: Vec<Value> = m.dict.table.borrow().iter().map(|e| e.key.clone()).collect();
        for k in keys {
            if let Value::Str(s) = &k {
                if &*s.s != "__builtins__" && &*s.s != "__name__" {
                    let old = m.dict.set_str(s, Value::None);
                    drop(old);
                }
            }
        }
    }
    pygc::gc::collect();
    let old = vm.modules.table.borrow_mut().clear();
    drop(old);
    pygc::gc::collect();
    vm.flush_stdout();
    status
}

/// Runs `src` as a module on this thread's VM and returns its namespace,
/// for the unit tests of the VM, the object model and the modules.
#[cfg(test)]
pub(crate) fn run_for_test(src: &str) -> (&'static Vm, Gc<Dict>, Result<(), PyErr>) {
    use crate::object::DictObject;
    let vm = Vm::new(vec!["test".into()]);
    let source = Gc::new(Source::new("<test>".into(), src.into()));
    let code = parse_and_compile(&source).unwrap_or_else(|_| panic!("{src:?} compiles"));
    let globals = Dict::new_object();
    globals.set_str(&vm.name("__name__"), Value::str("__test__"));
    let r = vm.run_frame(Box::new(Frame::new(code, globals.clone(), None)), None).map(|_| ());
    (vm, globals, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_messages_follow_cpython() {
        assert_eq!(cpython_message("Expected ':', found newline"), "expected ':'");
        assert_eq!(cpython_message("Unexpected indentation"), "unexpected indent");
        assert_eq!(cpython_message("something else"), "invalid syntax");
    }

    #[test]
    fn a_module_runs_and_keeps_its_globals() {
        let (_vm, g, r) = run_for_test("x = [i * i for i in range(4)]\ny = sum(x)\n");
        assert!(r.is_ok());
        assert!(matches!(g.get_str("y"), Some(Value::Int(14))));
    }

    #[test]
    fn an_error_comes_back_as_the_exception() {
        let (vm, _g, r) = run_for_test("def f():\n    return 1 / 0\nf()\n");
        let e = r.expect_err("raises");
        assert!(e.is(vm, "ZeroDivisionError"));
        assert_eq!(e.with_data(|d| d.traceback.len()), 2, "two frames");
    }
}
