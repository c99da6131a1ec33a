//! Setup's file and kernel writes, each noted in the record before it is
//! made (with what was there before), and each converged one marked as
//! needed by this type too: a step that writes through these needs no
//! record code of its own.

use super::{Change, FileState, needs, note};
use crate::host::{FileChange, Host};

/// A file as it is now: `None` where there is none.
pub fn file_state(host: &Host, path: &str) -> anyhow::Result<Option<FileState>> {
    Ok(host.read_optional(path)?.map(|bytes| FileState {
        content: String::from_utf8_lossy(&bytes).into_owned(),
        mode: host.file_mode(path).unwrap_or(0o644),
    }))
}

/// Whether this run keeps a record: outside setup, or in a dry run, a write
/// is the host's own, with its own errors (a path it cannot write is 73,
/// not a failed read of what was there).
fn records(host: &Host) -> bool {
    host.recording().is_some() && host.applies()
}

fn file_target(path: &str) -> String {
    format!("file {path}")
}

/// [`Host::write_file`], noted first when it changes something.
pub fn write_file(host: &Host, path: &str, content: &[u8], mode: u32) -> anyhow::Result<FileChange> {
    write_file_owned(host, path, content, mode, None)
}

/// [`Host::write_file_owned`]: a copy that keeps another file's owner.
pub fn write_file_owned(
    host: &Host,
    path: &str,
    content: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> anyhow::Result<FileChange> {
    // A path that cannot be written (a link loop under --root) fails as the
    // write it is (73), before the look at what is there (71).
    host.writable_path(path)?;
    if !records(host) {
        return host.write_file_owned(path, content, mode, owner);
    }
    let before = file_state(host, path)?;
    let after = FileState {
        content: String::from_utf8_lossy(content).into_owned(),
        mode,
    };
    if before.as_ref() == Some(&after) && owner.is_none_or(|o| host.file_owner(path) == Some(o)) {
        needs(host, &file_target(path))?;
        return Ok(FileChange::Unchanged);
    }
    note(
        host,
        Change::File {
            path: path.to_string(),
            before,
            after: Some(after),
        },
    )?;
    host.write_file_owned(path, content, mode, owner)
}

/// [`Host::remove_file`], noted first when there is a file.
pub fn remove_file(host: &Host, path: &str) -> anyhow::Result<FileChange> {
    if !records(host) {
        return host.remove_file(path);
    }
    let Some(before) = file_state(host, path)? else {
        return Ok(FileChange::Unchanged);
    };
    note(
        host,
        Change::File {
            path: path.to_string(),
            before: Some(before),
            after: None,
        },
    )?;
    host.remove_file(path)
}

/// Where a sysctl key lives under /proc/sys: dots are separators, unless the
/// key is given with slashes (an interface name may hold a dot).
pub fn proc_path(key: &str) -> String {
    if key.contains('/') {
        format!("/proc/sys/{}", key.trim_start_matches('/'))
    } else {
        format!("/proc/sys/{}", key.replace('.', "/"))
    }
}

/// Set a running kernel value that was `before`, noted first.
pub fn write_sysctl(host: &Host, key: &str, before: &str, value: &str) -> anyhow::Result<()> {
    note(
        host,
        Change::Sysctl {
            key: key.to_string(),
            before: before.to_string(),
            after: value.to_string(),
        },
    )?;
    host.write_proc(&proc_path(key), value)
}

/// A running kernel value already as wanted: if an earlier setup set it,
/// this type needs it too.
pub fn sysctl_converged(host: &Host, key: &str) -> anyhow::Result<()> {
    needs(host, &format!("sysctl {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_maps_to_its_proc_path() {
        assert_eq!(proc_path("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
        assert_eq!(
            proc_path("net/ipv6/conf/eth0.100/accept_ra"),
            "/proc/sys/net/ipv6/conf/eth0.100/accept_ra"
        );
    }
}
