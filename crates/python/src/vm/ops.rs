//! Operators and protocols: arithmetic, comparison, truth, hashing,
//! containment, items, iteration, `repr`/`str` and formatting.

use crate::object::DictObject;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};
use pygc::Gc;

use super::{PyErr, PyResult, Vm};
use crate::bytecode::{BinOp, CmpOp, UnOp};
use crate::object::{class, Dict, DictIterKind, IterState, List, NativeKind, Set, Value};

/// Python's hash modulus (2**61 - 1).
pub const HASH_MODULUS: i64 = (1 << 61) - 1;

/// `hash(int)`.
pub fn hash_i64(i: i64) -> i64 {
    let m = HASH_MODULUS as i128;
    let v = i as i128;
    let r = (v.abs() % m) as i64;
    let h = if i < 0 { -r } else { r };
    if h == -1 {
        -2
    } else {
        h
    }
}

/// `hash(big int)`.
pub fn hash_big(b: &BigInt) -> i64 {
    let m = BigInt::from(HASH_MODULUS);
    let r = (b.magnitude().clone() % m.magnitude()).to_i64().unwrap_or(0);
    let h = if b.sign() == num_bigint::Sign::Minus { -r } else { r };
    if h == -1 {
        -2
    } else {
        h
    }
}

/// `hash(float)`, CPython's `_Py_HashDouble`.
pub fn hash_f64(v: f64) -> i64 {
    if v.is_infinite() {
        return if v > 0.0 { 314159 } else { -314159 };
    }
    if v.is_nan() {
        return 0;
    }
    if v.fract() == 0.0 && v.abs() < 9.0e18 {
        return hash_i64(v as i64);
    }
    let (mut m, mut e) = frexp(v.abs());
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & (HASH_MODULUS as u64)) | (x >> (61 - 28));
        m *= 268435456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= HASH_MODULUS as u64 {
            x -= HASH_MODULUS as u64;
        }
    }
    let e = if e >= 0 { e % 61 } else { 61 - 1 - ((-1 - e) % 61) };
    x = ((x << e) & (HASH_MODULUS as u64)) | (x >> (61 - e));
    let mut h = x as i64;
    if v < 0.0 {
        h = -h;
    }
    if h == -1 {
        -2
    } else {
        h
    }
}

fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 {
        return (0.0, 0);
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        let (m, e) = frexp(v * (1u64 << 54) as f64);
        return (m, e - 54);
    }
    let e = exp - 1022;
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, e)
}

