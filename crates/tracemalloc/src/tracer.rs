//! The tracer's global state: the traces tables, interned raw tracebacks, counters,
//! sampling and the per-thread re-entrancy guard.
//!
//! Invariants (checked by tests through the public API):
//! - `CURRENT == Σ entry.weight` over every shard (updated under the shard's lock);
//! - `PEAK >= CURRENT`;
//! - every allocation the tracer makes for itself happens with the thread's `busy` flag
//!   set, so the `Tracing` allocator passes it straight to the inner allocator, and inside
//!   an `obmalloc::ToolScope`, so obmalloc counts it in `tool_bytes()`, not in the
//!   program's `live_bytes()` (whichever thread frees it later).

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Error;
use crate::frame::Traceback;
use crate::snapshot::{Snapshot, Trace};

/// Most native frames captured for one traceback (plumbing frames included).
pub const MAX_NATIVE_FRAMES: usize = 256;
/// Capture buffer used when `nframe + PLUMBING_BUDGET` fits (the common case).
const SMALL_CAPTURE: usize = 48;
/// Extra native frames captured beyond the limit, to cover the tracer's own frames and the
/// standard library's frames, which are dropped when symbolizing. Unoptimized builds
/// inline nothing, so their allocation paths are deeper.
pub const PLUMBING_BUDGET: usize = if cfg!(debug_assertions) { 32 } else { 12 };

/// A frame as captured: a `#[track_caller]` site (free) or a native return address
/// (symbolized later).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum RawFrame {
    Site(&'static Location<'static>),
    Ip(usize),
    /// A frame of the host interpreter (see `host.rs`).
    Host(crate::host::HostFrame),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub size: usize,
    pub weight: u64,
    pub tb: u32,
    pub scope: u32,
}

