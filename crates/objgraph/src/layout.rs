//! A small layered layout (after Sugiyama): objects go in rows by search
//! depth, rows are ordered by the barycentre heuristic, then centred over
//! their neighbours; edges are cubic curves. Text is measured with the
//! monospace font the PNG renderer draws, so SVG and PNG agree.

use std::collections::HashMap;

use noto_sans_mono_bitmap::{get_raster_width, FontWeight, RasterHeight};

use super::graph::{FontColor, NodeKind, ObjectGraph};

/// Width of one character in pixels.
pub(crate) const CHAR_W: f32 = get_raster_width(FontWeight::Regular, RasterHeight::Size16) as f32;
/// Height of one text line in pixels.
pub(crate) const LINE_H: f32 = 17.0;
const PAD_X: f32 = 8.0;
const PAD_Y: f32 = 5.0;
const GAP_X: f32 = 28.0;
const GAP_Y: f32 = 64.0;
const MARGIN: f32 = 16.0;
const DEL_R: f32 = 32.0;

/// 8-bit RGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rgb(pub(crate) u8, pub(crate) u8, pub(crate) u8);

impl Rgb {
    pub(crate) const BLACK: Rgb = Rgb(0, 0, 0);
    pub(crate) const WHITE: Rgb = Rgb(255, 255, 255);
    pub(crate) const RED: Rgb = Rgb(255, 0, 0);

    /// Graphviz's HSV colours ("h,s,v", each in 0..=1).
    pub(crate) fn from_hsv(h: f64, s: f64, v: f64) -> Rgb {
        let h = (h.rem_euclid(1.0)) * 6.0;
        let i = h.floor();
        let f = h - i;
        let p = v * (1.0 - s);
        let q = v * (1.0 - s * f);
        let t = v * (1.0 - s * (1.0 - f));
        let (r, g, b) = match i as i32 {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
        let c = |x: f64| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
        Rgb(c(r), c(g), c(b))
    }

    pub(crate) fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// How an edge is stroked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stroke {
    Solid,
    Dashed,
    Dotted,
}

/// Something to draw.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    /// A node box with centred lines of text.
    Box { id: String, x: f32, y: f32, w: f32, h: f32, fill: Rgb, stroke: Rgb, lines: Vec<String>, text: Rgb },
    /// objgraph's `__del__` double circle.
    Circle { cx: f32, cy: f32, r: f32, fill: Rgb, stroke: Rgb, text: String },
    /// Cubic segments `p[0], (p[1], p[2], p[3]), (p[4], p[5], p[6])…`, with
    /// an arrowhead at the last point.
    Edge { p: Vec<(f32, f32)>, color: Rgb, stroke: Stroke },
    /// An edge label, drawn over everything on a light background.
    Label { x: f32, y: f32, text: String, color: Rgb },
}

/// A laid-out graph, in pixels.
#[derive(Clone, Debug)]
pub(crate) struct Scene {
    pub(crate) width: f32,
    pub(crate) height: f32,
    pub(crate) items: Vec<Item>,
}