/// Python's `repr(float)`.
pub fn float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{:e}", v);
    let (mant, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp >= 0 {
            let int_len = (exp + 1) as usize;
            if digits.len() <= int_len {
                format!("{sign}{}{}.0", digits, "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let _ = n;
            format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        }
    } else {
        let m = if digits.len() == 1 { digits.clone() } else { format!("{}.{}", &digits[..1], &digits[1..]) };
        format!("{sign}{m}e{}{:02}", if exp < 0 { "-" } else { "+" }, exp.abs())
    }
}

enum Num {
    I(i64),
    B(BigInt),
    F(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(*i)),
        Value::Bool(b) => Some(Num::I(*b as i64)),
        Value::Long(b) => Some(Num::B(b.0.clone())),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

fn to_big(n: &Num) -> BigInt {
    match n {
        Num::I(i) => BigInt::from(*i),
        Num::B(b) => b.clone(),
        Num::F(f) => BigInt::from(*f as i64),
    }
}

fn to_f64(n: &Num) -> f64 {
    match n {
        Num::I(i) => *i as f64,
        Num::B(b) => b.to_f64().unwrap_or(f64::INFINITY),
        Num::F(f) => *f,
    }
}

impl Vm {
    fn int_binary(&self, op: BinOp, a: &Num, b: &Num) -> PyResult<Value> {
        if let (Num::I(x), Num::I(y)) = (a, b) {
            let (x, y) = (*x, *y);
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::FloorDiv => {
                    if y == 0 {
                        return Err(self.new_error("ZeroDivisionError", "integer division or modulo by zero"));
                    }
                    x.checked_div_euclid(y).map(|_| num_integer::Integer::div_floor(&x, &y))
                }
                BinOp::Mod => {
                    if y == 0 {
                        return Err(self.new_error("ZeroDivisionError", "integer division or modulo by zero"));
                    }
                    x.checked_rem(y).map(|_| x.mod_floor(&y))
                }
                BinOp::And => Some(x & y),
                BinOp::Or => Some(x | y),
                BinOp::Xor => Some(x ^ y),
                BinOp::LShift => {
                    if y < 0 {
                        return Err(self.value_error("negative shift count"));
                    }
                    if y < 63 && (x.abs() >> (62 - y)) == 0 {
                        Some(x << y)
                    } else {
                        None
                    }
                }
                BinOp::RShift => {
                    if y < 0 {
                        return Err(self.value_error("negative shift count"));
                    }
                    Some(if y >= 64 {
                        if x < 0 {
                            -1
                        } else {
                            0
                        }
                    } else {
                        x >> y
                    })
                }
                BinOp::Pow => {
                    if y < 0 {
                        return self.float_binary(op, x as f64, y as f64);
                    }
                    if y > u32::MAX as i64 {
                        None
                    } else {
                        x.checked_pow(y as u32)
                    }
                }
                BinOp::TrueDiv => {
                    if y == 0 {
                        return Err(self.new_error("ZeroDivisionError", "division by zero"));
                    }
                    return Ok(Value::Float(x as f64 / y as f64));
                }
                BinOp::MatMul => return Err(self.unsupported_binop(op, &Value::Int(x), &Value::Int(y))),
            };
            if let Some(r) = r {
                return Ok(Value::Int(r));
            }
        }
        let (x, y) = (to_big(a), to_big(b));
        let r = match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::FloorDiv => {
                if y.is_zero() {
                    return Err(self.new_error("ZeroDivisionError", "integer division or modulo by zero"));
                }
                x.div_floor(&y)
            }
            BinOp::Mod => {
                if y.is_zero() {
                    return Err(self.new_error("ZeroDivisionError", "integer division or modulo by zero"));
                }
                x.mod_floor(&y)
            }
            BinOp::And => x & y,
            BinOp::Or => x | y,
            BinOp::Xor => x ^ y,
            BinOp::LShift => {
                let s = y
                    .to_usize()
                    .ok_or_else(|| self.new_error("OverflowError", "too many digits in integer"))?;
                x << s
            }
            BinOp::RShift => {
                let s = y.to_usize().unwrap_or(usize::MAX);
                if s > 1 << 20 {
                    if x.sign() == num_bigint::Sign::Minus {
                        BigInt::from(-1)
                    } else {
                        BigInt::zero()
                    }
                } else {
                    x >> s
                }
            }
            BinOp::Pow => {
                if y.sign() == num_bigint::Sign::Minus {
                    return self.float_binary(op, to_f64(a), to_f64(b));
                }
                let e = y.to_u32().ok_or_else(|| self.new_error("OverflowError", "exponent too large"))?;
                num_traits::pow(x, e as usize)
            }
            BinOp::TrueDiv => {
                if y.is_zero() {
                    return Err(self.new_error("ZeroDivisionError", "division by zero"));
                }
                return Ok(Value::Float(to_f64(a) / to_f64(b)));
            }
            BinOp::MatMul => {
                return Err(self.type_error("unsupported operand type(s) for @: 'int' and 'int'"))
            }
        };
        Ok(Value::from_bigint(r))
    }

    fn float_binary(&self, op: BinOp, x: f64, y: f64) -> PyResult<Value> {
        let r = match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::TrueDiv => {
                if y == 0.0 {
                    return Err(self.new_error("ZeroDivisionError", "float division by zero"));
                }
                x / y
            }
            BinOp::FloorDiv => {
                if y == 0.0 {
                    return Err(self.new_error("ZeroDivisionError", "float floor division by zero"));
                }
                (x / y).floor()
            }
            BinOp::Mod => {
                if y == 0.0 {
                    return Err(self.new_error("ZeroDivisionError", "float modulo"));
                }
                let m = x % y;
                if m != 0.0 && ((m < 0.0) != (y < 0.0)) {
                    m + y
                } else {
                    m
                }
            }
            BinOp::Pow => {
                if x == 0.0 && y < 0.0 {
                    return Err(
                        self.new_error("ZeroDivisionError", "0.0 cannot be raised to a negative power")
                    );
                }
                x.powf(y)
            }
            _ => return Err(self.unsupported_binop(op, &Value::Float(x), &Value::Float(y))),
        };
        Ok(Value::Float(r))
    }

    fn unsupported_binop(&self, op: BinOp, a: &Value, b: &Value) -> PyErr {
        if op == BinOp::Add {
            if let Value::Str(_) = a {
                return self
                    .type_error(format!("can only concatenate str (not \"{}\") to str", self.type_name(b)));
            }
            if let Value::List(_) = a {
                return self.type_error(format!(
                    "can only concatenate list (not \"{}\") to list",
                    self.type_name(b)
                ));
            }
            if let Value::Tuple(_) = a {
                return self.type_error(format!(
                    "can only concatenate tuple (not \"{}\") to tuple",
                    self.type_name(b)
                ));
            }
        }
        self.type_error(format!(
            "unsupported operand type(s) for {}: '{}' and '{}'",
            op.symbol(),
            self.type_name(a),
            self.type_name(b)
        ))
    }

    /// `a op b`.
    pub fn binary(&self, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            match op {
                BinOp::Add => {
                    if let Some(r) = x.checked_add(*y) {
                        return Ok(Value::Int(r));
                    }
                }
                BinOp::Sub => {
                    if let Some(r) = x.checked_sub(*y) {
                        return Ok(Value::Int(r));
                    }
                }
                BinOp::Mul => {
                    if let Some(r) = x.checked_mul(*y) {
                        return Ok(Value::Int(r));
                    }
                }
                // Python's floor division and modulo (the sign of the
                // divisor) for a positive divisor, the common case.
                BinOp::Mod if *y > 0 => return Ok(Value::Int(x.rem_euclid(*y))),
                BinOp::FloorDiv if *y > 0 => return Ok(Value::Int(x.div_euclid(*y))),
                BinOp::And => return Ok(Value::Int(x & y)),
                BinOp::Or => return Ok(Value::Int(x | y)),
                BinOp::Xor => return Ok(Value::Int(x ^ y)),
                _ => {}
            }
        }
        if let Some(r) = self.builtin_binary(op, a, b)? {
            return Ok(r);
        }
        // User-defined dunders: a.__op__(b), then b.__rop__(a).
        let (name, rname, _) = op.dunders();
        let a_user = matches!(a, Value::Instance(_));
        let b_user = matches!(b, Value::Instance(_));
        let b_sub = b_user
            && a_user
            && !Gc::ptr_eq(self.class_of(a), self.class_of(b))
            && class::is_subclass(self.class_of(b), self.class_of(a));
        if b_sub {
            if let Some(m) = self.lookup_special(b, rname) {
                let r = self.call_bound(&m, b, std::slice::from_ref(a), &[])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
        }
        if a_user {
            if let Some(m) = self.lookup_special(a, name) {
                let r = self.call_bound(&m, a, std::slice::from_ref(b), &[])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
        }
        if b_user && !b_sub {
            if let Some(m) = self.lookup_special(b, rname) {
                let r = self.call_bound(&m, b, std::slice::from_ref(a), &[])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
        }
        Err(self.unsupported_binop(op, a, b))
    }

    fn builtin_binary(&self, op: BinOp, a: &Value, b: &Value) -> PyResult<Option<Value>> {
        if matches!(a, Value::Native(_)) || matches!(b, Value::Native(_)) {
            if let Some(r) = crate::builtins::types::view_binary(self, op, a, b)? {
                return Ok(Some(r));
            }
        }
        if let (Some(x), Some(y)) = (num(a), num(b)) {
            return Ok(Some(match (&x, &y) {
                (Num::F(_), _) | (_, Num::F(_)) => self.float_binary(op, to_f64(&x), to_f64(&y))?,
                _ => self.int_binary(op, &x, &y)?,
            }));
        }
        Ok(match (op, a, b) {
            (BinOp::Add, Value::Str(x), Value::Str(y)) => {
                let mut s = String::with_capacity(x.s.len() + y.s.len());
                s.push_str(&x.s);
                s.push_str(&y.s);
                Some(Value::str(s))
            }
            (BinOp::Add, Value::List(x), Value::List(y)) => {
                let mut v = x.items.borrow().clone();
                v.extend(y.items.borrow().iter().cloned());
                Some(Value::list(v))
            }
            (BinOp::Add, Value::Tuple(x), Value::Tuple(y)) => {
                let mut v = x.items.to_vec();
                v.extend(y.items.iter().cloned());
                Some(Value::tuple(v))
            }
            (BinOp::Add, Value::Bytes(x), Value::Bytes(y)) => {
                let mut v = x.data.to_vec();
                v.extend_from_slice(&y.data);
                Some(Value::Bytes(Gc::new(crate::object::Bytes { data: v.into_boxed_slice() })))
            }
            (
                BinOp::Mul,
                Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_),
                Value::Int(_) | Value::Bool(_),
            ) => Some(self.repeat(a, b)?),
            (
                BinOp::Mul,
                Value::Int(_) | Value::Bool(_),
                Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_),
            ) => Some(self.repeat(b, a)?),
            (BinOp::Mod, Value::Str(fmt), _) => {
                Some(Value::str(crate::builtins::format::percent_format(self, &fmt.s, b)?))
            }
            (
                BinOp::Or | BinOp::And | BinOp::Sub | BinOp::Xor,
                Value::Set(_) | Value::FrozenSet(_),
                Value::Set(_) | Value::FrozenSet(_),
            ) => Some(crate::builtins::types::set_op(self, op, a, b)?),
            (BinOp::Or, Value::Dict(x), Value::Dict(y)) => {
                let d = Dict::new_object();
                self.dict_update_from(&d, &Value::Dict(x.clone()), false)?;
                self.dict_update_from(&d, &Value::Dict(y.clone()), false)?;
                Some(Value::Dict(d))
            }
            _ => None,
        })
    }

    fn repeat(&self, seq: &Value, n: &Value) -> PyResult<Value> {
        let n = match n {
            Value::Int(i) => (*i).max(0) as usize,
            Value::Bool(b) => *b as usize,
            _ => 0,
        };
        Ok(match seq {
            Value::Str(s) => Value::str(s.s.repeat(n)),
            Value::Bytes(b) => {
                Value::Bytes(Gc::new(crate::object::Bytes { data: b.data.repeat(n).into_boxed_slice() }))
            }
            Value::List(l) => {
                let items = l.items.borrow();
                let mut v = Vec::with_capacity(items.len() * n);
                for _ in 0..n {
                    v.extend(items.iter().cloned());
                }
                Value::list(v)
            }
            Value::Tuple(t) => {
                let mut v = Vec::with_capacity(t.items.len() * n);
                for _ in 0..n {
                    v.extend(t.items.iter().cloned());
                }
                Value::tuple(v)
            }
            _ => unreachable!("sequence"),
        })
    }

    /// `a op= b` (consumes `a`, so lists extend in place).
    pub fn inplace(&self, op: BinOp, a: Value, b: &Value) -> PyResult<Value> {
        if let (Value::Int(_), Value::Int(_)) = (&a, b) {
            return self.binary(op, &a, b);
        }
        match (&a, op) {
            (Value::List(l), BinOp::Add) => {
                let items = self.collect(b)?;
                l.items.borrow_mut().extend(items);
                return Ok(a);
            }
            (Value::List(l), BinOp::Mul) => {
                let n = match b {
                    Value::Int(i) => (*i).max(0) as usize,
                    _ => {
                        return Err(self.type_error(format!(
                            "can't multiply sequence by non-int of type '{}'",
                            self.type_name(b)
                        )))
                    }
                };
                let mut items = l.items.borrow_mut();
                let orig = items.clone();
                items.clear();
                for _ in 0..n {
                    items.extend(orig.iter().cloned());
                }
                drop(items);
                return Ok(a);
            }
            (Value::Set(_), BinOp::Or | BinOp::And | BinOp::Sub | BinOp::Xor) => {
                crate::builtins::types::set_inplace(self, op, &a, b)?;
                return Ok(a);
            }
            (Value::Dict(d), BinOp::Or) => {
                let d = d.clone();
                self.dict_update_from(&d, b, false)?;
                return Ok(a);
            }
            (Value::Instance(_), _) => {
                let (_, _, iname) = op.dunders();
                if let Some(m) = self.lookup_special(&a, iname) {
                    let r = self.call_bound(&m, &a, std::slice::from_ref(b), &[])?;
                    if !matches!(r, Value::NotImplemented) {
                        return Ok(r);
                    }
                }
            }
            _ => {}
        }
        self.binary(op, &a, b)
    }

    /// `op a`.
    pub fn unary(&self, op: UnOp, a: &Value) -> PyResult<Value> {
        match (op, a) {
            (UnOp::Not, v) => Ok(Value::Bool(!self.truthy(v)?)),
            (UnOp::Neg, Value::Int(i)) => Ok(match i.checked_neg() {
                Some(r) => Value::Int(r),
                None => Value::from_bigint(-BigInt::from(*i)),
            }),
            (UnOp::Neg, Value::Bool(b)) => Ok(Value::Int(-(*b as i64))),
            (UnOp::Neg, Value::Long(b)) => Ok(Value::from_bigint(-b.0.clone())),
            (UnOp::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
            (UnOp::Pos, Value::Int(_) | Value::Long(_) | Value::Float(_)) => Ok(a.clone()),
            (UnOp::Pos, Value::Bool(b)) => Ok(Value::Int(*b as i64)),
            (UnOp::Invert, Value::Int(i)) => Ok(Value::Int(!i)),
            (UnOp::Invert, Value::Bool(b)) => Ok(Value::Int(!(*b as i64))),
            (UnOp::Invert, Value::Long(b)) => Ok(Value::from_bigint(-(b.0.clone()) - 1)),
            (_, Value::Instance(_)) => {
                let name = match op {
                    UnOp::Neg => "__neg__",
                    UnOp::Pos => "__pos__",
                    UnOp::Invert => "__invert__",
                    UnOp::Not => unreachable!("handled"),
                };
                match self.lookup_special(a, name) {
                    Some(m) => self.call_bound(&m, a, &[], &[]),
                    None => Err(self.bad_unary(op, a)),
                }
            }
            _ => Err(self.bad_unary(op, a)),
        }
    }

    fn bad_unary(&self, op: UnOp, a: &Value) -> PyErr {
        let sym = match op {
            UnOp::Neg => "-",
            UnOp::Pos => "+",
            UnOp::Invert => "~",
            UnOp::Not => "not",
        };
        self.type_error(format!("bad operand type for unary {sym}: '{}'", self.type_name(a)))
    }

    /// Truth value.
    pub fn truthy(&self, v: &Value) -> PyResult<bool> {
        Ok(match v {
            Value::None | Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Long(b) => !b.0.is_zero(),
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.s.is_empty(),
            Value::Bytes(b) => !b.data.is_empty(),
            Value::Tuple(t) => !t.items.is_empty(),
            Value::List(l) => !l.items.borrow().is_empty(),
            Value::Dict(d) => !d.is_empty(),
            Value::Set(s) | Value::FrozenSet(s) => !s.table.borrow().is_empty(),
            Value::Range(r) => !r.is_empty(),
            Value::Instance(_) => {
                if let Some(m) = self.lookup_special(v, "__bool__") {
                    return match self.call_bound(&m, v, &[], &[])? {
                        Value::Bool(b) => Ok(b),
                        other => Err(self.type_error(format!(
                            "__bool__ should return bool, returned {}",
                            self.type_name(&other)
                        ))),
                    };
                }
                if let Some(m) = self.lookup_special(v, "__len__") {
                    let n = self.call_bound(&m, v, &[], &[])?;
                    return Ok(self.index_value(&n)? != 0);
                }
                true
            }
            _ => true,
        })
    }

    /// Equality with identity shortcut (containers, dict keys).
    pub fn eq(&self, a: &Value, b: &Value) -> PyResult<bool> {
        if a.is(b) && !matches!(a, Value::Float(f) if f.is_nan()) {
            return Ok(true);
        }
        if let Some(r) = native_eq(a, b) {
            return Ok(r);
        }
        let r = self.compare(CmpOp::Eq, a, b)?;
        self.truthy(&r)
    }

    /// Rich comparison.
    pub fn compare(&self, op: CmpOp, a: &Value, b: &Value) -> PyResult<Value> {
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            return Ok(Value::Bool(cmp_ord(op, x.cmp(y))));
        }
        if let Some(r) = self.builtin_compare(op, a, b)? {
            return Ok(Value::Bool(r));
        }
        let (name, rname) = op.dunders();
        let a_user = matches!(a, Value::Instance(_));
        let b_user = matches!(b, Value::Instance(_));
        let b_sub = b_user
            && (!a_user
                || (!Gc::ptr_eq(self.class_of(a), self.class_of(b))
                    && class::is_subclass(self.class_of(b), self.class_of(a))));
        if b_sub && a_user {
            if let Some(m) = self.lookup_special(b, rname) {
                let r = self.call_bound(&m, b, std::slice::from_ref(a), &[])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
        }
        if a_user {
            if let Some(m) = self.lookup_special(a, name) {
                let r = self.call_bound(&m, a, std::slice::from_ref(b), &[])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
            if op == CmpOp::Ne {
                if let Some(m) = self.lookup_special(a, "__eq__") {
                    let r = self.call_bound(&m, a, std::slice::from_ref(b), &[])?;
                    if !matches!(r, Value::NotImplemented) {
                        return Ok(Value::Bool(!self.truthy(&r)?));
                    }
                }
            }
        }
        if b_user && !(b_sub && a_user) {
            if let Some(m) = self.lookup_special(b, rname) {
                let r = self.call_bound(&m, b, std::slice::from_ref(a), &[])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
        }
        match op {
            CmpOp::Eq => Ok(Value::Bool(a.is(b))),
            CmpOp::Ne => Ok(Value::Bool(!a.is(b))),
            _ => Err(self.type_error(format!(
                "'{}' not supported between instances of '{}' and '{}'",
                op.symbol(),
                self.type_name(a),
                self.type_name(b)
            ))),
        }
    }

    fn builtin_compare(&self, op: CmpOp, a: &Value, b: &Value) -> PyResult<Option<bool>> {
        use std::cmp::Ordering;
        if let (Some(x), Some(y)) = (num(a), num(b)) {
            let ord = match (&x, &y) {
                (Num::F(_), _) | (_, Num::F(_)) => {
                    let (p, q) = (to_f64(&x), to_f64(&y));
                    match p.partial_cmp(&q) {
                        Some(o) => o,
                        None => return Ok(Some(op == CmpOp::Ne)),
                    }
                }
                _ => to_big(&x).cmp(&to_big(&y)),
            };
            return Ok(Some(cmp_ord(op, ord)));
        }
        let seq_cmp = |xs: &[Value], ys: &[Value]| -> PyResult<Option<bool>> {
            for (x, y) in xs.iter().zip(ys.iter()) {
                if !self.eq(x, y)? {
                    return match op {
                        CmpOp::Eq => Ok(Some(false)),
                        CmpOp::Ne => Ok(Some(true)),
                        _ => {
                            let r = self.compare(op, x, y)?;
                            Ok(Some(self.truthy(&r)?))
                        }
                    };
                }
            }
            Ok(Some(cmp_ord(op, xs.len().cmp(&ys.len()))))
        };
        match (a, b) {
            (Value::Native(_), _) | (_, Value::Native(_))
                if matches!(op, CmpOp::Eq | CmpOp::Ne)
                    && (is_set_view(a) || is_set_view(b))
                    && (is_set_view(a) || matches!(a, Value::Set(_) | Value::FrozenSet(_)))
                    && (is_set_view(b) || matches!(b, Value::Set(_) | Value::FrozenSet(_))) =>
            {
                // Keys and items views compare as sets.
                let x = crate::builtins::types::view_as_set(self, a)?.unwrap_or_else(|| a.clone());
                let y = crate::builtins::types::view_as_set(self, b)?.unwrap_or_else(|| b.clone());
                let r = self.compare(op, &x, &y)?;
                Ok(Some(self.truthy(&r)?))
            }
            (Value::Native(x), Value::Native(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                match (&x.kind, &y.kind) {
                    (NativeKind::WeakRef(p), NativeKind::WeakRef(q)) => {
                        let eq = crate::modules::weakref::ref_eq(self, a, p, b, q)?;
                        Ok(Some(eq == (op == CmpOp::Eq)))
                    }
                    (NativeKind::Opaque(p), NativeKind::Opaque(q)) => {
                        Ok(p.eq(q).map(|eq| eq == (op == CmpOp::Eq)))
                    }
                    _ => Ok(None),
                }
            }
            (Value::Str(x), Value::Str(y)) => Ok(Some(cmp_ord(op, x.s.cmp(&y.s)))),
            (Value::Bytes(x), Value::Bytes(y)) => Ok(Some(cmp_ord(op, x.data.cmp(&y.data)))),
            (Value::Tuple(x), Value::Tuple(y)) => seq_cmp(&x.items, &y.items),
            (Value::List(x), Value::List(y)) => {
                let xs = x.items.borrow().clone();
                let ys = y.items.borrow().clone();
                seq_cmp(&xs, &ys)
            }
            (Value::Dict(x), Value::Dict(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                let eq = self.dict_eq(x, y)?;
                Ok(Some(eq == (op == CmpOp::Eq)))
            }
            (Value::Set(x) | Value::FrozenSet(x), Value::Set(y) | Value::FrozenSet(y)) => {
                let xs: Vec<Value> = x.table.borrow().iter().map(|(_, k)| k.clone()).collect();
                let ys: Vec<Value> = y.table.borrow().iter().map(|(_, k)| k.clone()).collect();
                let sub = |p: &[Value], q: &Gc<Set>| -> PyResult<bool> {
                    for k in p {
                        if !self.set_contains(q, k)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                };
                let r = match op {
                    CmpOp::Eq => xs.len() == ys.len() && sub(&xs, y)?,
                    CmpOp::Ne => !(xs.len() == ys.len() && sub(&xs, y)?),
                    CmpOp::Le => sub(&xs, y)?,
                    CmpOp::Lt => xs.len() < ys.len() && sub(&xs, y)?,
                    CmpOp::Ge => sub(&ys, x)?,
                    CmpOp::Gt => ys.len() < xs.len() && sub(&ys, x)?,
                };
                Ok(Some(r))
            }
            (Value::None, Value::None) if matches!(op, CmpOp::Eq | CmpOp::Ne) => Ok(Some(op == CmpOp::Eq)),
            (Value::Range(x), Value::Range(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                let same = (x.is_empty() && y.is_empty())
                    || (x.start == y.start && x.len() == y.len() && (x.len() == 1 || x.step == y.step));
                Ok(Some(same == (op == CmpOp::Eq)))
            }
            _ => {
                let _ = Ordering::Equal;
                Ok(None)
            }
        }
    }

    fn dict_eq(&self, x: &Gc<Dict>, y: &Gc<Dict>) -> PyResult<bool> {
        if x.len() != y.len() {
            return Ok(false);
        }
        let entries: Vec<(Value, Value)> =
            x.table.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
        for (k, v) in entries {
            match self.dict_get(y, &k)? {
                Some(w) => {
                    if !self.eq(&v, &w)? {
                        return Ok(false);
                    }
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// `hash(v)`.
    pub fn hash(&self, v: &Value) -> PyResult<i64> {
        Ok(match v {
            Value::None => 0x005f_5e10,
            Value::Bool(b) => *b as i64,
            Value::Int(i) => hash_i64(*i),
            Value::Long(b) => hash_big(&b.0),
            Value::Float(f) => hash_f64(*f),
            Value::Str(s) => s.hash(),
            Value::Bytes(b) => {
                let s = String::from_utf8_lossy(&b.data);
                crate::object::str::str_hash(&s) ^ 0x5bd1e995
            }
            Value::Tuple(t) => self.tuple_hash(&t.items)?,
            Value::FrozenSet(s) => {
                let mut h: u64 = 0;
                let hashes: Vec<i64> = s.table.borrow().iter().map(|(h, _)| h).collect();
                for x in hashes {
                    let x = x as u64;
                    h ^= (x ^ (x << 16) ^ 89869747).wrapping_mul(3644798167);
                }
                h = h.wrapping_mul(69069).wrapping_add(907133923);
                let h = h as i64;
                if h == -1 {
                    590923713
                } else {
                    h
                }
            }
            Value::List(_) | Value::Dict(_) | Value::Set(_) => {
                return Err(self.type_error(format!("unhashable type: '{}'", self.type_name(v))));
            }
            Value::Native(n) if matches!(n.kind, NativeKind::WeakRef(_)) => {
                let NativeKind::WeakRef(w) = &n.kind else { unreachable!("checked") };
                crate::modules::weakref::ref_hash(self, w)?
            }
            Value::Instance(_) => {
                let cls = self.class_of(v).clone();
                match class::lookup(&cls, "__hash__") {
                    Some(Value::None) => {
                        return Err(self.type_error(format!("unhashable type: '{}'", cls.name())))
                    }
                    Some(m @ Value::Function(_)) => {
                        let r = self.call_bound(&m, v, &[], &[])?;
                        match r {
                            Value::Int(i) => {
                                if i == -1 {
                                    -2
                                } else {
                                    i
                                }
                            }
                            Value::Long(b) => hash_big(&b.0),
                            Value::Bool(b) => b as i64,
                            _ => return Err(self.type_error("__hash__ method should return an integer")),
                        }
                    }
                    _ => {
                        if class::lookup(&cls, "__eq__").is_some_and(|e| matches!(e, Value::Function(_)))
                            && !class_defines_hash(&cls)
                        {
                            return Err(self.type_error(format!("unhashable type: '{}'", cls.name())));
                        }
                        id_hash(v)
                    }
                }
            }
            _ => id_hash(v),
        })
    }

    /// CPython's `tuplehash` (xxHash-based).
    pub fn tuple_hash(&self, items: &[Value]) -> PyResult<i64> {
        const P1: u64 = 11400714785074694791;
        const P2: u64 = 14029467366897019727;
        const P5: u64 = 2870177450012600261;
        let mut acc: u64 = P5;
        for it in items {
            let lane = self.hash(it)? as u64;
            acc = acc.wrapping_add(lane.wrapping_mul(P2));
            acc = acc.rotate_left(31);
            acc = acc.wrapping_mul(P1);
        }
        acc = acc.wrapping_add((items.len() as u64) ^ (P5 ^ 3527539));
        if acc == u64::MAX {
            return Ok(1546275796);
        }
        Ok(acc as i64)
    }

    /// `item in container`.
    pub fn contains(&self, container: &Value, item: &Value) -> PyResult<bool> {
        match container {
            Value::Str(s) => match item {
                Value::Str(i) => Ok(s.s.contains(&*i.s)),
                _ => Err(self.type_error(format!(
                    "'in <string>' requires string as left operand, not {}",
                    self.type_name(item)
                ))),
            },
            Value::Bytes(b) => match item {
                Value::Int(i) => Ok(b.data.contains(&(*i as u8))),
                Value::Bytes(x) => {
                    Ok(x.data.is_empty() || b.data.windows(x.data.len()).any(|w| w == &x.data[..]))
                }
                _ => Err(self.type_error("a bytes-like object is required")),
            },
            Value::List(l) => {
                let n = l.items.borrow().len();
                for i in 0..n {
                    let x = match l.items.borrow().get(i) {
                        Some(x) => x.clone(),
                        None => break,
                    };
                    if self.eq(&x, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Tuple(t) => {
                for x in t.items.iter() {
                    if self.eq(x, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Dict(d) => Ok(self.dict_get(d, item)?.is_some()),
            Value::Native(n) if matches!(n.kind, NativeKind::DictView(..)) => {
                let NativeKind::DictView(d, kind) = &n.kind else { unreachable!("checked") };
                match kind {
                    DictIterKind::Keys => Ok(self.dict_get(d, item)?.is_some()),
                    DictIterKind::Items => {
                        let Value::Tuple(t) = item else { return Ok(false) };
                        let [k, v] = &t.items[..] else { return Ok(false) };
                        match self.dict_get(d, k)? {
                            Some(found) => self.eq(&found, v),
                            None => Ok(false),
                        }
                    }
                    DictIterKind::Values => self.contains_by_iter(container, item),
                }
            }
            Value::Set(s) | Value::FrozenSet(s) => self.set_contains(s, item),
            Value::Range(r) => Ok(match item {
                Value::Int(i) => {
                    let i = *i;
                    if r.step > 0 {
                        i >= r.start && i < r.stop && (i - r.start) % r.step == 0
                    } else {
                        i <= r.start && i > r.stop && (r.start - i) % (-r.step) == 0
                    }
                }
                _ => false,
            }),
            Value::Instance(_) => {
                if let Some(m) = self.lookup_special(container, "__contains__") {
                    let r = self.call_bound(&m, container, std::slice::from_ref(item), &[])?;
                    return self.truthy(&r);
                }
                self.contains_by_iter(container, item)
            }
            _ => self.contains_by_iter(container, item),
        }
    }

    fn contains_by_iter(&self, container: &Value, item: &Value) -> PyResult<bool> {
        let it = self.iter(container).map_err(|_| {
            self.type_error(format!("argument of type '{}' is not iterable", self.type_name(container)))
        })?;
        while let Some(x) = self.next(&it)? {
            if self.eq(&x, item)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    // ----- dicts and sets: lookups that may call Python __eq__ -----

    /// Finds the entry of `key`, restarting if a Python `__eq__` changed the
    /// dict.
    fn dict_find(&self, d: &Gc<Dict>, key: &Value, hash: i64) -> PyResult<Option<usize>> {
        if let Some(r) = {
            let t = d.table.borrow();
            let mut unsure = false;
            let r = t.find_with(hash, |k| match native_eq(k, key) {
                Some(r) => r,
                None => {
                    unsure = true;
                    false
                }
            });
            if r.is_some() || !unsure {
                Some(r)
            } else {
                None
            }
        } {
            return Ok(r);
        }
        loop {
            let version = d.version.0.get();
            let mut cands = Vec::new();
            d.table.borrow().candidates(hash, &mut cands);
            let mut found: Option<Option<usize>> = None;
            for i in cands {
                let k = match &d.table.borrow().entries[i] {
                    Some(e) => e.key.clone(),
                    None => continue,
                };
                let eq = self.eq(&k, key)?;
                if d.version.0.get() != version {
                    found = Some(None);
                    break;
                }
                if eq {
                    return Ok(Some(i));
                }
            }
            if found.is_none() {
                return Ok(None);
            }
        }
    }

    /// `d[key]` or `None` when missing.
    pub fn dict_get(&self, d: &Gc<Dict>, key: &Value) -> PyResult<Option<Value>> {
        if let Value::Str(s) = key {
            return Ok(d.get_str(&s.s));
        }
        let h = self.hash(key)?;
        Ok(self
            .dict_find(d, key, h)?
            .and_then(|i| d.table.borrow().entries[i].as_ref().map(|e| e.value.clone())))
    }

    /// `d[key] = value`.
    pub fn dict_set(&self, d: &Gc<Dict>, key: Value, value: Value) -> PyResult<()> {
        if let Value::Str(s) = &key {
            let old = d.set_str(s, value);
            drop(old);
            return Ok(());
        }
        let h = self.hash(&key)?;
        d.note_stored(&key, &value);
        match self.dict_find(d, &key, h)? {
            Some(i) => {
                let old =
                    d.table.borrow_mut().entries[i].as_mut().map(|e| std::mem::replace(&mut e.value, value));
                drop(old);
            }
            None => {
                d.table.borrow_mut().insert_new(h, key, value);
                d.version.bump();
            }
        }
        Ok(())
    }

    /// `del d[key]`, returning the removed value.
    pub fn dict_del(&self, d: &Gc<Dict>, key: &Value) -> PyResult<Option<Value>> {
        let h = self.hash(key)?;
        match self.dict_find(d, key, h)? {
            Some(i) => {
                let e = d.table.borrow_mut().remove_at(i);
                d.version.bump();
                Ok(e.map(|e| e.value))
            }
            None => Ok(None),
        }
    }

    /// `d.update(m)` (`{**m}`; with `merge`, duplicate keys are an error).
    pub fn dict_update_from(&self, d: &Gc<Dict>, m: &Value, merge: bool) -> PyResult<()> {
        match m {
            Value::Dict(src) => {
                let entries: Vec<(Value, Value)> =
                    src.table.borrow().iter().map(|e| (e.key.clone(), e.value.clone())).collect();
                for (k, v) in entries {
                    if merge && self.dict_get(d, &k)?.is_some() {
                        return Err(self.type_error(format!(
                            "got multiple values for keyword argument '{}'",
                            self.str_of(&k)?
                        )));
                    }
                    self.dict_set(d, k, v)?;
                }
                Ok(())
            }
            other => {
                if let Some(keys) = self.getattr_opt(other, "keys")? {
                    let ks = self.call(&keys, &[], &[])?;
                    for k in self.collect(&ks)? {
                        let v = self.getitem(other, &k)?;
                        self.dict_set(d, k, v)?;
                    }
                    return Ok(());
                }
                for (i, item) in self.collect(other)?.into_iter().enumerate() {
                    let kv = self.collect(&item)?;
                    if kv.len() != 2 {
                        return Err(self.value_error(format!(
                            "dictionary update sequence element #{i} has length {}; 2 is required",
                            kv.len()
                        )));
                    }
                    let mut it = kv.into_iter();
                    let (k, v) = (it.next().expect("key"), it.next().expect("value"));
                    self.dict_set(d, k, v)?;
                }
                Ok(())
            }
        }
    }

    fn set_find(&self, s: &Gc<Set>, key: &Value, hash: i64) -> PyResult<Option<usize>> {
        {
            let t = s.table.borrow();
            let mut unsure = false;
            let r = t.find_with(hash, |k| match native_eq(k, key) {
                Some(r) => r,
                None => {
                    unsure = true;
                    false
                }
            });
            if r.is_some() || !unsure {
                return Ok(r);
            }
        }
        let mut cands = Vec::new();
        s.table.borrow().candidates(hash, &mut cands);
        for i in cands {
            let k = match &s.table.borrow().slots[i] {
                crate::object::set::Slot::Full(_, k) => k.clone(),
                _ => continue,
            };
            if self.eq(&k, key)? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// `key in s`.
    pub fn set_contains(&self, s: &Gc<Set>, key: &Value) -> PyResult<bool> {
        let h = match self.hash(key) {
            Ok(h) => h,
            Err(e) if e.is(self, "TypeError") && matches!(key, Value::Set(_)) => {
                let fs = crate::builtins::types::frozen_copy(self, key)?;
                return self.set_contains(s, &fs);
            }
            Err(e) => return Err(e),
        };
        Ok(self.set_find(s, key, h)?.is_some())
    }

    /// `s.add(key)`.
    pub fn set_add(&self, s: &Gc<Set>, key: Value) -> PyResult<()> {
        let h = self.hash(&key)?;
        if self.set_find(s, &key, h)?.is_none() {
            s.table.borrow_mut().insert_new(h, key);
            s.version.bump();
        }
        Ok(())
    }

    /// `s.discard(key)`; whether it was there.
    pub fn set_discard(&self, s: &Gc<Set>, key: &Value) -> PyResult<bool> {
        let h = self.hash(key)?;
        match self.set_find(s, key, h)? {
            Some(i) => {
                let old = s.table.borrow_mut().remove_at(i);
                s.version.bump();
                drop(old);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    // ----- items -----

    /// An index (`__index__`).
    pub fn index_value(&self, v: &Value) -> PyResult<i64> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(*b as i64),
            Value::Long(_) => {
                Err(self.new_error("IndexError", "cannot fit 'int' into an index-sized integer"))
            }
            Value::Instance(_) => match self.lookup_special(v, "__index__") {
                Some(m) => {
                    let r = self.call_bound(&m, v, &[], &[])?;
                    self.index_value(&r)
                }
                None => Err(self.type_error(format!(
                    "'{}' object cannot be interpreted as an integer",
                    self.type_name(v)
                ))),
            },
            _ => Err(self
                .type_error(format!("'{}' object cannot be interpreted as an integer", self.type_name(v)))),
        }
    }

    /// `o[k]`.
    pub fn getitem(&self, o: &Value, k: &Value) -> PyResult<Value> {
        if let Value::Native(n) = o {
            if let NativeKind::Opaque(op) = &n.kind {
                if let Some(v) = op.getitem(self, k)? {
                    return Ok(v);
                }
            }
        }
        match o {
            Value::List(l) => {
                if let Value::Slice(s) = k {
                    let items = l.items.borrow();
                    let idx = self.slice_indices(s, items.len())?;
                    return Ok(Value::list(idx.into_iter().map(|i| items[i].clone()).collect()));
                }
                let i = self.seq_index(k, "list")?;
                let items = l.items.borrow();
                let n = items.len() as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(self.index_error("list index out of range"));
                }
                Ok(items[j as usize].clone())
            }
            Value::Tuple(t) => {
                if let Value::Slice(s) = k {
                    let idx = self.slice_indices(s, t.items.len())?;
                    return Ok(Value::tuple(idx.into_iter().map(|i| t.items[i].clone()).collect()));
                }
                let i = self.seq_index(k, "tuple")?;
                let n = t.items.len() as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(self.index_error("tuple index out of range"));
                }
                Ok(t.items[j as usize].clone())
            }
            Value::Str(s) => {
                if let Value::Slice(sl) = k {
                    let idx = self.slice_indices(sl, s.chars)?;
                    if let (true, Some(&a), Some(&b)) =
                        (idx.windows(2).all(|w| w[1] == w[0] + 1), idx.first(), idx.last())
                    {
                        return Ok(Value::str(s.substring(a, b + 1).to_string()));
                    }
                    let chars: Vec<char> = s.s.chars().collect();
                    return Ok(Value::str(idx.into_iter().map(|i| chars[i]).collect::<String>()));
                }
                let i = self.seq_index(k, "string")?;
                let n = s.chars as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(self.index_error("string index out of range"));
                }
                Ok(Value::str(s.char_at(j as usize).expect("in range").to_string()))
            }
            Value::Bytes(b) => {
                if let Value::Slice(sl) = k {
                    let idx = self.slice_indices(sl, b.data.len())?;
                    let v: Vec<u8> = idx.into_iter().map(|i| b.data[i]).collect();
                    return Ok(Value::Bytes(Gc::new(crate::object::Bytes { data: v.into_boxed_slice() })));
                }
                let i = self.seq_index(k, "bytes")?;
                let n = b.data.len() as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(self.index_error("index out of range"));
                }
                Ok(Value::Int(b.data[j as usize] as i64))
            }
            Value::Range(r) => {
                if let Value::Slice(sl) = k {
                    let idx = self.slice_indices(sl, r.len() as usize)?;
                    return Ok(Value::list(
                        idx.into_iter().map(|i| Value::Int(r.start + i as i64 * r.step)).collect(),
                    ));
                }
                let i = self.seq_index(k, "range")?;
                let n = r.len();
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(self.index_error("range object index out of range"));
                }
                Ok(Value::Int(r.start + j * r.step))
            }
            Value::Dict(d) => match self.dict_get(d, k)? {
                Some(v) => Ok(v),
                None => Err(self.key_error(k.clone())),
            },
            Value::Native(n) if matches!(n.kind, NativeKind::MappingProxy(_)) => {
                let NativeKind::MappingProxy(d) = &n.kind else { unreachable!("checked") };
                match self.dict_get(d, k)? {
                    Some(v) => Ok(v),
                    None => Err(self.key_error(k.clone())),
                }
            }
            Value::Instance(_) => match self.lookup_special(o, "__getitem__") {
                Some(m) => self.call_bound(&m, o, std::slice::from_ref(k), &[]),
                None => Err(self.type_error(format!("'{}' object is not subscriptable", self.type_name(o)))),
            },
            Value::Class(c) => match class::lookup(c, "__class_getitem__") {
                Some(m) => self.call(&m, &[o.clone(), k.clone()], &[]),
                None => {
                    if c.builtin {
                        Ok(o.clone())
                    } else {
                        Err(self.type_error("'type' object is not subscriptable"))
                    }
                }
            },
            _ => Err(self.type_error(format!("'{}' object is not subscriptable", self.type_name(o)))),
        }
    }

    fn seq_index(&self, k: &Value, what: &str) -> PyResult<i64> {
        match k {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(*b as i64),
            Value::Long(_) => Err(self.index_error("cannot fit 'int' into an index-sized integer")),
            Value::Instance(_) if self.lookup_special(k, "__index__").is_some() => self.index_value(k),
            _ => Err(self
                .type_error(format!("{what} indices must be integers or slices, not {}", self.type_name(k)))),
        }
    }

    /// The indices a slice selects from a sequence of length `len`.
    pub fn slice_indices(&self, s: &crate::object::Slice, len: usize) -> PyResult<Vec<usize>> {
        let (start, stop, step) = self.slice_bounds(s, len)?;
        let mut v = Vec::new();
        let mut i = start;
        if step > 0 {
            while i < stop {
                v.push(i as usize);
                i += step;
            }
        } else {
            while i > stop {
                v.push(i as usize);
                i += step;
            }
        }
        Ok(v)
    }

    /// `slice.indices(len)`.
    pub fn slice_bounds(&self, s: &crate::object::Slice, len: usize) -> PyResult<(i64, i64, i64)> {
        let len = len as i64;
        let step = if s.step.is_none() { 1 } else { self.index_value(&s.step)? };
        if step == 0 {
            return Err(self.value_error("slice step cannot be zero"));
        }
        let clamp = |v: &Value, default: i64| -> PyResult<i64> {
            if v.is_none() {
                return Ok(default);
            }
            let mut i = self.index_value(v)?;
            if i < 0 {
                i += len;
                if i < 0 {
                    i = if step < 0 { -1 } else { 0 };
                }
            } else if i >= len {
                i = if step < 0 { len - 1 } else { len };
            }
            Ok(i)
        };
        let start = clamp(&s.start, if step < 0 { len - 1 } else { 0 })?;
        let stop = clamp(&s.stop, if step < 0 { -1 } else { len })?;
        Ok((start, stop, step))
    }

    /// `o[k] = v`.
    pub fn setitem(&self, o: &Value, k: Value, v: Value) -> PyResult<()> {
        match o {
            Value::List(l) => {
                if let Value::Slice(s) = &k {
                    let new = self.collect(&v)?;
                    let len = l.items.borrow().len();
                    let (start, stop, step) = self.slice_bounds(s, len)?;
                    if step == 1 {
                        let stop = stop.max(start);
                        let removed: Vec<Value> =
                            l.items.borrow_mut().splice(start as usize..stop as usize, new).collect();
                        drop(removed);
                        return Ok(());
                    }
                    let idx = self.slice_indices(s, len)?;
                    if idx.len() != new.len() {
                        return Err(self.value_error(format!(
                            "attempt to assign sequence of size {} to extended slice of size {}",
                            new.len(),
                            idx.len()
                        )));
                    }
                    let mut old = Vec::new();
                    let mut items = l.items.borrow_mut();
                    for (i, x) in idx.into_iter().zip(new) {
                        old.push(std::mem::replace(&mut items[i], x));
                    }
                    drop(items);
                    drop(old);
                    return Ok(());
                }
                let i = self.seq_index(&k, "list")?;
                let mut items = l.items.borrow_mut();
                let n = items.len() as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(self.index_error("list assignment index out of range"));
                }
                let old = std::mem::replace(&mut items[j as usize], v);
                drop(items);
                drop(old);
                Ok(())
            }
            Value::Dict(d) => self.dict_set(d, k, v),
            Value::Instance(_) => match self.lookup_special(o, "__setitem__") {
                Some(m) => self.call_bound(&m, o, &[k, v], &[]).map(|_| ()),
                None => Err(self
                    .type_error(format!("'{}' object does not support item assignment", self.type_name(o)))),
            },
            _ => {
                Err(self
                    .type_error(format!("'{}' object does not support item assignment", self.type_name(o))))
            }
        }
    }

    /// `del o[k]`.
    pub fn delitem(&self, o: &Value, k: &Value) -> PyResult<()> {
        match o {
            Value::List(l) => {
                if let Value::Slice(s) = k {
                    let len = l.items.borrow().len();
                    let mut idx = self.slice_indices(s, len)?;
                    idx.sort_unstable();
                    let mut removed = Vec::new();
                    let mut items = l.items.borrow_mut();
                    for i in idx.into_iter().rev() {
                        removed.push(items.remove(i));
                    }
                    drop(items);
                    drop(removed);
                    return Ok(());
                }
                let i = self.seq_index(k, "list")?;
                let mut items = l.items.borrow_mut();
                let n = items.len() as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(self.index_error("list assignment index out of range"));
                }
                let old = items.remove(j as usize);
                drop(items);
                drop(old);
                Ok(())
            }
            Value::Dict(d) => match self.dict_del(d, k)? {
                Some(old) => {
                    drop(old);
                    Ok(())
                }
                None => Err(self.key_error(k.clone())),
            },
            Value::Instance(_) => {
                match self.lookup_special(o, "__delitem__") {
                    Some(m) => self.call_bound(&m, o, std::slice::from_ref(k), &[]).map(|_| ()),
                    None => Err(self
                        .type_error(format!("'{}' object doesn't support item deletion", self.type_name(o)))),
                }
            }
            _ => {
                Err(self.type_error(format!("'{}' object doesn't support item deletion", self.type_name(o))))
            }
        }
    }

    // ----- iteration -----

    /// `iter(o)`.
    pub fn iter(&self, o: &Value) -> PyResult<Value> {
        Ok(match o {
            Value::List(l) => Value::iter(IterState::List(l.clone(), 0)),
            Value::Tuple(t) => Value::iter(IterState::Tuple(t.clone(), 0)),
            Value::Str(s) => Value::iter(IterState::Str(s.clone(), 0)),
            Value::Bytes(b) => Value::iter(IterState::Bytes(b.clone(), 0)),
            Value::Range(r) => Value::iter(IterState::Range { next: r.start, stop: r.stop, step: r.step }),
            Value::Dict(d) => Value::iter(IterState::Dict {
                dict: d.clone(),
                pos: 0,
                kind: DictIterKind::Keys,
                len: d.len(),
            }),
            Value::Set(s) | Value::FrozenSet(s) => {
                let n = s.table.borrow().len();
                Value::iter(IterState::Set(s.clone(), 0, n))
            }
            Value::Generator(_) => o.clone(),
            Value::Native(n) if matches!(n.kind, NativeKind::Iter(_)) => o.clone(),
            Value::Native(n) if matches!(n.kind, NativeKind::Opaque(_)) => {
                let NativeKind::Opaque(op) = &n.kind else { unreachable!("checked") };
                match op.iter(self)? {
                    Some(it) => it,
                    None => {
                        return Err(self.type_error(format!("'{}' object is not iterable", self.type_name(o))))
                    }
                }
            }
            Value::Native(n) if matches!(n.kind, NativeKind::DictView(..)) => {
                let NativeKind::DictView(d, kind) = &n.kind else { unreachable!("checked") };
                Value::iter(IterState::Dict { dict: d.clone(), pos: 0, kind: *kind, len: d.len() })
            }
            Value::Native(n) if matches!(n.kind, NativeKind::MappingProxy(_)) => {
                let NativeKind::MappingProxy(d) = &n.kind else { unreachable!("checked") };
                Value::iter(IterState::Dict {
                    dict: d.clone(),
                    pos: 0,
                    kind: DictIterKind::Keys,
                    len: d.len(),
                })
            }
            Value::Instance(_) => {
                if let Some(m) = self.lookup_special(o, "__iter__") {
                    let it = self.call_bound(&m, o, &[], &[])?;
                    if !matches!(it, Value::Instance(_) | Value::Generator(_) | Value::Native(_))
                        || (matches!(it, Value::Instance(_))
                            && self.lookup_special(&it, "__next__").is_none())
                    {
                        return Err(self.type_error(format!(
                            "iter() returned non-iterator of type '{}'",
                            self.type_name(&it)
                        )));
                    }
                    return Ok(it);
                }
                if self.lookup_special(o, "__getitem__").is_some() {
                    return Ok(Value::iter(IterState::SeqIter(o.clone(), 0)));
                }
                return Err(self.type_error(format!("'{}' object is not iterable", self.type_name(o))));
            }
            _ => return Err(self.type_error(format!("'{}' object is not iterable", self.type_name(o)))),
        })
    }

    /// `next(it)`: `None` when exhausted.
    pub fn next(&self, it: &Value) -> PyResult<Option<Value>> {
        match it {
            Value::Native(n) => match &n.kind {
                NativeKind::Iter(state) => crate::builtins::iters::next_builtin(self, state),
                _ => Err(self.type_error(format!("'{}' object is not an iterator", self.type_name(it)))),
            },
            Value::Generator(g) => match self.gen_send(g, Value::None) {
                Ok(super::eval::GenStep::Yielded(v)) => Ok(Some(v)),
                Ok(super::eval::GenStep::Returned(_)) => Ok(None),
                Err(e) => Err(e),
            },
            Value::Instance(_) => match self.lookup_special(it, "__next__") {
                Some(m) => match self.call_bound(&m, it, &[], &[]) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) if e.is(self, "StopIteration") => Ok(None),
                    Err(e) => Err(e),
                },
                None => Err(self.type_error(format!("'{}' object is not an iterator", self.type_name(it)))),
            },
            _ => Err(self.type_error(format!("'{}' object is not an iterator", self.type_name(it)))),
        }
    }

    /// Every item of an iterable.
    pub fn collect(&self, o: &Value) -> PyResult<Vec<Value>> {
        match o {
            Value::List(l) => return Ok(l.items.borrow().clone()),
            Value::Tuple(t) => return Ok(t.items.to_vec()),
            _ => {}
        }
        let it = self.iter(o)?;
        let mut v = Vec::new();
        while let Some(x) = self.next(&it)? {
            v.push(x);
        }
        Ok(v)
    }

    /// `a, b = seq`.
    pub fn unpack(&self, seq: &Value, n: usize) -> PyResult<Vec<Value>> {
        let items = match seq {
            Value::Tuple(t) => t.items.to_vec(),
            Value::List(l) => l.items.borrow().clone(),
            other => {
                let it = self.iter(other).map_err(|_| {
                    self.type_error(format!("cannot unpack non-iterable {} object", self.type_name(other)))
                })?;
                let mut v = Vec::new();
                while let Some(x) = self.next(&it)? {
                    v.push(x);
                    if v.len() > n {
                        return Err(self.value_error(format!("too many values to unpack (expected {n})")));
                    }
                }
                v
            }
        };
        if items.len() > n {
            return Err(self.value_error(format!("too many values to unpack (expected {n})")));
        }
        if items.len() < n {
            return Err(
                self.value_error(format!("not enough values to unpack (expected {n}, got {})", items.len()))
            );
        }
        Ok(items)
    }

    /// `except ty:` matching.
    pub fn exception_matches(&self, exc: &Value, ty: &Value) -> PyResult<bool> {
        let cls = self.class_of(exc);
        match ty {
            Value::Class(c) => {
                if !class::is_subclass(c, self.types.exc("BaseException")) {
                    return Err(self.type_error(
                        "catching classes that do not inherit from BaseException is not allowed",
                    ));
                }
                Ok(class::is_subclass(cls, c))
            }
            Value::Tuple(t) => {
                for x in t.items.iter() {
                    if self.exception_matches(exc, x)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => {
                Err(self.type_error("catching classes that do not inherit from BaseException is not allowed"))
            }
        }
    }

    /// `isinstance(obj, cls)` for one class.
    pub fn isinstance_class(&self, obj: &Value, cls: &Gc<class::Class>) -> bool {
        let c = self.class_of(obj);
        class::is_subclass(c, cls) || (Gc::ptr_eq(cls, &self.types.int) && matches!(obj, Value::Bool(_)))
    }

    /// `list` helper for builtins.
    pub fn new_list(&self, items: Vec<Value>) -> Gc<List> {
        Gc::new(List { items: pygc::GcCell::new(items) })
    }
}

fn cmp_ord(op: CmpOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Lt => o == Less,
        CmpOp::Le => o != Greater,
        CmpOp::Eq => o == Equal,
        CmpOp::Ne => o != Equal,
        CmpOp::Gt => o == Greater,
        CmpOp::Ge => o != Less,
    }
}

fn class_defines_hash(cls: &Gc<class::Class>) -> bool {
    cls.dict.get_str("__hash__").is_some()
}

/// `hash()` of an object without `__hash__`: from its address, as CPython.
pub fn id_hash(v: &Value) -> i64 {
    let id = v.heap_id().unwrap_or(0) as u64;
    let h = id.rotate_right(4) as i64;
    if h == -1 {
        -2
    } else {
        h
    }
}

/// Equality decidable without running Python code, when it is.
pub fn native_eq(a: &Value, b: &Value) -> Option<bool> {
    use Value::*;
    Some(match (a, b) {
        (Str(x), Str(y)) => Gc::ptr_eq(x, y) || x.s == y.s,
        (Int(x), Int(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Int(x), Bool(y)) | (Bool(y), Int(x)) => *x == *y as i64,
        (Float(x), Float(y)) => x == y,
        (Int(x), Float(y)) | (Float(y), Int(x)) => (*x as f64) == *y,
        (Long(x), Long(y)) => x.0 == y.0,
        (Long(_), Int(_) | Bool(_)) | (Int(_) | Bool(_), Long(_)) => false,
        (None, None) => true,
        (Bytes(x), Bytes(y)) => x.data == y.data,
        (Tuple(x), Tuple(y)) => {
            if x.items.len() != y.items.len() {
                return Some(false);
            }
            for (p, q) in x.items.iter().zip(y.items.iter()) {
                match native_eq(p, q) {
                    Some(true) => {}
                    Some(false) => return Some(false),
                    Option::None => return Option::None,
                }
            }
            true
        }
        (Instance(_), _) | (_, Instance(_)) => return Option::None,
        (List(_) | Dict(_) | Set(_) | FrozenSet(_), _) => return Option::None,
        // Weak references and tracemalloc's values compare by value.
        (Native(_), Native(_)) => return Option::None,
        (x, y) => match (x.heap_id(), y.heap_id()) {
            (Some(p), Some(q)) => p == q,
            _ => {
                // Different immediate kinds (None vs int...).
                let _ = (x, y);
                false
            }
        },
    })
}

/// The truth that `a is b` for use in `list.remove` etc.
pub fn _unused(_: &PyErr) {}

/// Whether `v` is a keys or items view (which compare as sets).
fn is_set_view(v: &Value) -> bool {
    matches!(v, Value::Native(n) if matches!(n.kind, NativeKind::DictView(_, DictIterKind::Keys | DictIterKind::Items)))
}
