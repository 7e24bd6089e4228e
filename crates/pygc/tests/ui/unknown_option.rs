use pygc::Trace;

#[derive(Trace)]
#[pygc(finalise)]
struct Typo {
    x: u32,
}

fn main() {}
