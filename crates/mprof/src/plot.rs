//! `mprof plot`: memory against time, drawn with plotters to PNG or SVG.
//!
//! What Python's `mprof plot` draws: one `+`-marked line per file labelled
//! `dd / mm / yyyy - start at hh:mm:ss.mmm`, the command line as title,
//! red dashed lines through the peak sample, `[ ]` brackets around each
//! profiled function call (`name 0.319s`), one line per child (`-M`), a
//! trend line with its slope (`-s`), and stacked call rectangles
//! (`--flame`). Ours adds a dotted line at the exact peak (`HWM`) when
//! sampling missed it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{local_time, Error, Profile};

/// Plot settings (validated).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Title; default the file's command line (single file).
    pub title: Option<String>,
    /// Output file; `.png` or `.svg`.
    pub output: PathBuf,
    /// Only show `t0..t1` seconds.
    pub window: Option<(f64, f64)>,
    /// Draw function calls as stacked rectangles.
    pub flame: bool,
    /// Draw a least-squares trend line and print its slope.
    pub slope: bool,
    /// Leave out function brackets (`-n`).
    pub no_functions: bool,
}

/// Parses `-w t0,t1`.
pub fn parse_window(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("invalid window {s:?}: expected t0,t1 in seconds"))?;
    let a: f64 = a
        .trim()
        .parse()
        .map_err(|_| format!("invalid window {s:?}: {a:?} is not a number"))?;
    let b: f64 = b
        .trim()
        .parse()
        .map_err(|_| format!("invalid window {s:?}: {b:?} is not a number"))?;
    if !(a.is_finite() && b.is_finite() && a < b) {
        return Err(format!("invalid window {s:?}: need t0 < t1"));
    }
    Ok((a, b))
}

/// The default output name: the first input's name with `.png`.
pub fn default_output(first_input: &Path) -> PathBuf {
    first_input.with_extension("png")
}

const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

fn find_ttf(dir: &Path, depth: u32) -> Option<PathBuf> {
    let rd = std::fs::read_dir(dir).ok()?;
    let mut dirs = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            dirs.push(p);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ttf")) {
            return Some(p);
        }
    }
    if depth == 0 {
        return None;
    }
    dirs.sort();
    dirs.iter().find_map(|d| find_ttf(d, depth - 1))
}

/// Registers a TrueType font as "sans-serif" once: `MPROF_FONT`, then
/// common system paths, then any `.ttf` under `/usr/share/fonts`.
fn ensure_font() -> Result<(), Error> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let mut paths: Vec<PathBuf> = std::env::var_os("MPROF_FONT").map(PathBuf::from).into_iter().collect();
        paths.extend(FONT_CANDIDATES.iter().map(PathBuf::from));
        paths.extend(find_ttf(Path::new("/usr/share/fonts"), 3));
        for p in paths {
            if let Ok(bytes) = std::fs::read(&p) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err("no TrueType font found for plot text: install fonts-dejavu-core or set MPROF_FONT=/path/to/font.ttf".to_string())
    })
    .clone()
    .map_err(Error::new)
}

const LINE_COLORS: [RGBColor; 7] = [
    BLACK,
    RGBColor(0, 0, 255),
    RGBColor(255, 0, 0),
    RGBColor(0, 128, 0),
    RGBColor(0, 191, 191),
    RGBColor(191, 191, 0),
    RGBColor(191, 0, 191),
];
const FUNC_COLORS: [RGBColor; 5] = [
    RGBColor(0, 191, 191),
    RGBColor(191, 191, 0),
    RGBColor(0, 128, 0),
    RGBColor(255, 0, 0),
    RGBColor(0, 0, 255),
];

