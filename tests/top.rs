//! `--top` as a person uses it: tmux runs it in an 80x24 terminal inside a lab namespace
//! while traffic flows, `send-keys` types, `capture-pane` reads the screen. Checks that the
//! counters show, the keys work, and that the terminal is given back (normal screen, cursor
//! shown, cooked mode) on `q`, on SIGTERM, and when the interface goes away.
//!
//! Needs root (namespaces, CAP_BPF) and tmux; otherwise each test says SKIPPED and passes.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use support::lab::*;

const BIN: &str = env!("CARGO_BIN_EXE_bpfdump");

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    fn new(test: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            skip(test, "tmux not found (apt-get install tmux)");
            return None;
        }
        static N: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "bpft{}x{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&socket);
        std::fs::create_dir_all(&dir).unwrap();
        Some(Tmux { socket, dir })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Starts `script` (sh) in an 80x24 window of a UTF-8 terminal.
    fn start(&self, script: &str) {
        let path = self.dir.join("run.sh");
        std::fs::write(&path, script).unwrap();
        let o = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "80",
                "-y",
                "24",
            ])
            .arg(format!(
                "env LANG=C.UTF-8 TERM=xterm-256color sh {}",
                path.display()
            ))
            .status()
            .expect("start tmux");
        assert!(o.success(), "tmux new-session failed");
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// `#{alternate_on} #{cursor_flag}` of the pane.
    fn modes(&self) -> String {
        self.tmux(&["display", "-p", "-t", "t", "#{alternate_on} #{cursor_flag}"])
            .trim()
            .to_string()
    }

    fn keys(&self, k: &str) {
        self.tmux(&["send-keys", "-t", "t", k]);
    }

    /// Waits until the screen satisfies `f`; panics with the screen after `limit`.
    fn wait_for(&self, what: &str, limit: Duration, f: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + limit;
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            if Instant::now() > end {
                panic!("timed out waiting for {what}; the screen:\n{s}");
            }
            sleep(Duration::from_millis(100));
        }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The script: the view in lab side A's namespace, then, once it exits, its status, the
/// terminal's mode (stty) and a marker, into files and onto the screen.
fn script(t: &Tmux, lab: &Lab, args: &str) -> String {
    let d = t.dir.display();
    format!(
        "echo $$ > {d}/shell.pid\n\
         ip netns exec {ns} {BIN} -i {dev} --top {args} 2> {d}/stderr\n\
         echo $? > {d}/status\n\
         stty -a > {d}/stty\n\
         echo VIEW-ENDED\n\
         sleep 60\n",
        ns = lab.ns(Side::A),
        dev = lab.dev(Side::A),
    )
}

/// A lab and a terminal running `bpfdump --top ARGS` in it, once the view is on screen;
/// None (SKIPPED said) when the test cannot run here.
fn view(test: &str, args: impl FnOnce(&Tmux) -> String) -> Option<(Lab, Tmux)> {
    let lab = Lab::up(test)?;
    let t = Tmux::new(test)?;
    let args = args(&t);
    t.start(&script(&t, &lab, &args));
    t.wait_for("the view", Duration::from_secs(10), |s| {
        s.contains("bpfdump --top")
    });
    Some((lab, t))
}

fn udp_frames(lab: &Lab, n: usize, dport: u16) -> Vec<Vec<u8>> {
    let (a, b) = (lab.link(Side::A), lab.link(Side::B));
    (0..n)
        .map(|i| {
            let ip = ipv4_udp(
                lab.ip4(Side::B),
                lab.ip4(Side::A),
                40000 + (i % 3) as u16,
                dport,
                i as u16,
                &payload("top", i, 60),
            );
            ether(a.mac, b.mac, &[], 0x0800, &ip)
        })
        .collect()
}

/// The bpfdump process of the view (the only one in the lab namespace).
fn view_pid(lab: &Lab) -> Option<u32> {
    let o = Command::new("ip")
        .args(["netns", "pids", &lab.ns(Side::A)])
        .output()
        .ok()?;
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<u32>().ok())
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "bpfdump")
        })
}

