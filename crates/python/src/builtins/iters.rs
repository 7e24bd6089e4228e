//! `next()` of the built-in iterators.

use pygc::GcCell;

use crate::object::{DictIterKind, IterState, Value};
use crate::vm::{PyResult, Vm};

/// Advances a built-in iterator; `None` when exhausted.
pub fn next_builtin(vm: &Vm, cell: &GcCell<IterState>) -> PyResult<Option<Value>> {
    let mut st = cell.borrow_mut();
    let r = match &mut *st {
        IterState::List(l, i) => {
            let v = l.items.borrow().get(*i).cloned();
            *i += 1;
            v
        }
        IterState::Tuple(t, i) => {
            let v = t.items.get(*i).cloned();
            *i += 1;
            v
        }
        IterState::Str(s, off) => {
            let rest = &s.s[*off..];
            match rest.chars().next() {
                Some(c) => {
                    *off += c.len_utf8();
                    Some(Value::str(c.to_string()))
                }
                None => None,
            }
        }
        IterState::Bytes(b, i) => {
            let v = b.data.get(*i).map(|&x| Value::Int(x as i64));
            *i += 1;
            v
        }
        IterState::Range { next, stop, step } => {
            if (*step > 0 && *next < *stop) || (*step < 0 && *next > *stop) {
                let v = *next;
                *next += *step;
                Some(Value::Int(v))
            } else {
                None
            }
        }
        IterState::Dict { dict, pos, kind, len } => {
            if dict.len() != *len {
                let d = dict.clone();
                drop(st);
                let _ = d;
                *cell.borrow_mut() = IterState::Done;
                return Err(vm.new_error("RuntimeError", "dictionary changed size during iteration"));
            }
            let t = dict.table.borrow();
            match t.next_from(*pos) {
                Some((p, e)) => {
                    *pos = p;
                    Some(match kind {
                        DictIterKind::Keys => e.key.clone(),
                        DictIterKind::Values => e.value.clone(),
                        DictIterKind::Items => Value::tuple(vec![e.key.clone(), e.value.clone()]),
                    })
                }
                None => None,
            }
        }
        IterState::Set(s, pos, len) => {
            if s.table.borrow().len() != *len {
                drop(st);
                *cell.borrow_mut() = IterState::Done;
                return Err(vm.new_error("RuntimeError", "Set changed size during iteration"));
            }
            let t = s.table.borrow();
            match t.next_from(*pos) {
                Some((p, k)) => {
                    *pos = p;
                    Some(k.clone())
                }
                None => None,
            }
        }
        IterState::Reversed(seq, i) => {
            if *i == 0 {
                None
            } else {
                *i -= 1;
                let idx = *i;
                let seq = seq.clone();
                drop(st);
                return match vm.getitem(&seq, &Value::Int(idx as i64)) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) if e.is(vm, "IndexError") => Ok(None),
                    Err(e) => Err(e),
                };
            }
        }
        IterState::Enumerate(it, n) => {
            let it = it.clone();
            let i = *n;
            drop(st);
            return match vm.next(&it)? {
                Some(v) => {
                    if let IterState::Enumerate(_, n) = &mut *cell.borrow_mut() {
                        *n += 1;
                    }
                    Ok(Some(Value::tuple(vec![Value::Int(i), v])))
                }
                None => Ok(None),
            };
        }
        IterState::Zip(its) => {
            let its = its.clone();
            drop(st);
            if its.is_empty() {
                return Ok(None);
            }
            let mut out = Vec::with_capacity(its.len());
            for it in &its {
                match vm.next(it)? {
                    Some(v) => out.push(v),
                    None => return Ok(None),
                }
            }
            return Ok(Some(Value::tuple(out)));
        }
        IterState::Map(f, its) => {
            let (f, its) = (f.clone(), its.clone());
            drop(st);
            let mut args = Vec::with_capacity(its.len());
            for it in &its {
                match vm.next(it)? {
                    Some(v) => args.push(v),
                    None => return Ok(None),
                }
            }
            return vm.call(&f, &args, &[]).map(Some);
        }
        IterState::Filter(f, it) => {
            let (f, it) = (f.clone(), it.clone());
            drop(st);
            loop {
                match vm.next(&it)? {
                    Some(v) => {
                        let keep = if f.is_none() {
                            vm.truthy(&v)?
                        } else {
                            vm.truthy(&vm.call(&f, std::slice::from_ref(&v), &[])?)?
                        };
                        if keep {
                            return Ok(Some(v));
                        }
                    }
                    None => return Ok(None),
                }
            }
        }
        IterState::Callable(f, sentinel) => {
            let (f, sentinel) = (f.clone(), sentinel.clone());
            drop(st);
            let v = vm.call(&f, &[], &[])?;
            if vm.eq(&v, &sentinel)? {
                *cell.borrow_mut() = IterState::Done;
                return Ok(None);
            }
            return Ok(Some(v));
        }
        IterState::SeqIter(seq, i) => {
            let (seq, idx) = (seq.clone(), *i);
            drop(st);
            return match vm.getitem(&seq, &Value::Int(idx)) {
                Ok(v) => {
                    if let IterState::SeqIter(_, i) = &mut *cell.borrow_mut() {
                        *i += 1;
                    }
                    Ok(Some(v))
                }
                Err(e) if e.is(vm, "IndexError") || e.is(vm, "StopIteration") => Ok(None),
                Err(e) => Err(e),
            };
        }
        IterState::Done => None,
    };
    if r.is_none() {
        // Exhausted iterators drop what they held, as CPython's do.
        if !matches!(*st, IterState::Done) {
            let old = std::mem::replace(&mut *st, IterState::Done);
            drop(st);
            drop(old);
        }
    }
    Ok(r)
}
