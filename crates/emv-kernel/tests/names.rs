//! The outcome object's names (`docs/formats.md`): what `name()` prints is what the JSON
//! says, for every value of the enums that have both.
#![allow(clippy::too_many_lines)] // test tables read top to bottom

use emv_kernel::outcome::{CvmPerformed, OutcomeKind};

fn json_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn outcome_kind_names_are_the_json_names() {
    for kind in [
        OutcomeKind::Approved,
        OutcomeKind::Declined,
        OutcomeKind::OnlineApproved,
        OutcomeKind::OnlineDeclined,
        OutcomeKind::Terminated,
    ] {
        assert_eq!(kind.name(), json_name(kind));
    }
    assert_eq!(OutcomeKind::OnlineApproved.name(), "online-approved");
}

#[test]
fn cvm_performed_names_are_the_json_names() {
    for cvm in [
        CvmPerformed::OfflinePlaintextPin,
        CvmPerformed::OfflineEncipheredPin,
        CvmPerformed::OnlinePin,
        CvmPerformed::OfflinePlaintextPinAndSignature,
        CvmPerformed::OfflineEncipheredPinAndSignature,
        CvmPerformed::Signature,
        CvmPerformed::NoCvm,
        CvmPerformed::FailCvm,
        CvmPerformed::None,
        CvmPerformed::Other,
    ] {
        assert_eq!(cvm.name(), json_name(cvm));
    }
    assert_eq!(
        CvmPerformed::OfflineEncipheredPinAndSignature.name(),
        "offline-enciphered-pin+signature"
    );
    assert_eq!(CvmPerformed::NoCvm.name(), "no-cvm");
}
