//! Every answer the card can give must fit a short R-APDU: at most 256 data bytes plus
//! SW1-SW2 (ISO/IEC 7816-4 §5.1; EMV 4.4 Book 1 §9.2 has the terminal send Le = `00`, so a
//! terminal's receive buffer is sized for that). A profile that would need more is refused
//! when it is loaded, naming the answer and its size (docs/emv.md §9.2).

use emv_tlv::{Tag, encode_tlv};

use crate::CardError;
use crate::card::SHORT_NE_MAX;
use crate::commands::GET_DATA_TAGS;
use crate::cvr::{self, CvrInputs};
use crate::perso::{Application, Personalisation};

/// Checks every answer of `perso` against [`SHORT_NE_MAX`]; `origin` names the profile.
pub(crate) fn check(perso: &Personalisation, origin: &str) -> Result<(), CardError> {
    let too_long = |field: String, what: String, len: usize| {
        (len > SHORT_NE_MAX).then(|| CardError::ProfileField {
            origin: origin.to_owned(),
            field,
            reason: format!(
                "{what} is {len} data bytes; a short APDU's response carries at most \
                 {SHORT_NE_MAX} (ISO/IEC 7816-4 §5.1)"
            ),
        })
    };
    for (k, rec) in perso.pse_records.iter().enumerate() {
        if let Some(e) = too_long(
            format!("application[{k}]"),
            format!("the PSE directory record {} (READ RECORD SFI 1)", k + 1),
            rec.len(),
        ) {
            return Err(e);
        }
    }
    let iad_len = cvr::iad(perso.cvn, perso.dki, &CvrInputs::default()).len();
    let sdad_len = perso.icc_key.as_ref().map(|k| k.modulus_len());
    for (i, app) in perso.apps.iter().enumerate() {
        let written = perso.source.application.get(i);
        for (&(sfi, record), body) in &app.records {
            let field = written
                .and_then(|a| {
                    a.records
                        .iter()
                        .position(|r| (r.sfi, r.record) == (sfi, record))
                })
                .map_or_else(
                    || format!("application[{i}].records"),
                    |r| format!("application[{i}].records[{r}]"),
                );
            let what = format!("the answer to READ RECORD SFI {sfi} record {record}");
            if let Some(CardError::ProfileField {
                origin,
                field,
                reason,
            }) = too_long(field, what, body.len())
            {
                return Err(CardError::ProfileField {
                    origin,
                    field,
                    reason: format!("{reason}: split it into two records"),
                });
            }
        }
        let app_field = format!("application[{i}]");
        let answers = [
            ("the FCI (answer to SELECT)".to_owned(), app.fci.len()),
            (
                "the answer to GET PROCESSING OPTIONS (AIP and AFL)".to_owned(),
                gpo_len(app),
            ),
        ];
        for (what, len) in answers {
            if let Some(e) = too_long(app_field.clone(), what, len) {
                return Err(e);
            }
        }
        if let (Some(entry), Some(format)) = (app.log_entry, app.log_format.as_ref()) {
            let what = format!(
                "a record of the transaction log (READ RECORD SFI {}, the Log Format's values)",
                entry.sfi
            );
            if let Some(e) = too_long(
                format!("application[{i}].data.9F4F"),
                what,
                format.data_len(),
            ) {
                return Err(e);
            }
        }
        for tag in GET_DATA_TAGS {
            if let Some(v) = app.get(tag) {
                let len = encode_tlv(Tag::new(tag), v).len();
                let what = format!("GET DATA {tag:X}");
                if let Some(e) = too_long(format!("application[{i}].data.{tag:X}"), what, len) {
                    return Err(e);
                }
            }
        }
        if let Some(n) = sdad_len {
            // INTERNAL AUTHENTICATE: 80 SDAD or 77 [9F4B SDAD] (Book 3 §6.5.9.4);
            // GENERATE AC with CDA: 77 [9F27 9F36 9F10 9F4B] (Book 2 §6.6.1).
            let sdad = encode_tlv(Tag::new(0x9F4B), &vec![0; n]);
            let dda = if app.response_format == 1 {
                encode_tlv(Tag::new(0x80), &vec![0; n]).len()
            } else {
                encode_tlv(Tag::new(0x77), &sdad).len()
            };
            let mut cda = encode_tlv(Tag::new(0x9F27), &[0]);
            cda.extend(encode_tlv(Tag::new(0x9F36), &[0, 0]));
            cda.extend(encode_tlv(Tag::new(0x9F10), &vec![0; iad_len]));
            cda.extend(sdad);
            let cda = encode_tlv(Tag::new(0x77), &cda).len();
            for (offered, what, len) in [
                (
                    app.aip_has(0x20),
                    "the answer to INTERNAL AUTHENTICATE (DDA)",
                    dda,
                ),
                (app.aip_has(0x01), "the answer to GENERATE AC with CDA", cda),
            ] {
                if offered && let Some(e) = too_long("oda.icc_key".into(), what.into(), len) {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

fn gpo_len(app: &Application) -> usize {
    if app.response_format == 1 {
        encode_tlv(Tag::new(0x80), &[&app.aip[..], &app.afl].concat()).len()
    } else {
        let mut v = encode_tlv(Tag::new(0x82), &app.aip);
        v.extend(encode_tlv(Tag::new(0x94), &app.afl));
        encode_tlv(Tag::new(0x77), &v).len()
    }
}
