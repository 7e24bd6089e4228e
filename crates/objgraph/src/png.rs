//! Scene → PNG, drawn with tiny-skia and a pre-rasterized Noto Sans Mono,
//! so no font or Graphviz has to be installed.

use noto_sans_mono_bitmap::{get_raster, FontWeight, RasterHeight};
use tiny_skia::{
    Color, FillRule, Paint, PathBuilder, Pixmap, PremultipliedColorU8, Rect, Stroke as SkStroke, StrokeDash,
    Transform,
};

use super::layout::{arrow, Item, Rgb, Scene, Stroke, CHAR_W, LINE_H};
use super::ObjgraphError;

fn paint(c: Rgb) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(c.0, c.1, c.2, 255));
    p.anti_alias = true;
    p
}

/// Draws `text` with its top-left corner at (`x`, `y`).
fn draw_text(pm: &mut Pixmap, x: f32, y: f32, text: &str, color: Rgb) {
    let (w, h) = (pm.width() as i64, pm.height() as i64);
    let mut pen = x.round() as i64;
    let top = y.round() as i64;
    let pixels = pm.pixels_mut();
    for ch in text.chars() {
        let glyph = get_raster(ch, FontWeight::Regular, RasterHeight::Size16)
            .or_else(|| get_raster('?', FontWeight::Regular, RasterHeight::Size16));
        if let Some(g) = glyph {
            for (gy, row) in g.rows().enumerate() {
                for (gx, &a) in row.iter().enumerate() {
                    let (px, py) = (pen + gx as i64, top + gy as i64);
                    if a == 0 || px < 0 || py < 0 || px >= w || py >= h {
                        continue;
                    }
                    let idx = (py * w + px) as usize;
                    let bg = pixels[idx];
                    let a = u32::from(a);
                    let mix = |c: u8, b: u8| ((u32::from(c) * a + u32::from(b) * (255 - a)) / 255) as u8;
                    // The background is opaque: mixing premultiplied
                    // channels with alpha 255 is plain mixing.
                    if let Some(p) = PremultipliedColorU8::from_rgba(
                        mix(color.0, bg.red()),
                        mix(color.1, bg.green()),
                        mix(color.2, bg.blue()),
                        255,
                    ) {
                        pixels[idx] = p;
                    }
                }
            }
        }
        pen += CHAR_W as i64;
    }
}

fn text_w(s: &str) -> f32 {
    s.chars().count() as f32 * CHAR_W
}

/// Renders a laid-out graph as PNG bytes.
pub(crate) fn render(scene: &Scene) -> Result<Vec<u8>, ObjgraphError> {
    let too_large = || {
        ObjgraphError::Write(std::io::Error::other(format!(
            "graph too large for a PNG ({:.0} x {:.0} pixels); write .svg or .dot instead",
            scene.width, scene.height
        )))
    };
    let (w, h) = (scene.width.ceil() as u32, scene.height.ceil() as u32);
    if w > 32_000 || h > 32_000 {
        return Err(too_large());
    }
    let mut pm = Pixmap::new(w.max(1), h.max(1)).ok_or_else(too_large)?;
    pm.fill(Color::WHITE);
    let line = |width: f32, dash: Option<Vec<f32>>| {
        let mut s = SkStroke { width, ..SkStroke::default() };
        s.dash = dash.and_then(|d| StrokeDash::new(d, 0.0));
        s
    };
    for item in &scene.items {
        match item {
            Item::Edge { p, color, stroke } => {
                let mut pb = PathBuilder::new();
                pb.move_to(p[0].0, p[0].1);
                for c in p[1..].chunks(3) {
                    if let [c1, c2, t] = c {
                        pb.cubic_to(c1.0, c1.1, c2.0, c2.1, t.0, t.1);
                    }
                }
                let dash = match stroke {
                    Stroke::Solid => None,
                    Stroke::Dashed => Some(vec![6.0, 4.0]),
                    Stroke::Dotted => Some(vec![2.0, 3.0]),
                };
                if let Some(path) = pb.finish() {
                    pm.stroke_path(&path, &paint(*color), &line(1.2, dash), Transform::identity(), None);
                }
                let a = arrow(p);
                let mut pb = PathBuilder::new();
                pb.move_to(a[0].0, a[0].1);
                pb.line_to(a[1].0, a[1].1);
                pb.line_to(a[2].0, a[2].1);
                pb.close();
                if let Some(path) = pb.finish() {
                    pm.fill_path(&path, &paint(*color), FillRule::Winding, Transform::identity(), None);
                }
            }
            Item::Label { x, y, text, color } => {
                if let Some(r) = Rect::from_xywh(x - 1.0, y - LINE_H / 2.0, text_w(text) + 2.0, LINE_H) {
                    let mut bg = paint(Rgb::WHITE);
                    bg.set_color(Color::from_rgba8(255, 255, 255, 204));
                    pm.fill_rect(r, &bg, Transform::identity(), None);
                }
                draw_text(&mut pm, *x, y - LINE_H / 2.0, text, *color);
            }
            Item::Box { id: _, x, y, w, h, fill, stroke, lines, text } => {
                if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                    pm.fill_rect(r, &paint(*fill), Transform::identity(), None);
                    let path = PathBuilder::from_rect(r);
                    pm.stroke_path(&path, &paint(*stroke), &line(1.0, None), Transform::identity(), None);
                }
                let top = y + (h - lines.len() as f32 * LINE_H) / 2.0;
                for (k, l) in lines.iter().enumerate() {
                    let lx = x + (w - text_w(l)) / 2.0;
                    draw_text(&mut pm, lx, top + k as f32 * LINE_H, l, *text);
                }
            }
            Item::Circle { cx, cy, r, fill, stroke, text } => {
                if let Some(c) = PathBuilder::from_circle(*cx, *cy, *r) {
                    pm.fill_path(&c, &paint(*fill), FillRule::Winding, Transform::identity(), None);
                    pm.stroke_path(&c, &paint(*stroke), &line(1.0, None), Transform::identity(), None);
                }
                if let Some(c) = PathBuilder::from_circle(*cx, *cy, r - 4.0) {
                    pm.stroke_path(&c, &paint(*stroke), &line(1.0, None), Transform::identity(), None);
                }
                draw_text(&mut pm, cx - text_w(text) / 2.0, cy - LINE_H / 2.0, text, Rgb::BLACK);
            }
        }
    }
    pm.encode_png().map_err(|e| ObjgraphError::Write(std::io::Error::other(e.to_string())))
}
