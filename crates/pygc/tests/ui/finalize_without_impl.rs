use pygc::Trace;

#[derive(Trace)]
#[pygc(finalize)]
struct NeedsFinalize {
    x: u32,
}

fn main() {}
