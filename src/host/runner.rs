//! The one way this program runs another: argv only, never a shell, through
//! `duct`. A failure names the whole command line and the end of its stderr;
//! in a dry run a command that would change the host is shown, not run.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use super::Host;
use super::watch::Watch;
use crate::exit::{Exit, coded};
use crate::signals;

/// How often a running child is looked at.
const POLL: Duration = Duration::from_millis(2);

/// How long a timed-out child's group has between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// The PATH runtime commands get: the system's own tools, and snap's, never
/// a directory the caller put first.
pub const RUNTIME_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin";

/// The most a command may run, and the runtime it was waiting on, for the
/// error when it runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeLimit {
    /// `None`: the host's runtime timeout (`--runtime-timeout`).
    pub after: Option<Duration>,
    pub runtime: String,
}

/// How much of a failed command's stderr an error carries.
const STDERR_TAIL_LINES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Run in the fixed runtime environment rather than the caller's.
    runtime_env: bool,
    limit: Option<TimeLimit>,
    /// The `-o` option that makes the program report its progress on a
    /// descriptor (apt's `APT::Status-Fd`); given only while it is shown.
    status_fd_option: Option<&'static str>,
}

impl CommandLine {
    pub fn new(program: &str) -> CommandLine {
        CommandLine {
            program: program.to_string(),
            args: Vec::new(),
            env: Vec::new(),
            runtime_env: false,
            limit: None,
            status_fd_option: None,
        }
    }

    /// A command that talks to, or starts, a container runtime: it runs in a
    /// fixed environment ([`Host::runtime_env`]), so that whatever the
    /// caller's shell exports (`LXD_DIR`, `LXD_CONF`, `INCUS_DIR`,
    /// `LIBVIRT_DEFAULT_URI`, a default remote in `~/.config/lxc`) it
    /// reaches the system's own daemon.
    pub fn runtime_env(mut self) -> CommandLine {
        self.runtime_env = true;
        self
    }

    /// Kill the command's process group once it has run for `after`, and
    /// fail with 75 naming `runtime`.
    pub fn time_limit(mut self, after: Duration, runtime: &str) -> CommandLine {
        self.limit = Some(TimeLimit {
            after: Some(after),
            runtime: runtime.to_string(),
        });
        self
    }

    /// A command on `runtime` (`"LXD"`, `"libvirt"`, `"lxc-net"`): the
    /// runtime environment, and a limit of the host's runtime timeout
    /// (`--runtime-timeout`) unless [`CommandLine::time_limit`] gives another.
    pub fn on_runtime(mut self, runtime: &str) -> CommandLine {
        self.runtime_env = true;
        if self.limit.is_none() {
            self.limit = Some(TimeLimit {
                after: None,
                runtime: runtime.to_string(),
            });
        }
        self
    }

    pub fn limit(&self) -> Option<&TimeLimit> {
        self.limit.as_ref()
    }

    pub fn uses_runtime_env(&self) -> bool {
        self.runtime_env
    }

