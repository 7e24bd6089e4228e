//! Formatting: f-strings, `format()`, `str.format` and `%`.

use crate::object::{class, Value};
use crate::vm::{PyResult, Vm};

struct Spec {
    fill: char,
    align: Option<char>,
    sign: char,
    alt: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    ty: Option<char>,
}

fn parse_spec(vm: &Vm, s: &str) -> PyResult<Spec> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut sp = Spec {
        fill: ' ',
        align: None,
        sign: '-',
        alt: false,
        zero: false,
        width: 0,
        grouping: None,
        precision: None,
        ty: None,
    };
    let is_align = |ch: char| matches!(ch, '<' | '>' | '^' | '=');
    if c.len() >= 2 && is_align(c[1]) {
        sp.fill = c[0];
        sp.align = Some(c[1]);
        i = 2;
    } else if !c.is_empty() && is_align(c[0]) {
        sp.align = Some(c[0]);
        i = 1;
    }
    if i < c.len() && matches!(c[i], '+' | '-' | ' ') {
        sp.sign = c[i];
        i += 1;
    }
    if i < c.len() && c[i] == '#' {
        sp.alt = true;
        i += 1;
    }
    if i < c.len() && c[i] == '0' {
        sp.zero = true;
        i += 1;
    }
    let st = i;
    while i < c.len() && c[i].is_ascii_digit() {
        i += 1;
    }
    if i > st {
        sp.width = c[st..i].iter().collect::<String>().parse().unwrap_or(0);
    }
    if i < c.len() && (c[i] == ',' || c[i] == '_') {
        sp.grouping = Some(c[i]);
        i += 1;
    }
    if i < c.len() && c[i] == '.' {
        i += 1;
        let st = i;
        while i < c.len() && c[i].is_ascii_digit() {
            i += 1;
        }
        sp.precision = Some(c[st..i].iter().collect::<String>().parse().unwrap_or(0));
    }
    if i < c.len() {
        sp.ty = Some(c[i]);
        i += 1;
    }
    if i < c.len() {
        return Err(vm.value_error("Invalid format specifier"));
    }
    Ok(sp)
}

