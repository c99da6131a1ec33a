//! What the VM tests do inside a VM, in the order users meet it: cloud-init
//! runs the README's recipe (package, controller, `setup lxd` from bare);
//! then the other types are set up, rerun (nothing changes) and checked;
//! busybox guests of each container type get a lease and reach a test host
//! through NAT; Docker is installed and the VM rebooted, and with no
//! container-init run since, new guests still get out and `check` passes.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::image::{self, Accel};
use super::machine::{Vm, text};
use super::seed::{self, World};
use super::{say, slot};

const GUEST_SCRIPT: &str = include_str!("guest.sh");
const BUSYBOX_IMAGE_SCRIPT: &str = include_str!("../support/busybox-image.sh");

/// What the controller hands every type: the values a controller sends for
/// a plain NAT'ed bridge.
const MANAGER_CONFIG: &str = r#"{"config": {"name": "vm-test", "enable-nat": "true"}}"#;

const MINUTE: Duration = Duration::from_secs(60);

pub struct Distribution {
    /// `debian-13`: the VM's and the image's name.
    pub name: &'static str,
    pub suite: &'static str,
    /// Types whose packages the image already has, installed by mmdebstrap
    /// at the host's speed (apt under TCG is about ten times slower); the
    /// others are set up from bare inside the VM.
    pub preinstalled: &'static [&'static str],
    /// Extra `setup incus` options: Debian 13 puts Incus's pool `default`
    /// on an LVM thin pool in a loop file (Debian's kernel has
    /// `dm_thin_pool`; the CI machine's has no device-mapper), which must
    /// be found again after the reboot.
    pub incus_storage: &'static str,
    pub packages: &'static [&'static str],
    /// A firewall on from the first boot, before cloud-init's recipe runs:
    /// every type is set up through it, and it reloads before the reboot.
    pub firewall: Option<Firewall>,
}

/// Debian 13, the release users mostly run: the README's recipe installs
/// LXD from bare and Incus comes from bare (trixie's own `main`); LXC's and
/// KVM's packages are in the image. Docker is in the image too, disabled:
/// the test enables it after setup (installing it under TCG took 2.5 min).
pub const DEBIAN_13: Distribution = Distribution {
    name: "debian-13",
    suite: "trixie",
    preinstalled: &["lxc", "kvm"],
    incus_storage: "--storage-driver lvm --storage-size 4GiB",
    packages: &[
        "lxc",
        "dnsmasq-base",
        "qemu-system-x86",
        "libvirt-daemon-system",
        "libvirt-clients",
        "docker.io",
    ],
    firewall: None,
};

/// Debian 12 with ufw on from the first boot, as hardened images come:
/// every type's packages are in the image (LXD and Incus from bare are
/// proven on Debian 13, and Incus from the bookworm-backports the tool adds
/// on the CI machine itself), so the VM spends its time on what setup does
/// through ufw, then Docker, then a reboot.
pub const DEBIAN_12: Distribution = Distribution {
    name: "debian-12",
    suite: "bookworm",
    preinstalled: &["lxd", "incus", "lxc", "kvm"],
    incus_storage: "",
    packages: &[
        "lxd",
        "incus-base/bookworm-backports",
        "incus-client/bookworm-backports",
        "ufw",
        "lxc",
        "dnsmasq-base",
        "qemu-system-x86",
        "libvirt-daemon-system",
        "libvirt-clients",
        "docker.io",
    ],
    firewall: Some(Firewall::Ufw),
};

