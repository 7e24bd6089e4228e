//! The built-in types and the exception hierarchy, as class objects.

use std::collections::HashMap;

use pygc::{Gc, GcCell};

use super::Vm;
use crate::object::class::{Flags, Layout, SharedKeys};
use crate::object::{Class, Dict, DictObject, Native, NativeKind, Value};

/// Every built-in class the VM needs to reach quickly.
pub struct Types {
    /// `object`.
    pub object: Gc<Class>,
    /// `type`.
    pub type_: Gc<Class>,
    #[allow(missing_docs)]
    pub none_type: Gc<Class>,
    #[allow(missing_docs)]
    pub not_implemented_type: Gc<Class>,
    #[allow(missing_docs)]
    pub ellipsis_type: Gc<Class>,
    #[allow(missing_docs)]
    pub bool: Gc<Class>,
    #[allow(missing_docs)]
    pub int: Gc<Class>,
    #[allow(missing_docs)]
    pub float: Gc<Class>,
    #[allow(missing_docs)]
    pub str: Gc<Class>,
    #[allow(missing_docs)]
    pub bytes: Gc<Class>,
    #[allow(missing_docs)]
    pub tuple: Gc<Class>,
    #[allow(missing_docs)]
    pub list: Gc<Class>,
    #[allow(missing_docs)]
    pub dict: Gc<Class>,
    #[allow(missing_docs)]
    pub set: Gc<Class>,
    #[allow(missing_docs)]
    pub frozenset: Gc<Class>,
    #[allow(missing_docs)]
    pub range: Gc<Class>,
    #[allow(missing_docs)]
    pub slice: Gc<Class>,
    #[allow(missing_docs)]
    pub function: Gc<Class>,
    #[allow(missing_docs)]
    pub builtin_function: Gc<Class>,
    #[allow(missing_docs)]
    pub builtin_method: Gc<Class>,
    #[allow(missing_docs)]
    pub method: Gc<Class>,
    #[allow(missing_docs)]
    pub module: Gc<Class>,
    #[allow(missing_docs)]
    pub generator: Gc<Class>,
    #[allow(missing_docs)]
    pub cell: Gc<Class>,
    #[allow(missing_docs)]
    pub code: Gc<Class>,
    #[allow(missing_docs)]
    pub property: Gc<Class>,
    #[allow(missing_docs)]
    pub staticmethod: Gc<Class>,
    #[allow(missing_docs)]
    pub classmethod: Gc<Class>,
    #[allow(missing_docs)]
    pub super_: Gc<Class>,
    #[allow(missing_docs)]
    pub weakref: Gc<Class>,
    #[allow(missing_docs)]
    pub weakproxy: Gc<Class>,
    #[allow(missing_docs)]
    pub member_descriptor: Gc<Class>,
    #[allow(missing_docs)]
    pub mappingproxy: Gc<Class>,
    #[allow(missing_docs)]
    pub traceback: Gc<Class>,
    #[allow(missing_docs)]
    pub iterator: Gc<Class>,
    #[allow(missing_docs)]
    pub opaque: Gc<Class>,
    /// Exception classes by name.
    pub exceptions: HashMap<&'static str, Gc<Class>>,
    /// Iterator classes by name (`list_iterator`, `enumerate`, ...).
    pub iter_types: HashMap<&'static str, Gc<Class>>,
    /// Classes of native modules' objects by name
    /// ([`crate::modules::NATIVE_CLASSES`]).
    pub native: HashMap<&'static str, Gc<Class>>,
}

/// Makes a class object.
pub fn new_class(name: &str, bases: Vec<Gc<Class>>, layout: Layout, builtin: bool) -> Gc<Class> {
    let mro = crate::object::class::c3_merge(&bases).unwrap_or_default();
    Gc::new(Class {
        name: GcCell::new(name.to_string()),
        type_name: name.into(),
        qualname: GcCell::new(name.to_string()),
        bases,
        mro,
        dict: Dict::new_object(),
        layout,
        keys: GcCell::new(SharedKeys::default()),
        slots: None,
        flags: Flags::default(),
        builtin,
    })
}

const EXCEPTIONS: &[(&str, &str)] = &[
    ("BaseException", ""),
    ("GeneratorExit", "BaseException"),
    ("KeyboardInterrupt", "BaseException"),
    ("SystemExit", "BaseException"),
    ("Exception", "BaseException"),
    ("ArithmeticError", "Exception"),
    ("FloatingPointError", "ArithmeticError"),
    ("OverflowError", "ArithmeticError"),
    ("ZeroDivisionError", "ArithmeticError"),
    ("AssertionError", "Exception"),
    ("AttributeError", "Exception"),
    ("BufferError", "Exception"),
    ("EOFError", "Exception"),
    ("ImportError", "Exception"),
    ("ModuleNotFoundError", "ImportError"),
    ("LookupError", "Exception"),
    ("IndexError", "LookupError"),
    ("KeyError", "LookupError"),
    ("MemoryError", "Exception"),
    ("NameError", "Exception"),
    ("UnboundLocalError", "NameError"),
    ("OSError", "Exception"),
    ("FileNotFoundError", "OSError"),
    ("PermissionError", "OSError"),
    ("FileExistsError", "OSError"),
    ("IsADirectoryError", "OSError"),
    ("ReferenceError", "Exception"),
    ("RuntimeError", "Exception"),
    ("NotImplementedError", "RuntimeError"),
    ("RecursionError", "RuntimeError"),
    ("StopIteration", "Exception"),
    ("StopAsyncIteration", "Exception"),
    ("SyntaxError", "Exception"),
    ("IndentationError", "SyntaxError"),
    ("TabError", "IndentationError"),
    ("SystemError", "Exception"),
    ("TypeError", "Exception"),
    ("ValueError", "Exception"),
    ("UnicodeError", "ValueError"),
    ("UnicodeDecodeError", "UnicodeError"),
    ("UnicodeEncodeError", "UnicodeError"),
    ("Warning", "Exception"),
    ("UserWarning", "Warning"),
    ("DeprecationWarning", "Warning"),
    ("PendingDeprecationWarning", "Warning"),
    ("RuntimeWarning", "Warning"),
    ("SyntaxWarning", "Warning"),
    ("ResourceWarning", "Warning"),
    ("FutureWarning", "Warning"),
    ("ImportWarning", "Warning"),
    ("UnicodeWarning", "Warning"),
    ("BytesWarning", "Warning"),
];

