use pygc::Gc;

fn main() {
    let x = Gc::new(1u32);
    std::thread::spawn(move || {
        let _y = x;
    });
}
