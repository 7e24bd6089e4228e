//! The public handle types: [`gc::Gc`] (strong), [`weak::Weak`],
//! [`cell::GcCell`] (interior mutability the collector can see into) and
//! [`any::GcAny`] (type-erased). They sit on top of the collector because
//! creating a `Gc` may run a collection.

pub(crate) mod any;
pub(crate) mod cell;
pub(crate) mod ephemeron;
pub(crate) mod gc;
pub(crate) mod pointee;
pub(crate) mod weak;
