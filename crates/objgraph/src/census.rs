//! Census: counts (and bytes) of tracked objects by type, growth between
//! calls, new object ids, and lookups by type or id.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use super::{name_matches, row_name, type_name, Predicate};
use crate::heap_graph::HeapGraph;
use pygc_core::inspect;
use pygc_core::GcAny;

/// Options of the census functions (objgraph's keyword arguments).
#[derive(Clone, Copy)]
pub struct CensusOptions<'a> {
    /// `Node` instead of `my_crate::model::Node` (objgraph's `shortnames`).
    pub shortnames: bool,
    /// Count these objects instead of every tracked object.
    pub objects: Option<&'a [GcAny]>,
    /// Count only objects for which this returns true.
    pub filter: Option<Predicate<'a>>,
    /// Rank by bytes instead of counts, and print a bytes column.
    pub bytes: bool,
}

impl Default for CensusOptions<'_> {
    fn default() -> Self {
        CensusOptions { shortnames: true, objects: None, filter: None, bytes: false }
    }
}

/// One type of the census.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeStat {
    /// The type name (short or full, as asked).
    pub name: String,
    /// Number of objects.
    pub count: usize,
    /// Their size in bytes, headers included (`sys.getsizeof` summed).
    pub bytes: usize,
}

/// Rows keyed by name, in first-seen order (Python dict order).
#[derive(Default)]
struct Stats {
    rows: Vec<TypeStat>,
    index: HashMap<String, usize>,
}

impl Stats {
    fn add(&mut self, name: String, count: usize, bytes: usize) {
        match self.index.get(&name) {
            Some(&i) => {
                self.rows[i].count += count;
                self.rows[i].bytes += bytes;
            }
            None => {
                self.index.insert(name.clone(), self.rows.len());
                self.rows.push(TypeStat { name, count, bytes });
            }
        }
    }
}

fn collect_stats(opts: &CensusOptions<'_>) -> Vec<TypeStat> {
    let mut stats = Stats::default();
    match (opts.objects, opts.filter) {
        (None, None) => {
            // Fast path: one walk of the lists, no handle per object.
            for row in inspect::census(false) {
                stats.add(row_name(&row, opts.shortnames), row.count, row.bytes);
            }
        }
        (objects, filter) => {
            let owned;
            let objects = match objects {
                Some(o) => o,
                None => {
                    owned = pygc_core::gc::get_objects(None).unwrap_or_default();
                    &owned[..]
                }
            };
            let mut names: HashMap<&'static str, String> = HashMap::new();
            for o in objects {
                if let Some(f) = filter {
                    if !f(o) {
                        continue;
                    }
                }
                let name = match o.dynamic_type_name() {
                    Some(name) => name,
                    None => {
                        names.entry(o.type_name()).or_insert_with(|| type_name(o, opts.shortnames)).clone()
                    }
                };
                stats.add(name, 1, pygc_core::sys::getsizeof(o));
            }
        }
    }
    stats.rows
}

/// Counts objects per type (`objgraph.typestats`), in the order types are
/// first met on the heap.
///
/// Only objects the collector tracks are seen (types that can hold a
/// [`pygc_core::Gc`]), as objgraph sees only `gc.get_objects()`.
pub fn typestats(opts: &CensusOptions<'_>) -> Vec<TypeStat> {
    collect_stats(opts)
}

/// Whether `typename` names the type of `o` (see [`name_matches`]).
fn matches_object(typename: &str, o: &GcAny) -> bool {
    match o.dynamic_type_name() {
        Some(name) => name == typename,
        None => name_matches(typename, o.type_name(), false),
    }
}

/// The number of objects of type `typename` (`objgraph.count`): a bare name
/// (`"Node"`) matches short names, a path (`"app::Node"`) full names.
pub fn count(typename: &str, objects: Option<&[GcAny]>) -> usize {
    match objects {
        None => inspect::census(false)
            .iter()
            .filter(|r| name_matches(typename, &r.type_name, r.dynamic))
            .map(|r| r.count)
            .sum(),
        Some(objs) => objs.iter().filter(|o| matches_object(typename, o)).count(),
    }
}

