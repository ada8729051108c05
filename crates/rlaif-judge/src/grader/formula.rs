//! The `calculate_output` formula of a `multi` grader: arithmetic over sub-grader names.
//!
//! Grammar (usual precedence; `^` binds tighter than unary minus and is right
//! associative, so `-a^2 = -(a^2)` and `a^b^c = a^(b^c)`):
//!
//! ```text
//! expr    := term (("+" | "-") term)*
//! term    := unary (("*" | "/") unary)*
//! unary   := ("-" | "+") unary | power
//! power   := atom ("^" unary)?
//! atom    := number | name | func "(" expr ("," expr)* ")" | "(" expr ")"
//! func    := min | max | abs | floor | ceil | exp | sqrt | log
//! ```
//!
//! `min` and `max` take one or more arguments, the others exactly one; `log` is the
//! natural logarithm. Names are identifiers (`[A-Za-z_][A-Za-z0-9_]*`).

use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// A parsed formula.
#[derive(Clone, Debug, PartialEq)]
pub struct Formula {
    source: String,
    root: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Num(f64),
    Var(String),
    Neg(Box<Node>),
    Bin(Op, Box<Node>, Box<Node>, String),
    Call(Func, Vec<Node>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Func {
    Min,
    Max,
    Abs,
    Floor,
    Ceil,
    Exp,
    Sqrt,
    Log,
}

impl Func {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "min" => Func::Min,
            "max" => Func::Max,
            "abs" => Func::Abs,
            "floor" => Func::Floor,
            "ceil" => Func::Ceil,
            "exp" => Func::Exp,
            "sqrt" => Func::Sqrt,
            "log" => Func::Log,
            _ => return None,
        })
    }
}

/// Why a formula could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the formula.
    pub at: usize,
    /// What was expected or is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.message)
    }
}

/// Why a formula could not be evaluated.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EvalError {
    /// A divisor evaluated to 0.
    DivisionByZero {
        /// The formula.
        formula: String,
        /// The divisor's text.
        divisor: String,
    },
    /// A name has no value.
    UnknownName {
        /// The formula.
        formula: String,
        /// The name.
        name: String,
    },
    /// The result (or an intermediate value) is NaN or infinite, e.g. `sqrt(-1)`,
    /// `log(0)`.
    NonFinite {
        /// The formula.
        formula: String,
        /// The value.
        value: f64,
    },
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::DivisionByZero { formula, divisor } => {
                write!(
                    f,
                    "division by zero in formula {formula:?}: `{divisor}` is 0"
                )
            }
            EvalError::UnknownName { formula, name } => {
                write!(f, "unknown grader `{name}` in formula {formula:?}")
            }
            EvalError::NonFinite { formula, value } => {
                write!(
                    f,
                    "formula {formula:?} evaluates to {value}, not a finite number"
                )
            }
        }
    }
}

impl Formula {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Self, ParseError> {
        let mut p = Parser {
            src: source,
            pos: 0,
        };
        let root = p.expr()?;
        p.skip_ws();
        if p.pos < source.len() {
            return Err(p.error(format!("unexpected {:?}", p.rest_char())));
        }
        Ok(Self {
            source: source.to_string(),
            root,
        })
    }

    /// The formula's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every name the formula reads.
    pub fn names(&self) -> BTreeSet<String> {
        fn walk(n: &Node, out: &mut BTreeSet<String>) {
            match n {
                Node::Num(_) => {}
                Node::Var(v) => {
                    out.insert(v.clone());
                }
                Node::Neg(a) => walk(a, out),
                Node::Bin(_, a, b, _) => {
                    walk(a, out);
                    walk(b, out);
                }
                Node::Call(_, args) => args.iter().for_each(|a| walk(a, out)),
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.root, &mut out);
        out
    }

    /// The value with `values` for the names.
    pub fn eval(&self, values: &HashMap<String, f64>) -> Result<f64, EvalError> {
        let v = self.node(&self.root, values)?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(EvalError::NonFinite {
                formula: self.source.clone(),
                value: v,
            })
        }
    }

