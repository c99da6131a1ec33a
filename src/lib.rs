//! container-init: prepare a Linux host to run LXC, LXD, Incus or KVM containers.
//!
//! `main.rs` only calls [`app::main`]; everything else lives here so that
//! tests can reach it.

// Only src/host/ may opt back in, for the system calls rustix has no safe door for.
#![deny(unsafe_code)]

pub mod app;
pub mod check_result;
pub mod cli;
pub mod commands;
pub mod config;
pub mod container_type;
pub mod controller;
pub mod docs;
pub mod exit;
pub mod host;
pub mod logging;
pub mod network;
pub mod output;
pub mod progress;
pub mod proxy;
pub mod record;
pub mod report;
pub mod runtime;
pub mod secret;
pub mod signals;
