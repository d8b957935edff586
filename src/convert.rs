//! Positions at the edge: LSP positions (line + character in UTF-8 or UTF-16 code units, as
//! negotiated) to and from the byte offsets the core works with.
//!
//! Only the server layer uses this module; the core never sees an LSP position. Conversions never
//! panic: a line past the end clamps to the end of the text, a character past the end of its line
//! clamps to the line's end (as the LSP specification asks), and a character inside a multi-unit
//! character (half a surrogate pair, the middle of a UTF-8 sequence) snaps to that character's start.

/// The position encoding agreed with the client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    #[default]
    Utf16,
}

impl Encoding {
    /// Picks UTF-8 when the client offers it (no conversion needed), else UTF-16, which every client
    /// must support.
    pub fn negotiate(offered: &[String]) -> Encoding {
        if offered.iter().any(|e| e == "utf-8") { Encoding::Utf8 } else { Encoding::Utf16 }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
        }
    }
}

/// Line starts of a text, for converting between offsets and positions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

/// A position as LSP counts it: 0-based line and character in the negotiated encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinePosition {
    pub line: u32,
    pub character: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { starts, len: text.len() }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The byte offset of `position` in `text` (which this index was built from).
    pub fn offset(&self, text: &str, position: LinePosition, encoding: Encoding) -> usize {
        let line = position.line as usize;
        if line >= self.starts.len() {
            return self.len;
        }
        let start = self.starts[line];
        let end = self.starts.get(line + 1).map_or(self.len, |&next| next - 1);
        let line_text = &text[start..end.max(start)];
        let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
        let wanted = position.character as usize;
        match encoding {
            Encoding::Utf8 => {
                let mut at = wanted.min(line_text.len());
                while !line_text.is_char_boundary(at) {
                    at -= 1;
                }
                start + at
            }
            Encoding::Utf16 => {
                let mut units = 0;
                for (byte, ch) in line_text.char_indices() {
                    let next = units + ch.len_utf16();
                    if next > wanted {
                        return start + byte;
                    }
                    units = next;
                }
                start + line_text.len()
            }
        }
    }

    /// The position of byte `offset` (clamped to the text, snapped back to a char boundary).
    pub fn position(&self, text: &str, offset: usize, encoding: Encoding) -> LinePosition {
        let mut offset = offset.min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character = match encoding {
            Encoding::Utf8 => offset - start,
            Encoding::Utf16 => text[start..offset].chars().map(char::len_utf16).sum(),
        };
        LinePosition { line: line as u32, character: character as u32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str, encoding: Encoding) {
        let index = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            if text[..offset].ends_with('\r') {
                continue; // Between \r and \n: not a position LSP can express.
            }
            let position = index.position(text, offset, encoding);
            assert_eq!(index.offset(text, position, encoding), offset, "{text:?} at {offset} ({encoding:?})");
        }
    }

    #[test]
    fn roundtrips_non_ascii_text() {
        let text = "let μ = 1;\n// 😀 emoji and 漢字\ne\u{301}clair = \"x\"\r\nlast";
        roundtrip(text, Encoding::Utf8);
        roundtrip(text, Encoding::Utf16);
    }

    #[test]
    fn utf16_counts_surrogate_pairs_as_two() {
        let text = "a😀b";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 5, Encoding::Utf16), LinePosition { line: 0, character: 3 });
        assert_eq!(index.position(text, 5, Encoding::Utf8), LinePosition { line: 0, character: 5 });
        // Character 2 is the middle of the pair: snaps to the emoji's start.
        assert_eq!(index.offset(text, LinePosition { line: 0, character: 2 }, Encoding::Utf16), 1);
        assert_eq!(index.offset(text, LinePosition { line: 0, character: 3 }, Encoding::Utf16), 5);
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "ab\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, LinePosition { line: 0, character: 99 }, Encoding::Utf16), 2);
        assert_eq!(index.offset(text, LinePosition { line: 7, character: 0 }, Encoding::Utf16), 5);
        assert_eq!(index.position(text, 999, Encoding::Utf8), LinePosition { line: 1, character: 2 });
        // The middle of a UTF-8 sequence snaps back.
        let text = "μx";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, LinePosition { line: 0, character: 1 }, Encoding::Utf8), 0);
    }

    #[test]
    fn negotiation_prefers_utf8() {
        assert_eq!(Encoding::negotiate(&["utf-16".into(), "utf-8".into()]), Encoding::Utf8);
        assert_eq!(Encoding::negotiate(&["utf-32".into()]), Encoding::Utf16);
        assert_eq!(Encoding::negotiate(&[]), Encoding::Utf16);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any position in any text converts to an offset on a char boundary within the text, and
        /// back to a position without panicking, in both encodings.
        #[test]
        fn conversion_never_panics(text in "(\\PC|\r\n|\n|😀|μ|\u{301}){0,40}", line in 0u32..20, character in 0u32..200) {
            let index = LineIndex::new(&text);
            for encoding in [Encoding::Utf8, Encoding::Utf16] {
                let offset = index.offset(&text, LinePosition { line, character }, encoding);
                prop_assert!(offset <= text.len());
                prop_assert!(text.is_char_boundary(offset));
                let position = index.position(&text, offset, encoding);
                prop_assert!(position.line as usize <= index.line_count());
                let _ = index.position(&text, offset + character as usize, encoding);
            }
        }
    }
}
