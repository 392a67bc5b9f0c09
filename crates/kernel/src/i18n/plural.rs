//! `Plural-Forms` expressions: a small parser and evaluator of the C subset gettext uses.

use std::fmt;

/// A parsed `plural=` expression of a catalog header (C syntax over `n`).
#[derive(Clone, PartialEq, Eq)]
pub struct PluralRule(Expr);

impl fmt::Debug for PluralRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PluralRule(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    N,
    Num(i64),
    Not(Box<Expr>),
    Binary(Box<Expr>, &'static str, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl PluralRule {
    /// Parses an expression such as `(n != 1)` or
    /// `n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2`.
    pub fn parse(source: &str) -> Result<Self, String> {
        let tokens = tokenize(source)?;
        let mut parser = Parser { tokens, pos: 0 };
        let expr = parser.ternary()?;
        if parser.pos != parser.tokens.len() {
            return Err(format!("unexpected `{}`", parser.tokens[parser.pos]));
        }
        Ok(Self(expr))
    }

    /// The plural form index for `n`.
    pub fn index(&self, n: u64) -> usize {
        usize::try_from(eval(&self.0, i64::try_from(n).unwrap_or(i64::MAX)).max(0)).unwrap_or(0)
    }
}

fn tokenize(source: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = source.trim().trim_end_matches(';').chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(&two.as_str()) {
                tokens.push(two);
                i += 2;
            } else if "n()?:!<>+-*/%".contains(c) {
                tokens.push(c.to_string());
                i += 1;
            } else {
                return Err(format!("unexpected character `{c}`"));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
}

const LEVELS: &[&[&str]] = &[&["||"], &["&&"], &["==", "!="], &["<", ">", "<=", ">="], &["+", "-"], &["*", "/", "%"]];

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn ternary(&mut self) -> Result<Expr, String> {
        let condition = self.binary(0)?;
        if self.peek() == Some("?") {
            self.pos += 1;
            let yes = self.ternary()?;
            if self.peek() != Some(":") {
                return Err("expected `:`".into());
            }
            self.pos += 1;
            let no = self.ternary()?;
            return Ok(Expr::Ternary(Box::new(condition), Box::new(yes), Box::new(no)));
        }
        Ok(condition)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.peek().and_then(|t| LEVELS[level].iter().find(|o| **o == t)) {
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some("!") => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some("(") => {
                self.pos += 1;
                let inner = self.ternary()?;
                if self.peek() != Some(")") {
                    return Err("expected `)`".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some("n") => {
                self.pos += 1;
                Ok(Expr::N)
            }
            Some(t) if t.chars().all(|c| c.is_ascii_digit()) => {
                let n = t.parse().map_err(|_| "number too large".to_owned())?;
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Some(t) => Err(format!("unexpected `{t}`")),
            None => Err("unexpected end".into()),
        }
    }
}

fn eval(expr: &Expr, n: i64) -> i64 {
    match expr {
        Expr::N => n,
        Expr::Num(v) => *v,
        Expr::Not(e) => i64::from(eval(e, n) == 0),
        Expr::Ternary(c, a, b) => {
            if eval(c, n) != 0 {
                eval(a, n)
            } else {
                eval(b, n)
            }
        }
        Expr::Binary(l, op, r) => {
            let (a, b) = (eval(l, n), eval(r, n));
            match *op {
                "||" => i64::from(a != 0 || b != 0),
                "&&" => i64::from(a != 0 && b != 0),
                "==" => i64::from(a == b),
                "!=" => i64::from(a != b),
                "<" => i64::from(a < b),
                ">" => i64::from(a > b),
                "<=" => i64::from(a <= b),
                ">=" => i64::from(a >= b),
                "+" => a.wrapping_add(b),
                "-" => a.wrapping_sub(b),
                "*" => a.wrapping_mul(b),
                "/" => a.checked_div(b).unwrap_or(0),
                "%" => a.checked_rem(b).unwrap_or(0),
                _ => 0,
            }
        }
    }
}