/// FxHash: the tables' keys are addresses and frame lists, and the tracer must not ask the
/// OS for random seeds from inside an allocator.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);
impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64)
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64)
    }
    fn write_isize(&mut self, x: isize) {
        self.write_u64(x as u64)
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
type Fx = BuildHasherDefault<FxHasher>;
type TraceMap = HashMap<(u32, usize), Entry, Fx>;
type TbMap = HashMap<Arc<[RawFrame]>, u32, Fx>;

const TRACE_SHARDS: usize = 64;
const TB_SHARDS: usize = 16;
const TB_SHARD_BITS: u32 = 4;

struct TbShard {
    map: TbMap,
    list: Vec<Arc<[RawFrame]>>,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_TRACES: Mutex<TraceMap> = Mutex::new(HashMap::with_hasher(BuildHasherDefault::new()));
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_TBS: Mutex<TbShard> =
    Mutex::new(TbShard { map: HashMap::with_hasher(BuildHasherDefault::new()), list: Vec::new() });

static TRACES: [Mutex<TraceMap>; TRACE_SHARDS] = [EMPTY_TRACES; TRACE_SHARDS];
static TRACEBACKS: [Mutex<TbShard>; TB_SHARDS] = [EMPTY_TBS; TB_SHARDS];

pub(crate) static TRACING: AtomicBool = AtomicBool::new(false);
static NFRAME: AtomicU32 = AtomicU32::new(1);
static CURRENT: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);
/// Serializes start / stop / clear.
static CONTROL: Mutex<()> = Mutex::new(());

static SAMPLE_MEAN: AtomicU64 = AtomicU64::new(0);
static SAMPLE_SEED: AtomicU64 = AtomicU64::new(0);
static SAMPLE_EPOCH: AtomicU32 = AtomicU32::new(1);
static THREAD_ORDINAL: AtomicU64 = AtomicU64::new(0);

struct ThreadState {
    busy: Cell<bool>,
    scope: Cell<u32>,
    epoch: Cell<u32>,
    rng: Cell<u64>,
    countdown: Cell<f64>,
    /// The block this thread is handing back to the inner allocator, already forgotten,
    /// and its traceback: the inner allocator's debug hooks may report it as damaged.
    freeing: Cell<(usize, u32)>,
    /// The last traceback this thread interned: (frame count, id, interner epoch) and
    /// its frames. A loop allocating from one place skips the interner's lock.
    last_tb: Cell<(usize, u32, u32)>,
    last_frames: Cell<[RawFrame; LAST_TB_FRAMES]>,
}

/// Frames the per-thread last-traceback cache can hold.
const LAST_TB_FRAMES: usize = 24;
/// Bumped whenever the interner is cleared, so per-thread caches of ids expire.
static INTERN_EPOCH: AtomicU32 = AtomicU32::new(1);

thread_local! {
    // No destructor, const-initialized: usable from the allocator at any time, thread
    // exit included.
    static STATE: ThreadState = const {
        ThreadState {
            busy: Cell::new(false),
            scope: Cell::new(0),
            epoch: Cell::new(0),
            rng: Cell::new(0),
            countdown: Cell::new(0.0),
            freeing: Cell::new((0, 0)),
            last_tb: Cell::new((0, 0, 0)),
            last_frames: Cell::new([RawFrame::Ip(0); LAST_TB_FRAMES]),
        }
    };
}

/// While alive, this thread's allocations are not traced (the tracer's own work), and
/// obmalloc counts them as the tools' memory.
pub(crate) struct Busy {
    prev: bool,
    _tool: obmalloc::ToolScope,
}

impl Busy {
    /// Enters the tracer; `None` if this thread is already inside it.
    #[inline]
    pub(crate) fn enter() -> Option<Busy> {
        let entered = STATE.try_with(|s| !s.busy.replace(true)).unwrap_or(false);
        entered.then(|| Busy { prev: false, _tool: obmalloc::ToolScope::enter() })
    }

    /// Marks the thread busy whether or not it already was (for user-facing calls such as
    /// `take_snapshot`, which must not trace what they allocate).
    pub(crate) fn force() -> Busy {
        let prev = STATE.try_with(|s| s.busy.replace(true)).unwrap_or(true);
        Busy { prev, _tool: obmalloc::ToolScope::enter() }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = STATE.try_with(|s| s.busy.set(self.prev));
    }
}

/// Whether this thread is inside the tracer (its allocations are not traced).
#[inline]
pub(crate) fn thread_busy() -> bool {
    STATE.try_with(|s| s.busy.get()).unwrap_or(true)
}

/// Notes (or, with `None`, clears) the block this thread is freeing, so that a corruption
/// report from the inner allocator can still find its traceback.
#[inline]
pub(crate) fn set_freeing(block: Option<(usize, u32)>) {
    let _ = STATE.try_with(|s| s.freeing.set(block.unwrap_or((0, 0))));
}

/// The traceback of `ptr` if this thread is freeing it right now.
pub(crate) fn freeing(ptr: usize) -> Option<u32> {
    match STATE.try_with(|s| s.freeing.get()) {
        Ok((p, tb)) if p == ptr && p != 0 => Some(tb),
        _ => None,
    }
}

pub(crate) fn set_scope(scope: u32) -> u32 {
    STATE.try_with(|s| s.scope.replace(scope)).unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a tracer lock cannot leave a table half-updated in a way that
    // matters more than losing the tracer: keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[inline]
fn trace_shard(ptr: usize) -> &'static Mutex<TraceMap> {
    let h = (ptr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 6);
    &TRACES[h as usize % TRACE_SHARDS]
}

// ---------------------------------------------------------------- control

pub(crate) fn is_tracing() -> bool {
    TRACING.load(Relaxed)
}

pub(crate) fn start(nframe: i64, sample_mean: u64, seed: u64) -> Result<(), Error> {
    if !(1..=65535).contains(&nframe) {
        return Err(Error::FrameCount(nframe));
    }
    let _busy = Busy::force();
    let _c = lock(&CONTROL);
    if TRACING.load(SeqCst) {
        return Ok(()); // CPython keeps the running configuration.
    }
    crate::unwind::resolve_auto();
    NFRAME.store(nframe as u32, SeqCst);
    SAMPLE_MEAN.store(sample_mean, SeqCst);
    SAMPLE_SEED.store(seed, SeqCst);
    THREAD_ORDINAL.store(0, SeqCst);
    SAMPLE_EPOCH.fetch_add(1, SeqCst);
    TRACING.store(true, SeqCst);
    // obmalloc's debug hooks then say where a damaged traced block was allocated.
    obmalloc::set_block_traceback_hook(Some(crate::hook::block_traceback));
    Ok(())
}

pub(crate) fn stop() {
    let _busy = Busy::force();
    let _c = lock(&CONTROL);
    TRACING.store(false, SeqCst);
    clear_locked();
    SAMPLE_MEAN.store(0, SeqCst);
}

pub(crate) fn clear_traces() {
    let _busy = Busy::force();
    let _c = lock(&CONTROL);
    clear_locked();
}

fn clear_locked() {
    for shard in &TRACES {
        let old = std::mem::take(&mut *lock(shard));
        let removed: u64 = old.values().map(|e| e.weight).sum();
        CURRENT.fetch_sub(removed, SeqCst);
        drop(old);
    }
    for shard in &TRACEBACKS {
        let mut s = lock(shard);
        s.map = HashMap::default();
        s.list = Vec::new();
    }
    INTERN_EPOCH.fetch_add(1, SeqCst);
    PEAK.store(CURRENT.load(SeqCst), SeqCst);
}

pub(crate) fn traceback_limit() -> u32 {
    NFRAME.load(Relaxed)
}

pub(crate) fn traced_memory() -> (u64, u64) {
    if !is_tracing() {
        return (0, 0);
    }
    let current = CURRENT.load(SeqCst);
    (current, PEAK.load(SeqCst).max(current))
}

pub(crate) fn reset_peak() {
    if is_tracing() {
        PEAK.store(CURRENT.load(SeqCst), SeqCst);
    }
}

pub(crate) fn sampling_mean() -> Option<u64> {
    match SAMPLE_MEAN.load(Relaxed) {
        0 => None,
        m => Some(m),
    }
}

/// Bytes held by the tracer: what obmalloc counts for the tools (every allocation the
/// tracer made for itself and still holds, the symbolizer's cache included) when obmalloc
/// serves them, else the tracer's own estimate of its tables (traces, interned
/// tracebacks, symbol cache).
pub(crate) fn tracemalloc_memory() -> u64 {
    // The estimate counts table capacities, never more than was allocated for them, so the
    // larger figure is obmalloc's exact one whenever obmalloc is the allocator underneath.
    (obmalloc::tool_bytes() as u64).max(tables_estimate())
}

fn tables_estimate() -> u64 {
    let _busy = Busy::force();
    let entry = std::mem::size_of::<((u32, usize), Entry)>() + 1;
    let mut total = 0u64;
    for shard in &TRACES {
        total += (lock(shard).capacity() * entry) as u64;
    }
    let tb_entry = std::mem::size_of::<(Arc<[RawFrame]>, u32)>() + 1;
    for shard in &TRACEBACKS {
        let s = lock(shard);
        total += (s.map.capacity() * tb_entry) as u64;
        total += (s.list.capacity() * std::mem::size_of::<Arc<[RawFrame]>>()) as u64;
        total += s.list.iter().map(|f| 16 + std::mem::size_of_val::<[RawFrame]>(f) as u64).sum::<u64>();
    }
    total + crate::symbols::cache_memory()
}

// ---------------------------------------------------------------- sampling

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn exp_draw(s: &ThreadState, mean: f64) -> f64 {
    let mut x = s.rng.get();
    let r = splitmix(&mut x);
    s.rng.set(x);
    // u in (0, 1]: never ln(0).
    let u = ((r >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
    -u.ln() * mean
}

/// Byte-weighted Poisson sampling: a block of `size` bytes is sampled with probability
/// `1 - exp(-size/mean)`; a sampled block weighs `size / that probability`, so weights sum
/// to an unbiased estimate of the bytes allocated. Returns the weight, or `None`.
fn sample(size: usize) -> Option<u64> {
    let mean = SAMPLE_MEAN.load(Relaxed);
    if mean == 0 {
        return Some(size as u64);
    }
    let mean = mean as f64;
    STATE
        .try_with(|s| {
            let epoch = SAMPLE_EPOCH.load(Relaxed);
            if s.epoch.get() != epoch {
                s.epoch.set(epoch);
                let mut seed =
                    SAMPLE_SEED.load(Relaxed) ^ THREAD_ORDINAL.fetch_add(1, Relaxed).rotate_left(32);
                s.rng.set(splitmix(&mut seed));
                let first = exp_draw(s, mean);
                s.countdown.set(first);
            }
            let mut c = s.countdown.get() - size as f64;
            if c > 0.0 {
                s.countdown.set(c);
                return None;
            }
            while c <= 0.0 {
                c += exp_draw(s, mean);
            }
            s.countdown.set(c);
            let p = -(-(size as f64) / mean).exp_m1();
            Some(((size as f64 / p).round() as u64).max(size as u64))
        })
        .ok()
        .flatten()
}

// ---------------------------------------------------------------- recording

/// Captures this thread's stack: the `#[track_caller]` site first when given, then native
/// return addresses (only when more than one frame is asked for, or no site is known).
#[inline(never)]
fn capture(buf: &mut [RawFrame], site: Option<&'static Location<'static>>) -> usize {
    let nframe = NFRAME.load(Relaxed) as usize;
    if let Some(n) = crate::host::capture(buf, nframe) {
        return n;
    }
    let mut n = 0;
    if let Some(loc) = site {
        buf[0] = RawFrame::Site(loc);
        n = 1;
        if nframe == 1 {
            return 1;
        }
    }
    let budget = (n + nframe + PLUMBING_BUDGET).min(buf.len());
    crate::unwind::walk(&mut |ip| {
        buf[n] = RawFrame::Ip(ip);
        n += 1;
        n < budget
    });
    n
}

/// `intern`, through this thread's one-entry cache of the last traceback.
fn intern_cached(frames: &[RawFrame]) -> u32 {
    if frames.len() > LAST_TB_FRAMES {
        return intern(frames);
    }
    let epoch = INTERN_EPOCH.load(Relaxed);
    let hit = STATE.try_with(|s| {
        let (len, id, ep) = s.last_tb.get();
        let last: &Cell<[RawFrame]> = &s.last_frames;
        let same = len == frames.len()
            && ep == epoch
            && last.as_slice_of_cells()[..len].iter().zip(frames).all(|(a, b)| a.get() == *b);
        same.then_some(id)
    });
    if let Ok(Some(id)) = hit {
        return id;
    }
    let id = intern(frames);
    let _ = STATE.try_with(|s| {
        let last: &Cell<[RawFrame]> = &s.last_frames;
        for (cell, f) in last.as_slice_of_cells().iter().zip(frames) {
            cell.set(*f);
        }
        s.last_tb.set((frames.len(), id, epoch));
    });
    id
}

fn intern(frames: &[RawFrame]) -> u32 {
    let mut h = FxHasher::default();
    std::hash::Hash::hash(frames, &mut h);
    let shard_no = (h.finish() >> 60) as usize % TB_SHARDS;
    let mut shard = lock(&TRACEBACKS[shard_no]);
    if let Some(&id) = shard.map.get(frames) {
        return id;
    }
    let idx = shard.list.len() as u32;
    let id = (idx << TB_SHARD_BITS) | shard_no as u32;
    let key: Arc<[RawFrame]> = Arc::from(frames);
    shard.list.push(key.clone());
    shard.map.insert(key, id);
    id
}

pub(crate) fn raw_traceback(id: u32) -> Option<Arc<[RawFrame]>> {
    let shard = lock(&TRACEBACKS[(id as usize) & (TB_SHARDS - 1)]);
    shard.list.get((id >> TB_SHARD_BITS) as usize).cloned()
}

/// Records a block: the allocator and the object heap come here when tracing.
#[cold]
#[inline(never)]
pub(crate) fn record(
    domain: u32,
    ptr: usize,
    size: usize,
    site: Option<&'static Location<'static>>,
    sampled: bool,
) {
    let Some(_busy) = Busy::enter() else { return };
    let weight = if sampled {
        match sample(size) {
            Some(w) => w,
            None => return,
        }
    } else {
        size as u64
    };
    // Zeroing 4 KiB per allocation would cost more than the rest of the path: use a small
    // buffer when the limit allows it.
    let tb = if NFRAME.load(Relaxed) as usize + PLUMBING_BUDGET < SMALL_CAPTURE {
        let mut buf = [RawFrame::Ip(0); SMALL_CAPTURE];
        let n = capture(&mut buf, site);
        intern_cached(&buf[..n])
    } else {
        let mut buf = [RawFrame::Ip(0); MAX_NATIVE_FRAMES + 1];
        let n = capture(&mut buf, site);
        intern(&buf[..n])
    };
    let scope = STATE.try_with(|s| s.scope.get()).unwrap_or(0);
    let mut shard = lock(trace_shard(ptr));
    if !TRACING.load(Relaxed) {
        return; // stopped meanwhile (stop() stores false before taking the shard locks)
    }
    let entry = Entry { size, weight, tb, scope };
    if let Some(old) = shard.insert((domain, ptr), entry) {
        CURRENT.fetch_sub(old.weight, Relaxed);
    }
    let now = CURRENT.fetch_add(weight, Relaxed) + weight;
    PEAK.fetch_max(now, Relaxed);
}

/// Forgets a block; returns its entry.
#[cold]
#[inline(never)]
pub(crate) fn forget(domain: u32, ptr: usize) -> Option<Entry> {
    let _busy = Busy::enter()?;
    let mut shard = lock(trace_shard(ptr));
    let old = shard.remove(&(domain, ptr))?;
    CURRENT.fetch_sub(old.weight, Relaxed);
    Some(old)
}

/// Puts back an entry `forget` removed (a failed realloc keeps its block and its trace).
#[cold]
pub(crate) fn restore(domain: u32, ptr: usize, entry: Entry) {
    let Some(_busy) = Busy::enter() else { return };
    let mut shard = lock(trace_shard(ptr));
    if TRACING.load(SeqCst) && shard.insert((domain, ptr), entry).is_none() {
        let now = CURRENT.fetch_add(entry.weight, SeqCst) + entry.weight;
        PEAK.fetch_max(now, SeqCst);
    }
}

/// The entry of a block, without symbolizing. `try_lock` only, so that it is safe from a
/// corruption report raised while this thread holds a tracer lock.
pub(crate) fn peek(domain: u32, ptr: usize) -> Option<Entry> {
    let shard = trace_shard(ptr).try_lock().ok()?;
    shard.get(&(domain, ptr)).copied()
}

/// Copies the traces (optionally only one leak-check scope's) and symbolizes them.
pub(crate) fn snapshot(scope: Option<u32>) -> Result<Snapshot, Error> {
    if !is_tracing() {
        return Err(Error::NotTracing);
    }
    let _busy = Busy::force();
    let mut raw: Vec<(u32, Entry)> = Vec::new();
    for shard in &TRACES {
        let s = lock(shard);
        raw.extend(
            s.iter()
                .filter(|(_, e)| scope.is_none_or(|id| e.scope == id))
                .map(|(&(domain, _), &e)| (domain, e)),
        );
    }
    let limit = traceback_limit();
    let mut resolved: HashMap<u32, Traceback> = HashMap::new();
    let traces = raw
        .into_iter()
        .map(|(domain, e)| {
            let traceback =
                resolved.entry(e.tb).or_insert_with(|| crate::symbols::traceback_of(e.tb, limit)).clone();
            Trace { domain, size: e.size as u64, weight: e.weight, traceback }
        })
        .collect();
    Ok(Snapshot::new(traces, limit))
}

/// The entry of a block, waiting for the shard's lock.
pub(crate) fn peek_blocking(domain: u32, ptr: usize) -> Option<Entry> {
    let _busy = Busy::force();
    lock(trace_shard(ptr)).get(&(domain, ptr)).copied()
}
