//! What the `--top` view knows between frames: its settings, the last two samples, the
//! packet-rate history, and how keys change it. No terminal here.

use std::collections::VecDeque;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::TopConfig;
use crate::bpf::report::{per_second, By, Rule, Sample};

/// Refreshes kept for the history line: more than any terminal is wide.
pub const HISTORY: usize = 1024;

/// The intervals `+` and `-` step through.
pub const STEPS: [Duration; 8] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
];

/// What a key asks of the event loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave the view.
    Quit,
    /// Something shown changed: draw again.
    Redraw,
    /// Clear the whole screen, then draw (Ctrl-L, after stray output).
    Clear,
    /// Nothing to do.
    Nothing,
}

/// Packets per second over one refresh: seen and matched.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rate {
    pub seen: f64,
    pub matched: f64,
}

pub struct State {
    pub interface: String,
    pub filter: String,
    pub rules: Vec<Rule>,
    pub capturing: bool,
    pub refresh: Duration,
    pub by: By,
    pub numeric: bool,
    /// Unicode block characters and `…` (a UTF-8 locale); otherwise ASCII only.
    pub unicode: bool,
    /// The sample before `now`, once there are two.
    pub prev: Option<Sample>,
    /// The latest sample; None before the first.
    pub now: Option<Sample>,
    /// Packet rates of the last refreshes, oldest first, at most [`HISTORY`].
    pub history: VecDeque<Rate>,
}

impl State {
    pub fn new(cfg: &TopConfig) -> State {
        State {
            interface: cfg.interface.clone(),
            filter: cfg.filter.clone(),
            rules: cfg.rules.clone(),
            capturing: cfg.capturing,
            refresh: cfg.refresh.max(STEPS[0]),
            by: By::Bytes,
            numeric: cfg.numeric,
            unicode: true,
            prev: None,
            now: None,
            history: VecDeque::with_capacity(HISTORY),
        }
    }

    /// A new sample: the latest becomes the previous one, and the rates between them go into
    /// the history. A sample no later than the last (a clock that did not move) replaces it
    /// without making an interval.
    pub fn push(&mut self, s: Sample) {
        match self.now.take() {
            Some(last) if s.elapsed > last.elapsed => {
                let dt = s.elapsed - last.elapsed;
                let seen = per_second(last.counts.seen.packets, s.counts.seen.packets, dt);
                let matched = per_second(last.counts.matched.packets, s.counts.matched.packets, dt);
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(Rate { seen, matched });
                self.prev = Some(last);
            }
            _ => {}
        }
        self.now = Some(s);
    }

    /// The last interval: previous sample, latest, and the time between them.
    pub fn interval(&self) -> Option<(&Sample, &Sample, Duration)> {
        let (p, n) = (self.prev.as_ref()?, self.now.as_ref()?);
        let dt = n.elapsed.checked_sub(p.elapsed)?;
        (!dt.is_zero()).then_some((p, n, dt))
    }

    /// q or Ctrl-C quit; b, p, s choose the flow order; n toggles name lookups; + and -
    /// lengthen and shorten the refresh; Ctrl-L redraws from scratch.
    pub fn key(&mut self, k: KeyEvent) -> Action {
        if k.kind == KeyEventKind::Release {
            return Action::Nothing;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('c' | 'C') if ctrl => Action::Quit,
            KeyCode::Char('l' | 'L') if ctrl => Action::Clear,
            _ if ctrl || k.modifiers.contains(KeyModifiers::ALT) => Action::Nothing,
            KeyCode::Char('q' | 'Q') => Action::Quit,
            KeyCode::Char('b' | 'B') => self.order(By::Bytes),
            KeyCode::Char('p' | 'P') => self.order(By::Packets),
            KeyCode::Char('s' | 'S') => self.order(match self.by {
                By::Bytes => By::Packets,
                By::Packets => By::Bytes,
            }),
            KeyCode::Char('n' | 'N') => {
                self.numeric = !self.numeric;
                Action::Redraw
            }
            KeyCode::Char('+' | '=') => self.step(true),
            KeyCode::Char('-' | '_') => self.step(false),
            _ => Action::Nothing,
        }
    }

    fn order(&mut self, by: By) -> Action {
        if self.by == by {
            return Action::Nothing;
        }
        self.by = by;
        Action::Redraw
    }

