//! JSONPath queries compiled once and run within a budget.
//!
//! RFC 9535's `match()` and `search()` compiled their pattern again for every node a filter
//! looked at, and the pattern could be a path into the response: an e-mail pattern over
//! 200,000 elements ran for minutes, and a pattern the server chose took a minute and more.
//! psconform registers its own `match` and `search` with `serde_json_path`'s function registry
//! (they take the place of the library's): the pattern must be a string literal, compiled when
//! the plan is made with the size limits of `matches:` (a path argument is a validation error
//! with its reason), and a node only looks it up.
//!
//! Evaluation has a node-visit budget, [`MAX_VISITS`]. `serde_json_path` cannot be stopped
//! mid-query, so the budget is kept two ways: before a query runs, the nodes it could visit in
//! this body are bounded from its shape (segments, wildcards, descendants, filters and the
//! queries nested in them) and the body's size, width and depth, and a query over the budget
//! is not run; while it runs, every `match` or `search` call is charged, and one over the
//! budget stops matching. Either way the check says so instead of reporting "absent".

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Instant;

use regex::Regex;
use serde_json::Value;
use serde_json_path::functions::{
    Evaluator, Function, FunctionArgType, FunctionExprArg, FunctionValidationError, JsonPathType, JsonPathValue,
    LogicalType, Validator,
};

/// Nodes a query may visit in one body, estimated or counted.
pub const MAX_VISITS: u64 = 50_000_000;

/// A query did not run, or stopped matching, because it would visit or visited more nodes
/// than [`MAX_VISITS`], or because the step's deadline passed while it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverVisits {
    /// Its shape and the body's size say it could visit more: not run.
    Estimated,
    /// Its `match` and `search` calls used up the budget while it ran.
    Counted,
    /// The step's deadline (`--timeout`) passed during its `match` and `search` calls.
    Deadline,
}

impl std::fmt::Display for OverVisits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OverVisits::Estimated => {
                write!(f, "the JSONPath would visit more than {MAX_VISITS} nodes of this body; not evaluated")
            }
            OverVisits::Counted => write!(f, "the JSONPath visited more than {MAX_VISITS} nodes; not evaluated"),
            OverVisits::Deadline => write!(f, "the step's time ran out while the JSONPath was evaluated"),
        }
    }
}

/// Patterns of `match` (anchored) and `search`, compiled when a JSONPath naming them is
/// parsed: the plan's, bounded by the case files.
static PATTERNS: LazyLock<RwLock<Compiled>> = LazyLock::new(Default::default);

/// Compiled patterns by whether they are anchored (`match`) and their source.
type Compiled = HashMap<(bool, String), Arc<Regex>>;

thread_local! {
    /// Why a `match` or `search` call was refused while a JSONPath was parsed on this thread.
    static REFUSED: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The visits a running query on this thread may still charge.
    static LEFT: Cell<u64> = const { Cell::new(MAX_VISITS) };
    /// The running query used up its visits.
    static SPENT: Cell<bool> = const { Cell::new(false) };
    /// When the running query's step must end, if it has a deadline.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The running query's step ran past its deadline.
    static LATE: Cell<bool> = const { Cell::new(false) };
}

/// Why the last JSONPath parsed on this thread was refused by `match` or `search`, if it was;
/// cleared by reading.
pub fn refused() -> Option<String> {
    REFUSED.with(|r| r.borrow_mut().take())
}

fn refuse(why: String) -> Result<(), FunctionValidationError> {
    REFUSED.with(|r| *r.borrow_mut() = Some(why));
    // The library only says that a function was refused; `refused` says why.
    Err(FunctionValidationError::IncorrectFunctionReturnType)
}

/// Checks a `match` or `search` call when its JSONPath is parsed, and compiles its pattern.
fn validate(name: &str, anchored: bool, args: &[FunctionExprArg]) -> Result<(), FunctionValidationError> {
    if args.len() != 2 {
        return Err(FunctionValidationError::NumberOfArgsMismatch { expected: 2, received: args.len() });
    }
    let value_type = args[0].as_type_kind()?;
    if !value_type.converts_to(JsonPathType::Value) {
        return Err(FunctionValidationError::MismatchTypeKind {
            name: name.to_owned(),
            expected: JsonPathType::Value,
            received: value_type,
            position: 0,
        });
    }
    let pattern = match &args[1] {
        FunctionExprArg::Literal(literal) => match JsonPathValue::from(literal) {
            JsonPathValue::Value(Value::String(s)) => s,
            _ => return refuse(format!("the pattern of {name}() must be a string literal such as '^[a-z]+$'")),
        },
        _ => {
            return refuse(format!(
                "the pattern of {name}() must be a string literal such as '^[a-z]+$', not a path or a function: a pattern taken from the response could take minutes to compile and run"
            ));
        }
    };
    // RFC 9535's I-Regexp: `.` matches any character but a line break; `match` is the whole
    // string.
    let source = if anchored { format!("(?R)^(?:{pattern})$") } else { format!("(?R)(?:{pattern})") };
    match super::Pattern::compile(&source) {
        Ok(p) => {
            if let Ok(mut patterns) = PATTERNS.write() {
                patterns.insert((anchored, pattern), Arc::new(p.into_regex()));
            }
            Ok(())
        }
        Err(e) => refuse(format!("the pattern of {name}() is not usable: {e}")),
    }
}

