//! Reference graphs: the breadth-first walk of objgraph's `_show_graph`,
//! writing objgraph's DOT statements in objgraph's order and keeping a
//! model of the same graph for the built-in SVG/PNG renderer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use super::present::{self, GraphReport, Renderer};
use super::{type_name, ObjgraphError, Predicate};
use crate::heap_graph::{pin_all, scan_referrers, EdgeList};
use pygc_core::GcAny;

/// A function giving extra Graphviz attributes of an object, as
/// `(name, value)` pairs.
pub type NodeAttrs<'a> = &'a dyn Fn(&GcAny) -> Vec<(String, String)>;

/// Options of [`show_refs`], [`show_backrefs`] and [`show_chain`]
/// (objgraph's keyword arguments, same defaults).
pub struct GraphOptions<'a> {
    /// How many edges away from the starting objects to go (3).
    pub max_depth: usize,
    /// `id()`s of objects to leave out.
    pub extra_ignore: &'a [usize],
    /// Leave out neighbours for which this returns false.
    pub filter: Option<Predicate<'a>>,
    /// At most this many neighbours per object; the rest become one
    /// "N more references" node (10).
    pub too_many: usize,
    /// Draw these objects in blue.
    pub highlight: Option<Predicate<'a>>,
    /// Write here: `.dot`, `.svg` or `.png` (or any format `dot` knows
    /// with [`Renderer::Graphviz`]). Without it (and without `output`) a
    /// temporary `.dot` and a `.png` beside it are written.
    pub filename: Option<PathBuf>,
    /// Write the DOT text here instead of a file, and print nothing.
    pub output: Option<&'a mut dyn Write>,
    /// A third label line per object (objgraph's `extra_info`).
    pub extra_info: Option<&'a dyn Fn(&GcAny) -> String>,
    /// Extra Graphviz attributes per object, as `(name, value)` pairs
    /// (objgraph's `extra_node_attrs`); written sorted by name.
    pub extra_node_attrs: Option<NodeAttrs<'a>>,
    /// Show each object's strong count (exact: this function's own
    /// handles are not counted).
    pub refcounts: bool,
    /// `Node` rather than the full path.
    pub shortnames: bool,
    /// Who draws SVG/PNG: the built-in renderer (default) or Graphviz.
    pub renderer: Renderer,
    /// Where the status lines go (`None`: stdout).
    pub status: Option<&'a mut dyn Write>,
    /// Run [`pygc_core::gc::collect`] first, as objgraph does.
    pub collect: bool,
    /// Draw weak references (dashed) in [`show_refs`].
    pub weak: bool,
}

impl Default for GraphOptions<'_> {
    fn default() -> Self {
        GraphOptions {
            max_depth: 3,
            extra_ignore: &[],
            filter: None,
            too_many: 10,
            highlight: None,
            filename: None,
            output: None,
            extra_info: None,
            extra_node_attrs: None,
            refcounts: false,
            shortnames: true,
            renderer: Renderer::Builtin,
            status: None,
            collect: true,
            weak: true,
        }
    }
}

/// What a node of the drawn graph stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Object,
    TooMany,
    Finalizer,
}

/// A node as the renderers see it.
#[derive(Clone, Debug)]
pub(crate) struct GNode {
    pub(crate) id: String,
    pub(crate) kind: NodeKind,
    pub(crate) lines: Vec<String>,
    /// Fill colour as HSV in 0..=1.
    pub(crate) hsv: (f64, f64, f64),
    pub(crate) font: FontColor,
    /// BFS depth (markers: depth of the object + 1).
    pub(crate) depth: usize,
}

/// Text colour of a node, as the DOT attributes leave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FontColor {
    Black,
    Red,
    White,
}

/// An edge as the renderers see it.
#[derive(Clone, Debug)]
pub(crate) struct GEdge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) label: Option<String>,
    pub(crate) weak: bool,
    /// objgraph's red dotted edges to "more references" and `__del__`.
    pub(crate) marker: bool,
}

/// A reference graph: objgraph's DOT text and the model it describes.
pub struct ObjectGraph {
    dot: String,
    pub(crate) nodes: Vec<GNode>,
    pub(crate) edges: Vec<GEdge>,
    /// Edges point from referrers down to the starting objects.
    pub(crate) backrefs: bool,
    objects: usize,
}

