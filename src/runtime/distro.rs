//! Which distribution this is, and how it installs each container type.

use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::host::os_release::OsRelease;

use super::service::Init;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distro {
    Debian,
    Ubuntu,
}

/// What to install for a type on a distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    Apt(Vec<&'static str>),
    /// From a suite the host does not install from by default (Debian 12's
    /// Incus is in bookworm-backports): its source goes into a file of the
    /// tool's own, and only these packages, with what they need, come from it.
    Backports {
        suite: &'static str,
        packages: Vec<&'static str>,
    },
    /// Ubuntu's LXD comes from the snap store.
    Snap {
        name: &'static str,
    },
}

impl Install {
    /// The Debian packages it installs, where it installs any.
    pub fn debs(&self) -> Option<&[&'static str]> {
        match self {
            Install::Apt(packages) | Install::Backports { packages, .. } => Some(packages),
            Install::Snap { .. } => None,
        }
    }
}

/// This host's release, its distribution, and how it installs a type:
/// what `setup`'s packages step and `check` both start from.
#[derive(Debug, Clone)]
pub struct Detected {
    pub os: OsRelease,
    pub distro: Distro,
    pub install: Install,
}

impl Detected {
    /// From `/etc/os-release` under `--root`; 69 for an unsupported
    /// distribution or a release without a package for `ty`.
    pub fn on(host: &crate::host::Host, ty: ContainerType, init: Init) -> anyhow::Result<Detected> {
        let os = OsRelease::read(host)?;
        let distro = Distro::detect(&os)?;
        let install = distro.install_for(ty, &os, init)?;
        Ok(Detected { os, distro, install })
    }
}

impl Distro {
    pub fn detect(os: &OsRelease) -> anyhow::Result<Distro> {
        if os.is("ubuntu") {
            Ok(Distro::Ubuntu)
        } else if os.is("debian") {
            Ok(Distro::Debian)
        } else {
            let name = if os.pretty_name.is_empty() {
                "an unknown distribution"
            } else {
                &os.pretty_name
            };
            Err(coded(
                Exit::Unavailable,
                format!(
                    "{} (ID={}) is not supported; container-init supports Debian and Ubuntu",
                    crate::config::limits::cut(name),
                    crate::config::limits::quote(&os.id)
                ),
            ))
        }
    }

    /// What to install for `ty` on this release of the distribution; 69 on
    /// a release that has no package for it.
    pub fn install_for(self, ty: ContainerType, os: &OsRelease, init: Init) -> anyhow::Result<Install> {
        Ok(match (self, ty) {
            (_, ContainerType::Incus) => self.incus(os)?,
            (Distro::Ubuntu, ContainerType::Lxd) => Install::Snap { name: "lxd" },
            // Without nftables, LXD 5.0 falls back to iptables-nft and piles up
            // duplicate firewall rules on every restart; dnsmasq serves the bridge.
            (Distro::Debian, ContainerType::Lxd) => Install::Apt(vec!["lxd", "dnsmasq-base", "nftables"]),
            (_, ContainerType::Lxc) => Install::Apt(vec!["lxc", "dnsmasq-base"]),
            (_, ContainerType::Kvm) => {
                let mut packages = vec![qemu_package(), "libvirt-daemon-system", "libvirt-clients"];
                // libvirt-daemon-system depends on "-systemd | -sysv"; apt takes
                // the first, which has no init scripts for libvirtd and virtlogd.
                if init == Init::SysV {
                    packages.push("libvirt-daemon-system-sysv");
                }
                Install::Apt(packages)
            }
        })
    }

    fn incus(self, os: &OsRelease) -> anyhow::Result<Install> {
        // Containers need the daemon without VM support (incus-base) and the
        // client. The `incus` package adds QEMU for VMs; from bookworm-backports
        // that QEMU breaks the bookworm QEMU that `setup kvm` installs.
        let packages = vec!["incus-base", "incus-client", "dnsmasq-base"];
        match (self, os.major_version()) {
            (Distro::Debian, Some(12)) => Ok(Install::Backports {
                suite: "bookworm-backports",
                packages,
            }),
            // testing and sid carry no VERSION_ID: they are newer than 13.
            (Distro::Debian, None) => Ok(Install::Apt(packages)),
            (Distro::Debian, Some(v)) if v >= 13 => Ok(Install::Apt(packages)),
            (Distro::Ubuntu, Some(v)) if v >= 24 => Ok(Install::Apt(packages)),
            _ => Err(coded(
                Exit::Unavailable,
                format!(
                    "{} has no Incus package; use Debian 12 or later, or Ubuntu 24.04 or later",
                    os.pretty_name
                ),
            )),
        }
    }
}

