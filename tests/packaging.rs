//! The Debian package's own files (packaging/), which `cargo deb` reads.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // reads the repository's files directly

use std::path::Path;

#[test]
fn the_changelog_names_this_version_first() {
    // cargo-deb ships packaging/changelog as is: a version bump without an
    // entry would give a package whose changelog names an older version.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/changelog");
    let changelog = std::fs::read_to_string(path).unwrap();
    let first = changelog.lines().next().unwrap_or_default();
    let want = format!("container-init ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        first.starts_with(&want),
        "packaging/changelog starts with {first:?}; add an entry for {want:?} on top"
    );
}
