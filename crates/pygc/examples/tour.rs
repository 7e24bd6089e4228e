//! The seed walkthrough: CPython's memory management, part by part, with
//! the Python line beside the Rust line and what each output means.
//!
//! Run it with `cargo run --release --example tour`.

use pygc::{gc, sys, Gc, GcCell, Trace, Weak};

/// Prints a Python statement and its Rust twin side by side, with a result.
fn side(python: &str, rust: &str, result: impl std::fmt::Display) {
    println!("  {python:<34} | {rust:<48} -> {result}");
}

fn heading(title: &str) {
    println!("\n=== {title} ===");
}

fn explain(text: &str) {
    println!("  # {text}");
}

/// Python's `class Node: def __init__(self): self.ref = None`.
#[derive(Trace)]
struct Node {
    r#ref: GcCell<Option<Gc<Node>>>,
}

impl Node {
    fn new() -> Gc<Node> {
        Gc::new(Node { r#ref: GcCell::new(None) })
    }
}

fn reference_counting() {
    heading("Reference counting");
    explain(
        "Every object carries a count of the references to it; it is freed the moment the count reaches 0.",
    );
    let x = Gc::new(Vec::<Gc<Node>>::new());
    side("x = []", "let x = Gc::new(Vec::<Gc<Node>>::new());", "created");
    side("sys.getrefcount(x)", "sys::getrefcount(&x)", sys::getrefcount(&x));
    explain("2, not 1: like CPython, getrefcount counts the reference its own argument holds.");
    let y = x.clone();
    side("y = x", "let y = x.clone();", "");
    side("sys.getrefcount(x)", "sys::getrefcount(&x)", sys::getrefcount(&x));
    drop(y);
    side("del y", "drop(y);", format!("getrefcount = {}", sys::getrefcount(&x)));
    side("sys.getsizeof(x)", "sys::getsizeof(&x)", sys::getsizeof(&x));
    explain("The size includes the 32-byte header a tracked object carries (16 for objects that hold no handles).");
}

fn forced_collection() {
    heading("The garbage collector: a forced collection");
    side("gc.collect()", "gc::collect()", gc::collect());
    explain("0 in a fresh program: reference counting already freed everything it could, and there are no cycles.");
    side("gc.get_threshold()", "gc::get_threshold()", format!("{:?}", gc::get_threshold()));
    side("gc.get_count()", "gc::get_count()", format!("{:?}", gc::get_count()));
    explain("Generation 0 is collected automatically once 700 more containers were allocated than freed.");
}

fn memory_leak() {
    heading("A memory leak only the collector can fix");
    let a = Node::new();
    side("a = Node()", "let a = Node::new();", "");
    *a.r#ref.borrow_mut() = Some(a.clone());
    side("a.ref = a", "*a.r#ref.borrow_mut() = Some(a.clone());", "");
    let probe: Weak<Node> = Gc::downgrade(&a);
    drop(a);
    side("del a", "drop(a);", "");
    let count = probe.strong_count();
    side("# still alive?", "probe.strong_count()", format!("{count} (the self-reference)"));
    explain("The object refers to itself, so its count never reaches 0: reference counting alone leaks it.");
    side("gc.collect()", "gc::collect()", gc::collect());
    side("# still alive?", "probe.strong_count()", probe.strong_count());
    explain("The collector found the unreachable cycle (1 object) and freed it, as CPython 3.11 reports.");
}

fn best_practices() {
    heading("Best practices");
    explain("1. Drop what you no longer need: `del x` in Python, `drop(x)` or leaving scope in Rust.");
    let big = Gc::new(vec![0u8; 1 << 20]);
    drop(big);
    side("del big", "drop(big);", "freed at once, no collection needed");

    explain("2. Use weak references for back-pointers, so parents and children make no cycle.");
    #[derive(Trace)]
    struct Parent {
        children: GcCell<Vec<Gc<Child>>>,
    }
    #[derive(Trace)]
    struct Child {
        parent: Weak<Parent>,
    }
    let parent = Gc::new(Parent { children: GcCell::new(Vec::new()) });
    let child = Gc::new(Child { parent: Gc::downgrade(&parent) });
    parent.children.borrow_mut().push(child);
    let alive = parent.children.borrow()[0].parent.upgrade().is_some();
    drop(parent);
    side(
        "child.parent = weakref.ref(parent)",
        "Child { parent: Gc::downgrade(&parent) }",
        format!("parent reachable: {alive}; collect() after drop = {}", gc::collect()),
    );

    explain("3. Stream with iterators instead of loading everything at once.");
    let total: u64 = (0..1_000_000u64).map(|i| i % 7).sum();
    side("sum(i % 7 for i in range(10**6))", "(0..1_000_000).map(|i| i % 7).sum()", total);
}

fn main() {
    println!("pygc tour: CPython's memory management, in Rust");
    reference_counting();
    forced_collection();
    memory_leak();
    best_practices();
}
