//! A fake host for `setup` and `check`: a `--root` tree, and the fake tools of
//! `tests/fakes/fake-host.py` alone on `PATH`, so that nothing real is run.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

const TOOLS: [&str; 22] = [
    "apt-get",
    "apt-cache",
    "apt-config",
    "snap",
    "systemctl",
    "service",
    "start-stop-daemon",
    "lxd",
    "lxc",
    "incus",
    "usermod",
    "gpasswd",
    "lxc-ls",
    "virsh",
    "ip",
    "dpkg-query",
    "dpkg",
    "ss",
    "lsblk",
    "wipefs",
    "vgs",
    "zpool",
];

/// The firewall tools, faked only for hosts that have them (`with_firewall_tools`).
const FIREWALL_TOOLS: [&str; 9] = [
    "nft",
    "iptables-nft-save",
    "ip6tables-nft-save",
    "ip6tables-nft",
    "iptables-legacy-save",
    "iptables-nft",
    "iptables-legacy",
    "ufw",
    "firewall-cmd",
];

/// The IPv4 routing table of the fake host: a default route through eth0.
pub const ROUTES: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                          eth0\t00000000\t0100930A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                          eth0\t0000930A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

pub const DEBIAN_12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                             VERSION_ID=\"12\"\nID=debian\n";
pub const DEBIAN_13: &str = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nNAME=\"Debian GNU/Linux\"\n\
                             VERSION_ID=\"13\"\nVERSION_CODENAME=trixie\nID=debian\n";
pub const UBUNTU_24_04: &str = "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\n\
                                ID=ubuntu\nID_LIKE=debian\n";
pub const FEDORA_40: &str =
    "NAME=\"Fedora Linux\"\nVERSION_ID=40\nID=fedora\nPRETTY_NAME=\"Fedora Linux 40 (Server Edition)\"\n";

pub const CPU_PLAIN: &str =
    "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae sse sse2 ht syscall nx lm\n";
pub const CPU_VMX: &str =
    "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae sse sse2 vmx ht syscall nx lm\n";

/// apt-get's install line as the tool writes it, before the packages.
pub const APT_INSTALL: &str =
    "apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

/// Run the tool with `--output json` added.
pub fn json_run(host: &FakeHost, args: &[&str]) -> Run {
    json_run_with_env(host, args, &[])
}

pub fn json_run_with_env(host: &FakeHost, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    host.run_with_env(&all, env)
}

/// A step's detail, from `--output json`.
pub fn detail(run: &Run, step: &str) -> String {
    run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == step)
        .unwrap_or_else(|| panic!("no step {step}: {run}"))["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

pub struct FakeHost {
    pub root: TempDir,
    pub state: TempDir,
    bin: TempDir,
    /// Daemons' sockets that answer (a listening socket connects without
    /// being accepted, up to its backlog).
    listening: std::cell::RefCell<Vec<std::os::unix::net::UnixListener>>,
}

/// A finished run of the tool.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The command lines the fake tools saw during this run.
    pub commands: Vec<String>,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self}"))
    }

    /// Each step's name and status, from `--output json`.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.json()["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub fn status_of(&self, step: &str) -> String {
        self.statuses()
            .into_iter()
            .find(|(name, _)| name == step)
            .unwrap_or_else(|| panic!("no step {step}: {self}"))
            .1
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}--- commands\n{}",
            self.code,
            self.stdout,
            self.stderr,
            self.commands.join("\n")
        )
    }
}

impl FakeHost {
    /// A host with `os_release`, no package of interest installed and
    /// nothing running.
    pub fn new(os_release: &str) -> FakeHost {
        let host = FakeHost {
            root: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
            bin: tempfile::tempdir().unwrap(),
            listening: Default::default(),
        };
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/fake-host.py");
        let mode = fs::metadata(&fake).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{} is not executable", fake.display());
        for tool in TOOLS {
            std::os::unix::fs::symlink(&fake, host.bin.path().join(tool)).unwrap();
        }
        // Runtime commands run in a clean environment: the fakes find their
        // state from here, not from FAKE_HOST_* variables.
        fs::write(
            host.bin.path().join("fake-host.json"),
            serde_json::json!({"state": host.state.path(), "root": host.root.path()}).to_string(),
        )
        .unwrap();
        host.write("etc/os-release", os_release);
        host.write("proc/cpuinfo", CPU_PLAIN);
        host.write("proc/sys/net/ipv4/ip_forward", "0\n");
        host.write("proc/sys/net/ipv4/conf/all/proxy_arp", "0\n");
        host.write("proc/net/route", ROUTES);
        host.write("sys/class/net/eth0/flags", "0x1003\n");
        host.write("sys/class/net/eth0/mtu", "1500\n");
        host.write(
            "var/lib/dpkg/status",
            "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n",
        );
        host.set_state(serde_json::json!({}));
        host
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    pub fn write(&self, relative: &str, content: &str) {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path(relative)).unwrap_or_default()
    }

    /// `tool` is the real one on this machine, not the fake (read-only
    /// queries only, such as `apt-cache policy`).
    pub fn use_real(&self, tool: &str, real: &Path) {
        let link = self.bin.path().join(tool);
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(real, link).unwrap();
    }

    /// nft, iptables-{nft,legacy}[-save], ufw and firewall-cmd are installed
    /// (fakes answering from the state's `iptables_nft`, `nft`, `firewalld`...).
    pub fn with_firewall_tools(self) -> FakeHost {
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/fake-host.py");
        for tool in FIREWALL_TOOLS {
            std::os::unix::fs::symlink(&fake, self.bin.path().join(tool)).unwrap();
        }
        self
    }

