//! `setup lxd|incus` and `check` with `storage-driver`, `-source`, `-size`
//! and `-wipe` against fake hosts: the exact commands for btrfs, LVM thin
//! and ZFS, the kernel checks before anything is installed, the data-safety
//! rule for devices, and existing pools that are never converted.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use serde_json::json;
use support::assert_one_error_line;
use support::fake_host::*;

const RELEASE: &str = "6.1.0-28-amd64";

/// A Debian 13 host whose kernel has btrfs in /proc/filesystems, and the
/// dm-thin-pool module (no ZFS).
fn debian_13() -> FakeHost {
    let host = FakeHost::new(DEBIAN_13);
    host.write("proc/sys/kernel/osrelease", &format!("{RELEASE}\n"));
    host.write("proc/filesystems", "nodev\tsysfs\nnodev\tproc\n\text4\n\tbtrfs\n");
    host.write(
        &format!("lib/modules/{RELEASE}/modules.dep"),
        "kernel/drivers/md/dm-thin-pool.ko.xz: kernel/drivers/md/persistent-data/dm-persistent-data.ko.xz\n",
    );
    host
}

/// What `setup incus` runs on a fresh Debian 13 host, with `tools` installed
/// for the driver and `storage` the commands of the pool step.
fn incus_commands(tools: &str, storage: &str) -> Vec<String> {
    lines(&format!(
        "apt-cache policy incus-base incus-client dnsmasq-base
{APT_INSTALL} incus-base incus-client dnsmasq-base
apt-cache policy {tools}
{APT_INSTALL} {tools}
ss -H -lnutp
incus query /1.0/networks/incusbr0
incus query /1.0/networks
service incus start
incus admin waitready --timeout=120
incus query /1.0/networks/incusbr0
incus query /1.0/networks
ip -j addr show
ip -j -4 route show table all
incus network create incusbr0 ipv4.address=10.147.2.1/24 ipv4.nat=true ipv6.address=none
incus query /1.0/storage-pools/default
incus query /1.0/storage-pools
{storage}
incus query /1.0/profiles/default
incus profile device add default root disk path=/ pool=default
incus profile device add default eth0 nic network=incusbr0 name=eth0
ip -j addr show
ss -H -lnutp
incus query /1.0/networks/incusbr0/state
ip -j addr show
ss -H -lnutp"
    ))
}

/// A rerun: the pool is found and fits, nothing else runs for it.
fn assert_rerun_changes_nothing(host: &FakeHost, args: &[&str]) {
    let again = json_run(host, args);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert!(
        !again
            .commands
            .iter()
            .any(|c| c.contains("storage create") || c.starts_with("wipefs --all")),
        "{again}"
    );
    assert_eq!(again.status_of("incus-storage"), "unchanged", "{again}");
}

