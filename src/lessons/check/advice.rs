//! What a failed check says: the advice for the step where the learner is
//! stuck. A near miss found in the log names the mistake; a foreign client
//! gets the advice for that client; otherwise the step's own `stuck` text,
//! filled in from what did happen, with the learner's last answer.

use std::collections::HashMap;

use serde_json::Value;

use super::template::fill;
use super::{Bound, Matcher, Step, Who, ev_matches};
use crate::trace::escape;

/// The advice for the step where the learner is stuck, before the notes
/// [`stuck_advice`] adds: the near miss found, the foreign side's, or the
/// step's own. A near miss (or the event an `absent` step found) is bound
/// as `miss` for the template.
pub(super) fn advice_for<'s>(
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

/// The advice for the step where the learner is stuck: `text` filled in,
/// with the learner's last answer and a note on a log too long to search.
pub(super) fn stuck_advice(
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
