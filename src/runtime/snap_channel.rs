//! Snap channels (`track/risk[/branch]`) and which way a move between two
//! of them goes. A refresh that can lower LXD's version takes a working host
//! down: LXD refuses to start on a database schema newer than it knows
//! (lxd#11265), so moves are decided by version, never by string equality.

use std::cmp::Ordering;
use std::fmt;

/// How risky a channel's builds are; a later variant gets newer builds first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    Stable,
    Candidate,
    Beta,
    Edge,
}

impl Risk {
    const ALL: [(&'static str, Risk); 4] = [
        ("stable", Risk::Stable),
        ("candidate", Risk::Candidate),
        ("beta", Risk::Beta),
        ("edge", Risk::Edge),
    ];

    fn parse(s: &str) -> Option<Risk> {
        Risk::ALL.iter().find(|(name, _)| *name == s).map(|(_, r)| *r)
    }

    fn as_str(self) -> &'static str {
        Risk::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(name, _)| *name)
            .unwrap_or_default()
    }
}

/// A channel's track: `latest`, a version such as `5.21`, or a name that
/// says nothing about its age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Track {
    Latest,
    Version(Vec<u32>),
    Named(String),
}

impl Track {
    fn parse(s: &str) -> Result<Track, &'static str> {
        if s == "latest" {
            return Ok(Track::Latest);
        }
        if !name_ok(s) {
            return Err("a track is at most 64 letters and digits, with single -_.+ between them");
        }
        // Without leading zeros, so that the numbers print back as given.
        let number = |n: &str| {
            n == "0" || (!n.starts_with('0') && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        if s.split('.').all(number) {
            let numbers: Result<Vec<u32>, _> = s.split('.').map(str::parse).collect();
            return numbers
                .map(Track::Version)
                .map_err(|_| "a track number is too large");
        }
        Ok(Track::Named(s.to_string()))
    }

    /// `None` when nothing says which is newer (two different named tracks).
    fn newness(&self, other: &Track) -> Option<Ordering> {
        match (self, other) {
            (Track::Latest, Track::Latest) => Some(Ordering::Equal),
            (Track::Latest, Track::Version(_)) => Some(Ordering::Greater),
            (Track::Version(_), Track::Latest) => Some(Ordering::Less),
            // Number by number: 5.0 < 5.21 < 6.
            (Track::Version(a), Track::Version(b)) => Some(a.cmp(b)),
            (a, b) if a == b => Some(Ordering::Equal),
            _ => None,
        }
    }
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Track::Latest => f.write_str("latest"),
            Track::Version(numbers) => {
                let parts: Vec<String> = numbers.iter().map(u32::to_string).collect();
                f.write_str(&parts.join("."))
            }
            Track::Named(name) => f.write_str(name),
        }
    }
}

/// A parsed snap channel. What snap accepts: `risk`, `track`,
/// `track/risk`, `risk/branch`, `track/risk/branch`; a track alone means its
/// `stable` risk, a risk alone means the `latest` track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub track: Track,
    pub risk: Risk,
    pub branch: Option<String>,
}

impl Channel {
    pub fn parse(s: &str) -> Result<Channel, &'static str> {
        const WHY: &str = "must be a snap channel like 5.21/stable, 5.21, latest/edge or stable";
        let parts: Vec<&str> = s.split('/').collect();
        let (track, risk, branch) = match parts.as_slice() {
            [one] => match Risk::parse(one) {
                Some(risk) => (Track::Latest, risk, None),
                None => (Track::parse(one)?, Risk::Stable, None),
            },
            [first, second] => match (Risk::parse(first), Risk::parse(second)) {
                (_, Some(risk)) => (Track::parse(first)?, risk, None),
                (Some(risk), None) => (Track::Latest, risk, Some(branch(second)?)),
                (None, None) => return Err(WHY),
            },
            [track, risk, b] => (
                Track::parse(track)?,
                Risk::parse(risk).ok_or(WHY)?,
                Some(branch(b)?),
            ),
            _ => return Err(WHY),
        };
        Ok(Channel { track, risk, branch })
    }

    /// What happens when a snap that tracks `installed` (as `snap list`
    /// shows it) is asked for `wanted`. What cannot be read cannot be
    /// ordered, and is left alone.
    pub fn decide(installed: &str, wanted: &Channel) -> Move {
        match Channel::parse(installed) {
            Ok(channel) => channel.move_to(wanted),
            Err(_) => Move::Refused(Refusal {
                installed: installed.to_string(),
                wanted: wanted.to_string(),
                why: "the channel it tracks cannot be read, so nothing tells which is newer",
            }),
        }
    }

    /// What happens when a host on `self` is asked for `wanted`.
    pub fn move_to(&self, wanted: &Channel) -> Move {
        if self == wanted {
            return Move::Stay;
        }
        let why = match self.track.newness(&wanted.track) {
            Some(Ordering::Less) => return Move::Upgrade,
            Some(Ordering::Greater) if self.track == Track::Latest => {
                "latest is newer than every numbered track"
            }
            Some(Ordering::Greater) => "it is an older track",
            None => "nothing tells which of the two tracks is newer",
            Some(Ordering::Equal) => match self.risk.cmp(&wanted.risk) {
                Ordering::Less => return Move::Upgrade,
                Ordering::Greater => "within one track, a more stable risk can hold an older revision",
                Ordering::Equal => "nothing tells which of the two branches is newer",
            },
        };
        Move::Refused(Refusal {
            installed: self.to_string(),
            wanted: wanted.to_string(),
            why,
        })
    }
}

