//! The numbers behind `sys._debugmallocstats()` and CPython's report format.

use crate::arena::{self, POOL_FREE, SZIDX_MASK};
use crate::geometry::*;
use crate::mode::Allocator;
use core::sync::atomic::Ordering::Relaxed;
use std::io::{self, Write};

/// Pools and blocks of one size class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Pools assigned to the class (partly used, full, or kept empty by a heap).
    pub pools: usize,
    /// Blocks handed out (blocks freed by another thread and not yet drained count here).
    pub blocks_in_use: usize,
    /// Free blocks in those pools (free lists plus never-carved blocks).
    pub avail_blocks: usize,
}

/// A snapshot of the pools, taken under the arena lock.
///
/// Identity (tested): `allocated_bytes + available_bytes + unused_pools *
/// POOL_SIZE + pool_header_bytes + quantization_bytes + arena_alignment_bytes
/// == arenas_current * ARENA_SIZE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// The allocator in use.
    pub allocator: Allocator,
    /// Per size class 0..32.
    pub classes: [ClassStats; NB_SMALL_SIZE_CLASSES],
    /// Arenas ever mapped.
    pub arenas_allocated_total: usize,
    /// Arenas returned to the OS.
    pub arenas_reclaimed: usize,
    /// Most arenas mapped at once.
    pub arenas_highwater: usize,
    /// Arenas mapped now.
    pub arenas_current: usize,
    /// Σ blocks in use × block size.
    pub allocated_bytes: usize,
    /// Σ free blocks × block size.
    pub available_bytes: usize,
    /// Pools not assigned to any class.
    pub unused_pools: usize,
    /// Used pools × 48.
    pub pool_header_bytes: usize,
    /// Σ used pools × ((16384 − 48) mod block size).
    pub quantization_bytes: usize,
    /// One pool per arena whose start is not pool-aligned.
    pub arena_alignment_bytes: usize,
    /// Arena-map interior nodes.
    pub arena_map_mid_nodes: usize,
    /// Arena-map leaf nodes.
    pub arena_map_bot_nodes: usize,
}

impl Stats {
    /// The six accounting lines summed (equals `arenas_current * ARENA_SIZE`).
    pub fn accounted_bytes(&self) -> usize {
        self.allocated_bytes
            + self.available_bytes
            + self.unused_pools * POOL_SIZE
            + self.pool_header_bytes
            + self.quantization_bytes
            + self.arena_alignment_bytes
    }

    /// Writes CPython's `_PyObject_DebugMallocStats` report. Under the
    /// `malloc` allocators there are no pools and nothing is written (CPython
    /// prints only its free-list lines there, which pygc does not have).
    pub fn write_report(&self, w: &mut dyn Write) -> io::Result<()> {
        if !self.allocator.uses_pools() {
            return Ok(());
        }
        writeln!(
            w,
            "Small block threshold = {SMALL_REQUEST_THRESHOLD}, in {NB_SMALL_SIZE_CLASSES} size classes.\n"
        )?;
        writeln!(w, "class   size   num pools   blocks in use  avail blocks")?;
        writeln!(w, "-----   ----   ---------   -------------  ------------")?;
        for (i, c) in self.classes.iter().enumerate() {
            if c.pools == 0 {
                continue;
            }
            writeln!(
                w,
                "{:5} {:6} {:11} {:15} {:13}",
                i,
                class_size(i),
                c.pools,
                c.blocks_in_use,
                c.avail_blocks
            )?;
        }
        writeln!(w)?;
        line(w, "# arenas allocated total", self.arenas_allocated_total)?;
        line(w, "# arenas reclaimed", self.arenas_reclaimed)?;
        line(w, "# arenas highwater mark", self.arenas_highwater)?;
        line(w, "# arenas allocated current", self.arenas_current)?;
        let label = format!("{} arenas * {} bytes/arena", self.arenas_current, ARENA_SIZE);
        line(w, &label, self.arenas_current * ARENA_SIZE)?;
        writeln!(w)?;
        line(w, "# bytes in allocated blocks", self.allocated_bytes)?;
        line(w, "# bytes in available blocks", self.available_bytes)?;
        let label = format!("{} unused pools * {} bytes", self.unused_pools, POOL_SIZE);
        line(w, &label, self.unused_pools * POOL_SIZE)?;
        line(w, "# bytes lost to pool headers", self.pool_header_bytes)?;
        line(w, "# bytes lost to quantization", self.quantization_bytes)?;
        line(w, "# bytes lost to arena alignment", self.arena_alignment_bytes)?;
        line(w, "Total", self.accounted_bytes())?;
        writeln!(w)?;
        writeln!(w, "arena map counts")?;
        line(w, "# arena map mid nodes", self.arena_map_mid_nodes)?;
        line(w, "# arena map bot nodes", self.arena_map_bot_nodes)?;
        writeln!(w)?;
        let root = arena::MAP_ROOT_BYTES;
        let mid = self.arena_map_mid_nodes * arena::MAP_MID_BYTES;
        let bot = self.arena_map_bot_nodes * arena::MAP_BOT_BYTES;
        line(w, "# bytes lost to arena map root", root)?;
        line(w, "# bytes lost to arena map mid", mid)?;
        line(w, "# bytes lost to arena map bot", bot)?;
        line(w, "Total", root + mid + bot)?;
        writeln!(w)
    }
}