#[derive(Clone, Copy, Default)]
struct Geom {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

fn text_width(s: &str) -> f32 {
    s.chars().count() as f32 * CHAR_W
}

/// One barycentre sweep over `layers` (down when `down`): each node's
/// wish is the mean `key` of its neighbours in the row just swept. Without
/// `widths` the rows are reordered by wish (`key` = position); with them
/// (box width, slot width) each row is placed at its wishes (`key` = x).
fn sweep(
    layers: &mut [Vec<usize>],
    adj: &[Vec<usize>],
    rank_of: &[usize],
    down: bool,
    key: &mut [f32],
    widths: Option<&[(f32, f32)]>,
) {
    let order: Vec<usize> =
        if down { (1..layers.len()).collect() } else { (0..layers.len().saturating_sub(1)).rev().collect() };
    for l in order {
        let near = if down { l - 1 } else { l + 1 };
        let want: Vec<(f32, usize)> = layers[l]
            .iter()
            .map(|&i| {
                let ns: Vec<f32> = adj[i].iter().filter(|&&j| rank_of[j] == near).map(|&j| key[j]).collect();
                let k = if ns.is_empty() { key[i] } else { ns.iter().sum::<f32>() / ns.len() as f32 };
                (k, i)
            })
            .collect();
        match widths {
            None => {
                let mut sorted = want;
                sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
                layers[l] = sorted.iter().map(|&(_, i)| i).collect();
                for (k, &i) in layers[l].iter().enumerate() {
                    key[i] = k as f32;
                }
            }
            Some(w) => place_row(&layers[l], &want, w, key),
        }
    }
}

/// Places one row at its wished centres, left to right keeping gaps, then
/// shifts it to sit centred on what it wished.
fn place_row(layer: &[usize], want: &[(f32, usize)], w: &[(f32, f32)], cx: &mut [f32]) {
    let mut placed = Vec::with_capacity(layer.len());
    let mut right = f32::NEG_INFINITY;
    for (&(x, _), &i) in want.iter().zip(layer) {
        let left = (x - w[i].0 / 2.0).max(right);
        placed.push(left + w[i].0 / 2.0);
        right = left + w[i].1 + GAP_X;
    }
    let shift = want.iter().zip(&placed).map(|(a, p)| a.0 - p).sum::<f32>() / layer.len().max(1) as f32;
    for (k, &i) in layer.iter().enumerate() {
        cx[i] = placed[k] + shift;
    }
}

/// Lays `g` out.
pub(crate) fn layout(g: &ObjectGraph) -> Scene {
    let n = g.nodes.len();
    // Finalizer markers ride beside their object instead of taking a slot.
    let mut owner_of_del: HashMap<usize, usize> = HashMap::new();
    for e in &g.edges {
        if e.marker && g.nodes[e.to].kind == NodeKind::Finalizer {
            owner_of_del.insert(e.to, e.from);
        }
    }
    let mut has_del = vec![false; n];
    for &o in owner_of_del.values() {
        has_del[o] = true;
    }
    let max_depth = g.nodes.iter().map(|x| x.depth).max().unwrap_or(0);
    let mut rank_of: Vec<usize> =
        g.nodes.iter().map(|x| if g.backrefs { max_depth - x.depth } else { x.depth }).collect();
    let mut geom: Vec<Geom> = g
        .nodes
        .iter()
        .map(|node| Geom {
            w: node.lines.iter().map(|l| text_width(l)).fold(0.0, f32::max) + 2.0 * PAD_X,
            h: node.lines.len() as f32 * LINE_H + 2.0 * PAD_Y,
            ..Geom::default()
        })
        .collect();
    // Edges across several rows pass through dummy nodes, one per row
    // crossed, so they are ordered and placed like nodes (Sugiyama).
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut routes: Vec<Vec<usize>> = Vec::with_capacity(g.edges.len());
    for e in &g.edges {
        let (a, b) = (e.from, e.to);
        if owner_of_del.contains_key(&b) || a == b {
            routes.push(Vec::new());
            continue;
        }
        let (ra, rb) = (rank_of[a], rank_of[b]);
        let mut chain = vec![a];
        if ra.abs_diff(rb) > 1 {
            let rows: Vec<usize> =
                if ra < rb { (ra + 1..rb).collect() } else { (rb + 1..ra).rev().collect() };
            for r in rows {
                rank_of.push(r);
                geom.push(Geom { w: 6.0, ..Geom::default() });
                adj.push(Vec::new());
                chain.push(rank_of.len() - 1);
            }
        }
        chain.push(b);
        for w in chain.windows(2) {
            adj[w[0]].push(w[1]);
            adj[w[1]].push(w[0]);
        }
        routes.push(chain[1..chain.len() - 1].to_vec());
    }
    let total = rank_of.len();
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); max_depth + 1];
    for (i, &r) in rank_of.iter().enumerate() {
        if !owner_of_del.contains_key(&i) {
            layers[r].push(i);
        }
    }
    // Barycentre ordering, a few sweeps down and up.
    let mut pos = vec![0.0f32; total];
    for layer in &layers {
        for (k, &i) in layer.iter().enumerate() {
            pos[i] = k as f32;
        }
    }
    for round in 0..6 {
        sweep(&mut layers, &adj, &rank_of, round % 2 == 0, &mut pos, None);
    }
    let slot_w = |i: usize| geom[i].w + if i < n && has_del[i] { 2.0 * DEL_R + 14.0 } else { 0.0 };
    let widths: Vec<(f32, f32)> = (0..total).map(|i| (geom[i].w, slot_w(i))).collect();
    // Pack every row, then pull each towards its neighbours' centres.
    let mut cx = vec![0.0f32; total];
    for layer in &layers {
        let width: f32 =
            layer.iter().map(|&i| slot_w(i)).sum::<f32>() + GAP_X * layer.len().saturating_sub(1) as f32;
        let mut x = -width / 2.0;
        for &i in layer {
            cx[i] = x + geom[i].w / 2.0;
            x += slot_w(i) + GAP_X;
        }
    }
    for round in 0..4 {
        sweep(&mut layers, &adj, &rank_of, round % 2 == 0, &mut cx, Some(&widths));
    }
    // Rows top to bottom.
    let mut row_span = vec![(0.0f32, 0.0f32); layers.len()];
    let mut y = MARGIN;
    for (l, layer) in layers.iter().enumerate() {
        let h = layer.iter().map(|&i| geom[i].h).fold(0.0, f32::max);
        for &i in layer {
            geom[i].y = y + (h - geom[i].h) / 2.0;
        }
        row_span[l] = (y, y + h);
        y += h + GAP_Y;
    }
    let placed: Vec<usize> = (0..total).filter(|i| !owner_of_del.contains_key(i)).collect();
    let min_x = placed.iter().map(|&i| cx[i] - geom[i].w / 2.0).fold(f32::INFINITY, f32::min);
    let min_x = if min_x.is_finite() { min_x } else { 0.0 };
    for &i in &placed {
        geom[i].x = cx[i] - geom[i].w / 2.0 - min_x + MARGIN;
    }
    for (&d, &o) in &owner_of_del {
        geom[d] = Geom {
            x: geom[o].x + geom[o].w + 14.0,
            y: geom[o].y + geom[o].h / 2.0 - DEL_R,
            w: 2.0 * DEL_R,
            h: 2.0 * DEL_R,
        };
    }
    let mut width = (0..total).map(|i| geom[i].x + geom[i].w).fold(0.0, f32::max) + MARGIN;
    let mut height = (0..total).map(|i| geom[i].y + geom[i].h).fold(0.0, f32::max) + MARGIN;

    // Ports: which side of each end an edge uses, spread along that side.
    let mut ports: HashMap<(usize, bool), (usize, usize)> = HashMap::new();
    let mut plans = Vec::new();
    for (e, route) in g.edges.iter().zip(&routes) {
        let (a, b) = (e.from, e.to);
        let first = route.first().copied().unwrap_or(b);
        let last = route.last().copied().unwrap_or(a);
        let side = |x: usize, y: usize| rank_of[x].cmp(&rank_of[y]);
        let top_a = side(a, first) != std::cmp::Ordering::Less;
        let top_b = side(b, last) != std::cmp::Ordering::Less;
        if owner_of_del.contains_key(&b) || a == b {
            plans.push((top_a, top_b, 0, 0));
            continue;
        }
        let pa = ports.entry((a, top_a)).or_insert((0, 0));
        let ka = pa.0;
        pa.0 += 1;
        let pb = ports.entry((b, top_b)).or_insert((0, 0));
        let kb = pb.1;
        pb.1 += 1;
        plans.push((top_a, top_b, ka, kb));
    }
    let spread = |i: usize, top: bool, k: usize, out: bool| -> f32 {
        let (outs, ins) = ports.get(&(i, top)).copied().unwrap_or((0, 0));
        let total = outs + ins;
        // Downward edges take the left slots, upward ones the right, so a
        // pair of edges in opposite directions never crosses.
        let slot = match (top, out) {
            (true, true) => ins + k,
            (true, false) => k,
            (false, true) => k,
            (false, false) => outs + k,
        };
        if total <= 1 {
            return 0.0;
        }
        let w = (geom[i].w - 2.0 * PAD_X).max(0.0);
        let step = (w / total as f32).min(40.0);
        (slot as f32 - (total - 1) as f32 / 2.0) * step
    };
    let mut edges = Vec::new();
    let mut labels = Vec::new();
    let mut placed_labels: Vec<(f32, f32, f32)> = Vec::new();
    for ((e, route), (top_a, top_b, ka, kb)) in g.edges.iter().zip(&routes).zip(plans) {
        let (a, b) = (e.from, e.to);
        let ga = geom[a];
        let gb = geom[b];
        let p: Vec<(f32, f32)> = if owner_of_del.contains_key(&b) {
            let s = (ga.x + ga.w, ga.y + ga.h / 2.0);
            let t = (gb.x, gb.y + gb.h / 2.0);
            vec![s, (s.0 + 5.0, s.1), (t.0 - 5.0, t.1), t]
        } else if a == b {
            let r = ga.x + ga.w;
            let cy = ga.y + ga.h / 2.0;
            vec![(r, cy - 6.0), (r + 36.0, cy - 34.0), (r + 36.0, cy + 34.0), (r, cy + 6.0)]
        } else if rank_of[a] == rank_of[b] {
            // Same row: side to side when adjacent, else an arch above.
            let (sx, tx) = (ga.x + ga.w / 2.0, gb.x + gb.w / 2.0);
            let adjacent = {
                let row = &layers[rank_of[a]];
                let (pa, pb) = (row.iter().position(|&x| x == a), row.iter().position(|&x| x == b));
                matches!((pa, pb), (Some(x), Some(y)) if x.abs_diff(y) == 1)
            };
            if adjacent {
                let (s, t) = if sx < tx {
                    ((ga.x + ga.w, ga.y + ga.h / 2.0), (gb.x, gb.y + gb.h / 2.0))
                } else {
                    ((ga.x, ga.y + ga.h / 2.0), (gb.x + gb.w, gb.y + gb.h / 2.0))
                };
                let mid = (s.0 + t.0) / 2.0;
                vec![s, (mid, s.1), (mid, t.1), t]
            } else {
                let s = (sx + spread(a, true, ka, true), ga.y);
                let t = (tx + spread(b, true, kb, false), gb.y);
                let lift = (20.0 + (tx - sx).abs() / 20.0).min(GAP_Y - 12.0);
                vec![s, (s.0, s.1 - lift), (t.0, t.1 - lift), t]
            }
        } else {
            let start =
                (ga.x + ga.w / 2.0 + spread(a, top_a, ka, true), if top_a { ga.y } else { ga.y + ga.h });
            let end =
                (gb.x + gb.w / 2.0 + spread(b, top_b, kb, false), if top_b { gb.y } else { gb.y + gb.h });
            // Waypoints: through each dummy, across its row.
            let mut way = vec![start];
            for &d in route {
                let x = cx[d] - min_x + MARGIN;
                let (top, bottom) = row_span[rank_of[d]];
                if rank_of[a] < rank_of[b] {
                    way.push((x, top));
                    way.push((x, bottom));
                } else {
                    way.push((x, bottom));
                    way.push((x, top));
                }
            }
            way.push(end);
            let mut p = vec![start];
            for w in way.windows(2) {
                let (s, t) = (w[0], w[1]);
                let dy = (t.1 - s.1) / 2.0;
                p.push((s.0, s.1 + dy));
                p.push((t.0, t.1 - dy));
                p.push(t);
            }
            p
        };
        let (color, stroke) = if e.marker {
            (Rgb::RED, Stroke::Dotted)
        } else if e.weak {
            (Rgb(80, 80, 80), Stroke::Dashed)
        } else {
            (Rgb::BLACK, Stroke::Solid)
        };
        // Labels go to the outer side of the edge, away from its twin, on
        // its first segment, sliding along it until they overlap no other.
        if let Some(l) = &e.label {
            let seg = [p[0], p[1], p[2], p[3]];
            let centre = (ga.x + ga.w / 2.0 + gb.x + gb.w / 2.0) / 2.0;
            let w = text_width(l);
            let place = |t: f32| {
                let m = bezier(&seg, t);
                let left = m.0 < centre - 0.5;
                let x = if left { m.0 - 4.0 - w } else { m.0 + 4.0 };
                (x.max(2.0), m.1)
            };
            let free = |x: f32, y: f32| {
                placed_labels
                    .iter()
                    .all(|&(px, py, pw)| x + w < px || px + pw < x || (y - py).abs() >= LINE_H)
            };
            let (x, y) = [0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85]
                .iter()
                .map(|&t| place(t))
                .find(|&(x, y)| free(x, y))
                .unwrap_or_else(|| place(0.5));
            placed_labels.push((x, y, w));
            width = width.max(x + w + MARGIN);
            labels.push(Item::Label { x, y, text: l.clone(), color });
        }
        for q in &p {
            width = width.max(q.0 + MARGIN);
            height = height.max(q.1 + MARGIN);
        }
        edges.push(Item::Edge { p, color, stroke });
    }
    // Edges first (boxes cover their ends), labels last.
    let mut items = edges;
    for (node, &gi) in g.nodes.iter().zip(&geom) {
        let (h, s, v) = node.hsv;
        let fill = Rgb::from_hsv(h, s, v);
        let text = match node.font {
            FontColor::Black => Rgb::BLACK,
            FontColor::Red => Rgb::RED,
            FontColor::White => Rgb::WHITE,
        };
        match node.kind {
            NodeKind::Finalizer => items.push(Item::Circle {
                cx: gi.x + DEL_R,
                cy: gi.y + DEL_R,
                r: DEL_R,
                fill,
                stroke: Rgb::RED,
                text: node.lines.first().cloned().unwrap_or_default(),
            }),
            NodeKind::TooMany | NodeKind::Object => items.push(Item::Box {
                id: node.id.clone(),
                x: gi.x,
                y: gi.y,
                w: gi.w,
                h: gi.h,
                fill,
                stroke: if node.kind == NodeKind::TooMany { Rgb::RED } else { Rgb::BLACK },
                lines: node.lines.clone(),
                text,
            }),
        }
    }
    items.extend(labels);
    Scene { width: width.max(2.0 * MARGIN), height: height.max(2.0 * MARGIN), items }
}