    fn node(&self, n: &Node, values: &HashMap<String, f64>) -> Result<f64, EvalError> {
        Ok(match n {
            Node::Num(x) => *x,
            Node::Var(name) => *values.get(name).ok_or_else(|| EvalError::UnknownName {
                formula: self.source.clone(),
                name: name.clone(),
            })?,
            Node::Neg(a) => -self.node(a, values)?,
            Node::Bin(op, a, b, rhs_text) => {
                let x = self.node(a, values)?;
                let y = self.node(b, values)?;
                match op {
                    Op::Add => x + y,
                    Op::Sub => x - y,
                    Op::Mul => x * y,
                    Op::Div if y == 0.0 => {
                        return Err(EvalError::DivisionByZero {
                            formula: self.source.clone(),
                            divisor: rhs_text.clone(),
                        });
                    }
                    Op::Div => x / y,
                    Op::Pow => x.powf(y),
                }
            }
            Node::Call(f, args) => {
                let vals = args
                    .iter()
                    .map(|a| self.node(a, values))
                    .collect::<Result<Vec<f64>, _>>()?;
                match f {
                    Func::Min => vals.iter().copied().fold(f64::INFINITY, f64::min),
                    Func::Max => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    Func::Abs => vals[0].abs(),
                    Func::Floor => vals[0].floor(),
                    Func::Ceil => vals[0].ceil(),
                    Func::Exp => vals[0].exp(),
                    Func::Sqrt => vals[0].sqrt(),
                    Func::Log => vals[0].ln(),
                }
            }
        })
    }
}

