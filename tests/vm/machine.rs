//! One running VM: QEMU booting an image's kernel and initrd directly, with
//! a copy-on-write overlay over the cached disk, the NoCloud seed as a
//! CD-ROM, user networking (the VM reaches this machine's loopback as
//! 10.0.2.2; sshd is forwarded to a port on 127.0.0.1) and the serial
//! console in a file. Commands run in it over ssh; every failure message
//! carries the end of the serial console, so that a red CI says why.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::image::{Accel, Image};

const CONSOLE_TAIL_LINES: usize = 80;
const SSH_RETRIES: usize = 3;

pub struct Vm {
    pub name: String,
    dir: PathBuf,
    port: u16,
    key: PathBuf,
    qemu: Option<Child>,
    console: PathBuf,
}

/// A port on 127.0.0.1 that nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A finished command's exit code and both streams, for a failure message.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run `cmd` with `input` on stdin, killing it at `limit`.
fn run_bounded(mut cmd: Command, input: &[u8], limit: Duration, dir: &Path) -> Output {
    // Files, not pipes: a long output cannot block the command while we wait.
    let stdout = tempfile::tempfile_in(dir).unwrap();
    let stderr = tempfile::tempfile_in(dir).unwrap();
    let mut stdin_file = tempfile::tempfile_in(dir).unwrap();
    use std::io::{Read, Seek, Write};
    stdin_file.write_all(input).unwrap();
    stdin_file.rewind().unwrap();
    let mut child = cmd
        .stdin(stdin_file)
        .stdout(stdout.try_clone().unwrap())
        .stderr(stderr.try_clone().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |mut f: fs::File| {
        let mut bytes = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut bytes).unwrap();
        bytes
    };
    let mut stderr = read(stderr);
    if timed_out {
        stderr.extend_from_slice(format!("\n(killed after {}s)\n", limit.as_secs()).as_bytes());
    }
    Output {
        status,
        stdout: read(stdout),
        stderr,
    }
}

impl Vm {
    /// Boot `image` from a fresh overlay in `dir` with the seed ISO.
    pub fn boot(name: &str, image: &Image, seed: &Path, accel: Accel, dir: &Path) -> Vm {
        fs::create_dir_all(dir).unwrap();
        let overlay = dir.join("overlay.qcow2");
        let _ = fs::remove_file(&overlay);
        let out = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(&image.disk)
            .arg(&overlay)
            .output()
            .unwrap();
        assert!(out.status.success(), "qemu-img create: {}", text(&out));
        let console = dir.join("console.log");
        let _ = fs::remove_file(&console);
        let port = free_port();
        let log = fs::File::create(dir.join("qemu.log")).unwrap();
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args(["-name", name, "-nodefaults", "-display", "none", "-no-user-config"])
            // One vCPU: under multi-threaded TCG a Debian 13 guest with two
            // died of an `Oops: int3` in __schedule right after a reboot (a
            // kernel text patch that the other vCPU ran into half-way),
            // and two VMs at once on two cores gain nothing from a second.
            .args(["-machine", "q35", "-m", "3072", "-smp", "1"])
            .args(accel.qemu_args())
            .arg("-kernel")
            .arg(&image.kernel)
            .arg("-initrd")
            .arg(&image.initrd)
            .args([
                "-append",
                "root=LABEL=root rw console=ttyS0,115200 ds=nocloud net.ifnames=1 systemd.journald.forward_to_console=0",
            ])
            .arg("-drive")
            .arg(format!("file={},if=virtio,format=qcow2,cache=unsafe", overlay.display()))
            .arg("-drive")
            .arg(format!("file={},if=virtio,format=raw,readonly=on", seed.display()))
            .args(["-netdev", &format!("user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22")])
            .args(["-device", "virtio-net-pci,netdev=n0"])
            .args(["-device", "virtio-rng-pci"])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let qemu = cmd.spawn().unwrap_or_else(|e| panic!("qemu-system-x86_64: {e}"));
        Vm {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            port,
            key: image.ssh_key.clone(),
            qemu: Some(qemu),
            console,
        }
    }

    /// The end of the serial console and QEMU's own messages.
    pub fn console_tail(&self) -> String {
        let console = fs::read(&self.console).unwrap_or_default();
        let qemu = fs::read_to_string(self.dir.join("qemu.log")).unwrap_or_default();
        format!(
            "--- {} serial console (last {CONSOLE_TAIL_LINES} lines of {}):\n{}\n--- qemu:\n{}",
            self.name,
            self.console.display(),
            tail(&String::from_utf8_lossy(&console), CONSOLE_TAIL_LINES),
            tail(&qemu, 20)
        )
    }