    pub fn arg(mut self, arg: impl Into<String>) -> CommandLine {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> CommandLine
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> CommandLine {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The program reports its progress on the descriptor that `-o
    /// OPTION=fd` names, when someone watches it.
    pub fn status_fd(mut self, option: &'static str) -> CommandLine {
        self.status_fd_option = Some(option);
        self
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    /// The program and its arguments, shell-quoted, without the environment:
    /// how a test names the command it answers.
    pub fn argv_line(&self) -> String {
        std::iter::once(quote(&self.program))
            .chain(self.args.iter().map(|a| quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn arguments(&self) -> &[String] {
        &self.args
    }

    pub(super) fn status_fd_option(&self) -> Option<&'static str> {
        self.status_fd_option
    }

    pub(super) fn with_leading_args(&self, leading: impl IntoIterator<Item = String>) -> CommandLine {
        let mut cmd = self.clone();
        cmd.args = leading.into_iter().chain(self.args.iter().cloned()).collect();
        cmd
    }

    fn expression(&self, host: &Host) -> anyhow::Result<duct::Expression> {
        // Every tool speaks untranslated C: its output is parsed, and its
        // messages are matched (apt's lock errors); a caller's locale must not
        // change what they say. Runtime commands get it with the rest of
        // their fixed environment.
        let mut expr = duct::cmd(&self.program, &self.args);
        if self.runtime_env {
            let mut env = host.runtime_env()?;
            env.extend(self.env.iter().cloned());
            expr = expr.full_env(env);
        } else {
            expr = expr.env("LC_ALL", "C");
            for (k, v) in &self.env {
                expr = expr.env(k, v);
            }
        }
        Ok(expr
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            // Its own process group, so that a signal we pass on reaches the
            // child's children too (dpkg under apt, a shell's sleep), and none
            // is left holding the output pipes.
            .before_spawn(|cmd| {
                std::os::unix::process::CommandExt::process_group(cmd, 0);
                Ok(())
            }))
    }
}

impl fmt::Display for CommandLine {
    /// Shell-quoted, so that a user can paste it; it is never given to a shell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .chain(std::iter::once(quote(&self.program)))
            .chain(self.args.iter().map(|a| quote(a)));
        f.write_str(&words.collect::<Vec<_>>().join(" "))
    }
}

fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The last lines of stderr (or of stdout when stderr is empty).
    pub fn tail(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
        lines[start..].join(" | ")
    }
}

/// A command that changes the host: run, or only planned in a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Done(Output),
    Planned(String),
}

impl Host {
    /// Run a command that changes the host. In a dry run it is not run: the
    /// command line comes back for the plan.
    pub fn run(&self, cmd: &CommandLine) -> anyhow::Result<Ran> {
        if !self.applies() {
            return Ok(Ran::Planned(format!("run: {cmd}")));
        }
        self.forget_prefetched();
        let out = self.query_status(cmd)?;
        if out.success() {
            Ok(Ran::Done(out))
        } else {
            Err(command_failed(cmd, &out))
        }
    }

    /// Run commands that change the host, in order, stopping at the first
    /// failure; in a dry run, their command lines for the plan.
    pub fn run_all(&self, cmds: &[CommandLine]) -> anyhow::Result<Vec<String>> {
        let mut plan = Vec::new();
        for cmd in cmds {
            if let Ran::Planned(line) = self.run(cmd)? {
                plan.push(line);
            }
        }
        Ok(plan)
    }

    /// Run a read-only command, also in a dry run; non-zero exit is an error.
    pub fn query(&self, cmd: &CommandLine) -> anyhow::Result<Output> {
        let out = self.query_status(cmd)?;
        if out.success() {
            Ok(out)
        } else {
            Err(command_failed(cmd, &out))
        }
    }

    /// Like [`Host::query_status`], but `None` when the program is not
    /// installed: for tools whose absence is an answer (nft, ufw).
    pub fn query_installed(&self, cmd: &CommandLine) -> anyhow::Result<Option<Output>> {
        match self.query_status(cmd) {
            Ok(out) => Ok(Some(out)),
            Err(err) if is_not_installed(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Run a read-only command and hand back whatever it said and its status.
    /// What [`Host::prefetch`] already asked is answered from there, once.
    pub fn query_status(&self, cmd: &CommandLine) -> anyhow::Result<Output> {
        if WARMING.get() {
            let answer = self.runner.run(self, cmd);
            // The copy for the step that asks later; the probe that warms
            // gets its own (an error cannot be cloned, its code and words can).
            let mine = match &answer {
                Ok(out) => Ok(out.clone()),
                Err(err) => Err(coded(crate::exit::exit_for(err), format!("{err:#}"))),
            };
            lock(&self.prefetched).push((cmd.clone(), answer));
            return mine;
        }
        let cached = {
            let mut prefetched = lock(&self.prefetched);
            prefetched
                .iter()
                .position(|(asked, _)| asked == cmd)
                .map(|at| prefetched.remove(at).1)
        };
        match cached {
            Some(answer) => {
                log::debug!("`{cmd}` was asked ahead, with the other reads of its step");
                signals::check()?;
                answer
            }
            None => self.runner.run(self, cmd),
        }
    }

    /// Run `probes` at once, each on a thread of its own, and keep what each
    /// command they run answered for the step that asks it later: the
    /// independent reads of a converged run take as long as the slowest,
    /// not as long as all together. Each command is still bounded by its
    /// time limit and stopped by a signal. A change to the host (a command
    /// run, a file written) drops what was kept: it may no longer hold.
    pub fn prefetch(&self, probes: &[&(dyn Fn(&Host) + Sync)]) {
        std::thread::scope(|scope| {
            for probe in probes {
                scope.spawn(move || {
                    WARMING.set(true);
                    probe(self);
                });
            }
        });
    }

    /// Drop what [`Host::prefetch`] kept: the host changed.
    pub(super) fn forget_prefetched(&self) {
        lock(&self.prefetched).clear();
    }
}

thread_local! {
    /// This thread runs a probe of [`Host::prefetch`]: what it asks is kept.
    static WARMING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What prefetch keeps: each command asked ahead and its answer.
pub(super) type Prefetched = std::sync::Mutex<Vec<(CommandLine, anyhow::Result<Output>)>>;

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What runs a command for a [`Host`]: [`Duct`] on a real host, a
/// [`super::FakeRunner`] answering from a table in tests. Everything above
/// it (dry runs, failures as errors, "not installed" as an answer) is the
/// same for both.
pub trait Runner: Send + Sync + fmt::Debug {
    /// Run `cmd` to its end and hand back its status and output: within its
    /// time limit (75 past it, naming the runtime), passing on a signal we
    /// caught, a missing program as [`NotInstalled`].
    fn run(&self, host: &Host, cmd: &CommandLine) -> anyhow::Result<Output>;
}

/// The real runner: a child process through `duct`, in its own process
/// group, polled so that signals and time limits reach it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Duct;

impl Runner for Duct {
    fn run(&self, host: &Host, cmd: &CommandLine) -> anyhow::Result<Output> {
        close_inherited_descriptors_on_exec();
        log::debug!("running {cmd}");
        let cannot_run = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::NotFound {
                return not_installed_error(cmd);
            }
            coded(Exit::Os, format!("cannot run `{cmd}`: {e}"))
        };
        let limit = cmd
            .limit
            .as_ref()
            .map(|l| l.after.unwrap_or(host.runtime_timeout()));
        let mut watch = Watch::start(&host.watcher, cmd);
        let expression = match &watch {
            Some(watch) => watch.command().expression(host),
            None => cmd.expression(host),
        }?;
        let started = Instant::now();
        let spawned = expression.start();
        if let Some(watch) = &mut watch {
            watch.spawned();
        }
        let handle = spawned.map_err(cannot_run)?;
        // Poll rather than block, so that a SIGINT or SIGTERM we caught is
        // passed on to the child, and we still wait for it to finish.
        let mut forwarded = false;
        let mut timed_out: Option<Instant> = None;
        let out = loop {
            if let Some(out) = handle.try_wait().map_err(cannot_run)? {
                break out.clone();
            }
            if let (Some(signal), false) = (signals::received(), forwarded) {
                log::warn!("passing signal {signal} on to `{cmd}` and waiting for it");
                for pid in handle.pids() {
                    signals::forward_to_group(pid, signal);
                }
                forwarded = true;
            }
            // Past its limit: SIGTERM to the whole group, then SIGKILL for
            // whatever is still there after a grace period.
            match (limit, timed_out) {
                (Some(limit), None) if started.elapsed() >= limit => {
                    log::warn!("`{cmd}` ran past {}s; stopping it", limit.as_secs());
                    for pid in handle.pids() {
                        signals::forward_to_group(pid, libc::SIGTERM);
                    }
                    timed_out = Some(Instant::now());
                }
                (Some(_), Some(at)) if at.elapsed() >= KILL_GRACE => {
                    for pid in handle.pids() {
                        signals::forward_to_group(pid, libc::SIGKILL);
                    }
                }
                _ => {}
            }
            std::thread::sleep(POLL);
        };
        if let (Some(limit), Some(after), Some(_)) = (&cmd.limit, limit, timed_out) {
            signals::check()?;
            return Err(timed_out_error(cmd, &limit.runtime, after));
        }
        let out = Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        drop(watch);
        log::debug!("`{cmd}` exited {:?}", out.code);
        signals::check()?;
        Ok(out)
    }
}

/// The program of a command is not there: in a dry run before the package
/// that brings it is installed, a plan rather than a failure.
#[derive(Debug)]
pub struct NotInstalled;

impl fmt::Display for NotInstalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no such program")
    }
}

impl std::error::Error for NotInstalled {}

/// The error of a command whose program is not there.
pub(super) fn not_installed_error(cmd: &CommandLine) -> anyhow::Error {
    let advice = format!("{} is not installed or not on PATH", cmd.program);
    anyhow::Error::new(NotInstalled).context(crate::exit::Coded {
        exit: Exit::Os,
        message: format!("cannot run `{cmd}`: {advice}"),
    })
}

pub fn is_not_installed(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<NotInstalled>())
}

pub(super) fn timed_out_error(cmd: &CommandLine, runtime: &str, after: Duration) -> anyhow::Error {
    coded(
        Exit::TempFail,
        format!(
            "{runtime} did not answer within {}s: `{cmd}` was still waiting and was stopped; \
             check that {runtime} is not hung (its log, its process state), or raise --runtime-timeout",
            after.as_secs(),
        ),
    )
}

impl Host {
    /// The environment of a runtime command: a fixed PATH, `LC_ALL=C`, and a
    /// private, empty HOME and client config directory, so that no default
    /// remote or `LXD_DIR` of the caller's steers it. Under a `--root` other
    /// than `/` (a prepared tree, as the tests use) the caller's PATH is
    /// kept, so that the tools of that test host are the ones run.
    pub fn runtime_env(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let home = self.private_home()?;
        let path = if self.root() == std::path::Path::new("/") {
            RUNTIME_PATH.to_string()
        } else {
            std::env::var("PATH").unwrap_or_else(|_| RUNTIME_PATH.to_string())
        };
        let home_str = home.display().to_string();
        Ok(BTreeMap::from([
            ("PATH".to_string(), path),
            ("LC_ALL".to_string(), "C".to_string()),
            ("HOME".to_string(), home_str.clone()),
            // The LXD and Incus clients read their remotes from here; empty,
            // the only remote is `local`, the system daemon's unix socket.
            ("LXD_CONF".to_string(), format!("{home_str}/lxc")),
            ("INCUS_CONF".to_string(), format!("{home_str}/incus")),
        ]))
    }
}

/// Descriptors this process inherited (a caller's `flock` lock, a pipe of
/// cloud-init's) are not passed on to what it runs: a daemon started through
/// `service` would hold them for its whole life, and with them the caller's
/// lock (seen: libvirtd kept `flock /tmp/ci/e2e.lock` held after the command
/// under flock had exited).
fn close_inherited_descriptors_on_exec() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC only sets a flag on
        // descriptors from 3 up; it closes nothing and touches no memory.
        let done = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
        if done != 0 {
            // Kernels before 5.11: the descriptors are passed on, as before.
            log::debug!(
                "close_range: {}; inherited descriptors stay open in children",
                std::io::Error::last_os_error()
            );
        }
    });
}