    /// A runtime's bridge as a running runtime leaves it: up with its
    /// address, dnsmasq listening there (DNS on the address, DHCP on
    /// 0.0.0.0:67 in /proc/net/udp), and forwarding on for its NAT.
    /// What `setup` persists for a bridge with NAT: forwarding from boot on.
    pub fn forwarding_persisted(&self) {
        self.write(
            "etc/sysctl.d/60-container-init.conf",
            "# Written by container-init (forwarding enable|disable, and setup for NAT); rewritten whole on each change.\n\
             # Containers on a bridge reach the network through this host.\n\
             net.ipv4.ip_forward = 1\n",
        );
    }

    pub fn bridge_up(&self, name: &str, address: &str) {
        self.write(&format!("sys/class/net/{name}/flags"), "0x1003\n");
        let mut state = self.state();
        state["link_addrs"][name] = serde_json::json!(address);
        self.set_state(state);
        let hex = |ip: &str| {
            let o: Vec<u8> = ip.split('.').map(|p| p.parse().unwrap()).collect();
            format!("{:02X}{:02X}{:02X}{:02X}", o[3], o[2], o[1], o[0])
        };
        let ip = address.split('/').next().unwrap();
        let socket = |i: u32, ip: &str, port: u16| {
            format!(
                "{i:4}: {}:{port:04X} 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 {} 2 0000000000000000 0\n",
                hex(ip),
                1000 + i
            )
        };
        self.write(
            "proc/net/udp",
            &format!(
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n{}{}",
                socket(0, ip, 53),
                socket(1, "0.0.0.0", 67)
            ),
        );
        self.write("proc/sys/net/ipv4/ip_forward", "1\n");
    }

    /// systemd runs this host (it creates this directory when it boots one).
    pub fn with_systemd(self) -> FakeHost {
        fs::create_dir_all(self.path("run/systemd/system")).unwrap();
        self
    }

    /// A daemon that already runs: its socket under the root answers.
    pub fn answering(&self, socket: &str) {
        let path = self.path(socket);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        self.listening.borrow_mut().push(listener);
    }

    pub fn installed(&self, packages: &[&str]) {
        let mut status = self.read("var/lib/dpkg/status");
        for p in packages {
            status.push_str(&format!(
                "\nPackage: {p}\nStatus: install ok installed\nVersion: 1.0\n"
            ));
        }
        self.write("var/lib/dpkg/status", &status);
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(self.state.path().join("state.json")).unwrap()).unwrap()
    }

    pub fn set_state(&self, state: serde_json::Value) {
        fs::write(
            self.state.path().join("state.json"),
            serde_json::to_string(&state).unwrap(),
        )
        .unwrap();
    }

    /// Merge `changes` into the fake tools' state.
    pub fn update_state(&self, changes: serde_json::Value) {
        let mut state = self.state();
        for (k, v) in changes.as_object().unwrap() {
            state[k] = v.clone();
        }
        self.set_state(state);
    }

    /// Each command the fakes saw, with the environment it ran in (PATH,
    /// HOME, LC_ALL and the variables that steer a runtime's client).
    pub fn env_log(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(self.state.path().join("env.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn log(&self) -> Vec<String> {
        fs::read_to_string(self.state.path().join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The environment the tool runs in on this host. The fakes alone on
    /// PATH: a tool the test did not fake fails to start instead of reaching
    /// the real one on this machine.
    pub fn tool_env(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("PATH", self.bin.path().to_path_buf()),
            ("FAKE_HOST_STATE", self.state.path().to_path_buf()),
            ("FAKE_HOST_ROOT", self.root.path().to_path_buf()),
        ]
    }

    /// Run the tool with `--root` on this host and only the fakes on PATH.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_from(self.command(args, env))
    }

    /// Run the tool the way `flock FILE container-init ...` does: with a
    /// descriptor (7, on /dev/null) open that it did not open itself.
    pub fn run_with_inherited_fd(&self, args: &[&str]) -> Run {
        let mut wrapper = std::process::Command::new("/bin/sh");
        wrapper
            .args(["-c", "exec \"$@\" 7</dev/null", "sh"])
            .arg(assert_cmd::cargo::cargo_bin("container-init"));
        self.run_from(self.on_this_host(wrapper, args, &[]))
    }

    fn run_from(&self, mut cmd: std::process::Command) -> Run {
        let before = self.log().len();
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            commands: self.log().split_off(before),
        }
    }

    /// The tool with `--root` on this host and only the fakes on PATH, to
    /// be run or spawned.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        let tool = std::process::Command::new(assert_cmd::cargo::cargo_bin("container-init"));
        self.on_this_host(tool, args, env)
    }

    /// `cmd` (the tool, or a wrapper that runs it with the words that
    /// follow) on this host, in an environment the caller cannot leak into.
    fn on_this_host(
        &self,
        mut cmd: std::process::Command,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Command {
        for var in super::LEAKY_ENV {
            cmd.env_remove(var);
        }
        cmd.arg("--root")
            .arg(self.root.path())
            .args(args)
            .envs(self.tool_env())
            .env_remove("DEBIAN_FRONTEND")
            .env_remove("CONTAINER_INIT_ADDRESS_ALLOCATION");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// Command lines in a fixed order: a converged run asks its last reads all
/// at once, so they reach the fakes in any order.
pub fn sorted<S: AsRef<str>>(commands: &[S]) -> Vec<String> {
    let mut out: Vec<String> = commands.iter().map(|c| c.as_ref().to_string()).collect();
    out.sort();
    out
}
