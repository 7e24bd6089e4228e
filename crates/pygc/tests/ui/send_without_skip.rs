use pygc::Trace;

#[derive(Trace)]
struct S {
    #[pygc(send)]
    x: u32,
}

fn main() {}
