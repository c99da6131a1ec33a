//! Processes a test starts: each in a process group of its own, killed with
//! its whole group when the guard drops (the test ends, passes or panics),
//! so that no `sleep` under a `flock` outlives the test that started it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

pub struct Guarded {
    child: Child,
}

impl Guarded {
    /// Start `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> Guarded {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Guarded { child }
    }

    /// Start `cmd` and wait until it prints its first line: how a holder
    /// says it holds what it was started to hold (no sleep stands in).
    pub fn spawn_ready(cmd: &mut Command) -> Guarded {
        let mut guarded = Guarded::spawn(cmd.stdout(Stdio::piped()));
        let out = guarded.child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "{cmd:?} ended before it was ready");
        guarded
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Whether the leader is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kill the whole group now and reap the leader.
    pub fn kill(&mut self) {
        // The group's id is the leader's pid; a gone group is fine.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Hold an fcntl write lock on `path` (as apt holds dpkg's lock-frontend)
/// until the guard drops, or for `seconds` when given.
pub fn hold_fcntl_lock(path: &std::path::Path, seconds: Option<f64>) -> Guarded {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let wait = match seconds {
        Some(s) => format!("time.sleep({s})"),
        None => "sys.stdin.read()".to_string(),
    };
    Guarded::spawn_ready(
        Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX); print(flush=True); {wait}"
            ))
            .arg(path)
            .stdin(Stdio::piped()),
    )
}

/// Hold a flock(2) lock on `path` (as another container-init holds the host
/// lock) with flock(1): until the guard drops, or for `seconds` when given.
/// Returns once the lock is held.
pub fn hold_flock(path: &std::path::Path, seconds: Option<u32>) -> Guarded {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let hold = match seconds {
        Some(s) => format!("echo locked; exec sleep {s}"),
        None => "echo locked; exec sleep 3600".to_string(),
    };
    Guarded::spawn_ready(Command::new("flock").arg(path).args(["sh", "-c", &hold]))
}
