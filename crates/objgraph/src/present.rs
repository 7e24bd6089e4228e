//! Writing a graph where the user asked, with objgraph's status lines.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::graph::{GraphOptions, ObjectGraph};
use super::ObjgraphError;

/// Who turns the graph into an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Renderer {
    /// The built-in layered layout: `.svg` and `.png`, nothing to install.
    #[default]
    Builtin,
    /// Graphviz's `dot` (any format it knows); an error if it is not on
    /// `PATH`.
    Graphviz,
    /// `dot` when it is on `PATH`, the built-in renderer otherwise.
    GraphvizOrBuiltin,
}

/// The image formats of the built-in renderer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// Graphviz source.
    Dot,
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

impl ImageFormat {
    /// The format a file name's extension names, if the built-in renderer
    /// makes it.
    pub fn from_path(path: &Path) -> Option<ImageFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "dot" | "gv" => Some(ImageFormat::Dot),
            "svg" => Some(ImageFormat::Svg),
            "png" => Some(ImageFormat::Png),
            _ => None,
        }
    }
}

/// What a `show_*` call produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphReport {
    /// Objects in the graph.
    pub nodes: usize,
    /// The DOT file written, if any.
    pub dot_path: Option<PathBuf>,
    /// The image written, if any.
    pub image_path: Option<PathBuf>,
}

fn file_err(path: &Path) -> impl FnOnce(io::Error) -> ObjgraphError + '_ {
    move |source| ObjgraphError::File { path: path.to_path_buf(), source }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ObjgraphError> {
    fs::write(path, bytes).map_err(file_err(path))
}

/// A new `objgraph-XXXXXXXX.dot` in the temporary directory.
fn temp_dot(text: &str) -> Result<PathBuf, ObjgraphError> {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..100 {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tag = (std::process::id() as u64) << 32 ^ (n as u64) << 24 ^ u64::from(nanos);
        let path = dir.join(format!("objgraph-{:08x}.dot", tag & 0xffff_ffff));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(text.as_bytes()).map_err(file_err(&path))?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(file_err(&path)(e)),
        }
    }
    Err(ObjgraphError::File {
        path: dir,
        source: io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary name"),
    })
}

/// Whether `program` is an executable file on `PATH`.
pub(crate) fn program_in_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| d.join(program).is_file())
}

fn render_builtin(g: &ObjectGraph, path: &Path) -> Result<(), ObjgraphError> {
    match ImageFormat::from_path(path) {
        Some(ImageFormat::Dot) => write_file(path, g.dot().as_bytes()),
        Some(ImageFormat::Svg) => write_file(path, g.to_svg().as_bytes()),
        Some(ImageFormat::Png) => write_file(path, &g.to_png()?),
        None => Err(ObjgraphError::UnknownFormat { path: path.to_path_buf() }),
    }
}

fn render_graphviz(dot_path: &Path, path: &Path) -> Result<(), ObjgraphError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("png");
    // Fail early, with the file's own error, if it cannot be written.
    File::create(path).map_err(file_err(path))?;
    let args = [format!("-T{ext}"), format!("-o{}", path.display()), dot_path.display().to_string()];
    let command = format!("dot {}", args.join(" "));
    let status = Command::new("dot").args(&args).status().map_err(|_| {
        let _ = fs::remove_file(path);
        ObjgraphError::GraphvizNotFound
    })?;
    if status.success() {
        Ok(())
    } else {
        let _ = fs::remove_file(path);
        Err(ObjgraphError::GraphvizFailed { command, code: status.code() })
    }
}

/// Writes `g` as `opts` says: to `output`, to a `.dot` file, or to an
/// image (with a temporary `.dot` first, as objgraph), printing
/// `Graph written to … (N nodes)` and `Image generated as …`.
pub(crate) fn present(g: &ObjectGraph, opts: &mut GraphOptions<'_>) -> Result<GraphReport, ObjgraphError> {
    let mut report = GraphReport { nodes: g.node_count(), dot_path: None, image_path: None };
    if let Some(out) = opts.output.as_mut() {
        out.write_all(g.dot().as_bytes()).map_err(ObjgraphError::Write)?;
        return Ok(report);
    }
    let mut stdout = io::stdout();
    let status: &mut dyn Write = match opts.status.as_mut() {
        Some(s) => *s,
        None => &mut stdout,
    };
    let filename = opts.filename.clone();
    let is_dot = filename.as_deref().is_some_and(|f| ImageFormat::from_path(f) == Some(ImageFormat::Dot));
    let use_dot = match opts.renderer {
        Renderer::Builtin => false,
        Renderer::Graphviz => {
            if !is_dot && !program_in_path("dot") {
                return Err(ObjgraphError::GraphvizNotFound);
            }
            true
        }
        Renderer::GraphvizOrBuiltin => program_in_path("dot"),
    };
    if let (Some(f), false) = (&filename, use_dot) {
        // Refuse formats the built-in renderer cannot make before writing
        // anything.
        if ImageFormat::from_path(f).is_none() {
            return Err(ObjgraphError::UnknownFormat { path: f.clone() });
        }
    }
    let dot_path = match &filename {
        Some(f) if is_dot => {
            write_file(f, g.dot().as_bytes())?;
            f.clone()
        }
        _ => temp_dot(g.dot())?,
    };
    report.dot_path = Some(dot_path.clone());
    // The image is made before anything is printed: on failure the
    // temporary .dot is removed and only the error is reported.
    let image = match (is_dot, filename) {
        (true, _) => None,
        (false, Some(f)) => Some(f),
        (false, None) => Some(dot_path.with_extension("png")),
    };
    if let Some(image) = &image {
        let made = if use_dot { render_graphviz(&dot_path, image) } else { render_builtin(g, image) };
        if let Err(e) = made {
            let _ = fs::remove_file(&dot_path);
            return Err(e);
        }
    }
    writeln!(status, "Graph written to {} ({} nodes)", dot_path.display(), g.node_count())
        .map_err(ObjgraphError::Write)?;
    let Some(image) = image else {
        return Ok(report);
    };
    writeln!(status, "Image generated as {}", image.display()).map_err(ObjgraphError::Write)?;
    report.image_path = Some(image);
    Ok(report)
}
