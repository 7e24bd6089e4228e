//! Arguments of built-in functions: positional values then keyword values,
//! as they lie on the VM stack (CPython's vectorcall convention).

use super::{PyResult, Vm};
use crate::object::Value;

/// The arguments of a call to a built-in.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    /// Positional values, then the values of the keyword arguments.
    pub values: &'a [Value],
    /// Names (`str`) of the keyword arguments, matching the tail of `values`.
    pub kwnames: &'a [Value],
}

impl<'a> Args<'a> {
    /// Positional arguments only.
    pub fn positional(values: &'a [Value]) -> Args<'a> {
        Args { values, kwnames: &[] }
    }

    /// The positional arguments.
    #[inline]
    pub fn pos(&self) -> &'a [Value] {
        &self.values[..self.values.len() - self.kwnames.len()]
    }

    /// The keyword arguments as (name, value).
    pub fn kwargs(&self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        let n = self.values.len() - self.kwnames.len();
        self.kwnames.iter().zip(self.values[n..].iter()).map(|(k, v)| match k {
            Value::Str(s) => (&*s.s, v),
            _ => ("", v),
        })
    }

    /// A keyword argument by name.
    pub fn kw(&self, name: &str) -> Option<&'a Value> {
        self.kwargs().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Checks the positional count and that only `allowed` keywords are given.
    pub fn check(&self, vm: &Vm, fname: &str, min: usize, max: usize, allowed: &[&str]) -> PyResult<()> {
        let n = self.pos().len();
        if n < min || n > max {
            return Err(if min == max {
                if min == 0 {
                    vm.type_error(format!("{fname}() takes no arguments ({n} given)"))
                } else if min == 1 {
                    vm.type_error(format!("{fname}() takes exactly one argument ({n} given)"))
                } else {
                    vm.type_error(format!("{fname} expected {min} arguments, got {n}"))
                }
            } else if n < min {
                vm.type_error(format!(
                    "{fname} expected at least {min} argument{}, got {n}",
                    if min == 1 { "" } else { "s" }
                ))
            } else {
                vm.type_error(format!(
                    "{fname} expected at most {max} argument{}, got {n}",
                    if max == 1 { "" } else { "s" }
                ))
            });
        }
        for (k, _) in self.kwargs() {
            if !allowed.contains(&k) {
                return Err(if allowed.is_empty() {
                    vm.type_error(format!("{fname}() takes no keyword arguments"))
                } else {
                    vm.type_error(format!("'{k}' is an invalid keyword argument for {fname}()"))
                });
            }
        }
        Ok(())
    }

    /// Positional argument `i`, or keyword `name`, or `None`.
    pub fn get(&self, i: usize, name: &str) -> Option<&'a Value> {
        self.pos().get(i).or_else(|| self.kw(name))
    }
}
