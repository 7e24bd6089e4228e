use pygc::Trace;

#[derive(Trace)]
union Bits {
    a: u32,
    b: f32,
}

fn main() {}