/// The `limit` most common types, by count (or bytes with `opts.bytes`),
/// ties in heap order (`objgraph.most_common_types`). `None` for all.
pub fn most_common_types(limit: Option<usize>, opts: &CensusOptions<'_>) -> Vec<TypeStat> {
    let mut rows = collect_stats(opts);
    if opts.bytes {
        rows.sort_by_key(|r| std::cmp::Reverse(r.bytes));
    } else {
        rows.sort_by_key(|r| std::cmp::Reverse(r.count));
    }
    if let Some(l) = limit {
        rows.truncate(l);
    }
    rows
}

/// Prints [`most_common_types`] to stdout as objgraph does
/// (`'%-*s %i'`, e.g. `Node 100`).
pub fn show_most_common_types(limit: Option<usize>, opts: &CensusOptions<'_>) -> io::Result<()> {
    show_most_common_types_to(&mut io::stdout().lock(), limit, opts)
}

/// [`show_most_common_types`] to any writer. With `opts.bytes`, a bytes
/// column follows the count.
pub fn show_most_common_types_to(
    out: &mut dyn Write,
    limit: Option<usize>,
    opts: &CensusOptions<'_>,
) -> io::Result<()> {
    let rows = most_common_types(limit, opts);
    let width = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
    for r in &rows {
        if opts.bytes {
            writeln!(out, "{:<width$} {} {}", r.name, r.count, r.bytes)?;
        } else {
            writeln!(out, "{:<width$} {}", r.name, r.count)?;
        }
    }
    Ok(())
}

/// Options of [`growth`] and [`show_growth`].
#[derive(Clone, Copy)]
pub struct GrowthOptions<'a> {
    /// Short type names (objgraph's default).
    pub shortnames: bool,
    /// Count only objects for which this returns true.
    pub filter: Option<Predicate<'a>>,
    /// Run [`pygc_core::gc::collect`] first, as objgraph always does. Turn it
    /// off to measure without disturbing the generations.
    pub collect: bool,
    /// Rank by growth in bytes and print two bytes columns.
    pub bytes: bool,
}

impl Default for GrowthOptions<'_> {
    fn default() -> Self {
        GrowthOptions { shortnames: true, filter: None, collect: true, bytes: false }
    }
}

/// Peak counts and bytes per type seen so far (objgraph's `peak_stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeakStats {
    counts: HashMap<String, usize>,
    bytes: HashMap<String, usize>,
}

impl PeakStats {
    /// The peak count recorded for `name`.
    pub fn peak_count(&self, name: &str) -> usize {
        self.counts.get(name).copied().unwrap_or(0)
    }
    /// The peak bytes recorded for `name`.
    pub fn peak_bytes(&self, name: &str) -> usize {
        self.bytes.get(name).copied().unwrap_or(0)
    }
}

/// One row of [`growth`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrowthRow {
    /// Type name.
    pub name: String,
    /// Objects now.
    pub count: usize,
    /// Count above the previous peak (objgraph's delta; may be ≤ 0 only
    /// when ranking by bytes).
    pub delta: isize,
    /// Bytes now.
    pub bytes: usize,
    /// Bytes above the previous bytes peak (≤ 0 when they did not grow).
    pub bytes_delta: isize,
}

thread_local! {
    static PEAKS: RefCell<PeakStats> = RefCell::new(PeakStats::default());
}

/// Forgets this thread's peaks: the next [`growth`] reports everything.
pub fn reset_peak_stats() {
    PEAKS.with(|p| *p.borrow_mut() = PeakStats::default());
}