/// One line of the closing table.
struct Row {
    ty: &'static str,
    setup: String,
    rerun: String,
    guest: String,
    after_reboot: String,
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// One run of the tool in the VM with `--output json`.
struct ToolRun {
    code: Option<i32>,
    report: Value,
    output: String,
    elapsed: Duration,
}

fn tool(vm: &Vm, args: &str, limit: Duration) -> ToolRun {
    let script = format!(
        "start=$(date +%s%N)\ncontainer-init {args} --output json\nrc=$?\n\
         echo \"CI-ELAPSED-MS $(( ($(date +%s%N) - start) / 1000000 ))\" >&2\nexit $rc\n"
    );
    let out = vm.run(&script, limit);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let elapsed = stderr
        .lines()
        .find_map(|l| l.strip_prefix("CI-ELAPSED-MS "))
        .and_then(|ms| ms.trim().parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    ToolRun {
        code: out.status.code(),
        report: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        output: format!("`container-init {args} --output json`: {}", text(&out)),
        elapsed,
    }
}

fn step<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["steps"].as_array()?.iter().find(|s| s["name"] == name)
}

/// `setup` (or a rerun) that must exit 0.
fn setup(vm: &Vm, ty: &str, controller: &str) -> ToolRun {
    let emulation = if ty == "kvm" { " --allow-emulation" } else { "" };
    let run = tool(vm, &format!("setup {ty} {controller}{emulation}"), 30 * MINUTE);
    if run.code != Some(0) {
        vm.fail(&format!("setup {ty} failed"), &run.output);
    }
    run
}

fn check(vm: &Vm, ty: &str, controller: &str, when: &str) {
    let emulation = if ty == "kvm" { " --allow-emulation" } else { "" };
    let out = vm.run(
        &format!("container-init check {ty} {controller}{emulation}"),
        5 * MINUTE,
    );
    if !out.status.success() {
        vm.fail(&format!("check {ty} fails {when}"), &text(&out));
    }
}

/// A busybox guest of `ty` gets a lease and reaches the test host.
fn guest(vm: &Vm, ty: &str, name: &str, when: &str) -> String {
    let out = vm.run(&format!("sh /root/guest.sh guest {ty} {name}"), 10 * MINUTE);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        vm.fail(&format!("a {ty} guest {when}"), &text(&out));
    }
    let lease = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LEASE "))
        .unwrap_or("?")
        .to_string();
    format!("lease {lease}, out")
}

