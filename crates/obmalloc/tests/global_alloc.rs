//! ObMalloc as the global allocator for a real workload: collections,
//! strings, threads passing data to each other (cross-thread frees), thread
//! exit, then the statistics identity and the invariants.

use obmalloc::ObMalloc;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::mpsc;

#[global_allocator]
static A: ObMalloc = ObMalloc;

fn light() -> bool {
    std::env::var_os("PYGC_UNDER_VALGRIND").is_some()
}

#[test]
fn real_workload() {
    let n = if light() { 2_000 } else { 50_000 };
    // Strings and maps of many sizes.
    let mut map: HashMap<String, Vec<u32>> = HashMap::new();
    for i in 0..n {
        map.insert(
            format!("key-{i}-{}", "x".repeat(i % 40)),
            (0..(i % 70) as u32).collect(),
        );
    }
    let mut tree = BTreeMap::new();
    for (k, v) in &map {
        tree.insert(k.clone(), v.iter().sum::<u32>());
    }
    assert_eq!(tree.len(), n);
    for i in (0..n).step_by(3) {
        let k = format!("key-{i}-{}", "x".repeat(i % 40));
        let v = map.remove(&k).expect("present");
        assert_eq!(v.len(), i % 70);
        assert_eq!(tree[&k], v.iter().sum::<u32>());
    }
    // Growing and shrinking vectors (realloc across classes and to the system).
    let mut v: Vec<u64> = Vec::new();
    for i in 0..n as u64 {
        v.push(i);
    }
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
    obmalloc::verify().unwrap();

    // Producer/consumer across threads: every free is remote.
    let (tx, rx) = mpsc::sync_channel::<Vec<Box<[u8; 48]>>>(4);
    let producer = std::thread::spawn(move || {
        for round in 0..(n / 500) {
            let batch: Vec<Box<[u8; 48]>> = (0..100)
                .map(|i| Box::new([(round + i) as u8; 48]))
                .collect();
            tx.send(batch).unwrap();
        }
        obmalloc::verify().unwrap();
    });
    let consumer = std::thread::spawn(move || {
        let mut q = VecDeque::new();
        let mut got = 0;
        while let Ok(batch) = rx.recv() {
            for (i, b) in batch.iter().enumerate() {
                assert!(b.iter().all(|&x| x == b[0]), "content {i}");
            }
            got += batch.len();
            q.push_back(batch);
            if q.len() > 3 {
                q.pop_front();
            }
        }
        got
    });
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), (n / 500) * 100);

    // Many short threads: heaps are abandoned and adopted.
    for t in 0..8 {
        std::thread::spawn(move || {
            let s: Vec<String> = (0..200).map(|i| format!("{t}:{i}")).collect();
            assert_eq!(s.len(), 200);
        })
        .join()
        .unwrap();
    }
    drop(map);
    drop(tree);
    obmalloc::collect();
    obmalloc::verify().unwrap();
    let s = obmalloc::stats();
    assert_eq!(s.accounted_bytes(), s.arenas_current * obmalloc::ARENA_SIZE);
    // The workload runs under every PYGC_MALLOC mode; pools exist in two.
    if obmalloc::allocator().uses_pools() {
        assert!(s.arenas_allocated_total >= 1);
        let mut out = Vec::new();
        obmalloc::debug_malloc_stats_to(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("Small block threshold = 512, in 32 size classes.\n"),
            "{text}"
        );
    }
    assert!(obmalloc::live_bytes() > 0);
}
