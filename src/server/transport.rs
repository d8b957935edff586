//! A guard in front of the JSON-RPC framing: tower-lsp-server stops reading (and so the server exits)
//! after the first frame it cannot decode. This task reads the client's bytes first, passes every
//! well-formed frame through unchanged, and replaces a malformed one — a bad header, a body that is
//! not JSON, a frame over `MAX_FRAME_BYTES` — with a `reverie/malformed` request (id null), which the
//! server answers with a JSON-RPC error naming the problem. Then it re-synchronizes on the next
//! `Content-Length` header. A request (not a notification) for a `$/` method, which tower-lsp-server
//! would silently drop, is renamed so it gets a MethodNotFound error; an empty `params` of a request
//! that takes none is dropped (`ext::accept_empty_params`). The server never crashes or
//! hangs on bad input, and every request gets a response.

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Larger frames are refused (their bytes are read and dropped).
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;
/// The method a malformed frame is turned into.
pub const MALFORMED_METHOD: &str = "reverie/malformed";

/// Copies frames from `input` to `output`, replacing malformed ones, until `input` ends.
pub async fn guard_frames(input: impl AsyncRead + Unpin, mut output: impl AsyncWrite + Unpin) {
    let mut reader = BufReader::new(input);
    loop {
        let mut content_length: Option<Result<usize, String>> = None;
        let mut saw_header = false;
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                if saw_header {
                    break;
                }
                continue; // Blank lines between frames.
            }
            saw_header = true;
            // After garbage without a newline, the next real header may be glued to its end.
            let text = match text.to_ascii_lowercase().find("content-length:") {
                Some(at) if at > 0 => &text[at..],
                _ => text,
            };
            if let Some((name, value)) = text.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    content_length =
                        Some(value.trim().parse().map_err(|_| format!("bad Content-Length `{}`", value.trim())));
                }
            } else {
                content_length = Some(Err(format!("a header line without a colon: `{}`", truncate(text))));
            }
        }
        let problem = match content_length {
            None => Some("a frame without a Content-Length header".to_string()),
            Some(Err(problem)) => Some(problem),
            Some(Ok(length)) if length > MAX_FRAME_BYTES => {
                let mut remaining = length as u64;
                let mut sink = tokio::io::sink();
                let copied = tokio::io::copy(&mut (&mut reader).take(remaining), &mut sink).await.unwrap_or(0);
                remaining -= copied;
                if remaining > 0 {
                    return;
                }
                Some(format!("a frame of {length} bytes, over the limit of {MAX_FRAME_BYTES}"))
            }
            Some(Ok(length)) => {
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).await.is_err() {
                    return; // The stream ended mid-frame: the client is gone.
                }
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(mut value) if value.is_object() => {
                        // tower-lsp-server never answers a *request* whose method starts with `$/`
                        // (it treats them as optional notifications), which would leave the client
                        // waiting forever; rename it so it gets a MethodNotFound error instead.
                        let dollar_request =
                            value.get("id").is_some() && value["method"].as_str().is_some_and(|m| m.starts_with("$/"));
                        // Clients differ in how they say "no parameters" (`{}`, `[]`, `null`).
                        let emptied = super::ext::accept_empty_params(&mut value);
                        let written = if dollar_request {
                            let method = value["method"].as_str().unwrap_or_default().to_string();
                            value["method"] = serde_json::Value::String(format!("reverie/unsupported{}", &method[1..]));
                            write_frame(&mut output, value.to_string().as_bytes()).await
                        } else if emptied {
                            write_frame(&mut output, value.to_string().as_bytes()).await
                        } else {
                            write_frame(&mut output, &body).await
                        };
                        if written.is_err() {
                            return;
                        }
                        None
                    }
                    Ok(_) => {
                        Some("a body that is not a JSON-RPC object (batches are not supported by LSP)".to_string())
                    }
                    Err(err) => Some(format!("a body that is not valid JSON ({err})")),
                }
            }
        };
        if let Some(problem) = problem {
            tracing::warn!("malformed message from the client: {problem}");
            let request =
                json!({"jsonrpc": "2.0", "id": null, "method": MALFORMED_METHOD, "params": {"problem": problem}});
            if write_frame(&mut output, request.to_string().as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

async fn write_frame(output: &mut (impl AsyncWrite + Unpin), body: &[u8]) -> std::io::Result<()> {
    output.write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes()).await?;
    output.write_all(body).await?;
    output.flush().await
}

fn truncate(text: &str) -> String {
    text.chars().take(60).collect()
}