/// Incus's pool `default` is an LVM thin pool in a loop file, active:
/// what Incus reports, and what LVM itself shows (a thin pool, `t` in the
/// first attribute, and the loop device under its volume group).
fn lvm_thin_pool(vm: &Vm, when: &str) -> String {
    let out = vm.run(
        "set -e
         incus query /1.0/storage-pools/default | tee /tmp/pool.json
         echo
         lvs --noheadings -o vg_name,lv_name,lv_attr,lv_size,data_percent
         pvs --noheadings -o pv_name,vg_name",
        5 * MINUTE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let pool: Value = stdout
        .split("\n\n")
        .next()
        .and_then(|json| serde_json::from_str(json.trim()).ok())
        .unwrap_or(Value::Null);
    let thin = stdout.lines().any(|l| {
        l.split_whitespace()
            .nth(2)
            .is_some_and(|attr| attr.starts_with('t'))
    });
    let on_loop = stdout.lines().any(|l| l.trim_start().starts_with("/dev/loop"));
    if !out.status.success() || pool["driver"] != "lvm" || pool["status"] != "Created" || !thin || !on_loop {
        vm.fail(
            &format!("Incus's pool default is not an LVM thin pool on a loop file {when}"),
            &text(&out),
        );
    }
    let name = pool["config"]["lvm.thinpool_name"].as_str().unwrap_or("?");
    format!("lvm, thin pool {name} on a loop device, status Created")
}

/// Seconds from dpkg installing container-init to the end of cloud-init's
/// run: the recipe's `setup lxd` from bare (its lines in
/// cloud-init-output.log carry no times).
const SETUP_FROM_BARE: &str = r#"
start=$(grep ' status installed container-init:' /var/log/dpkg.log | head -n 1 | cut -d' ' -f1,2)
end=$(stat -c %y /var/lib/cloud/instance/boot-finished)
echo $(( $(date -d "$end" +%s) - $(date -d "$start" +%s) ))
"#;

pub fn distribution(d: &Distribution, deb: &Path) {
    let _slot = slot();
    let started = Instant::now();
    let image = image::image(
        d.name,
        d.suite,
        d.packages,
        image::Options {
            cloud_init: true,
            ufw_on: d.firewall == Some(Firewall::Ufw),
        },
    );
    let (accel, why) = image::accelerator(&image.kernel);
    say(&format!(
        "VM {}: image {}; {accel:?} ({why})",
        d.name,
        image
            .built_in
            .map(|t| format!("built in {}", secs(t)))
            .unwrap_or_else(|| "from the cache".into())
    ));
    let world = World::start(deb, MANAGER_CONFIG);
    let user_data = seed::user_data(&world);
    let controller = user_data.controller_args.join(" ");
    let dir = image::vm_dir().join(format!("run-{}", d.name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let iso = seed::seed_iso(
        &dir,
        &user_data.text,
        &format!("{}-{}", d.name, std::process::id()),
    );
    let boot_limit = if accel == Accel::Kvm {
        5 * MINUTE
    } else {
        25 * MINUTE
    };
    let mut vm = Vm::boot(d.name, &image, &iso, accel, &dir);
    vm.wait_ssh(boot_limit);
    let booted = started.elapsed();

    // cloud-init runs the README's recipe: the package from this machine,
    // the controller, `setup lxd` from bare.
    let out = vm.run(
        // result.json is written when the last stage ends; `status --wait`
        // alone returns early on cloud-init 22 (Debian 12) once any module
        // has failed (its locale module does there).
        "cloud-init status --wait >/dev/null; until [ -e /run/cloud-init/result.json ]; do sleep 5; done
         cloud-init status --long; echo ---; cat /var/log/cloud-init-output.log",
        40 * MINUTE,
    );
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    if !log.contains("host ready for LXD") {
        vm.fail(
            "the README's cloud-init recipe did not end with \"host ready for LXD\"",
            &format!("user-data:\n{}\n{}", user_data.text, text(&out)),
        );
    }
    let asked = world.requests();
    assert!(
        asked.iter().any(|r| r.starts_with(&format!(
            "GET /v1/container-manager-config/lxd?machine={} ",
            seed::MACHINE
        )) && r.ends_with("authorised=true")),
        "the recipe's setup lxd did not ask the controller with the token: {asked:?}"
    );
    let bare = vm.must("time the recipe's setup", SETUP_FROM_BARE, MINUTE);
    let lxd_how = if d.preinstalled.contains(&"lxd") {
        "packages preinstalled"
    } else {
        "from bare"
    };
    let mut rows = vec![Row {
        ty: "lxd",
        setup: format!("{}s {lxd_how} (cloud-init recipe)", bare.trim()),
        rerun: String::new(),
        guest: String::new(),
        after_reboot: String::new(),
    }];
    say(&format!(
        "VM {}: booted in {}; cloud-init recipe ran `setup lxd` ({lxd_how}) in {}s",
        d.name,
        secs(booted),
        bare.trim()
    ));

    if let Some(fw) = d.firewall {
        let state = vm.must(
            &format!("{} on from the first boot", fw.name()),
            fw.active(),
            MINUTE,
        );
        say(&format!(
            "VM {}: {} on from the first boot: {}",
            d.name,
            fw.name(),
            state.trim().replace('\n', "; ")
        ));
    }
    vm.put("/root/guest.sh", GUEST_SCRIPT.as_bytes(), 0o755);
    vm.put("/root/busybox-image.sh", BUSYBOX_IMAGE_SCRIPT.as_bytes(), 0o755);
    vm.must("start the test host", "sh /root/guest.sh testhost", MINUTE);

    // The other types, the way an operator runs them after the recipe.
    let args_of = |ty: &str| match ty {
        "incus" if !d.incus_storage.is_empty() => format!("{controller} {}", d.incus_storage),
        _ => controller.clone(),
    };
    for ty in ["incus", "lxc", "kvm"] {
        let run = setup(&vm, ty, &args_of(ty));
        let how = if d.preinstalled.contains(&ty) {
            "packages preinstalled"
        } else {
            "from bare"
        };
        say(&format!(
            "VM {}: setup {ty} ({how}) in {}",
            d.name,
            secs(run.elapsed)
        ));
        let mut how = how.to_string();
        if ty == "incus" && !d.incus_storage.is_empty() {
            let pool = lvm_thin_pool(&vm, "after setup incus");
            say(&format!("VM {}: Incus's pool {pool}", d.name));
            how.push_str(", pool default on an LVM thin pool in a loop file");
        }
        if ty == "kvm" {
            for name in [
                "libvirt-daemon",
                "libvirt-network",
                "libvirt-pool",
                "coexistence",
                "readiness",
            ] {
                let status = step(&run.report, name).map(|s| s["status"].clone());
                let ok = matches!(
                    status.as_ref().and_then(|s| s.as_str()),
                    Some("changed" | "unchanged")
                );
                if !ok {
                    vm.fail(&format!("setup kvm: step {name} is {status:?}"), &run.output);
                }
            }
        }
        rows.push(Row {
            ty,
            setup: format!("{} {how}", secs(run.elapsed)),
            rerun: String::new(),
            guest: String::new(),
            after_reboot: String::new(),
        });
    }

    // Reruns change nothing; check passes.
    for row in &mut rows {
        let run = setup(&vm, row.ty, &args_of(row.ty));
        if run.report["changed"] != Value::Bool(false) {
            vm.fail(
                &format!("a rerun of setup {} changed something", row.ty),
                &run.output,
            );
        }
        row.rerun = secs(run.elapsed);
        check(&vm, row.ty, &controller, "after setup");
    }

    // Guests of each container type get out; KVM's readiness passed above.
    for row in &mut rows {
        row.guest = match row.ty {
            "kvm" => "readiness passed (no nested guest)".into(),
            ty => guest(&vm, ty, &format!("ci-{ty}-1"), "after setup"),
        };
    }

    // The firewall reloads (what a package or an operator's rule change
    // does): what setup opened in it is still there, checked for every
    // type, and a guest still gets out.
    if let Some(fw) = d.firewall {
        vm.must(&format!("reload {}", fw.name()), fw.reload(), 5 * MINUTE);
        for row in &rows {
            check(&vm, row.ty, &controller, &format!("after `{}`", fw.reload()));
        }
        let out = guest(&vm, "lxc", "ci-lxc-reloaded", &format!("after `{}`", fw.reload()));
        say(&format!(
            "VM {}: after `{}`, check passes for every type and an lxc guest: {out}",
            d.name,
            fw.reload()
        ));
    }

    // Docker, a unit started at boot, then a real reboot. docker.io is in
    // the image, disabled: it arrives now, after setup, as when an operator
    // installs it (its package enables and starts it); the reboot then
    // starts it at boot, in an order the tool does not control.
    let docker_started = Instant::now();
    vm.must(
        "enable and start Docker",
        "systemctl enable --now docker.socket docker.service && systemctl is-active docker && iptables -S FORWARD | head -n 1",
        10 * MINUTE,
    );
    say(&format!(
        "VM {}: Docker enabled and started in {}",
        d.name,
        secs(docker_started.elapsed())
    ));
    vm.reboot(boot_limit);
    let state = vm.run(
        "systemctl is-system-running --wait; systemctl is-active docker; systemctl --failed --no-legend",
        10 * MINUTE,
    );
    let state_text = String::from_utf8_lossy(&state.stdout).into_owned();
    if !state_text.lines().any(|l| l == "active") {
        vm.fail("Docker is not running after the reboot", &text(&state));
    }
    vm.must(
        "start the test host after the reboot",
        "sh /root/guest.sh testhost",
        MINUTE,
    );
    if !d.incus_storage.is_empty() {
        let pool = lvm_thin_pool(&vm, "after the reboot");
        say(&format!("VM {}: after the reboot, Incus's pool {pool}", d.name));
    }
    for row in &mut rows {
        row.after_reboot = match row.ty {
            "kvm" => "check passes".into(),
            ty => guest(&vm, ty, &format!("ci-{ty}-2"), "after the reboot with Docker"),
        };
        if row.ty == "incus" && !d.incus_storage.is_empty() {
            row.after_reboot
                .push_str(" (its root on the LVM thin pool, found again after the reboot)");
        }
        check(&vm, row.ty, &controller, "after the reboot with Docker");
    }

    say(&format!(
        "VM {}: done in {} ({accel:?})\n| {} | type | setup | rerun | guest | after reboot with Docker |",
        d.name,
        secs(started.elapsed()),
        d.name
    ));
    for row in &rows {
        say(&format!(
            "| {} | {} | {} | {} | {} | {} |",
            d.name, row.ty, row.setup, row.rerun, row.guest, row.after_reboot
        ));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firewall {
    Firewalld,
    Ufw,
}

impl Firewall {
    fn name(self) -> &'static str {
        match self {
            Firewall::Firewalld => "firewalld",
            Firewall::Ufw => "ufw",
        }
    }

    /// The firewall running as an operator leaves it, keeping ssh open.
    fn enable(self) -> &'static str {
        match self {
            Firewall::Firewalld => "systemctl is-active firewalld && firewall-cmd --state",
            Firewall::Ufw => "ufw allow 22/tcp && ufw --force enable && ufw status verbose",
        }
    }

    /// Succeeds, printing the firewall's state, only while it is on.
    fn active(self) -> &'static str {
        match self {
            Firewall::Firewalld => "firewall-cmd --state",
            Firewall::Ufw => "s=$(ufw status verbose); echo \"$s\"; echo \"$s\" | grep -qx 'Status: active'",
        }
    }

    /// What the firewall lets through, for a failure message.
    fn state(self) -> &'static str {
        match self {
            Firewall::Firewalld => {
                "firewall-cmd --get-default-zone; firewall-cmd --get-active-zones; firewall-cmd --list-all; nft list table inet firewalld | head -n 120"
            }
            Firewall::Ufw => "ufw status verbose; iptables-save | head -n 120",
        }
    }

    fn reload(self) -> &'static str {
        match self {
            Firewall::Firewalld => "firewall-cmd --reload",
            Firewall::Ufw => "ufw reload",
        }
    }
}