/// Types whose count rose above its peak since the last call, largest
/// increase first (`objgraph.growth`). Peaks are kept per thread.
pub fn growth(limit: Option<usize>, opts: &GrowthOptions<'_>) -> Vec<GrowthRow> {
    // Census first, with the borrow released: `collect` and `filter` run
    // user code, which may itself call objgraph.
    let stats = growth_stats(opts);
    PEAKS.with(|p| apply_growth(&mut p.borrow_mut(), stats, limit, opts.bytes))
}

/// [`growth`] against peaks you keep yourself.
pub fn growth_with(peaks: &mut PeakStats, limit: Option<usize>, opts: &GrowthOptions<'_>) -> Vec<GrowthRow> {
    let stats = growth_stats(opts);
    apply_growth(peaks, stats, limit, opts.bytes)
}

fn growth_stats(opts: &GrowthOptions<'_>) -> Vec<TypeStat> {
    if opts.collect {
        pygc_core::gc::collect();
    }
    collect_stats(&CensusOptions {
        shortnames: opts.shortnames,
        objects: None,
        filter: opts.filter,
        bytes: false,
    })
}

fn apply_growth(
    peaks: &mut PeakStats,
    stats: Vec<TypeStat>,
    limit: Option<usize>,
    by_bytes: bool,
) -> Vec<GrowthRow> {
    let mut rows = Vec::new();
    for s in stats {
        let old_count = peaks.peak_count(&s.name);
        let old_bytes = peaks.peak_bytes(&s.name);
        let count_grew = s.count > old_count;
        let bytes_grew = s.bytes > old_bytes;
        if count_grew {
            peaks.counts.insert(s.name.clone(), s.count);
        }
        if bytes_grew {
            peaks.bytes.insert(s.name.clone(), s.bytes);
        }
        if (by_bytes && bytes_grew) || (!by_bytes && count_grew) {
            rows.push(GrowthRow {
                delta: s.count as isize - old_count as isize,
                bytes_delta: s.bytes as isize - old_bytes as isize,
                name: s.name,
                count: s.count,
                bytes: s.bytes,
            });
        }
    }
    if by_bytes {
        rows.sort_by_key(|r| std::cmp::Reverse(r.bytes_delta));
    } else {
        rows.sort_by_key(|r| std::cmp::Reverse(r.delta));
    }
    if let Some(l) = limit.filter(|&l| l > 0) {
        rows.truncate(l);
    }
    rows
}

/// Prints [`growth`] to stdout in objgraph's layout (`'%-*s%9d %+9d'`).
pub fn show_growth(limit: Option<usize>, opts: &GrowthOptions<'_>) -> io::Result<()> {
    show_growth_to(&mut io::stdout().lock(), None, limit, opts)
}

/// [`show_growth`] to any writer, with this thread's peaks (`None`) or
/// yours. With `opts.bytes`, bytes and their growth follow.
pub fn show_growth_to(
    out: &mut dyn Write,
    peaks: Option<&mut PeakStats>,
    limit: Option<usize>,
    opts: &GrowthOptions<'_>,
) -> io::Result<()> {
    let rows = match peaks {
        Some(p) => growth_with(p, limit, opts),
        None => growth(limit, opts),
    };
    let width = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
    for r in &rows {
        if opts.bytes {
            writeln!(
                out,
                "{:<width$}{:>9} {:>+9} {:>12} {:>+12}",
                r.name, r.count, r.delta, r.bytes, r.bytes_delta
            )?;
        } else {
            writeln!(out, "{:<width$}{:>9} {:>+9}", r.name, r.count, r.delta)?;
        }
    }
    Ok(())
}

/// The column [`get_new_ids`] sorts by, descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortBy {
    /// `'old'`.
    Old,
    /// `'current'`.
    Current,
    /// `'new'`.
    New,
    /// `'deltas'` (the default).
    #[default]
    Deltas,
}

