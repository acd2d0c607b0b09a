//! Drawing the screen: a pure function of the [`App`] state (the rendering tests draw into
//! ratatui's `TestBackend`). Every highlight also has a character (`+`/`-` marks, `▶`,
//! `✓`, reversed video), so the screen reads the same without colour (`NO_COLOR`).

use emv_kernel::Outcome;
use emv_tlv::bits::TerminalType;
use emv_tlv::describe::DecodeAs;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, KEYS, Level, Mark, Overlay, PIN_KEYS, PickWhat};
use super::decode::{Change, apdu_detail, bit_lines, changed_bytes, stage_label};

/// Styles, with or without colour.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    /// Titles and names.
    pub strong: Style,
    /// Warnings (PIN pad messages).
    pub warn: Style,
    /// Failures, blocks.
    pub bad: Style,
    /// Success.
    pub good: Style,
    /// A bit or byte that changed since the previous transaction.
    pub changed: Style,
    /// A bit that was set before and is clear now.
    pub cleared: Style,
    /// Less important text.
    pub dim: Style,
    /// The border of the active dialog.
    pub focus: Style,
    /// The selected line.
    pub selected: Style,
}

impl Theme {
    /// Colours, or (`color == false`, for `NO_COLOR`) text attributes only.
    pub fn new(color: bool) -> Self {
        let b = Style::default();
        if color {
            Theme {
                strong: b.add_modifier(Modifier::BOLD),
                warn: b.fg(Color::Yellow).add_modifier(Modifier::BOLD),
                bad: b.fg(Color::Red).add_modifier(Modifier::BOLD),
                good: b.fg(Color::Green).add_modifier(Modifier::BOLD),
                changed: b.fg(Color::Black).bg(Color::Yellow),
                cleared: b.fg(Color::DarkGray).add_modifier(Modifier::CROSSED_OUT),
                dim: b.fg(Color::DarkGray),
                focus: b.fg(Color::Cyan).add_modifier(Modifier::BOLD),
                selected: b.add_modifier(Modifier::REVERSED),
            }
        } else {
            Theme {
                strong: b.add_modifier(Modifier::BOLD),
                warn: b.add_modifier(Modifier::BOLD),
                bad: b.add_modifier(Modifier::BOLD),
                good: b.add_modifier(Modifier::BOLD),
                changed: b.add_modifier(Modifier::REVERSED),
                cleared: b.add_modifier(Modifier::DIM | Modifier::CROSSED_OUT),
                dim: b.add_modifier(Modifier::DIM),
                focus: b.add_modifier(Modifier::BOLD),
                selected: b.add_modifier(Modifier::REVERSED),
            }
        }
    }
}