/// Types the firewall VMs set up: their packages are in the image, so the
/// VM runs only setup's own work. One bridge shows what the firewall does
/// to every bridge; the Debian VMs cover the other types.
const FIREWALL_TYPES: [&str; 1] = ["lxc"];

/// A firewall for real in a Debian 13 VM of its own (firewalld; ufw runs in
/// the Debian 12 VM): with it running, `setup` opens the bridge and guests
/// get out, also after the firewall reloads and after a reboot.
pub fn firewall(fw: Firewall, deb: &Path) {
    let _slot = slot();
    let started = Instant::now();
    let name = format!("debian-13-{}", fw.name());
    let packages = ["lxc", "dnsmasq-base", fw.name()];
    // trixie's cloud-init `Conflicts: firewalld`: that VM has none, and
    // systemd-networkd takes its address by DHCP.
    let cloud_init = !matches!(fw, Firewall::Firewalld);
    let image = image::image(
        &name,
        "trixie",
        &packages,
        image::Options {
            cloud_init,
            ufw_on: false,
        },
    );
    let (accel, _) = image::accelerator(&image.kernel);
    let world = World::start(deb, MANAGER_CONFIG);
    let dir = image::vm_dir().join(format!("run-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let iso = seed::seed_iso(
        &dir,
        "#cloud-config\n{}\n",
        &format!("{name}-{}", std::process::id()),
    );
    let boot_limit = if accel == Accel::Kvm {
        5 * MINUTE
    } else {
        25 * MINUTE
    };
    let mut vm = Vm::boot(&name, &image, &iso, accel, &dir);
    vm.wait_ssh(boot_limit);
    vm.must(
        "install the package",
        &format!(
            "if command -v cloud-init >/dev/null; then
               cloud-init status --wait >/dev/null || true
               until [ -e /run/cloud-init/result.json ]; do sleep 5; done
             fi
             curl -fsSLo /tmp/container-init.deb {}
             apt-get install -y -q /tmp/container-init.deb >/tmp/deb-install.log 2>&1 || {{ tail -n 30 /tmp/deb-install.log; exit 1; }}",
            world.deb_url()
        ),
        15 * MINUTE,
    );
    vm.must(&format!("enable {}", fw.name()), fw.enable(), 5 * MINUTE);
    vm.put("/root/guest.sh", GUEST_SCRIPT.as_bytes(), 0o755);
    vm.put("/root/busybox-image.sh", BUSYBOX_IMAGE_SCRIPT.as_bytes(), 0o755);
    vm.must("start the test host", "sh /root/guest.sh testhost", MINUTE);

    // What setup did to the firewall, kept for the guest's failure message:
    // the guest getting out is what counts.
    let mut setup_said = String::new();
    for ty in FIREWALL_TYPES {
        let run = setup(&vm, ty, "");
        let coexistence = step(&run.report, "coexistence").cloned().unwrap_or(Value::Null);
        let detail = coexistence["detail"].as_str().unwrap_or("").to_string();
        if coexistence["status"] != "changed" || !detail.contains(fw.name()) {
            let state = vm.run(fw.state(), 2 * MINUTE);
            say(&format!(
                "VM {name}: setup {ty} opened nothing in {}; its state:\n{}",
                fw.name(),
                text(&state)
            ));
            setup_said.push_str(&format!(
                "setup {ty} opened nothing in {}:\n{}\n{} state: {}\n",
                fw.name(),
                run.output,
                fw.name(),
                text(&state)
            ));
        }
        let rerun = setup(&vm, ty, "");
        if rerun.report["changed"] != Value::Bool(false) {
            vm.fail(&format!("a rerun of setup {ty} changed something"), &rerun.output);
        }
        say(&format!(
            "VM {name}: setup {ty} in {} ({detail}); rerun {}",
            secs(run.elapsed),
            secs(rerun.elapsed)
        ));
    }
    for ty in FIREWALL_TYPES {
        let out = vm.run(&format!("sh /root/guest.sh guest {ty} ci-{ty}-1"), 10 * MINUTE);
        if !out.status.success() {
            vm.fail(
                &format!("a {ty} guest with {} running", fw.name()),
                &format!("{}\n{setup_said}", text(&out)),
            );
        }
        say(&format!(
            "VM {name}: {ty} guest out: {}",
            String::from_utf8_lossy(&out.stdout).trim().replace('\n', "; ")
        ));
    }
    vm.must(&format!("reload {}", fw.name()), fw.reload(), 5 * MINUTE);
    for ty in FIREWALL_TYPES {
        guest(
            &vm,
            ty,
            &format!("ci-{ty}-2"),
            &format!("after `{}`", fw.reload()),
        );
        check(&vm, ty, "", &format!("after `{}`", fw.reload()));
    }
    vm.reboot(boot_limit);
    vm.must(
        "start the test host after the reboot",
        "sh /root/guest.sh testhost",
        MINUTE,
    );
    for ty in FIREWALL_TYPES {
        guest(
            &vm,
            ty,
            &format!("ci-{ty}-3"),
            &format!("after a reboot with {}", fw.name()),
        );
        check(&vm, ty, "", "after a reboot");
    }
    say(&format!(
        "VM {name}: guests out with {} running, after its reload and after a reboot; done in {}",
        fw.name(),
        secs(started.elapsed())
    ));
}