/// A `match` or `search` call while a query runs: the pattern compiled when the plan was made,
/// each call charged against the query's budget.
fn evaluate<'a>(anchored: bool, mut args: VecDeque<JsonPathValue<'a>>) -> JsonPathValue<'a> {
    let (value, pattern) = (args.pop_front(), args.pop_front());
    let text = match &value {
        Some(JsonPathValue::Node(Value::String(s))) => s.as_str(),
        Some(JsonPathValue::Value(Value::String(s))) => s.as_str(),
        _ => return JsonPathValue::Logical(LogicalType::False),
    };
    // A pattern runs in time linear in the text: charge for its length too.
    let cost = 1 + text.len() as u64 / 64;
    let left = LEFT.with(Cell::get);
    if SPENT.with(Cell::get) || LATE.with(Cell::get) || left < cost {
        SPENT.with(|s| s.set(true));
        return JsonPathValue::Logical(LogicalType::False);
    }
    // Reading the clock on every call would cost more than most matches: once per 1,024 visits.
    if (left - cost) / 1024 != left / 1024 && DEADLINE.with(Cell::get).is_some_and(|d| Instant::now() >= d) {
        LATE.with(|l| l.set(true));
        return JsonPathValue::Logical(LogicalType::False);
    }
    LEFT.with(|l| l.set(left - cost));
    let Some(JsonPathValue::Value(Value::String(pattern))) = pattern else {
        return JsonPathValue::Logical(LogicalType::False);
    };
    let regex = PATTERNS.read().ok().and_then(|p| p.get(&(anchored, pattern)).cloned());
    let matched = regex.is_some_and(|r| r.is_match(text));
    JsonPathValue::Logical(if matched { LogicalType::True } else { LogicalType::False })
}

static MATCH_VALIDATOR: Validator = LazyLock::new(|| Box::new(|args| validate("match", true, args)));
static MATCH_EVALUATOR: Evaluator = LazyLock::new(|| Box::new(|args| evaluate(true, args)));
static SEARCH_VALIDATOR: Validator = LazyLock::new(|| Box::new(|args| validate("search", false, args)));
static SEARCH_EVALUATOR: Evaluator = LazyLock::new(|| Box::new(|args| evaluate(false, args)));

inventory::submit! { Function::new("match", FunctionArgType::Logical, &MATCH_EVALUATOR, &MATCH_VALIDATOR) }
inventory::submit! { Function::new("search", FunctionArgType::Logical, &SEARCH_EVALUATOR, &SEARCH_VALIDATOR) }

/// Runs `query` with the whole budget for its `match` and `search` calls, which stop matching
/// at `deadline`; `Err` when they used the budget up or the deadline passed.
pub fn counted<T>(deadline: Option<Instant>, query: impl FnOnce() -> T) -> Result<T, OverVisits> {
    LEFT.with(|l| l.set(MAX_VISITS));
    SPENT.with(|s| s.set(false));
    LATE.with(|l| l.set(false));
    DEADLINE.with(|d| d.set(deadline));
    let out = query();
    DEADLINE.with(|d| d.set(None));
    if LATE.with(Cell::get) {
        Err(OverVisits::Deadline)
    } else if SPENT.with(Cell::get) {
        Err(OverVisits::Counted)
    } else {
        Ok(out)
    }
}

/// How big a body is, for the estimate: its nodes, the most children a node has, its depth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocStats {
    nodes: f64,
    width: f64,
    depth: f64,
}