fn panel(title: &str) -> Block<'_> {
    Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "))
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame<'_>, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < 40 || area.height < 12 {
        frame.render_widget(
            Paragraph::new("emvbench tui: the terminal is too small (80×24 or more)"),
            area,
        );
        return;
    }
    let keys = footer_keys(app, theme, usize::from(area.width));
    let footer_height = u16::try_from(keys.len() + 1).unwrap_or(3);
    let columns = [
        Constraint::Percentage(34),
        Constraint::Percentage(30),
        Constraint::Percentage(36),
    ];
    // the top panels' lines wrapped to their widths: the row is as high as the tallest
    // (at least 8 rows, at most 12)
    let widths = Layout::horizontal(columns).split(Rect { height: 1, ..area });
    let inner = |i: usize| usize::from(widths[i].width.saturating_sub(2));
    let top_lines = [
        wrap(card_lines(app, theme), inner(0)),
        wrap(terminal_lines(app, theme), inner(1)),
        wrap(host_lines(app, theme), inner(2)),
    ];
    let tallest = top_lines.iter().map(Vec::len).max().unwrap_or(0);
    let top_height = u16::try_from(tallest + 2).unwrap_or(8).clamp(8, 12);
    let [title, top, middle, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(top_height),
        Constraint::Min(6),
        Constraint::Length(footer_height),
    ])
    .areas(area);
    title_bar(frame, title, app, theme);
    let panels = Layout::horizontal(columns).split(top);
    for ((lines, title), r) in top_lines
        .into_iter()
        .zip(["Card", "Terminal", "Host"])
        .zip(panels.iter())
    {
        frame.render_widget(Paragraph::new(lines).block(panel(title)), *r);
    }
    let [txn, apdu] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    txn_panel(frame, txn, app, theme);
    apdu_panel(frame, apdu, app, theme);
    footer_bar(frame, footer, keys, app, theme);

    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => help(frame, area, theme),
        Overlay::Amount { input } => amount_box(frame, area, app, input, theme),
        Overlay::Pick {
            what,
            items,
            selected,
        } => picker(frame, area, *what, items, *selected, theme),
        Overlay::ViewPin { pin, until } => {
            let left = until.saturating_duration_since(app.now).as_secs() + 1;
            let r = centered(area, 44, 5);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(vec![
                        Span::raw("PIN  "),
                        Span::styled(pin.as_str(), theme.strong),
                    ]),
                    Line::from(Span::styled(
                        format!("hidden in {left} s · any key hides it now"),
                        theme.dim,
                    )),
                ])
                .block(panel("View PIN (embedded host)").border_style(theme.focus)),
                r,
            );
        }
    }
    if let Some(d) = &app.pin {
        d.render(frame, area, theme);
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn title_bar(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let card = match &app.settings.card {
        super::worker::CardChoice::Profile(p) => p.clone(),
        super::worker::CardChoice::Reader(r) => format!("reader {r}"),
    };
    let mut spans = Vec::new();
    if app.recording.is_some() {
        // first, so that it shows on any width
        spans.push(Span::styled("● REC ", theme.bad));
    }
    spans.extend([
        Span::styled("emvbench", theme.strong),
        Span::raw(format!(
            " · {card} · {} · {} · host {}",
            app.settings.terminal,
            app.transaction_words(),
            app.settings.host
        )),
    ]);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `███░` for `n` of `limit` tries (at most 15 cells).
pub fn gauge(n: u8, limit: u8) -> String {
    let limit = limit.min(15);
    let n = n.min(limit);
    format!(
        "{}{}",
        "█".repeat(usize::from(n)),
        "░".repeat(usize::from(limit - n))
    )
}

fn card_lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    match &app.card {
        Some(c) => {
            let s = &c.status;
            lines.push(Line::styled(c.profile.clone(), theme.strong));
            lines.push(Line::from(format!("PAN {}", c.pan)));
            // PIN Try Counter 9F17 against the PIN Try Limit (Book 3 Annex A)
            let blocked = s.pin_try_counter == 0;
            lines.push(Line::from(vec![
                Span::raw("PIN "),
                Span::styled(
                    gauge(s.pin_try_counter, s.pin_try_limit),
                    if blocked { theme.bad } else { theme.good },
                ),
                Span::raw(format!(" {}/{}", s.pin_try_counter, s.pin_try_limit)),
                Span::styled(if blocked { " BLOCKED" } else { "" }, theme.bad),
            ]));
            let flag = |name: &str, on: bool| {
                if on {
                    Span::styled(format!("{name} BLOCKED"), theme.bad)
                } else {
                    Span::raw(format!("{name} ok"))
                }
            };
            lines.push(Line::from(vec![
                flag("app", s.app_blocked),
                Span::raw(" · "),
                flag("card", s.card_blocked),
            ]));
            lines.push(Line::from(format!(
                "ATC {} · last online {}",
                s.atc, s.last_online_atc
            )));
        }
        None => lines.push(Line::from("no software card")),
    }
    lines.push(if app.card_present {
        Line::from("in the reader")
    } else {
        Line::styled("PULLED OUT (x puts it back)", theme.bad)
    });
    lines
}

fn terminal_lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    match &app.terminal {
        Some(t) => {
            lines.push(Line::styled(t.name.clone(), theme.strong));
            // Terminal Type (9F35): operational control and environment, Book 4 Annex A1
            let tt = TerminalType(t.terminal_type);
            let place = if tt.is_unattended() {
                "unattended"
            } else {
                "attended"
            };
            let online = if tt.is_online_only() {
                "online only"
            } else if tt.is_offline_only() {
                "offline only"
            } else {
                "offline + online"
            };
            let by = match t.terminal_type >> 4 {
                1 => "bank",
                2 => "merchant",
                3 => "cardholder",
                _ => "?",
            };
            lines.push(Line::from(format!("9F35 {:02X} {place}", t.terminal_type)));
            lines.push(Line::from(format!("{online} · {by}")));
            lines.push(Line::from(if t.pin_pad {
                "PIN pad fitted"
            } else {
                "no PIN pad"
            }));
        }
        None => lines.push(Line::styled("no terminal profile", theme.bad)),
    }
    lines.push(Line::from(format!(
        "{} ({:04})",
        app.transaction_words(),
        app.terminal.as_ref().map_or(0, |t| t.currency_code)
    )));
    lines.push(Line::styled(
        format!(
            "txn {} · seed {}",
            app.txn.count,
            app.settings.seed.wrapping_add(app.txn.count)
        ),
        theme.dim,
    ));
    lines
}

