use pygc::Trace;

#[derive(Trace)]
#[pygc(legacy)]
struct Old {
    x: u32,
}

fn main() {}