impl DocStats {
    /// Walks the body once.
    pub fn of(doc: &Value) -> DocStats {
        let (mut nodes, mut width, mut depth) = (0u64, 0usize, 0usize);
        let mut stack = vec![(doc, 1usize)];
        while let Some((v, d)) = stack.pop() {
            nodes += 1;
            depth = depth.max(d);
            match v {
                Value::Array(items) => {
                    width = width.max(items.len());
                    stack.extend(items.iter().map(|i| (i, d + 1)));
                }
                Value::Object(map) => {
                    width = width.max(map.len());
                    stack.extend(map.values().map(|i| (i, d + 1)));
                }
                _ => {}
            }
        }
        DocStats { nodes: nodes as f64, width: width.max(1) as f64, depth: depth as f64 }
    }
}

/// What a query's cost depends on: per segment, whether it descends and what its selectors
/// are; the queries a filter nests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
struct Segment {
    descendant: bool,
    selectors: Vec<Selector>,
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    /// A name or an index: at most one child, found directly.
    One,
    /// A wildcard or a slice: every child.
    All,
    /// A filter: every child, each tested with the nested queries (`$…` absolute).
    Filter(Vec<(bool, Shape)>),
}

impl Shape {
    /// The shape of a JSONPath that `serde_json_path` has parsed (so its syntax is valid).
    pub fn of(source: &str) -> Shape {
        let chars: Vec<char> = source.chars().collect();
        let mut at = 0;
        skip_space(&chars, &mut at);
        if matches!(chars.get(at), Some('$' | '@')) {
            at += 1;
        }
        segments(&chars, &mut at)
    }

    /// An upper bound of the nodes a query visits in a body with `doc`'s statistics.
    pub fn visits(&self, doc: DocStats) -> f64 {
        self.cost(doc, 1.0, 1.0)
    }

    /// Visits from a list of `len` nodes in which no node is more than `mult` times.
    fn cost(&self, doc: DocStats, len: f64, mult: f64) -> f64 {
        let (n, w, d) = (doc.nodes, doc.width, doc.depth);
        let (mut len, mut mult, mut visits) = (len, mult, 0.0);
        for seg in &self.segments {
            let (base, base_mult) = if seg.descendant {
                let walk = (len * n).min(mult * n * d);
                visits += walk;
                (walk, (mult * d).min(len))
            } else {
                (len, mult)
            };
            let mut out = 0.0;
            for sel in &seg.selectors {
                let children = (base * w).min(base_mult * n);
                match sel {
                    Selector::One => {
                        visits += base;
                        out += base;
                    }
                    Selector::All => {
                        visits += children;
                        out += children;
                    }
                    Selector::Filter(nested) => {
                        visits += children;
                        out += children;
                        for (absolute, q) in nested {
                            visits +=
                                if *absolute { children * q.visits(doc) } else { q.cost(doc, children, base_mult) };
                        }
                    }
                }
            }
            len = out;
            mult = base_mult * seg.selectors.len().max(1) as f64;
        }
        visits
    }
}

fn skip_space(chars: &[char], at: &mut usize) {
    while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
        *at += 1;
    }
}

/// The segments of a query from `at`, to where they end.
fn segments(chars: &[char], at: &mut usize) -> Shape {
    let mut shape = Shape::default();
    loop {
        let mut look = *at;
        skip_space(chars, &mut look);
        match (chars.get(look), chars.get(look + 1)) {
            (Some('.'), Some('.')) => {
                *at = look + 2;
                let selectors = if chars.get(*at) == Some(&'[') { bracket(chars, at) } else { dotted(chars, at) };
                shape.segments.push(Segment { descendant: true, selectors });
            }
            (Some('.'), _) => {
                *at = look + 1;
                let selectors = dotted(chars, at);
                shape.segments.push(Segment { descendant: false, selectors });
            }
            (Some('['), _) => {
                *at = look;
                let selectors = bracket(chars, at);
                shape.segments.push(Segment { descendant: false, selectors });
            }
            _ => return shape,
        }
    }
}

/// `*` or a member name after a dot.
fn dotted(chars: &[char], at: &mut usize) -> Vec<Selector> {
    if chars.get(*at) == Some(&'*') {
        *at += 1;
        return vec![Selector::All];
    }
    while chars.get(*at).is_some_and(|c| c.is_alphanumeric() || *c == '_' || !c.is_ascii()) {
        *at += 1;
    }
    vec![Selector::One]
}

