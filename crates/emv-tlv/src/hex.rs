//! Hex text as people paste it: upper or lower case, spaces, colons, tabs and newlines
//! between digits are ignored.

use crate::error::{TlvError, TlvErrorKind};

/// Decode hex text into bytes. Whitespace and `:` are skipped; any other non-hex character
/// is an error naming its character offset.
pub fn decode(text: &str) -> Result<Vec<u8>, TlvError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<(usize, u8)> = None;
    for (offset, c) in text.char_indices() {
        if c.is_whitespace() || c == ':' {
            continue;
        }
        let nibble = c
            .to_digit(16)
            .ok_or(TlvError::new(offset, TlvErrorKind::BadHexChar(c)))? as u8;
        match high.take() {
            None => high = Some((offset, nibble)),
            Some((_, h)) => out.push((h << 4) | nibble),
        }
    }
    if let Some((offset, _)) = high {
        return Err(TlvError::new(offset, TlvErrorKind::OddHexLength));
    }
    Ok(out)
}

/// Upper-case hex without separators (the project's convention for JSON and traces).
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0F)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_case_are_accepted() {
        assert_eq!(decode("9f 26:0A\n").unwrap(), vec![0x9F, 0x26, 0x0A]);
        assert_eq!(encode(&[0x9F, 0x0a]), "9F0A");
    }

    #[test]
    fn errors_name_the_offset() {
        let e = decode("9F 2G").unwrap_err();
        assert_eq!(e.offset, 4);
        assert_eq!(e.kind, TlvErrorKind::BadHexChar('G'));
        assert_eq!(decode("9F2").unwrap_err().kind, TlvErrorKind::OddHexLength);
    }
}
