//! objgraph's graphs written by pygc-python as DOT, SVG and PNG files (the
//! renderer is pygc's, so no Graphviz is needed), labelled with the class
//! and attribute names of the Python program.

use std::process::Command;

#[test]
fn show_refs_and_backrefs_write_each_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("graphs.py");
    std::fs::write(
        &script,
        "import objgraph\n\
         class Node:\n    def __init__(self):\n        self.ref = None\n\
         a = Node()\na.ref = a\nkeep = [a]\n\
         objgraph.show_refs([a], filename='refs.dot')\n\
         objgraph.show_backrefs([a], filename='backrefs.svg')\n\
         objgraph.show_refs([a], filename='refs.png')\n\
         objgraph.show_chain(objgraph.find_backref_chain(a, lambda o: o is keep), filename='chain.dot')\n",
    )
    .expect("write script");
    let out = Command::new(env!("CARGO_BIN_EXE_pygc-python"))
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .expect("run pygc-python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Graph written to"), "{stdout}");
    let dot = std::fs::read_to_string(dir.path().join("refs.dot")).expect("refs.dot");
    assert!(dot.starts_with("digraph ObjectGraph {"), "{dot}");
    assert!(dot.contains("label=\"ref\""), "the attribute names the edge:\n{dot}");
    assert!(dot.contains("Node\\n"), "the class names the node:\n{dot}");
    let svg = std::fs::read_to_string(dir.path().join("backrefs.svg")).expect("backrefs.svg");
    assert!(svg.contains("<svg") && svg.contains("Node"), "{svg}");
    let png = std::fs::read(dir.path().join("refs.png")).expect("refs.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let chain = std::fs::read_to_string(dir.path().join("chain.dot")).expect("chain.dot");
    assert!(chain.contains("list") && chain.contains("Node"), "{chain}");
}
