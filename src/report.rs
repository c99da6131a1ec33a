//! What a command did, step by step, rendered as text or as the JSON
//! document of the contract. Commands never print; they fill a [`Report`],
//! and whoever prints can watch it fill through a [`StepObserver`].

use std::sync::Arc;

use serde::Serialize;

use crate::exit::Exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Unchanged,
    Changed,
    WouldChange,
    Skipped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unchanged => "unchanged",
            Status::Changed => "changed",
            Status::WouldChange => "would-change",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }

    /// The status of a step that found something to change: `changed` when
    /// changes are applied, `would-change` in a dry run or `--check`.
    pub fn of_change(applies: bool) -> Status {
        if applies {
            Status::Changed
        } else {
            Status::WouldChange
        }
    }

    /// `unchanged`, or the status of a change when `changed`.
    pub fn if_changed(changed: bool, applies: bool) -> Status {
        if changed {
            Status::of_change(applies)
        } else {
            Status::Unchanged
        }
    }

    fn ansi(self) -> &'static str {
        match self {
            Status::Unchanged | Status::Skipped => "\x1b[2m",
            Status::Changed => "\x1b[32m",
            Status::WouldChange => "\x1b[33m",
            Status::Failed => "\x1b[31m",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What a dry run would do: unified diffs and command lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
}

impl Step {
    pub fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Step {
        Step {
            name: name.into(),
            status,
            detail: detail.into(),
            plan: Vec::new(),
        }
    }
}

/// What one step found or did, with the value it hands to the steps after
/// it. The step's name is not here: [`Report::run_step`] gives it, once.
#[derive(Debug)]
#[must_use]
pub struct Outcome<T = ()> {
    pub status: Status,
    pub detail: String,
    pub plan: Vec<String>,
    pub value: T,
}

impl Outcome {
    pub fn new(status: Status, detail: impl Into<String>) -> Outcome {
        Outcome {
            status,
            detail: detail.into(),
            plan: Vec::new(),
            value: (),
        }
    }
}

impl<T> Outcome<T> {
    /// What a dry run would do: unified diffs and command lines.
    pub fn with_plan(mut self, plan: Vec<String>) -> Outcome<T> {
        self.plan = plan;
        self
    }

    pub fn with_value<U>(self, value: U) -> Outcome<U> {
        Outcome {
            status: self.status,
            detail: self.detail,
            plan: self.plan,
            value,
        }
    }
}

/// Hears of each step as it starts and as it is recorded, so that the
/// printer can show it at once instead of at exit.
pub trait StepObserver: Send + Sync {
    fn started(&self, name: &str);
    fn finished(&self, step: &Step);
}

/// The column step names are padded to, fixed so that a step's line can be
/// printed as soon as the step ends: the longest name `setup` records.
const NAME_WIDTH: usize = "forwarding-persist".len();

/// A value a read-only command shows (`forwarding status`, `lxc-net show`).
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub key: String,
    pub value: String,
}

#[derive(Serialize)]
pub struct Report {
    pub command: String,
    pub ok: bool,
    pub changed: bool,
    pub exit_code: u8,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
    /// `check`'s PASS/WARN/FAIL lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::check_result::Check>,
    pub error: Option<String>,
    #[serde(skip)]
    observer: Option<Arc<dyn StepObserver>>,
}

impl Report {
    pub fn new(command: impl Into<String>) -> Report {
        Report {
            command: command.into(),
            ok: true,
            changed: false,
            exit_code: 0,
            steps: Vec::new(),
            facts: Vec::new(),
            checks: Vec::new(),
            error: None,
            observer: None,
        }
    }

    pub fn observed_by(mut self, observer: Arc<dyn StepObserver>) -> Report {
        self.observer = Some(observer);
        self
    }

    pub fn push(&mut self, step: Step) {
        if let Some(observer) = &self.observer {
            observer.finished(&step);
        }
        self.steps.push(step);
    }

    /// Record a step that had nothing to do here, and why.
    pub fn skip(&mut self, name: &str, why: impl Into<String>) {
        self.push(Step::new(name, Status::Skipped, why));
    }

    pub fn fact(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.facts.push(Fact {
            key: key.into(),
            value: value.into(),
        });
    }

    /// Run one step under `name` and record what it did; its value is
    /// handed back. A caught SIGINT or SIGTERM stops the command here, at a
    /// step boundary, before the next step changes anything. A failure is
    /// recorded as a `failed` step and handed on.
    pub fn run_step<T>(
        &mut self,
        name: &str,
        step: impl FnOnce() -> anyhow::Result<Outcome<T>>,
    ) -> anyhow::Result<T> {
        // A step that never started is not recorded.
        crate::signals::check()?;
        if let Some(observer) = &self.observer {
            observer.started(name);
        }
        match step() {
            Ok(outcome) => {
                self.push(Step {
                    name: name.to_string(),
                    status: outcome.status,
                    detail: outcome.detail,
                    plan: outcome.plan,
                });
                Ok(outcome.value)
            }
            Err(err) => {
                let detail = err.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
                self.push(Step::new(name, Status::Failed, detail));
                Err(err)
            }
        }
    }

    pub fn has(&self, status: Status) -> bool {
        self.steps.iter().any(|s| s.status == status)
    }

    /// Seal the report once the command has finished, successfully or not.
    pub fn finish(&mut self, exit: Exit, error: Option<String>) {
        self.changed = self.has(Status::Changed);
        self.ok = error.is_none();
        self.exit_code = exit.code();
        self.error = error;
    }

