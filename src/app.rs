//! From a command line to a report and an exit status. This is the only
//! place that prints.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::check_result::Verdict;
use crate::cli::{
    Cli, Command, DocFormat, ForwardingCommand, LxcNetCommand, ManagerConfigCommand, OutputFormat,
    SourceArgs, StorageArgs,
};
use crate::commands::check;
use crate::commands::forwarding::{self, Forwarding};
use crate::commands::lxc_net::{self, LxcNet, Request};
use crate::commands::setup::{self, SetupOptions};
use crate::commands::teardown::{self, TeardownOptions};
use crate::config::config_source::{self, Source};
use crate::config::settings::{ConfigFile, Overrides, Settings, StorageFlags, TOKEN_ENV, storage_request};
use crate::container_type::ContainerType;
use crate::exit::coded;
use crate::exit::{Exit, exit_for, render_error};
use crate::host::{HeldLock, Host, HostLock, Mode};
use crate::report::{Outcome, Report, Status};
use crate::runtime::lxd_family::Runtime;
use crate::runtime::storage;
use crate::signals;
use crate::{docs, logging, output, progress};

/// What a command hands back to be printed.
enum Done {
    Report,
    /// A document printed as it is (a completion script, the man page).
    Raw(Vec<u8>),
}

/// The command whose JSON document a panic should still print, when
/// `--output json` was asked for.
static JSON_COMMAND: OnceLock<String> = OnceLock::new();

pub fn main() -> ExitCode {
    // Before anything else, for every command: a signal is an orderly exit
    // (129, 130, 131 or 143, one error line, the JSON document), never a
    // write cut short or a child left running.
    signals::install();
    install_panic_hook();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    logging::init(cli.verbose, cli.quiet);
    run(&cli).into()
}

/// The command line, through clap. Its command tree and matches are left
/// for the process's exit to free: dropping them costs more than all the
/// work of a converged `forwarding enable`.
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let cmd: &'static mut clap::Command = Box::leak(Box::new(Cli::command()));
    let matches = Box::leak(Box::new(cmd.try_get_matches_from_mut(std::env::args_os())?));
    Cli::from_arg_matches_mut(matches).map_err(|e| e.format(cmd))
}

/// A panic is a bug (70), reported like every other failure: one `error:`
/// line. Files are written atomically, so none is left half-written.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        progress::clear_live_line_on_panic();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let error = format!("container-init hit a bug: {message}; please report it with the command you ran");
        if let Some(command) = JSON_COMMAND.get() {
            print_failure_json(command, Exit::Software, &error);
        }
        output::stderr(&format!("error: {error}\ncaused by: panic{place}\n"));
        std::process::exit(Exit::Software.code().into());
    }));
}

/// Clap's own errors are usage errors (64), not clap's 2; help and version
/// are not errors at all. With `--output json` on the command line, a usage
/// error still prints its JSON document. A value clap repeats in its message
/// is cut to 200 characters, as every other message cuts one.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let message = match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let printed = err.print().and_then(|()| std::io::stdout().flush());
            let exit = match printed {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    output::stderr(&format!(
                        "error: cannot write to stdout: {e}; send stdout somewhere it can be written\n"
                    ));
                    Exit::IoErr
                }
                _ if crate::host::stdout_was_closed() => {
                    output::stderr(
                        "error: cannot write to stdout: stdout is closed; give the command a stdout\n",
                    );
                    Exit::IoErr
                }
                _ => Exit::Ok,
            };
            return signalled_or(exit).into();
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let message = "a subcommand is missing; pick one of those listed above".to_string();
            output::stderr(&format!(
                "{}error: {message}\n",
                cut_values(&err.render().to_string(), &args)
            ));
            message
        }
        _ => {
            let rendered = err.render().to_string();
            let capped = cut_values(&rendered, &args);
            if capped == rendered {
                let _ = err.print();
            } else {
                output::stderr(&capped);
            }
            let first = capped.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        }
    };
    if wants_json(&args) {
        print_failure_json(&command_words(&args), Exit::Usage, &message);
    }
    signalled_or(Exit::Usage).into()
}

