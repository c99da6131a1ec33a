//! container-init: prepare a Linux host to run LXC, LXD, Incus or KVM containers.
//!
//! `main.rs` only calls [`app::main`]; everything else lives here so that
//! tests can reach it.

pub mod app;
pub mod check;
pub mod check_result;
pub mod cli;
pub mod coexistence;
pub mod config_source;
pub mod container_type;
pub mod controller;
pub mod docs;
pub mod exit;
pub mod forwarding;
pub mod host;
pub mod limits;
pub mod logging;
pub mod lxc_net;
pub mod manager_config;
pub mod net;
pub mod network;
mod pow;
pub mod progress;
pub mod proxy;
pub mod readiness;
pub mod report;
pub mod secret;
pub mod settings;
pub mod setup;
pub mod signals;
pub mod snap_channel;
pub mod yaml_doc;
pub mod yaml_shape;
