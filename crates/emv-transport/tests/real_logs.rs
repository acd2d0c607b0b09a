//! `trace import` on logs the real tools wrote (tests/fixtures/README.md says which tool,
//! version and command).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use emv_transport::import::{ImportOptions, LogFormat, import};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_real_pcsc_spy_log_cut_short_is_read_to_its_last_command_and_refused_there() {
    let log = fixture("pcsc-spy-1.9.9-select-ppse.log");
    // the SELECT's dump (two lines, the second padded before its ASCII) starts at the
    // `bSendBuffer` line; the spied client crashed before the answer
    let at = log
        .lines()
        .position(|l| l.trim_start() == "i bSendBuffer")
        .unwrap()
        + 1;
    let e = import(LogFormat::PcscSpy, &log, &ImportOptions::default()).unwrap_err();
    assert_eq!(e.line, at, "{e}");
    assert!(e.reason.contains("without its answer"), "{e}");
    // with an answer appended in the same layout, it is one SELECT of 1PAY.SYS.DDF01
    let answered = format!(
        "{}\n o bRecvLength 0x00000002 (2)\n o bRecvBuffer\n o  0000 6A 82{}..\n",
        log.split("\nThread").next().unwrap(),
        " ".repeat(43)
    );
    let t = import(LogFormat::PcscSpy, &answered, &ImportOptions::default()).unwrap();
    assert_eq!(t.exchanges(), 1);
    assert!(
        t.to_text()
            .contains(">> 00A404000E315041592E5359532E444446303100 "),
        "{}",
        t.to_text()
    );
}