/// Letters and digits, with single `-_.+` between them.
fn name_ok(s: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    s.len() <= 64
        && alnum(s.chars().next())
        && alnum(s.chars().last())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
        && !s
            .as_bytes()
            .windows(2)
            .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric())
}

fn branch(s: &str) -> Result<String, &'static str> {
    if name_ok(s) {
        Ok(s.to_string())
    } else {
        Err("a branch is at most 64 letters and digits, with single -_.+ between them")
    }
}

/// Always `track/risk[/branch]`: what `snap refresh --channel=` is given.
impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.track, self.risk.as_str())?;
        if let Some(branch) = &self.branch {
            write!(f, "/{branch}")?;
        }
        Ok(())
    }
}

/// The decision for an installed snap and the channel asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    Stay,
    /// A newer track, or a riskier risk of the same track: a refresh, which
    /// restarts the daemon.
    Upgrade,
    /// A move that could lower the version: the snap is left where it is.
    Refused(Refusal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    installed: String,
    wanted: String,
    why: &'static str,
}

impl Refusal {
    /// The warning `setup` and `check` both give, naming both channels and why.
    pub fn reason(&self, snap: &str) -> String {
        format!(
            "snap {snap} left on {}: lxd-snap-channel asks for {}, but {}, and a refresh there could \
             lower {snap}'s version (it cannot start on a database a newer version has upgraded)",
            self.installed, self.wanted, self.why
        )
    }

