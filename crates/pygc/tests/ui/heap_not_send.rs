// A heap is bound to its thread: only a checked `SendHeap` may move.
use pygc::Heap;

fn main() {
    let heap = Heap::new();
    std::thread::spawn(move || drop(heap));
}
