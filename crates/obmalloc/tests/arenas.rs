//! Pool and arena accounting in a process of its own (exact counts): arenas
//! are mapped as pools run out, every arena whose pools are all free is
//! unmapped at once except the spares, pools are reused, and the statistics
//! add up.

use std::alloc::Layout;

fn rss_kib() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn blocks(n: usize, size: usize) -> Vec<*mut u8> {
    let l = Layout::from_size_align(size, 16).unwrap();
    (0..n)
        .map(|i| {
            // SAFETY: non-zero size; freed in `free_all` with the same layout.
            let p = unsafe { obmalloc::object_alloc(l) };
            assert!(!p.is_null());
            // SAFETY: touch the block (as an object header write would).
            unsafe { p.write_bytes(i as u8, size) };
            p
        })
        .collect()
}

fn free_all(v: Vec<*mut u8>, size: usize) {
    let l = Layout::from_size_align(size, 16).unwrap();
    for p in v {
        // SAFETY: allocated by `blocks` with this layout.
        unsafe { obmalloc::object_dealloc(p, l) };
    }
}

fn identity(s: &obmalloc::Stats) {
    assert_eq!(s.accounted_bytes(), s.arenas_current * obmalloc::ARENA_SIZE, "{s:?}");
}

#[test]
fn arenas_come_and_go() {
    if obmalloc::allocator() != obmalloc::Allocator::PyMalloc {
        eprintln!("skipping: exact arena counts need PYGC_MALLOC=pymalloc");
        return;
    }
    let s0 = obmalloc::stats();
    assert_eq!(s0.arenas_current, 0, "nothing allocated yet");

    // 40 MiB of 512-byte blocks: 31 blocks per pool, about 40 arenas.
    let n = 31 * 63 * 40;
    let v = blocks(n, 512);
    obmalloc::verify().unwrap();
    let s1 = obmalloc::stats();
    identity(&s1);
    assert_eq!(s1.classes[31].blocks_in_use, n);
    assert_eq!(s1.classes[31].pools, n / 31);
    assert_eq!(s1.classes[31].avail_blocks, 0);
    assert!(s1.arenas_current >= 40 && s1.arenas_current <= 41, "{s1:?}");
    assert_eq!(s1.allocated_bytes, n * 512);
    assert_eq!(s1.pool_header_bytes, (n / 31) * 48);
    assert_eq!(s1.quantization_bytes, (n / 31) * ((16384 - 48) % 512));
    assert_eq!(s1.arena_alignment_bytes % obmalloc::POOL_SIZE, 0);
    assert_eq!(obmalloc::live_bytes(), n * 512);
    let rss_full = rss_kib();

    free_all(v, 512);
    obmalloc::verify().unwrap();
    let s2 = obmalloc::stats();
    identity(&s2);
    // Every arena was unmapped as soon as it emptied, except the spares and
    // (depending on where it lies) the arena holding the empty pool this
    // thread keeps at the head of its 512-byte class list.
    assert!(s2.arenas_current <= obmalloc::SPARE_ARENAS + 1, "{s2:?}");
    assert_eq!(s2.classes[31].pools, 1, "only the head pool is kept");
    assert_eq!(s2.arenas_reclaimed, s1.arenas_current - s2.arenas_current);
    assert_eq!(s2.arenas_highwater, s1.arenas_current);
    assert_eq!(s2.classes[31].blocks_in_use, 0);
    assert_eq!(obmalloc::live_bytes(), 0);
    if std::env::var_os("PYGC_UNDER_VALGRIND").is_none() {
        if let (Some(full), Some(now)) = (rss_full, rss_kib()) {
            assert!(full - now > 30 * 1024, "RSS went from {full} KiB to {now} KiB");
        }
    }

    // Pool reuse: two pools of 64-byte blocks; the one kept as the class's
    // last pool and the one handed back to its arena both come back.
    let a = blocks(2 * 255, 64);
    let mut first: Vec<usize> = a.iter().map(|&p| p as usize).collect();
    free_all(a, 64);
    let b = blocks(2 * 255, 64);
    let mut second: Vec<usize> = b.iter().map(|&p| p as usize).collect();
    first.sort();
    second.sort();
    assert_eq!(first, second, "freed blocks and pools are reused");
    let s3 = obmalloc::stats();
    identity(&s3);
    assert_eq!(s3.arenas_allocated_total, s2.arenas_allocated_total, "no new arena needed");
    free_all(b, 64);

    // The report: table rows only for classes with pools, the accounting lines.
    let mut out = Vec::new();
    obmalloc::debug_malloc_stats_to(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\n    3     64           1               0           255\n"), "{text}");
    assert!(
        text.contains(&format!("# arenas reclaimed                 = {:>20}\n", s2.arenas_reclaimed)),
        "{text}"
    );
    // At most the spares and the arena of the kept head pool are left.
    let n = obmalloc::stats().arenas_current;
    assert!((1..=obmalloc::SPARE_ARENAS + 1).contains(&n), "{n} arenas left");
    let bytes = n * obmalloc::ARENA_SIZE;
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let arenas_line = format!("{n} arenas * 1048576 bytes/arena     = {grouped:>20}\n");
    let total_line = format!("Total                              = {grouped:>20}\n");
    assert!(text.contains(&arenas_line), "{text}");
    assert!(text.contains(&total_line), "{text}");
    assert!(text.contains("# bytes lost to arena map root     =              262,144\n"), "{text}");
}