#[test]
fn btrfs_on_a_loop_file_installs_btrfs_progs_and_makes_the_pool_once() {
    let host = debian_13();
    let args = [
        "setup",
        "incus",
        "--storage-driver",
        "btrfs",
        "--storage-size",
        "20GiB",
    ];
    let first = json_run(&host, &args);
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(
        first.commands,
        incus_commands("btrfs-progs", "incus storage create default btrfs size=20GiB"),
        "{first}"
    );
    assert_eq!(first.status_of("storage-kernel"), "unchanged");
    assert_eq!(
        detail(&first, "storage-kernel"),
        "btrfs: btrfs is in /proc/filesystems"
    );
    assert_eq!(first.status_of("storage-tools"), "changed");
    assert_eq!(
        detail(&first, "incus-storage"),
        "created pool default (btrfs on a 20GiB loop file)"
    );
    let record = host.read("var/lib/container-init/record.json");
    assert!(
        record.contains(r#""object": "storage-pool""#) && record.contains(r#""runtime": "incus""#),
        "{record}"
    );
    assert_rerun_changes_nothing(&host, &args);
    // After a reboot Incus reattaches its loop file itself; a plain rerun
    // (no storage settings) takes any pool as it is.
    let plain = json_run(&host, &["setup", "incus"]);
    assert_eq!(plain.code, Some(0), "{plain}");
    assert_eq!(
        detail(&plain, "incus-storage"),
        "pool default: btrfs on 20GiB loop file /var/lib/incus/disks/default.img"
    );
}

#[test]
fn asking_for_dir_over_a_btrfs_pool_is_69_and_the_pool_stays() {
    let host = debian_13();
    let made = json_run(&host, &["setup", "incus", "--storage-driver", "btrfs"]);
    assert_eq!(made.code, Some(0), "{made}");
    assert!(
        made.commands
            .contains(&"incus storage create default btrfs".to_string())
    );
    let pools_before = host.state()["incus"]["pool_details"].clone();
    for args in [
        &["setup", "incus", "--storage-driver", "dir"][..],
        &["setup", "incus", "--storage-driver", "zfs"][..],
        &[
            "setup",
            "incus",
            "--storage-driver",
            "btrfs",
            "--storage-source",
            "/dev/vdb",
        ][..],
    ] {
        let run = host.run(args);
        assert_eq!(run.code, Some(69), "{args:?}: {run}");
        assert!(
            !run.commands
                .iter()
                .any(|c| c.contains("storage create") || c.contains("storage delete"))
        );
        if args[3] != "zfs" {
            assert_one_error_line(&run.stderr);
            assert!(
                run.stderr.contains("pool default is btrfs on")
                    && run.stderr.contains("never deletes, converts or moves"),
                "{run}"
            );
        }
    }
    assert_eq!(host.state()["incus"]["pool_details"], pools_before);
}

#[test]
fn a_device_holding_a_file_system_is_refused_untouched_unless_wipe_is_set() {
    let host = debian_13();
    host.update_state(json!({"block_devices": {"/dev/vdb": {
        "name": "vdb", "type": "disk", "fstype": "ext4",
        "signatures": [{"type": "ext4", "offset": "0x438", "uuid": "5d1c-fake", "label": "data"}]
    }}}));
    let args = [
        "setup",
        "incus",
        "--storage-driver",
        "btrfs",
        "--storage-source",
        "/dev/vdb",
    ];
    let refused = host.run(&args);
    assert_eq!(refused.code, Some(69), "{refused}");
    assert_one_error_line(&refused.stderr);
    assert!(
        refused
            .stderr
            .contains("/dev/vdb holds data: ext4 (label \"data\", UUID 5d1c-fake) at 0x438")
            && refused.stderr.contains("storage-wipe: true"),
        "{refused}"
    );
    let probes: Vec<&String> = refused
        .commands
        .iter()
        .filter(|c| c.starts_with("lsblk") || c.starts_with("wipefs"))
        .collect();
    assert_eq!(
        probes,
        [
            "lsblk -J -o NAME,TYPE,FSTYPE,PTTYPE,MOUNTPOINT -- /dev/vdb",
            "wipefs --no-act --json -- /dev/vdb"
        ]
    );
    assert!(
        !refused.commands.iter().any(|c| c.contains("storage create")),
        "{refused}"
    );
    assert!(host.state().get("wiped").is_none());

    let wiped = json_run(&host, &[&args[..], &["--storage-wipe"]].concat());
    assert_eq!(wiped.code, Some(0), "{wiped}");
    // The pool step's own commands (the reads before it come at once, in
    // any order).
    let tail: Vec<&String> = wiped
        .commands
        .iter()
        .skip_while(|c| !c.starts_with("lsblk"))
        .take(4)
        .collect();
    assert_eq!(
        tail,
        [
            "lsblk -J -o NAME,TYPE,FSTYPE,PTTYPE,MOUNTPOINT -- /dev/vdb",
            "wipefs --no-act --json -- /dev/vdb",
            "wipefs --all -- /dev/vdb",
            "incus storage create default btrfs source=/dev/vdb",
        ],
        "{wiped}"
    );
    assert!(detail(&wiped, "incus-storage").contains("wiped ext4"), "{wiped}");
    // The pool now holds the device (a btrfs signature, mounted by Incus):
    // the rerun knows it as its own and looks at the device no more.
    assert_rerun_changes_nothing(&host, &[&args[..], &["--storage-wipe"]].concat());
}

#[test]
fn a_mounted_or_held_device_is_refused_even_with_wipe() {
    let host = debian_13();
    host.update_state(json!({"block_devices": {
        "/dev/vdb": {"name": "vdb", "type": "disk", "pttype": "gpt", "children": [
            {"name": "vdb1", "type": "part", "fstype": "ext4", "mountpoint": "/srv/data"}]},
        "/dev/vdc": {"name": "vdc", "type": "disk"},
    }}));
    host.write("sys/class/block/vdc/holders/dm-0", "");
    for (dev, why) in [("/dev/vdb", "vdb1 on /srv/data"), ("/dev/vdc", "dm-0 (holder)")] {
        let run = host.run(&[
            "setup",
            "incus",
            "--storage-driver",
            "lvm",
            "--storage-source",
            dev,
            "--storage-wipe",
        ]);
        assert_eq!(run.code, Some(69), "{run}");
        assert_one_error_line(&run.stderr);
        assert!(
            run.stderr.contains(why) && run.stderr.contains("storage-wipe or not"),
            "{run}"
        );
        assert!(
            !run.commands
                .iter()
                .any(|c| c.starts_with("wipefs --all") || c.contains("storage create"))
        );
    }
    // Not a block device at all.
    let run = host.run(&[
        "setup",
        "incus",
        "--storage-driver",
        "btrfs",
        "--storage-source",
        "/dev/nope",
    ]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(run.stderr.contains("not a block device"), "{run}");
}

#[test]
fn lvm_thin_on_a_loop_file_on_a_device_and_in_a_volume_group() {
    let host = debian_13();
    host.update_state(json!({"block_devices": {"/dev/vdb": {"name": "vdb", "type": "disk"}}}));
    let loop_run = json_run(
        &host,
        &[
            "setup",
            "incus",
            "--storage-driver",
            "lvm",
            "--storage-size",
            "8GiB",
        ],
    );
    assert_eq!(loop_run.code, Some(0), "{loop_run}");
    assert_eq!(
        loop_run.commands,
        incus_commands(
            "lvm2 thin-provisioning-tools",
            "incus storage create default lvm size=8GiB lvm.use_thinpool=true"
        ),
        "{loop_run}"
    );
    assert_eq!(
        detail(&loop_run, "storage-kernel"),
        format!("lvm: dm-thin-pool is in /lib/modules/{RELEASE}/modules.dep")
    );

    let device = debian_13();
    device.update_state(json!({"block_devices": {"/dev/vdb": {"name": "vdb", "type": "disk"}}}));
    let run = json_run(
        &device,
        &[
            "setup",
            "incus",
            "--storage-driver",
            "lvm",
            "--storage-source",
            "/dev/vdb",
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands,
        incus_commands(
            "lvm2 thin-provisioning-tools",
            "lsblk -J -o NAME,TYPE,FSTYPE,PTTYPE,MOUNTPOINT -- /dev/vdb
wipefs --no-act --json -- /dev/vdb
incus storage create default lvm source=/dev/vdb lvm.use_thinpool=true"
        ),
        "{run}"
    );

    // A volume group is looked for with the tools, once they are installed.
    let none = debian_13();
    let missing = none.run(&[
        "setup",
        "incus",
        "--storage-driver",
        "lvm",
        "--storage-source",
        "vg0",
    ]);
    assert_eq!(missing.code, Some(69), "{missing}");
    assert!(
        missing
            .stderr
            .contains("no LVM volume group vg0; create it first"),
        "{missing}"
    );
    assert!(
        !missing.commands.iter().any(|c| c.contains("storage create")),
        "{missing}"
    );
    let vg = debian_13();
    vg.update_state(json!({"vgs": ["vg0"]}));
    let run = json_run(
        &vg,
        &[
            "setup",
            "incus",
            "--storage-driver",
            "lvm",
            "--storage-source",
            "vg0",
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands,
        incus_commands(
            "lvm2 thin-provisioning-tools",
            "vgs --noheadings -o vg_name vg0
incus storage create default lvm source=vg0 lvm.use_thinpool=true"
        ),
        "{run}"
    );
    assert_rerun_changes_nothing(
        &vg,
        &[
            "setup",
            "incus",
            "--storage-driver",
            "lvm",
            "--storage-source",
            "vg0",
        ],
    );
}

#[test]
fn lvm_on_a_kernel_without_dm_thin_pool_is_69_before_anything_is_installed() {
    let host = FakeHost::new(DEBIAN_13);
    host.write("proc/sys/kernel/osrelease", "6.18.0-custom\n");
    let run = host.run(&["setup", "lxd", "--storage-driver", "lvm"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(run.stderr.contains("no device-mapper thin provisioning"), "{run}");
    assert!(run.commands.is_empty(), "{run}");
}

#[test]
fn zfs_on_a_kernel_without_it_is_69_naming_zfs_dkms_and_installs_nothing() {
    let host = debian_13();
    let run = json_run(&host, &["setup", "incus", "--storage-driver", "zfs"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(run.commands.is_empty(), "{run}");
    let error = run.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains(&format!("the running kernel ({RELEASE}) has no ZFS module"))
            && error.contains("zfs-dkms")
            && error.contains("contrib")
            && error.contains("neither enables contrib nor builds modules"),
        "{error}"
    );
    assert_eq!(run.status_of("storage-kernel"), "failed");
}

#[test]
fn zfs_with_the_module_uses_an_existing_pool_or_a_loop_file() {
    let host = debian_13();
    host.write(
        &format!("lib/modules/{RELEASE}/modules.dep"),
        "updates/dkms/zfs.ko: updates/dkms/spl.ko\n",
    );
    host.update_state(json!({"zpools": ["tank"]}));
    let args = [
        "setup",
        "incus",
        "--storage-driver",
        "zfs",
        "--storage-source",
        "tank",
    ];
    let run = json_run(&host, &args);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands,
        incus_commands(
            "zfsutils-linux",
            "zpool list -H -o name tank
incus storage create default zfs source=tank"
        ),
        "{run}"
    );
    assert_rerun_changes_nothing(&host, &args);

    let looped = debian_13();
    looped.write("sys/module/zfs/version", "2.2.7\n");
    let run = json_run(&looped, &["setup", "incus", "--storage-driver", "zfs"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands,
        incus_commands("zfsutils-linux", "incus storage create default zfs"),
        "{run}"
    );
}

#[test]
fn the_lxd_snap_brings_its_own_tools() {
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    host.write("proc/filesystems", "\tbtrfs\n");
    let run = json_run(&host, &["setup", "lxd", "--storage-driver", "btrfs"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("storage-tools"), "unchanged");
    assert!(!run.commands.iter().any(|c| c.contains("btrfs-progs")), "{run}");
    assert!(
        run.commands
            .contains(&"lxc storage create default btrfs".to_string()),
        "{run}"
    );
}

#[test]
fn a_btrfs_source_directory_must_be_on_btrfs() {
    let host = debian_13();
    host.write(
        "proc/self/mountinfo",
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 22 0:40 / /srv/pool rw - btrfs /dev/vdb rw\n",
    );
    let run = host.run(&[
        "setup",
        "incus",
        "--storage-driver",
        "btrfs",
        "--storage-source",
        "/srv/other",
    ]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(
        run.stderr
            .contains("/srv/other is not on a btrfs file system (it is on ext4)"),
        "{run}"
    );
    let run = json_run(
        &host,
        &[
            "setup",
            "incus",
            "--storage-driver",
            "btrfs",
            "--storage-source",
            "/srv/pool/incus",
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands
            .contains(&"incus storage create default btrfs source=/srv/pool/incus".to_string()),
        "{run}"
    );
}

#[test]
fn hostile_storage_values_are_refused_before_anything_runs() {
    let host = debian_13();
    for (args, code) in [
        (&["--storage-driver", "ext4"][..], 64),
        (&["--storage-driver", "btrfs", "--storage-size", "1e9"][..], 64),
        (
            &["--storage-driver", "btrfs", "--storage-size", "30GiB;reboot"][..],
            64,
        ),
        (
            &[
                "--storage-driver",
                "btrfs",
                "--storage-source",
                "/dev/../etc/shadow",
            ][..],
            64,
        ),
        (&["--storage-driver", "lvm", "--storage-source", "-ff"][..], 64),
        (
            &["--storage-driver", "lvm", "--storage-source", "vg0 size=1"][..],
            64,
        ),
        (&["--storage-driver", "zfs", "--storage-source", "/srv/x"][..], 78),
        (&["--storage-source", "/dev/vdb"][..], 78),
        (
            &[
                "--storage-driver",
                "btrfs",
                "--storage-source",
                "/dev/vdb",
                "--storage-size",
                "9GiB",
            ][..],
            78,
        ),
        (&["--storage-wipe=maybe"][..], 64),
    ] {
        let run = host.run(&[&["setup", "incus"][..], args].concat());
        assert_eq!(run.code, Some(code), "{args:?}: {run}");
        assert!(run.commands.is_empty(), "{args:?}: {run}");
    }
    host.write(
        "etc/container-init/config.yaml",
        "storage-driver: btrfs\nstorage-size: \"$(reboot)\"\n",
    );
    let run = host.run(&["setup", "incus"]);
    assert_eq!(run.code, Some(78), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(run.stderr.contains("storage-size \"$(reboot)\""), "{run}");
    assert!(run.commands.is_empty(), "{run}");
}

#[test]
fn the_config_file_asks_and_a_flag_overrides_it() {
    let host = debian_13();
    host.write(
        "etc/container-init/config.yaml",
        "storage-driver: lvm\nstorage-size: 12GiB\nstorage-wipe: false\n",
    );
    let run = json_run(&host, &["setup", "incus", "--storage-driver", "btrfs"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands
            .contains(&"incus storage create default btrfs size=12GiB".to_string()),
        "{run}"
    );
}

#[test]
fn check_shows_the_pools_driver_and_free_space_and_warns_on_dir() {
    let host = debian_13();
    host.installed(&["incus-base", "incus-client", "dnsmasq-base"]);
    host.update_state(json!({"running": ["incus"], "incus": {"pools": ["default"]}}));
    let run = json_run(&host, &["check", "incus"]);
    let line = run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "storage")
        .cloned()
        .unwrap_or_else(|| panic!("no storage line: {run}"));
    assert_eq!(line["result"], "WARN", "{line}");
    let reason = line["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("pool default: dir on /var/lib/incus/storage-pools/default, 29.0 GiB free;")
            && reason.contains("this kernel has btrfs"),
        "{reason}"
    );

    host.update_state(
        json!({"incus": {"pools": ["default"], "pool_details": {"default": {
        "driver": "btrfs", "config": {"source": "/var/lib/incus/disks/default.img", "size": "30GiB"}}}}}),
    );
    let run = json_run(&host, &["check", "incus"]);
    let line = run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "storage")
        .cloned()
        .unwrap();
    assert_eq!(line["result"], "PASS", "{line}");
    assert_eq!(
        line["reason"],
        "pool default: btrfs on 30GiB loop file /var/lib/incus/disks/default.img, 29.0 GiB free"
    );
    // What setup would refuse, check fails, and names: the kernel first.
    let storage_line = |args: &[&str]| {
        let run = json_run(&host, &[&["check", "incus"][..], args].concat());
        assert_eq!(run.code, Some(69), "{run}");
        let line = run.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "storage")
            .cloned()
            .unwrap();
        assert_eq!(line["result"], "FAIL", "{line}");
        assert!(
            !run.commands.iter().any(|c| c.starts_with("wipefs --all")),
            "{run}"
        );
        line["reason"].as_str().unwrap().to_string()
    };
    let reason = storage_line(&["--storage-driver", "dir"]);
    assert!(reason.contains("pool default is btrfs"), "{reason}");
    let reason = storage_line(&["--storage-driver", "zfs"]);
    assert!(reason.contains("zfs-dkms"), "{reason}");
    // No pool yet: a device with data on it fails check as it would fail setup.
    host.update_state(json!({"incus": {"pools": []}, "block_devices": {"/dev/vdb": {
        "name": "vdb", "signatures": [{"type": "ext4", "offset": "0x438"}]}}}));
    let reason = storage_line(&["--storage-driver", "btrfs", "--storage-source", "/dev/vdb"]);
    assert!(reason.contains("holds data: ext4 at 0x438"), "{reason}");
}

#[test]
fn a_dry_run_looks_at_the_device_and_only_shows_the_wipe() {
    let host = debian_13();
    host.installed(&["incus-base", "incus-client", "dnsmasq-base", "btrfs-progs"]);
    host.update_state(json!({"running": ["incus"], "block_devices": {"/dev/vdb": {
        "name": "vdb", "type": "disk", "signatures": [{"type": "xfs", "offset": "0x0"}]}}}));
    let run = host.run(&[
        "setup",
        "incus",
        "--dry-run",
        "--storage-driver",
        "btrfs",
        "--storage-source",
        "/dev/vdb",
        "--storage-wipe",
    ]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("wipefs --all -- /dev/vdb"), "{run}");
    assert!(
        run.stdout
            .contains("incus storage create default btrfs source=/dev/vdb"),
        "{run}"
    );
    assert!(
        !run.commands
            .iter()
            .any(|c| c.starts_with("wipefs --all") || c.contains("storage create")),
        "{run}"
    );
    assert!(host.state().get("wiped").is_none());
    assert!(!host.path("var/lib/container-init/record.json").exists());
}
