//! pygc
