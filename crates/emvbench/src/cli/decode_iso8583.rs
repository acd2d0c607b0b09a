//! `emvbench decode --as iso8583`: an ISO 8583:1987 message in either stock layout, with or
//! without a length header and TPDU, every field by name, DE 55 as a TLV tree
//! (docs/iso8583.md §7).

use anyhow::Result;
use emv_iso8583::spec::{self, FieldType};
use emv_iso8583::{Format, Header, Message, frame};
use emv_tlv::describe;
use serde_json::{Value, json};

use super::InputError;

/// What the message types this bench knows are (ISO 8583:1987 §4.1).
fn mti_name(mti: &str) -> &'static str {
    match mti {
        "0100" => "authorisation request",
        "0110" => "authorisation response",
        "0120" => "authorisation advice",
        "0130" => "authorisation advice response",
        "0200" => "financial request",
        "0210" => "financial response",
        "0220" => "financial advice",
        "0230" => "financial advice response",
        "0400" => "reversal request",
        "0410" => "reversal response",
        "0420" => "reversal advice",
        "0421" => "reversal advice (repeat)",
        "0430" => "reversal advice response",
        "0800" => "network management request",
        "0810" => "network management response",
        _ => "message",
    }
}

/// Decodes `bytes` (a frame or a bare message) in `format`, or the layout that reads.
pub fn decode(bytes: &[u8], format: Option<Format>, json: bool) -> Result<String> {
    let formats = match format {
        Some(f) => vec![f],
        None => vec![Format::Ascii, Format::Binary],
    };
    let mut first_err = None;
    for f in formats {
        let (header, tpdu, at) = frame::detect(f, bytes);
        match Message::decode(f, &bytes[at..]) {
            Ok(m) => return Ok(render(&m, f, header, tpdu, json)),
            Err(e) => {
                first_err.get_or_insert(format!("{} layout: {e}", f.name()));
            }
        }
    }
    Err(InputError(format!(
        "not an ISO 8583 message: {}",
        first_err.unwrap_or_default()
    ))
    .into())
}

fn shown(ty: FieldType, v: &[u8]) -> String {
    match ty {
        FieldType::B => hex::encode_upper(v),
        _ => String::from_utf8_lossy(v).into_owned(),
    }
}

fn render(
    m: &Message,
    f: Format,
    header: Header,
    tpdu: Option<emv_iso8583::Tpdu>,
    json: bool,
) -> String {
    if json {
        let fields: Vec<Value> = m
            .fields()
            .filter_map(|(de, v)| {
                let s = spec::field(de)?;
                let mut o = json!({"de": de, "name": s.name, "type": s.describe(), "value": shown(s.ty, v)});
                if de == 55
                    && let Ok(list) = emv_tlv::parse_all(v)
                {
                    o["tlv"] = Value::String(describe::render_tree(&describe::tree(&list)));
                }
                Some(o)
            })
            .collect();
        let v = json!({
            "kind": "iso8583",
            "format": f.name(),
            "header": header.name(),
            "tpdu": tpdu.map(|t| hex::encode_upper(t.0)),
            "mti": m.mti.as_str(),
            "mti_name": mti_name(m.mti.as_str()),
            "fields": fields,
        });
        return format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    let mut out = format!(
        "ISO 8583 {} layout, header {}{}\nMTI    {}  {}\n",
        f.name(),
        header.name(),
        tpdu.map(|t| format!(", TPDU {}", hex::encode_upper(t.0)))
            .unwrap_or_default(),
        m.mti,
        mti_name(m.mti.as_str())
    );
    for (de, v) in m.fields() {
        let Some(s) = spec::field(de) else { continue };
        out.push_str(&format!(
            "DE {de:<3} {:<38} {:<9} {}\n",
            s.name,
            s.describe(),
            shown(s.ty, v)
        ));
        if de == 55 {
            match emv_tlv::parse_all(v) {
                Ok(list) => {
                    for line in describe::render_tree(&describe::tree(&list)).lines() {
                        out.push_str(&format!("       {line}\n"));
                    }
                }
                Err(e) => out.push_str(&format!("       (not BER-TLV: {e})\n")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_with_and_without_header() {
        // 0800 echo, ASCII layout, then with a 2-byte header and a TPDU
        let msg = b"08000020000000000000000001".to_vec();
        let out = decode(&msg, None, false).unwrap();
        assert!(out.contains("ascii layout, header none"), "{out}");
        assert!(out.contains("System Trace Audit Number"), "{out}");
        let mut framed = vec![0x00, 31, 0x60, 0, 1, 0, 2];
        framed.extend_from_slice(&msg);
        let out = decode(&framed, None, false).unwrap();
        assert!(out.contains("header 2b, TPDU 6000010002"), "{out}");
        // binary layout with DE 55 as a tree
        let mut m = Message::new(emv_iso8583::Mti::from_number(100).unwrap());
        m.set(55, vec![0x9F, 0x36, 0x02, 0x00, 0x07]).unwrap();
        let enc = m.encode(Format::Binary).unwrap();
        let out = decode(&enc, None, false).unwrap();
        assert!(out.contains("binary layout"), "{out}");
        assert!(out.contains("9F36"), "{out}");
        assert!(decode(b"garbage!", None, false).is_err());
        let j = decode(&enc, Some(Format::Binary), true).unwrap();
        assert!(j.contains("\"de\": 55"), "{j}");
    }
}
