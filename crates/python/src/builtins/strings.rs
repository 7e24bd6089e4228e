//! Methods of `str`.

use super::def;
use crate::object::Value;
use crate::vm::{Args, PyResult, Vm};

fn s0<'a>(vm: &Vm, a: &Args<'a>) -> PyResult<&'a str> {
    match a.values.first() {
        Some(Value::Str(s)) => Ok(&s.s),
        _ => Err(vm.type_error("descriptor requires a 'str' object")),
    }
}

fn sarg<'a>(vm: &Vm, a: &Args<'a>, i: usize) -> PyResult<Option<&'a str>> {
    match a.pos().get(i) {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(&s.s)),
        Some(v) => Err(vm.type_error(format!("must be str or None, not {}", vm.type_name(v)))),
    }
}

/// Installs the methods.
pub fn install(vm: &'static Vm) {
    let d = &vm.types.str.dict;
    def(d, "join", "str", |vm, a| {
        let sep = s0(vm, &a)?;
        let items =
            vm.collect(a.values.get(1).ok_or_else(|| vm.type_error("join() takes exactly one argument"))?)?;
        let mut out = String::new();
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            match it {
                Value::Str(s) => out.push_str(&s.s),
                other => {
                    return Err(vm.type_error(format!(
                        "sequence item {i}: expected str instance, {} found",
                        vm.type_name(other)
                    )))
                }
            }
        }
        Ok(Value::str(out))
    });
    def(d, "split", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let sep = match a.get(1, "sep") {
            None | Some(Value::None) => None,
            Some(Value::Str(x)) => Some(x.s.to_string()),
            Some(v) => return Err(vm.type_error(format!("must be str or None, not {}", vm.type_name(v)))),
        };
        let max = match a.get(2, "maxsplit") {
            Some(v) => vm.index_value(v)?,
            None => -1,
        };
        let parts: Vec<Value> = match sep {
            None => {
                if max < 0 {
                    s.split_whitespace().map(|p| Value::str(p.to_string())).collect()
                } else {
                    let mut v = Vec::new();
                    let mut rest = s.trim_start();
                    while !rest.is_empty() && (v.len() as i64) < max {
                        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                        v.push(Value::str(rest[..end].to_string()));
                        rest = rest[end..].trim_start();
                    }
                    if !rest.is_empty() {
                        v.push(Value::str(rest.to_string()));
                    }
                    v
                }
            }
            Some(sep) => {
                if sep.is_empty() {
                    return Err(vm.value_error("empty separator"));
                }
                if max < 0 {
                    s.split(sep.as_str()).map(|p| Value::str(p.to_string())).collect()
                } else {
                    s.splitn(max as usize + 1, sep.as_str()).map(|p| Value::str(p.to_string())).collect()
                }
            }
        };
        Ok(Value::list(parts))
    });
    def(d, "splitlines", "str", |vm, a| {
        Ok(Value::list(s0(vm, &a)?.lines().map(|l| Value::str(l.to_string())).collect()))
    });
    def(d, "strip", "str", |vm, a| {
        let s = s0(vm, &a)?;
        Ok(Value::str(match sarg(vm, &a, 1)? {
            Some(c) => s.trim_matches(|x| c.contains(x)).to_string(),
            None => s.trim().to_string(),
        }))
    });
    def(d, "lstrip", "str", |vm, a| {
        let s = s0(vm, &a)?;
        Ok(Value::str(match sarg(vm, &a, 1)? {
            Some(c) => s.trim_start_matches(|x| c.contains(x)).to_string(),
            None => s.trim_start().to_string(),
        }))
    });
    def(d, "rstrip", "str", |vm, a| {
        let s = s0(vm, &a)?;
        Ok(Value::str(match sarg(vm, &a, 1)? {
            Some(c) => s.trim_end_matches(|x| c.contains(x)).to_string(),
            None => s.trim_end().to_string(),
        }))
    });
    def(d, "upper", "str", |vm, a| Ok(Value::str(s0(vm, &a)?.to_uppercase())));
    def(d, "lower", "str", |vm, a| Ok(Value::str(s0(vm, &a)?.to_lowercase())));
    def(d, "title", "str", |vm, a| {
        let mut out = String::new();
        let mut prev = false;
        for c in s0(vm, &a)?.chars() {
            if c.is_alphabetic() {
                if prev {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                prev = true;
            } else {
                out.push(c);
                prev = false;
            }
        }
        Ok(Value::str(out))
    });
    def(d, "capitalize", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let mut c = s.chars();
        Ok(Value::str(match c.next() {
            Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
            None => String::new(),
        }))
    });
    def(d, "replace", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let (Some(old), Some(new)) = (sarg(vm, &a, 1)?, sarg(vm, &a, 2)?) else {
            return Err(vm.type_error("replace expected 2 arguments"));
        };
        Ok(Value::str(match a.pos().get(3) {
            Some(n) => s.replacen(old, new, vm.index_value(n)?.max(0) as usize),
            None => s.replace(old, new),
        }))
    });
    def(d, "startswith", "str", |vm, a| affix(vm, a, true));
    def(d, "endswith", "str", |vm, a| affix(vm, a, false));
    def(d, "find", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let sub = sarg(vm, &a, 1)?.unwrap_or("");
        Ok(Value::Int(s.find(sub).map_or(-1, |b| s[..b].chars().count() as i64)))
    });
    def(d, "rfind", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let sub = sarg(vm, &a, 1)?.unwrap_or("");
        Ok(Value::Int(s.rfind(sub).map_or(-1, |b| s[..b].chars().count() as i64)))
    });
    def(d, "index", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let sub = sarg(vm, &a, 1)?.unwrap_or("");
        s.find(sub)
            .map(|b| Value::Int(s[..b].chars().count() as i64))
            .ok_or_else(|| vm.value_error("substring not found"))
    });
    def(d, "count", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let sub = sarg(vm, &a, 1)?.unwrap_or("");
        Ok(Value::Int(if sub.is_empty() {
            s.chars().count() as i64 + 1
        } else {
            s.matches(sub).count() as i64
        }))
    });
    def(d, "format", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let kw: Vec<(String, Value)> = a.kwargs().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Ok(Value::str(super::format::str_format(vm, s, &a.pos()[1..], &kw)?))
    });
    for (name, f) in [
        ("isdigit", (|c: char| c.is_ascii_digit()) as fn(char) -> bool),
        ("isalpha", |c: char| c.is_alphabetic()),
        ("isalnum", |c: char| c.is_alphanumeric()),
        ("isspace", |c: char| c.is_whitespace()),
        ("isnumeric", |c: char| c.is_numeric()),
        ("isdecimal", |c: char| c.is_ascii_digit()),
    ] {
        let _ = f;
        let nf: crate::object::NativeFn = match name {
            "isdigit" | "isdecimal" => |vm, a| pred(vm, a, |c| c.is_ascii_digit()),
            "isalpha" => |vm, a| pred(vm, a, |c| c.is_alphabetic()),
            "isalnum" => |vm, a| pred(vm, a, |c| c.is_alphanumeric()),
            "isspace" => |vm, a| pred(vm, a, |c| c.is_whitespace()),
            _ => |vm, a| pred(vm, a, |c| c.is_numeric()),
        };
        def(d, name, "str", nf);
    }
    def(d, "isupper", "str", |vm, a| {
        let s = s0(vm, &a)?;
        Ok(Value::Bool(s.chars().any(|c| c.is_alphabetic()) && !s.chars().any(|c| c.is_lowercase())))
    });
    def(d, "islower", "str", |vm, a| {
        let s = s0(vm, &a)?;
        Ok(Value::Bool(s.chars().any(|c| c.is_alphabetic()) && !s.chars().any(|c| c.is_uppercase())))
    });
    def(d, "ljust", "str", |vm, a| justify(vm, a, '<'));
    def(d, "rjust", "str", |vm, a| justify(vm, a, '>'));
    def(d, "center", "str", |vm, a| justify(vm, a, '^'));
    def(d, "zfill", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let w = vm
            .index_value(a.values.get(1).ok_or_else(|| vm.type_error("zfill() takes exactly one argument"))?)?
            .max(0) as usize;
        let n = s.chars().count();
        if n >= w {
            return Ok(Value::str(s.to_string()));
        }
        let (sign, rest) = if s.starts_with(['-', '+']) { s.split_at(1) } else { ("", s) };
        Ok(Value::str(format!("{sign}{}{rest}", "0".repeat(w - n))))
    });
    def(d, "partition", "str", |vm, a| {
        let s = s0(vm, &a)?;
        let sep = sarg(vm, &a, 1)?.unwrap_or("");
        Ok(match s.split_once(sep) {
            Some((l, r)) => Value::tuple(vec![
                Value::str(l.to_string()),
                Value::str(sep.to_string()),
                Value::str(r.to_string()),
            ]),
            None => Value::tuple(vec![Value::str(s.to_string()), Value::str(""), Value::str("")]),
        })
    });
    def(d, "encode", "str", |vm, a| {
        let s = s0(vm, &a)?;
        Ok(Value::Bytes(pygc::Gc::new(crate::object::Bytes {
            data: s.as_bytes().to_vec().into_boxed_slice(),
        })))
    });
    def(&vm.types.bytes.dict, "decode", "bytes", |vm, a| match a.values.first() {
        Some(Value::Bytes(b)) => match std::str::from_utf8(&b.data) {
            Ok(s) => Ok(Value::str(s.to_string())),
            Err(_) => Err(vm.new_error("UnicodeDecodeError", "'utf-8' codec can't decode bytes")),
        },
        _ => Err(vm.type_error("decode needs bytes")),
    });
}

