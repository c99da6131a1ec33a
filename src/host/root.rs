//! Paths under `--root`, resolved the way `openat2(RESOLVE_IN_ROOT)` and
//! systemd's `--root` resolve them: every symlink on the way is followed
//! inside the root, an absolute link `/x` means `ROOT/x`, and `..` stops at
//! the root. A symlinked `ROOT/etc` cannot carry a write out of the root,
//! and a link loop is an error (ELOOP), never a path handed to the kernel
//! unresolved: the kernel would follow `ROOT/proc -> /proc` on the real root.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// As many links as the kernel follows in one lookup (MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// `absolute` inside `root`, with every existing symlink resolved in the
/// root. Components that do not exist are kept as they are. More links than
/// the kernel follows is ELOOP, as it is for the kernel.
pub fn resolve_in_root(root: &Path, absolute: &str) -> std::io::Result<PathBuf> {
    // What is left to walk, last component first.
    let mut pending: Vec<OsString> = components(Path::new(absolute));
    pending.reverse();
    // The resolved components below the root.
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&done);
        candidate.push(&part);
        let target = match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => std::fs::read_link(&candidate).ok(),
            _ => None,
        };
        let Some(target) = target else {
            done.push(part);
            continue;
        };
        links += 1;
        if links > MAX_LINKS {
            return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
        }
        if target.is_absolute() {
            done.clear();
        }
        let mut spliced = components(&target);
        spliced.reverse();
        pending.extend(spliced);
    }
    let mut out = root.to_path_buf();
    out.extend(done);
    Ok(out)
}

/// The normal and `..` components of `path`; `/` and `.` say nothing here.
fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn links_are_followed_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("srv/default")).unwrap();
        // Absolute: means ROOT/<outside>, not the outside directory.
        symlink(outside.path(), root.join("etc/default")).unwrap();
        let inside = root.join(outside.path().strip_prefix("/").unwrap());
        assert_eq!(
            resolve_in_root(root, "/etc/default/lxc-net").unwrap(),
            inside.join("lxc-net")
        );
        // Relative, inside the root: followed as the kernel would.
        std::fs::remove_file(root.join("etc/default")).unwrap();
        symlink("../srv/default", root.join("etc/default")).unwrap();
        assert_eq!(
            resolve_in_root(root, "/etc/default/lxc-net").unwrap(),
            root.join("srv/default/lxc-net")
        );
        // `..` stops at the root.
        std::fs::remove_file(root.join("etc/default")).unwrap();
        symlink("../../../../../../tmp", root.join("etc/default")).unwrap();
        assert_eq!(
            resolve_in_root(root, "/etc/default/x").unwrap(),
            root.join("tmp/x")
        );
        assert_eq!(resolve_in_root(root, "/../../etc/x").unwrap(), root.join("etc/x"));
    }

    #[test]
    fn a_link_loop_is_eloop_never_an_unresolved_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        symlink("/b", root.join("a")).unwrap();
        symlink("/a", root.join("b")).unwrap();
        let eloop = |absolute: &str| {
            resolve_in_root(root, absolute)
                .map_err(|e| e.raw_os_error())
                .unwrap_err()
        };
        assert_eq!(eloop("/a/x"), Some(libc::ELOOP));
        // `ROOT/proc -> /proc` means ROOT/proc again: handed on unresolved,
        // the kernel would follow it to the real /proc.
        symlink("/proc", root.join("proc")).unwrap();
        assert_eq!(eloop("/proc/sys/net/ipv4/ip_forward"), Some(libc::ELOOP));
        std::fs::create_dir(root.join("etc")).unwrap();
        symlink("../etc", root.join("etc/etc")).unwrap();
        symlink("/etc/loop", root.join("etc/loop")).unwrap();
        assert_eq!(eloop("/etc/loop/passwd"), Some(libc::ELOOP));
        // As many links as the kernel follows still resolve.
        let mut previous = "/target".to_string();
        std::fs::create_dir(root.join("target")).unwrap();
        for i in 0..MAX_LINKS {
            let name = format!("l{i}");
            symlink(&previous, root.join(&name)).unwrap();
            previous = format!("/{name}");
        }
        assert_eq!(
            resolve_in_root(root, &format!("{previous}/f")).unwrap(),
            root.join("target/f")
        );
        symlink(&previous, root.join("one-too-many")).unwrap();
        assert_eq!(eloop("/one-too-many/f"), Some(libc::ELOOP));
    }
}
