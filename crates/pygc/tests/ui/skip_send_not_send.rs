// `#[pygc(skip, send)]` is checked: the field must be `Send`.
use pygc::Trace;
use std::rc::Rc;

#[derive(Trace)]
struct Local {
    #[pygc(skip, send)]
    shared: Rc<u32>,
}

fn main() {
    let _ = pygc::Gc::new(Local { shared: Rc::new(1) });
}
