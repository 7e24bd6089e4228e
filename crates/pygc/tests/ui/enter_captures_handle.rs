// A handle cannot leave `SendHeap::enter` through a capture.
use pygc::{Gc, Heap};
use std::cell::RefCell;

fn main() {
    let heap = Heap::new();
    let root = heap.enter(|| Gc::new(1u32));
    let mut vm = heap.into_send(root).unwrap();
    let outside: RefCell<Option<Gc<u32>>> = RefCell::new(None);
    vm.enter(|root| *outside.borrow_mut() = Some(root.clone()));
}