/// `label` padded to 35 columns, `=`, then the number right-aligned in 21
/// columns with comma grouping (CPython's `printone`).
fn line(w: &mut dyn Write, label: &str, value: usize) -> io::Result<()> {
    writeln!(w, "{label:<35}= {:>20}", group(value))
}

/// `1234567` → `"1,234,567"`.
pub(crate) fn group(v: usize) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Takes the snapshot (no allocation while the arena lock is held).
pub(crate) fn collect(allocator: Allocator) -> Stats {
    let mut s = Stats {
        allocator,
        classes: [ClassStats::default(); NB_SMALL_SIZE_CLASSES],
        arenas_allocated_total: 0,
        arenas_reclaimed: 0,
        arenas_highwater: 0,
        arenas_current: 0,
        allocated_bytes: 0,
        available_bytes: 0,
        unused_pools: 0,
        pool_header_bytes: 0,
        quantization_bytes: 0,
        arena_alignment_bytes: 0,
        arena_map_mid_nodes: arena::MAP_MID_NODES.load(Relaxed),
        arena_map_bot_nodes: arena::MAP_BOT_NODES.load(Relaxed),
    };
    let mut a = arena::lock();
    s.arenas_allocated_total = a.ntimes_allocated;
    s.arenas_current = a.narenas_current;
    s.arenas_reclaimed = a.ntimes_allocated - a.narenas_current;
    s.arenas_highwater = a.narenas_highwater;
    let mut narenas = 0;
    a.for_each_arena(|base, _total, nfree, pools| {
        narenas += 1;
        s.unused_pools += nfree;
        if base & (POOL_SIZE - 1) != 0 {
            s.arena_alignment_bytes += POOL_SIZE;
        }
        for &p in pools {
            // SAFETY: carved pools of a live arena; `info` is only written
            // under the lock we hold and `ref_count` is atomic (no reference
            // to the owner-mutated fields is made).
            let (info, refc) = unsafe { ((*p).info, (*p).ref_count.load(Relaxed)) };
            if info & POOL_FREE != 0 {
                continue;
            }
            let cls = (info & SZIDX_MASK) as usize;
            let size = class_size(cls);
            let used = (refc as usize).min(blocks_per_pool(cls));
            let c = &mut s.classes[cls];
            c.pools += 1;
            c.blocks_in_use += used;
            c.avail_blocks += blocks_per_pool(cls) - used;
            s.allocated_bytes += used * size;
            s.available_bytes += (blocks_per_pool(cls) - used) * size;
            s.pool_header_bytes += POOL_OVERHEAD;
            s.quantization_bytes += (POOL_SIZE - POOL_OVERHEAD) % size;
        }
    });
    debug_assert_eq!(narenas, s.arenas_current);
    drop(a);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(4194304), "4,194,304");
    }

    #[test]
    fn line_format_matches_cpython() {
        let mut v = Vec::new();
        line(&mut v, "# arenas allocated total", 4).unwrap();
        line(&mut v, "4 arenas * 1048576 bytes/arena", 4194304).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert_eq!(
            s,
            "# arenas allocated total           =                    4\n\
             4 arenas * 1048576 bytes/arena     =            4,194,304\n"
        );
    }
}
