//! `--top`: a full-screen view of the eBPF counters, like `top` for the link, refreshed every
//! second. This module owns the terminal (raw mode, alternate screen, the panic hook that gives
//! the terminal back) and the event loop; what the screen shows is `render`, what keys do is
//! `state`.

mod render;
mod state;

use std::io::{self, IsTerminal, Write};
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::event::{self, Event};
use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::terminal::{self, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{execute, queue};

use crate::bpf::report::{Namer, Rule, Sample};
use crate::error::Error;
use state::{Action, State};

pub struct TopConfig {
    /// Shown in the header.
    pub interface: String,
    /// The filter expression ("" = everything).
    pub filter: String,
    pub rules: Vec<Rule>,
    /// -n: no host-name lookups for flows (Namer::new(numeric)).
    pub numeric: bool,
    /// True when packets are also written to a file: show kernel received/dropped from
    /// Sample::kernel.
    pub capturing: bool,
    /// 1 s by default.
    pub refresh: Duration,
}

pub trait Source {
    /// The counters now. An Err ends the view (e.g. the interface went away): the terminal
    /// is restored first, then the error is returned by `run`.
    fn sample(&mut self) -> Result<Sample, Error>;
}

/// How often `stop` is asked, at the longest.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Runs until `q`, Ctrl-C (a key event in raw mode), `stop()` returning true (checked at least
/// every 100 ms: SIGTERM/SIGINT set a flag elsewhere), or a Source error. Always restores the
/// terminal (leave alternate screen, show cursor, disable raw mode): on every return path, and
/// on panic (install a panic hook that restores first, chaining to the previous hook).
pub fn run(cfg: &TopConfig, src: &mut dyn Source, stop: &dyn Fn() -> bool) -> Result<(), Error> {
    if !io::stdout().is_terminal() {
        return Err(Error::msg(
            "--top needs a terminal on standard output (--count prints the counters as text)",
        ));
    }
    let mut st = State::new(cfg);
    st.unicode = utf8_locale();
    let term = Terminal::enter()?;
    let result = event_loop(&term, &mut st, src, stop);
    // The terminal is back before the caller prints any error.
    drop(term);
    result
}

fn event_loop(
    term: &Terminal,
    st: &mut State,
    src: &mut dyn Source,
    stop: &dyn Fn() -> bool,
) -> Result<(), Error> {
    let mut namers = Namers::default();
    st.push(src.sample()?);
    let mut last = Instant::now();
    let (mut dirty, mut clear) = (true, true);
    let mut st_size = terminal::size().ok();
    loop {
        if stop() {
            return Ok(());
        }
        if dirty {
            term.draw(st, namers.get(st.numeric), clear)?;
            (dirty, clear) = (false, false);
        }
        let due = last + st.refresh;
        let now = Instant::now();
        if now >= due {
            st.push(src.sample()?);
            // Keep the beat, unless a whole refresh was missed (a stopped process, a slow
            // name lookup): then start again from now rather than sample in a burst.
            last = if now - due >= st.refresh { now } else { due };
            dirty = true;
            continue;
        }
        // Wait for the terminal ourselves: crossterm reads a terminal that hung up (its
        // window closed, ssh gone) as endless empty input, spinning inside its poll; so it
        // is only asked for what the terminal already holds.
        match wait_for_terminal((due - now).min(STOP_CHECK)) {
            Input::Gone => return Err(Error::msg("--top: the terminal went away")),
            Input::Quiet => {
                // (A resize is noticed here, since crossterm is not polled while quiet.)
                let size = terminal::size().ok();
                if size != st_size {
                    st_size = size;
                    (dirty, clear) = (true, true);
                }
                continue;
            }
            Input::Ready => {}
        }
        while event::poll(Duration::ZERO).map_err(|e| Error::io("terminal", &e))? {
            match event::read().map_err(|e| Error::io("terminal", &e))? {
                Event::Key(k) => match st.key(k) {
                    Action::Quit => return Ok(()),
                    Action::Redraw => dirty = true,
                    Action::Clear => (dirty, clear) = (true, true),
                    Action::Nothing => {}
                },
                Event::Resize(..) => (dirty, clear) = (true, true),
                _ => {}
            }
        }
    }
}

/// What the terminal has for us.
enum Input {
    Ready,
    Quiet,
    /// It hung up.
    Gone,
}

/// Waits up to `d` for input on standard input, our terminal.
fn wait_for_terminal(d: Duration) -> Input {
    let mut p = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, d.as_millis().min(i32::MAX as u128) as i32) };
    if n <= 0 {
        // Nothing, or a signal (EINTR): the caller looks at the clock and the stop flag.
        return Input::Quiet;
    }
    if p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Input::Gone
    } else {
        Input::Ready
    }
}

