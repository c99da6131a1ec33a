//! The uplink (the device of the IPv4 default route) and its MTU. A bridge
//! whose MTU is larger than its uplink's sends its guests' full-size packets
//! into a black hole wherever ICMP "fragmentation needed" does not come back
//! (GCE's 1460, tunnels, PPPoE).

use crate::host::Host;

/// The MTU guests assume when nothing says otherwise.
pub const ETHERNET: u32 = 1500;

/// The device of the IPv4 default route with the lowest metric, from
/// /proc/net/route (read, so that no process is started for it).
pub fn uplink(host: &Host) -> anyhow::Result<Option<String>> {
    let table = host.read_optional("/proc/net/route")?.unwrap_or_default();
    Ok(default_route_device(&String::from_utf8_lossy(&table)))
}

pub fn default_route_device(table: &str) -> Option<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            let (iface, dest, flags, metric, mask) = (f.first()?, f.get(1)?, f.get(3)?, f.get(6)?, f.get(7)?);
            let up = u32::from_str_radix(flags, 16).ok()? & 0x1 != 0;
            (up && *dest == "00000000" && *mask == "00000000")
                .then(|| (metric.parse::<u32>().unwrap_or(u32::MAX), iface.to_string()))
        })
        .min()
        .map(|(_, iface)| iface)
}

/// An interface's MTU, from sysfs.
pub fn of(host: &Host, interface: &str) -> Option<u32> {
    host.read_optional(&format!("/sys/class/net/{interface}/mtu"))
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8_lossy(&b).trim().parse().ok())
}

/// The uplink and its MTU, when both can be told.
pub fn uplink_mtu(host: &Host) -> anyhow::Result<Option<(String, u32)>> {
    Ok(uplink(host)?.and_then(|dev| of(host, &dev).map(|mtu| (dev, mtu))))
}

/// The MTU a bridge takes when the manager config gives none: the uplink's,
/// when that is below Ethernet's (lxd#12809); otherwise the runtime's own.
pub fn wanted(host: &Host, configured: Option<u32>) -> anyhow::Result<Option<u32>> {
    if configured.is_some() {
        return Ok(configured);
    }
    Ok(uplink_mtu(host)?
        .map(|(_, mtu)| mtu)
        .filter(|mtu| *mtu < ETHERNET))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_with_the_lowest_metric_wins() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
                     eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(default_route_device(table).as_deref(), Some("eth0"));
        assert_eq!(default_route_device("Iface\n"), None);
        assert_eq!(default_route_device("garbage\n1 2\n"), None);
    }
}