/// `[…]`: its selectors, to past its `]`.
fn bracket(chars: &[char], at: &mut usize) -> Vec<Selector> {
    *at += 1;
    let mut out = Vec::new();
    loop {
        skip_space(chars, at);
        match chars.get(*at) {
            None => return out,
            Some(']') => {
                *at += 1;
                return out;
            }
            Some(',') => *at += 1,
            Some('\'' | '"') => {
                skip_string(chars, at);
                out.push(Selector::One);
            }
            Some('*') => {
                *at += 1;
                out.push(Selector::All);
            }
            Some('?') => {
                *at += 1;
                out.push(Selector::Filter(filter(chars, at)));
            }
            Some(_) => {
                // An index or a slice, up to the next `,` or `]`.
                let mut slice = false;
                while let Some(c) = chars.get(*at).filter(|c| !matches!(c, ',' | ']')) {
                    slice |= *c == ':';
                    *at += 1;
                }
                out.push(if slice { Selector::All } else { Selector::One });
            }
        }
    }
}

/// A filter expression, to its selector's end: the queries it nests.
fn filter(chars: &[char], at: &mut usize) -> Vec<(bool, Shape)> {
    let mut nested = Vec::new();
    let mut depth = 0usize;
    while let Some(&c) = chars.get(*at) {
        match c {
            '\'' | '"' => skip_string(chars, at),
            '(' | '[' => {
                depth += 1;
                *at += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                *at += 1;
            }
            ']' | ',' if depth == 0 => return nested,
            ']' => {
                depth = depth.saturating_sub(1);
                *at += 1;
            }
            '$' | '@' => {
                *at += 1;
                nested.push((c == '$', segments(chars, at)));
            }
            _ => *at += 1,
        }
    }
    nested
}

/// Past a quoted string literal.
fn skip_string(chars: &[char], at: &mut usize) {
    let quote = chars[*at];
    *at += 1;
    while let Some(&c) = chars.get(*at) {
        *at += 1;
        if c == '\\' {
            *at += 1;
        } else if c == quote {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json_path::JsonPath;

    #[test]
    fn match_and_search_take_only_a_literal_compiled_once() {
        let doc = json!([{"E": "a@b.co"}, {"E": "nope"}, {"E": 1}]);
        let found = |path: &str| JsonPath::parse(path).map(|p| p.query(&doc).len()).map_err(|_| ());
        assert_eq!(found("$[?match(@.E, '[a-z]+@[a-z.]+')]"), Ok(1));
        assert_eq!(found("$[?match(@.E, 'a@b')]"), Ok(0), "match is the whole string");
        assert_eq!(found("$[?search(@.E, 'a@b')]"), Ok(1));
        assert!(found("$[?match(@.E, $[0].E)]").is_err());
        assert!(refused().is_some_and(|why| why.contains("string literal")));
        assert!(found("$[?search(@.E, '((a{1,100}){1,100}){1,9}')]").is_err());
        assert!(refused().is_some_and(|why| why.contains("size limit")), "the limits of `matches:`");
        assert_eq!(refused(), None, "read once");
    }

    #[test]
    fn a_query_s_visits_are_bounded_from_its_shape() {
        let wide = Value::Array((0..1000).map(|i| json!({"A": i, "B": [i, i]})).collect());
        let doc = DocStats::of(&wide);
        assert_eq!((doc.nodes, doc.width, doc.depth), (5001.0, 1000.0, 4.0));
        let visits = |path: &str| Shape::of(path).visits(doc);
        assert!(visits("$[0].A") <= 2.0);
        assert!(visits("$[*].A") <= 2_000.0);
        assert!(visits("$..*") <= 2.0 * 5001.0, "{}", visits("$..*"));
        assert!(visits("$[?@.A > 1].B[*]") <= 10_000.0, "{}", visits("$[?@.A > 1].B[*]"));
        assert!(visits("$[?search(@.E, '[a-z]')]") <= 3_000.0);
        let nested = visits("$[?count($..*) > 0]");
        assert!(nested >= 1000.0 * 5001.0, "an absolute query per element: {nested}");
        let names = Shape::of("$['a,]*?$', \"b\"]..x");
        assert_eq!(names.segments.len(), 2);
        assert_eq!(names.segments[0].selectors, vec![Selector::One, Selector::One]);
    }

    #[test]
    fn match_calls_past_the_budget_stop_the_query() {
        let doc = json!(["x".repeat(64 * 1024)]);
        let path = JsonPath::parse("$[?search(@, 'x')]").expect("parses");
        assert_eq!(counted(None, || path.query(&doc).len()), Ok(1));
        let wide = Value::Array(vec![json!("x"); 4096]);
        assert_eq!(counted(Some(Instant::now()), || path.query(&wide).len()), Err(OverVisits::Deadline));
        LEFT.with(|l| l.set(10));
        SPENT.with(|s| s.set(false));
        path.query(&doc);
        assert!(SPENT.with(Cell::get), "a 64 KiB string costs more than 10 visits");
    }
}
