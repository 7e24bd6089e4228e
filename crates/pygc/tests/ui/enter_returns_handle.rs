// A handle cannot leave `SendHeap::enter` through its result.
use pygc::{Gc, Heap};

fn main() {
    let heap = Heap::new();
    let root = heap.enter(|| Gc::new(1u32));
    let mut vm = heap.into_send(root).unwrap();
    let escaped = vm.enter(|root| root.clone());
    drop(escaped);
}
