//! The host's network as a bridge's guests meet it: firewalls and the uplink.

pub mod firewall;
pub mod mtu;
