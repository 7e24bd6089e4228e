//! Differential test against the python3 on the machine: the same graphs
//! built from `__slots__` instances give the same `gc.collect()` numbers.

use pygc::{gc, Gc, GcCell, Trace};
use std::io::Write;
use std::process::{Command, Stdio};

#[derive(Trace)]
struct Slots {
    a: GcCell<Option<Gc<Slots>>>,
    b: GcCell<Option<Gc<Slots>>>,
    c: GcCell<Option<Gc<Slots>>>,
}

/// A small deterministic generator (xorshift) so both sides see one graph.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Case {
    nodes: usize,
    edges: Vec<(usize, usize, usize)>,
    keep: Vec<usize>,
}

fn case(seed: u64) -> Case {
    let mut r = Rng(seed * 2_654_435_761 + 1);
    let nodes = 1 + r.next(40) as usize;
    let edges = (0..r.next(3 * nodes as u64 + 1))
        .map(|_| (r.next(nodes as u64) as usize, r.next(3) as usize, r.next(nodes as u64) as usize))
        .collect();
    let keep = (0..nodes).filter(|_| r.next(4) == 0).collect();
    Case { nodes, edges, keep }
}

fn ours(c: &Case) -> usize {
    gc::disable();
    let nodes: Vec<Gc<Slots>> = (0..c.nodes)
        .map(|_| Gc::new(Slots { a: GcCell::new(None), b: GcCell::new(None), c: GcCell::new(None) }))
        .collect();
    for &(from, slot, to) in &c.edges {
        let cell = match slot {
            0 => &nodes[from].a,
            1 => &nodes[from].b,
            _ => &nodes[from].c,
        };
        *cell.borrow_mut() = Some(nodes[to].clone());
    }
    let keep: Vec<_> = c.keep.iter().map(|&i| nodes[i].clone()).collect();
    drop(nodes);
    let n = gc::collect();
    drop(keep);
    gc::collect();
    gc::enable();
    n
}

const PYTHON: &str = r#"
import gc, sys
class Slots:
    __slots__ = ('a', 'b', 'c')
gc.collect(); gc.disable()
out = []
for line in sys.stdin:
    n, edges, keep = line.split('|')
    nodes = [Slots() for _ in range(int(n))]
    for e in edges.split():
        f, s, t = map(int, e.split(','))
        setattr(nodes[f], 'abc'[s], nodes[t])
    kept = [nodes[int(i)] for i in keep.split()]
    del nodes
    out.append(gc.collect())
    del kept
    gc.collect()
print(' '.join(map(str, out)))
"#;

#[test]
fn collect_numbers_match_cpython() {
    let cases: Vec<Case> = (0..60).map(case).collect();
    let mut input = String::new();
    for c in &cases {
        let edges: Vec<String> = c.edges.iter().map(|(f, s, t)| format!("{f},{s},{t}")).collect();
        let keep: Vec<String> = c.keep.iter().map(|k| k.to_string()).collect();
        input.push_str(&format!("{}|{}|{}\n", c.nodes, edges.join(" "), keep.join(" ")));
    }
    let mut child = match Command::new("python3")
        .arg("-c")
        .arg(PYTHON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("python3 is required as the oracle (it is on every machine of this project): {e}"),
    };
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<usize> =
        String::from_utf8(out.stdout).unwrap().split_whitespace().map(|s| s.parse().unwrap()).collect();
    let got: Vec<usize> = cases.iter().map(ours).collect();
    assert_eq!(got, expected);
    assert!(expected.iter().any(|&n| n > 5), "the cases include real cycles: {expected:?}");
}
