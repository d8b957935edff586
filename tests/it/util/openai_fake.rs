//! A fake OpenAI-compatible server on loopback, speaking the real `/v1/chat/completions` wire format
//! (non-streaming JSON, or SSE chunks when the request asks to stream). Tests script replies with a
//! closure and read back every request it received — the stand-in for a remote paid API.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the fake answers: the assistant's text (or an HTTP error status with a body).
pub enum Reply {
    Text(String),
    Status(u16, String),
}

type Responder = dyn Fn(&Value) -> Reply + Send + Sync;

pub struct FakeOpenAi {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Value>>>,
    responder: Arc<Mutex<Arc<Responder>>>,
}

impl FakeOpenAi {
    pub fn start(responder: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> FakeOpenAi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let responder: Arc<Mutex<Arc<Responder>>> = Arc::new(Mutex::new(Arc::new(responder)));
        let (reqs, resp) = (requests.clone(), responder.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (reqs, resp) = (reqs.clone(), resp.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &reqs, &resp);
                });
            }
        });
        FakeOpenAi { port, requests, responder }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn set_responder(&self, responder: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        *self.responder.lock().unwrap() = Arc::new(responder);
    }

    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The user messages of every request, joined (what left the machine).
    pub fn all_prompt_text(&self) -> String {
        self.requests().iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n")
    }

    /// A `reverie.toml` `[llm]` section pointing at this server.
    pub fn llm_config(&self) -> String {
        format!(
            "[llm]\nprovider = \"openai\"\nmodel = \"fake-model\"\nbase_url = \"{}\"\nmax_retries = 0\n",
            self.base_url()
        )
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Value>>, responder: &Mutex<Arc<Responder>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut length = 0usize;
        let mut first = String::new();
        if reader.read_line(&mut first)? == 0 {
            return Ok(());
        }
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        requests.lock().unwrap().push(request.clone());
        let responder = responder.lock().unwrap().clone();
        let mut out = stream.try_clone()?;
        match responder(&request) {
            Reply::Status(status, text) => {
                write!(
                    out,
                    "HTTP/1.1 {status} Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )?;
            }
            Reply::Text(text) => {
                let prompt: usize = request["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| m["content"].as_str().unwrap_or("").len() / 4)
                    .sum();
                let completion = text.len() / 4 + 1;
                if request["stream"] == true {
                    let mut events = String::new();
                    let mut pieces = text.as_str();
                    while !pieces.is_empty() {
                        let mut cut = pieces.len().min(12);
                        while !pieces.is_char_boundary(cut) {
                            cut += 1;
                        }
                        let (piece, rest) = pieces.split_at(cut);
                        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "model": "fake-model", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
                        events.push_str(&format!("data: {chunk}\n\n"));
                        pieces = rest;
                    }
                    let last = json!({"id": "c", "object": "chat.completion.chunk", "model": "fake-model", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
                    events.push_str(&format!("data: {last}\n\n"));
                    let usage = json!({"id": "c", "object": "chat.completion.chunk", "model": "fake-model", "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}});
                    events.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
                    write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n{events}",
                        events.len()
                    )?;
                } else {
                    let body = json!({
                        "id": "chatcmpl-fake", "object": "chat.completion", "model": "fake-model",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
                    })
                    .to_string();
                    write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )?;
                }
            }
        }
        out.flush()?;
    }
}

/// The user prompt of a request.
pub fn prompt_of(request: &Value) -> String {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which note kind and subject a sleep-time request is for, read from its prompt.
pub fn job_of(request: &Value) -> (String, String) {
    let prompt = prompt_of(request);
    let kind = if prompt.starts_with("Summarize this file") {
        "summary"
    } else if prompt.starts_with("Write a debugging playbook") {
        "playbook"
    } else if prompt.starts_with("Predict the questions") {
        "questions"
    } else if prompt.starts_with("Summarize this directory") {
        "module"
    } else if prompt.starts_with("Write an architecture overview") {
        "overview"
    } else {
        "other"
    };
    let subject = prompt
        .lines()
        .find_map(|l| l.strip_prefix("File: ").or_else(|| l.strip_prefix("Directory: ")))
        .map(|s| s.split(" (").next().unwrap_or(s).to_string())
        .unwrap_or_default();
    (kind.to_string(), subject)
}

/// A valid note for the request's kind, naming the first definition listed in the prompt.
pub fn valid_note(request: &Value) -> String {
    let prompt = prompt_of(request);
    let symbol = prompt
        .lines()
        .find_map(|l| l.trim().strip_prefix('L').and_then(|rest| rest.split_once(' ')).map(|(_, sig)| sig.to_string()))
        .and_then(|sig| {
            sig.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty() && !["def", "class", "fn", "pub", "async", "function"].contains(w))
                .map(str::to_string)
                .next()
        })
        .unwrap_or_else(|| "main".to_string());
    let (kind, subject) = job_of(request);
    let body = match kind.as_str() {
        "summary" => {
            json!({"purpose": format!("Purpose of {subject}"), "key_symbols": [{"name": symbol, "role": "the main thing"}], "invariants": ["keeps things"], "used_by": "callers"})
        }
        "playbook" => {
            json!({"failure_modes": [{"symptom": "it fails", "cause": "bad input", "where": symbol}], "breakpoints": [symbol], "tests": []})
        }
        "questions" => {
            json!({"questions": [{"question": format!("What does {symbol} do?"), "answer": format!("{symbol} does its job in {subject}."), "symbols": [symbol]}]})
        }
        "module" => {
            json!({"purpose": format!("Directory {subject}"), "components": [{"name": subject, "role": "part"}]})
        }
        "overview" => {
            json!({"summary": "The whole workspace", "components": [], "data_flow": "in and out", "entry_points": [], "start_reading": []})
        }
        _ => json!({"answer": "hello"}),
    };
    body.to_string()
}