impl ObjectGraph {
    /// The DOT text, exactly as it is written to files.
    pub fn dot(&self) -> &str {
        &self.dot
    }

    /// Objects in the graph (objgraph's "(N nodes)").
    pub fn node_count(&self) -> usize {
        self.objects
    }

    /// Renders the graph as SVG with the built-in layered layout.
    pub fn to_svg(&self) -> String {
        super::svg::render(&super::layout::layout(self))
    }

    /// Renders the graph as PNG with the built-in layered layout.
    pub fn to_png(&self) -> Result<Vec<u8>, ObjgraphError> {
        super::png::render(&super::layout::layout(self))
    }
}

/// Every handle the walk keeps: exactly one per object met, so that the
/// refcounts shown can leave them out.
#[derive(Default)]
struct Pool {
    objs: Vec<GcAny>,
    by_id: HashMap<usize, usize>,
}

impl Pool {
    fn keep(&mut self, o: GcAny) -> usize {
        let id = o.id();
        if let Some(&i) = self.by_id.get(&id) {
            return i;
        }
        self.objs.push(o);
        self.by_id.insert(id, self.objs.len() - 1);
        self.objs.len() - 1
    }
}

/// Python's `%g`: six significant digits, no trailing zeros.
pub(crate) fn fmt_g(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let exp = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&exp) {
        let s = format!("{:.5e}", x);
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// objgraph's `_quote`.
pub(crate) fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\0', "\\\\0")
}