    /// Panic with `what`, the details, and the console.
    pub fn fail(&self, what: &str, details: &str) -> ! {
        panic!(
            "{}: {what}\n{details}\n{}\n{}",
            self.name,
            self.units(),
            self.console_tail()
        )
    }

    /// What systemd says of the runtimes and firewalls, while the VM still
    /// answers: a daemon that never became ready (seen once: Incus after a
    /// reboot, `incusd waitready` still waiting) shows there, not on the
    /// serial console.
    fn units(&self) -> String {
        let out = self.run(
            "systemctl --no-pager --failed; systemctl --no-pager list-jobs
             journalctl -b --no-pager -n 120 -u 'lxd*' -u 'incus*' -u lxc-net -u libvirtd \
               -u docker -u ufw -u firewalld",
            Duration::from_secs(90),
        );
        if out.status.success() {
            format!("--- {} units and their journal:\n{}", self.name, text(&out))
        } else {
            format!("--- {}: systemd not asked ({})", self.name, text(&out).trim())
        }
    }

    fn qemu_exited(&mut self) -> Option<String> {
        let child = self.qemu.as_mut()?;
        child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| format!("QEMU exited: {s}"))
    }

    /// Run a bash script in the VM as root, bounded by `limit`.
    pub fn run(&self, script: &str, limit: Duration) -> Output {
        // The whole script is read first and run with stdin from /dev/null:
        // a command in it that reads stdin (`lxc exec`) cannot eat the rest.
        let remote = "f=$(mktemp) && cat > \"$f\" && bash \"$f\" < /dev/null; rc=$?; rm -f \"$f\"; exit $rc";
        self.ssh(&[remote], script.as_bytes(), limit)
    }

    /// ssh, again after a failure to connect (255 and no output): under TCG
    /// on a busy machine sshd can miss a connect timeout. The remote side
    /// runs nothing before it has read all its input, so a retry is safe.
    fn ssh(&self, remote: &[&str], input: &[u8], limit: Duration) -> Output {
        let mut out = self.ssh_once(remote, input, limit);
        for _ in 0..SSH_RETRIES {
            if out.status.code() != Some(255) || !out.stdout.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_secs(10));
            out = self.ssh_once(remote, input, limit);
        }
        out
    }

    fn ssh_once(&self, remote: &[&str], input: &[u8], limit: Duration) -> Output {
        let mut cmd = Command::new("ssh");
        cmd.arg("-i")
            .arg(&self.key)
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "ServerAliveInterval=15",
                "-o",
                "ServerAliveCountMax=8",
                "-p",
            ])
            .arg(self.port.to_string())
            .arg("root@127.0.0.1")
            .args(remote);
        run_bounded(cmd, input, limit, &self.dir)
    }

    /// Run a script that must exit 0; its stdout. A failure names `what`,
    /// the script's output and the console.
    pub fn must(&self, what: &str, script: &str, limit: Duration) -> String {
        let out = self.run(script, limit);
        if !out.status.success() {
            self.fail(what, &text(&out));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Copy `bytes` to `path` in the VM.
    pub fn put(&self, path: &str, bytes: &[u8], mode: u32) {
        let install = format!("cat > {path} && chmod {mode:o} {path}");
        let out = self.ssh(&[&install], bytes, Duration::from_secs(120));
        if !out.status.success() {
            self.fail(&format!("copy {path} into the VM"), &text(&out));
        }
    }

    /// Wait until sshd answers (a boot), at most `limit`.
    pub fn wait_ssh(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(gone) = self.qemu_exited() {
                self.fail("the VM stopped while booting", &gone);
            }
            if self.run("true", Duration::from_secs(30)).status.success() {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!("no ssh after {}s", limit.as_secs()), "");
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    }

    pub fn boot_id(&self) -> String {
        self.must(
            "read the boot id",
            "cat /proc/sys/kernel/random/boot_id",
            Duration::from_secs(30),
        )
        .trim()
        .to_string()
    }

    /// A real reboot through systemd, and back until sshd answers in the new boot.
    pub fn reboot(&mut self, limit: Duration) {
        let before = self.boot_id();
        let _ = self.run("systemctl reboot", Duration::from_secs(30));
        let deadline = Instant::now() + limit;
        loop {
            std::thread::sleep(Duration::from_secs(5));
            if let Some(gone) = self.qemu_exited() {
                self.fail("the VM stopped instead of rebooting", &gone);
            }
            let out = self.run("cat /proc/sys/kernel/random/boot_id", Duration::from_secs(30));
            if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() != before {
                return;
            }
            if Instant::now() > deadline {
                self.fail(
                    &format!("not back after a reboot within {}s", limit.as_secs()),
                    "",
                );
            }
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Some(mut qemu) = self.qemu.take() {
            let _ = qemu.kill();
            let _ = qemu.wait();
        }
    }
}
