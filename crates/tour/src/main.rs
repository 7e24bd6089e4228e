//! The seed walkthrough: CPython's memory management, part by part, with
//! the Python line beside the Rust line and what each output means.
//!
//! Run it with `cargo run --release -p pygc-tour`.

use pygc::objgraph::{self, GraphOptions, GrowthOptions};
use pygc::tracemalloc::{self, KeyType};
use pygc::{gc, sys, Gc, GcCell, Trace, Weak};

/// Every Rust allocation of the tour goes through obmalloc's pools, as every
/// small Python object goes through pymalloc, and tracemalloc can see it.
#[global_allocator]
static ALLOCATOR: tracemalloc::Tracing<obmalloc::ObMalloc> = tracemalloc::Tracing::new(obmalloc::ObMalloc);

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

/// What each line of `sys._debugmallocstats()` says, keyed by how it starts.
fn explain_stats_line(line: &str) -> Option<&'static str> {
    let t = line.trim_start();
    Some(match () {
        _ if t.starts_with("Small block threshold") => "Requests up to 512 bytes are served from pools, rounded up to a multiple of 16.",
        _ if t.starts_with("class") => "One row per size class that owns pools: its block size, pools, blocks handed out and blocks still free.",
        _ if t.starts_with("-----") => return None,
        _ if t.starts_with("# arenas allocated total") => "Arenas (1 MiB each, from mmap) ever allocated.",
        _ if t.starts_with("# arenas reclaimed") => "Arenas given back to the OS because all their pools were empty.",
        _ if t.starts_with("# arenas highwater") => "The most arenas alive at once.",
        _ if t.starts_with("# arenas allocated current") => "Arenas alive now.",
        _ if t.contains("bytes/arena") => "The memory those arenas hold: the total the next six lines account for.",
        _ if t.starts_with("# bytes in allocated blocks") => "Bytes in blocks handed out (rounded up to their size class).",
        _ if t.starts_with("# bytes in available blocks") => "Bytes in free blocks of pools that are in use.",
        _ if t.contains("unused pools") => "Pools with no block in use, kept in their arenas for reuse.",
        _ if t.starts_with("# bytes lost to pool headers") => "48 bytes of header per pool.",
        _ if t.starts_with("# bytes lost to quantization") => "The tail of each pool too small for one more block.",
        _ if t.starts_with("# bytes lost to arena alignment") => "One pool lost per arena that mmap did not align to 16 KiB.",
        _ if t.starts_with("Total") => "The sum, equal to the arena memory above.",
        _ if t.starts_with("arena map counts") => "The radix tree that answers 'is this address in an arena?':",
        _ if t.starts_with("# arena map") => "Its interior nodes allocated so far.",
        _ if t.starts_with("# bytes lost to arena map") => "Memory the tree's levels take.",
        _ => return None,
    })
}

fn memory_pools() {
    heading("Memory pools (PyMalloc)");
    explain(
        "Small objects come from 16 KiB pools inside 1 MiB arenas, one size class per pool, as in CPython.",
    );
    let objects: Vec<Gc<Vec<u32>>> = (0..50_000u32).map(|i| Gc::new(vec![i; (i % 24) as usize])).collect();
    side(
        "objs = [[i] * (i % 24) for i in range(50000)]",
        "(0..50_000).map(|i| Gc::new(vec![i; i % 24]))",
        format!("{} objects", objects.len()),
    );
    side("sys._debugmallocstats()", "obmalloc::debug_malloc_stats()", "the report, line by line:");
    let mut report = Vec::new();
    obmalloc::debug_malloc_stats_to(&mut report).expect("writing to a Vec cannot fail");
    let report = String::from_utf8(report).expect("the report is ASCII");
    let mut explained_row = false;
    let mut in_map = false;
    for line in report.lines() {
        println!("    {line}");
        in_map |= line.starts_with("arena map counts");
        if in_map && line.starts_with("Total") {
            println!("      # The memory the arena map takes in all (virtual: its pages are touched only when used).");
        } else if let Some(why) = explain_stats_line(line) {
            println!("      # {why}");
        } else if !explained_row && line.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()) {
            println!("      # Class 0: 16-byte blocks; the columns are class, size, pools, blocks in use, free blocks.");
            explained_row = true;
        }
    }
    let stats = obmalloc::stats();
    explain(&format!(
        "{} arenas now; the accounting lines add up to exactly {} bytes.",
        stats.arenas_current,
        stats.accounted_bytes()
    ));
    drop(objects);
    let after = obmalloc::stats();
    side(
        "del objs",
        "drop(objects)",
        format!(
            "arenas: {} -> {} (empty arenas go straight back to the OS)",
            stats.arenas_current, after.arenas_current
        ),
    );
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