/// `exit`, unless a signal came meanwhile: then the signal's, with its line.
fn signalled_or(exit: Exit) -> Exit {
    match signals::check() {
        Ok(()) => exit,
        Err(err) => {
            output::stderr(&render_error(&err));
            crate::exit::exit_for(&err)
        }
    }
}

/// `text` with each argument longer than the quote limit (or the value of a
/// `--flag=value` one) cut as [`limits::cut`](crate::config::limits::cut)
/// cuts it: clap repeats a bad value whole.
fn cut_values(text: &str, args: &[OsString]) -> String {
    use crate::config::limits::{MAX_QUOTE, cut};
    let mut long: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .flat_map(|a| {
            let value = a.split_once('=').map(|(_, v)| v.to_string());
            std::iter::once(a).chain(value)
        })
        .filter(|a| a.chars().count() > MAX_QUOTE)
        .collect();
    // The whole `--flag=value` before its value.
    long.sort_by_key(|a| std::cmp::Reverse(a.len()));
    let mut out = text.to_string();
    for value in long {
        if out.contains(&value) {
            out = out.replace(&value, &cut(&value));
        }
    }
    out
}

/// Whether the raw arguments ask for `--output json`: what clap could not
/// parse still says how the caller wants to read the failure.
fn wants_json(args: &[OsString]) -> bool {
    let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    args.windows(2).any(|w| w == ["--output", "json"]) || args.contains(&"--output=json")
}

