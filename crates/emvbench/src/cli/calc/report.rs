//! The result of a `calc` operation, printed as a labelled text block or as a flat JSON
//! object (keys in the order they were added).
//!
//! Values that are secrets (keys, PINs) stay in zeroizing strings up to the output buffer,
//! which is zeroizing too; the JSON is therefore written here rather than through
//! `serde_json::Value`.

use emv_crypto::keys::TdesKey;
use emv_crypto::util::to_hex;
use zeroize::Zeroizing;

/// One value.
enum Val {
    /// A key, a PIN or something derived from them (hex or digits).
    Secret(Zeroizing<String>),
    /// Anything else (hex of non-secret data, names).
    Text(String),
    /// A number (JSON number).
    Int(u64),
    /// JSON `null`; no line in the text output.
    Null,
}

struct Entry {
    /// Text label; `None` = JSON only.
    label: Option<&'static str>,
    /// JSON key; `None` = text only.
    key: Option<&'static str>,
    val: Val,
    /// Appended to the text line in parentheses.
    note: Option<String>,
}

/// The output of one operation.
#[derive(Default)]
pub struct Report(Vec<Entry>);

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, label: Option<&'static str>, key: Option<&'static str>, val: Val) {
        self.0.push(Entry {
            label,
            key,
            val,
            note: None,
        });
    }

    /// Non-secret bytes as upper-case hex, in text and JSON.
    pub fn hex(&mut self, label: &'static str, key: &'static str, bytes: &[u8]) -> &mut Self {
        self.push(Some(label), Some(key), Val::Text(to_hex(bytes)));
        self
    }

    /// A non-secret string, in text and JSON.
    pub fn text(
        &mut self,
        label: &'static str,
        key: &'static str,
        s: impl Into<String>,
    ) -> &mut Self {
        self.push(Some(label), Some(key), Val::Text(s.into()));
        self
    }

    /// A secret string (key hex, PIN digits), in text and JSON.
    pub fn secret(
        &mut self,
        label: &'static str,
        key: &'static str,
        s: Zeroizing<String>,
    ) -> &mut Self {
        self.push(Some(label), Some(key), Val::Secret(s));
        self
    }

    /// A TDES key as hex, with its KCV as a note in text and as `kcv_key` in JSON.
    pub fn key(
        &mut self,
        label: &'static str,
        key: &'static str,
        kcv_key: &'static str,
        k: &TdesKey,
    ) -> &mut Self {
        let kcv = to_hex(&k.kcv());
        self.push(Some(label), Some(key), Val::Secret(k.to_hex()));
        self.note(format!("KCV {kcv}"));
        self.push(None, Some(kcv_key), Val::Text(kcv));
        self
    }

    /// A non-secret string in JSON only.
    pub fn json(&mut self, key: &'static str, s: impl Into<String>) -> &mut Self {
        self.push(None, Some(key), Val::Text(s.into()));
        self
    }

    /// A number in JSON only.
    pub fn json_int(&mut self, key: &'static str, n: u64) -> &mut Self {
        self.push(None, Some(key), Val::Int(n));
        self
    }

    /// JSON `null` (the text output leaves the line out).
    pub fn null(&mut self, key: &'static str) -> &mut Self {
        self.push(None, Some(key), Val::Null);
        self
    }

    /// A note on the last text line: `  (note)`, several joined with "; ".
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        let note = note.into();
        if let Some(e) = self.0.iter_mut().rev().find(|e| e.label.is_some()) {
            e.note = Some(match e.note.take() {
                Some(n) => format!("{n}; {note}"),
                None => note,
            });
        }
        self
    }

    /// The output: a JSON object or a labelled text block, each ending in a newline.
    pub fn render(&self, json: bool) -> Zeroizing<String> {
        if json {
            self.render_json()
        } else {
            self.render_text()
        }
    }

    fn render_text(&self) -> Zeroizing<String> {
        let width = self
            .0
            .iter()
            .filter_map(|e| e.label.map(str::len))
            .max()
            .unwrap_or(0);
        let mut out = Zeroizing::new(String::new());
        for e in &self.0 {
            let Some(label) = e.label else { continue };
            let value: &str = match &e.val {
                Val::Secret(s) => s,
                Val::Text(s) => s,
                Val::Int(_) | Val::Null => continue,
            };
            out.push_str(label);
            out.extend(std::iter::repeat_n(' ', width - label.len() + 2));
            out.push_str(value);
            if let Some(n) = &e.note {
                out.push_str("  (");
                out.push_str(n);
                out.push(')');
            }
            out.push('\n');
        }
        out
    }

    fn render_json(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::from("{"));
        let mut first = true;
        for e in &self.0 {
            let Some(key) = e.key else { continue };
            out.push_str(if first { "\n  " } else { ",\n  " });
            first = false;
            push_json_str(&mut out, key);
            out.push_str(": ");
            match &e.val {
                Val::Secret(s) => push_json_str(&mut out, s),
                Val::Text(s) => push_json_str(&mut out, s),
                Val::Int(n) => out.push_str(&n.to_string()),
                Val::Null => out.push_str("null"),
            }
        }
        out.push_str(if first { "}\n" } else { "\n}\n" });
        out
    }
}

/// A JSON string literal (RFC 8259 §7 escaping), written straight into `out`.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let k = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let mut r = Report::new();
        r.hex("ARQC", "arqc", &[0x01, 0x68])
            .key("MK", "mk", "mk_kcv", &k)
            .null("encrypted")
            .json_int("method", 1)
            .json("note", "a \"quoted\"\tline\u{1}");
        assert_eq!(
            &*r.render(false),
            "ARQC  0168\nMK    0123456789ABCDEFFEDCBA9876543210  (KCV 08D7B4)\n"
        );
        let j = r.render(true);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["arqc"], "0168");
        assert_eq!(v["mk_kcv"], "08D7B4");
        assert!(v["encrypted"].is_null());
        assert_eq!(v["method"], 1);
        assert_eq!(v["note"], "a \"quoted\"\tline\u{1}");
        assert!(
            j.starts_with("{\n  \"arqc\": \"0168\",\n  \"mk\": "),
            "{}",
            &*j
        );
        assert_eq!(&*Report::new().render(true), "{}\n");
    }
}
