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

/// One answer the card can give: the profile field it comes from, what it is, its length
/// and what to do about it.
struct Answer {
    field: String,
    what: String,
    len: usize,
    hint: &'static str,
}

impl Answer {
    fn new(field: String, what: String, len: usize) -> Self {
        Self {
            field,
            what,
            len,
            hint: "",
        }
    }
}

/// Checks every answer of `perso` against [`SHORT_NE_MAX`]; `origin` names the profile.
pub(crate) fn check(perso: &Personalisation, origin: &str) -> Result<(), CardError> {
    let mut answers: Vec<Answer> = perso
        .pse_records
        .iter()
        .enumerate()
        .map(|(k, rec)| {
            Answer::new(
                format!("application[{k}]"),
                format!("the PSE directory record {} (READ RECORD SFI 1)", k + 1),
                rec.len(),
            )
        })
        .collect();
    for (i, app) in perso.apps.iter().enumerate() {
        app_answers(perso, i, app, &mut answers);
    }
    match answers.into_iter().find(|a| a.len > SHORT_NE_MAX) {
        None => Ok(()),
        Some(a) => Err(CardError::ProfileField {
            origin: origin.to_owned(),
            field: a.field,
            reason: format!(
                "{} is {} data bytes; a short APDU's response carries at most {SHORT_NE_MAX} \
                 (ISO/IEC 7816-4 §5.1){}",
                a.what, a.len, a.hint
            ),
        }),
    }
}

/// The answers of application `i`: its records, FCI, GPO, log records, GET DATA values,
/// and the signed answers for the ICC key.
fn app_answers(perso: &Personalisation, i: usize, app: &Application, out: &mut Vec<Answer>) {
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
        out.push(Answer {
            hint: ": split it into two records",
            ..Answer::new(
                field,
                format!("the answer to READ RECORD SFI {sfi} record {record}"),
                body.len(),
            )
        });
    }
    let app_field = format!("application[{i}]");
    out.push(Answer::new(
        app_field.clone(),
        "the FCI (answer to SELECT)".into(),
        app.fci.len(),
    ));
    out.push(Answer::new(
        app_field,
        "the answer to GET PROCESSING OPTIONS (AIP and AFL)".into(),
        gpo_len(app),
    ));
    if let (Some(entry), Some(format)) = (app.log_entry, app.log_format.as_ref()) {
        out.push(Answer::new(
            format!("application[{i}].data.9F4F"),
            format!("a transaction log record (READ RECORD SFI {})", entry.sfi),
            format.data_len(),
        ));
    }
    for tag in GET_DATA_TAGS {
        if let Some(v) = app.get(tag) {
            out.push(Answer::new(
                format!("application[{i}].data.{tag:X}"),
                format!("GET DATA {tag:X}"),
                encode_tlv(Tag::new(tag), v).len(),
            ));
        }
    }
    if let Some(n) = perso.icc_key.as_ref().map(|k| k.modulus_len()) {
        // INTERNAL AUTHENTICATE: 80 SDAD or 77 [9F4B SDAD] (Book 3 §6.5.9.4);
        // GENERATE AC with CDA: 77 [9F27 9F36 9F10 9F4B] (Book 2 §6.6.1).
        let sdad = encode_tlv(Tag::new(0x9F4B), &vec![0; n]);
        let dda = if app.response_format == 1 {
            encode_tlv(Tag::new(0x80), &vec![0; n]).len()
        } else {
            encode_tlv(Tag::new(0x77), &sdad).len()
        };
        let iad_len = cvr::iad(perso.cvn, perso.dki, &CvrInputs::default()).len();
        let mut cda = encode_tlv(Tag::new(0x9F27), &[0]);
        cda.extend(encode_tlv(Tag::new(0x9F36), &[0, 0]));
        cda.extend(encode_tlv(Tag::new(0x9F10), &vec![0; iad_len]));
        cda.extend(sdad);
        let cda = encode_tlv(Tag::new(0x77), &cda).len();
        if app.aip_has(0x20) {
            out.push(Answer::new(
                "oda.icc_key".into(),
                "the answer to INTERNAL AUTHENTICATE (DDA)".into(),
                dda,
            ));
        }
        if app.aip_has(0x01) {
            out.push(Answer::new(
                "oda.icc_key".into(),
                "the answer to GENERATE AC with CDA".into(),
                cda,
            ));
        }
    }
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