/// The last `n` columns of the screen's first line starting with `start`: a counter line's
/// totals (packets, bytes, segments).
fn totals(s: &str, start: &str, n: usize) -> Option<Vec<String>> {
    let w: Vec<String> = s
        .lines()
        .find(|l| l.starts_with(start))?
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Some(w[w.len().saturating_sub(n)..].to_vec())
}

/// After the view: normal screen, cursor shown, the terminal back in cooked mode with echo.
fn assert_restored(t: &Tmux, want_status: &str) -> String {
    let s = t.wait_for("the view to end", Duration::from_secs(10), |s| {
        s.contains("VIEW-ENDED")
    });
    assert_eq!(
        t.modes(),
        "0 1",
        "alternate screen off, cursor on; screen:\n{s}"
    );
    let stty = t.file("stty");
    assert!(
        stty.contains(" icanon") && stty.contains(" echo ") && !stty.contains("-icanon"),
        "terminal left in raw mode: {stty}"
    );
    assert_eq!(
        t.file("status").trim(),
        want_status,
        "stderr: {}",
        t.file("stderr")
    );
    s
}

#[test]
fn the_view_shows_the_counters_and_the_keys_work_and_q_restores_the_terminal() {
    let test = "top::keys";
    let Some(lab) = Lab::up(test) else { return };
    let Some(t) = Tmux::new(test) else { return };
    t.start(&script(
        &t,
        &lab,
        "-n --rule dns='udp port 53' --rule web='tcp port 443' udp",
    ));
    let s = t.wait_for("the view", Duration::from_secs(10), |s| {
        s.contains("bpfdump --top")
    });
    assert_eq!(
        t.modes(),
        "1 0",
        "the view uses the alternate screen, cursor hidden:\n{s}"
    );
    lab.send_frames(Side::B, &udp_frames(&lab, 30, 53));
    lab.send_frames(Side::B, &udp_frames(&lab, 12, 9));
    // Totals: 42 frames of 102 bytes seen, all UDP, matched by `udp`; the dns rule counts 30.
    let s = t.wait_for("the counters", Duration::from_secs(10), |s| {
        totals(s, "seen ", 3).is_some_and(|v| v == ["42", "4284", "42"])
    });
    assert_eq!(
        totals(&s, "matched ", 3).unwrap(),
        ["42", "4284", "42"],
        "{s}"
    );
    assert_eq!(totals(&s, "dns ", 2).unwrap(), ["30", "3060"], "{s}");
    assert_eq!(totals(&s, "web ", 2).unwrap(), ["0", "0"], "{s}");
    assert!(s.lines().any(|l| l.starts_with("dns   udp port 53")), "{s}");
    assert!(s.contains("top flows by bytes"), "{s}");
    assert!(s.contains("udp 10.200.0.2.40000 > 10.200.0.1.53"), "{s}");
    for l in s.lines() {
        assert!(
            l.chars().count() <= 80,
            "line wider than the terminal: {l:?}"
        );
    }
    t.keys("p");
    t.wait_for("ordering by packets", Duration::from_secs(5), |s| {
        s.contains("top flows by packets")
    });
    t.keys("b");
    t.wait_for("ordering by bytes", Duration::from_secs(5), |s| {
        s.contains("top flows by bytes")
    });
    t.keys("q");
    let s = assert_restored(&t, "0");
    // The totals are printed once the screen is back, for the record.
    assert!(s.contains("seen:    42 packets"), "{s}");
}

#[test]
fn sigterm_ends_the_view_and_restores_the_terminal() {
    let test = "top::sigterm";
    let Some((lab, t)) = view(test, |_| "-n".into()) else {
        return;
    };
    let pid = view_pid(&lab).expect("the view's process");
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_restored(&t, "0");
}

#[test]
fn ctrl_c_ends_the_view() {
    let test = "top::ctrl_c";
    let Some((_lab, t)) = view(test, |_| "-n".into()) else {
        return;
    };
    t.keys("C-c");
    assert_restored(&t, "0");
}

