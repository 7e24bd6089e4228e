//! `mprof`: memory over time of any command (memory_profiler's mprof, in
//! Rust). Argument parsing only; the work is in the `mprof` library.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mprof::{files, plot, record, Error, Profile};

#[derive(Parser)]
#[command(
    name = "mprof",
    version,
    about = "Record and plot the memory use of any command over time"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args)]
struct Sampling {
    /// Sampling period in seconds.
    #[arg(short = 'T', long, default_value = "0.1", value_parser = record::parse_interval)]
    interval: Duration,
    /// Add the memory of every child process to each sample.
    #[arg(short = 'C', long)]
    include_children: bool,
    /// Also record each child process separately (CHLD lines).
    #[arg(short = 'M', long)]
    multiprocess: bool,
    /// Output file (default mprofile_YYYYMMDDhhmmss.dat).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Stop sampling after this many seconds.
    #[arg(short, long, value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// No live progress line.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run COMMAND and sample its memory; exits with the command's code.
    Run {
        #[command(flatten)]
        s: Sampling,
        /// Accepted for compatibility: the exit code is always passed through.
        #[arg(short = 'E', long)]
        exit_code: bool,
        /// The command and its arguments.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<OsString>,
    },
    /// Sample a running process (default timeout 3600 s).
    Attach {
        #[command(flatten)]
        s: Sampling,
        /// Process id.
        pid: u32,
    },
    /// List the profiles in the current directory.
    List,
    /// Remove every profile in the current directory.
    Clean {
        /// Only show what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove profiles by index (from `mprof list`) or file name.
    Rm {
        /// Only show what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Indices or file names.
        #[arg(required = true, allow_hyphen_values = true)]
        profiles: Vec<String>,
    },
    /// Print the peak memory of profiles (default: the newest).
    Peak {
        /// Only samples taken while this function (module.func) ran.
        #[arg(long)]
        func: Option<String>,
        /// Indices or file names.
        #[arg(allow_hyphen_values = true)]
        profiles: Vec<String>,
    },
    /// Plot profiles (default: the newest) to PNG or SVG.
    Plot {
        /// Title (default: the command line).
        #[arg(short, long)]
        title: Option<String>,
        /// Output file, .png or .svg (default: the profile's name with .png).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Only show this time window: t0,t1 in seconds.
        #[arg(short = 'w', long = "window", value_parser = plot::parse_window)]
        window: Option<(f64, f64)>,
        /// Draw function calls as stacked rectangles.
        #[arg(short, long)]
        flame: bool,
        /// Draw a trend line and its slope.
        #[arg(short, long)]
        slope: bool,
        /// Leave out function brackets.
        #[arg(short = 'n', long = "no-function-ts")]
        no_functions: bool,
        /// Indices or file names.
        #[arg(allow_hyphen_values = true)]
        profiles: Vec<String>,
    },
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid timeout {s:?}: expected seconds"))?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!(
            "invalid timeout {s:?}: must be more than 0 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

fn sample(
    s: Sampling,
    target: record::Target,
    default_timeout: Option<Duration>,
) -> Result<i32, Error> {
    let output = s
        .output
        .unwrap_or_else(|| record::default_output(Path::new(".")));
    let cfg = record::Config {
        interval: s.interval,
        include_children: s.include_children,
        multiprocess: s.multiprocess,
        timeout: s.timeout.or(default_timeout),
        output: output.clone(),
        progress: !s.quiet,
    };
    eprintln!("mprof: Sampling memory every {}s", s.interval.as_secs_f64());
    let out = record::record(&cfg, &target)?;
    let exact = out
        .exact_peak
        .map(|p| format!(", exact peak {p:.1} MiB (VmHWM)"))
        .unwrap_or_default();
    eprintln!(
        "mprof: wrote {}: {} samples, sampled peak {:.1} MiB{exact}",
        output.display(),
        out.samples,
        out.sampled_peak
    );
    Ok(out.exit_code.unwrap_or(0))
}

fn load(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Profile)>, Error> {
    paths
        .iter()
        .map(|p| Ok((p.clone(), Profile::read(p)?)))
        .collect()
}

fn peak(func: Option<String>, profiles: Vec<String>) -> Result<i32, Error> {
    for (path, p) in load(&files::inputs(Path::new("."), &profiles)?)? {
        let mem: Vec<f64> = match &func {
            None => p.mem.iter().map(|m| m.0).collect(),
            Some(f) => {
                let ranges: Vec<(f64, f64)> = p
                    .funcs
                    .iter()
                    .filter(|r| &r.name == f)
                    .map(|r| (r.t_start, r.t_end))
                    .collect();
                p.mem
                    .iter()
                    .filter(|m| ranges.iter().any(|r| r.0 <= m.1 && m.1 <= r.1))
                    .map(|m| m.0)
                    .collect()
            }
        };
        match mem.iter().copied().reduce(f64::max) {
            Some(m) => println!("{}\t{m:.3} MiB", path.display()),
            None => println!("{}\tNaN MiB", path.display()),
        }
        for pid in p.children.keys() {
            if let Some(c) = p.child_peak(pid) {
                println!("  Child {pid}\t\t\t{c:.3} MiB");
            }
        }
        if func.is_none() {
            if let Some((h, _)) = p.hwm {
                println!("  Exact peak (VmHWM)\t{h:.3} MiB");
            }
        }
    }
    Ok(0)
}

fn remove(paths: Vec<PathBuf>, dry_run: bool) -> Result<i32, Error> {
    if dry_run {
        println!("Files to be removed: ");
        for p in &paths {
            println!("{}", p.display());
        }
        return Ok(0);
    }
    for p in &paths {
        std::fs::remove_file(p)
            .map_err(|e| Error::new(format!("cannot remove {}: {e}", p.display())))?;
    }
    Ok(0)
}

fn run(cli: Cli) -> Result<i32, Error> {
    match cli.cmd {
        Cmd::Run { s, command, .. } => sample(s, record::Target::Spawn(command), None),
        Cmd::Attach { s, pid } => sample(
            s,
            record::Target::Attach(pid),
            Some(Duration::from_secs(3600)),
        ),
        Cmd::List => {
            for (i, p) in files::profiles_in(Path::new("."))?.iter().enumerate() {
                println!("{}", files::list_line(i, p));
            }
            Ok(0)
        }
        Cmd::Clean { dry_run } => remove(files::profiles_in(Path::new("."))?, dry_run),
        Cmd::Rm { dry_run, profiles } => {
            remove(files::resolve(Path::new("."), &profiles)?, dry_run)
        }
        Cmd::Peak { func, profiles } => peak(func, profiles),
        Cmd::Plot {
            title,
            output,
            window,
            flame,
            slope,
            no_functions,
            profiles,
        } => {
            let inputs = files::inputs(Path::new("."), &profiles)?;
            let output = output.unwrap_or_else(|| plot::default_output(&inputs[0]));
            let opts = plot::Options {
                title,
                output: output.clone(),
                window,
                flame,
                slope,
                no_functions,
            };
            plot::plot(&load(&inputs)?, &opts)?;
            eprintln!("mprof: wrote {}", output.display());
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("mprof: error: {e}");
            ExitCode::from(e.code.clamp(1, 255) as u8)
        }
    }
}