/// Least-squares line through `pts`: (slope, intercept).
pub fn trend(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return None;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

fn start_label(ts: f64) -> String {
    let (y, mo, d, h, mi, s) = local_time(ts);
    let ms = ((ts - ts.floor()) * 1000.0).round() as u32;
    format!(
        "{d:02} / {mo:02} / {y:04} - start at {h:02}:{mi:02}:{s:02}.{:03}",
        ms.min(999)
    )
}

/// Draws `profiles` (path and contents) to `opts.output`.
pub fn plot(profiles: &[(PathBuf, Profile)], opts: &Options) -> Result<(), Error> {
    for (path, p) in profiles {
        if p.mem.is_empty() {
            return Err(Error::new(format!(
                "{}: no memory samples (MEM records) in this file; it may be empty or not an mprof file",
                path.display()
            )));
        }
    }
    ensure_font()?;
    let ext = opts
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let size = (1260, 540);
    let result = match ext.as_deref() {
        Some("png") => draw(
            BitMapBackend::new(&opts.output, size).into_drawing_area(),
            profiles,
            opts,
        ),
        Some("svg") => draw(
            SVGBackend::new(&opts.output, size).into_drawing_area(),
            profiles,
            opts,
        ),
        _ => {
            return Err(Error::new(format!(
                "cannot write {}: the output must end in .png or .svg",
                opts.output.display()
            )))
        }
    };
    result.map_err(|e| Error::new(format!("cannot draw {}: {e}", opts.output.display())))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    profiles: &[(PathBuf, Profile)],
    opts: &Options,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let single = profiles.len() == 1;
    let title = opts
        .title
        .clone()
        .or_else(|| single.then(|| profiles[0].1.cmdline.clone()).flatten())
        .unwrap_or_default();

    // Ranges over everything that will be drawn.
    let (mut x1, mut y1) = (0.0f64, 0.0f64);
    for (_, p) in profiles {
        let t0 = p.mem[0].1;
        for &(m, t) in &p.mem {
            x1 = x1.max(t - t0);
            y1 = y1.max(m);
        }
        for v in p.children.values() {
            for &(m, t) in v {
                x1 = x1.max(t - t0);
                y1 = y1.max(m);
            }
        }
        for f in &p.funcs {
            x1 = x1.max(f.t_end - t0);
            y1 = y1.max(f.mem_end.max(f.mem_start));
        }
        if let Some((h, _)) = p.hwm {
            y1 = y1.max(h);
        }
    }
    let (xa, xb) = opts
        .window
        .unwrap_or((-0.05 * x1.max(0.1), x1.max(0.1) * 1.05));
    let yb = (y1 * 1.1).max(1.0);
    let ya = -0.05 * yb;
    let in_x = |t: f64| t >= xa && t <= xb;

    // The legend sits right of the axes, as matplotlib's `bbox_to_anchor=(1,
    // 0.5)` puts it, so it never hides the data.
    let legend_w = if opts.slope { 400 } else { 330 };
    let (w, _) = root.dim_in_pixel();
    let (plot_area, legend_area) = root.split_horizontally(w.saturating_sub(legend_w));
    let mut legend: Vec<(String, RGBColor)> = Vec::new();
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(&title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xa..xb, ya..yb)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("time (in seconds)")
        .y_desc("memory used (in MiB)")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;

    let vsize = (yb - ya) / 20.0;
    let hsize = (xb - xa) / 60.0;
    for (index, (_, p)) in profiles.iter().enumerate() {
        let t0 = p.mem[0].1;
        let color = LINE_COLORS[index % LINE_COLORS.len()];
        let pts: Vec<(f64, f64)> = p
            .mem
            .iter()
            .map(|&(m, t)| (t - t0, m))
            .filter(|&(t, _)| in_x(t))
            .collect();
        let fit = if opts.slope { trend(&pts) } else { None };
        let mut label = start_label(t0);
        if let Some((s, _)) = fit {
            label.push_str(&format!(" slope {s:.5}"));
        }
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(1)))
            .map_err(e)?;
        legend.push((label, color));
        chart
            .draw_series(pts.iter().map(|&pt| {
                EmptyElement::at(pt)
                    + PathElement::new(vec![(-5, 0), (5, 0)], color.stroke_width(1))
                    + PathElement::new(vec![(0, -5), (0, 5)], color.stroke_width(1))
            }))
            .map_err(e)?;
        if let Some((s, b)) = fit {
            let line = vec![
                (xa.max(0.0), s * xa.max(0.0) + b),
                (x1.min(xb), s * x1.min(xb) + b),
            ];
            chart
                .draw_series(DashedLineSeries::new(
                    line,
                    6,
                    4,
                    RGBColor(0, 227, 216).stroke_width(1),
                ))
                .map_err(e)?;
        }

        for (ci, (pid, v)) in p.children.iter().enumerate() {
            let cc = LINE_COLORS[(ci + 1) % LINE_COLORS.len()];
            let cpts: Vec<(f64, f64)> = v
                .iter()
                .map(|&(m, t)| (t - t0, m))
                .filter(|&(t, _)| in_x(t))
                .collect();
            let mut label = format!("child {pid}");
            let cfit = if opts.slope { trend(&cpts) } else { None };
            if let Some((s, _)) = cfit {
                label.push_str(&format!(" slope {s:.5}"));
            }
            chart
                .draw_series(LineSeries::new(cpts.clone(), cc.stroke_width(1)))
                .map_err(e)?;
            legend.push((label, cc));
            chart
                .draw_series(cpts.iter().map(|&pt| {
                    EmptyElement::at(pt)
                        + PathElement::new(vec![(-5, 0), (5, 0)], cc.stroke_width(1))
                        + PathElement::new(vec![(0, -5), (0, 5)], cc.stroke_width(1))
                }))
                .map_err(e)?;
            if let Some((s, b)) = cfit {
                let (a, z) = (
                    cpts.first().map_or(0.0, |p| p.0),
                    cpts.last().map_or(0.0, |p| p.0),
                );
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(a, s * a + b), (z, s * z + b)],
                        6,
                        4,
                        BLACK.stroke_width(1),
                    ))
                    .map_err(e)?;
            }
        }

        // The largest child sample gets its own red dashed cross, as in Python.
        let child_max = p
            .children
            .values()
            .flatten()
            .map(|&(m, t)| (t - t0, m))
            .fold(None, |best: Option<(f64, f64)>, x| match best {
                Some(b) if b.1 >= x.1 => Some(b),
                _ => Some(x),
            });
        if let Some((t, m)) = child_max {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(xa, m), (xb, m)],
                    8,
                    5,
                    RED.stroke_width(1),
                ))
                .map_err(e)?;
            if in_x(t) {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(t, ya), (t, yb)],
                        8,
                        5,
                        RED.stroke_width(1),
                    ))
                    .map_err(e)?;
            }
        }

        if !single {
            continue;
        }
        // Functions: brackets, or flame rectangles.
        if !opts.no_functions {
            let mut names: Vec<&str> = Vec::new();
            for f in &p.funcs {
                if !names.contains(&f.name.as_str()) {
                    names.push(&f.name);
                }
            }
            for (fi, name) in names.iter().enumerate() {
                let fc = FUNC_COLORS[fi % FUNC_COLORS.len()];
                let short = name.rsplit('.').next().unwrap_or(name).to_string();
                let mut labelled = false;
                for f in p.funcs.iter().filter(|f| f.name == *name) {
                    let (a, b) = (f.t_start - t0, f.t_end - t0);
                    if opts.flame {
                        let lvl = f.stack_level.unwrap_or(0) as f64;
                        let (r0, r1) = (lvl * vsize, (lvl + 1.0) * vsize * 0.95);
                        chart
                            .draw_series(std::iter::once(Rectangle::new(
                                [(a, r0), (b, r1)],
                                fc.mix(0.6).filled(),
                            )))
                            .map_err(e)?;
                        chart
                            .draw_series(std::iter::once(Text::new(
                                short.clone(),
                                (a, r1),
                                ("sans-serif", 12),
                            )))
                            .map_err(e)?;
                    } else {
                        let open = vec![
                            (a + hsize, f.mem_start + vsize),
                            (a, f.mem_start + vsize),
                            (a, f.mem_start - vsize),
                            (a + hsize, f.mem_start - vsize),
                        ];
                        let close = vec![
                            (b - hsize, f.mem_end + vsize),
                            (b, f.mem_end + vsize),
                            (b, f.mem_end - vsize),
                            (b - hsize, f.mem_end - vsize),
                        ];
                        if in_x(a) {
                            chart
                                .draw_series(LineSeries::new(open, fc.stroke_width(2)))
                                .map_err(e)?;
                            if !labelled {
                                labelled = true;
                                legend.push((format!("{short} {:.3}s", b - a), fc));
                            }
                        }
                        if in_x(b) {
                            chart
                                .draw_series(LineSeries::new(close, fc.stroke_width(2)))
                                .map_err(e)?;
                        }
                    }
                }
            }
        }
        // Peak: red dashed lines through the largest sample.
        if let Some(&(m, t)) = p
            .mem
            .iter()
            .fold(None, |best: Option<&(f64, f64)>, x| match best {
                Some(b) if b.0 >= x.0 => Some(b),
                _ => Some(x),
            })
        {
            let red = RED.stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new(vec![(xa, m), (xb, m)], 8, 5, red))
                .map_err(e)?;
            if in_x(t - t0) {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(t - t0, ya), (t - t0, yb)],
                        8,
                        5,
                        red,
                    ))
                    .map_err(e)?;
            }
            if let Some((h, _)) = p.hwm {
                if h > m + 0.05 {
                    chart
                        .draw_series(DashedLineSeries::new(
                            vec![(xa, h), (xb, h)],
                            2,
                            4,
                            RED.stroke_width(1),
                        ))
                        .map_err(e)?;
                    legend.push((format!("exact peak (VmHWM) {h:.1} MiB"), RED));
                }
            }
        }
    }
    draw_legend(&legend_area, &legend).map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

