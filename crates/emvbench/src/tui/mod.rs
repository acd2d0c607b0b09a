//! `emvbench tui`: a lab bench for PIN behaviour. Drive transactions between the software
//! card (or, later, a real card in a PC/SC reader), a terminal profile and the issuer host,
//! and watch the counters, the APDUs and every TVR/TSI/CVM bit change.
//!
//! One file per concern:
//! - [`app`]: the state and what keys and worker events do to it (pure, tested by key
//!   sequences);
//! - [`view`]: drawing, a pure function of the state (tested with ratatui's
//!   `TestBackend` and snapshot files);
//! - [`worker`]: the thread that owns the card and the host and runs the kernel, so the UI
//!   stays responsive while a transaction runs;
//! - [`pin_dialog`]: the PIN pad dialog (dots, bypass, cancel);
//! - [`pinpad`]: the kernel's `PinPad` that asks that dialog over channels;
//! - [`decode`]: bit fields with their changes, stages, the decoded exchange;
//! - [`record`]: the session log (`w`).
//!
//! Terminal setup and teardown (raw mode, the panic hook) live in `cli/tui.rs`.

pub mod app;
pub mod decode;
pub mod pin_dialog;
pub mod pinpad;
pub mod record;
pub mod view;
pub mod worker;

#[cfg(test)]
mod tests;

use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Result;
use emv_kernel::PinEntry;
use ratatui::Terminal;
use ratatui::backend::Backend;

use app::{App, Level};
use view::Theme;
use worker::{CardPresence, Event, Request};

/// The UI thread's ends of the channels to the worker.
pub struct Link {
    /// Requests to the worker.
    pub requests: Sender<Request>,
    /// PIN pad answers to the worker's PIN pad.
    pub pins: Sender<PinEntry>,
    /// Events from the worker.
    pub events: Receiver<Event>,
    /// The card-pulled flag.
    pub presence: CardPresence,
}

impl Link {
    /// Routes a request: PIN answers to the PIN pad, a pull to the shared flag at once (the
    /// worker may be busy in the transaction the pull interrupts), the rest to the worker.
    /// `false` when the worker is gone.
    pub fn dispatch(&self, req: Request) -> bool {
        match req {
            Request::Pin(entry) => self.pins.send(entry).is_ok(),
            Request::PullCard => {
                self.presence.pull();
                self.requests.send(Request::PullCard).is_ok()
            }
            other => self.requests.send(other).is_ok(),
        }
    }

    /// Hands the worker's events to the state; `false` when the worker is gone.
    pub fn drain(&self, app: &mut App) -> bool {
        loop {
            match self.events.try_recv() {
                Ok(ev) => app.on_event(ev),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }
}

/// Reads keys and draws until the user quits. Input is polled every 50 ms, so worker
/// events (APDUs, PIN prompts) show up at once whatever the user does.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: &Theme,
    link: &Link,
) -> Result<()>
where
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let mut worker_alive = true;
    loop {
        if worker_alive && !link.drain(app) {
            worker_alive = false;
            app.status = Some(("the kernel worker stopped; q quits".to_owned(), Level::Bad));
            app.txn.running = false;
            app.pin = None;
        }
        app.tick(Instant::now());
        terminal.draw(|f| view::render(f, app, theme))?;
        if app.quit {
            return Ok(());
        }
        if crossterm::event::poll(Duration::from_millis(50))? {
            // a resize needs nothing but the redraw at the top of the loop
            if let crossterm::event::Event::Key(key) = crossterm::event::read()? {
                for req in app.on_key(key) {
                    if !link.dispatch(req) && worker_alive {
                        worker_alive = false;
                        app.status =
                            Some(("the kernel worker stopped; q quits".to_owned(), Level::Bad));
                    }
                }
            }
        }
    }
}
