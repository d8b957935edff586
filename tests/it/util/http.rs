//! A loopback HTTP/1.1 server for the LLM wire tests, on std threads and sockets.
//!
//! It binds 127.0.0.1 on a random port, reads each request (headers and a `Content-Length` body),
//! asks the test's script for the reply to request number `n`, and plays it back: status, headers,
//! then steps — send bytes, wait, close early, or hold the connection open until the client goes
//! away. Every request is recorded; what happens on each connection is reported as `Event`s on a
//! channel the test awaits with a timeout, so tests synchronise on events, never on sleeps. One
//! request per connection (`Connection: close`), so each request is its own connection to observe.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// How the body's end is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` of all `Send` steps together (closing early leaves it short).
    Length,
    /// `Transfer-Encoding: chunked`, one chunk per `Send` (closing early omits the last chunk).
    Chunked,
    /// No length: the body ends when the connection closes, so an early close looks like a clean end.
    UntilClose,
}

#[derive(Clone, Debug)]
pub enum Step {
    Send(Vec<u8>),
    Wait(Duration),
    /// Close now, whatever the framing promised.
    Close,
    /// Keep the connection open, sending nothing, until the client closes it.
    Hold,
}

/// A scripted response.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    pub steps: Vec<Step>,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), framing: Framing::Length, steps: Vec::new() }
    }

    /// A whole JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::new(status).header("content-type", "application/json").send(body.to_string())
    }

    /// An event stream; add events with `send`.
    pub fn sse() -> Reply {
        Reply::new(200).header("content-type", "text/event-stream").framing(Framing::Chunked)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn framing(mut self, framing: Framing) -> Reply {
        self.framing = framing;
        self
    }

    pub fn send(mut self, bytes: impl Into<Vec<u8>>) -> Reply {
        self.steps.push(Step::Send(bytes.into()));
        self
    }

    pub fn wait(mut self, duration: Duration) -> Reply {
        self.steps.push(Step::Wait(duration));
        self
    }

    pub fn close(mut self) -> Reply {
        self.steps.push(Step::Close);
        self
    }

    pub fn hold(mut self) -> Reply {
        self.steps.push(Step::Hold);
        self
    }
}

/// What happened on a connection; `usize` is the request's number (0 for the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Request(usize),
    /// The reply was played to its end and the connection closed by the server.
    Done(usize),
    /// The client closed the connection (or reset it) before the reply was over.
    ClientGone(usize),
}

/// For each request: when it was read, and when the server was about to send its last bytes (the
/// last `Send` step), so a client cannot have finished before `end`.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub start: Instant,
    pub end: Option<Instant>,
}

type Script = dyn Fn(usize, &Request) -> Reply + Send + Sync;

struct Shared {
    script: Box<Script>,
    requests: Mutex<Vec<Request>>,
    spans: Mutex<Vec<Span>>,
    events: mpsc::UnboundedSender<Event>,
    stop: AtomicBool,
}

pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    acceptor: Option<JoinHandle<()>>,
}

/// How long a connection thread waits on a silent client before giving up (tests end far sooner).
const IDLE_LIMIT: Duration = Duration::from_secs(20);

impl Server {
    /// Starts serving; `script(n, request)` gives the reply to the `n`th request.
    pub fn start(script: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            script: Box::new(script),
            requests: Mutex::new(Vec::new()),
            spans: Mutex::new(Vec::new()),
            events: tx,
            stop: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = accept_shared.clone();
                std::thread::spawn(move || serve(&shared, stream));
            }
        });
        Server { addr, shared, events: tokio::sync::Mutex::new(rx), acceptor: Some(acceptor) }
    }

    /// Always answers with `reply`.
    pub fn always(reply: Reply) -> Server {
        Server::start(move |_, _| reply.clone())
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn spans(&self) -> Vec<Span> {
        self.shared.spans.lock().unwrap().clone()
    }

    /// Waits (up to `timeout`) for an event matching `want`, skipping others.
    pub async fn wait_for(&self, timeout: Duration, want: impl Fn(&Event) -> bool) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut events = self.events.lock().await;
        loop {
            let event = tokio::time::timeout_at(deadline, events.recv()).await.ok().flatten()?;
            if want(&event) {
                return Some(event);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_LIMIT));
    let Some(request) = read_request(&mut stream) else { return };
    let index = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(request.clone());
        shared.spans.lock().unwrap().push(Span { start: Instant::now(), end: None });
        requests.len() - 1
    };
    let _ = shared.events.send(Event::Request(index));
    let reply = (shared.script)(index, &request);
    let event = match play(shared, index, &reply, &mut stream) {
        Ok(true) => {
            let _ = stream.shutdown(Shutdown::Write);
            Event::Done(index)
        }
        Ok(false) => match wait_for_close(shared, &mut stream) {
            true => Event::ClientGone(index),
            false => Event::Done(index),
        },
        Err(_) => Event::ClientGone(index),
    };
    let _ = shared.events.send(event);
}

/// Plays the reply; `Ok(true)` when it ran to its end, `Ok(false)` when it stopped at `Hold`.
fn play(shared: &Shared, index: usize, reply: &Reply, stream: &mut TcpStream) -> std::io::Result<bool> {
    let mark_end = || {
        if let Some(span) = shared.spans.lock().unwrap().get_mut(index) {
            span.end.get_or_insert_with(Instant::now);
        }
    };
    let mut head = format!("HTTP/1.1 {} {}\r\nconnection: close\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match reply.framing {
        Framing::Length => {
            let length: usize = reply.steps.iter().map(|s| if let Step::Send(b) = s { b.len() } else { 0 }).sum();
            head.push_str(&format!("content-length: {length}\r\n"));
        }
        Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
        Framing::UntilClose => {}
    }
    head.push_str("\r\n");
    // The client may finish as soon as it has the last bytes it needs (an SSE client stops at
    // `[DONE]`, before the chunked terminator), so the end is marked before the last `Send`.
    let last_send = reply.steps.iter().rposition(|s| matches!(s, Step::Send(_)));
    if last_send.is_none() {
        mark_end();
    }
    stream.write_all(head.as_bytes())?;
    for (i, step) in reply.steps.iter().enumerate() {
        match step {
            Step::Send(bytes) => {
                if Some(i) == last_send {
                    mark_end();
                }
                if reply.framing == Framing::Chunked {
                    if bytes.is_empty() {
                        continue; // an empty chunk would end the body
                    }
                    stream.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())?;
                    stream.write_all(bytes)?;
                    stream.write_all(b"\r\n")?;
                } else {
                    stream.write_all(bytes)?;
                }
            }
            Step::Wait(duration) => std::thread::sleep(*duration),
            Step::Close => {
                mark_end();
                return Ok(true);
            }
            Step::Hold => return Ok(false),
        }
    }
    mark_end();
    if reply.framing == Framing::Chunked {
        stream.write_all(b"0\r\n\r\n")?;
    }
    Ok(true)
}

/// Reads until the client closes (`true`) or the server stops or the idle limit passes (`false`).
fn wait_for_close(shared: &Shared, stream: &mut TcpStream) -> bool {
    let started = Instant::now();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = [0u8; 1024];
    while started.elapsed() < IDLE_LIMIT && !shared.stop.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return true,
        }
    }
    false
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None; // e.g. the wake-up connection from `Drop`
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    body.truncate(length);
    Some(Request { method, path, headers, body })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
