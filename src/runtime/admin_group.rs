//! `--user NAME`: that user in the runtime's admin group (`lxd`,
//! `incus-admin`), so that they can use the client without root. Operators
//! otherwise do this by hand after every install.

use std::fmt;
use std::str::FromStr;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::report::{Outcome, Status};

pub const GROUP_FILE: &str = "/etc/group";
pub const PASSWD_FILE: &str = "/etc/passwd";

/// A login name that can go on usermod's command line: letters, digits,
/// `.`, `_`, `-`, not starting with `-` (it would read as an option) and not
/// all digits (it would read as a uid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl FromStr for UserName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if s.is_empty()
            || s.len() > 32
            || !s.chars().all(allowed)
            || s.starts_with(['-', '.'])
            || s.chars().all(|c| c.is_ascii_digit())
        {
            let shown: String = s.chars().take(40).collect();
            return Err(format!(
                "{shown:?} is not a user name; give a login name of letters, digits, '.', '_' and '-' (at most 32), such as ubuntu"
            ));
        }
        Ok(UserName(s.to_string()))
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `name:x:gid:a,b`: the line of `group` in a group(5) file, and its members.
pub fn members<'a>(group_file: &'a str, group: &str) -> Option<Vec<&'a str>> {
    group_file.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(group)).then(|| {
            fields
                .nth(2)
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect()
        })
    })
}

/// The user's primary group id, from passwd(5); `None` for an unknown user.
fn primary_gid<'a>(passwd_file: &'a str, user: &str) -> Option<&'a str> {
    passwd_file.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user)).then(|| fields.get(3).copied().unwrap_or(""))
    })
}

pub fn user_step(host: &Host, group: &str, user: &UserName) -> anyhow::Result<Outcome> {
    let read = |path: &str| -> anyhow::Result<String> {
        Ok(String::from_utf8_lossy(&host.read_optional(path)?.unwrap_or_default()).into_owned())
    };
    let passwd = read(PASSWD_FILE)?;
    let Some(gid) = primary_gid(&passwd, &user.0) else {
        return Err(coded(
            Exit::Data,
            format!(
                "--user {user}: no such user in {PASSWD_FILE}; create the user first, or give an existing one"
            ),
        ));
    };
    let groups = read(GROUP_FILE)?;
    match members(&groups, group) {
        Some(members) if members.contains(&user.0.as_str()) => {
            return Ok(Outcome::new(Status::Unchanged, format!("{user} in {group}")));
        }
        Some(_) => {}
        // The package creates the group; in a dry run before it is installed
        // the plan still adds the user.
        None if host.applies() => {
            return Err(coded(
                Exit::Os,
                format!(
                    "the group {group} does not exist although the runtime is installed; reinstall its package, then run again"
                ),
            ));
        }
        None => {}
    }
    let primary = groups
        .lines()
        .find(|l| l.starts_with(&format!("{group}:")))
        .and_then(|l| l.split(':').nth(2));
    if primary == Some(gid) {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("{user} in {group} (primary group)"),
        ));
    }
    let cmd = CommandLine::new("usermod")
        .args(["-aG", group, "--"])
        .arg(user.to_string());
    crate::record::note(
        host,
        crate::record::Change::GroupMember {
            group: group.to_string(),
            user: user.to_string(),
        },
    )?;
    let plan = host.run_all(&[cmd])?;
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("added {user} to {group}; it takes effect at their next login"),
    )
    .with_plan(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_what_usermod_can_take_and_nothing_else() {
        for good in ["ubuntu", "ci-runner", "a.b_c", "user1"] {
            assert!(good.parse::<UserName>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "-G",
            ".hidden",
            "1000",
            "a b",
            "a:b",
            "a\nb",
            "ä",
            &"x".repeat(33),
        ] {
            assert!(bad.parse::<UserName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn members_and_primary_groups_are_read_from_the_files() {
        let group = "root:x:0:\nlxd:x:998:alice, bob\nincus-admin:x:997:\n";
        assert_eq!(members(group, "lxd").unwrap(), ["alice", "bob"]);
        assert!(members(group, "incus-admin").unwrap().is_empty());
        assert!(members(group, "incus").is_none());
        let passwd = "root:x:0:0:root:/root:/bin/bash\ncarol:x:1000:1000::/home/carol:/bin/sh\n";
        assert_eq!(primary_gid(passwd, "carol"), Some("1000"));
        assert_eq!(primary_gid(passwd, "car"), None);
    }
}
