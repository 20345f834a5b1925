//! Lesson checks: an ordered pattern over the events of several processes.
//!
//! A check is a list of [`Step`]s declared in a lesson's front matter. Each step
//! names who does it (`server`, `client`, or `learner` for answers to the
//! lesson's questions), which event it is (`cmd`, `step`) and conditions on the
//! event's fields (`where`). Conditions may refer to events matched by earlier
//! steps with templates: `peer.port = "{listening.addr.port}"` says "the port
//! the listener got". A step must come after the step named by `after`
//! (default: the step before it), so the pattern follows cause and effect
//! across processes without demanding an order between simultaneous things.
//!
//! Timestamps are taken when an event is recorded, just after its system call
//! returns, so between two processes the log may show an effect a moment
//! before its cause (B logs reading A's reply before A logs writing it). An
//! `after` therefore names a step of the same process, or one the learner
//! does by hand before the next (listening before connecting).
//!
//! Evaluation searches the session log for the first assignment of events to
//! steps that satisfies everything (backtracking, with a budget). When there
//! is none, the deepest partial match tells the learner exactly where they are
//! stuck, with that step's `stuck` advice filled in from what did happen.
//!
//! When a lesson allows one side to be another program (`foreign = "client"`
//! for telnet or nc), and that side left no socklab events at all, its steps
//! are skipped, and conditions that refer to them are dropped: the check then
//! verifies socklab's side only.
//!
//! A step marked `absent` is the opposite: it holds while no event matches
//! it ("A never stopped listening", which is what `-k` does). A condition
//! that refers to a field the earlier event does not have is false, never
//! dropped: a check must not pass on what it could not see.
//!
//! Advice names the mistake when it can. A step's `near` list holds the
//! events of a near miss (a listener without `-k`, a relay with nobody
//! behind it, an experiment run before the prediction) with the advice for
//! each; the first one found after the step's anchor replaces `stuck`, and
//! its event can be quoted as `{miss.field}`. `stuck_foreign` replaces
//! `stuck` when the lesson's foreign side was another program (nc needs
//! `-N` to send FIN).
//!
//! Condition operators (the start of a `where` value): `!= ` not equal,
//! `< ` / `> ` numeric comparison, `~ ` contains, `one of: a, b` membership;
//! anything else is equality. Answers (`learner` steps) are read the way
//! people write them (see [`answer`](super::answer)): `65,507` is 65507,
//! `three` is 3, and text compares trimmed and case-insensitively. The path
//! suffix `.number` reads a field that way (`{answered.value.number}`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::answer;
use crate::trace::escape;

/// Who performs a step: the JSON `side` of its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    Server,
    Client,
    Learner,
}

impl Who {
    fn side(self) -> &'static str {
        match self {
            Who::Server => "server",
            Who::Client => "client",
            Who::Learner => "learner",
        }
    }
}

/// Which events can satisfy a step.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// The socklab subcommand that emitted it (`listen`, `connect`, `demo`...).
    pub cmd: Option<String>,
    /// The event's `step` (`listen`, `accept`, `read`, `datagram`, `answer`...).
    pub step: Option<String>,
    /// Field path → expected value (see the module docs for operators).
    #[serde(default, rename = "where")]
    pub conditions: BTreeMap<String, String>,
}

/// A near miss: events that show which mistake keeps a step from passing.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Near {
    /// Whose event it is. Unset: the step's side, and then the step's `cmd`
    /// and `step` unless given here.
    pub who: Option<Who>,
    pub cmd: Option<String>,
    pub step: Option<String>,
    #[serde(default, rename = "where")]
    pub conditions: BTreeMap<String, String>,
    /// What to tell the learner; `{miss.field}` quotes the near miss.
    pub advice: String,
}