fn group(digits: &str, sep: char) -> String {
    let mut out = String::new();
    let n = digits.len();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

fn pad(sp: &Spec, sign: &str, body: &str, default_align: char) -> String {
    let len = sign.chars().count() + body.chars().count();
    if sp.width <= len {
        return format!("{sign}{body}");
    }
    let n = sp.width - len;
    let (fill, align) =
        if sp.zero && sp.align.is_none() { ('0', '=') } else { (sp.fill, sp.align.unwrap_or(default_align)) };
    let f = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    match align {
        '<' => format!("{sign}{body}{}", f(n)),
        '^' => format!("{}{sign}{body}{}", f(n / 2), f(n - n / 2)),
        '=' => format!("{sign}{}{body}", f(n)),
        _ => format!("{}{sign}{body}", f(n)),
    }
}

/// Formats `v` with a format spec (`format(v, spec)`).
pub fn format_spec(vm: &Vm, v: &Value, spec: &str) -> PyResult<String> {
    if let Value::Instance(i) = v {
        if let Some(m @ Value::Function(_)) = class::lookup(&i.class, "__format__") {
            let r = vm.call_bound(&m, v, &[Value::str(spec)], &[])?;
            return vm.str_of(&r);
        }
    }
    if spec.is_empty() {
        return vm.str_of(v);
    }
    let sp = parse_spec(vm, spec)?;
    match v {
        Value::Int(_) | Value::Long(_) | Value::Bool(_)
            if !matches!(sp.ty, Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%')) =>
        {
            let big = match v {
                Value::Int(i) => num_bigint::BigInt::from(*i),
                Value::Bool(b) => num_bigint::BigInt::from(*b as i64),
                Value::Long(b) => b.0.clone(),
                _ => unreachable!("int"),
            };
            if sp.ty.is_none() && matches!(v, Value::Bool(_)) && sp.grouping.is_none() {
                return Ok(pad(&sp, "", &vm.str_of(v)?, '<'));
            }
            let neg = big.sign() == num_bigint::Sign::Minus;
            let mag = big.magnitude();
            let (mut digits, prefix) = match sp.ty {
                Some('x') => (mag.to_str_radix(16), "0x"),
                Some('X') => (mag.to_str_radix(16).to_uppercase(), "0X"),
                Some('o') => (mag.to_str_radix(8), "0o"),
                Some('b') => (mag.to_str_radix(2), "0b"),
                Some('c') => (
                    char::from_u32(mag.to_u32_digits().first().copied().unwrap_or(0))
                        .unwrap_or('?')
                        .to_string(),
                    "",
                ),
                Some('d') | Some('n') | None => (mag.to_str_radix(10), ""),
                Some(t) => {
                    return Err(vm.value_error(format!("Unknown format code '{t}' for object of type 'int'")))
                }
            };
            if let Some(g) = sp.grouping {
                digits = group(&digits, g);
            }
            let sign = if neg {
                "-"
            } else if sp.sign == '+' {
                "+"
            } else if sp.sign == ' ' {
                " "
            } else {
                ""
            };
            let sign = if sp.alt { format!("{sign}{prefix}") } else { sign.to_string() };
            Ok(pad(&sp, &sign, &digits, '>'))
        }
        Value::Int(_) | Value::Long(_) | Value::Bool(_) | Value::Float(_) => {
            let f = match v {
                Value::Float(f) => *f,
                Value::Int(i) => *i as f64,
                Value::Bool(b) => *b as i64 as f64,
                Value::Long(b) => num_traits::ToPrimitive::to_f64(&b.0).unwrap_or(f64::INFINITY),
                _ => unreachable!("number"),
            };
            let neg = f.is_sign_negative();
            let a = f.abs();
            let prec = sp.precision;
            let mut body = match sp.ty {
                Some('f') | Some('F') => format!("{:.*}", prec.unwrap_or(6), a),
                Some('e') | Some('E') => sci(a, prec.unwrap_or(6), sp.ty == Some('E')),
                Some('%') => format!("{:.*}%", prec.unwrap_or(6), a * 100.0),
                Some('g') | Some('G') => general(a, prec.unwrap_or(6), sp.alt),
                None => match prec {
                    Some(p) => general(a, p.max(1), false),
                    None => crate::vm::ops::float_repr(a),
                },
                Some(t) => {
                    return Err(
                        vm.value_error(format!("Unknown format code '{t}' for object of type 'float'"))
                    )
                }
            };
            if a.is_infinite() {
                body = "inf".into();
            } else if a.is_nan() {
                body = "nan".into();
            }
            if let Some(g) = sp.grouping {
                let (int, rest) = match body.find(|c: char| !c.is_ascii_digit()) {
                    Some(p) => (body[..p].to_string(), body[p..].to_string()),
                    None => (body.clone(), String::new()),
                };
                body = format!("{}{}", group(&int, g), rest);
            }
            let sign = if neg && !f.is_nan() {
                "-"
            } else if sp.sign == '+' {
                "+"
            } else if sp.sign == ' ' {
                " "
            } else {
                ""
            };
            Ok(pad(&sp, sign, &body, '>'))
        }
        _ => {
            let s = vm.str_of(v)?;
            let s = match sp.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            };
            if let Some(t) = sp.ty {
                if t != 's' {
                    return Err(vm.value_error(format!(
                        "Unknown format code '{t}' for object of type '{}'",
                        vm.type_name(v)
                    )));
                }
            }
            Ok(pad(&sp, "", &s, '<'))
        }
    }
}

fn sci(a: f64, prec: usize, upper: bool) -> String {
    let s = format!("{:.*e}", prec, a);
    let (m, e) = s.split_once('e').expect("exponent");
    let e: i32 = e.parse().unwrap_or(0);
    let r = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    if upper {
        r.to_uppercase()
    } else {
        r
    }
}

fn general(a: f64, prec: usize, alt: bool) -> String {
    let p = prec.max(1);
    if a == 0.0 {
        return "0".into();
    }
    let exp = a.log10().floor() as i32;
    let s = if exp < -4 || exp >= p as i32 {
        let s = sci(a, p - 1, false);
        if alt {
            s
        } else {
            let (m, e) = s.split_once('e').expect("exponent");
            let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
            format!("{m}e{e}")
        }
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let s = format!("{:.*}", decimals, a);
        if alt || !s.contains('.') {
            s
        } else {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    };
    s
}

impl Vm {
    /// `FormatValue`: conversion then format spec.
    pub fn format_value(&self, v: &Value, conv: u8, spec: Option<&Value>) -> PyResult<Value> {
        let converted;
        let v = match conv {
            1 => {
                converted = Value::str(self.str_of(v)?);
                &converted
            }
            2 => {
                converted = Value::str(self.repr(v)?);
                &converted
            }
            3 => {
                let r = self.repr(v)?;
                converted = Value::str(ascii_escape(&r));
                &converted
            }
            _ => v,
        };
        let spec = match spec {
            Some(Value::Str(s)) => s.s.to_string(),
            _ => String::new(),
        };
        if spec.is_empty() {
            if let Value::Str(_) = v {
                return Ok(v.clone());
            }
        }
        Ok(Value::str(format_spec(self, v, &spec)?))
    }
}

/// `ascii()`: non-ASCII characters escaped.
pub fn ascii_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let u = c as u32;
        if u < 0x80 {
            out.push(c);
        } else if u < 0x100 {
            out.push_str(&format!("\\x{u:02x}"));
        } else if u < 0x10000 {
            out.push_str(&format!("\\u{u:04x}"));
        } else {
            out.push_str(&format!("\\U{u:08x}"));
        }
    }
    out
}