fn host_lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(app.settings.host.clone(), theme.strong)];
    let h = &app.host;
    match (&h.view, &h.error) {
        (Some(v), _) => {
            let blocked = v.online_pin_blocked || v.online_pin_tries_left == 0;
            lines.push(Line::from(vec![
                Span::raw("online PIN "),
                Span::styled(
                    gauge(v.online_pin_tries_left, v.online_pin_try_limit),
                    if blocked { theme.bad } else { theme.good },
                ),
                Span::raw(format!(
                    " {}/{}",
                    v.online_pin_tries_left, v.online_pin_try_limit
                )),
                Span::styled(if blocked { " BLOCKED" } else { "" }, theme.bad),
            ]));
            let status = v.card_status.name();
            lines.push(Line::from(vec![
                Span::raw("card "),
                Span::styled(
                    status,
                    if v.card_status == emv_host::CardStatus::Blocked {
                        theme.bad
                    } else {
                        Style::default()
                    },
                ),
                Span::raw(format!(" · scripts {}", v.pending_scripts)),
            ]));
            let kinds: Vec<&str> = v.pending_script_kinds.iter().map(|k| k.name()).collect();
            lines.push(Line::from(if kinds.is_empty() {
                "pending: none".to_owned()
            } else {
                format!("pending: {}", kinds.join(", "))
            }));
            lines.push(match &h.last_rc {
                Some(rc) => Line::from(format!("last RC {} {}", rc.as_str(), rc.meaning())),
                None => Line::styled("last RC -", theme.dim),
            });
            let chip = match v.chip.offline_pin_blocked {
                Some(true) => "chip: offline PIN blocked".to_owned(),
                Some(false) => match v.chip.pin_try_counter {
                    Some(p) => format!("chip: PIN tries {p}"),
                    None => "chip: offline PIN ok".to_owned(),
                },
                None => "chip: not seen online yet".to_owned(),
            };
            lines.push(Line::styled(chip, theme.dim));
        }
        (None, Some(e)) => lines.push(Line::styled(e.clone(), theme.bad)),
        (None, None) => lines.push(Line::from("no issuer host")),
    }
    lines
}

/// Spans packed into lines no wider than `width`.
fn pack(spans: Vec<Span<'static>>, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for s in spans {
        let w = s.content.chars().count() + 1;
        if used + w > width && !cur.is_empty() {
            lines.push(Line::from(std::mem::take(&mut cur)));
            used = 0;
        }
        used += w;
        cur.push(s);
        cur.push(Span::raw(" "));
    }
    if !cur.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

