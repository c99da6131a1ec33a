//! The command line, and nothing else: clap definitions for every command.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::container_type::ContainerType;
use crate::network::addr::{BridgeName, Ipv4Net, parse_ipv4};
use crate::network::ipv6::BridgeIpv6;
use crate::runtime::admin_group::UserName;
use crate::runtime::storage::{Driver, Size, Source};

#[derive(Debug, Parser)]
#[command(
    name = "container-init",
    // The package version and, when built from git, the commit (build.rs).
    version = env!("CONTAINER_INIT_VERSION"),
    about = "Prepare this Linux host to run LXC, LXD, Incus or KVM containers",
    long_about = "Prepare this Linux host to run LXC, LXD, Incus or KVM containers.\n\n\
        Each command converges the host to what is wanted and reports every step as \
        unchanged, changed, would-change, skipped or failed. Running a command twice is \
        safe: the second run changes nothing and says so.",
    after_help = "Exit status: 0 ok, 2 changes pending (--check), 64 usage, 65 data, 69 unavailable, \
        70 software, 71 os, 73 cantcreat, 74 ioerr, 75 tempfail, 76 protocol, 77 noperm, 78 config, \
        129/130/131/143 signal. See `container-init man`."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed
    #[arg(
        long,
        value_name = "DIR",
        env = "CONTAINER_INIT_ROOT",
        hide_env_values = true,
        default_value = "/",
        global = true
    )]
    pub root: PathBuf,

    /// The tool's own YAML config [default: /etc/container-init/config.yaml when it exists]
    #[arg(
        long,
        value_name = "FILE",
        env = "CONTAINER_INIT_CONFIG",
        hide_env_values = true,
        global = true
    )]
    pub config: Option<PathBuf>,

    /// Print the plan (file diffs, command lines) and change nothing
    #[arg(long, global = true, conflicts_with = "check")]
    pub dry_run: bool,

    /// Like --dry-run, but exit 2 when anything would change
    #[arg(long, global = true)]
    pub check: bool,

    /// Report format on stdout
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text, global = true)]
    pub output: OutputFormat,

    /// Plain text without colours (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// IPv4 forwarding and proxy ARP, now and after reboot
    #[command(subcommand)]
    Forwarding(ForwardingCommand),

    /// /etc/default/lxc-net for addressable LXC containers
    #[command(name = "lxc-net", subcommand)]
    LxcNet(LxcNetCommand),

    /// Prepare this host for a container type: the whole job
    Setup(SetupArgs),

    /// Read-only preflight: can this host run that type?
    ///
    /// One PASS, WARN or FAIL line per requirement. The manager-config options matter only to
    /// `check lxd` where LXD comes from snap: when the manager config asks for an
    /// lxd-snap-channel, the installed snap is compared with it, as `setup` would.
    Check(CheckArgs),

    /// Take back what setup did on this host, from its own record
    ///
    /// Newest first, each change that the host still shows as setup left it: files get their
    /// old content back (or go), sysctls their old value, firewall rules, bridges, pools and
    /// profile devices setup made go, runtime keys get their old value, services it started
    /// stop. What someone changed since is left and reported `skipped`. Refused (69) while
    /// guests of that type exist. Packages stay unless --purge-packages.
    Teardown(TeardownArgs),

    /// Fetch and print the controller's container manager config
    #[command(name = "manager-config", subcommand)]
    ManagerConfig(ManagerConfigCommand),

    /// Print a completion script
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },

    /// Print the man page (roff)
    Man,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[arg(value_enum, value_name = "TYPE")]
    pub container_type: ContainerType,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Seconds to wait for the host lock (and the dpkg lock) held by another process
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub lock_timeout: u64,

    /// kvm only: go on without hardware virtualisation; guests will be slow
    #[arg(long)]
    pub allow_emulation: bool,

    /// Fail with 69 instead of installing a missing package
    #[arg(long)]
    pub no_install: bool,

    /// The most any query, start or readiness wait on the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]
    #[arg(
        long,
        value_name = "SECONDS",
        env = "CONTAINER_INIT_RUNTIME_TIMEOUT",
        hide_env_values = true,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub runtime_timeout: Option<u64>,

    /// lxd/incus: add this user to the runtime's admin group (lxd, incus-admin) so that they can use the client without root
    #[arg(long, value_name = "NAME", value_parser = clap::value_parser!(UserName))]
    pub user: Option<UserName>,

    /// IPv6 on the bridge: none, auto (a free ULA /64 derived from /etc/machine-id and the bridge's name) or an address/64 [default: none, or bridge-ipv6 in the config file]
    #[arg(long, value_name = "none|auto|ADDR/64", value_parser = clap::value_parser!(BridgeIpv6))]
    pub bridge_ipv6: Option<BridgeIpv6>,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// lxd/incus: the storage pool `default`; the same keys as the config file.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// lxd/incus: the driver of the pool `default`: dir, btrfs, lvm (thin) or zfs [default: dir, or storage-driver in the config file]
    #[arg(long, value_name = "DRIVER", value_parser = clap::value_parser!(Driver))]
    pub storage_driver: Option<Driver>,

    /// lxd/incus: where the pool lives: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) [default: a loop file]
    #[arg(long, value_name = "SOURCE", value_parser = clap::value_parser!(Source))]
    pub storage_source: Option<Source>,

    /// lxd/incus: the size of the loop file when there is no source, such as 30GiB [default: the runtime's]
    #[arg(long, value_name = "SIZE", value_parser = clap::value_parser!(Size))]
    pub storage_size: Option<Size>,

    /// lxd/incus: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub storage_wipe: Option<bool>,
}

