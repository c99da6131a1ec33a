//! A bridge with NAT routes its guests out through the host, so the host
//! must forward. LXD, Incus, lxc-net and libvirt turn forwarding on when
//! they start a NAT bridge; someone who resets it afterwards (a hardening
//! script, a `sysctl --system` with an old file) cuts every guest off until
//! the runtime restarts. `setup` does what the runtime does: turn it back
//! on, and persist it so that the next boot keeps it. Proxy ARP is not
//! touched: that is `forwarding enable`, the controller's knob for
//! addressable guests.

use crate::commands::forwarding;
use crate::host::Host;
use crate::network::readiness::Bridge;
use crate::record;
use crate::report::{Outcome, Status};

pub const STEP: &str = "nat-forwarding";

pub const IPV4_KEY: &str = "net.ipv4.ip_forward";
pub const IPV4_PROC: &str = "/proc/sys/net/ipv4/ip_forward";

/// The running value of a `/proc/sys` knob, trimmed; empty when unreadable.
pub fn kernel_value(host: &Host, proc_path: &str) -> String {
    host.read_optional(proc_path)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default()
}

/// Turn IPv4 forwarding on for `bridge`'s NAT where it is off, now and after
/// a reboot; a bridge without NAT, or a host that forwards, is left alone.
pub fn step(host: &Host, bridge: &Bridge) -> anyhow::Result<Outcome> {
    let name = &bridge.name;
    if !bridge.nat {
        return Ok(Outcome::new(
            Status::Skipped,
            format!("{name} has no NAT: the host need not forward for it"),
        ));
    }
    let now = kernel_value(host, IPV4_PROC);
    if now == "1" {
        record::sysctl_converged(host, IPV4_KEY)?;
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("{IPV4_KEY}=1 for {name}'s NAT"),
        ));
    }
    let mut plan = Vec::new();
    if host.applies() {
        record::write_sysctl(host, IPV4_KEY, &now, "1")?;
    } else {
        plan.push(format!("write 1 to {IPV4_PROC}"));
    }
    plan.extend(forwarding::persist_ip_forward(host)?.plan(host));
    let was = if now.is_empty() { "unset".to_string() } else { now };
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!(
            "{IPV4_KEY}=1 (was {was}) for {name}'s NAT, as the runtime sets it when it starts the bridge; persisted in {}",
            forwarding::PERSIST_PATH
        ),
    )
    .with_plan(plan))
}