    pub fn to_json(&self) -> String {
        // A report holds only strings, numbers and booleans: it always serialises.
        serde_json::to_string_pretty(self).expect("report serialises") + "\n"
    }

    pub fn to_text(&self, color: bool) -> String {
        let mut out: String = self.steps.iter().map(|s| s.to_text(color)).collect();
        out.push_str(&self.text_after_steps());
        out
    }

    /// What the text output shows below the steps: `check`'s verdicts and
    /// the facts.
    pub fn text_after_steps(&self) -> String {
        let mut out = crate::check_result::render(&self.checks);
        let width = self.facts.iter().map(|f| f.key.len()).max().unwrap_or(0);
        for fact in &self.facts {
            out.push_str(&format!("{:<width$}  {}\n", fact.key, fact.value));
        }
        out
    }
}

impl Step {
    /// The step's line, and its plan indented below it.
    pub fn to_text(&self, color: bool) -> String {
        let status = format!("{:<12}", self.status.as_str());
        let status = if color {
            format!("{}{}\x1b[0m", self.status.ansi(), status)
        } else {
            status
        };
        let line = format!("{status} {:<NAME_WIDTH$}  {}", self.name, self.detail);
        let mut out = line.trim_end().to_string();
        out.push('\n');
        for plan in &self.plan {
            for line in plan.lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new("forwarding enable");
        r.push(Step::new(
            "forwarding-kernel",
            Status::Changed,
            "net.ipv4.ip_forward 0 -> 1",
        ));
        r.push(Step::new("forwarding-persist", Status::Unchanged, ""));
        r
    }

    #[test]
    fn json_follows_the_contract() {
        let mut r = sample();
        r.finish(Exit::Ok, None);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["command"], "forwarding enable");
        assert_eq!(v["ok"], true);
        assert_eq!(v["changed"], true);
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["error"], serde_json::Value::Null);
        assert_eq!(v["steps"][0]["status"], "changed");
        assert_eq!(v["steps"][1]["detail"], "");
        assert!(v.get("facts").is_none());
    }

    #[test]
    fn json_of_a_failure_names_it() {
        let mut r = sample();
        r.push(Step::new("lxc-net", Status::Failed, "bad bridge"));
        r.finish(Exit::Usage, Some("bad bridge".into()));
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["exit_code"], 64);
        assert_eq!(v["error"], "bad bridge");
        assert_eq!(v["steps"][2]["status"], "failed");
    }

    #[test]
    fn a_step_hands_back_its_value_and_is_recorded_under_its_name() {
        let mut r = Report::new("setup lxd");
        let got = r
            .run_step("packages", || {
                Ok(Outcome::new(Status::Changed, "installed lxd").with_value(42))
            })
            .unwrap();
        assert_eq!(got, 42);
        assert_eq!(r.steps[0].name, "packages");
        assert_eq!(r.steps[0].status, Status::Changed);
        let err = r
            .run_step::<()>("lxd-network", || Err(anyhow::anyhow!("no bridge")))
            .unwrap_err();
        assert_eq!(err.to_string(), "no bridge");
        assert_eq!(r.steps[1].name, "lxd-network");
        assert_eq!(r.steps[1].status, Status::Failed);
        assert_eq!(r.steps[1].detail, "no bridge");
    }

    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<String>>);

    impl StepObserver for Heard {
        fn started(&self, name: &str) {
            self.0.lock().unwrap().push(format!("start {name}"));
        }
        fn finished(&self, step: &Step) {
            self.0.lock().unwrap().push(step.to_text(false));
        }
    }

    #[test]
    fn an_observer_hears_each_step_start_and_end_in_order() {
        let heard = Arc::new(Heard::default());
        let mut r = Report::new("setup lxd").observed_by(heard.clone());
        r.run_step("manager-config", || {
            Ok(Outcome::new(Status::Unchanged, "built-in"))
        })
        .unwrap();
        r.skip("forwarding", "ip-forwarding is not true");
        let _ = r.run_step::<()>("packages", || Err(anyhow::anyhow!("no apt")));
        assert_eq!(
            *heard.0.lock().unwrap(),
            [
                "start manager-config",
                "unchanged    manager-config      built-in\n",
                "skipped      forwarding          ip-forwarding is not true\n",
                "start packages",
                "failed       packages            no apt\n",
            ]
        );
        // What the observer printed plus what follows the steps is the whole text.
        let streamed: String = heard
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.starts_with("start "))
            .cloned()
            .collect();
        assert_eq!(streamed + &r.text_after_steps(), r.to_text(false));
    }

    #[test]
    fn would_change_is_kebab_case() {
        let s = Step::new("x", Status::WouldChange, "");
        assert_eq!(
            serde_json::to_value(&s).unwrap()["status"],
            serde_json::json!("would-change")
        );
    }

    #[test]
    fn text_aligns_steps_and_indents_the_plan() {
        let mut r = sample();
        r.steps[0].plan = vec!["--- a\n+++ b".into()];
        assert_eq!(
            r.to_text(false),
            "changed      forwarding-kernel   net.ipv4.ip_forward 0 -> 1\n    --- a\n    +++ b\nunchanged    forwarding-persist\n"
        );
    }

    #[test]
    fn color_only_when_asked() {
        assert!(!sample().to_text(false).contains('\x1b'));
        assert!(sample().to_text(true).contains("\x1b[32m"));
    }
}
