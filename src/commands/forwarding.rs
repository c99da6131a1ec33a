//! `forwarding enable|disable|status`: IPv4 forwarding and proxy ARP in the
//! running kernel and in a sysctl.d file of our own.

use crate::exit::{Exit, coded};
use crate::host::Host;
use crate::record;
use crate::report::{Outcome, Report, Status};

/// Ours alone, rewritten whole: appending to /etc/sysctl.conf is how hosts
/// end up with the same key five times.
pub const PERSIST_PATH: &str = "/etc/sysctl.d/60-container-init.conf";

/// The sysctl keys this command owns, with their place under /proc/sys.
pub const KEYS: [(&str, &str); 2] = [
    ("net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"),
    (
        "net.ipv4.conf.all.proxy_arp",
        "/proc/sys/net/ipv4/conf/all/proxy_arp",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarding {
    Enabled,
    Disabled,
}

impl Forwarding {
    fn value(self) -> &'static str {
        match self {
            Forwarding::Enabled => "1",
            Forwarding::Disabled => "0",
        }
    }
}

/// The content of our sysctl.d file for `wanted`.
pub fn persisted_file(wanted: Forwarding) -> String {
    let mut out = String::from(
        "# Written by container-init (forwarding enable|disable); rewritten whole on each change.\n\
         # Containers on a bridge reach the network through this host.\n",
    );
    for (key, _) in KEYS {
        out.push_str(&format!("{key} = {}\n", wanted.value()));
    }
    out
}

/// Persist `net.ipv4.ip_forward = 1` alone, keeping whatever our file says
/// about proxy ARP: NAT needs forwarding from boot on, before Docker starts
/// and, finding it off, turns it on with the `FORWARD` policy `DROP`.
pub fn persist_ip_forward(host: &Host) -> anyhow::Result<crate::host::FileChange> {
    match ip_forward_file(host)? {
        None => {
            record::needs(host, &format!("file {PERSIST_PATH}"))?;
            Ok(crate::host::FileChange::Unchanged)
        }
        Some(out) => record::write_file(host, PERSIST_PATH, out.as_bytes(), 0o644),
    }
}

/// What [`persist_ip_forward`] would write, or `None` when the file already
/// persists forwarding.
pub fn ip_forward_file(host: &Host) -> anyhow::Result<Option<String>> {
    let current = host
        .read_optional(PERSIST_PATH)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let (forward_key, _) = KEYS[0];
    if persisted_value(&current, forward_key).as_deref() == Some("1") {
        return Ok(None);
    }
    let mut out = String::from(
        "# Written by container-init (forwarding enable|disable, and setup for NAT); rewritten whole on each change.\n\
         # Containers on a bridge reach the network through this host.\n",
    );
    out.push_str(&format!("{forward_key} = 1\n"));
    for (key, _) in &KEYS[1..] {
        if let Some(value) = persisted_value(&current, key) {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    Ok(Some(out))
}

/// Make the kernel, and unless `persist` is false the sysctl.d file, hold
/// `wanted`. Reads before it writes: a converged host is left untouched.
pub fn converge(host: &Host, wanted: Forwarding, persist: bool, report: &mut Report) -> anyhow::Result<()> {
    report.run_step("forwarding-kernel", || converge_kernel(host, wanted))?;
    report.run_step("forwarding-persist", || {
        if !persist {
            return Ok(Outcome::new(Status::Skipped, "--no-persist"));
        }
        let change = record::write_file(host, PERSIST_PATH, persisted_file(wanted).as_bytes(), 0o644)?;
        let status = Status::if_changed(change.is_change(), host.applies());
        Ok(Outcome::new(status, PERSIST_PATH).with_plan(change.plan(host)))
    })
}

fn converge_kernel(host: &Host, wanted: Forwarding) -> anyhow::Result<Outcome> {
    let mut differing = Vec::new();
    for (key, proc_path) in KEYS {
        let now = read_kernel(host, key, proc_path)?;
        if now != wanted.value() {
            differing.push((key, proc_path, now));
        } else {
            record::sysctl_converged(host, key)?;
        }
    }
    let want = wanted.value();
    if differing.is_empty() {
        let all = KEYS
            .iter()
            .map(|(k, _)| format!("{k}={want}"))
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(Outcome::new(Status::Unchanged, all));
    }
    let mut plan = Vec::new();
    for (key, proc_path, was) in &differing {
        if host.applies() {
            record::write_sysctl(host, key, was, want)?;
        } else {
            plan.push(format!("write {want} to {proc_path}"));
        }
    }
    let detail = differing
        .iter()
        .map(|(key, _, was)| format!("{key}={want} (was {was})"))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan))
}

fn read_kernel(host: &Host, key: &str, proc_path: &str) -> anyhow::Result<String> {
    match host.read_optional(proc_path)? {
        Some(bytes) => Ok(String::from_utf8_lossy(&bytes).trim().to_string()),
        None => Err(coded(
            Exit::Unavailable,
            format!(
                "the kernel has no {key} ({} does not exist); is /proc mounted, and IPv4 enabled?",
                host.shown(proc_path).display()
            ),
        )),
    }
}

/// `forwarding status`: the running and persisted value of each key.
pub fn status(host: &Host, report: &mut Report) -> anyhow::Result<()> {
    let persisted = host
        .read_optional(PERSIST_PATH)?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    for (key, proc_path) in KEYS {
        let running = read_kernel(host, key, proc_path)?;
        let saved = persisted
            .as_deref()
            .and_then(|text| persisted_value(text, key))
            .unwrap_or_else(|| "unset".to_string());
        report.fact(key, format!("running={running} persisted={saved}"));
    }
    Ok(())
}

/// The value sysctl(8) would load for `key` from a sysctl.d file: the last
/// assignment wins.
pub fn persisted_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.trim_start_matches('-').split_once('='))
        .filter(|(k, _)| k.trim().replace('/', ".") == key)
        .map(|(_, v)| v.trim().to_string())
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_has_one_line_per_key() {
        let text = persisted_file(Forwarding::Enabled);
        for (key, _) in KEYS {
            assert_eq!(text.lines().filter(|l| l.starts_with(key)).count(), 1);
            assert_eq!(persisted_value(&text, key).as_deref(), Some("1"));
        }
        assert_eq!(
            persisted_value(&persisted_file(Forwarding::Disabled), KEYS[0].0).as_deref(),
            Some("0")
        );
    }

    #[test]
    fn persisted_value_reads_sysctl_syntax() {
        let text = "# c\nnet/ipv4/ip_forward=0\n; x\n-net.ipv4.ip_forward = 1\n";
        assert_eq!(persisted_value(text, "net.ipv4.ip_forward").as_deref(), Some("1"));
        assert_eq!(persisted_value(text, "net.ipv4.conf.all.proxy_arp"), None);
    }
}
