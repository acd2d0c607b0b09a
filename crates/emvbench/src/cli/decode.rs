//! `emvbench decode`: a payment engineer's decoder for TLV data, bit fields and APDUs.

use std::process::ExitCode;

use anyhow::Result;
use emv_apdu::{CommandView, ResponseView};
use emv_tlv::describe::{self, DecodeAs, Node};
use emv_tlv::{TlvError, hex};
use serde_json::{Value, json};
use strum::VariantNames as _;

use super::InputError;

pub const EXAMPLES: &str = "\
Examples:
  emvbench decode '77 0E 82 02 58 00 94 08 08 01 01 00 10 01 03 01'
  emvbench decode --as tvr 0000800000
  emvbench decode --as cvm-list 000000000000000041034203 1E031F00
  emvbench decode --as capdu 0020008008241234FFFFFFFFFF
  emvbench decode --as rapdu 63C2
  emvbench decode --as iso8583 001A3038303030303230303030303030303030303030303030303031
  emvbench decode --json 9F2701 80

Spaces, colons and newlines between hex digits are ignored; several arguments are joined.";

/// How to read the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A list of BER-TLV data objects (the default).
    Tlv,
    /// One field decoded on its own.
    Field(DecodeAs),
    /// A command APDU.
    Capdu,
    /// A response APDU (data + SW1 SW2).
    Rapdu,
    /// An ISO 8583 message (either stock layout, with or without header/TPDU).
    Iso8583,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "tlv" => Ok(Kind::Tlv),
        "capdu" | "c-apdu" | "command" => Ok(Kind::Capdu),
        "rapdu" | "r-apdu" | "response" | "sw" => Ok(Kind::Rapdu),
        "iso8583" | "iso" => Ok(Kind::Iso8583),
        other => other.parse::<DecodeAs>().map(Kind::Field).map_err(|_| {
            format!(
                "unknown kind {other:?}; expected tlv, capdu, rapdu or one of: {}, iso8583",
                DecodeAs::VARIANTS.join(", ")
            )
        }),
    }
}

fn parse_iso_format(s: &str) -> Result<emv_iso8583::Format, String> {
    emv_iso8583::Format::parse(s).ok_or_else(|| format!("expected ascii or binary, got {s:?}"))
}

/// Arguments of `emvbench decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data, in hex (spaces allowed; several arguments are joined).
    #[arg(required = true, value_name = "HEX")]
    hex: Vec<String>,

    /// What the data is: tlv (default), tvr, tsi, aip, auc, cvm-list, cvm-results, 9f33,
    /// 9f40, 9f35, cid, dol, iad, afl, script-results, capdu, rapdu or iso8583.
    #[arg(long = "as", value_name = "KIND", default_value = "tlv", value_parser = parse_kind)]
    kind: Kind,

    /// With --as iso8583: the layout, ascii or binary (default: the one that decodes).
    #[arg(long = "iso8583-format", value_name = "FORMAT", value_parser = parse_iso_format)]
    iso8583_format: Option<emv_iso8583::Format>,

    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Run `decode`.
