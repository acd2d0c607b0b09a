//! The card's ATRs read by an independent parser: pyscard's `smartcard.ATR` (Debian's
//! python3-pyscard, which CI installs for the PC/SC tests). It checks TS, T0, the TDi
//! chain, the protocols offered and TCK. Skips loudly without pyscard, unless
//! `EMVBENCH_REQUIRE_PCSC=1` (CI) makes that a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// Debian's interpreter first: pyscard is a Debian package, not in other Pythons.
const PYTHONS: [&str; 2] = ["/usr/bin/python3", "python3"];

const SCRIPT: &str = r#"
import sys
from smartcard.ATR import ATR
a = ATR(list(bytes.fromhex(sys.argv[1])))
p = a.getSupportedProtocols()
print("protocols", ",".join(sorted(k for k, v in p.items() if v)))
print("TB1", a.getTB1())
print("TC1", a.getTC1())
print("historical", bytes(a.getHistoricalBytes()).hex().upper())
print("checksum", a.hasChecksum, getattr(a, "checksumOK", None))
print("TA", a.TA)
print("TB", a.TB)
"#;

fn pyscard(atr: &[u8]) -> Option<String> {
    for py in PYTHONS {
        let Ok(out) = Command::new(py)
            .args(["-c", SCRIPT, &hex::encode_upper(atr)])
            .output()
        else {
            continue;
        };
        if out.status.success() {
            return Some(String::from_utf8(out.stdout).unwrap());
        }
    }
    if std::env::var("EMVBENCH_REQUIRE_PCSC").is_ok_and(|v| v == "1") {
        panic!("EMVBENCH_REQUIRE_PCSC=1 but pyscard (python3-pyscard) cannot be imported");
    }
    eprintln!(
        "\n*** SKIPPED atr_vs_pyscard: pyscard (python3-pyscard) cannot be imported\n\
         *** (set EMVBENCH_REQUIRE_PCSC=1 to make this a failure)\n"
    );
    None
}

#[test]
fn pyscard_reads_the_basic_t0_atr() {
    let Some(out) = pyscard(&emv_card::ATR) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "protocols T=0", "{out}");
    assert_eq!(lines[1], "TB1 0", "{out}");
    assert_eq!(lines[2], "TC1 0", "{out}");
    assert_eq!(
        lines[3],
        format!("historical {}", hex::encode_upper("emvbench"))
    );
    assert_eq!(lines[4], "checksum False None", "T=0 only: no TCK\n{out}");
}

#[test]
fn pyscard_reads_the_t1_atr_with_its_parameters_and_check_byte() {
    let Some(out) = pyscard(&emv_card::ATR_T1) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "protocols T=1", "{out}");
    assert_eq!(lines[1], "TB1 0", "{out}");
    assert_eq!(lines[2], "TC1 0", "{out}");
    assert_eq!(lines[4], "checksum True True", "{out}");
    // TA3 = FE (IFSC) and TB3 = 45 (BWI 4, CWI 5): third entries of TA and TB
    assert_eq!(lines[5], "TA [None, None, 254]", "{out}");
    assert_eq!(lines[6], "TB [0, None, 69]", "{out}");
}