/// Options of [`get_new_ids`].
#[derive(Clone, Copy, Debug)]
pub struct NewIdsOptions {
    /// Return the previous answer without looking at the heap.
    pub skip_update: bool,
    /// Rows to print: `Some(0)` prints nothing, `None` everything.
    pub limit: Option<usize>,
    /// Sort column.
    pub sortby: SortBy,
    /// `None` reuses the previous call's choice (short names at first).
    pub shortnames: Option<bool>,
    /// Run [`pygc_core::gc::collect`] first, as objgraph does.
    pub collect: bool,
}

impl Default for NewIdsOptions {
    fn default() -> Self {
        NewIdsOptions {
            skip_update: false,
            limit: Some(10),
            sortby: SortBy::Deltas,
            shortnames: None,
            collect: true,
        }
    }
}

/// Type name → `id()`s of the objects created since the previous call.
pub type NewIds = HashMap<String, HashSet<usize>>;

struct NewIdsState {
    old: HashMap<String, HashSet<usize>>,
    current: HashMap<String, HashSet<usize>>,
    new: NewIds,
    shortnames: bool,
}

thread_local! {
    static NEW_IDS: RefCell<NewIdsState> = RefCell::new(NewIdsState {
        old: HashMap::new(),
        current: HashMap::new(),
        new: HashMap::new(),
        shortnames: true,
    });
}

/// Forgets this thread's [`get_new_ids`] state.
pub fn reset_new_ids() {
    NEW_IDS.with(|s| {
        let mut s = s.borrow_mut();
        s.old.clear();
        s.current.clear();
        s.new.clear();
        s.shortnames = true;
    })
}

/// Prints objgraph's table of old, current and new ids per type to stdout
/// and returns the new ids (`objgraph.get_new_ids`). Use [`at_addrs`] to
/// turn ids back into objects.
pub fn get_new_ids(opts: &NewIdsOptions) -> io::Result<NewIds> {
    get_new_ids_to(&mut io::stdout().lock(), opts)
}

/// [`get_new_ids`] to any writer.
pub fn get_new_ids_to(out: &mut dyn Write, opts: &NewIdsOptions) -> io::Result<NewIds> {
    if opts.skip_update {
        return Ok(NEW_IDS.with(|s| s.borrow().new.clone()));
    }
    if opts.collect {
        pygc_core::gc::collect();
    }
    let census = inspect::census(true);
    let rows = NEW_IDS.with(|s| {
        let s = &mut *s.borrow_mut();
        let shortnames = opts.shortnames.unwrap_or(s.shortnames);
        s.shortnames = shortnames;
        s.old = std::mem::take(&mut s.current);
        for name in s.old.keys() {
            s.current.insert(name.clone(), HashSet::new());
        }
        for row in census {
            let name = row_name(&row, shortnames);
            s.current.entry(name).or_default().extend(row.ids);
        }
        s.new.clear();
        let mut rows = Vec::new();
        let mut remove = Vec::new();
        for (name, cur) in &s.current {
            let old = s.old.get(name);
            let num_old = old.map_or(0, HashSet::len);
            if num_old == 0 && cur.is_empty() {
                remove.push(name.clone());
                continue;
            }
            let new: HashSet<usize> = match old {
                Some(o) => cur.difference(o).copied().collect(),
                None => cur.clone(),
            };
            let num_new = new.len();
            s.new.insert(name.clone(), new);
            rows.push((name.clone(), num_old, cur.len(), num_new, cur.len() as isize - num_old as isize));
        }
        for name in remove {
            s.old.remove(&name);
            s.current.remove(&name);
            s.new.remove(&name);
        }
        rows
    });
    let mut rows = rows;
    let key = |r: &(String, usize, usize, usize, isize)| -> isize {
        match opts.sortby {
            SortBy::Old => r.1 as isize,
            SortBy::Current => r.2 as isize,
            SortBy::New => r.3 as isize,
            SortBy::Deltas => r.4,
        }
    };
    rows.sort_by(|a, b| (key(b), &b.0).cmp(&(key(a), &a.0)));
    if let Some(l) = opts.limit {
        rows.truncate(l);
    }
    if !rows.is_empty() {
        let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let rule = "=".repeat(width + 13 * 4);
        writeln!(out, "{rule}")?;
        writeln!(
            out,
            "{:<width$}{:>13}{:>13}{:>13}{:>13}",
            "Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"
        )?;
        writeln!(out, "{rule}")?;
        for (name, old, cur, new, delta) in &rows {
            writeln!(out, "{:<width$}{:>13}{:>13}{:>+13}{:>+13}", name, old, cur, *new as isize, delta)?;
        }
        writeln!(out, "{rule}")?;
    }
    Ok(NEW_IDS.with(|s| s.borrow().new.clone()))
}