/// `fmt % args`.
pub fn percent_format(vm: &Vm, fmt: &str, args: &Value) -> PyResult<String> {
    let items: Vec<Value> = match args {
        Value::Tuple(t) => t.items.to_vec(),
        other => vec![other.clone()],
    };
    let mapping = if let Value::Dict(_) = args { Some(args.clone()) } else { None };
    let mut it = items.into_iter();
    let mut out = String::new();
    let c: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < c.len() {
        if c[i] != '%' {
            out.push(c[i]);
            i += 1;
            continue;
        }
        i += 1;
        if i >= c.len() {
            return Err(vm.value_error("incomplete format"));
        }
        let mut key = None;
        if c[i] == '(' {
            let st = i + 1;
            while i < c.len() && c[i] != ')' {
                i += 1;
            }
            key = Some(c[st..i].iter().collect::<String>());
            i += 1;
        }
        let st = i;
        while i < c.len() && "-+ #0123456789.*".contains(c[i]) {
            i += 1;
        }
        let mut flags: String = c[st..i].iter().collect();
        if flags.contains('*') {
            let w = it.next().ok_or_else(|| vm.type_error("not enough arguments for format string"))?;
            flags = flags.replace('*', &vm.str_of(&w)?);
        }
        let ty = c[i];
        i += 1;
        if ty == '%' {
            out.push('%');
            continue;
        }
        let v = match (&key, &mapping) {
            (Some(k), Some(m)) => vm.getitem(m, &Value::str(k.clone()))?,
            _ => it.next().ok_or_else(|| vm.type_error("not enough arguments for format string"))?,
        };
        let left = flags.starts_with('-') || flags.contains('-');
        let zero = flags.starts_with('0')
            || flags.contains("0")
                && !flags.contains('.')
                && flags.trim_start_matches(['-', '+', ' ', '#']).starts_with('0');
        let plus = flags.contains('+');
        let space = flags.contains(' ');
        let f2 = flags.trim_start_matches(['-', '+', ' ', '#', '0']);
        let (w, p) = match f2.split_once('.') {
            Some((w, p)) => (w.parse().unwrap_or(0usize), Some(p.parse().unwrap_or(0usize))),
            None => (f2.parse().unwrap_or(0usize), None),
        };
        let mut spec = String::new();
        spec.push(if left { '<' } else { '>' });
        if plus {
            spec.push('+');
        } else if space {
            spec.push(' ');
        }
        if zero && !left && !matches!(ty, 's' | 'r' | 'a') {
            spec.clear();
            if plus {
                spec.push('+');
            }
            spec.push('0');
        }
        if w > 0 {
            spec.push_str(&w.to_string());
        }
        if let Some(p) = p {
            spec.push('.');
            spec.push_str(&p.to_string());
        }
        let s = match ty {
            's' => format_spec(vm, &Value::str(vm.str_of(&v)?), &spec)?,
            'r' => format_spec(vm, &Value::str(vm.repr(&v)?), &spec)?,
            'a' => format_spec(vm, &Value::str(ascii_escape(&vm.repr(&v)?)), &spec)?,
            'd' | 'i' | 'u' => {
                let n = match &v {
                    Value::Float(f) => Value::Int(f.trunc() as i64),
                    Value::Int(_) | Value::Long(_) | Value::Bool(_) => v.clone(),
                    other => {
                        return Err(vm.type_error(format!(
                            "%{ty} format: a real number is required, not {}",
                            vm.type_name(other)
                        )))
                    }
                };
                let sp = spec.split('.').next().unwrap_or("").to_string();
                format_spec(vm, &n, &format!("{sp}d"))?
            }
            'x' | 'X' | 'o' => format_spec(vm, &v, &format!("{spec}{ty}"))?,
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let fv = match &v {
                    Value::Int(i) => Value::Float(*i as f64),
                    Value::Bool(b) => Value::Float(*b as i64 as f64),
                    Value::Float(_) => v.clone(),
                    other => {
                        return Err(vm.type_error(format!("must be real number, not {}", vm.type_name(other))))
                    }
                };
                let spec = if p.is_none() { format!("{spec}.6") } else { spec };
                format_spec(vm, &fv, &format!("{spec}{ty}"))?
            }
            'c' => match &v {
                Value::Int(i) => char::from_u32(*i as u32).map(|c| c.to_string()).unwrap_or_default(),
                other => vm.str_of(other)?,
            },
            other => {
                return Err(vm.value_error(format!(
                    "unsupported format character '{other}' (0x{:x}) at index {}",
                    other as u32,
                    i - 1
                )))
            }
        };
        out.push_str(&s);
    }
    if mapping.is_none() && it.next().is_some() {
        return Err(vm.type_error("not all arguments converted during string formatting"));
    }
    Ok(out)
}

