//! What a command did, step by step, rendered as text or as the JSON
//! document of the contract. Commands never print; they fill a [`Report`].

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

/// A value a read-only command shows (`forwarding status`, `lxc-net show`).
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
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
        }
    }

    pub fn push(&mut self, step: Step) {
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
        let mut out = String::new();
        let width = self.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for step in &self.steps {
            let status = format!("{:<12}", step.status.as_str());
            let status = if color {
                format!("{}{}\x1b[0m", step.status.ansi(), status)
            } else {
                status
            };
            let line = format!("{status} {:<width$}  {}", step.name, step.detail);
            out.push_str(line.trim_end());
            out.push('\n');
            for plan in &step.plan {
                for line in plan.lines() {
                    out.push_str("    ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out.push_str(&crate::check_result::render(&self.checks));
        let width = self.facts.iter().map(|f| f.key.len()).max().unwrap_or(0);
        for fact in &self.facts {
            out.push_str(&format!("{:<width$}  {}\n", fact.key, fact.value));
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