pub fn command_failed(cmd: &CommandLine, out: &Output) -> anyhow::Error {
    let status = match out.code {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    };
    let tail = out.tail();
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    };
    coded(Exit::Os, format!("`{cmd}` failed with {status}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_for;
    use crate::host::Mode;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let cmd = CommandLine::new("lxc")
            .args(["config", "set", "x", "a b", "it's", "$(x)"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        assert_eq!(
            cmd.to_string(),
            r#"DEBIAN_FRONTEND=noninteractive lxc config set x 'a b' 'it'\''s' '$(x)'"#
        );
    }

    #[test]
    fn arguments_reach_the_program_verbatim() {
        let host = Host::new("/", Mode::Apply);
        let out = host
            .query(&CommandLine::new("printf").args(["%s|", "$(id)", "a;b", "c d"]))
            .unwrap();
        assert_eq!(out.stdout, "$(id)|a;b|c d|");
    }

    #[test]
    fn commands_run_in_the_c_locale() {
        let host = Host::new("/", Mode::Apply);
        let out = host.query(&CommandLine::new("printenv").arg("LC_ALL")).unwrap();
        assert_eq!(out.stdout, "C\n");
    }

    #[test]
    fn failure_carries_command_line_and_stderr_tail() {
        let host = Host::new("/", Mode::Apply);
        let cmd = CommandLine::new("ls").arg("/definitely/not/here");
        let err = host.run(&cmd).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Os);
        let msg = err.to_string();
        assert!(
            msg.starts_with("`ls /definitely/not/here` failed with exit status 2: "),
            "{msg}"
        );
        assert!(msg.contains("No such file"), "{msg}");
    }

    #[test]
    fn missing_program_is_named() {
        let host = Host::new("/", Mode::Apply);
        let err = host.query(&CommandLine::new("no-such-program-here")).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Os);
        assert!(err.to_string().contains("no-such-program-here is not installed"));
    }

    #[test]
    fn dry_run_plans_instead_of_running() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("made");
        let host = Host::new("/", Mode::DryRun);
        let cmd = CommandLine::new("touch").arg(marker.to_str().unwrap());
        assert_eq!(host.run(&cmd).unwrap(), Ran::Planned(format!("run: {cmd}")));
        assert!(!marker.exists());
    }

    #[test]
    fn a_command_past_its_limit_is_stopped_with_its_whole_group_and_gives_75() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let host = Host::new("/", Mode::Apply);
        // A child of the child, as `lxc` under a wrapper or dpkg under apt.
        let script = format!("sleep 60 & echo $! > {}; wait", pid_file.display());
        let cmd = CommandLine::new("sh")
            .args(["-c", &script])
            .time_limit(Duration::from_millis(300), "LXD");
        let started = Instant::now();
        let err = host.query_status(&cmd).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(exit_for(&err), Exit::TempFail);
        let msg = err.to_string();
        assert!(msg.starts_with("LXD did not answer within 0s: `sh -c "), "{msg}");
        assert!(msg.contains("--runtime-timeout"), "{msg}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
        // Gone, or a zombie waiting for its new parent to reap it.
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "the grandchild still runs: {stat}"
        );
    }

    #[test]
    fn a_runtime_command_is_bounded_by_the_hosts_runtime_timeout() {
        let host = Host::new("/", Mode::Apply).with_runtime_timeout(Duration::from_millis(200));
        let started = Instant::now();
        let err = host
            .query_status(&CommandLine::new("sleep").arg("30").on_runtime("libvirt"))
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(exit_for(&err), Exit::TempFail);
        assert!(
            err.to_string()
                .starts_with("libvirt did not answer within 0s: `sleep 30`"),
            "{err}"
        );
    }

    #[test]
    fn a_command_within_its_limit_runs_as_usual() {
        let host = Host::new("/", Mode::Apply);
        let cmd = CommandLine::new("true").time_limit(Duration::from_secs(30), "LXD");
        assert!(host.query(&cmd).is_ok());
    }

    #[test]
    fn runtime_commands_get_a_fixed_environment_and_a_private_empty_home() {
        let host = Host::new("/", Mode::Apply);
        let out = host
            .query(
                &CommandLine::new("env")
                    .runtime_env()
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
            .unwrap();
        let env: BTreeMap<&str, &str> = out.stdout.lines().filter_map(|l| l.split_once('=')).collect();
        assert_eq!(
            env.keys().copied().collect::<Vec<_>>(),
            [
                "DEBIAN_FRONTEND",
                "HOME",
                "INCUS_CONF",
                "LC_ALL",
                "LXD_CONF",
                "PATH"
            ],
            "{env:?}"
        );
        assert_eq!(env["PATH"], RUNTIME_PATH);
        assert_eq!(env["LC_ALL"], "C");
        let home = std::path::Path::new(env["HOME"]);
        assert!(home.starts_with("/tmp"), "{home:?}");
        assert_eq!(std::fs::read_dir(home).unwrap().count(), 0);
        assert_eq!(env["LXD_CONF"], format!("{}/lxc", home.display()));
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(home).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o700);
        drop(host);
        assert!(!home.exists(), "the private HOME outlived the run");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let out = Output {
            code: Some(1),
            stdout: String::new(),
            stderr: (1..=20).map(|i| format!("line {i}\n")).collect(),
        };
        assert_eq!(
            out.tail(),
            (13..=20)
                .map(|i| format!("line {i}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
}