/// `lines` wrapped at spaces to fit a panel whose inside is `inner` columns wide, one
/// column left free at its right edge, so that nothing is cut there: a continuation line is
/// indented two more than its line's text; a word longer than a line (a long hex value) is
/// cut where the line ends.
pub fn wrap(lines: Vec<Line<'static>>, inner: usize) -> Vec<Line<'static>> {
    let width = inner.saturating_sub(1).max(8);
    let mut out = Vec::new();
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let style = line.style;
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        // the text's own indentation, `+ `/`- ` marks included
        let lead = text.len() - text.trim_start_matches([' ', '+', '-']).len();
        let indent = " ".repeat((lead + 2).min(width / 2));
        let mut cur: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in &line.spans {
            for word in span.content.split_inclusive(' ') {
                let mut word: String = word.to_owned();
                loop {
                    let w = word.chars().count();
                    let visible = word.trim_end().chars().count();
                    if used + visible <= width {
                        used += w;
                        cur.push(Span::styled(word, span.style));
                        break;
                    }
                    if used > indent.len() {
                        // the word goes on the next line
                        out.push(Line::from(std::mem::take(&mut cur)).style(style));
                        cur.push(Span::raw(indent.clone()));
                        used = indent.len();
                        continue;
                    }
                    // longer than a whole line: cut it
                    let head: String = word.chars().take(width - used).collect();
                    word = word.chars().skip(width - used).collect();
                    cur.push(Span::styled(head, span.style));
                    out.push(Line::from(std::mem::take(&mut cur)).style(style));
                    cur.push(Span::raw(indent.clone()));
                    used = indent.len();
                    if word.is_empty() {
                        break;
                    }
                }
            }
        }
        if used > indent.len() {
            out.push(Line::from(cur).style(style));
        }
    }
    out
}

/// How far a panel of `height` rows (borders included) showing `lines` can scroll.
fn scroll_max(lines: usize, height: u16) -> u16 {
    u16::try_from(lines.saturating_sub(usize::from(height.saturating_sub(2)))).unwrap_or(u16::MAX)
}

fn hex_bytes(before: Option<&[u8]>, now: &[u8], theme: &Theme) -> Vec<Span<'static>> {
    let changed = changed_bytes(before, now);
    now.iter()
        .enumerate()
        .flat_map(|(i, b)| {
            let text = format!("{b:02X}");
            let style = if changed.get(i).copied().unwrap_or(false) {
                theme.changed
            } else {
                theme.strong
            };
            [Span::styled(text, style), Span::raw(" ")]
        })
        .collect()
}

fn field(
    lines: &mut Vec<Line<'static>>,
    name: &str,
    kind: DecodeAs,
    before: Option<&[u8]>,
    now: &[u8],
    theme: &Theme,
) {
    let mut head = vec![Span::raw(format!("{name:<12}"))];
    head.extend(hex_bytes(before, now, theme));
    lines.push(Line::from(head));
    let bits = bit_lines(kind, before, now);
    if bits.is_empty() {
        lines.push(Line::styled("  (no bit set)", theme.dim));
    }
    for b in bits {
        lines.push(match b.change {
            Change::Same => Line::from(format!("  {}", b.text)),
            Change::Set => Line::styled(format!("+ {}", b.text), theme.changed),
            Change::Cleared => Line::styled(format!("- {}", b.text), theme.cleared),
        });
    }
}

fn txn_panel(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let inner = usize::from(area.width.saturating_sub(2)).max(10);
    let marks = app
        .stage_marks()
        .into_iter()
        .map(|(s, m)| {
            let (c, style) = match m {
                Mark::Pending => ("·", theme.dim),
                Mark::Running => ("▶", theme.warn),
                Mark::Done => ("✓", Style::default()),
                Mark::Failed => ("✗", theme.bad),
                Mark::Skipped => ("-", theme.dim),
            };
            Span::styled(format!("{c}{}", stage_label(s)), style)
        })
        .collect();
    let mut lines = pack(marks, inner);
    let t = &app.txn;
    if t.running {
        let stage = t.stage.map_or("starting", |s| s.name());
        lines.push(Line::styled(
            format!("running: {stage} · {} APDUs", t.apdus.len()),
            theme.warn,
        ));
        if app.pin.is_some() {
            lines.push(Line::styled("waiting for the PIN pad", theme.warn));
        }
    } else if let Some(e) = &t.error {
        lines.push(Line::styled(format!("not run: {e}"), theme.bad));
    }
    match (&t.outcome, t.running) {
        (Some(o), false) => outcome_lines(&mut lines, o, t.previous.as_deref(), app, theme),
        (None, false) if t.error.is_none() => {
            lines.push(Line::from(""));
            lines.push(Line::from("r runs a transaction · ? lists the keys"));
        }
        _ => {}
    }
    let title = match (&t.outcome, t.running) {
        (_, true) => format!("Transaction {} (running)", t.count),
        (Some(_), false) => format!("Transaction {}", t.count),
        _ => "Transaction".to_owned(),
    };
    let lines = wrap(lines, inner);
    // scrolling stops at the last line
    let max = scroll_max(lines.len(), area.height);
    app.txn_scroll_max.set(max);
    frame.render_widget(
        Paragraph::new(lines)
            .block(panel(&title))
            .scroll((app.txn_scroll.min(max), 0)),
        area,
    );
}