/// The subcommand and its first word (`setup lxd`), for a document about a
/// command line that did not parse.
fn command_words(args: &[OsString]) -> String {
    const COMMANDS: [&str; 8] = [
        "setup",
        "teardown",
        "forwarding",
        "lxc-net",
        "manager-config",
        "check",
        "completions",
        "man",
    ];
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let Some(at) = words.iter().position(|w| COMMANDS.contains(w)) else {
        return String::new();
    };
    words[at..]
        .iter()
        .take(2)
        .take_while(|w| !w.starts_with('-'))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The JSON document of a command that failed before it had a report.
fn print_failure_json(command: &str, exit: Exit, error: &str) {
    let mut report = Report::new(command);
    report.finish(exit, Some(error.to_string()));
    output::stdout(report.to_json().as_bytes());
}

fn mode(cli: &Cli) -> Mode {
    if cli.check {
        Mode::Check
    } else if cli.dry_run {
        Mode::DryRun
    } else {
        Mode::Apply
    }
}

fn no_color(cli: &Cli) -> bool {
    cli.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn color(cli: &Cli) -> bool {
    !no_color(cli) && std::io::stdout().is_terminal()
}

/// What is shown while the command runs: the step lines in text output; the
/// live line only for a person at a terminal that can redraw one; otherwise,
/// unless `-q`, a plain line for a long command.
fn show(cli: &Cli) -> progress::Show {
    // These print a document of their own on stdout, not a report.
    let document = matches!(
        cli.command,
        Command::ManagerConfig(_) | Command::Completions { .. } | Command::Man
    );
    let text = cli.output == OutputFormat::Text && !document;
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let live = text && !cli.quiet && !no_color(cli) && !dumb && std::io::stderr().is_terminal();
    progress::Show {
        steps: text.then(|| color(cli)),
        live,
        long_commands: !cli.quiet && !live,
    }
}

pub fn command_name(command: &Command) -> String {
    match command {
        Command::Forwarding(ForwardingCommand::Enable(_)) => "forwarding enable".into(),
        Command::Forwarding(ForwardingCommand::Disable(_)) => "forwarding disable".into(),
        Command::Forwarding(ForwardingCommand::Status) => "forwarding status".into(),
        Command::LxcNet(LxcNetCommand::Override(_)) => "lxc-net override".into(),
        Command::LxcNet(LxcNetCommand::Show) => "lxc-net show".into(),
        Command::LxcNet(LxcNetCommand::Restore) => "lxc-net restore".into(),
        Command::ManagerConfig(ManagerConfigCommand::Show { container_type, .. }) => {
            format!("manager-config show {container_type}")
        }
        Command::Setup(args) => format!("setup {}", args.container_type),
        Command::Check(args) => format!("check {}", args.container_type),
        Command::Teardown(args) => format!("teardown {}", args.container_type),
        Command::Completions { shell } => format!("completions {shell}"),
        Command::Man => "man".into(),
    }
}

fn run(cli: &Cli) -> Exit {
    let show = show(cli);
    let progress = Arc::new(progress::Progress::new(show));
    let host = Host::new(&cli.root, mode(cli)).watched_by(progress.clone());
    let command = command_name(&cli.command);
    if cli.output == OutputFormat::Json {
        let _ = JSON_COMMAND.set(command.clone());
    }
    let mut report = Report::new(command).observed_by(progress.clone());
    let outcome = if !matches!(cli.command, Command::Completions { .. } | Command::Man) && !host.root_is_dir()
    {
        Err(coded(
            Exit::Usage,
            format!(
                "--root {} is not a directory; give the directory that stands for / (default /)",
                crate::config::limits::shown_path(&cli.root)
            ),
        ))
    } else {
        dispatch(cli, &host, &mut report)
    };
    // A signal ends the run as one, whatever it cut short: a signal during
    // the last step, a read or a child it stopped that failed because of it.
    let outcome = match signals::check() {
        Ok(()) => outcome,
        Err(signalled) => Err(signalled),
    };
    let (done, error) = match outcome {
        Ok(done) => (done, None),
        Err(err) => (Done::Report, Some(err)),
    };
    progress.finish();
    let exit = match &error {
        Some(err) => exit_for(err),
        None if host.mode() == Mode::Check && report.has(Status::WouldChange) => Exit::ChangesPending,
        None => Exit::Ok,
    };
    let stdout = match done {
        Done::Raw(bytes) => bytes,
        Done::Report => {
            let message = error
                .as_ref()
                .map(|e| e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": "));
            report.finish(exit, message);
            match cli.output {
                OutputFormat::Json => report.to_json(),
                // The steps' lines were printed as each step ended.
                OutputFormat::Text if show.steps.is_some() => report.text_after_steps(),
                OutputFormat::Text => report.to_text(color(cli)),
            }
            .into_bytes()
        }
    };
    output::stdout(&stdout);
    if let Some(err) = &error {
        output::stderr(&render_error(err));
        return exit;
    }
    match output::stdout_failure() {
        // A closed pipe (`| head`): the reader has what it wanted; as
        // coreutils do, the job's own status, and no word.
        Some((std::io::ErrorKind::BrokenPipe, _)) => exit,
        Some((_, why)) => {
            output::stderr(&format!(
                "error: cannot write the report to stdout: {why}; the work is done, but its report \
                 is lost: send stdout somewhere it can be written (free space on that disk) and run again\n"
            ));
            Exit::IoErr
        }
        None if exit == Exit::ChangesPending => {
            let pending = report
                .steps
                .iter()
                .filter(|s| s.status == Status::WouldChange)
                .count();
            output::stderr(&format!(
                "error: {pending} step(s) would change this host; run without --check to apply them\n"
            ));
            exit
        }
        None => exit,
    }
}

fn dispatch(cli: &Cli, host: &Host, report: &mut Report) -> anyhow::Result<Done> {
    match &cli.command {
        Command::Forwarding(ForwardingCommand::Enable(args)) => {
            let work = |host: &Host, report: &mut Report| {
                forwarding::converge(host, Forwarding::Enabled, !args.no_persist, report)
            };
            converge_locked(host, report, work)?;
        }
        Command::Forwarding(ForwardingCommand::Disable(args)) => {
            let work = |host: &Host, report: &mut Report| {
                forwarding::converge(host, Forwarding::Disabled, !args.no_persist, report)
            };
            converge_locked(host, report, work)?;
        }
        Command::Forwarding(ForwardingCommand::Status) => forwarding::status(host, report)?,
        Command::LxcNet(LxcNetCommand::Override(args)) => {
            let request = Request {
                bridge: args.bridge.clone(),
                network: args.network,
                address: args.address,
                dhcp_range: args.dhcp_range,
                dhcp_max: args.dhcp_max,
                ..Request::default()
            };
            let wanted = LxcNet::plan(&request).map_err(lxc_net::invalid)?;
            let work = |host: &Host, report: &mut Report| lxc_net::override_file(host, &wanted, report);
            converge_locked(host, report, work)?;
        }
        Command::LxcNet(LxcNetCommand::Show) => lxc_net::show(host, report)?,
        Command::LxcNet(LxcNetCommand::Restore) => {
            converge_locked(host, report, lxc_net::restore)?;
        }
        Command::ManagerConfig(ManagerConfigCommand::Show {
            container_type,
            source,
            format,
        }) => {
            let format = format.unwrap_or(match cli.output {
                OutputFormat::Json => DocFormat::Json,
                OutputFormat::Text => DocFormat::Yaml,
            });
            return manager_config_show(cli, host, report, *container_type, source, format);
        }
        Command::Setup(args) => {
            setup::require_root(host, args.container_type)?;
            let mut settings = settings(
                cli,
                host,
                &args.source,
                args.runtime_timeout,
                storage_flags(&args.storage),
            )?;
            if let Some(v) = env_bool("CONTAINER_INIT_ADDRESS_ALLOCATION")? {
                settings.address_allocation = v;
            }
            if let Some(v) = args.bridge_ipv6 {
                settings.bridge_ipv6 = v;
            }
            let opts = SetupOptions {
                container_type: args.container_type,
                manager_config: args.source.manager_config.clone(),
                lock_timeout: std::time::Duration::from_secs(args.lock_timeout),
                allow_emulation: args.allow_emulation,
                no_install: args.no_install,
                runtime_timeout: settings.runtime_timeout,
                user: args.user.clone(),
            };
            // Every runtime command of this run is bounded by it.
            let host = &Host::new(host.root(), host.mode())
                .with_runtime_timeout(settings.runtime_timeout)
                .recording_for(args.container_type)
                .watched_like(host);
            setup::run(host, &settings, &opts, report)?;
        }
        Command::Teardown(args) => {
            let opts = TeardownOptions {
                container_type: args.container_type,
                lock_timeout: Duration::from_secs(args.lock_timeout),
                runtime_timeout: Duration::from_secs(args.runtime_timeout),
                purge_packages: args.purge_packages,
            };
            let host = &Host::new(host.root(), host.mode())
                .with_runtime_timeout(opts.runtime_timeout)
                .watched_like(host);
            teardown::run(host, &opts, report)?;
        }
        Command::Check(args) => {
            let container_type = args.container_type;
            signals::install();
            // As setup's: every runtime query of the preflight is bounded by it.
            let checked = settings(
                cli,
                host,
                &args.source,
                args.runtime_timeout,
                storage_flags(&args.storage),
            )?;
            let timeout = checked.runtime_timeout;
            let wants_ipv6 =
                args.bridge_ipv6.unwrap_or(checked.bridge_ipv6) != crate::network::ipv6::BridgeIpv6::None;
            let host = &Host::new(host.root(), host.mode())
                .with_runtime_timeout(timeout)
                .watched_like(host);
            // Only `check lxd` where LXD comes from snap asks for it; first,
            // so that a bad value stops the preflight before any other command.
            let wanted_channel = || {
                let settings = settings(cli, host, &args.source, None, StorageFlags::default())?;
                let sourced =
                    config_source::obtain(&settings, container_type, args.source.manager_config.as_deref())?;
                log::info!("manager config {}", sourced.source.describe());
                Ok(sourced.config.lxd_snap_channel)
            };
            let snap_line = check::lxd_snap(host, container_type, wanted_channel)?;
            check::prefetch(host, container_type);
            report.checks = check::run(host, container_type, args.allow_emulation);
            report.checks.extend(snap_line);
            // After the manager config, which a bad value stops before any command.
            report
                .checks
                .extend(check::data_path(host, container_type, wants_ipv6)?);
            if let Some(flavor) = check::lxd_flavor(container_type) {
                let (file, _) = ConfigFile::load(cli.config.as_deref(), host)?;
                let request = storage_request(&storage_flags(&args.storage), &file)?;
                let runtime = Runtime::new(flavor, host.runtime_timeout());
                report.checks.push(storage::check_line(host, runtime, &request));
            }
            if let Some(failed) = report.checks.iter().find(|c| c.result == Verdict::Fail) {
                return Err(coded(
                    Exit::Unavailable,
                    format!(
                        "this host cannot run {container_type} containers: {}: {}",
                        failed.name, failed.reason
                    ),
                ));
            }
        }
        Command::Completions { shell } => return Ok(Done::Raw(docs::completion(*shell))),
        Command::Man => return Ok(Done::Raw(docs::man_page())),
    }
    Ok(Done::Report)
}

/// How long `forwarding` and `lxc-net` wait for another container-init
/// (they have no `--lock-timeout`; `setup`'s default).
const COMMAND_LOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// `forwarding` and `lxc-net` change the host outside `setup`, so they hold
/// the host lock as `setup` does: two runs at once could otherwise leave the
/// kernel and the file disagreeing. A look in `--check` mode comes first: a
/// host with nothing to change gets that look as its report, and no lock
/// file is written.
fn converge_locked(
    host: &Host,
    report: &mut Report,
    work: impl Fn(&Host, &mut Report) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if !host.applies() {
        return work(host, report);
    }
    let mut probe = Report::new(report.command.clone());
    let probed = work(&Host::new(host.root(), Mode::Check), &mut probe);
    if probed.is_err() || !probe.has(Status::WouldChange) {
        // Through `push`, so that the text output shows them as it does any step.
        for step in probe.steps {
            report.push(step);
        }
        return probed;
    }
    let _held: HeldLock = HostLock::open(host)?.acquire(COMMAND_LOCK_TIMEOUT)?;
    work(host, report)
}

fn env_bool(name: &str) -> anyhow::Result<Option<bool>> {
    match std::env::var(name).ok().as_deref() {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(coded(
            Exit::Config,
            format!(
                "{name}={} must be true or false",
                crate::config::limits::quote(other)
            ),
        )),
    }
}

fn storage_flags(args: &StorageArgs) -> StorageFlags {
    StorageFlags {
        driver: args.storage_driver,
        source: args.storage_source.clone(),
        size: args.storage_size,
        wipe: args.storage_wipe,
    }
}

/// The settings of the config file, environment and flags, merged.
pub fn settings(
    cli: &Cli,
    host: &Host,
    source: &SourceArgs,
    runtime_timeout: Option<u64>,
    storage: StorageFlags,
) -> anyhow::Result<Settings> {
    let (file, path) = ConfigFile::load(cli.config.as_deref(), host)?;
    if let Some(path) = path {
        log::info!("read settings from {}", path.display());
    }
    let flags = Overrides {
        controller: source.controller.clone(),
        token_file: source.token_file.clone(),
        ca_cert: source.ca_cert.clone(),
        machine: source.machine.clone(),
        namespace: source.namespace.clone(),
        address_allocation: None,
        timeout: std::time::Duration::from_secs(source.timeout),
        runtime_timeout,
        bridge_ipv6: None,
        storage,
    };
    Settings::resolve(&flags, file, std::env::var(TOKEN_ENV).ok())
}

fn manager_config_show(
    cli: &Cli,
    host: &Host,
    report: &mut Report,
    ty: ContainerType,
    source: &SourceArgs,
    format: DocFormat,
) -> anyhow::Result<Done> {
    let settings = settings(cli, host, source, None, StorageFlags::default())?;
    let sourced = report.run_step("manager-config", || {
        let got = config_source::obtain(&settings, ty, source.manager_config.as_deref())?;
        Ok(Outcome::new(Status::Unchanged, got.source.describe()).with_value(got))
    })?;
    let values = sourced.config.to_values();
    let mut doc = match format {
        DocFormat::Json => serde_json::to_string_pretty(&values).expect("strings serialise") + "\n",
        DocFormat::Yaml => crate::config::yaml_doc::flat_mapping(&values),
    };
    if sourced.source == Source::BuiltIn {
        let note = "no controller is configured (--controller, CONTAINER_INIT_CONTROLLER or controller.url \
                    in the config file); these are the built-in defaults";
        if !cli.quiet {
            output::stderr(&format!("note: {note}\n"));
        }
        if format == DocFormat::Yaml {
            doc = format!("# {note}\n{doc}");
        }
    }
    Ok(Done::Raw(doc.into_bytes()))
}
