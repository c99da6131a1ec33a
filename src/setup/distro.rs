//! Which distribution this is, and how it installs each container type.

use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::host::os_release::OsRelease;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distro {
    Debian,
    Ubuntu,
}

/// What to install for a type on a distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    Apt(Vec<&'static str>),
    /// Ubuntu's LXD comes from the snap store.
    Snap {
        name: &'static str,
    },
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
                    crate::limits::cut(name),
                    crate::limits::quote(&os.id)
                ),
            ))
        }
    }

    pub fn install_for(self, ty: ContainerType) -> Install {
        match (self, ty) {
            (Distro::Ubuntu, ContainerType::Lxd) => Install::Snap { name: "lxd" },
            // Without nftables, LXD 5.0 falls back to iptables-nft and piles up
            // duplicate firewall rules on every restart; dnsmasq serves the bridge.
            (Distro::Debian, ContainerType::Lxd) => Install::Apt(vec!["lxd", "dnsmasq-base", "nftables"]),
            (_, ContainerType::Lxc) => Install::Apt(vec!["lxc", "dnsmasq-base"]),
            (_, ContainerType::Kvm) => {
                Install::Apt(vec![qemu_package(), "libvirt-daemon-system", "libvirt-clients"])
            }
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
        assert_eq!(
            Distro::Ubuntu.install_for(ContainerType::Lxd),
            Install::Snap { name: "lxd" }
        );
        assert_eq!(
            Distro::Debian.install_for(ContainerType::Lxd),
            Install::Apt(vec!["lxd", "dnsmasq-base", "nftables"])
        );
    }
}
