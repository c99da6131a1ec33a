//! One module per subcommand. They only orchestrate: what they read of the
//! host comes from `runtime/` and `network/`, so `check` and `setup` share
//! every probe.

pub mod check;
pub mod forwarding;
pub mod lxc_net;
pub mod setup;
pub mod teardown;
