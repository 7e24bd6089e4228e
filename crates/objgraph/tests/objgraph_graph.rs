//! objgraph's reference graphs: DOT golden files (addresses normalised),
//! too_many, shortnames, weak and finalizer markers, SVG and PNG output,
//! status lines and errors.

use std::path::{Path, PathBuf};

use pygc::objgraph::{self, GraphOptions, ObjgraphError, Renderer};
use pygc::{Finalize, Gc, GcAny, GcCell, Trace, Weak};

#[derive(Trace)]
struct Node {
    name: &'static str,
    next: GcCell<Option<Gc<Node>>>,
    parent: GcCell<Option<Weak<Tree>>>,
}

#[derive(Trace)]
struct Tree {
    children: GcCell<Vec<Gc<Node>>>,
    label: Gc<String>,
}

#[derive(Trace)]
#[pygc(finalize)]
struct Closer {
    target: Gc<Node>,
}

impl Finalize for Closer {
    fn finalize(_: &Gc<Self>) {}
}

fn node(name: &'static str) -> Gc<Node> {
    Gc::new(Node { name, next: GcCell::new(None), parent: GcCell::new(None) })
}

/// A tree of two nodes, the second pointing at itself, both pointing back
/// at the tree weakly.
fn sample() -> (Gc<Tree>, Gc<Node>, Gc<Node>) {
    let a = node("a");
    let b = node("b");
    *b.next.borrow_mut() = Some(b.clone());
    let t = Gc::new(Tree {
        children: GcCell::new(vec![a.clone(), b.clone()]),
        label: Gc::new(String::from("root")),
    });
    *a.parent.borrow_mut() = Some(Gc::downgrade(&t));
    *b.parent.borrow_mut() = Some(Gc::downgrade(&t));
    assert!(a.name != b.name);
    (t, a, b)
}