/// Iterator type names (CPython's `type(iter(x)).__name__`).
const ITER_TYPES: &[&str] = &[
    "list_iterator",
    "tuple_iterator",
    "str_ascii_iterator",
    "bytes_iterator",
    "range_iterator",
    "dict_keyiterator",
    "dict_valueiterator",
    "dict_itemiterator",
    "set_iterator",
    "list_reverseiterator",
    "enumerate",
    "zip",
    "map",
    "filter",
    "callable_iterator",
    "iterator",
    "dict_keys",
    "dict_values",
    "dict_items",
];

impl Types {
    /// Builds the classes.
    pub fn new() -> Types {
        let object = new_class("object", vec![], Layout::Object, true);
        let b = |name: &str| new_class(name, vec![object.clone()], Layout::Builtin, true);
        let int = b("int");
        let bool_ = new_class("bool", vec![int.clone()], Layout::Builtin, true);
        let mut exceptions: HashMap<&'static str, Gc<Class>> = HashMap::new();
        for (name, base) in EXCEPTIONS {
            let bases = if base.is_empty() { vec![object.clone()] } else { vec![exceptions[base].clone()] };
            let c = new_class(name, bases, Layout::Exception, true);
            exceptions.insert(*name, c);
        }
        let iter_types = ITER_TYPES.iter().map(|n| (*n, b(n))).collect();
        let native = crate::modules::NATIVE_CLASSES
            .iter()
            .map(|(name, module)| {
                let c = b(name);
                c.dict.set_str(&Gc::new(crate::object::PyStr::new("__module__".into())), Value::str(*module));
                (*name, c)
            })
            .collect();
        Types {
            type_: b("type"),
            none_type: b("NoneType"),
            not_implemented_type: b("NotImplementedType"),
            ellipsis_type: b("ellipsis"),
            bool: bool_,
            int,
            float: b("float"),
            str: b("str"),
            bytes: b("bytes"),
            tuple: b("tuple"),
            list: b("list"),
            dict: b("dict"),
            set: b("set"),
            frozenset: b("frozenset"),
            range: b("range"),
            slice: b("slice"),
            function: b("function"),
            builtin_function: b("builtin_function_or_method"),
            builtin_method: b("builtin_function_or_method"),
            method: b("method"),
            module: b("module"),
            generator: b("generator"),
            cell: b("cell"),
            code: b("code"),
            property: b("property"),
            staticmethod: b("staticmethod"),
            classmethod: b("classmethod"),
            super_: b("super"),
            weakref: b("weakref"),
            weakproxy: b("weakproxy"),
            member_descriptor: b("member_descriptor"),
            mappingproxy: b("mappingproxy"),
            traceback: b("traceback"),
            iterator: b("iterator"),
            opaque: b("TextIOWrapper"),
            exceptions,
            iter_types,
            native,
            object,
        }
    }

    /// An exception class by name.
    pub fn exc(&self, name: &str) -> &Gc<Class> {
        self.exceptions.get(name).unwrap_or_else(|| &self.exceptions["Exception"])
    }
}

impl Default for Types {
    fn default() -> Self {
        Types::new()
    }
}

/// The class of a [`Native`] object.
pub fn native_class<'v>(vm: &'v Vm, n: &'v Native) -> &'v Gc<Class> {
    let t = &vm.types;
    match &n.kind {
        NativeKind::Iter(_) | NativeKind::DictView(..) => &t.iter_types[n.kind_name()],
        NativeKind::Property { .. } => &t.property,
        NativeKind::StaticMethod(_) => &t.staticmethod,
        NativeKind::ClassMethod(_) => &t.classmethod,
        NativeKind::Super { .. } => &t.super_,
        NativeKind::WeakRef(_) => &t.weakref,
        NativeKind::WeakProxy(_) => &t.weakproxy,
        NativeKind::Member { .. } => &t.member_descriptor,
        NativeKind::MappingProxy(_) => &t.mappingproxy,
        NativeKind::Traceback(_) => &t.traceback,
        NativeKind::Opaque(o) => o.class(vm),
    }
}

/// Registers the methods of the built-in types (see `builtins/`).
pub fn install_methods(vm: &'static Vm) {
    crate::builtins::types::install(vm);
}

/// `Value::Class` of a built-in.
pub fn class_value(c: &Gc<Class>) -> Value {
    Value::Class(c.clone())
}