fn outcome_lines(
    lines: &mut Vec<Line<'static>>,
    o: &Outcome,
    prev: Option<&Outcome>,
    app: &App,
    theme: &Theme,
) {
    let approved = matches!(
        o.outcome,
        emv_kernel::OutcomeKind::Approved | emv_kernel::OutcomeKind::OnlineApproved
    );
    let mut head = vec![
        Span::raw("Result "),
        Span::styled(
            o.outcome.name().to_uppercase(),
            if approved { theme.good } else { theme.bad },
        ),
    ];
    if let Some(rc) = &app.host.last_rc {
        head.push(Span::raw(format!(" · RC {} {}", rc.as_str(), rc.meaning())));
    }
    lines.push(Line::from(head));
    let mut facts = vec![format!("CVM {}", o.cvm_performed)];
    if let Some(p) = &o.online_pin {
        facts.push(format!("online PIN {p}"));
    }
    // a signature is taken only on an approval (Book 4 §6.3.4.4)
    if o.signature_to_take() {
        facts.push("SIGNATURE".into());
    }
    lines.push(Line::from(facts.join(" · ")));
    let cid = |c: Option<emv_tlv::bits::Cid>| c.map_or_else(|| "-".to_owned(), |c| c.to_hex());
    let mut facts = vec![format!("CID {}/{}", cid(o.cid_first), cid(o.cid_final))];
    if let Some(sr) = o.script_results_hex() {
        facts.push(format!("script results {sr}"));
    }
    facts.push(format!("{} APDUs", o.apdu_count));
    lines.push(Line::from(facts.join(" · ")));
    if let Some(r) = &o.termination_reason {
        let at = o.terminated_at.map_or("?", |s| s.name());
        lines.push(Line::styled(format!("terminated at {at}: {r}"), theme.bad));
    }
    if let Some(r) = &o.reversal {
        lines.push(Line::styled(r.summary(), theme.bad));
    }
    field(
        lines,
        "TVR",
        DecodeAs::Tvr,
        prev.map(|p| p.tvr.as_ref()),
        o.tvr.as_ref(),
        theme,
    );
    field(
        lines,
        "TSI",
        DecodeAs::Tsi,
        prev.map(|p| p.tsi.as_ref()),
        o.tsi.as_ref(),
        theme,
    );
    field(
        lines,
        "CVM Results",
        DecodeAs::CvmResults,
        prev.map(|p| p.cvm_results.as_ref()),
        o.cvm_results.as_ref(),
        theme,
    );
    if let Some(sr) = o.script_results_bytes() {
        field(
            lines,
            "Script res.",
            DecodeAs::ScriptResults,
            None,
            &sr,
            theme,
        );
    }
}

fn apdu_panel(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let apdus = &app.txn.apdus;
    let visible = usize::from(list_area.height.saturating_sub(2)).max(1);
    let selected = app.selected_apdu().map(|(i, _)| i);
    let sel = selected.unwrap_or(0);
    let first = (sel + 1).saturating_sub(visible);
    let lines: Vec<Line<'_>> = apdus
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, a)| {
            let sw = if a.response.len() >= 4 {
                &a.response[a.response.len() - 4..]
            } else {
                "----"
            };
            let text = format!("{:>2} {sw} {}", i + 1, a.name);
            if Some(i) == selected {
                Line::styled(format!("▸{text}"), theme.selected)
            } else {
                Line::from(format!(" {text}"))
            }
        })
        .collect();
    let follow = if app.apdu_selected.is_none() && !apdus.is_empty() {
        " (newest)"
    } else {
        ""
    };
    frame.render_widget(
        Paragraph::new(lines).block(panel(&format!("APDU log: {}{follow}", apdus.len()))),
        list_area,
    );
    let detail: Vec<Line<'static>> = match app.selected_apdu() {
        Some((_, a)) => apdu_detail(a).into_iter().map(Line::from).collect(),
        None => vec![Line::styled(
            "the exchanges of the transaction appear here",
            theme.dim,
        )],
    };
    let title = match selected {
        Some(i) => format!("Exchange {}", i + 1),
        None => "Exchange".to_owned(),
    };
    let detail = wrap(detail, usize::from(detail_area.width.saturating_sub(2)));
    let max = scroll_max(detail.len(), detail_area.height);
    app.detail_scroll_max.set(max);
    frame.render_widget(
        Paragraph::new(detail)
            .block(panel(&title))
            .scroll((app.detail_scroll.min(max), 0)),
        detail_area,
    );
}