/// One step of a check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    pub who: Who,
    pub cmd: Option<String>,
    pub step: Option<String>,
    #[serde(default, rename = "where")]
    pub conditions: BTreeMap<String, String>,
    /// Alternatives: the step is satisfied by an event matching any of them.
    #[serde(default)]
    pub any: Vec<Matcher>,
    /// The step this one must follow (default: the previous step; "start":
    /// anywhere in the log).
    pub after: Option<String>,
    /// At least this many matching events (bound: the first; `{name.count}`).
    pub min_count: Option<usize>,
    /// With `min_count`: the events must share this field (e.g. `from`).
    pub group: Option<String>,
    /// What the check looks for, as the lesson states it.
    pub says: String,
    /// What to tell a learner who has not got this far.
    pub stuck: String,
    /// The advice when the lesson's foreign side was another program.
    pub stuck_foreign: Option<String>,
    /// Near misses, tried in order when the step is where the learner is stuck.
    #[serde(default)]
    pub near: Vec<Near>,
    /// The step holds while no event matches it.
    #[serde(default)]
    pub absent: bool,
}

impl Step {
    fn matchers(&self) -> Vec<Matcher> {
        if self.any.is_empty() {
            vec![Matcher {
                cmd: self.cmd.clone(),
                step: self.step.clone(),
                conditions: self.conditions.clone(),
            }]
        } else {
            self.any.clone()
        }
    }
}

/// What an evaluated step came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The foreign side left no socklab events: not checked.
    Skipped,
    /// Where the learner is stuck, with the advice filled in.
    Failed(String),
    NotReached,
}

/// The result of a check.
#[derive(Debug)]
pub struct Verdict<'a> {
    pub outcomes: Vec<Outcome>,
    bindings: HashMap<String, Bound>,
    events: &'a [Value],
}

impl Verdict<'_> {
    pub fn passed(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Passed | Outcome::Skipped))
    }

    /// Fills a template with what the check matched (for reports such as
    /// "you predicted 1; 3 arrived").
    pub fn fill(&self, template: &str) -> String {
        fill(template, &self.bindings, self.events)
    }
}

#[derive(Clone, Copy, Debug)]
enum Bound {
    Event { index: usize, count: usize },
    Skipped,
}

/// The event steps a check (or its near misses) can look at, so that
/// reading the log can leave the others out; `None` when a step matches any
/// event. Always included:
/// `start` (every command's first event, which tells whether a side ran
/// socklab at all), `answer` and `usage_error`.
pub fn steps_needed(steps: &[Step]) -> Option<BTreeSet<String>> {
    let mut needed: BTreeSet<String> = ["start", "answer", "usage_error"].map(String::from).into();
    for m in steps.iter().flat_map(Step::matchers) {
        needed.insert(m.step?);
    }
    for s in steps {
        for near in &s.near {
            let own = near.who.is_none().then(|| s.step.clone()).flatten();
            needed.insert(near.step.clone().or(own)?);
        }
    }
    Some(needed)
}

/// Searches `events` (in log order) for the pattern `steps`.
pub fn evaluate<'a>(steps: &[Step], foreign: Option<Who>, events: &'a [Value]) -> Verdict<'a> {
    let skip: Vec<bool> = steps
        .iter()
        .map(|s| {
            foreign == Some(s.who)
                && !events
                    .iter()
                    .any(|e| e["side"] == s.who.side() && e["cmd"] != "lesson")
        })
        .collect();
    let mut search = Search {
        steps,
        skip: &skip,
        events,
        budget: 200_000,
        deepest: 0,
        best: HashMap::new(),
    };
    let mut bindings = HashMap::new();
    let found = search.run(0, &mut bindings);
    let (reached, bindings) = if found {
        (steps.len(), bindings)
    } else {
        (search.deepest, std::mem::take(&mut search.best))
    };
    let foreign_skipped = skip.iter().any(|&s| s);
    let exhausted = search.budget == 0;
    let outcomes = steps
        .iter()
        .enumerate()
        .map(|(i, s)| match i.cmp(&reached) {
            _ if skip[i] => Outcome::Skipped,
            std::cmp::Ordering::Less => Outcome::Passed,
            std::cmp::Ordering::Equal => {
                let mut bindings = bindings.clone();
                let after = search.anchor(i, &bindings).map_or(0, |a| a + 1);
                let text = advice_for(s, foreign_skipped, after, &mut bindings, events);
                Outcome::Failed(stuck_advice(s, text, &bindings, events, exhausted))
            }
            std::cmp::Ordering::Greater => Outcome::NotReached,
        })
        .collect();
    Verdict {
        outcomes,
        bindings,
        events,
    }
}