/// Entries centred vertically in `area`: a colour bar and the label.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if entries.is_empty() {
        return Ok(());
    }
    let (w, h) = area.dim_in_pixel();
    let row = 20i32;
    let height = row * entries.len() as i32 + 10;
    let top = (h as i32 - height) / 2;
    area.draw(&Rectangle::new(
        [(4, top), (w as i32 - 10, top + height)],
        BLACK.mix(0.3).stroke_width(1),
    ))?;
    for (i, (label, color)) in entries.iter().enumerate() {
        let y = top + 15 + row * i as i32;
        area.draw(&PathElement::new(
            vec![(12, y), (36, y)],
            color.stroke_width(2),
        ))?;
        area.draw(&Text::new(label.clone(), (44, y - 7), ("sans-serif", 13)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_trend() {
        assert_eq!(parse_window("0.5,2").unwrap(), (0.5, 2.0));
        for bad in ["1", "a,b", "2,1", "1,nan"] {
            assert!(
                parse_window(bad).unwrap_err().contains("invalid window"),
                "{bad}"
            );
        }
        let (s, b) = trend(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap();
        assert!((s - 2.0).abs() < 1e-12 && (b - 1.0).abs() < 1e-12);
        assert_eq!(trend(&[(1.0, 1.0)]), None);
    }
}
