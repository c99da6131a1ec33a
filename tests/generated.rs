//! The committed completion scripts and man page must be what the current CLI
//! generates. `CONTAINER_INIT_REGENERATE=1 cargo test --test generated`
//! rewrites them.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

use std::path::Path;

use container_init::docs;

fn check(relative: &str, generated: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os("CONTAINER_INIT_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} differs from what the CLI generates; run \
         `CONTAINER_INIT_REGENERATE=1 cargo test --test generated` and commit the result"
    );
}

#[test]
fn completions_are_current() {
    for shell in docs::SHELLS {
        check(&docs::completion_file(shell), &docs::completion(shell));
    }
}

#[test]
fn man_page_is_current() {
    check(docs::MAN_FILE, &docs::man_page());
}

#[test]
fn man_page_documents_exit_codes_environment_and_files() {
    let page = String::from_utf8(docs::man_page()).unwrap();
    for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "COMMAND OPTIONS"] {
        assert!(
            page.contains(&format!(".SH {section}")) || page.contains(&format!(".SH \"{section}\"")),
            "{section}"
        );
    }
    for code in ["\\fB64\\fR", "\\fB78\\fR", "\\fB143\\fR"] {
        assert!(page.contains(code), "{code}");
    }
    assert!(page.contains("CONTAINER_INIT_ROOT"));
    assert!(page.contains("/etc/sysctl.d/60\\-container\\-init.conf"));
}

#[test]
fn man_page_is_in_section_8_with_the_package_version_only() {
    // An administration command; the commit that `--version` adds would make
    // the committed page drift with every commit.
    assert!(docs::MAN_FILE.ends_with(&format!(".{}", docs::MAN_SECTION)));
    assert_eq!(docs::MAN_SECTION, "8");
    let page = String::from_utf8(docs::man_page()).unwrap();
    let title = format!(
        ".TH container-init 8  \"container-init {}\"",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        page.contains(&title),
        "{}",
        page.lines().take(4).collect::<Vec<_>>().join("\n")
    );
}