/// A point of a cubic Bézier curve.
pub(crate) fn bezier(p: &[(f32, f32); 4], t: f32) -> (f32, f32) {
    let u = 1.0 - t;
    let a = u * u * u;
    let b = 3.0 * u * u * t;
    let c = 3.0 * u * t * t;
    let d = t * t * t;
    (a * p[0].0 + b * p[1].0 + c * p[2].0 + d * p[3].0, a * p[0].1 + b * p[1].1 + c * p[2].1 + d * p[3].1)
}

/// The arrowhead triangle at the end of an edge: tip, and two corners.
pub(crate) fn arrow(p: &[(f32, f32)]) -> [(f32, f32); 3] {
    let k = p.len() - 4;
    let seg = [p[k], p[k + 1], p[k + 2], p[k + 3]];
    let tip = seg[3];
    let from = bezier(&seg, 0.92);
    let (dx, dy) = (tip.0 - from.0, tip.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-3);
    let (ux, uy) = (dx / len, dy / len);
    let (l, w) = (9.0, 4.0);
    let base = (tip.0 - ux * l, tip.1 - uy * l);
    [tip, (base.0 - uy * w, base.1 + ux * w), (base.0 + uy * w, base.1 - ux * w)]
}

#[cfg(test)]
mod tests {
    use super::Rgb;

    #[test]
    fn hsv() {
        assert_eq!(Rgb::from_hsv(0.0, 0.0, 1.0), Rgb::WHITE);
        assert_eq!(Rgb::from_hsv(0.0, 1.0, 1.0), Rgb::RED);
        assert_eq!(Rgb::from_hsv(0.0, 0.0, 0.3), Rgb(77, 77, 77));
        assert_eq!(Rgb::from_hsv(0.6, 0.6, 1.0).hex(), "#66a3ff");
    }
}
