//! Each container runtime and what it needs from the host: packages, services,
//! the distribution, and the probes and changes of LXD/Incus, LXC and KVM.

pub mod admin_group;
pub mod apt_source;
pub mod distro;
pub mod guests;
pub mod kernel;
pub mod kvm;
pub mod libvirt_undo;
pub mod lxc;
pub mod lxd_family;
pub mod lxd_undo;
pub mod packages;
pub mod purge;
pub mod service;
pub mod snap_channel;
pub mod storage;
