//! Cryptogram Information Data (9F27), EMV 4.4 Book 3 §6.5.5.4 Table 15.

use super::Describe;

/// The type of application cryptogram (CID b8-b7; GENERATE AC P1 uses the same coding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcType {
    /// `00`: Application Authentication Cryptogram (decline).
    Aac,
    /// `40`: Transaction Certificate (approve).
    Tc,
    /// `80`: Authorisation Request Cryptogram (go online).
    Arqc,
    /// `C0`: RFU (only for negative tests; a card rejects it).
    Rfu,
}

impl AcType {
    /// From the b8-b7 bits of a CID or GENERATE AC P1.
    #[must_use]
    pub const fn from_bits(b: u8) -> AcType {
        match b & 0xC0 {
            0x00 => AcType::Aac,
            0x40 => AcType::Tc,
            0x80 => AcType::Arqc,
            _ => AcType::Rfu,
        }
    }

    /// The b8-b7 bits.
    #[must_use]
    pub const fn bits(self) -> u8 {
        match self {
            AcType::Aac => 0x00,
            AcType::Tc => 0x40,
            AcType::Arqc => 0x80,
            AcType::Rfu => 0xC0,
        }
    }

    /// Short name (`AAC`, `TC`, `ARQC`, `RFU`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            AcType::Aac => "AAC",
            AcType::Tc => "TC",
            AcType::Arqc => "ARQC",
            AcType::Rfu => "RFU",
        }
    }
}

/// Cryptogram Information Data (tag 9F27, 1 byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cid(pub u8);

impl AsRef<[u8]> for Cid {
    fn as_ref(&self) -> &[u8] {
        core::slice::from_ref(&self.0)
    }
}

impl Cid {
    /// Advice required (b4).
    pub const ADVICE_REQUIRED: u8 = 0x08;

    /// Upper-case hex (`80`).
    pub fn to_hex(self) -> String {
        crate::hex::encode(&[self.0])
    }

    /// The cryptogram type.
    pub fn ac_type(self) -> AcType {
        AcType::from_bits(self.0)
    }

    /// Advice required (b4).
    pub fn advice_required(self) -> bool {
        self.0 & Self::ADVICE_REQUIRED != 0
    }

    /// Reason/advice code (b3-b1).
    pub fn reason(self) -> u8 {
        self.0 & 0x07
    }

    /// Reason code in words.
    pub fn reason_text(self) -> &'static str {
        match self.reason() {
            0 => "No information given",
            1 => "Service not allowed",
            2 => "PIN Try Limit exceeded",
            3 => "Issuer authentication failed",
            _ => "RFU",
        }
    }
}

impl Describe for Cid {
    fn describe(&self) -> Vec<String> {
        let t = self.ac_type();
        let long = match t {
            AcType::Aac => "AAC (Application Authentication Cryptogram: decline)",
            AcType::Tc => "TC (Transaction Certificate: approve)",
            AcType::Arqc => "ARQC (Authorisation Request Cryptogram: go online)",
            AcType::Rfu => "RFU cryptogram type",
        };
        let mut v = vec![format!("Cryptogram type: {long}")];
        if self.0 & 0x30 != 0 {
            v.push(format!(
                "Payment system-specific bits (b6-b5): {:X}",
                (self.0 >> 4) & 3
            ));
        }
        if self.advice_required() {
            v.push("Advice required".into());
        }
        if self.reason() != 0 {
            v.push(format!("Reason/advice code: {}", self.reason_text()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_codes() {
        assert_eq!(Cid(0x80).ac_type(), AcType::Arqc);
        assert_eq!(Cid(0x40).ac_type(), AcType::Tc);
        assert_eq!(Cid(0x00).ac_type(), AcType::Aac);
        let d = Cid(0x0A).describe();
        assert!(d[0].starts_with("Cryptogram type: AAC"));
        assert_eq!(d[1], "Advice required");
        assert_eq!(d[2], "Reason/advice code: PIN Try Limit exceeded");
    }
}