fn qemu_package() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" | "arm" => "qemu-system-arm",
        "powerpc64" => "qemu-system-ppc",
        "s390x" => "qemu-system-s390x",
        _ => "qemu-system-x86",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_for;

    #[test]
    fn detects_and_refuses() {
        let debian = OsRelease::parse("ID=debian\nVERSION_ID=12\n");
        assert_eq!(Distro::detect(&debian).unwrap(), Distro::Debian);
        let ubuntu = OsRelease::parse("ID=ubuntu\nID_LIKE=debian\n");
        assert_eq!(Distro::detect(&ubuntu).unwrap(), Distro::Ubuntu);
        let fedora = OsRelease::parse("ID=fedora\nPRETTY_NAME=\"Fedora Linux 40\"\n");
        let err = Distro::detect(&fedora).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Unavailable);
        assert!(err.to_string().contains("Fedora Linux 40"));
    }

    #[test]
    fn lxd_comes_from_snap_on_ubuntu_only() {
        let os = OsRelease::parse("ID=debian\nVERSION_ID=12\n");
        assert_eq!(
            Distro::Ubuntu
                .install_for(ContainerType::Lxd, &os, Init::SysV)
                .unwrap(),
            Install::Snap { name: "lxd" }
        );
        assert_eq!(
            Distro::Debian
                .install_for(ContainerType::Lxd, &os, Init::SysV)
                .unwrap(),
            Install::Apt(vec!["lxd", "dnsmasq-base", "nftables"])
        );
    }

    #[test]
    fn kvm_without_systemd_brings_the_init_scripts() {
        let os = OsRelease::parse("ID=debian\nVERSION_ID=12\n");
        let Install::Apt(sysv) = Distro::Debian
            .install_for(ContainerType::Kvm, &os, Init::SysV)
            .unwrap()
        else {
            panic!("kvm comes from apt")
        };
        assert!(sysv.contains(&"libvirt-daemon-system-sysv"), "{sysv:?}");
        let Install::Apt(systemd) = Distro::Debian
            .install_for(ContainerType::Kvm, &os, Init::Systemd)
            .unwrap()
        else {
            panic!("kvm comes from apt")
        };
        assert!(!systemd.contains(&"libvirt-daemon-system-sysv"), "{systemd:?}");
    }

    #[test]
    fn incus_comes_from_backports_on_debian_12_only_and_never_with_qemu() {
        let on = |distro: Distro, text: &str| {
            distro.install_for(ContainerType::Incus, &OsRelease::parse(text), Init::SysV)
        };
        let base = vec!["incus-base", "incus-client", "dnsmasq-base"];
        assert_eq!(
            on(Distro::Debian, "ID=debian\nVERSION_ID=\"12\"\n").unwrap(),
            Install::Backports {
                suite: "bookworm-backports",
                packages: base.clone()
            }
        );
        assert_eq!(
            on(Distro::Debian, "ID=debian\nVERSION_ID=\"13\"\n").unwrap(),
            Install::Apt(base.clone())
        );
        assert_eq!(
            on(
                Distro::Debian,
                "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux forky/sid\"\n"
            )
            .unwrap(),
            Install::Apt(base.clone())
        );
        assert_eq!(
            on(Distro::Ubuntu, "ID=ubuntu\nVERSION_ID=\"24.04\"\n").unwrap(),
            Install::Apt(base)
        );
        for (distro, old) in [
            (
                Distro::Ubuntu,
                "ID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04\"\n",
            ),
            (
                Distro::Debian,
                "ID=debian\nVERSION_ID=\"11\"\nPRETTY_NAME=\"Debian 11\"\n",
            ),
        ] {
            let err = on(distro, old).unwrap_err();
            assert_eq!(exit_for(&err), Exit::Unavailable);
            assert!(err.to_string().contains("has no Incus package"), "{err}");
        }
    }
}