struct Search<'a> {
    steps: &'a [Step],
    skip: &'a [bool],
    events: &'a [Value],
    budget: usize,
    deepest: usize,
    best: HashMap<String, Bound>,
}

impl Search<'_> {
    fn run(&mut self, i: usize, bindings: &mut HashMap<String, Bound>) -> bool {
        if i >= self.deepest {
            self.deepest = i;
            self.best = bindings.clone();
        }
        let Some(step) = self.steps.get(i) else {
            return true;
        };
        if self.skip[i] {
            bindings.insert(step.name.clone(), Bound::Skipped);
            return self.run(i + 1, bindings);
        }
        let start = self.anchor(i, bindings).map_or(0, |a| a + 1);
        let matchers = step.matchers();
        if step.absent {
            for index in start..self.events.len() {
                if self.budget == 0 {
                    return false;
                }
                self.budget -= 1;
                if ev_matches(
                    step.who,
                    &matchers,
                    &self.events[index],
                    bindings,
                    self.events,
                ) {
                    return false;
                }
            }
            bindings.insert(step.name.clone(), Bound::Skipped);
            if self.run(i + 1, bindings) {
                return true;
            }
            bindings.remove(&step.name);
            return false;
        }
        let mut candidates = Vec::new();
        for index in start..self.events.len() {
            if self.budget == 0 {
                return false;
            }
            self.budget -= 1;
            if ev_matches(
                step.who,
                &matchers,
                &self.events[index],
                bindings,
                self.events,
            ) {
                candidates.push(index);
            }
        }
        let choices: Vec<(usize, usize)> = match step.min_count {
            None => candidates.iter().map(|&i| (i, 1)).collect(),
            Some(min) => {
                let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
                for &c in &candidates {
                    let key = step
                        .group
                        .as_deref()
                        .and_then(|g| field(&self.events[c], g))
                        .unwrap_or_default();
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, members)) => members.push(c),
                        None => groups.push((key, vec![c])),
                    }
                }
                groups
                    .into_iter()
                    .filter(|(_, m)| m.len() >= min)
                    .map(|(_, m)| (m[0], m.len()))
                    .collect()
            }
        };
        for (index, count) in choices {
            bindings.insert(step.name.clone(), Bound::Event { index, count });
            if self.run(i + 1, bindings) {
                return true;
            }
            bindings.remove(&step.name);
        }
        false
    }

    /// The log index this step must come after.
    fn anchor(&self, i: usize, bindings: &HashMap<String, Bound>) -> Option<usize> {
        let name = match self.steps[i].after.as_deref() {
            Some("start") => return None,
            Some(name) => name,
            None => &self.steps[i.checked_sub(1)?].name,
        };
        let j = self.steps.iter().position(|s| s.name == name)?;
        match bindings.get(name) {
            Some(Bound::Event { index, .. }) => Some(*index),
            // A skipped step stands where its own predecessor stood.
            _ => self.anchor(j, bindings),
        }
    }
}

/// Whether `ev` is `who`'s and matches one of `matchers`.
fn ev_matches(
    who: Who,
    matchers: &[Matcher],
    ev: &Value,
    bindings: &HashMap<String, Bound>,
    events: &[Value],
) -> bool {
    ev["side"] == who.side()
        && matchers
            .iter()
            .any(|m| matches(m, who, ev, bindings, events))
}

fn matches(
    m: &Matcher,
    who: Who,
    ev: &Value,
    bindings: &HashMap<String, Bound>,
    events: &[Value],
) -> bool {
    if m.cmd.as_ref().is_some_and(|c| ev["cmd"] != c.as_str())
        || m.step.as_ref().is_some_and(|s| ev["step"] != s.as_str())
    {
        return false;
    }
    m.conditions.iter().all(|(path, expr)| {
        let expected = match try_fill(expr, bindings, events) {
            Filled::Text(text) => text,
            // A condition on a skipped step's event cannot be checked: drop it.
            Filled::Skipped => return true,
            // One on a field that is not there is false.
            Filled::Missing => return false,
        };
        let Some(actual) = field(ev, path) else {
            return false;
        };
        compare(&actual, &expected, who == Who::Learner)
    })
}

