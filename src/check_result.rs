//! One line of `check`'s preflight: PASS, WARN or FAIL with the reason and
//! the fix. Apart from `check` itself so that the report can hold and render
//! these lines without knowing how they are found.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub result: Verdict,
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

pub fn check(
    name: &'static str,
    result: Verdict,
    reason: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        name,
        result,
        reason: reason.into(),
        fix: fix.into(),
    }
}

/// The text form: one line per check.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let verdict = match c.result {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        out.push_str(&format!("{verdict}  {:<15} {}", c.name, c.reason));
        if !c.fix.is_empty() {
            out.push_str(&format!(" (fix: {})", c.fix));
        }
        out.push('\n');
    }
    out
}
