//! `#[profile]` on the shapes of Rust functions: methods, generics, `while`,
//! `loop` with a value, closures holding `return`, `?`, unit functions.
//! Occurrence counts are exact whatever the measure, so these use RSS.
#![allow(clippy::needless_return)]

use pygc_derive::profile;

mod common;
use common::Capture;

/// (line contents trimmed, occurrences) of each measured row.
fn occurrences(table: &str) -> Vec<(String, u64)> {
    table
        .lines()
        .skip(4)
        .filter(|l| l.len() > 47 && !l[7..46].trim().is_empty())
        .map(|l| (l[47..].trim().to_string(), l[34..44].trim().parse().unwrap()))
        .collect()
}

struct Counter {
    n: u32,
    out: Capture,
}

impl Counter {
    #[profile(crate = memory_profiler, measure = Rss, stream = self.out.clone())]
    fn count_to(&mut self, limit: u32) -> u32 {
        while self.n < limit {
            self.n += 1;
        }
        let found = loop {
            if self.n.is_multiple_of(7) {
                break self.n;
            }
            self.n += 1;
        };
        found
    }
}

#[profile(crate = memory_profiler, measure = Rss, stream = OUT.with(|o| o.clone()))]
fn generic_sum<T: Copy + Into<u64>>(items: &[T]) -> u64 {
    let f = |x: T| -> u64 {
        return x.into() * 2;
    };
    let mut s = 0;
    for &i in items {
        s += f(i);
    }
    s
}

#[profile(crate = memory_profiler, measure = Rss, stream = OUT.with(|o| o.clone()))]
fn parse_all(words: &[&str]) -> Result<u32, std::num::ParseIntError> {
    let mut total = 0;
    for w in words {
        total += w.parse::<u32>()?;
    }
    Ok(total)
}

#[profile(crate = memory_profiler, measure = Rss, stream = OUT.with(|o| o.clone()))]
fn unit_fn(v: &mut Vec<u8>) {
    v.push(1);
    if v.len() > 1 {
        return;
    }
    v.push(2);
}

thread_local! {
    static OUT: Capture = Capture::default();
}

#[test]
fn method_while_and_loop_with_value() {
    let mut c = Counter { n: 0, out: Capture::default() };
    assert_eq!(c.count_to(3), 7);
    let t = c.out.take();
    let occ = occurrences(&t);
    assert!(t.starts_with("Filename: crates/memory-profiler/tests/macro_shapes.rs\n"), "{t}");
    assert_eq!(occ[0].0, "#[profile(crate = memory_profiler, measure = Rss, stream = self.out.clone())]");
    assert!(occ.contains(&("while self.n < limit {".into(), 4)), "{occ:?}\n{t}");
    assert!(
        occ.contains(&("self.n += 1;".into(), 3))
            || occ.iter().filter(|o| o.0 == "self.n += 1;").count() == 2,
        "{occ:?}"
    );
    assert!(occ.contains(&("found".into(), 1)), "{occ:?}");
}

#[test]
fn generics_closures_with_return_and_for() {
    assert_eq!(generic_sum(&[1u8, 2, 3]), 12);
    let t = OUT.with(|o| o.take());
    let occ = occurrences(&t);
    assert!(occ.contains(&("for &i in items {".into(), 4)), "{occ:?}\n{t}");
    assert!(occ.contains(&("s += f(i);".into(), 3)), "{occ:?}");
    // The closure's own `return` is left alone (not a row of its own).
    assert!(!occ.iter().any(|o| o.0.starts_with("return x.into()")), "{occ:?}");
}

#[test]
fn question_mark_early_exit_still_prints() {
    assert!(parse_all(&["1", "x", "3"]).is_err());
    let t = OUT.with(|o| o.take());
    let occ = occurrences(&t);
    assert!(occ.contains(&("total += w.parse::<u32>()?;".into(), 2)), "{occ:?}\n{t}");
    assert!(!occ.iter().any(|o| o.0 == "Ok(total)"), "{occ:?}");
    assert_eq!(parse_all(&["1", "2"]), Ok(3));
    let occ = occurrences(&OUT.with(|o| o.take()));
    assert!(occ.contains(&("Ok(total)".into(), 1)), "{occ:?}");
}

#[test]
fn unit_functions_and_bare_return() {
    let mut v = vec![9];
    unit_fn(&mut v);
    assert_eq!(v, vec![9, 1]);
    let occ = occurrences(&OUT.with(|o| o.take()));
    assert!(occ.contains(&("return;".into(), 1)), "{occ:?}");
    assert!(!occ.iter().any(|o| o.0 == "v.push(2);"), "{occ:?}");
}