/// Objects of type `typename` (`objgraph.by_type`), matched as [`count`].
pub fn by_type(typename: &str, objects: Option<&[GcAny]>) -> Vec<GcAny> {
    let owned;
    let objects = match objects {
        Some(o) => o,
        None => {
            if count(typename, None) == 0 {
                return Vec::new();
            }
            owned = pygc_core::gc::get_objects(None).unwrap_or_default();
            &owned[..]
        }
    };
    let mut matches: HashMap<&'static str, bool> = HashMap::new();
    objects
        .iter()
        .filter(|o| match o.dynamic_type_name() {
            Some(name) => name == typename,
            None => {
                *matches.entry(o.type_name()).or_insert_with(|| name_matches(typename, o.type_name(), false))
            }
        })
        .cloned()
        .collect()
}

/// The tracked object whose `id()` is `id` (`objgraph.at`).
pub fn at(id: usize) -> Option<GcAny> {
    inspect::find_by_ids(&HashSet::from([id])).pop()
}

/// The tracked objects whose ids are in `ids` (`objgraph.at_addrs`).
pub fn at_addrs(ids: &HashSet<usize>) -> Vec<GcAny> {
    inspect::find_by_ids(ids)
}

/// Objects no other object refers to (`objgraph.get_leaking_objects`):
/// held only by program variables, or not at all. With `objects`, only
/// references among them count. Collects first unless `collect` is false.
pub fn get_leaking_objects(objects: Option<&[GcAny]>, collect: bool) -> Vec<GcAny> {
    if collect {
        pygc_core::gc::collect();
    }
    match objects {
        None => {
            let g = HeapGraph::build();
            (0..g.tracked).filter(|&i| g.referrers(i).is_empty()).map(|i| g.objs[i].clone()).collect()
        }
        Some(objs) => {
            let mut ids: HashSet<usize> = objs.iter().map(GcAny::id).collect();
            for o in objs {
                for r in pygc_core::gc::get_referents(&[o]) {
                    ids.remove(&r.id());
                }
            }
            objs.iter().filter(|o| ids.contains(&o.id())).cloned().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::type_name;
    use super::*;

    #[test]
    fn peak_semantics() {
        let mut peaks = PeakStats::default();
        let stat = |n: usize| vec![TypeStat { name: "A".into(), count: n, bytes: n * 10 }];
        let r = apply_growth(&mut peaks, stat(5), None, false);
        assert_eq!(r[0].delta, 5);
        assert!(apply_growth(&mut peaks, stat(3), None, false).is_empty());
        // Back up to 4: still below the peak of 5.
        assert!(apply_growth(&mut peaks, stat(4), None, false).is_empty());
        let r = apply_growth(&mut peaks, stat(7), None, false);
        assert_eq!((r[0].count, r[0].delta, r[0].bytes_delta), (7, 2, 20));
    }

    #[test]
    fn type_name_helper() {
        let x = pygc_core::Gc::new(vec![pygc_core::Gc::new(1u8)]);
        let any = pygc_core::Gc::to_any(&x);
        assert_eq!(type_name(&any, true), "Vec<Gc<u8>>");
        assert!(type_name(&any, false).starts_with("alloc::vec::Vec<pygc_core::"));
    }
}
