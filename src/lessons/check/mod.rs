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
//! people write them (see [`answer`]): `65,507` is 65507,
//! `three` is 3, and text compares trimmed and case-insensitively. The path
//! suffix `.number` reads a field that way (`{answered.value.number}`), and
//! `.hex` as hex digits in either case, spaces dropped (`{hash.value.hex}`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

mod advice;
mod template;

use super::answer;
use advice::{advice_for, stuck_advice};
pub use template::field;
use template::{Filled, fill, try_fill};

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
        let Some(candidates) = self.candidates(step, &matchers, start, bindings) else {
            return false;
        };
        if step.absent {
            if !candidates.is_empty() {
                return false;
            }
            bindings.insert(step.name.clone(), Bound::Skipped);
            if self.run(i + 1, bindings) {
                return true;
            }
            bindings.remove(&step.name);
            return false;
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

    /// The events from `start` on that `step` could match, in log order
    /// (an absent step stops at the first); `None` when the budget ran out.
    fn candidates(
        &mut self,
        step: &Step,
        matchers: &[Matcher],
        start: usize,
        bindings: &HashMap<String, Bound>,
    ) -> Option<Vec<usize>> {
        let mut found = Vec::new();
        for index in start..self.events.len() {
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            if ev_matches(
                step.who,
                matchers,
                &self.events[index],
                bindings,
                self.events,
            ) {
                found.push(index);
                if step.absent {
                    break;
                }
            }
        }
        Some(found)
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

#[cfg(test)]
mod tests;