/// The advice for the step where the learner is stuck, before the notes
/// [`stuck_advice`] adds: the near miss found, the foreign side's, or the
/// step's own. A near miss (or the event an `absent` step found) is bound
/// as `miss` for the template.
fn advice_for<'s>(
    step: &'s Step,
    foreign_skipped: bool,
    after: usize,
    bindings: &mut HashMap<String, Bound>,
    events: &[Value],
) -> &'s str {
    // The latest near miss is the learner's latest mistake; of answers only
    // the last one to the step's question counts (an old wrong answer that
    // was corrected since is no longer the mistake).
    let last_answer = (step.who == Who::Learner)
        .then(|| {
            let question = step.conditions.get("question")?;
            events
                .iter()
                .rposition(|e| e["step"] == "answer" && e["question"] == question.as_str())
        })
        .flatten();
    let miss = |who: Who, matchers: &[Matcher], bindings: &HashMap<String, Bound>| {
        (after..events.len())
            .rev()
            .filter(|&i| who != Who::Learner || last_answer.is_none_or(|last| i == last))
            .find(|&i| ev_matches(who, matchers, &events[i], bindings, events))
    };
    if step.absent
        && let Some(index) = miss(step.who, &step.matchers(), bindings)
    {
        bindings.insert("miss".into(), Bound::Event { index, count: 1 });
    }
    for near in &step.near {
        // A near miss on the step's own side is, unless it says otherwise,
        // the same command and step with other conditions.
        let inherit = |own: &Option<String>, steps: &Option<String>| match near.who {
            None => own.clone().or_else(|| steps.clone()),
            Some(_) => own.clone(),
        };
        let matcher = Matcher {
            cmd: inherit(&near.cmd, &step.cmd),
            step: inherit(&near.step, &step.step),
            conditions: near.conditions.clone(),
        };
        if let Some(index) = miss(near.who.unwrap_or(step.who), &[matcher], bindings) {
            bindings.insert("miss".into(), Bound::Event { index, count: 1 });
            return &near.advice;
        }
    }
    match &step.stuck_foreign {
        Some(text) if foreign_skipped => text,
        _ => &step.stuck,
    }
}

fn compare(actual: &str, expected: &str, answer: bool) -> bool {
    let norm = |s: &str| {
        if answer {
            answer::canonical(s)
        } else {
            s.to_string()
        }
    };
    let (actual, expected) = (
        norm(actual),
        if answer {
            expected.trim().to_string()
        } else {
            expected.to_string()
        },
    );
    let num = |s: &str| s.trim().parse::<f64>().ok();
    if let Some(want) = expected.strip_prefix("!= ") {
        actual != norm(want)
    } else if let Some(want) = expected.strip_prefix("< ") {
        num(&actual).zip(num(want)).is_some_and(|(a, w)| a < w)
    } else if let Some(want) = expected.strip_prefix("> ") {
        num(&actual).zip(num(want)).is_some_and(|(a, w)| a > w)
    } else if let Some(want) = expected.strip_prefix("~ ") {
        actual.contains(&norm(want))
    } else if let Some(list) = expected.strip_prefix("one of: ") {
        list.split(", ").any(|w| actual == norm(w))
    } else {
        actual == norm(&expected)
    }
}

/// A field of an event as text. Paths are dotted; `.port` and `.ip` take
/// apart an address string (`"127.0.0.1:5288"`), and `.number` reads a
/// string as a person's number (`"65,507 bytes"` is `65507`).
pub fn field(ev: &Value, path: &str) -> Option<String> {
    if let Some(inner) = path.strip_suffix(".number") {
        let text = field(ev, inner)?;
        return answer::number(&text, None).ok().map(answer::digits);
    }
    let mut v = ev;
    let mut parts = path.split('.');
    while let Some(part) = parts.next() {
        if let (Value::String(s), "port" | "ip") = (v, part) {
            let addr: std::net::SocketAddr = s.parse().ok()?;
            return parts.next().is_none().then(|| match part {
                "port" => addr.port().to_string(),
                _ => addr.ip().to_string(),
            });
        }
        v = v.get(part)?;
    }
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        // 65507.0 reads as 65507, so that it compares with what a person types.
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    })
}

