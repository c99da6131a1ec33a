//! The host's network as a bridge's guests meet it: addresses, the subnet a
//! bridge takes, links, the uplink's MTU, firewalls, what opens them
//! (coexistence) and what proves the data path (readiness).

pub mod addr;
pub mod coexistence;
pub mod firewall;
pub mod ipv6;
pub mod ipv6_forwarding;
pub mod link;
pub mod mtu;
pub mod nat_forwarding;
pub mod ports;
pub mod readiness;
pub mod subnet;
