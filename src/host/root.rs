//! Paths under `--root`, resolved the way `openat2(RESOLVE_IN_ROOT)` and
//! systemd's `--root` resolve them: every symlink on the way is followed
//! inside the root, an absolute link `/x` means `ROOT/x`, and `..` stops at
//! the root. A symlinked `ROOT/etc` cannot carry a write out of the root.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// As many links as the kernel follows in one lookup (MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// `absolute` inside `root`, with every existing symlink resolved in the
/// root. Components that do not exist are kept as they are. After too many
/// links the path is returned unresolved, where the kernel stops too (ELOOP).
pub fn resolve_in_root(root: &Path, absolute: &str) -> PathBuf {
    let unresolved = root.join(absolute.trim_start_matches('/'));
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
            return unresolved;
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
    out
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
            resolve_in_root(root, "/etc/default/lxc-net"),
            inside.join("lxc-net")
        );
        // Relative, inside the root: followed as the kernel would.
        std::fs::remove_file(root.join("etc/default")).unwrap();
        symlink("../srv/default", root.join("etc/default")).unwrap();
        assert_eq!(
            resolve_in_root(root, "/etc/default/lxc-net"),
            root.join("srv/default/lxc-net")
        );
        // `..` stops at the root.
        std::fs::remove_file(root.join("etc/default")).unwrap();
        symlink("../../../../../../tmp", root.join("etc/default")).unwrap();
        assert_eq!(resolve_in_root(root, "/etc/default/x"), root.join("tmp/x"));
        assert_eq!(resolve_in_root(root, "/../../etc/x"), root.join("etc/x"));
    }

    #[test]
    fn a_link_loop_is_left_to_the_kernel() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        symlink("/b", root.join("a")).unwrap();
        symlink("/a", root.join("b")).unwrap();
        assert_eq!(resolve_in_root(root, "/a/x"), root.join("a/x"));
    }
}