    /// The next longer (or shorter) of [`STEPS`] from the current refresh.
    fn step(&mut self, longer: bool) -> Action {
        let next = if longer {
            STEPS.iter().find(|&&d| d > self.refresh)
        } else {
            STEPS.iter().rev().find(|&&d| d < self.refresh)
        };
        match next {
            Some(&d) => {
                self.refresh = d;
                Action::Redraw
            }
            None => Action::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(&TopConfig {
            interface: "eth0".into(),
            filter: String::new(),
            rules: Vec::new(),
            numeric: true,
            capturing: false,
            refresh: Duration::from_secs(1),
        })
    }

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn q_and_ctrl_c_quit_plain_c_does_not() {
        let mut s = state();
        assert_eq!(s.key(press('q')), Action::Quit);
        assert_eq!(s.key(press('Q')), Action::Quit);
        assert_eq!(s.key(ctrl('c')), Action::Quit);
        assert_eq!(s.key(press('c')), Action::Nothing);
        assert_eq!(s.key(ctrl('q')), Action::Nothing);
        assert_eq!(
            s.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            Action::Nothing
        );
        assert_eq!(s.key(ctrl('l')), Action::Clear);
    }

    #[test]
    fn b_p_and_s_choose_the_flow_order() {
        let mut s = state();
        assert_eq!(s.by, By::Bytes);
        assert_eq!(s.key(press('b')), Action::Nothing, "already by bytes");
        assert_eq!(s.key(press('p')), Action::Redraw);
        assert_eq!(s.by, By::Packets);
        assert_eq!(s.key(press('p')), Action::Nothing);
        assert_eq!(s.key(press('b')), Action::Redraw);
        assert_eq!(s.by, By::Bytes);
        assert_eq!(s.key(press('s')), Action::Redraw);
        assert_eq!(s.by, By::Packets);
        assert_eq!(s.key(press('s')), Action::Redraw);
        assert_eq!(s.by, By::Bytes);
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut s = state();
        let mut k = press('q');
        k.kind = KeyEventKind::Release;
        assert_eq!(s.key(k), Action::Nothing);
        let mut k = press('p');
        k.kind = KeyEventKind::Repeat;
        assert_eq!(s.key(k), Action::Redraw);
    }

    #[test]
    fn n_toggles_names_and_plus_minus_step_the_refresh() {
        let mut s = state();
        assert_eq!(s.key(press('n')), Action::Redraw);
        assert!(!s.numeric);
        assert_eq!(s.key(press('n')), Action::Redraw);
        assert!(s.numeric);
        assert_eq!(s.key(press('+')), Action::Redraw);
        assert_eq!(s.refresh, Duration::from_secs(2));
        assert_eq!(s.key(press('-')), Action::Redraw);
        assert_eq!(s.key(press('-')), Action::Redraw);
        assert_eq!(s.refresh, Duration::from_millis(500));
        for _ in 0..10 {
            s.key(press('-'));
        }
        assert_eq!(s.refresh, STEPS[0]);
        assert_eq!(s.key(press('-')), Action::Nothing);
        s.refresh = Duration::from_millis(1500);
        s.key(press('+'));
        assert_eq!(
            s.refresh,
            Duration::from_secs(2),
            "from between steps to the next one"
        );
    }

    #[test]
    fn history_holds_packet_rates_between_samples() {
        let mut s = state();
        let at = |secs: u64, seen: u64, matched: u64| {
            let mut x = Sample {
                elapsed: Duration::from_secs(secs),
                ..Default::default()
            };
            x.counts.seen.packets = seen;
            x.counts.matched.packets = matched;
            x
        };
        s.push(at(10, 1000, 100));
        assert!(s.history.is_empty() && s.interval().is_none());
        s.push(at(12, 3000, 300));
        assert_eq!(
            s.history.back(),
            Some(&Rate {
                seen: 1000.0,
                matched: 100.0
            })
        );
        assert_eq!(s.interval().map(|i| i.2), Some(Duration::from_secs(2)));
        s.push(at(12, 3000, 300));
        assert_eq!(
            s.history.len(),
            1,
            "a sample at the same time makes no interval"
        );
        for i in 0..2000 {
            s.push(at(13 + i, 0, 0));
        }
        assert_eq!(s.history.len(), HISTORY);
    }
}