struct Parser<'s> {
    src: &'s str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            at: self.pos,
            message: message.into(),
        }
    }

    fn rest_char(&self) -> char {
        self.src[self.pos..].chars().next().unwrap_or(' ')
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.src[self.pos..].chars().next() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.src[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Node, ParseError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek() {
                Some('+') => Op::Add,
                Some('-') => Op::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let start = self.pos;
            let right = self.term()?;
            let text = self.src[start..self.pos].trim().to_string();
            left = Node::Bin(op, Box::new(left), Box::new(right), text);
        }
    }

    fn term(&mut self) -> Result<Node, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some('*') => Op::Mul,
                Some('/') => Op::Div,
                _ => return Ok(left),
            };
            self.pos += 1;
            let start = self.pos;
            let right = self.unary()?;
            let text = self.src[start..self.pos].trim().to_string();
            left = Node::Bin(op, Box::new(left), Box::new(right), text);
        }
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        if self.eat('-') {
            return Ok(Node::Neg(Box::new(self.unary()?)));
        }
        if self.eat('+') {
            return self.unary();
        }
        self.power()
    }

    fn power(&mut self) -> Result<Node, ParseError> {
        let base = self.atom()?;
        if self.eat('^') {
            let start = self.pos;
            let exp = self.unary()?;
            let text = self.src[start..self.pos].trim().to_string();
            return Ok(Node::Bin(Op::Pow, Box::new(base), Box::new(exp), text));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Node, ParseError> {
        match self.peek() {
            None => Err(self.error("unexpected end of formula, expected a number, a name or `(`")),
            Some('(') => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat(')') {
                    return Err(self.error("expected `)`"));
                }
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let start = self.pos;
                while let Some(c) = self.src[self.pos..].chars().next() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let name = &self.src[start..self.pos];
                if self.peek() == Some('(') {
                    let Some(func) = Func::from_name(name) else {
                        self.pos = start;
                        return Err(self.error(format!(
                            "unknown function `{name}` (known: min, max, abs, floor, ceil, exp, sqrt, log)"
                        )));
                    };
                    self.pos += 1;
                    let mut args = vec![self.expr()?];
                    while self.eat(',') {
                        args.push(self.expr()?);
                    }
                    if !self.eat(')') {
                        return Err(self.error("expected `,` or `)`"));
                    }
                    let unary = !matches!(func, Func::Min | Func::Max);
                    if unary && args.len() != 1 {
                        return Err(ParseError {
                            at: start,
                            message: format!("`{name}` takes one argument, got {}", args.len()),
                        });
                    }
                    return Ok(Node::Call(func, args));
                }
                Ok(Node::Var(name.to_string()))
            }
            Some(c) => Err(self.error(format!(
                "unexpected {c:?}, expected a number, a name or `(`"
            ))),
        }
    }

    fn number(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len()
            && (bytes[self.pos].is_ascii_digit() || bytes[self.pos] == b'.')
        {
            self.pos += 1;
        }
        if self.pos < bytes.len() && (bytes[self.pos] == b'e' || bytes[self.pos] == b'E') {
            let save = self.pos;
            self.pos += 1;
            if self.pos < bytes.len() && (bytes[self.pos] == b'+' || bytes[self.pos] == b'-') {
                self.pos += 1;
            }
            let digits = self.pos;
            while self.pos < bytes.len() && bytes[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            if self.pos == digits {
                self.pos = save;
            }
        }
        let text = &self.src[start..self.pos];
        text.parse::<f64>().map(Node::Num).map_err(|_| ParseError {
            at: start,
            message: format!("invalid number `{text}`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str, vars: &[(&str, f64)]) -> Result<f64, EvalError> {
        let values = vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Formula::parse(src).unwrap().eval(&values)
    }

    #[test]
    fn precedence_and_functions() {
        assert_eq!(eval("1 + 2 * 3", &[]).unwrap(), 7.0);
        assert_eq!(eval("(1 + 2) * 3", &[]).unwrap(), 9.0);
        assert_eq!(eval("-2^2", &[]).unwrap(), -4.0);
        assert_eq!(eval("2^3^2", &[]).unwrap(), 512.0);
        assert_eq!(eval("2^-1", &[]).unwrap(), 0.5);
        assert_eq!(eval("10 - 4 - 3", &[]).unwrap(), 3.0);
        assert_eq!(eval("8 / 4 / 2", &[]).unwrap(), 1.0);
        assert_eq!(
            eval("min(a, b, 0.5) + max(a)", &[("a", 0.2), ("b", 0.9)]).unwrap(),
            0.4
        );
        assert_eq!(
            eval("abs(-1.5) + floor(2.7) + ceil(0.1)", &[]).unwrap(),
            4.5
        );
        assert!((eval("exp(log(3)) + sqrt(16)", &[]).unwrap() - 7.0).abs() < 1e-12);
        assert_eq!(eval("1e-1 * 10", &[]).unwrap(), 1.0);
        assert_eq!(
            eval("0.7 * x + 0.3 * y_2", &[("x", 1.0), ("y_2", 0.0)]).unwrap(),
            0.7
        );
    }

    #[test]
    fn errors_name_the_formula() {
        let e = eval("a / (b - 1)", &[("a", 1.0), ("b", 1.0)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "division by zero in formula \"a / (b - 1)\": `(b - 1)` is 0"
        );
        let e = eval("sqrt(a)", &[("a", -1.0)]).unwrap_err();
        assert!(e.to_string().contains("NaN"), "{e}");
        let e = eval("a + c", &[("a", 1.0)]).unwrap_err();
        assert_eq!(e.to_string(), "unknown grader `c` in formula \"a + c\"");
        for bad in [
            "",
            "a +",
            "(a",
            "a b",
            "pow(a)",
            "abs(a, b)",
            "a $ b",
            "1..2",
        ] {
            assert!(Formula::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Formula::parse("a + foo(b)").unwrap_err().to_string(),
            "at byte 4: unknown function `foo` (known: min, max, abs, floor, ceil, exp, sqrt, log)"
        );
        let names: Vec<_> = Formula::parse("x * min(y, z) / x")
            .unwrap()
            .names()
            .into_iter()
            .collect();
        assert_eq!(names, ["x", "y", "z"]);
    }
}
