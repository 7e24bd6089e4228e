//! Scene → SVG text.

use std::fmt::Write as _;

use super::layout::{arrow, Item, Scene, Stroke, CHAR_W, LINE_H};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c if (c as u32) < 0x20 => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Renders a laid-out graph as a standalone SVG document. Text uses a
/// monospace font sized to the layout's character width.
pub(crate) fn render(scene: &Scene) -> String {
    let font_size = CHAR_W / 0.6;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"DejaVu Sans Mono, Noto Sans Mono, monospace\" font-size=\"{font_size:.1}\">",
        w = scene.width.ceil(),
        h = scene.height.ceil()
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    for item in &scene.items {
        match item {
            Item::Edge { p, color, stroke } => {
                let dash = match stroke {
                    Stroke::Solid => "",
                    Stroke::Dashed => " stroke-dasharray=\"6,4\"",
                    Stroke::Dotted => " stroke-dasharray=\"2,3\"",
                };
                let mut d = format!("M{:.1},{:.1}", p[0].0, p[0].1);
                for c in p[1..].chunks(3) {
                    if let [c1, c2, t] = c {
                        let _ = write!(
                            d,
                            " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                            c1.0, c1.1, c2.0, c2.1, t.0, t.1
                        );
                    }
                }
                let _ = writeln!(
                    s,
                    "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\"{dash}/>",
                    color.hex()
                );
                let a = arrow(p);
                let _ = writeln!(
                    s,
                    "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{}\"/>",
                    a[0].0,
                    a[0].1,
                    a[1].0,
                    a[1].1,
                    a[2].0,
                    a[2].1,
                    color.hex()
                );
            }
            Item::Label { x, y, text, color } => {
                let _ = writeln!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#ffffff\" fill-opacity=\"0.8\"/>",
                    x - 1.0,
                    y - LINE_H / 2.0,
                    text.chars().count() as f32 * CHAR_W + 2.0,
                    LINE_H
                );
                let _ = writeln!(
                    s,
                    "<text x=\"{x:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text>",
                    y + LINE_H / 3.0,
                    color.hex(),
                    esc(text)
                );
            }
            Item::Box { id, x, y, w, h, fill, stroke, lines, text } => {
                let _ = writeln!(s, "<g id=\"{}\">", esc(id));
                let _ = writeln!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\" stroke=\"{}\"/>",
                    fill.hex(),
                    stroke.hex()
                );
                let top = y + (h - lines.len() as f32 * LINE_H) / 2.0;
                for (k, line) in lines.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\" text-anchor=\"middle\">{}</text>",
                        x + w / 2.0,
                        top + (k as f32 + 0.78) * LINE_H,
                        text.hex(),
                        esc(line)
                    );
                }
                s.push_str("</g>\n");
            }
            Item::Circle { cx, cy, r, fill, stroke, text } => {
                let _ = writeln!(
                    s,
                    "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{r:.1}\" fill=\"{}\" stroke=\"{}\"/>",
                    fill.hex(),
                    stroke.hex()
                );
                let _ = writeln!(
                    s,
                    "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{:.1}\" fill=\"none\" stroke=\"{}\"/>",
                    r - 4.0,
                    stroke.hex()
                );
                let _ = writeln!(
                    s,
                    "<text x=\"{cx:.1}\" y=\"{:.1}\" fill=\"#000000\" text-anchor=\"middle\">{}</text>",
                    cy + LINE_H / 3.0,
                    esc(text)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