/// The key lines of the footer (the keys of the PIN pad while it is open), wrapped to
/// `width`.
fn footer_keys(app: &App, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let keys: Vec<(&str, &str)> = if app.pin.is_some() {
        PIN_KEYS
            .iter()
            .map(|(k, _)| *k)
            .zip(["digit", "erase", "OK", "bypass", "cancel", "pull card"])
            .collect()
    } else {
        KEYS.iter()
            .filter(|(_, short, _)| !short.is_empty())
            .map(|(k, short, _)| (*k, *short))
            .collect()
    };
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (k, label) in keys {
        let w = k.chars().count() + label.chars().count() + 2;
        if used + w > width && !cur.is_empty() {
            lines.push(Line::from(std::mem::take(&mut cur)));
            used = 0;
        }
        used += w;
        cur.push(Span::styled(k.to_owned(), theme.strong));
        cur.push(Span::raw(format!(" {label} ")));
    }
    if !cur.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

fn footer_bar(
    frame: &mut Frame<'_>,
    area: Rect,
    mut lines: Vec<Line<'static>>,
    app: &App,
    theme: &Theme,
) {
    lines.push(match &app.status {
        Some((text, level)) => Line::styled(
            text.clone(),
            match level {
                Level::Info => Style::default(),
                Level::Good => theme.good,
                Level::Bad => theme.bad,
            },
        ),
        None => Line::styled("ready", theme.dim),
    });
    frame.render_widget(Paragraph::new(lines), area);
}

fn help(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let mut lines: Vec<Line<'_>> = KEYS
        .iter()
        .map(|(k, _, text)| {
            Line::from(vec![
                Span::styled(format!("{k:>10} "), theme.strong),
                Span::raw(*text),
            ])
        })
        .collect();
    lines.push(Line::styled("PIN pad dialog", theme.strong));
    lines.extend(PIN_KEYS.iter().map(|(k, text)| {
        Line::from(vec![
            Span::styled(format!("{k:>10} "), theme.strong),
            Span::raw(*text),
        ])
    }));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let r = centered(area, 78, h);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(panel("Keys (any key closes)").border_style(theme.focus)),
        r,
    );
}

fn amount_box(frame: &mut Frame<'_>, area: Rect, app: &App, input: &str, theme: &Theme) {
    let r = centered(area, 44, 5);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::raw("amount "),
                Span::styled(format!("{input}_"), theme.strong),
                Span::raw(format!(" (now {})", app.settings.amount)),
            ]),
            Line::styled("e.g. 25.00 · Enter OK · Esc cancel", theme.dim),
        ])
        .block(panel("Amount").border_style(theme.focus)),
        r,
    );
}

fn picker(
    frame: &mut Frame<'_>,
    area: Rect,
    what: PickWhat,
    items: &[String],
    selected: usize,
    theme: &Theme,
) {
    let h = u16::try_from(items.len() + 2).unwrap_or(u16::MAX);
    let r = centered(area, 44, h);
    let visible = usize::from(r.height.saturating_sub(2)).max(1);
    let first = (selected + 1).saturating_sub(visible);
    let lines: Vec<Line<'_>> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, name)| {
            if i == selected {
                Line::styled(format!("▸ {name}"), theme.selected)
            } else {
                Line::from(format!("  {name}"))
            }
        })
        .collect();
    let title = match what {
        PickWhat::Terminal => "Terminal profile (Enter picks, Esc)",
        PickWhat::Card => "Card (Enter picks, Esc)",
    };
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(panel(title).border_style(theme.focus)),
        r,
    );
}
