//! Server-sent events.
//!
//! `SseParser` turns bytes, split anywhere, into events `{event, data}` as the WHATWG spec says:
//! `\n`, `\r\n` and `\r` line ends (a `\r\n` split across two reads is one line end), multi-line
//! `data:` joined with `\n`, `:` comments and unknown fields (`id`, `retry`) ignored, one leading
//! space of a value stripped, a leading byte-order mark dropped. It never panics, whatever the
//! bytes, and its memory is bounded: a line or event larger than its limit is an error instead of
//! an ever-growing buffer.

use std::mem;

/// One dispatched event. `event` is `message` when the server named none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// A line or an event grew past the parser's limit (a broken or hostile server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a server-sent event is larger than {limit} bytes")]
pub struct SseTooLarge {
    pub limit: usize,
}

/// Incremental SSE parser: `push` bytes as they arrive, get the events they complete.
#[derive(Debug)]
pub struct SseParser {
    /// The current line, not yet ended.
    line: Vec<u8>,
    /// The previous byte was `\r`: a `\n` right after it ends the same line, not another one.
    after_cr: bool,
    /// The first line was seen (a BOM is only stripped there).
    started: bool,
    event: Option<String>,
    data: String,
    /// A `data` field was seen for the event being built (`data:` with no value still counts).
    has_data: bool,
    limit: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// Far above any real event (a completion chunk is a few hundred bytes), far below memory trouble.
    pub const DEFAULT_LIMIT: usize = 4 << 20;

    pub fn new() -> SseParser {
        SseParser::with_limit(SseParser::DEFAULT_LIMIT)
    }

    /// A parser that fails once a line or an event's data exceeds `limit` bytes.
    pub fn with_limit(limit: usize) -> SseParser {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            started: false,
            event: None,
            data: String::new(),
            has_data: false,
            limit,
        }
    }

    /// Feeds the next bytes; returns the events they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseTooLarge> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if mem::take(&mut self.after_cr) && rest[0] == b'\n' {
                rest = &rest[1..];
                continue;
            }
            match memchr::memchr2(b'\n', b'\r', rest) {
                Some(end) => {
                    self.line.extend_from_slice(&rest[..end]);
                    self.after_cr = rest[end] == b'\r';
                    rest = &rest[end + 1..];
                    let line = mem::take(&mut self.line);
                    if let Some(event) = self.process_line(&line)? {
                        events.push(event);
                    }
                }
                None => {
                    self.line.extend_from_slice(rest);
                    rest = &[];
                    self.check_size()?;
                }
            }
        }
        Ok(events)
    }

    /// The stream ended. The spec drops an event not closed by a blank line; we dispatch it, so a
    /// server that omits the last blank line still delivers its final event. Providers still
    /// require their own end marker (`[DONE]`, `message_stop`), so a cut stream is still caught.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let line = mem::take(&mut self.line);
        if !line.is_empty() {
            // A non-empty line never dispatches by itself, and the size was checked when it grew.
            let _ = self.process_line(&line);
        }
        self.dispatch()
    }

    fn check_size(&self) -> Result<(), SseTooLarge> {
        if self.line.len() + self.data.len() > self.limit {
            return Err(SseTooLarge { limit: self.limit });
        }
        Ok(())
    }

    fn process_line(&mut self, mut line: &[u8]) -> Result<Option<SseEvent>, SseTooLarge> {
        if !mem::replace(&mut self.started, true) {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
                if self.data.len() > self.limit {
                    return Err(SseTooLarge { limit: self.limit });
                }
            }
            // `id` and `retry` matter for browser reconnection, which a completion never does.
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent { event: event.unwrap_or_else(|| "message".into()), data: mem::take(&mut self.data) })
    }
}

/// HTTP plumbing shared by `openai` and `anthropic`.
#[cfg(test)]
mod tests {
    use super::*;

    fn all(parser: &mut SseParser, input: &[u8]) -> Vec<SseEvent> {
        let mut events = parser.push(input).unwrap();
        events.extend(parser.finish());
        events
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent { event: event.into(), data: data.into() }
    }

    #[test]
    fn parses_events_comments_and_multiline_data() {
        let input =
            b": keep-alive\nevent: message_start\ndata: {\"a\":1}\n\ndata: one\ndata:two\ndata\n\nid: 7\nretry: 10\n\n";
        let events = all(&mut SseParser::new(), input);
        assert_eq!(events, vec![ev("message_start", "{\"a\":1}"), ev("message", "one\ntwo\n")]);
    }

    #[test]
    fn handles_crlf_cr_and_bom() {
        let input = b"\xEF\xBB\xBFdata: a\r\n\r\ndata: b\r\rdata: c\n\n";
        assert_eq!(all(&mut SseParser::new(), input), vec![ev("message", "a"), ev("message", "b"), ev("message", "c")]);
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let input =
            "\u{feff}event: x\r\ndata: héllo wörld\r\ndata:  two spaces\r\n\r\n: c\r\ndata: [DONE]\r\n\r\n".as_bytes();
        let expected = all(&mut SseParser::new(), input);
        assert_eq!(expected, vec![ev("x", "héllo wörld\n two spaces"), ev("message", "[DONE]")]);
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let mut parser = SseParser::new();
                let mut events = parser.push(&input[..i]).unwrap();
                events.extend(parser.push(&input[i..j]).unwrap());
                events.extend(parser.push(&input[j..]).unwrap());
                events.extend(parser.finish());
                assert_eq!(events, expected, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn byte_by_byte() {
        let input = b"data: 1\r\n\r\ndata: 2\n\n";
        let mut parser = SseParser::new();
        let events: Vec<_> = input.iter().flat_map(|b| parser.push(&[*b]).unwrap()).collect();
        assert_eq!(events, vec![ev("message", "1"), ev("message", "2")]);
    }

    #[test]
    fn event_name_without_data_is_dropped_and_reset() {
        let events = all(&mut SseParser::new(), b"event: ping\n\ndata: x\n\n");
        assert_eq!(events, vec![ev("message", "x")]);
    }

    #[test]
    fn unterminated_last_event_is_flushed_at_finish() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: [DONE]").unwrap().is_empty());
        assert_eq!(parser.finish(), Some(ev("message", "[DONE]")));
        assert_eq!(parser.finish(), None);
    }

    #[test]
    fn oversized_lines_and_events_are_errors() {
        let mut parser = SseParser::with_limit(16);
        assert_eq!(parser.push(&[b'x'; 17]), Err(SseTooLarge { limit: 16 }));
        let mut parser = SseParser::with_limit(16);
        assert!(parser.push(b"data: 0123456789\n").is_ok());
        assert!(parser.push(b"data: 0123456789\n").is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200 {
            let mut parser = SseParser::with_limit(64);
            for _ in 0..20 {
                let len = (seed % 13) as usize;
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        b"data: \r\n:event\xff\xfe"[(seed % 16) as usize]
                    })
                    .collect();
                if parser.push(&bytes).is_err() {
                    break;
                }
            }
            let _ = parser.finish();
        }
    }
}
