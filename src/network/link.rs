//! Network interfaces as sysfs shows them: whether a bridge is up.

use crate::exit::{Exit, coded};
use crate::host::Host;

const IFF_UP: u32 = 0x1;

/// Whether a network interface is administratively up, from sysfs under --root.
pub fn is_up(host: &Host, interface: &str) -> bool {
    host.read_optional(&format!("/sys/class/net/{interface}/flags"))
        .ok()
        .flatten()
        .and_then(|b| {
            let text = String::from_utf8_lossy(&b);
            u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
        })
        .is_some_and(|flags| flags & IFF_UP != 0)
}

pub fn bridge_up(host: &Host, bridge: &str) -> anyhow::Result<()> {
    if bridge.is_empty() || !is_up(host, bridge) {
        return Err(coded(
            Exit::Os,
            format!("the bridge {bridge:?} is not up after setup; check the runtime's logs and run again"),
        ));
    }
    Ok(())
}