/// A template filled from the steps matched so far.
enum Filled {
    Text(String),
    /// It refers to a skipped step (or an unmatched one): the caller drops
    /// the condition.
    Skipped,
    /// It refers to a field the matched event does not have.
    Missing,
}

/// Fills `{name.path}` templates.
fn try_fill(template: &str, bindings: &HashMap<String, Bound>, events: &[Value]) -> Filled {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}').map(|c| c + open) else {
            break;
        };
        let (reference, _default) = split_default(&rest[open + 1..close]);
        let (name, _) = reference.split_once('.').unwrap_or((reference, ""));
        match (bindings.get(name), resolve(reference, bindings, events)) {
            (_, Some(value)) => out.push_str(&value),
            (Some(Bound::Event { .. }), None) => return Filled::Missing,
            _ => return Filled::Skipped,
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Filled::Text(out)
}

/// Like [`try_fill`], for text shown to a person: an unresolved reference
/// becomes its default (`{listening.addr.port|5288}`) or `…`. What comes
/// from the log is escaped: an event may quote a peer.
fn fill(template: &str, bindings: &HashMap<String, Bound>, events: &[Value]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| c + open) else {
            break;
        };
        out.push_str(&rest[..open]);
        let (reference, default) = split_default(&rest[open + 1..close]);
        match resolve(reference, bindings, events) {
            Some(value) => out.push_str(&escape::line(&value)),
            None => out.push_str(default.unwrap_or("…")),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn split_default(inner: &str) -> (&str, Option<&str>) {
    match inner.split_once('|') {
        Some((r, d)) => (r, Some(d)),
        None => (inner, None),
    }
}

fn resolve(reference: &str, bindings: &HashMap<String, Bound>, events: &[Value]) -> Option<String> {
    let (name, path) = reference.split_once('.').unwrap_or((reference, ""));
    match bindings.get(name)? {
        Bound::Skipped => None,
        Bound::Event { count, .. } if path == "count" => Some(count.to_string()),
        Bound::Event { index, .. } => field(&events[*index], path),
    }
}

/// The advice for the step where the learner is stuck: `text` filled in,
/// with the learner's last answer and a note on a log too long to search.
fn stuck_advice(
    step: &Step,
    text: &str,
    bindings: &HashMap<String, Bound>,
    events: &[Value],
    exhausted: bool,
) -> String {
    let mut advice = fill(text, bindings, events);
    if step.who == Who::Learner {
        let question = step.conditions.get("question");
        let last = events.iter().rev().find(|e| {
            e["step"] == "answer" && question.is_some_and(|q| e["question"] == q.as_str())
        });
        if let Some(answer) = last.and_then(|e| e["value"].as_str()) {
            let answer = escape::line(answer);
            advice.push_str(&format!(" (Your answer so far: \"{answer}\".)"));
        }
    }
    if exhausted {
        advice.push_str(" (The session log is too long to search completely: `socklab lesson reset` on this lesson starts a fresh one.)");
    }
    advice
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(name: &str, who: Who, step_name: &str, conditions: &[(&str, &str)]) -> Step {
        Step {
            name: name.into(),
            who,
            cmd: None,
            step: Some(step_name.into()),
            conditions: conditions
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            any: vec![],
            after: None,
            min_count: None,
            group: None,
            says: format!("{name} happened"),
            stuck: format!("no {name} yet (port {{listening.addr.port|PORT}})"),
            stuck_foreign: None,
            near: vec![],
            absent: false,
        }
    }

    fn tcp_pattern() -> Vec<Step> {
        let mut accept = step(
            "accepted",
            Who::Server,
            "accept",
            &[("pid", "{listening.pid}"), ("peer", "{connected.local}")],
        );
        accept.after = Some("listening".into());
        let mut connected = step(
            "connected",
            Who::Client,
            "connected",
            &[("peer.port", "{listening.addr.port}")],
        );
        connected.after = Some("listening".into());
        vec![
            step("listening", Who::Server, "listen", &[]),
            connected,
            accept,
        ]
    }

    fn log() -> Vec<Value> {
        vec![
            json!({"side": "server", "pid": 1, "cmd": "listen", "step": "listen", "addr": "127.0.0.1:5288"}),
            // The server's accept is logged before the client's "connected":
            // two processes, no order between them.
            json!({"side": "server", "pid": 1, "cmd": "listen", "step": "accept", "peer": "127.0.0.1:40000"}),
            json!({"side": "client", "pid": 2, "cmd": "connect", "step": "connected", "local": "127.0.0.1:40000", "peer": "127.0.0.1:5288"}),
        ]
    }

    #[test]
    fn a_complete_session_passes_in_any_causal_order() {
        assert!(evaluate(&tcp_pattern(), None, &log()).passed());
    }

    #[test]
    fn an_empty_log_fails_at_the_first_step_with_its_advice() {
        let v = evaluate(&tcp_pattern(), None, &[]);
        assert!(!v.passed());
        assert_eq!(
            v.outcomes[0],
            Outcome::Failed("no listening yet (port PORT)".into())
        );
        assert_eq!(v.outcomes[1], Outcome::NotReached);
    }

    #[test]
    fn advice_is_filled_from_what_did_happen() {
        let events = log();
        let v = evaluate(&tcp_pattern(), None, &events[..1]);
        assert_eq!(
            v.outcomes[1],
            Outcome::Failed("no connected yet (port 5288)".into())
        );
    }

    #[test]
    fn a_connection_to_another_port_does_not_count() {
        let mut events = log();
        events[2]["peer"] = json!("127.0.0.1:9999");
        assert!(!evaluate(&tcp_pattern(), None, &events).passed());
    }

    #[test]
    fn a_foreign_client_is_skipped_and_the_server_side_still_checked() {
        let server_only = vec![log()[0].clone(), log()[1].clone()];
        let v = evaluate(&tcp_pattern(), Some(Who::Client), &server_only);
        assert!(v.passed(), "{:?}", v.outcomes);
        assert_eq!(v.outcomes[1], Outcome::Skipped);
        // ...but the server's own steps are still required.
        let events = log();
        let v = evaluate(&tcp_pattern(), Some(Who::Client), &events[..1]);
        assert!(!v.passed());
    }

    #[test]
    fn backtracking_finds_the_attempt_that_worked() {
        let mut events = vec![
            json!({"side": "server", "pid": 9, "cmd": "listen", "step": "listen", "addr": "127.0.0.1:1111"}),
        ];
        events.extend(log());
        assert!(evaluate(&tcp_pattern(), None, &events).passed());
    }

    #[test]
    fn operators_compare_as_documented() {
        assert!(compare("80", "< 1024", false));
        assert!(!compare("8080", "< 1024", false));
        assert!(compare("a", "!= b", false));
        assert!(compare("hello\r\n", "~ \r\n", false));
        assert!(compare("CRLF", "one of: crlf, \\r\\n", true));
        assert!(compare(" 127.0.0.1 ", "127.0.0.1", true));
    }

    #[test]
    fn answers_compare_as_people_write_them() {
        assert!(compare("65,507", "65507", true));
        assert!(compare("65 507 bytes", "65507", true));
        assert!(compare("Three", "one of: 3, three", true));
        assert!(!compare("65,507", "65507", false), "only answers are read");
        assert!(!compare("3", "33", true));
    }

    #[test]
    fn a_condition_on_a_missing_field_is_false_not_dropped() {
        let mut events = log();
        // The client's connected event lost its local address: the server's
        // accept cannot be shown to be that client's.
        events[2].as_object_mut().expect("object").remove("local");
        let v = evaluate(&tcp_pattern(), None, &events);
        assert!(!v.passed(), "{:?}", v.outcomes);
    }

    #[test]
    fn an_absent_step_holds_until_its_event_appears_and_names_it() {
        let mut kept = step(
            "kept",
            Who::Server,
            "stop_listening",
            &[("pid", "{listening.pid}")],
        );
        kept.absent = true;
        kept.stuck = "listener {miss.pid} stopped".into();
        let steps = vec![step("listening", Who::Server, "listen", &[]), kept];
        let mut events = vec![log()[0].clone()];
        assert!(evaluate(&steps, None, &events).passed());
        events.push(json!({"side": "server", "pid": 1, "step": "stop_listening"}));
        let v = evaluate(&steps, None, &events);
        assert_eq!(v.outcomes[1], Outcome::Failed("listener 1 stopped".into()));
        // Another listener that kept listening is found by backtracking.
        events.push(json!({"side": "server", "pid": 2, "step": "listen"}));
        assert!(evaluate(&steps, None, &events).passed());
    }

    #[test]
    fn a_near_miss_replaces_the_advice_and_can_be_quoted() {
        let mut connected = tcp_pattern().remove(1);
        connected.near = vec![Near {
            who: None,
            cmd: None,
            step: Some("connected".into()),
            conditions: BTreeMap::new(),
            advice: "B reached port {miss.peer.port}, not {listening.addr.port}".into(),
        }];
        let steps = vec![tcp_pattern().remove(0), connected];
        let mut events = log();
        events[2]["peer"] = json!("127.0.0.1:9999");
        let v = evaluate(&steps, None, &events);
        assert_eq!(
            v.outcomes[1],
            Outcome::Failed("B reached port 9999, not 5288".into())
        );
    }

    #[test]
    fn foreign_advice_is_given_when_the_other_program_was_used() {
        let mut fin = step("fin", Who::Server, "peer_closed", &[]);
        fin.stuck_foreign = Some("nc needs -N".into());
        let mut steps = tcp_pattern();
        steps.push(fin);
        let server_only = vec![log()[0].clone(), log()[1].clone()];
        let v = evaluate(&steps, Some(Who::Client), &server_only);
        assert_eq!(v.outcomes[3], Outcome::Failed("nc needs -N".into()));
        let events = log();
        let v = evaluate(&steps, Some(Who::Client), &events);
        assert_eq!(
            v.outcomes[3],
            Outcome::Failed("no fin yet (port 5288)".into())
        );
    }

    #[test]
    fn min_count_groups_by_a_field() {
        let mut s = step("burst", Who::Server, "datagram", &[]);
        s.min_count = Some(3);
        s.group = Some("from".into());
        let d = |from: &str| json!({"side": "server", "step": "datagram", "from": from});
        let events = vec![d("a:1"), d("b:2"), d("a:1"), d("a:1")];
        let v = evaluate(std::slice::from_ref(&s), None, &events);
        assert!(v.passed());
        assert_eq!(v.fill("{burst.count} from {burst.from}"), "3 from a:1");
        assert!(!evaluate(&[s], None, &events[..3]).passed());
    }

    #[test]
    fn what_the_log_quotes_is_shown_escaped() {
        let hostile = "\u{1b}]52;c;AAAA\u{7}\u{202e}";
        let events = vec![
            json!({"side": "server", "step": "message", "body": hostile}),
            json!({"side": "learner", "step": "answer", "question": "q", "value": hostile}),
        ];
        let bindings = HashMap::from([("m".to_string(), Bound::Event { index: 0, count: 1 })]);
        let shown = "\\x1b]52;c;AAAA\\x07\\u{202e}";
        assert_eq!(
            fill("got {m.body}", &bindings, &events),
            format!("got {shown}")
        );
        let ask = step("answered", Who::Learner, "answer", &[("question", "q")]);
        let advice = stuck_advice(&ask, &ask.stuck, &bindings, &events, false);
        assert!(advice.contains(shown), "{advice}");
        assert!(!advice.contains('\u{1b}'), "{advice}");
    }

    #[test]
    fn fields_take_addresses_apart() {
        let ev = json!({"addr": "[::1]:5288", "n": 3});
        assert_eq!(field(&ev, "addr.port").as_deref(), Some("5288"));
        assert_eq!(field(&ev, "addr.ip").as_deref(), Some("::1"));
        assert_eq!(field(&ev, "n").as_deref(), Some("3"));
        assert_eq!(field(&ev, "missing"), None);
        assert_eq!(field(&json!({"v": 65507.0}), "v").as_deref(), Some("65507"));
        assert_eq!(field(&json!({"v": 2.5}), "v").as_deref(), Some("2.5"));
        let answer = json!({"value": "33 bytes", "other": "lots"});
        assert_eq!(field(&answer, "value.number").as_deref(), Some("33"));
        assert_eq!(field(&answer, "other.number"), None);
    }
}
