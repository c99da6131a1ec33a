//! What the running kernel offers, read from /proc, /sys, /lib/modules and
//! /boot: the one place that `check`'s kernel checks and setup's storage
//! preflight read it from.

use crate::host::Host;

fn read_text(host: &Host, absolute: &str) -> Option<String> {
    host.read_optional(absolute)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The running kernel's release (`uname -r`); empty where /proc hides it.
pub fn release(host: &Host) -> String {
    read_text(host, "/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_default()
}

/// Whether `module` is loaded, or built in with parameters (/sys/module).
pub fn is_loaded(host: &Host, module: &str) -> bool {
    host.exists(&format!("/sys/module/{module}"))
}

/// Whether `/proc/filesystems` lists `fs`.
pub fn in_proc_filesystems(host: &Host, fs: &str) -> bool {
    read_text(host, "/proc/filesystems")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().last() == Some(fs))
}

/// The module list of `release` that names `module` (a file name such as
/// `dm-thin-pool`), built in or loadable, compressed or not.
pub fn module_listed(host: &Host, release: &str, module: &str) -> Option<String> {
    if release.is_empty() || release.contains('/') {
        return None;
    }
    ["modules.builtin", "modules.dep"]
        .into_iter()
        .map(|list| format!("/lib/modules/{release}/{list}"))
        .find(|path| {
            read_text(host, path).unwrap_or_default().lines().any(|line| {
                let file = line.split(':').next().unwrap_or_default();
                let base = file.rsplit('/').next().unwrap_or_default();
                [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
                    .iter()
                    .any(|ext| base.strip_suffix(ext) == Some(module))
            })
        })
}

/// The kernel's build configuration, where the distribution keeps it.
pub fn build_config(host: &Host, release: &str) -> Option<String> {
    if release.is_empty() || release.contains('/') {
        return None;
    }
    read_text(host, &format!("/boot/config-{release}"))
}

/// `CONFIG_<option>` in a build configuration: built in or a module
/// (`Some(true)`), set otherwise (`Some(false)`), or not there at all.
pub fn configured(config: &str, option: &str) -> Option<bool> {
    let prefix = format!("CONFIG_{option}=");
    config
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v == "y" || v == "m")
}

/// Whether the running kernel's symbol table has `symbol` (built in, or
/// in a loaded module). Built-in code without parameters has no
/// /sys/module entry, so this is the one place that shows it.
pub fn has_symbol(host: &Host, symbol: &str) -> bool {
    read_text(host, "/proc/kallsyms")
        .is_some_and(|table| table.lines().any(|l| l.split_whitespace().nth(2) == Some(symbol)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_option_is_on_as_built_in_or_module_and_absent_is_none() {
        let config = "CONFIG_BRIDGE=m\nCONFIG_VETH=y\n# CONFIG_BTRFS_FS is not set\nCONFIG_HZ=250\n";
        assert_eq!(configured(config, "BRIDGE"), Some(true));
        assert_eq!(configured(config, "VETH"), Some(true));
        assert_eq!(configured(config, "HZ"), Some(false));
        assert_eq!(configured(config, "BTRFS_FS"), None);
        // A prefix of another option is not that option.
        assert_eq!(configured("CONFIG_VETH_X=y\n", "VETH"), None);
    }
}