    pub fn fix(&self) -> String {
        format!(
            "set lxd-snap-channel to {} or a newer channel; moving LXD down is for an operator to do by hand, if at all",
            self.installed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(s: &str) -> Channel {
        Channel::parse(s).unwrap_or_else(|why| panic!("{s:?}: {why}"))
    }

    #[test]
    fn every_form_snap_takes_reads_as_track_and_risk() {
        let table = [
            ("5.21/stable", "5.21/stable"),
            ("5.21", "5.21/stable"),
            ("6", "6/stable"),
            ("stable", "latest/stable"),
            ("edge", "latest/edge"),
            ("latest", "latest/stable"),
            ("latest/candidate", "latest/candidate"),
            ("beta/hotfix-1", "latest/beta/hotfix-1"),
            ("5.0/candidate/hotfix-1", "5.0/candidate/hotfix-1"),
            ("4.0.9/edge", "4.0.9/edge"),
            ("my-track/beta", "my-track/beta"),
        ];
        for (given, canonical) in table {
            assert_eq!(ch(given).to_string(), canonical, "{given}");
            // The canonical form reads back as the same channel.
            assert_eq!(ch(canonical), ch(given), "{given}");
        }
    }

    #[test]
    fn malformed_channels_are_refused_without_a_panic() {
        let long = "x".repeat(65);
        let table = [
            "",
            "/",
            "/stable",
            "5.21/",
            "5.21//stable",
            "a/b/c/d",
            "5.21/stable;id",
            "5.21/nightly",
            "5.21/stable/",
            "stable/stable/x y",
            "5.21 /stable",
            "$(id)",
            "5.21/stable\n",
            "99999999999/stable",
            "5..21/stable",
            ".5/stable",
            "5./stable",
            "-x/stable",
            "stable/hotfix-",
            long.as_str(),
            "ünïcode/stable",
        ];
        for given in table {
            assert!(Channel::parse(given).is_err(), "{given:?} was accepted");
        }
        // Branches and two tracks with names are accepted, not ordered.
        assert!(Channel::parse("latest/stable/a.b+c_d-e").is_ok());
    }

    #[test]
    fn numbered_tracks_compare_as_versions_and_latest_is_newest() {
        let oldest_first = ["4.0", "5", "5.0", "5.0.1", "5.9", "5.21", "6", "6.1", "latest"];
        for (i, older) in oldest_first.iter().enumerate() {
            for newer in &oldest_first[i + 1..] {
                let (a, b) = (ch(older), ch(newer));
                assert_eq!(a.move_to(&b), Move::Upgrade, "{older} -> {newer}");
                assert!(matches!(b.move_to(&a), Move::Refused(_)), "{newer} -> {older}");
            }
        }
    }

    #[test]
    fn risks_order_stable_candidate_beta_edge_within_a_track() {
        let most_stable_first = ["5.21/stable", "5.21/candidate", "5.21/beta", "5.21/edge"];
        for (i, stabler) in most_stable_first.iter().enumerate() {
            for riskier in &most_stable_first[i + 1..] {
                assert_eq!(ch(stabler).move_to(&ch(riskier)), Move::Upgrade);
                let Move::Refused(refusal) = ch(riskier).move_to(&ch(stabler)) else {
                    panic!("{riskier} -> {stabler} was not refused");
                };
                assert!(refusal.reason("lxd").contains("more stable risk"));
            }
        }
    }

    #[test]
    fn the_track_decides_before_the_risk() {
        assert_eq!(ch("5.21/edge").move_to(&ch("6/stable")), Move::Upgrade);
        assert!(matches!(
            ch("6/stable").move_to(&ch("5.21/edge")),
            Move::Refused(_)
        ));
    }

    #[test]
    fn the_same_channel_stays_however_it_is_written() {
        for (a, b) in [
            ("5.21", "5.21/stable"),
            ("stable", "latest/stable"),
            ("latest/edge", "edge"),
        ] {
            assert_eq!(ch(a).move_to(&ch(b)), Move::Stay, "{a} -> {b}");
        }
    }

    #[test]
    fn unordered_moves_are_refused() {
        for (installed, wanted) in [
            ("my-track/stable", "other/stable"),
            ("my-track/stable", "5.21/stable"),
            ("5.21/stable", "my-track/stable"),
            ("5.21/stable/hotfix", "5.21/stable"),
            ("5.21/stable", "5.21/stable/hotfix"),
        ] {
            assert!(
                matches!(ch(installed).move_to(&ch(wanted)), Move::Refused(_)),
                "{installed} -> {wanted}"
            );
        }
    }

    #[test]
    fn a_tracking_column_that_is_no_channel_is_left_alone() {
        // A side-loaded snap tracks nothing: `snap list` shows `-`.
        for installed in ["-", "", "5.21/stable extra"] {
            let Move::Refused(refusal) = Channel::decide(installed, &ch("6")) else {
                panic!("{installed:?} -> 6 was not refused");
            };
            assert!(refusal.reason("lxd").contains("cannot be read"));
        }
        assert_eq!(Channel::decide("5.21/stable", &ch("5.21")), Move::Stay);
        assert_eq!(Channel::decide("5.0/stable", &ch("5.21")), Move::Upgrade);
    }

    #[test]
    fn the_warning_names_both_channels_and_why() {
        let Move::Refused(refusal) = ch("6/stable").move_to(&ch("5.21")) else {
            panic!("6 -> 5.21 was not refused");
        };
        let reason = refusal.reason("lxd");
        assert!(reason.contains("6/stable"), "{reason}");
        assert!(reason.contains("5.21/stable"), "{reason}");
        assert!(reason.contains("older track"), "{reason}");
        let Move::Refused(refusal) = ch("latest/stable").move_to(&ch("5.21/stable")) else {
            panic!("latest -> 5.21 was not refused");
        };
        assert!(
            refusal
                .reason("lxd")
                .contains("latest is newer than every numbered track")
        );
    }
}
