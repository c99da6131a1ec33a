//! The four kinds of container a host can be prepared for.

use std::fmt;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerType {
    Lxc,
    Lxd,
    /// Incus, LXD's community successor.
    Incus,
    Kvm,
}

impl ContainerType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerType::Lxc => "lxc",
            ContainerType::Lxd => "lxd",
            ContainerType::Incus => "incus",
            ContainerType::Kvm => "kvm",
        }
    }
}

impl fmt::Display for ContainerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