/// `str.format(*args, **kwargs)`.
pub fn str_format(vm: &Vm, fmt: &str, args: &[Value], kwargs: &[(String, Value)]) -> PyResult<String> {
    let mut out = String::new();
    let c: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut auto = 0;
    while i < c.len() {
        match c[i] {
            '{' if i + 1 < c.len() && c[i + 1] == '{' => {
                out.push('{');
                i += 2;
            }
            '}' if i + 1 < c.len() && c[i + 1] == '}' => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let st = i + 1;
                let mut depth = 1;
                i += 1;
                while i < c.len() && depth > 0 {
                    if c[i] == '{' {
                        depth += 1;
                    } else if c[i] == '}' {
                        depth -= 1;
                    }
                    i += 1;
                }
                if depth > 0 {
                    return Err(vm.value_error("Single '{' encountered in format string"));
                }
                let field: String = c[st..i - 1].iter().collect();
                let (name_conv, spec) = match field.find(':') {
                    Some(p) => (field[..p].to_string(), field[p + 1..].to_string()),
                    None => (field.clone(), String::new()),
                };
                let (name, conv) = match name_conv.find('!') {
                    Some(p) => (name_conv[..p].to_string(), name_conv[p + 1..].chars().next()),
                    None => (name_conv, None),
                };
                let spec = if spec.contains('{') { str_format(vm, &spec, args, kwargs)? } else { spec };
                let (first, rest) = match name.find(['.', '[']) {
                    Some(p) => (name[..p].to_string(), name[p..].to_string()),
                    None => (name.clone(), String::new()),
                };
                let mut v = if first.is_empty() {
                    let v = args.get(auto).cloned().ok_or_else(|| {
                        vm.index_error(format!(
                            "Replacement index {auto} out of range for positional args tuple"
                        ))
                    })?;
                    auto += 1;
                    v
                } else if let Ok(n) = first.parse::<usize>() {
                    args.get(n).cloned().ok_or_else(|| {
                        vm.index_error(format!(
                            "Replacement index {n} out of range for positional args tuple"
                        ))
                    })?
                } else {
                    kwargs
                        .iter()
                        .find(|(k, _)| *k == first)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| vm.key_error(Value::str(first.clone())))?
                };
                let mut r = rest.as_str();
                while !r.is_empty() {
                    if let Some(s) = r.strip_prefix('.') {
                        let end = s.find(['.', '[']).unwrap_or(s.len());
                        v =
                            vm.getattr(&v, &pygc::Gc::new(crate::object::PyStr::new(s[..end].to_string())))?;
                        r = &s[end..];
                    } else if let Some(s) = r.strip_prefix('[') {
                        let end = s.find(']').unwrap_or(s.len());
                        let key = &s[..end];
                        let k = match key.parse::<i64>() {
                            Ok(n) => Value::Int(n),
                            Err(_) => Value::str(key.to_string()),
                        };
                        v = vm.getitem(&v, &k)?;
                        r = &s[(end + 1).min(s.len())..];
                    } else {
                        break;
                    }
                }
                let v = match conv {
                    Some('r') => Value::str(vm.repr(&v)?),
                    Some('s') => Value::str(vm.str_of(&v)?),
                    Some('a') => Value::str(ascii_escape(&vm.repr(&v)?)),
                    _ => v,
                };
                out.push_str(&format_spec(vm, &v, &spec)?);
            }
            '}' => return Err(vm.value_error("Single '}' encountered in format string")),
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    Ok(out)
}