pub fn run(args: Args) -> Result<ExitCode> {
    let text = args.hex.join(" ");
    let bytes = hex::decode(&text).map_err(|e| input_error("hex", &text, &e, None))?;
    if bytes.is_empty() {
        return Err(InputError("no data: give the bytes to decode in hex".into()).into());
    }
    let out = match args.kind {
        Kind::Tlv => decode_tlv(&bytes, args.json)?,
        Kind::Field(kind) => decode_field(kind, &bytes, args.json)?,
        Kind::Capdu => decode_capdu(&bytes, args.json)?,
        Kind::Rapdu => decode_rapdu(&bytes, args.json)?,
        Kind::Iso8583 => super::decode_iso8583::decode(&bytes, args.iso8583_format, args.json)?,
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// An error that names the offset and shows where it is in the input.
fn input_error(what: &str, text: &str, e: &TlvError, bytes: Option<&[u8]>) -> anyhow::Error {
    let mut msg = match what {
        "hex" => format!("bad hex at character {}: {}", e.offset, e.kind),
        _ => format!("bad {what} at byte offset {}: {}", e.offset, e.kind),
    };
    // a pointer under the offending place
    match bytes {
        None => {
            let shown: String = text.chars().take(120).collect();
            if e.offset < 120 {
                let col = text[..e.offset.min(text.len())].chars().count();
                msg.push_str(&format!("\n  {shown}\n  {}^", " ".repeat(col)));
            }
        }
        Some(b) if e.offset <= 60 => {
            let shown: Vec<String> = b.iter().take(60).map(|x| format!("{x:02X}")).collect();
            msg.push_str(&format!(
                "\n  {}\n  {}^^",
                shown.join(" "),
                " ".repeat(3 * e.offset)
            ));
        }
        Some(_) => {}
    }
    InputError(msg).into()
}

fn decode_tlv(bytes: &[u8], json: bool) -> Result<String> {
    let list = emv_tlv::parse_all(bytes).map_err(|e| input_error("TLV", "", &e, Some(bytes)))?;
    let nodes = describe::tree(&list);
    if json {
        let v = json!({
            "kind": "tlv",
            "length": bytes.len(),
            "objects": nodes.iter().map(node_json).collect::<Vec<_>>(),
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    Ok(describe::render_tree(&nodes))
}

fn node_json(n: &Node) -> Value {
    let mut v = json!({
        "tag": n.tag.to_string(),
        "name": n.name,
        "short": n.short,
        "offset": n.offset,
        "length": n.len,
    });
    if n.tag.is_constructed() {
        v["children"] = Value::Array(n.children.iter().map(node_json).collect());
    } else {
        v["value"] = Value::String(hex::encode(&n.value));
        if let Some(t) = &n.text {
            v["text"] = Value::String(t.clone());
        }
        if !n.decoded.is_empty() {
            v["decoded"] = json!(n.decoded);
        }
    }
    if let Some(w) = &n.warning {
        v["warning"] = Value::String(w.clone());
    }
    v
}

fn decode_field(kind: DecodeAs, bytes: &[u8], json: bool) -> Result<String> {
    let lines = describe::describe_as(kind, bytes)
        .map_err(|e| input_error(kind.name(), "", &e, Some(bytes)))?;
    if json {
        let v = json!({ "kind": kind.name(), "value": hex::encode(bytes), "decoded": lines });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = format!("{} {}\n", kind.name().to_uppercase(), hex::encode(bytes));
    if lines.is_empty() {
        out.push_str("  (no bits set)\n");
    }
    for l in lines {
        out.push_str(&format!("  {l}\n"));
    }
    Ok(out)
}

/// The data of an APDU as TLV if it parses as such, else nothing.
fn data_tree(data: &[u8]) -> Option<Vec<Node>> {
    if data.is_empty() {
        return None;
    }
    emv_tlv::parse_all(data)
        .ok()
        .map(|l| describe::tree(&l))
        .filter(|t| !t.is_empty())
}

fn decode_capdu(bytes: &[u8], json: bool) -> Result<String> {
    let c = CommandView::parse(bytes).map_err(|e| InputError(format!("bad C-APDU: {e}")))?;
    let name = c
        .identify()
        .map(|k| k.to_string())
        .or_else(|| emv_apdu::ins_name(c.ins).map(|n| format!("{n} (unrecognised parameters)")))
        .unwrap_or_else(|| format!("Unknown command (INS {:02X})", c.ins));
    let tree = data_tree(c.data);
    if json {
        let mut v = json!({
            "kind": "capdu",
            "command": name,
            "cla": format!("{:02X}", c.cla),
            "ins": format!("{:02X}", c.ins),
            "p1": format!("{:02X}", c.p1),
            "p2": format!("{:02X}", c.p2),
            "data": hex::encode(c.data),
            "ne": c.ne,
            "extended": c.extended,
            "case": format!("{:?}", c.case()),
        });
        if let Some(t) = &tree {
            v["tlv"] = Value::Array(t.iter().map(node_json).collect());
        }
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = format!(
        "{name}\n  CLA {:02X}  INS {:02X}  P1 {:02X}  P2 {:02X}  ({:?}{})\n",
        c.cla,
        c.ins,
        c.p1,
        c.p2,
        c.case(),
        if c.extended { ", extended length" } else { "" }
    );
    if !c.data.is_empty() {
        out.push_str(&format!(
            "  Data [{}]: {}\n",
            c.data.len(),
            hex::encode(c.data)
        ));
    }
    if let Some(ne) = c.ne {
        out.push_str(&format!("  Le: up to {ne} bytes expected\n"));
    }
    if let Some(t) = tree {
        for line in describe::render_tree(&t).lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    Ok(out)
}

fn decode_rapdu(bytes: &[u8], json: bool) -> Result<String> {
    let r = ResponseView::parse(bytes).map_err(|e| InputError(format!("bad R-APDU: {e}")))?;
    let sw = format!("{:04X}", r.sw.to_u16());
    let tree = data_tree(r.data);
    if json {
        let mut v = json!({
            "kind": "rapdu",
            "sw": sw,
            "meaning": r.sw.meaning(),
            "data": hex::encode(r.data),
        });
        if let Some(t) = &tree {
            v["tlv"] = Value::Array(t.iter().map(node_json).collect());
        }
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = format!("SW {sw}: {}\n", r.sw.meaning());
    if !r.data.is_empty() {
        out.push_str(&format!(
            "  Data [{}]: {}\n",
            r.data.len(),
            hex::encode(r.data)
        ));
    }
    if let Some(t) = tree {
        for line in describe::render_tree(&t).lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(parse_kind("TLV").unwrap(), Kind::Tlv);
        assert_eq!(parse_kind("tvr").unwrap(), Kind::Field(DecodeAs::Tvr));
        assert_eq!(parse_kind("capdu").unwrap(), Kind::Capdu);
        assert!(parse_kind("bogus").unwrap_err().contains("capdu"));
    }

    #[test]
    fn tlv_errors_point_at_the_offset() {
        let bytes = hex::decode("77 05 82 02 58").unwrap();
        let err = decode_tlv(&bytes, false).unwrap_err().to_string();
        assert!(
            err.starts_with("bad TLV at byte offset 0: value of 5 bytes runs past the end"),
            "{err}"
        );
        assert!(err.contains("77 05 82 02 58\n  ^^"), "{err}");
    }
}
