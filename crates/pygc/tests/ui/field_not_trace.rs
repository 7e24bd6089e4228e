use pygc::Trace;

struct Opaque;

#[derive(Trace)]
struct Holder {
    inner: Opaque,
}

fn main() {}