/// One namer with lookups and one without, made when first wanted, so `n` back and forth
/// keeps the names already looked up.
#[derive(Default)]
struct Namers {
    numeric: Option<Namer>,
    named: Option<Namer>,
}

impl Namers {
    fn get(&mut self, numeric: bool) -> &mut Namer {
        let slot = if numeric {
            &mut self.numeric
        } else {
            &mut self.named
        };
        slot.get_or_insert_with(|| Namer::new(numeric))
    }
}

/// Whether the locale's character set is UTF-8 (LC_ALL, else LC_CTYPE, else LANG, as
/// setlocale reads them); if not, the view draws in ASCII.
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("utf-8") || s.contains("utf8")
        })
}

/// Whether the terminal is ours (raw mode, alternate screen): set by [`Terminal::enter`],
/// cleared by whoever restores it first (the guard's drop or the panic hook).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Gives the terminal back, once: normal screen, cursor shown, cooked mode.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(
            io::stdout(),
            SetAttribute(Attribute::Reset),
            LeaveAlternateScreen,
            Show
        );
        let _ = terminal::disable_raw_mode();
    }
}

type Hook = dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static;

/// The terminal while the view has it; dropping it gives it back and puts the previous panic
/// hook back in place.
struct Terminal {
    previous_hook: Option<Arc<Hook>>,
}

impl Terminal {
    fn enter() -> Result<Terminal, Error> {
        let err = |e: io::Error| Error::io("terminal", &e);
        terminal::enable_raw_mode().map_err(err)?;
        ACTIVE.store(true, Ordering::SeqCst);
        // From here on the guard restores the terminal, whatever fails next.
        let previous: Arc<Hook> = Arc::from(panic::take_hook());
        let chained = Arc::clone(&previous);
        panic::set_hook(Box::new(move |info| {
            // The message must land on the normal screen, in cooked mode, to be read.
            restore();
            chained(info);
        }));
        let guard = Terminal {
            previous_hook: Some(previous),
        };
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            Hide,
            Clear(ClearType::All)
        )
        .map_err(err)?;
        Ok(guard)
    }

    /// One frame, written with one write and one flush. `clear`: clear the whole screen first
    /// (after a resize or Ctrl-L); otherwise each line overwrites the last frame's and clears
    /// what is left of it, which does not flicker.
    fn draw(&self, st: &State, namer: &mut Namer, clear: bool) -> Result<(), Error> {
        if !ACTIVE.load(Ordering::SeqCst) {
            // Another thread panicked and the hook gave the terminal back.
            return Err(Error::msg("--top: stopped after a panic"));
        }
        let err = |e: io::Error| Error::io("terminal", &e);
        let (cols, rows) = terminal::size().map_err(err)?;
        let (w, h) = (usize::from(cols), usize::from(rows));
        let lines = render::frame(st, namer, w, h);
        let mut buf: Vec<u8> = Vec::with_capacity(w * h * 2 + 256);
        if clear {
            queue!(buf, Clear(ClearType::All)).map_err(err)?;
        }
        let last = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            queue!(buf, MoveTo(0, i as u16)).map_err(err)?;
            if i == 0 || i == last {
                // Header and status line in reverse video across the width; the bottom
                // right cell is left alone, as some terminals scroll when it is written.
                let span = if i == last { w.saturating_sub(1) } else { w };
                let text = format!("{line:<span$}");
                let text = render::fit(&text, span);
                let pad = span.saturating_sub(render::width(&text));
                queue!(
                    buf,
                    SetAttribute(Attribute::Reverse),
                    Print(text),
                    Print(" ".repeat(pad)),
                    SetAttribute(Attribute::Reset)
                )
                .map_err(err)?;
            } else if line.starts_with(render::ALERT) {
                queue!(
                    buf,
                    SetAttribute(Attribute::Bold),
                    Print(line),
                    SetAttribute(Attribute::Reset)
                )
                .map_err(err)?;
            } else {
                queue!(buf, Print(line)).map_err(err)?;
            }
            // A full-width line leaves the cursor on its last cell: clearing from there would
            // erase that cell.
            if render::width(line) < w && !(i == 0 || i == last) {
                queue!(buf, Clear(ClearType::UntilNewLine)).map_err(err)?;
            }
        }
        let mut out = io::stdout().lock();
        out.write_all(&buf).map_err(err)?;
        out.flush().map_err(err)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
        // set_hook and take_hook panic on a panicking thread; the hook that restores is
        // harmless there (the terminal is no longer ACTIVE), so it stays.
        if !thread::panicking() {
            if let Some(previous) = self.previous_hook.take() {
                let _ = panic::take_hook();
                panic::set_hook(Box::new(move |info| previous(info)));
            }
        }
    }
}