/// Replaces each distinct number after `o` (node ids) and each `0x…`
/// address with its order of first appearance.
fn normalise(dot: &str) -> String {
    let mut ids: Vec<String> = Vec::new();
    let mut out = String::new();
    let b = dot.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let is_id = b[i] == b'o'
            && i + 1 < b.len()
            && b[i + 1].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        let is_hex = b[i] == b'0' && i + 1 < b.len() && b[i + 1] == b'x';
        if is_id || is_hex {
            let start = if is_id { i + 1 } else { i + 2 };
            let mut j = start;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            let raw = &dot[start..j];
            let value =
                if is_id { raw.parse::<usize>().unwrap() } else { usize::from_str_radix(raw, 16).unwrap() };
            let key = value.to_string();
            let n = match ids.iter().position(|x| *x == key) {
                Some(n) => n,
                None => {
                    ids.push(key);
                    ids.len() - 1
                }
            };
            out.push_str(if is_id { "o" } else { "0x" });
            out.push_str(&format!("ADDR{n}"));
            i = j;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn dot_of(f: impl FnOnce(GraphOptions<'_>)) -> String {
    let mut buf = Vec::new();
    f(GraphOptions { output: Some(&mut buf), ..Default::default() });
    String::from_utf8(buf).unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("PYGC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with PYGC_BLESS=1 to create)", path.display()));
    assert_eq!(actual, expected, "golden file {}", path.display());
}

#[test]
fn show_refs_dot_golden() {
    let (t, _a, _b) = sample();
    let dot = dot_of(|o| {
        objgraph::show_refs(&[Gc::to_any(&t)], GraphOptions { refcounts: true, ..o }).unwrap();
    });
    golden("objgraph_refs.dot", &normalise(&dot));
    // Exact heap labels, weak edges dashed.
    assert!(dot.contains("[label=\"children[0]\",weight=2]"));
    assert!(dot.contains("[label=\"next\",weight=10]"));
    assert!(dot.contains("[label=\"parent\",weight=10,style=dashed]"));
    assert!(dot.contains("[label=\"label\",weight=10]"));
}

#[test]
fn show_backrefs_dot_golden() {
    let (t, a, _b) = sample();
    let closer = Gc::new(Closer { target: a.clone() });
    let dot = dot_of(|o| {
        objgraph::show_backrefs(&[Gc::to_any(&a)], o).unwrap();
    });
    golden("objgraph_backrefs.dot", &normalise(&dot));
    // The finalizer marker of objgraph's __del__ convention.
    assert!(dot.contains("_has_a_del[label=\"__del__\",shape=doublecircle"));
    drop((t, closer));
}

#[test]
fn too_many_collapses_the_rest() {
    let many: Vec<Gc<Node>> = (0..15).map(|_| node("x")).collect();
    let t = Gc::new(Tree { children: GcCell::new(many.clone()), label: Gc::new(String::new()) });
    let dot = dot_of(|o| {
        objgraph::show_refs(&[Gc::to_any(&t)], GraphOptions { max_depth: 1, ..o }).unwrap();
    });
    // 16 referents (15 children and the label), 10 drawn.
    assert_eq!(dot.matches(" -> ").count(), 10);
    assert!(dot.contains("too_many_o"));
    assert!(dot.contains(
        "[label=\"6 more references\",shape=box,height=0.25,color=red,fillcolor=\"0,1,0.3\",fontsize=6];"
    ));
    let back = dot_of(|o| {
        objgraph::show_backrefs(&[Gc::to_any(&many[0])], GraphOptions { too_many: 0, max_depth: 1, ..o })
            .unwrap();
    });
    assert!(back.contains("\"1 more backreferences\""));
}

#[test]
fn shortnames_and_extra_info_and_highlight() {
    let (t, _a, _b) = sample();
    let info = |o: &GcAny| format!("{} bytes", pygc::sys::getsizeof(o));
    let attrs = |o: &GcAny| vec![("URL".to_string(), o.id().to_string()), ("A".into(), "x\"y".into())];
    let is_tree = |o: &GcAny| o.is::<Tree>();
    let mut buf = Vec::new();
    objgraph::show_refs(
        &[Gc::to_any(&t)],
        GraphOptions {
            shortnames: false,
            extra_info: Some(&info),
            extra_node_attrs: Some(&attrs),
            highlight: Some(&is_tree),
            max_depth: 1,
            output: Some(&mut buf),
            ..Default::default()
        },
    )
    .unwrap();
    let dot = String::from_utf8(buf).unwrap();
    assert!(dot.contains("[label=\"objgraph_graph::Tree\\n<Tree object at 0x"));
    assert!(dot.contains(&format!(" bytes\", A=\"x\\\"y\", URL=\"{}\"];", Gc::id(&t))));
    assert!(dot.contains("[fillcolor=\"0.6,0.6,1\"];"));
    assert!(dot.contains("alloc::string::String"));
}

#[test]
fn show_chain_draws_only_the_chain() {
    let (t, a, b) = sample();
    let is_tree = |o: &GcAny| o.is::<Tree>();
    let chain = objgraph::find_backref_chain(&Gc::to_any(&b), &is_tree, &Default::default());
    assert_eq!(chain.len(), 2);
    let g = objgraph::chain_graph(&[chain], true, &GraphOptions::default());
    assert_eq!(g.node_count(), 2);
    assert!(!g.dot().contains(&format!("o{}[", Gc::id(&a))));
    drop(t);
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pygc-objgraph-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn svg_parses_and_png_rasterizes() {
    let (t, _a, _b) = sample();
    let svg_path = tmp("refs.svg");
    let mut status = Vec::new();
    let report = objgraph::show_refs(
        &[Gc::to_any(&t)],
        GraphOptions { filename: Some(svg_path.clone()), status: Some(&mut status), ..Default::default() },
    )
    .unwrap();
    let status = String::from_utf8(status).unwrap();
    let dot_path = report.dot_path.clone().unwrap();
    assert_eq!(
        status,
        format!(
            "Graph written to {} (4 nodes)\nImage generated as {}\n",
            dot_path.display(),
            svg_path.display()
        )
    );
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let groups = doc
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("id").is_some_and(|i| i.starts_with('o')))
        .count();
    assert_eq!(groups, 4);
    assert!(svg.contains("children[1]"));

    let png_path = tmp("refs.png");
    objgraph::show_refs(
        &[Gc::to_any(&t)],
        GraphOptions {
            filename: Some(png_path.clone()),
            status: Some(&mut Vec::new()),
            ..Default::default()
        },
    )
    .unwrap();
    let pm = tiny_skia::Pixmap::load_png(&png_path).unwrap();
    assert!(pm.width() > 50 && pm.height() > 50);
    let inked = pm.pixels().iter().filter(|p| p.red() < 128 && p.green() < 128 && p.blue() < 128).count();
    assert!(inked > 500, "only {inked} dark pixels");
    let _ = std::fs::remove_file(dot_path);
}

#[test]
fn a_dot_file_is_written_as_asked() {
    let (t, _a, _b) = sample();
    let path = tmp("refs.dot");
    let mut status = Vec::new();
    objgraph::show_refs(
        &[Gc::to_any(&t)],
        GraphOptions { filename: Some(path.clone()), status: Some(&mut status), ..Default::default() },
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(status).unwrap(),
        format!("Graph written to {} (4 nodes)\n", path.display())
    );
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("digraph ObjectGraph {\n"));
}

#[test]
fn errors_are_clear() {
    let (t, _a, _b) = sample();
    let objs = [Gc::to_any(&t)];
    let mut buf = Vec::new();
    let both = objgraph::show_refs(
        &objs,
        GraphOptions { output: Some(&mut buf), filename: Some("x.dot".into()), ..Default::default() },
    );
    assert!(matches!(both, Err(ObjgraphError::OutputAndFilename)));
    assert!(buf.is_empty());

    let bad = PathBuf::from("/nonexistent-dir-for-pygc/graph.svg");
    let mut status = Vec::new();
    let err = objgraph::show_refs(
        &objs,
        GraphOptions { filename: Some(bad.clone()), status: Some(&mut status), ..Default::default() },
    )
    .unwrap_err();
    assert!(status.is_empty(), "nothing is reported written");
    match &err {
        ObjgraphError::File { path, .. } => assert_eq!(path, &bad),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("cannot write /nonexistent-dir-for-pygc/graph.svg: "));

    let err = objgraph::show_refs(
        &objs,
        GraphOptions {
            filename: Some(tmp("graph.xyz")),
            status: Some(&mut Vec::new()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, ObjgraphError::UnknownFormat { .. }), "{err:?}");
    assert!(!tmp("graph.xyz").exists());

    // Graphviz asked for: used if installed, a clear error if not.
    let gv = objgraph::show_refs(
        &objs,
        GraphOptions {
            filename: Some(tmp("gv.png")),
            renderer: Renderer::Graphviz,
            status: Some(&mut Vec::new()),
            ..Default::default()
        },
    );
    let has_dot =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join("dot").is_file());
    if has_dot {
        gv.unwrap();
    } else {
        assert!(matches!(gv, Err(ObjgraphError::GraphvizNotFound)));
    }
}

#[test]
fn without_a_filename_a_png_lands_beside_a_temporary_dot() {
    let (t, _a, _b) = sample();
    let mut status = Vec::new();
    let report = objgraph::show_refs(
        &[Gc::to_any(&t)],
        GraphOptions { renderer: Renderer::Builtin, status: Some(&mut status), ..Default::default() },
    )
    .unwrap();
    let dot = report.dot_path.unwrap();
    let png = report.image_path.unwrap();
    assert_eq!(png, dot.with_extension("png"));
    assert!(dot.file_name().unwrap().to_str().unwrap().starts_with("objgraph-"));
    assert_eq!(
        String::from_utf8(status).unwrap(),
        format!("Graph written to {} (4 nodes)\nImage generated as {}\n", dot.display(), png.display())
    );
    assert!(tiny_skia::Pixmap::load_png(&png).is_ok());
    let _ = std::fs::remove_file(dot);
    let _ = std::fs::remove_file(png);
}

#[test]
fn weak_references_are_optional_in_refs_and_absent_from_backrefs() {
    let (t, a, _b) = sample();
    let no_weak = dot_of(|o| {
        objgraph::show_refs(&[Gc::to_any(&a)], GraphOptions { weak: false, ..o }).unwrap();
    });
    assert!(!no_weak.contains("dashed"));
    assert!(!no_weak.contains(&format!("o{}[", Gc::id(&t))));
    // Back-references of the tree: the nodes' weak `parent` handles do not
    // keep it alive, so they are not drawn.
    let back = dot_of(|o| {
        objgraph::show_backrefs(&[Gc::to_any(&t)], o).unwrap();
    });
    assert!(!back.contains("parent"));
    assert_eq!(back.matches(" -> ").count(), 0);
}

#[test]
fn a_referrer_holding_an_object_twice_draws_two_edges_and_counts_once() {
    let n = node("n");
    let t =
        Gc::new(Tree { children: GcCell::new(vec![n.clone(), n.clone()]), label: Gc::new(String::new()) });
    let dot = dot_of(|o| {
        objgraph::show_backrefs(&[Gc::to_any(&n)], GraphOptions { too_many: 1, ..o }).unwrap();
    });
    assert!(dot.contains("[label=\"children[0]\",weight=2]"));
    assert!(dot.contains("[label=\"children[1]\",weight=2]"));
    assert!(!dot.contains("more backreferences"));
    drop(t);
}