fn pred(vm: &Vm, a: Args<'_>, f: fn(char) -> bool) -> PyResult<Value> {
    let s = s0(vm, &a)?;
    Ok(Value::Bool(!s.is_empty() && s.chars().all(f)))
}

fn affix(vm: &Vm, a: Args<'_>, start: bool) -> PyResult<Value> {
    let s = s0(vm, &a)?;
    let opts: Vec<String> = match a.pos().get(1) {
        Some(Value::Str(p)) => vec![p.s.to_string()],
        Some(Value::Tuple(t)) => t.items.iter().map(|v| vm.str_of(v)).collect::<PyResult<_>>()?,
        _ => return Err(vm.type_error("startswith first arg must be str or a tuple of str")),
    };
    Ok(Value::Bool(
        opts.iter().any(|p| if start { s.starts_with(p.as_str()) } else { s.ends_with(p.as_str()) }),
    ))
}

fn justify(vm: &Vm, a: Args<'_>, align: char) -> PyResult<Value> {
    let s = s0(vm, &a)?;
    let w = vm.index_value(a.values.get(1).ok_or_else(|| vm.type_error("justify expects a width"))?)?.max(0)
        as usize;
    let fill = sarg(vm, &a, 2)?.and_then(|f| f.chars().next()).unwrap_or(' ');
    let n = s.chars().count();
    if n >= w {
        return Ok(Value::str(s.to_string()));
    }
    let pad = w - n;
    let f = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    Ok(Value::str(match align {
        '<' => format!("{s}{}", f(pad)),
        '>' => format!("{}{s}", f(pad)),
        _ => {
            let left = pad / 2 + (pad & w & 1);
            format!("{}{s}{}", f(left), f(pad - left))
        }
    }))
}
