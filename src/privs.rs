//! `-Z USER`: give up root once the capture socket and the first output file are open.
//!
//! By default a capture run as root continues as the user who ran `sudo` (so rotated files
//! belong to them), or as `nobody`; `-Z root` keeps root. The first file, created while still
//! root, is handed to the same user (by the caller), so all files of a run have one owner.

use nix::unistd::{self, Gid, Uid, User};

use crate::error::Error;

/// Who to become.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
}

/// The user to switch to: `-Z USER` if given, else the invoking sudo user, else `nobody`.
/// None when not running as root, or when asked to stay root.
pub fn target(asked: Option<&str>) -> Result<Option<Target>, Error> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let user = match asked {
        Some(name) => User::from_name(name)
            .map_err(|e| Error::msg(format!("-Z {name}: {}", e.desc())))?
            .ok_or_else(|| Error::msg(format!("-Z {name}: no such user")))?,
        None => {
            let sudo = std::env::var("SUDO_UID")
                .ok()
                .and_then(|u| u.parse::<u32>().ok())
                .filter(|&u| u != 0)
                .and_then(|u| User::from_uid(Uid::from_raw(u)).ok().flatten());
            match sudo {
                Some(u) => u,
                None => User::from_name("nobody").ok().flatten().ok_or_else(|| {
                    Error::msg("no user 'nobody' to drop privileges to; use -Z USER (or -Z root)")
                })?,
            }
        }
    };
    if user.uid.is_root() {
        return Ok(None);
    }
    Ok(Some(Target {
        name: user.name,
        uid: user.uid,
        gid: user.gid,
    }))
}

/// Becomes the target user for good: supplementary groups, then group, then user.
pub fn drop_to(t: &Target) -> Result<(), Error> {
    let fail = |what: &str, e: nix::Error| {
        Error::msg(format!(
            "cannot drop privileges to {} ({what}): {}",
            t.name,
            e.desc()
        ))
    };
    let cname = std::ffi::CString::new(t.name.as_str()).map_err(|_| Error::msg("bad user name"))?;
    unistd::initgroups(&cname, t.gid).map_err(|e| fail("initgroups", e))?;
    unistd::setgid(t.gid).map_err(|e| fail("setgid", e))?;
    // While still root: empty the capability bounding set, so that nothing this process
    // runs can get a capability back (setuid below clears the others).
    drop_bounding_set().map_err(|e| fail("PR_CAPBSET_DROP", e))?;
    unistd::setuid(t.uid).map_err(|e| fail("setuid", e))?;
    // And no execve can raise privileges (set-user-ID programs, file capabilities).
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(fail("PR_SET_NO_NEW_PRIVS", nix::Error::last()));
    }
    // Make sure there is no way back.
    if unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(Error::msg(format!(
            "dropping privileges to {} did not take",
            t.name
        )));
    }
    Ok(())
}

/// Drops every capability from the bounding set (cap_last_cap says how many the kernel
/// has); a capability the kernel does not know (EINVAL) ends the walk.
fn drop_bounding_set() -> Result<(), nix::Error> {
    let last: libc::c_ulong = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0 {
            match nix::Error::last() {
                nix::Error::EINVAL => break,
                e => return Err(e),
            }
        }
    }
    Ok(())
}
