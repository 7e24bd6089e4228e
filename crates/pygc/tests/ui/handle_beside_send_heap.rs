// A handle cannot travel beside the heap it belongs to.
use pygc::{Gc, Heap};

fn main() {
    let heap = Heap::new();
    let root = heap.enter(|| Gc::new(1u32));
    let vm = heap.into_send(root).unwrap();
    let other = Gc::new(2u32);
    std::thread::spawn(move || {
        drop(vm);
        drop(other);
    });
}
