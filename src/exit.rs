//! The exit-code table of the contract, and how an error chain maps onto it.
//!
//! Errors are `anyhow::Error`s. Wherever the code knows which row of the
//! table a failure belongs to, it raises a [`Coded`] error; contexts added on
//! the way up only add words. `main` takes the first `Coded` it finds in the
//! chain, so an outer context can never hide the kind of failure.

use std::fmt;
use std::process::ExitCode;

/// One row of the exit-code table (`man container-init`, EXIT STATUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    ChangesPending,
    Usage,
    Data,
    Unavailable,
    Software,
    Os,
    CantCreate,
    IoErr,
    TempFail,
    Protocol,
    NoPerm,
    Config,
    HangUp,
    Interrupted,
    Quit,
    Terminated,
}

impl Exit {
    /// Every row, in table order; the man page and README are built from it.
    pub const ALL: [Exit; 17] = [
        Exit::Ok,
        Exit::ChangesPending,
        Exit::Usage,
        Exit::Data,
        Exit::Unavailable,
        Exit::Software,
        Exit::Os,
        Exit::CantCreate,
        Exit::IoErr,
        Exit::TempFail,
        Exit::Protocol,
        Exit::NoPerm,
        Exit::Config,
        Exit::HangUp,
        Exit::Interrupted,
        Exit::Quit,
        Exit::Terminated,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::ChangesPending => 2,
            Exit::Usage => 64,
            Exit::Data => 65,
            Exit::Unavailable => 69,
            Exit::Software => 70,
            Exit::Os => 71,
            Exit::CantCreate => 73,
            Exit::IoErr => 74,
            Exit::TempFail => 75,
            Exit::Protocol => 76,
            Exit::NoPerm => 77,
            Exit::Config => 78,
            Exit::HangUp => 129,
            Exit::Interrupted => 130,
            Exit::Quit => 131,
            Exit::Terminated => 143,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::ChangesPending => "changes pending",
            Exit::Usage => "usage",
            Exit::Data => "data",
            Exit::Unavailable => "unavailable",
            Exit::Software => "software",
            Exit::Os => "os",
            Exit::CantCreate => "cantcreat",
            Exit::IoErr => "ioerr",
            Exit::TempFail => "tempfail",
            Exit::Protocol => "protocol",
            Exit::NoPerm => "noperm",
            Exit::Config => "config",
            Exit::HangUp => "signal (SIGHUP)",
            Exit::Interrupted => "signal (SIGINT)",
            Exit::Quit => "signal (SIGQUIT)",
            Exit::Terminated => "signal (SIGTERM)",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "done, or nothing to do",
            Exit::ChangesPending => "only with --check: something would change",
            Exit::Usage => "bad arguments, unknown container type",
            Exit::Data => "a manager-config or option value is invalid; the message names it",
            Exit::Unavailable => {
                "the host cannot do this: no hardware virtualisation, unsupported distribution, \
                 missing package with --no-install, an lxdbr0 that LXD does not manage, a root disk \
                 correction on a profile running instances use"
            }
            Exit::Software => "a bug in container-init",
            Exit::Os => {
                "a command it ran failed; the message gives the command line and the end of its stderr"
            }
            Exit::CantCreate => {
                "a file could not be written (read-only file system, disk full, an immutable or \
                 append-only file); the old file is intact"
            }
            Exit::IoErr => {
                "the report could not be written to stdout (disk full, an I/O error, a closed \
                 stdout); a closed pipe (| head) ends quietly instead"
            }
            Exit::TempFail => {
                "worth retrying: a lock was still held at the timeout, the runtime did not answer \
                 within --runtime-timeout, or the controller was unreachable or answered 5xx after retries"
            }
            Exit::Protocol => "the controller answered, but not with a manager config",
            Exit::NoPerm => "not allowed: needs root, or the controller answered 401/403",
            Exit::Config => "the tool's config file is invalid, or a needed setting is missing",
            Exit::HangUp => {
                "interrupted by SIGHUP (a closed terminal or SSH session) after the running child stopped"
            }
            Exit::Interrupted => "interrupted by SIGINT after the running child stopped",
            Exit::Quit => "interrupted by SIGQUIT after the running child stopped",
            Exit::Terminated => "interrupted by SIGTERM after the running child stopped",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// An error that knows its row of the exit-code table.
#[derive(Debug)]
pub struct Coded {
    pub exit: Exit,
    pub message: String,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// Build an error for one row of the table.
pub fn coded(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        exit,
        message: message.into(),
    })
}

/// The exit status for an error chain: the first coded error wins; an error
/// nobody classified is a bug (70).
pub fn exit_for(err: &anyhow::Error) -> Exit {
    // A `Coded` attached with `.context()` is only visible to anyhow's own
    // downcast; the chain's items hide it behind anyhow's context wrapper.
    err.downcast_ref::<Coded>()
        .map(|c| c.exit)
        .or_else(|| {
            err.chain()
                .find_map(|cause| cause.downcast_ref::<Coded>().map(|c| c.exit))
        })
        .unwrap_or(Exit::Software)
}

/// `error:` then one `caused by:` line per cause, each on one line.
pub fn render_error(err: &anyhow::Error) -> String {
    let mut lines = err.chain().map(|c| one_line(&c.to_string()));
    let mut out = format!("error: {}\n", lines.next().unwrap_or_default());
    let mut last = String::new();
    for cause in lines {
        // A context may repeat its cause verbatim; say it once.
        if cause != last {
            out.push_str(&format!("caused by: {cause}\n"));
        }
        last = cause;
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn first_coded_error_in_the_chain_decides() {
        let err = Err::<(), _>(coded(Exit::Data, "bad mtu"))
            .context("reading manager config")
            .unwrap_err();
        assert_eq!(exit_for(&err), Exit::Data);
        assert_eq!(
            render_error(&err),
            "error: reading manager config\ncaused by: bad mtu\n"
        );
    }

    #[test]
    fn a_coded_context_outranks_the_coded_cause_it_wraps() {
        let err = coded(Exit::Os, "`apt-get install` failed: Could not get lock").context(Coded {
            exit: Exit::TempFail,
            message: "the dpkg lock is still held".into(),
        });
        assert_eq!(exit_for(&err), Exit::TempFail);
    }

    #[test]
    fn unclassified_error_is_a_bug() {
        assert_eq!(exit_for(&anyhow::anyhow!("oops")), Exit::Software);
    }

    #[test]
    fn codes_are_unique_and_match_the_contract() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(
            codes,
            [
                0, 2, 64, 65, 69, 70, 71, 73, 74, 75, 76, 77, 78, 129, 130, 131, 143
            ]
        );
    }

    #[test]
    fn multi_line_messages_become_one_line() {
        let err = coded(Exit::Os, "apt-get failed:\n  E: no\n");
        assert_eq!(render_error(&err), "error: apt-get failed: E: no\n");
    }
}
