//! One transaction, one typed event stream: what a session's observer sees is everything
//! the outcome's journal holds, in order, with the stage of each exchange, the issuer's
//! answer and the script results; the trace recorder and a planned card pull consume the
//! same stream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use emv_apdu::TransportError;
use emv_auth::TransactionType;
use emv_card::CardStatus;
use emv_kernel::{
    Decision, Event, Kernel, KernelConfig, Observer, Outcome, Profile, ScriptedPinPad, Stage,
    TransactionParams,
};
use emv_session::{CardSpec, HostSpec, Pull, Session, SessionObserver, TraceLabel};
use emv_transport::trace::Event as TraceEvent;

/// What an observer saw, as owned values.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    PowerOn,
    PowerOff,
    Stage(Stage),
    Exchange {
        stage: Stage,
        command: Vec<u8>,
        response: Result<Vec<u8>, TransportError>,
    },
    Decision(String),
    CvRule(String),
    HostRequest,
    HostAnswer(Option<String>),
    Advice,
    Script([u8; 5]),
    Card(CardStatus),
}

#[derive(Default)]
struct Collect(Vec<Seen>);

impl Observer for Collect {
    fn on_event(&mut self, event: &Event<'_>) {
        self.0.push(match event {
            Event::PowerOn { .. } => Seen::PowerOn,
            Event::PowerOff => Seen::PowerOff,
            Event::Stage(s) => Seen::Stage(*s),
            Event::Exchange(x) => Seen::Exchange {
                stage: x.stage,
                command: x.command.to_vec(),
                response: x.response.map(<[u8]>::to_vec).map_err(Clone::clone),
            },
            Event::Decision(d) => Seen::Decision(d.text()),
            Event::CvRule(r) => Seen::CvRule(r.rule.clone()),
            Event::HostRequest(_) => Seen::HostRequest,
            Event::HostAnswer(a) => {
                Seen::HostAnswer(a.ok().map(|r| r.response_code.as_str().to_owned()))
            }
            Event::Advice { .. } => Seen::Advice,
            Event::ScriptResult(r) => Seen::Script(r.bytes()),
            _ => return,
        });
    }
}

impl SessionObserver for Collect {
    fn card_status(&mut self, status: &CardStatus) {
        self.0.push(Seen::Card(*status));
    }
}

fn session() -> Session {
    Session::open(
        &CardSpec {
            seed: Some(5),
            ..CardSpec::profile("visa-cvn18")
        },
        &HostSpec::EmbeddedInMemory,
        emv_host::HostKeys::load_test_keys().unwrap(),
    )
    .unwrap()
}

fn transact(s: &mut Session, terminal: &str, pins: &[&str], seen: &mut Collect) -> Outcome {
    let kernel = Kernel::new(Profile::load(terminal).unwrap(), KernelConfig::default());
    let mut pad = ScriptedPinPad::new(pins.iter().copied()).unwrap();
    let params = TransactionParams {
        transaction_type: if terminal == "atm" {
            TransactionType::Cash
        } else {
            TransactionType::Purchase
        },
        seed: 9,
        ..TransactionParams::purchase(2000)
    };
    s.transact_with(&kernel, &mut pad, &params, &TraceLabel::default(), seen)
        .unwrap()
}

fn exchanges(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|s| matches!(s, Seen::Exchange { .. }))
        .collect()
}