#[derive(Debug, Args)]
pub struct TeardownArgs {
    #[arg(value_enum, value_name = "TYPE")]
    pub container_type: ContainerType,

    /// Also purge the packages setup installed, with what apt pulled in for them that nothing else needs
    #[arg(long)]
    pub purge_packages: bool,

    /// Seconds to wait for the host lock (and the dpkg lock) held by another process
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub lock_timeout: u64,

    /// The most any query or stop on the runtime may take; past it, 75
    #[arg(
        long,
        value_name = "SECONDS",
        env = "CONTAINER_INIT_RUNTIME_TIMEOUT",
        hide_env_values = true,
        default_value_t = 120,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub runtime_timeout: u64,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(value_enum, value_name = "TYPE")]
    pub container_type: ContainerType,

    #[command(flatten)]
    pub source: SourceArgs,

    /// IPv6 on the bridge, as for setup: none, auto or an address/64
    #[arg(long, value_name = "none|auto|ADDR/64", value_parser = clap::value_parser!(BridgeIpv6))]
    pub bridge_ipv6: Option<BridgeIpv6>,

    #[command(flatten)]
    pub storage: StorageArgs,

    /// The most any query of the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]
    #[arg(
        long,
        value_name = "SECONDS",
        env = "CONTAINER_INIT_RUNTIME_TIMEOUT",
        hide_env_values = true,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub runtime_timeout: Option<u64>,

    /// kvm only: missing hardware virtualisation is a WARN, as `setup kvm --allow-emulation` goes on without it
    #[arg(long)]
    pub allow_emulation: bool,
}

#[derive(Debug, Subcommand)]
pub enum ManagerConfigCommand {
    /// Print the manager config for a container type, keys sorted
    Show {
        #[arg(value_enum, value_name = "TYPE")]
        container_type: ContainerType,

        #[command(flatten)]
        source: SourceArgs,

        /// Document format [default: yaml, or json with --output json]
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Option<DocFormat>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    Yaml,
    Json,
}

/// Where the manager config comes from; shared by `setup`, `check` and `manager-config show`.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The controller's base URL (https://, or http:// on loopback)
    #[arg(
        long,
        value_name = "URL",
        env = "CONTAINER_INIT_CONTROLLER",
        hide_env_values = true
    )]
    pub controller: Option<String>,

    /// File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// PEM file with the CA that signed the controller's certificate
    #[arg(
        long,
        value_name = "FILE",
        env = "CONTAINER_INIT_CA_CERT",
        hide_env_values = true
    )]
    pub ca_cert: Option<PathBuf>,

    /// This machine's id at the controller
    #[arg(
        long,
        value_name = "ID",
        env = "CONTAINER_INIT_MACHINE",
        hide_env_values = true
    )]
    pub machine: Option<String>,

    /// Namespace for container names; overrides the controller's `name`
    #[arg(
        long,
        value_name = "NAME",
        env = "CONTAINER_INIT_NAMESPACE",
        hide_env_values = true
    )]
    pub namespace: Option<String>,

    /// Total seconds for the controller, retries included
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller
    #[arg(long, value_name = "FILE")]
    pub manager_config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ForwardingCommand {
    /// Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1
    Enable(PersistArgs),
    /// Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0
    Disable(PersistArgs),
    /// Print the running and persisted values
    Status,
}

#[derive(Debug, Args)]
pub struct PersistArgs {
    /// Change the running kernel only, not /etc/sysctl.d/60-container-init.conf
    #[arg(long)]
    pub no_persist: bool,
}

#[derive(Debug, Subcommand)]
pub enum LxcNetCommand {
    /// Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig
    Override(LxcNetArgs),
    /// Print the values in the current /etc/default/lxc-net
    Show,
    /// Put /etc/default/lxc-net.orig back
    Restore,
}

#[derive(Debug, Args)]
pub struct LxcNetArgs {
    /// Bridge name: letters, digits, '-', '_', '.'; at most 15 bytes [default: lxcbr0]
    #[arg(long, value_name = "NAME", value_parser = clap::value_parser!(BridgeName))]
    pub bridge: Option<BridgeName>,

    /// IPv4 network in CIDR form, prefix 8 to 30 [default: 10.0.3.0/24]
    #[arg(long, value_name = "CIDR", value_parser = clap::value_parser!(Ipv4Net))]
    pub network: Option<Ipv4Net>,

    /// The bridge's address [default: the network's first host]
    #[arg(long, value_name = "IPV4", value_parser = parse_ipv4)]
    pub address: Option<Ipv4Addr>,

    /// First and last address handed out by DHCP [default: after the address to the last host]
    #[arg(long, value_name = "START,END", value_parser = parse_range)]
    pub dhcp_range: Option<(Ipv4Addr, Ipv4Addr)>,

    /// Most DHCP leases at once [default: the size of the range]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16_777_216))]
    pub dhcp_max: Option<u32>,
}

fn parse_range(s: &str) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let (start, end) = s.split_once(',').ok_or_else(|| {
        format!(
            "{} is not a range; write START,END like 10.0.3.2,10.0.3.254",
            crate::config::limits::quote(s)
        )
    })?;
    Ok((parse_ipv4(start)?, parse_ipv4(end)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = Cli::try_parse_from([
            "container-init",
            "forwarding",
            "enable",
            "--dry-run",
            "--root",
            "/x",
        ])
        .unwrap();
        assert!(cli.dry_run);
        assert_eq!(cli.root, PathBuf::from("/x"));
    }

    #[test]
    fn ranges() {
        assert!(parse_range("10.0.3.2,10.0.3.9").is_ok());
        assert!(parse_range("10.0.3.2-10.0.3.9").is_err());
        assert!(parse_range("10.0.3.2,10.0.3.9,infinite").is_err());
    }
}
