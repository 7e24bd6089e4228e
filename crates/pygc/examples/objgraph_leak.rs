//! objgraph on a leak: `show_growth` before and after creating a
//! self-referencing `Node`, then its back-reference graph as an SVG (and a
//! PNG) drawn without Graphviz.
//!
//! Run with `cargo run -p pygc --example objgraph_leak`.

use pygc::objgraph::{self, GraphOptions, GrowthOptions};
use pygc::{Gc, GcCell, Trace, Weak};

/// A node that points at itself through `next`, and at its parent weakly.
#[derive(Trace)]
struct Node {
    name: &'static str,
    next: GcCell<Option<Gc<Node>>>,
    parent: GcCell<Option<Weak<Registry>>>,
}

/// Something the program holds, keeping every node it registers.
#[derive(Trace)]
struct Registry {
    nodes: GcCell<Vec<Gc<Node>>>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Gc::new(Registry { nodes: GcCell::new(Vec::new()) });

    println!("### show_growth() before");
    objgraph::show_growth(Some(5), &GrowthOptions::default())?;

    let leak = Gc::new(Node {
        name: "leak",
        next: GcCell::new(None),
        parent: GcCell::new(Some(Gc::downgrade(&registry))),
    });
    *leak.next.borrow_mut() = Some(leak.clone()); // leak.next = leak
    registry.nodes.borrow_mut().push(leak.clone());
    let id = Gc::id(&leak);
    println!("created {} at {id:#x}", leak.name);
    drop(leak); // only the registry (and the cycle) keep it now

    println!("### show_growth() after");
    objgraph::show_growth(Some(5), &GrowthOptions::default())?;

    let retained = objgraph::retained_size(&Gc::to_any(&registry));
    println!("the registry retains {} objects, {} bytes", retained.objects, retained.bytes);
    drop(retained);

    let node = objgraph::at(id).ok_or("the node is gone")?;
    let chain = objgraph::why_alive(&node).ok_or("nothing holds the node")?;
    let names: Vec<String> = chain.iter().map(|o| o.short_type_name()).collect();
    println!("why_alive: {}", names.join(" -> "));
    drop(chain);

    let dir = std::env::temp_dir();
    let svg = dir.join("objgraph-leak-backrefs.svg");
    objgraph::show_backrefs(
        std::slice::from_ref(&node),
        GraphOptions { filename: Some(svg.clone()), refcounts: true, ..Default::default() },
    )?;
    println!("back-reference graph: {}", svg.display());
    let png = dir.join("objgraph-leak-refs.png");
    objgraph::show_refs(
        &[Gc::to_any(&registry)],
        GraphOptions { filename: Some(png.clone()), ..Default::default() },
    )?;
    println!("reference graph: {}", png.display());
    Ok(())
}