/// Allocation sites for the tracemalloc section, one line each.
#[inline(never)]
fn make_nodes(n: usize) -> Vec<Gc<Node>> {
    (0..n).map(|_| Node::new()).collect()
}

#[inline(never)]
fn make_labels(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("label {i}")).collect()
}

fn tracing_allocations() -> Result<(), tracemalloc::Error> {
    heading("tracemalloc: where the memory was allocated");
    tracemalloc::start(1)?;
    side("tracemalloc.start()", "tracemalloc::start(1)?", "tracing pygc objects and every Rust allocation");
    let nodes = make_nodes(20_000);
    let labels = make_labels(5_000);
    let first = tracemalloc::take_snapshot()?;
    side("snapshot = tracemalloc.take_snapshot()", "tracemalloc::take_snapshot()?", "");
    side("display_top(snapshot)", "tracemalloc::display_top(&snapshot, KeyType::Lineno, 10)", "");
    print!("{}", tracemalloc::display_top(&first, KeyType::Lineno, 10)?);
    explain("Each line: where the blocks were allocated, their total size; the source line follows it.");
    drop(nodes);
    let more = make_labels(20_000);
    let second = tracemalloc::take_snapshot()?;
    side("snapshot2.compare_to(snapshot, 'lineno')", "second.compare_to(&first, KeyType::Lineno, false)", "");
    let diffs = second.compare_to(&first, KeyType::Lineno, false)?;
    for stat in diffs.iter().take(3) {
        println!("  {stat}");
    }
    explain("The nodes were freed (a negative diff); the labels line grew.");
    let (current, peak) = tracemalloc::get_traced_memory();
    side(
        "tracemalloc.get_traced_memory()",
        "tracemalloc::get_traced_memory()",
        format!("current {current} B, peak {peak} B"),
    );
    drop((labels, more));
    tracemalloc::stop();
    Ok(())
}

fn object_graphs() -> Result<(), Box<dyn std::error::Error>> {
    heading("objgraph: which objects, and why they are alive");
    objgraph::show_growth(Some(3), &GrowthOptions::default())?;
    side(
        "objgraph.show_growth()",
        "objgraph::show_growth(..)",
        "the first call records the baseline (no tracked objects yet: nothing printed)",
    );
    let a = Node::new();
    *a.r#ref.borrow_mut() = Some(a.clone());
    let id = Gc::id(&a);
    drop(a);
    side("a = Node(); a.ref = a; del a", "Node::new(); ...; drop(a)", "leaked until a collection");
    objgraph::show_growth(Some(3), &GrowthOptions { collect: false, ..Default::default() })?;
    explain("One more Node than at the peak before: the leak, found by counting objects per type.");
    let node = objgraph::at(id).ok_or("the node should still be alive")?;
    let svg = std::env::temp_dir().join("pygc-tour-node-backrefs.svg");
    objgraph::show_backrefs(
        std::slice::from_ref(&node),
        GraphOptions { filename: Some(svg.clone()), refcounts: true, ..Default::default() },
    )?;
    side("objgraph.show_backrefs([a], filename=...)", "objgraph::show_backrefs(&[node], ..)", svg.display());
    explain("The picture shows the Node referring to itself through its `ref` field: nothing else holds it.");
    drop(node);
    side("gc.collect()", "gc::collect()", gc::collect());
    Ok(())
}

/// Profiled line by line: `#[pygc::profile]` is memory_profiler's `@profile`.
#[pygc::profile]
fn build_and_drop() -> usize {
    let nodes: Vec<Gc<Node>> = (0..200_000).map(|_| Node::new()).collect();
    let buffer = vec![1u8; 16 << 20];
    let total = nodes.len() + buffer.len();
    drop(nodes);
    drop(buffer);
    total
}

fn line_by_line() {
    heading("memory_profiler: line-by-line memory of a function");
    explain("`@profile` in Python, `#[pygc::profile]` here: the table prints when the function returns.");
    let total = build_and_drop();
    explain(&format!(
        "Mem usage is the most seen at the line; Increment sums the line's changes ({total} items made)."
    ));
}

fn main() {
    // Profiled functions report exact live heap bytes from the pools.
    pygc::memory_profiler::set_heap_source(obmalloc::live_bytes);
    println!("pygc tour: CPython's memory management, in Rust");
    memory_pools();
    reference_counting();
    forced_collection();
    memory_leak();
    best_practices();
    tracing_allocations().expect("tracemalloc section");
    object_graphs().expect("objgraph section");
    line_by_line();
}