/// Deletes side A's interface: the view ends (status 1, terminal restored) with libpcap's
/// one line.
fn delete_and_see_the_view_end(lab: &Lab, t: &Tmux) {
    lab.ip_cmd(Side::A, &["link", "del", &lab.dev(Side::A)]);
    assert_restored(t, "1");
    let err = t.file("stderr");
    let dev = lab.dev(Side::A);
    assert!(
        err.lines()
            .any(|l| l == format!("bpfdump: {dev}: The interface disappeared")),
        "stderr: {err}"
    );
}

#[test]
fn the_interface_going_away_ends_the_view_with_one_line() {
    let test = "top::iface_gone";
    let Some((lab, t)) = view(test, |_| "-n".into()) else {
        return;
    };
    delete_and_see_the_view_end(&lab, &t);
}

/// A link flap does not end the view, and it goes on counting; the interface deleted while
/// its link is down (when the kernel's one ENETDOWN has already come) still ends it.
#[test]
fn a_link_flap_is_ridden_and_deletion_after_a_down_ends_the_view() {
    let test = "top::flap_then_gone";
    let Some((lab, t)) = view(test, |_| "-n 'udp port 53'".into()) else {
        return;
    };
    // Long enough for the view to sample (each second) and so take the socket's error.
    let view_runs = |when: &str| {
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !t.screen().contains("VIEW-ENDED"),
            "the view ended when {when}; stderr: {}",
            t.file("stderr")
        );
    };
    lab.set_link_up(Side::A, false);
    view_runs("the link went down");
    lab.set_link_up(Side::A, true);
    view_runs("the link came back up");
    // Counting goes on after the flap.
    lab.send_frames(Side::B, &udp_frames(&lab, 7, 53));
    // (The link coming up sends IPv6 neighbour discovery of its own: only the matched
    // line's total packets, the third column from the end, is known.)
    t.wait_for("the packets after the flap", Duration::from_secs(10), |s| {
        totals(s, "matched ", 3).is_some_and(|v| v.len() == 3 && v[0] == "7")
    });
    lab.set_link_up(Side::A, false);
    view_runs("the link went down again");
    delete_and_see_the_view_end(&lab, &t);
}

#[test]
fn the_view_while_capturing_shows_kernel_drops_and_the_file_is_complete() {
    let test = "top::capture";
    let Some(lab) = Lab::up(test) else { return };
    let Some(t) = Tmux::new(test) else { return };
    let file = t.dir.join("cap.pcap");
    t.start(&script(
        &t,
        &lab,
        &format!("-n -w {} 'udp port 53'", file.display()),
    ));
    t.wait_for("the view", Duration::from_secs(10), |s| {
        s.contains("bpfdump --top")
    });
    lab.send_frames(Side::B, &udp_frames(&lab, 20, 53));
    lab.send_frames(Side::B, &udp_frames(&lab, 5, 9));
    t.wait_for("the kernel's counters", Duration::from_secs(10), |s| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w == ["received", "20"])
    });
    t.keys("q");
    assert_restored(&t, "0");
    let err = t.file("stderr");
    assert!(err.contains("20 packets captured"), "{err}");
    let cap = parse_capture(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(cap.packets.len(), 20);
}

#[test]
fn duration_ends_the_view() {
    let test = "top::duration";
    let Some((_lab, t)) = view(test, |_| "-n --duration 1.5".into()) else {
        return;
    };
    let began = Instant::now();
    assert_restored(&t, "0");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "--duration 1.5 was not kept"
    );
}

#[test]
fn the_terminal_going_away_ends_the_view() {
    let test = "top::terminal_gone";
    let Some((lab, t)) = view(test, |_| "-n".into()) else {
        return;
    };
    let pid = view_pid(&lab).expect("the view's process");
    // The window and its terminal are gone (as when an ssh session drops).
    t.tmux(&["kill-server"]);
    let end = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        assert!(
            Instant::now() < end,
            "bpfdump --top still runs after its terminal went away: {stat}"
        );
        sleep(Duration::from_millis(50));
    }
    let err = t.file("stderr");
    assert!(err.contains("the terminal went away"), "stderr: {err}");
}
