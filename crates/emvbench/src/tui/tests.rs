//! The TUI's tests: key sequences against the state alone, and whole flows against the real
//! worker (software card, in-memory host, fixed seed and date) drawn into ratatui's
//! `TestBackend` and compared with snapshot files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::mpsc::channel;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use emv_kernel::{PinEntry, PinKind, PinPrompt, TransactionDate, TransactionTime};
use emv_session::HostSpec;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

use super::Link;
use super::app::{App, Overlay, READER_CHOICE, Settings};
use super::view::{Theme, render};
use super::worker::{self, CardChoice, CardPresence, Event, Request, TerminalInfo, WorkerConfig};
use crate::cli::run::TxnType;

fn settings(terminal: &str) -> Settings {
    Settings {
        card: CardChoice::Profile("visa-cvn18".into()),
        terminal: terminal.into(),
        amount: "25.00".into(),
        txn_type: TxnType::Purchase,
        host: "embedded".into(),
        date: TransactionDate {
            year: 2026,
            month: 11,
            day: 21,
        },
        time: TransactionTime {
            hour: 12,
            minute: 0,
            second: 0,
        },
        seed: 1,
        record_path: PathBuf::from("unused.jsonl"),
    }
}

fn terminals() -> Vec<String> {
    emv_kernel::Profile::builtin_names()
        .map(str::to_owned)
        .collect()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Typed text: each character a key, `\n` Enter, `\x1b` Esc.
fn keys(app: &mut App, text: &str) -> Vec<Request> {
    text.chars()
        .flat_map(|c| {
            app.on_key(key(match c {
                '\n' => KeyCode::Enter,
                '\x1b' => KeyCode::Esc,
                c => KeyCode::Char(c),
            }))
        })
        .collect()
}

fn pos() -> TerminalInfo {
    TerminalInfo {
        name: "pos-attended".into(),
        terminal_type: 0x22,
        pin_pad: true,
        currency_code: 978,
        exponent: 2,
    }
}

fn prompt() -> PinPrompt {
    PinPrompt {
        kind: PinKind::OfflinePlaintext,
        amount: 2500,
        currency: 978,
        tries_left: Some(3),
        previous_incorrect: false,
        last_try: false,
    }
}

// ---- key sequences against the state ----

#[test]
fn run_key_starts_a_transaction_once() {
    let mut app = App::new(settings("pos-attended"), terminals(), vec![]);
    // no terminal loaded yet: nothing to run
    assert!(keys(&mut app, "r").is_empty());
    app.on_event(Event::Terminal(pos()));
    let reqs = keys(&mut app, "r");
    let [Request::Transact(p)] = reqs.as_slice() else {
        panic!("{reqs:?}");
    };
    assert_eq!((p.amount, p.seed), (2500, 1));
    assert!(app.txn.running);
    // while it runs, settings and host keys are refused; pulling the card is not
    assert!(keys(&mut app, "rtaucnkbvR").is_empty());
    assert!(app.status.as_ref().unwrap().0.contains("running"));
    assert!(matches!(
        keys(&mut app, "x").as_slice(),
        [Request::PullCard]
    ));
    assert!(!app.card_present);
    app.on_event(Event::Finished(Err("card removed".into())));
    assert!(!app.txn.running);
    assert!(matches!(
        keys(&mut app, "x").as_slice(),
        [Request::InsertCard]
    ));
    // the next transaction has the next seed
    let reqs = keys(&mut app, "r");
    let [Request::Transact(p)] = reqs.as_slice() else {
        panic!("{reqs:?}");
    };
    assert_eq!(p.seed, 2);
}

#[test]
fn amount_type_and_pickers() {
    let mut app = App::new(
        settings("pos-attended"),
        terminals(),
        vec!["mc-cvn16".into()],
    );
    app.on_event(Event::Terminal(pos()));
    assert!(keys(&mut app, "a12.5\n").is_empty());
    assert_eq!(app.settings.amount, "12.50");
    keys(&mut app, "a1.234\n");
    assert!(
        matches!(app.overlay, Overlay::Amount { .. }),
        "bad amount keeps the box"
    );
    keys(&mut app, "\x1b");
    assert_eq!(app.settings.amount, "12.50");
    keys(&mut app, "yy");
    assert_eq!(app.settings.txn_type, TxnType::Cashback);
    keys(&mut app, "yyy");
    assert_eq!(app.settings.txn_type, TxnType::Cash);

    keys(&mut app, "t");
    let Overlay::Pick {
        items, selected, ..
    } = &app.overlay
    else {
        panic!("no picker");
    };
    let atm = items.iter().position(|n| n == "atm").unwrap();
    let steps = atm as i64 - *selected as i64;
    for _ in 0..steps.abs() {
        app.on_key(key(if steps > 0 {
            KeyCode::Down
        } else {
            KeyCode::Up
        }));
    }
    let reqs = keys(&mut app, "\n");
    assert!(matches!(reqs.as_slice(), [Request::SetTerminal(n)] if n == "atm"));

    keys(&mut app, "c");
    app.on_key(key(KeyCode::Down));
    let reqs = keys(&mut app, "\n");
    assert!(
        matches!(
            reqs.as_slice(),
            [Request::SwitchCard(CardChoice::Reader(_))]
        ),
        "{reqs:?} ({READER_CHOICE} is last)"
    );
}

#[test]
fn pin_dialog_keys() {
    let mut app = App::new(settings("pos-attended"), terminals(), vec![]);
    app.on_event(Event::Terminal(pos()));
    keys(&mut app, "r");
    app.on_event(Event::PinRequest(prompt()));
    // letters are not digits: only b (bypass) and x (pull) mean something
    assert!(keys(&mut app, "12a3").is_empty());
    assert_eq!(app.pin.as_ref().unwrap().len(), 3);
    assert!(keys(&mut app, "\n").is_empty(), "3 digits are not a PIN");
    let reqs = keys(&mut app, "4\n");
    assert!(matches!(reqs.as_slice(), [Request::Pin(PinEntry::Pin(p))] if p.len() == 4));
    assert!(app.pin.is_none());
    app.on_event(Event::PinRequest(prompt()));
    assert!(matches!(
        keys(&mut app, "b").as_slice(),
        [Request::Pin(PinEntry::Bypass)]
    ));
    app.on_event(Event::PinRequest(prompt()));
    assert!(matches!(
        keys(&mut app, "\x1b").as_slice(),
        [Request::Pin(PinEntry::Cancel)]
    ));
    app.on_event(Event::PinRequest(prompt()));
    let reqs = keys(&mut app, "x");
    assert!(matches!(
        reqs.as_slice(),
        [Request::PullCard, Request::Pin(PinEntry::Cancel)]
    ));
    assert!(!app.card_present);
}

#[test]
fn help_and_view_pin_overlays() {
    let mut app = App::new(settings("pos-attended"), terminals(), vec![]);
    keys(&mut app, "?");
    assert!(matches!(app.overlay, Overlay::Help));
    assert!(
        keys(&mut app, "r").is_empty(),
        "a key closes the help and does nothing else"
    );
    assert!(matches!(app.overlay, Overlay::None));
    let t0 = Instant::now();
    app.tick(t0);
    app.on_event(Event::PinRevealed(zeroize::Zeroizing::new("1234".into())));
    assert!(!format!("{:?}", app.overlay).contains("1234"));
    app.tick(t0 + Duration::from_secs(2));
    assert!(matches!(app.overlay, Overlay::ViewPin { .. }));
    app.tick(t0 + Duration::from_secs(super::app::VIEW_PIN_SECONDS));
    assert!(
        matches!(app.overlay, Overlay::None),
        "View PIN hides itself"
    );
    assert!(matches!(keys(&mut app, "q").as_slice(), [Request::Quit]));
    assert!(app.quit);
}

// ---- flows against the real worker, drawn into a TestBackend ----

struct Bench {
    app: App,
    link: Link,
    handle: Option<JoinHandle<()>>,
}

impl Bench {
    fn new(terminal: &str) -> Self {
        let settings = settings(terminal);
        let (req_tx, req_rx) = channel();
        let (ev_tx, ev_rx) = channel();
        let (pin_tx, pin_rx) = channel();
        let presence = CardPresence::default();
        let handle = worker::spawn(
            WorkerConfig {
                card: settings.card.clone(),
                state: None,
                host: HostSpec::EmbeddedInMemory,
                keys: emv_host::HostKeys::load_test_keys().unwrap(),
                seed: settings.seed,
                terminal: terminal.into(),
            },
            req_rx,
            ev_tx,
            pin_rx,
            presence.clone(),
        )
        .unwrap();
        let mut b = Bench {
            app: App::new(
                settings,
                terminals(),
                emv_card::profile::available_profiles(),
            ),
            link: Link {
                requests: req_tx,
                pins: pin_tx,
                events: ev_rx,
                presence,
            },
            handle: Some(handle),
        };
        b.wait("the start", |a| {
            a.host.view.is_some() && a.terminal.is_some()
        });
        b
    }

    fn wait(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                self.link.drain(&mut self.app),
                "worker gone waiting for {what}"
            );
            if done(&self.app) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn keys(&mut self, text: &str) {
        for req in keys(&mut self.app, text) {
            assert!(self.link.dispatch(req));
        }
    }

    fn key(&mut self, code: KeyCode) {
        for req in self.app.on_key(key(code)) {
            assert!(self.link.dispatch(req));
        }
    }

    /// Types a PIN at the next prompt; waits for the next prompt or the end.
    fn pin(&mut self, pin: &str) {
        self.wait("a PIN prompt", |a| a.pin.is_some());
        self.keys(&format!("{pin}\n"));
        self.wait("the PIN's effect", |a| a.pin.is_some() || !a.txn.running);
    }

    fn finished(&mut self) {
        self.wait("the transaction's end", |a| !a.txn.running);
    }

    fn pick_terminal(&mut self, name: &str) {
        self.keys("t");
        let Overlay::Pick {
            items, selected, ..
        } = &self.app.overlay
        else {
            panic!("no picker");
        };
        let at = items.iter().position(|n| n == name).unwrap() as i64;
        let steps = at - *selected as i64;
        for _ in 0..steps.abs() {
            self.key(if steps > 0 {
                KeyCode::Down
            } else {
                KeyCode::Up
            });
        }
        self.keys("\n");
        let name = name.to_owned();
        self.wait("the terminal", move |a| {
            a.terminal.as_ref().is_some_and(|t| t.name == name)
        });
    }

    fn screen(&self, w: u16, h: u16, color: bool) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(f, &self.app, &Theme::new(color)))
            .unwrap();
        t
    }

    /// Offline PIN blocked with three wrong PINs at an offline-only POS: declined.
    fn blocked_decline(&mut self) {
        self.keys("r");
        self.pin("0000");
        self.pin("1111");
        self.pin("2222");
        self.finished();
    }

    /// Then the ATM: cash, online PIN verified, the PIN UNBLOCK script resets the chip.
    fn atm_unblock(&mut self) {
        self.pick_terminal("atm");
        self.keys("ya100\n");
        self.keys("r");
        self.pin("1234");
        self.finished();
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        // a PIN prompt still waiting (a failed test) is cancelled, so the worker can stop
        self.link.pins = channel().0;
        let _ = self.link.requests.send(Request::Quit);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[test]
fn screen_before() {
    let b = Bench::new("pos-offline-only");
    insta::assert_snapshot!("before", b.screen(80, 24, true).backend());
}

#[test]
fn screen_during_pin_entry() {
    let mut b = Bench::new("pos-offline-only");
    b.keys("r");
    b.wait("a PIN prompt", |a| a.pin.is_some());
    b.keys("12");
    let screen = b.screen(80, 24, true);
    let text = screen.backend().to_string();
    assert!(text.contains("● ●") && !text.contains("12 "), "{text}");
    insta::assert_snapshot!("during_pin_entry", screen.backend());
    b.keys("\x1b");
    b.finished();
}

#[test]
fn screen_after_blocked_pin_decline_and_atm_unblock() {
    let mut b = Bench::new("pos-offline-only");
    b.blocked_decline();
    let o = b.app.txn.outcome.as_ref().unwrap();
    // what the screen shows is the outcome object's (the JSON of `run`)
    assert_eq!(o.outcome.name(), "declined");
    assert_eq!(o.card.as_ref().unwrap().pin_try_counter, 0);
    assert_eq!(o.tvr.to_hex(), "0000200000");
    assert_eq!(b.app.card.as_ref().unwrap().status.pin_try_counter, 0);
    insta::assert_snapshot!(
        "after_blocked_pin_decline",
        b.screen(80, 24, true).backend()
    );

    b.atm_unblock();
    let o = b.app.txn.outcome.as_ref().unwrap();
    assert_eq!(o.outcome.name(), "online-approved");
    assert_eq!(o.card.as_ref().unwrap().pin_try_counter, 3);
    assert_eq!(o.script_results_hex().as_deref(), Some("2000000001"));
    assert_eq!(o.host.as_ref().unwrap().pending_scripts, 0);
    let screen = b.screen(80, 24, true);
    let text = screen.backend().to_string();
    assert!(text.contains("3/3"), "{text}");
    insta::assert_snapshot!("after_atm_unblock", screen.backend());
    insta::assert_snapshot!(
        "after_atm_unblock_200x50",
        b.screen(200, 50, true).backend()
    );

    // changed bits are marked with + / - and, without colour, reversed video
    let screen = b.screen(200, 50, false);
    let buf = screen.backend().buffer();
    let tvr_row = (0..50)
        .find(|y| {
            let row: String = (0..200).map(|x| buf[(x, *y)].symbol()).collect();
            row.contains("TVR ")
        })
        .unwrap();
    let row: Vec<&str> = (0..200).map(|x| buf[(x, tvr_row)].symbol()).collect();
    let col = (0..199)
        .find(|x| row[*x] == "0" && row[*x + 1] == "4")
        .unwrap();
    let row = row.concat();
    let cell = &buf[(u16::try_from(col).unwrap(), tvr_row)];
    assert!(cell.modifier.contains(Modifier::REVERSED), "{row}");
    assert!(
        cell.fg == ratatui::style::Color::Reset,
        "NO_COLOR: no colour"
    );
}

#[test]
fn host_actions_and_pull_during_a_transaction() {
    let mut b = Bench::new("pos-attended");
    // the host's unblock queues a script; the panel shows it
    b.keys("u");
    b.wait("the host's answer", |a| {
        a.host.view.as_ref().is_some_and(|v| v.pending_scripts == 1)
    });
    assert!(b.app.status.as_ref().unwrap().0.contains("unblock-pin"));
    b.keys("b");
    b.wait("the block", |a| {
        a.host
            .view
            .as_ref()
            .is_some_and(|v| v.card_status == emv_host::CardStatus::Blocked)
    });
    b.keys("b");
    b.wait("the unblock", |a| {
        a.host
            .view
            .as_ref()
            .is_some_and(|v| v.card_status == emv_host::CardStatus::Active)
    });
    // the card offers View PIN (its profile's plastics do): the host keeps its PIN
    // recoverable next to the PVV, so View PIN shows the personalised PIN at once
    b.keys("v");
    b.wait("View PIN", |a| matches!(a.overlay, Overlay::ViewPin { .. }));
    let Overlay::ViewPin { pin, .. } = &b.app.overlay else {
        unreachable!()
    };
    assert_eq!(pin.as_str(), "1234");
    b.keys(" ");
    assert!(matches!(b.app.overlay, Overlay::None));
    b.keys("n");
    b.wait("the new PIN", |a| {
        a.status
            .as_ref()
            .is_some_and(|s| s.0.starts_with("reset-pin (new)"))
    });
    let kinds = &b.app.host.view.as_ref().unwrap().pending_script_kinds;
    assert!(
        kinds.contains(&emv_host::scripts::ScriptKind::PinChange),
        "{kinds:?}"
    );
    b.keys("v");
    b.wait("View PIN", |a| matches!(a.overlay, Overlay::ViewPin { .. }));
    let Overlay::ViewPin { pin, .. } = &b.app.overlay else {
        unreachable!()
    };
    let pin = pin.to_string();
    let text = b.screen(80, 24, true).backend().to_string();
    assert!(
        text.contains(&format!("PIN  {pin}")),
        "View PIN shows the PIN: {text}"
    );
    b.keys(" ");
    assert!(matches!(b.app.overlay, Overlay::None));

    // pull the card while the PIN pad waits: the transaction ends, the card is out
    b.keys("r");
    b.wait("a PIN prompt", |a| a.pin.is_some());
    b.keys("x");
    b.finished();
    let o = b.app.txn.outcome.as_ref().unwrap();
    assert_eq!(o.outcome.name(), "terminated");
    assert!(
        o.termination_reason
            .as_deref()
            .unwrap()
            .contains("card removed"),
        "{o:?}"
    );
    assert_eq!(o.apdus.last().unwrap().response, "");
    // the card stays out until x
    b.keys("r");
    b.finished();
    assert!(
        b.app
            .txn
            .error
            .as_deref()
            .unwrap()
            .contains("out of the reader")
    );
    b.keys("x");
    b.wait("the insert", |a| a.card_present);
    // the host's scripts (unblock, new PIN) would reach the chip with the next online
    // transaction; the software card's reset re-issues the card at the host without them
    b.keys("R");
    b.wait("the reset", |a| {
        a.status
            .as_ref()
            .is_some_and(|s| s.0.contains("re-personalised"))
    });
    assert_eq!(b.app.host.view.as_ref().unwrap().pending_scripts, 0);
    // a wrong PIN, then the reset brings the counter back
    b.keys("r");
    b.pin("9999");
    b.keys("\x1b");
    b.wait("the cancel", |a| a.pin.is_some() || !a.txn.running);
    if b.app.pin.is_some() {
        b.keys("\x1b");
    }
    b.finished();
    assert_eq!(b.app.card.as_ref().unwrap().status.pin_try_counter, 2);
    b.keys("R");
    b.wait("the reset", |a| {
        a.card
            .as_ref()
            .is_some_and(|c| c.status.pin_try_counter == 3)
            && a.status
                .as_ref()
                .is_some_and(|s| s.0.contains("re-personalised"))
    });
    assert!(b.app.txn.outcome.is_none(), "the panels start over");
}

#[test]
fn switch_card_profile_and_reader() {
    let mut b = Bench::new("pos-attended");
    b.app.on_key(key(KeyCode::Char('c')));
    let Overlay::Pick { items, .. } = &b.app.overlay else {
        panic!("no picker");
    };
    assert!(items.iter().any(|n| n == "mc-cvn16"));
    b.keys("\x1b");
    assert!(
        b.link
            .dispatch(Request::SwitchCard(CardChoice::Profile("mc-cvn16".into())))
    );
    b.wait("the new card", |a| {
        a.card.as_ref().is_some_and(|c| c.profile == "mc-cvn16")
            && a.status.as_ref().is_some_and(|s| s.0 == "card mc-cvn16")
    });
    assert!(
        b.link
            .dispatch(Request::SwitchCard(CardChoice::Reader("0".into())))
    );
    b.wait("the answer", |a| {
        a.status.as_ref().is_some_and(|s| s.0.contains("PC/SC"))
    });
    assert_eq!(b.app.card.as_ref().unwrap().profile, "mc-cvn16");
}

#[test]
fn small_and_odd_sizes_do_not_panic() {
    let mut b = Bench::new("pos-attended");
    b.keys("?");
    for (w, h) in [(80, 24), (40, 12), (20, 5), (1, 1), (300, 80)] {
        let _ = b.screen(w, h, false);
    }
}

#[test]
fn reader_start_says_why_and_a_software_card_gets_the_host() {
    let (req_tx, req_rx) = channel();
    let (ev_tx, ev_rx) = channel();
    let (pin_tx, pin_rx) = channel();
    let presence = CardPresence::default();
    let mut s = settings("pos-attended");
    s.card = CardChoice::Reader("0".into());
    let handle = worker::spawn(
        WorkerConfig {
            card: s.card.clone(),
            state: None,
            host: HostSpec::EmbeddedInMemory,
            keys: emv_host::HostKeys::load_test_keys().unwrap(),
            seed: 1,
            terminal: "pos-attended".into(),
        },
        req_rx,
        ev_tx,
        pin_rx,
        presence.clone(),
    )
    .unwrap();
    let mut b = Bench {
        app: App::new(s, terminals(), vec![]),
        link: Link {
            requests: req_tx,
            pins: pin_tx,
            events: ev_rx,
            presence,
        },
        handle: Some(handle),
    };
    b.wait("the refusal", |a| {
        a.status.as_ref().is_some_and(|s| s.0.contains("PC/SC"))
    });
    assert!(b.app.card.is_none());
    assert!(b.link.dispatch(Request::SwitchCard(CardChoice::Profile(
        "visa-cvn18".into()
    ))));
    b.wait("the card and its host", |a| {
        a.card.is_some() && a.host.view.is_some()
    });
}

/// The rows of a drawn screen, as text.
fn rows(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    let area = buf.area;
    (0..area.height)
        .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// Text that touches a panel's right border was cut there: every line is wrapped to leave
/// that column free.
fn clipped(t: &Terminal<TestBackend>) -> Vec<String> {
    rows(t)
        .into_iter()
        .filter(|row| {
            let cells: Vec<char> = row.chars().collect();
            (1..cells.len()).any(|x| {
                let right_border = cells[x] == '│' && (x + 1 == cells.len() || cells[x + 1] == '│');
                right_border && !matches!(cells[x - 1], ' ' | '│')
            })
        })
        .collect()
}

#[test]
fn nothing_is_cut_at_100_columns_and_a_decline_asks_no_signature() {
    let mut b = Bench::new("pos-offline-only");
    b.blocked_decline();
    let screen = b.screen(100, 30, true);
    let text = rows(&screen).join("\n");
    // declined after a signature CVM: no signature to take
    assert!(text.contains("Result DECLINED"), "{text}");
    assert!(!text.contains("SIGNATURE"), "{text}");
    assert!(clipped(&screen).is_empty(), "{:#?}", clipped(&screen));
    // the longest lines: bit names, the GENERATE AC's data, a certificate record
    assert!(text.contains("Offline data authentication was"), "{text}");
    assert!(text.contains("performed"), "{text}");
    b.atm_unblock();
    for _ in 0..15 {
        let screen = b.screen(100, 30, true);
        assert!(clipped(&screen).is_empty(), "{:#?}", clipped(&screen));
        b.key(KeyCode::Up);
    }
    let screen = b.screen(100, 30, true);
    assert!(clipped(&screen).is_empty(), "{:#?}", clipped(&screen));
}

#[test]
fn scrolling_stops_at_the_end() {
    let mut b = Bench::new("pos-offline-only");
    b.blocked_decline();
    b.atm_unblock();
    let _ = b.screen(100, 30, true);
    let max = b.app.txn_scroll_max.get();
    assert!(max > 0 && max < 100, "{max}");
    for _ in 0..100 {
        b.keys("]");
    }
    assert_eq!(b.app.txn_scroll, max);
    // the last line is on screen, and one key back moves back at once
    let screen = b.screen(100, 30, true);
    let text = rows(&screen).join("\n");
    assert!(
        text.contains("Script 1: script processing successful"),
        "{text}"
    );
    b.keys("[");
    assert_eq!(b.app.txn_scroll, max.saturating_sub(3));
    // the decoded exchange too: a record with a certificate, scrolled to its end
    for _ in 0..6 {
        b.key(KeyCode::Up);
    }
    let _ = b.screen(100, 30, true);
    let max = b.app.detail_scroll_max.get();
    for _ in 0..100 {
        b.key(KeyCode::PageDown);
    }
    assert_eq!(b.app.detail_scroll, max);
    b.key(KeyCode::PageUp);
    assert_eq!(b.app.detail_scroll, max.saturating_sub(5));
}