fn gradient(start: (f64, f64, f64), end: (f64, f64, f64), depth: usize, max_depth: usize) -> (f64, f64, f64) {
    if max_depth == 0 {
        return start;
    }
    let f = depth as f64 / max_depth as f64;
    (start.0 * (1.0 - f) + end.0 * f, start.1 * (1.0 - f) + end.1 * f, start.2 * (1.0 - f) + end.2 * f)
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// The DOT attributes of an edge with a heap label: a field name weighs 10
/// (objgraph's attribute edges), a field followed by indexes or keys 2
/// (objgraph's dict keys), a bare index nothing; weak edges are dashed.
fn edge_attrs(label: &str, weak: bool) -> String {
    let mut attrs = Vec::new();
    if !label.is_empty() {
        attrs.push(format!("label=\"{}\"", quote(label)));
        let head: &str = label.split(['.', '[']).next().unwrap_or("");
        if is_ident(label) {
            attrs.push("weight=10".into());
        } else if !head.is_empty() && is_ident(head) {
            attrs.push("weight=2".into());
        }
    }
    if weak {
        attrs.push("style=dashed".into());
    }
    if attrs.is_empty() {
        String::new()
    } else {
        format!(" [{}]", attrs.join(","))
    }
}

fn node_id(o: &GcAny) -> String {
    format!("o{}", o.id())
}

/// Python's default repr cut to 40 characters, as objgraph's short repr.
fn short_repr(o: &GcAny) -> String {
    let mut s = format!("{o:?}");
    if o.is_cleared() {
        s = format!("<{} (cleared) at {:#x}>", o.short_type_name(), o.id());
    }
    s.chars().take(40).collect()
}

struct Walk<'o, 'a> {
    opts: &'o GraphOptions<'a>,
    backrefs: bool,
    dot: String,
    pool: Pool,
    nodes: Vec<GNode>,
    node_of: HashMap<usize, usize>,
    /// Edges by object id, resolved at the end.
    edges: Vec<(usize, usize, Option<String>, bool)>,
    markers: Vec<(usize, usize)>,
}

/// Builds the graph of what `objs` refer to (`show_refs` without output).
pub fn refs_graph(objs: &[GcAny], opts: &GraphOptions<'_>) -> ObjectGraph {
    walk(objs, false, opts, None)
}

/// Builds the graph of what refers to `objs` (`show_backrefs` without
/// output). Referrers are found through strong references.
pub fn backrefs_graph(objs: &[GcAny], opts: &GraphOptions<'_>) -> ObjectGraph {
    walk(objs, true, opts, None)
}

/// Builds the graph of one or more chains from [`super::find_backref_chain`]
/// or [`super::find_ref_chain`] (`show_chain` without output).
pub fn chain_graph(chains: &[Vec<GcAny>], backrefs: bool, opts: &GraphOptions<'_>) -> ObjectGraph {
    let chains: Vec<&Vec<GcAny>> = chains.iter().filter(|c| !c.is_empty()).collect();
    let ids: HashSet<usize> = chains.iter().flat_map(|c| c.iter().map(GcAny::id)).collect();
    let max_depth = chains.iter().map(|c| c.len()).max().unwrap_or(1) - 1;
    let starts: Vec<GcAny> =
        chains.iter().map(|c| if backrefs { c[c.len() - 1].clone() } else { c[0].clone() }).collect();
    let in_chains = |o: &GcAny| ids.contains(&o.id());
    walk(&starts, backrefs, opts, Some((&in_chains, max_depth)))
}

fn walk(
    objs: &[GcAny],
    backrefs: bool,
    opts: &GraphOptions<'_>,
    chain: Option<(Predicate<'_>, usize)>,
) -> ObjectGraph {
    let max_depth = chain.map_or(opts.max_depth, |c| c.1);
    let filter = |o: &GcAny| chain.is_none_or(|c| (c.0)(o)) && opts.filter.is_none_or(|f| f(o));
    let mut w = Walk {
        opts,
        backrefs,
        dot: String::from("digraph ObjectGraph {\n  node[shape=box, style=filled, fillcolor=white];\n"),
        pool: Pool::default(),
        nodes: Vec::new(),
        node_of: HashMap::new(),
        edges: Vec::new(),
        markers: Vec::new(),
    };
    let ignore: HashSet<usize> = opts.extra_ignore.iter().copied().collect();
    let mut depth: HashMap<usize, usize> = HashMap::new();
    let mut queue: VecDeque<usize> = VecDeque::new();
    let mut roots: HashSet<usize> = HashSet::new();
    for o in objs {
        let _ = writeln!(w.dot, "  {}[fontcolor=red];", node_id(o));
        roots.insert(o.id());
        depth.insert(o.id(), 0);
        let i = w.pool.keep(o.clone());
        queue.push_back(i);
    }
    if opts.collect {
        pygc_core::gc::collect();
    }
    // Referrers found by the last level scan, by object id (pool indexes).
    let mut referrers: HashMap<usize, Vec<usize>> = HashMap::new();
    // The heap is traced (and pinned) once for every level's search,
    // except when exact refcounts are shown: then each level pins, scans
    // and unpins, so no label counts the pin.
    let mut edges: Option<EdgeList> = None;
    let mut objects = 0;
    while let Some(ti) = queue.pop_front() {
        objects += 1;
        let target = w.pool.objs[ti].clone();
        let tid = target.id();
        let tdepth = depth[&tid];
        let white = w.write_node(&target, tdepth, max_depth, roots.contains(&tid));
        let _ = white;
        if tdepth >= max_depth {
            continue;
        }
        let mut n = 0;
        let mut skipped = 0;
        if backrefs {
            if !referrers.contains_key(&tid) {
                // One heap scan for this whole level of the search.
                let level: Vec<usize> = std::iter::once(ti)
                    .chain(queue.iter().copied().filter(|&q| depth[&w.pool.objs[q].id()] == tdepth))
                    .collect();
                let targets: Vec<GcAny> = level.iter().map(|&q| w.pool.objs[q].clone()).collect();
                let refs: Vec<&GcAny> = targets.iter().collect();
                let found = if opts.refcounts {
                    scan_referrers(&refs, &pin_all())
                } else {
                    edges.get_or_insert_with(EdgeList::build).referrers(&refs)
                };
                drop(refs);
                drop(targets);
                for (q, rs) in level.iter().zip(found.referrers) {
                    let id = w.pool.objs[*q].id();
                    let idx = rs.into_iter().map(|r| w.pool.keep(r)).collect();
                    referrers.insert(id, idx);
                }
            }
            let rs = referrers.remove(&tid).unwrap_or_default();
            for ri in rs {
                let source = w.pool.objs[ri].clone();
                if ignore.contains(&source.id()) || !filter(&source) {
                    continue;
                }
                if n >= opts.too_many {
                    skipped += 1;
                    continue;
                }
                let labels: Vec<String> = source
                    .edges()
                    .into_iter()
                    .filter(|e| !e.weak && e.target.as_ref().is_some_and(|t| t.id() == tid))
                    .map(|e| e.label)
                    .collect();
                for l in labels {
                    w.edge(&source, &target, &l, false);
                }
                if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(source.id()) {
                    e.insert(tdepth + 1);
                    queue.push_back(ri);
                }
                n += 1;
            }
        } else {
            for pygc_core::inspect::Edge { label, target: t, weak } in target.edges() {
                let Some(source) = t else { continue };
                if weak && !opts.weak {
                    continue;
                }
                if ignore.contains(&source.id()) || !filter(&source) {
                    continue;
                }
                if n >= opts.too_many {
                    skipped += 1;
                    continue;
                }
                w.edge(&target, &source, &label, weak);
                if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(source.id()) {
                    e.insert(tdepth + 1);
                    let i = w.pool.keep(source);
                    queue.push_back(i);
                }
                n += 1;
            }
        }
        if skipped > 0 {
            w.too_many(&target, skipped, tdepth, max_depth);
        }
    }
    w.dot.push_str("}\n");
    w.finish(objects)
}

impl Walk<'_, '_> {
    fn write_node(&mut self, target: &GcAny, tdepth: usize, max_depth: usize, root: bool) -> bool {
        let id = node_id(target);
        let mut first = type_name(target, self.opts.shortnames);
        if self.opts.refcounts {
            // The pool's handle and the walk's `target`.
            let held = 2;
            let _ = write!(first, " [{}]", target.ref_count().saturating_sub(held));
        }
        let mut lines = vec![first, short_repr(target)];
        if let Some(f) = self.opts.extra_info {
            lines.push(f(target));
        }
        let mut attrs = String::new();
        if let Some(f) = self.opts.extra_node_attrs {
            let mut kv = f(target);
            kv.sort();
            for (k, v) in kv {
                let _ = write!(attrs, ", {k}=\"{}\"", quote(&v));
            }
        }
        let _ = writeln!(self.dot, "  {id}[label=\"{}\"{attrs}];", quote(&lines.join("\n")));
        let (mut h, mut s, mut v) = gradient((0.0, 0.0, 1.0), (0.0, 0.0, 0.3), tdepth, max_depth);
        if self.opts.highlight.is_some_and(|f| f(target)) {
            h = 0.6;
            s = 0.6;
            v = 0.5 + v * 0.5;
        }
        let _ = writeln!(self.dot, "  {id}[fillcolor=\"{},{},{}\"];", fmt_g(h), fmt_g(s), fmt_g(v));
        let white = v < 0.5;
        if white {
            let _ = writeln!(self.dot, "  {id}[fontcolor=white];");
        }
        let font = if white {
            FontColor::White
        } else if root {
            FontColor::Red
        } else {
            FontColor::Black
        };
        let ni = self.nodes.len();
        self.nodes.push(GNode {
            id: id.clone(),
            kind: NodeKind::Object,
            lines,
            hsv: (h, s, v),
            font,
            depth: tdepth,
        });
        self.node_of.insert(target.id(), ni);
        if target.has_finalizer() {
            let _ = writeln!(self.dot, "  {id}->{id}_has_a_del[color=red,style=dotted,len=0.25,weight=10];");
            let _ = writeln!(
                self.dot,
                "  {id}_has_a_del[label=\"__del__\",shape=doublecircle,height=0.25,color=red,fillcolor=\"0,.5,1\",fontsize=6];"
            );
            self.nodes.push(GNode {
                id: format!("{id}_has_a_del"),
                kind: NodeKind::Finalizer,
                lines: vec!["__del__".into()],
                hsv: (0.0, 0.5, 1.0),
                font: FontColor::Black,
                depth: tdepth,
            });
            self.markers.push((ni, self.nodes.len() - 1));
        }
        white
    }

    fn edge(&mut self, src: &GcAny, dst: &GcAny, label: &str, weak: bool) {
        let _ = writeln!(self.dot, "  {} -> {}{};", node_id(src), node_id(dst), edge_attrs(label, weak));
        let label = (!label.is_empty()).then(|| label.to_string());
        self.edges.push((src.id(), dst.id(), label, weak));
    }

    fn too_many(&mut self, target: &GcAny, skipped: usize, tdepth: usize, max_depth: usize) {
        let id = node_id(target);
        let (h, s, v) = gradient((0.0, 1.0, 1.0), (0.0, 1.0, 0.3), tdepth + 1, max_depth);
        let (label, edge) = if self.backrefs {
            (format!("{skipped} more backreferences"), format!("too_many_{id}->{id}"))
        } else {
            (format!("{skipped} more references"), format!("{id}->too_many_{id}"))
        };
        let _ = writeln!(self.dot, "  {edge}[color=red,style=dotted,len=0.25,weight=10];");
        let _ = writeln!(
            self.dot,
            "  too_many_{id}[label=\"{label}\",shape=box,height=0.25,color=red,fillcolor=\"{},{},{}\",fontsize=6];",
            fmt_g(h),
            fmt_g(s),
            fmt_g(v)
        );
        let _ = writeln!(self.dot, "  too_many_{id}[fontcolor=white];");
        let ni = self.node_of[&target.id()];
        self.nodes.push(GNode {
            id: format!("too_many_{id}"),
            kind: NodeKind::TooMany,
            lines: vec![label],
            hsv: (h, s, v),
            font: FontColor::White,
            depth: tdepth + 1,
        });
        let mi = self.nodes.len() - 1;
        if self.backrefs {
            self.markers.push((mi, ni));
        } else {
            self.markers.push((ni, mi));
        }
    }

    fn finish(self, objects: usize) -> ObjectGraph {
        let mut edges: Vec<GEdge> = self
            .edges
            .into_iter()
            .filter_map(|(a, b, label, weak)| {
                Some(GEdge {
                    from: *self.node_of.get(&a)?,
                    to: *self.node_of.get(&b)?,
                    label,
                    weak,
                    marker: false,
                })
            })
            .collect();
        edges.extend(self.markers.into_iter().map(|(a, b)| GEdge {
            from: a,
            to: b,
            label: None,
            weak: false,
            marker: true,
        }));
        ObjectGraph { dot: self.dot, nodes: self.nodes, edges, backrefs: self.backrefs, objects }
    }
}

fn check(opts: &GraphOptions<'_>) -> Result<(), ObjgraphError> {
    if opts.filename.is_some() && opts.output.is_some() {
        return Err(ObjgraphError::OutputAndFilename);
    }
    Ok(())
}

/// Draws what `objs` refer to, down to `max_depth` (`objgraph.show_refs`),
/// and writes it as `opts` says, printing objgraph's status lines.
pub fn show_refs(objs: &[GcAny], mut opts: GraphOptions<'_>) -> Result<GraphReport, ObjgraphError> {
    check(&opts)?;
    let g = refs_graph(objs, &opts);
    present::present(&g, &mut opts)
}

/// Draws what refers to `objs`, up to `max_depth` (`objgraph.show_backrefs`).
/// Only strong references are followed (those keep objects alive).
pub fn show_backrefs(objs: &[GcAny], mut opts: GraphOptions<'_>) -> Result<GraphReport, ObjgraphError> {
    check(&opts)?;
    let g = backrefs_graph(objs, &opts);
    present::present(&g, &mut opts)
}

/// Draws one or more chains (`objgraph.show_chain`): with `backrefs`, from
/// each chain's last object up through referrers, else from its first
/// object down through referents, keeping only objects of the chains.
pub fn show_chain(
    chains: &[Vec<GcAny>],
    backrefs: bool,
    mut opts: GraphOptions<'_>,
) -> Result<GraphReport, ObjgraphError> {
    check(&opts)?;
    let g = chain_graph(chains, backrefs, &opts);
    present::present(&g, &mut opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_g() {
        assert_eq!(fmt_g(1.0 - 0.7 / 3.0), "0.766667");
        assert_eq!(fmt_g(0.5 + 0.3 * 0.5), "0.65");
        assert_eq!(fmt_g(1.0), "1");
        assert_eq!(fmt_g(0.0), "0");
        assert_eq!(fmt_g(0.6), "0.6");
        assert_eq!(fmt_g(1e-5), "1e-05");
        assert_eq!(fmt_g(123456789.0), "1.23457e+08");
    }

    #[test]
    fn edge_label_weights() {
        assert_eq!(edge_attrs("next", false), " [label=\"next\",weight=10]");
        assert_eq!(edge_attrs("items[3]", false), " [label=\"items[3]\",weight=2]");
        assert_eq!(edge_attrs("[0].value", false), " [label=\"[0].value\"]");
        assert_eq!(edge_attrs("", true), " [style=dashed]");
        assert_eq!(edge_attrs("", false), "");
        assert_eq!(edge_attrs("parent", true), " [label=\"parent\",weight=10,style=dashed]");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