#[test]
fn the_observer_sees_what_the_journal_keeps_in_order() {
    let mut s = session();
    let mut seen = Collect::default();
    let o = transact(&mut s, "pos-offline-only", &["0000", "1234"], &mut seen);
    assert_eq!(o.outcome.name(), "approved");
    let seen = seen.0;

    // the card session brackets the transaction
    assert_eq!(seen.first(), Some(&Seen::PowerOn));
    assert_eq!(seen.last(), Some(&Seen::PowerOff));

    // every exchange of the APDU log, in order, in the stage last entered
    let x = exchanges(&seen);
    assert_eq!(x.len(), o.apdu_count);
    assert_eq!(x.len(), o.apdus.len());
    let mut stage = None;
    for e in &seen {
        match e {
            Seen::Stage(s) => stage = Some(*s),
            Seen::Exchange { stage: at, .. } => assert_eq!(Some(*at), stage, "{e:?}"),
            _ => {}
        }
    }
    // each exchange is followed by the card's counters: the wrong PIN costs one try
    let verifies: Vec<usize> = seen
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Seen::Exchange { command, .. } if command[1] == 0x20))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(verifies.len(), 2);
    match (&seen[verifies[0] + 1], &seen[verifies[1] + 1]) {
        (Seen::Card(after_wrong), Seen::Card(after_right)) => {
            assert_eq!(after_wrong.pin_try_counter, 2);
            assert_eq!(after_right.pin_try_counter, 3);
        }
        other => panic!("no card status after VERIFY: {other:?}"),
    }
    assert_eq!(
        seen.iter().filter(|e| matches!(e, Seen::Card(_))).count(),
        x.len()
    );

    // the decisions and CV Rules the outcome holds are the ones the observer saw
    let decisions: Vec<&String> = seen
        .iter()
        .filter_map(|e| match e {
            Seen::Decision(d) => Some(d),
            _ => None,
        })
        .collect();
    let kept: Vec<String> = o.decisions.iter().map(Decision::text).collect();
    assert_eq!(decisions, kept.iter().collect::<Vec<_>>());
    let rules: Vec<&String> = seen
        .iter()
        .filter_map(|e| match e {
            Seen::CvRule(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(rules.len(), o.cvm_trace.len());
    assert!(!rules.is_empty());

    // stages come in the order of EMV 4.4 Book 3 §10, none skipped backwards
    let stages: Vec<usize> = seen
        .iter()
        .filter_map(|e| match e {
            Seen::Stage(s) => Stage::ALL.iter().position(|x| x == s),
            _ => None,
        })
        .collect();
    assert!(stages.windows(2).all(|w| w[0] <= w[1]), "{stages:?}");
    // an offline-only terminal never talks to the issuer
    assert!(!seen.iter().any(|e| matches!(e, Seen::HostRequest)));
}

#[test]
fn an_online_transaction_reports_the_issuer_and_its_scripts() {
    let mut s = session();
    let mut seen = Collect::default();
    for _ in 0..3 {
        transact(&mut s, "pos-offline-only", &["9999"], &mut seen);
    }
    assert_eq!(s.card_state().unwrap().pin_try_counter, 0);
    let mut seen = Collect::default();
    let o = transact(&mut s, "atm", &["1234"], &mut seen);
    assert_eq!(o.outcome.name(), "online-approved");
    let seen = seen.0;
    let request = seen.iter().position(|e| *e == Seen::HostRequest).unwrap();
    let answer = seen
        .iter()
        .position(|e| matches!(e, Seen::HostAnswer(_)))
        .unwrap();
    assert!(request < answer);
    assert_eq!(seen[answer], Seen::HostAnswer(Some("00".into())));
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, Seen::HostAnswer(_)))
            .count(),
        1
    );
    // the issuer's PIN UNBLOCK script ran, and the stream says so as 9F5B does
    let scripts: Vec<[u8; 5]> = seen
        .iter()
        .filter_map(|e| match e {
            Seen::Script(r) => Some(*r),
            _ => None,
        })
        .collect();
    let kept: Vec<[u8; 5]> = o.script_results.iter().map(|r| r.bytes()).collect();
    assert_eq!(scripts, kept);
    assert_eq!(scripts.len(), 1);
    assert_eq!(scripts[0][0] >> 4, 2, "script successful (Book 4 Annex A5)");
    assert!(
        exchanges(&seen)
            .iter()
            .any(|e| matches!(e, Seen::Exchange { stage: Stage::IssuerScriptProcessing, command, .. } if command[1] == 0x24))
    );
    assert!(seen.contains(&Seen::Advice));
    assert_eq!(s.card_state().unwrap().pin_try_counter, 3);
}

#[test]
fn a_planned_pull_stops_the_card_before_the_nth_command_and_the_trace_says_so() {
    let mut s = session();
    s.record();
    s.pull = Some(Pull::BeforeCommand(3));
    let mut seen = Collect::default();
    let o = transact(&mut s, "pos-attended", &["1234"], &mut seen);
    assert_eq!(o.outcome.name(), "terminated");
    let x = exchanges(&seen.0);
    assert_eq!(x.len(), 3, "{x:?}");
    assert!(x[..2].iter().all(|e| matches!(
        e,
        Seen::Exchange {
            response: Ok(_),
            ..
        }
    )));
    assert!(matches!(
        x[2],
        Seen::Exchange {
            response: Err(TransportError::CardRemoved),
            ..
        }
    ));
    // a card out of the reader is not powered off
    assert!(!seen.0.contains(&Seen::PowerOff));
    let trace = s.trace.take().unwrap();
    let events: Vec<&TraceEvent> = trace.lines.iter().map(|l| &l.event).collect();
    assert_eq!(trace.exchanges(), 2);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, TraceEvent::Removed))
            .count(),
        1
    );
    assert!(!events.iter().any(|e| matches!(e, TraceEvent::PowerOff)));
    assert!(
        trace.to_text().contains("@end cvm-results="),
        "the session writes the @end marker"
    );
    // the planned pull is over: the card is back for the next transaction
    assert!(!s.presence.pulled());
    let o = transact(&mut s, "pos-attended", &["1234"], &mut Collect::default());
    assert_ne!(o.outcome.name(), "terminated");
}

#[test]
fn a_person_pulling_the_card_ends_the_transaction_at_the_next_command() {
    // the TUI's way: the shared presence flag, set from another place
    struct PullAtVerify(emv_transport::CardPresence, Collect);
    impl Observer for PullAtVerify {
        fn on_event(&mut self, event: &Event<'_>) {
            if let Event::Exchange(x) = event
                && x.command.get(1) == Some(&0x20)
            {
                self.0.pull();
            }
            self.1.on_event(event);
        }
    }
    impl SessionObserver for PullAtVerify {}
    let mut s = session();
    let mut obs = PullAtVerify(s.presence.clone(), Collect::default());
    let kernel = Kernel::new(
        Profile::load("pos-attended").unwrap(),
        KernelConfig::default(),
    );
    let mut pad = ScriptedPinPad::new(["1234"]).unwrap();
    let o = s
        .transact_with(
            &kernel,
            &mut pad,
            &TransactionParams::purchase(2000),
            &TraceLabel::default(),
            &mut obs,
        )
        .unwrap();
    assert_eq!(o.outcome.name(), "terminated");
    assert_eq!(o.apdus.last().unwrap().response, "");
    // a person's pull lasts until the card is put back
    assert!(s.presence.pulled());
    let again = s.transact(&kernel, &mut pad, &TransactionParams::purchase(2000));
    assert!(matches!(
        again,
        Err(emv_session::SessionError::Transport(
            TransportError::CardRemoved
        ))
    ));
}
