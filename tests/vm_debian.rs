//! The VM layer: container-init where its users run it. Each test boots a
//! real Debian VM (systemd as PID 1, cloud-init, Debian's cloud kernel) under
//! QEMU, hands it the README's own `#cloud-config` recipe, and drives it
//! over ssh: every type set up and rerun, guests that get out through NAT,
//! Docker installed and a real reboot. See tests/vm/.
//!
//! The tests are #[ignore]d: plain `cargo test` lists them as ignored. With
//! `--include-ignored` (what `.ci/run` runs) they need CONTAINER_INIT_VM=1,
//! root, QEMU, mmdebstrap, genisoimage and the package built in this run
//! (CONTAINER_INIT_VM_DEB), and fail when any of that is missing.
//! VMs use QEMU's user networking: nothing on this machine changes.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the test drives QEMU and ssh directly

mod support;
mod vm;

use vm::scenario::{self, DEBIAN_12, DEBIAN_13};

#[test]
#[ignore = "VM layer: boots Debian VMs (~30 min); CONTAINER_INIT_VM=1 CONTAINER_INIT_VM_DEB=<.deb> cargo test --test vm_debian -- --include-ignored (.ci/run)"]
fn vm_debian_13_every_type_from_the_readme_recipe_through_a_reboot_with_docker() {
    let deb = vm::enabled();
    scenario::distribution(&DEBIAN_13, &deb);
}

#[test]
#[ignore = "VM layer: boots Debian VMs (~30 min); CONTAINER_INIT_VM=1 CONTAINER_INIT_VM_DEB=<.deb> cargo test --test vm_debian -- --include-ignored (.ci/run)"]
fn vm_debian_12_every_type_with_ufw_on_from_the_readme_recipe_through_a_reboot_with_docker() {
    let deb = vm::enabled();
    scenario::distribution(&DEBIAN_12, &deb);
}

#[test]
#[ignore = "VM layer: boots Debian VMs (~30 min); CONTAINER_INIT_VM=1 CONTAINER_INIT_VM_DEB=<.deb> cargo test --test vm_debian -- --include-ignored (.ci/run)"]
fn vm_debian_13_with_firewalld_guests_get_out_after_a_reload_and_a_reboot() {
    let deb = vm::enabled();
    scenario::firewall(scenario::Firewall::Firewalld, &deb);
}
