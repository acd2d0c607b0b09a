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

/// The two upper-case hex digits of every byte value.
const PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = [DIGITS[b >> 4], DIGITS[b & 0x0F]];
        b += 1;
    }
    t
};

/// Upper-case hex without separators (the project's convention for JSON and traces).
pub fn encode(bytes: &[u8]) -> String {
    // every exchange of every transaction is logged in hex: a table lookup per byte into a
    // buffer of the final size, and one UTF-8 check (of ASCII digits) at the end
    let mut out = vec![0u8; bytes.len() * 2];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[usize::from(b)]);
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_case_are_accepted() {
        assert_eq!(decode("9f 26:0A\n").unwrap(), vec![0x9F, 0x26, 0x0A]);
        assert_eq!(encode(&[0x9F, 0x0a]), "9F0A");
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert_eq!(decode(&text).unwrap(), all);
        assert_eq!(&text[..6], "000102");
        assert_eq!(&text[text.len() - 4..], "FEFF");
    }

    #[test]
    fn errors_name_the_offset() {
        let e = decode("9F 2G").unwrap_err();
        assert_eq!(e.offset, 4);
        assert_eq!(e.kind, TlvErrorKind::BadHexChar('G'));
        assert_eq!(decode("9F2").unwrap_err().kind, TlvErrorKind::OddHexLength);
    }
}
