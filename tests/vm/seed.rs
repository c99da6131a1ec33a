//! What the VM is given, as a user gives it: the README's own first
//! `#cloud-config` recipe (for `setup lxd`), read from README.md at test time
//! so that the recipe cannot drift from what is tested. Only addresses are
//! substituted: the `.deb` URL points at a web server on this machine's
//! loopback (10.0.2.2 from the VM) serving the package built in this run, and
//! the controller URL at a test controller there (HTTPS with the test CA, a
//! token). `write_files` adds the CA and the token at the paths the recipe
//! names. The NoCloud seed is an ISO labelled `cidata`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::support::https::{self, Reply, Server};

use super::machine::text;

/// The address at which a guest on QEMU's user networking reaches this
/// machine's 127.0.0.1.
pub const HOST_FROM_VM: &str = "10.0.2.2";
pub const MACHINE: &str = "4";

/// The README's first `#cloud-config` block, as the README prints it.
pub fn readme_recipe() -> String {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```yaml\n#cloud-config\n")
        .expect("README.md has a ```yaml block starting with #cloud-config");
    let body = &readme[start + "```yaml\n".len()..];
    let end = body.find("\n```").expect("the #cloud-config block ends");
    body[..end + 1].to_string()
}

/// The value that follows `flag` in the recipe (`--ca-cert PATH`).
fn flag_value<'a>(recipe: &'a str, flag: &str) -> &'a str {
    let words: Vec<&str> = recipe.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == flag)
        .unwrap_or_else(|| panic!("the README's recipe has no {flag}:\n{recipe}"));
    words[at + 1]
}

/// The first word of the recipe that starts with `prefix`.
fn word_with<'a>(recipe: &'a str, prefix: &str) -> &'a str {
    recipe
        .split_whitespace()
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("the README's recipe has no {prefix}...:\n{recipe}"))
}

/// This machine's side of a VM: the package server and the controller.
pub struct World {
    pub deb_name: String,
    deb_server: Server,
    pub controller: Server,
    pub token: String,
    /// Every request the controller answered, as `(type, machine, authorised)`.
    pub asked: Arc<Mutex<Vec<String>>>,
}

impl World {
    pub fn start(deb: &Path, manager_config: &'static str) -> World {
        let deb_name = deb.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = Arc::new(fs::read(deb).unwrap());
        let want = format!("GET /{deb_name} ");
        let deb_server = Server::start_routed(
            false,
            Arc::new(move |head: &str| {
                if head.starts_with(&want) {
                    Reply::With(200, vec![], bytes.as_ref().clone())
                } else {
                    Reply::With(404, vec![], b"not here\n".to_vec())
                }
            }),
        );
        let token = format!(
            "vm-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (bearer, log) = (format!("authorization: bearer {token}"), asked.clone());
        let controller = Server::start_routed(
            true,
            Arc::new(move |head: &str| {
                let lower = head.to_ascii_lowercase();
                let line = head.lines().next().unwrap_or("").to_string();
                let authorised = lower.lines().any(|l| l.trim() == bearer.to_ascii_lowercase());
                log.lock()
                    .unwrap()
                    .push(format!("{line} authorised={authorised}"));
                if !authorised {
                    return https::json(401, r#"{"error": "no token"}"#);
                }
                let known = ["lxd", "incus", "lxc", "kvm"].iter().any(|ty| {
                    line.starts_with(&format!(
                        "GET /v1/container-manager-config/{ty}?machine={MACHINE} "
                    ))
                });
                if known {
                    https::json(200, manager_config)
                } else {
                    https::json(404, r#"{"error": "unknown"}"#)
                }
            }),
        );
        World {
            deb_name,
            deb_server,
            controller,
            token,
            asked,
        }
    }

    pub fn deb_url(&self) -> String {
        format!("http://{HOST_FROM_VM}:{}/{}", self.deb_server.port, self.deb_name)
    }

    pub fn controller_url(&self) -> String {
        format!("https://{HOST_FROM_VM}:{}", self.controller.port)
    }

    pub fn requests(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

/// The user-data: the README's recipe with this run's addresses and the CA
/// and token it expects. Also the controller options the recipe passes, for
/// the test's own later runs.
pub struct UserData {
    pub text: String,
    pub controller_args: Vec<String>,
}

pub fn user_data(world: &World) -> UserData {
    let recipe = readme_recipe();
    assert!(
        !recipe.contains("write_files"),
        "the README's recipe has its own write_files; merge them:\n{recipe}"
    );
    let deb_url = word_with(&recipe, "https://mirror.example.com/");
    let controller = flag_value(&recipe, "--controller");
    let ca = flag_value(&recipe, "--ca-cert");
    let token = flag_value(&recipe, "--token-file");
    let machine = flag_value(&recipe, "--machine");
    assert_eq!(machine, MACHINE, "the test controller answers machine {MACHINE}");
    let mut text = recipe
        .replace(deb_url, &world.deb_url())
        .replace(controller, &world.controller_url());
    let ca_pem = fs::read_to_string(https::pki().ca_cert()).unwrap();
    text.push_str("write_files:\n");
    text.push_str(&format!(
        "  - path: {ca}\n    permissions: \"0644\"\n    content: |\n"
    ));
    for line in ca_pem.lines() {
        text.push_str(&format!("      {line}\n"));
    }
    text.push_str(&format!(
        "  - path: {token}\n    permissions: \"0600\"\n    content: {}\n",
        world.token
    ));
    let controller_args = [
        "--controller",
        &world.controller_url(),
        "--ca-cert",
        ca,
        "--token-file",
        token,
        "--machine",
        machine,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    UserData {
        text,
        controller_args,
    }
}

/// The NoCloud seed ISO in `dir`.
pub fn seed_iso(dir: &Path, user_data: &str, instance: &str) -> PathBuf {
    let files = dir.join("seed");
    fs::create_dir_all(&files).unwrap();
    fs::write(files.join("user-data"), user_data).unwrap();
    fs::write(
        files.join("meta-data"),
        format!("instance-id: {instance}\nlocal-hostname: {instance}\n"),
    )
    .unwrap();
    let iso = dir.join("seed.iso");
    let out = Command::new("genisoimage")
        .args(["-quiet", "-output"])
        .arg(&iso)
        .args(["-volid", "cidata", "-joliet", "-rock"])
        .arg(files.join("user-data"))
        .arg(files.join("meta-data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "genisoimage: {}", text(&out));
    iso
}
