//! The lessons compiled into the binary, parsed from their markdown.
//!
//! Each file in `lessons/` starts with TOML front matter between `+++` lines:
//! the title, the questions, the hints and the check (see [`check`](super::check));
//! the markdown after it is the page the learner reads.

use std::sync::OnceLock;

use serde::Deserialize;

use super::answer::Expects;
use super::check::{Step, Who};

include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

/// A question the learner answers with `socklab lesson answer ID VALUE`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub ask: String,
    pub kind: QuestionKind,
    /// For predictions: what really happened, as a template over the check's
    /// matches, reported after the check ("you predicted 1; 3 arrived").
    pub truth: Option<String>,
    /// How the answer is read (see [`answer`](super::answer)): words, a
    /// number, an estimate, yes or no.
    #[serde(default)]
    pub expects: Expects,
    /// The unit of a number (`bytes`, `MiB/s`), so that `64k` or `2 GB/s`
    /// can be converted.
    pub unit: Option<String>,
    /// Shown once the check has passed: the explanation that, on the page,
    /// would have given the answer away.
    pub reveal: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Asked before the experiment: any answer counts, it is compared after.
    Predict,
    /// Asked about what the learner saw: the answer must match the log.
    Observe,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub title: String,
    /// A side that may be another program (telnet, nc) instead of socklab.
    pub foreign: Option<Who>,
    /// The call-flow chart to draw before anything is in the log.
    #[serde(default)]
    pub chart: super::chart::Flow,
    #[serde(default)]
    pub hints: Vec<String>,
    #[serde(default, rename = "question")]
    pub questions: Vec<Question>,
    #[serde(rename = "check")]
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug)]
pub struct Lesson {
    /// Position in the manifest, from 1.
    pub number: usize,
    /// The file name without `.md`: also the name of its session log.
    pub id: &'static str,
    pub meta: Meta,
    /// The markdown after the front matter.
    pub body: &'static str,
}

/// Every lesson, in order. Front matter is checked by the test suite, so a
/// parse error here means a broken build; it is reported, not panicked on.
pub fn all() -> Result<&'static [Lesson], String> {
    static LESSONS: OnceLock<Result<Vec<Lesson>, String>> = OnceLock::new();
    LESSONS
        .get_or_init(|| {
            SOURCES
                .iter()
                .enumerate()
                .map(|(i, (id, src))| parse(i + 1, id, src))
                .collect()
        })
        .as_deref()
        .map_err(Clone::clone)
}

fn parse(number: usize, id: &'static str, source: &'static str) -> Result<Lesson, String> {
    let rest = source
        .strip_prefix("+++\n")
        .ok_or_else(|| format!("lessons/{id}.md must start with a +++ line (TOML front matter)"))?;
    let end = rest
        .find("\n+++\n")
        .ok_or_else(|| format!("lessons/{id}.md: front matter never ends (+++)"))?;
    let meta: Meta =
        toml::from_str(&rest[..end]).map_err(|e| format!("lessons/{id}.md front matter: {e}"))?;
    Ok(Lesson {
        number,
        id,
        meta,
        body: &rest[end + 5..],
    })
}

/// Lesson by number (1-based).
/// How many lessons there are (they are numbered from 1).
pub fn count() -> usize {
    SOURCES.len()
}

pub fn by_number(n: usize) -> Result<&'static Lesson, String> {
    let lessons = all()?;
    lessons.get(n.wrapping_sub(1)).ok_or_else(|| {
        format!(
            "there is no lesson {n}: the lessons are numbered 1 to {}",
            lessons.len()
        )
    })
}

pub fn by_id(id: &str) -> Option<&'static Lesson> {
    all().ok()?.iter().find(|l| l.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn references(text: &str) -> Vec<String> {
        text.split('{')
            .skip(1)
            // `{"` opens a JSON object the advice quotes, not a template.
            .filter(|r| !r.starts_with('"'))
            .filter_map(|r| r.split(['.', '|', '}']).next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_lesson_parses_and_its_check_is_well_formed() {
        let lessons = all().expect("lessons parse");
        assert!(lessons.len() >= 7);
        for l in lessons {
            let ctx = format!("lessons/{}.md", l.id);
            assert!(!l.meta.steps.is_empty(), "{ctx}: no check");
            assert!(!l.meta.hints.is_empty(), "{ctx}: no hints");
            assert!(
                l.body.contains("## Try it"),
                "{ctx}: every lesson says what to run"
            );
            let mut earlier: Vec<&str> = Vec::new();
            for s in &l.meta.steps {
                assert!(
                    !earlier.contains(&s.name.as_str()),
                    "{ctx}: step {} twice",
                    s.name
                );
                if let Some(after) = &s.after {
                    assert!(
                        after == "start" || earlier.contains(&after.as_str()),
                        "{ctx}: {} after unknown {after}",
                        s.name
                    );
                }
                let mut texts: Vec<&String> = s.conditions.values().collect();
                texts.extend(s.any.iter().flat_map(|m| m.conditions.values()));
                texts.push(&s.stuck);
                texts.extend(&s.stuck_foreign);
                for r in texts.iter().flat_map(|t| references(t)) {
                    assert!(
                        earlier.contains(&r.as_str()) || (s.absent && r == "miss"),
                        "{ctx}: step {} refers to {r}, not an earlier step",
                        s.name
                    );
                }
                for near in &s.near {
                    let mut texts: Vec<&String> = near.conditions.values().collect();
                    texts.push(&near.advice);
                    for r in texts.iter().flat_map(|t| references(t)) {
                        assert!(
                            earlier.contains(&r.as_str()) || r == "miss",
                            "{ctx}: a near miss of {} refers to {r}, not an earlier step",
                            s.name
                        );
                    }
                }
                assert!(
                    s.any.is_empty() || (s.cmd.is_none() && s.step.is_none()),
                    "{ctx}: {}: any, or cmd/step",
                    s.name
                );
                assert!(
                    s.step.is_some() || !s.any.is_empty(),
                    "{ctx}: {} matches no step",
                    s.name
                );
                if s.who == Who::Learner {
                    let q = s
                        .conditions
                        .get("question")
                        .expect("an answer step names its question");
                    assert!(
                        l.meta.questions.iter().any(|x| &x.id == q),
                        "{ctx}: no question {q}"
                    );
                }
                earlier.push(&s.name);
            }
            for q in &l.meta.questions {
                // A prediction compared with a measure (a count, a value,
                // a number, a yes or no) must be read as one: "three" and
                // "65,507" as numbers, "no" as 0. One of words (a name, a
                // state) is read as words.
                let truth = q.truth.as_deref();
                assert!(
                    q.kind != QuestionKind::Predict || truth.is_some(),
                    "{ctx}: prediction {} has no truth to compare it with",
                    q.id
                );
                let measured = truth.is_some_and(|t| {
                    t.ends_with(".count}")
                        || t.ends_with(".value}")
                        || super::super::answer::number(t, None).is_ok()
                        || matches!(t, "yes" | "no")
                });
                assert!(
                    q.kind != QuestionKind::Predict || q.expects != Expects::Text || !measured,
                    "{ctx}: prediction {} does not say how its answer is read (expects)",
                    q.id
                );
                let asked = l
                    .meta
                    .steps
                    .iter()
                    .any(|s| s.conditions.get("question") == Some(&q.id));
                assert!(asked, "{ctx}: question {} is never checked", q.id);
            }
        }
    }
}
