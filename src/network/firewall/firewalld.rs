//! firewalld rejects what its zones do not allow. The `trusted` zone
//! accepts everything on its interfaces; the bridge goes there, in the
//! running firewall and in the permanent configuration.

use crate::host::CommandLine;

use super::ruleset::{Origin, Table};

pub fn open(bridge: &str, tables: &mut Vec<Table>) -> Vec<CommandLine> {
    // `--change-interface` also takes an interface that is in no zone yet.
    let change = format!("--change-interface={bridge}");
    let cmds = vec![
        CommandLine::new("firewall-cmd").args(["--permanent", "--zone=trusted", &change]),
        CommandLine::new("firewall-cmd").args(["--zone=trusted", &change]),
    ];
    // In the trusted zone nothing of firewalld's drops the bridge's traffic.
    tables.retain(|t| !(t.origin == Origin::Nft && t.name == "firewalld"));
    cmds
}
