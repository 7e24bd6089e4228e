//! Layer 4, the public handle types.

pub(crate) mod any;
pub(crate) mod gc;
pub(crate) mod lock;
pub(crate) mod weak;
