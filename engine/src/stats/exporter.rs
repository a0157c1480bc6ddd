//! A tiny HTTP/1.x server for the statistics (DESIGN.md, "Contract:
//! metrics"): `GET /metrics` gives the Prometheus text, `GET /stats` the
//! stats JSON; anything else a 404 (405 for other methods, 400 for junk).
//!
//! One thread on a std [`TcpListener`], woken by `mio` (the listening
//! socket or a waker for shutdown), so an idle exporter uses no CPU.
//! Connections are served one at a time with `Connection: close`, which is
//! all a scraper needs. Hostile clients are bounded: at most
//! [`ExporterConfig::max_request`] bytes of request are read, each read
//! and write has a timeout, and a whole request must arrive within twice
//! the timeout. Only loopback addresses are accepted unless
//! [`ExporterConfig::allow_non_loopback`] is set.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::prometheus;
use super::publish::StatsReader;
use super::snapshot::StatsSnapshot;

/// Where an exporter gets its numbers.
pub trait StatsSource: Send + Sync + 'static {
    /// The stats JSON object to serve at `/stats`.
    fn stats(&self) -> StatsSnapshot;

    /// The Prometheus text to serve at `/metrics`.
    fn metrics(&self) -> String {
        prometheus::render(&self.stats())
    }
}

impl StatsSource for StatsReader {
    fn stats(&self) -> StatsSnapshot {
        self.snapshot()
    }
}

impl<F> StatsSource for F
where
    F: Fn() -> StatsSnapshot + Send + Sync + 'static,
{
    fn stats(&self) -> StatsSnapshot {
        self()
    }
}

/// How an exporter listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExporterConfig {
    /// The address to bind (port 0 picks a free port; see
    /// [`ExporterHandle::local_addr`]).
    pub addr: SocketAddr,
    /// Allow an address that is not loopback (metrics leave the host).
    pub allow_non_loopback: bool,
    /// Timeout of each read and write on a connection.
    pub timeout: Duration,
    /// Most bytes of request read (request line and headers).
    pub max_request: usize,
}

impl ExporterConfig {
    /// Loopback only, 2 s timeouts, 8 KiB of request.
    pub fn new(addr: SocketAddr) -> Self {
        ExporterConfig {
            addr,
            allow_non_loopback: false,
            timeout: Duration::from_secs(2),
            max_request: 8 * 1024,
        }
    }
}

/// Starts exporters.
#[derive(Debug)]
pub struct Exporter;

impl Exporter {
    /// Serves `source` on `addr` (loopback only) from a new thread.
    pub fn spawn(addr: SocketAddr, source: impl StatsSource) -> io::Result<ExporterHandle> {
        Self::spawn_with(ExporterConfig::new(addr), source)
    }

    /// Serves `source` as `config` says from a new thread. Fails when the
    /// address is not loopback and that was not allowed
    /// ([`io::ErrorKind::PermissionDenied`]), or when binding fails.
    pub fn spawn_with(
        config: ExporterConfig,
        source: impl StatsSource,
    ) -> io::Result<ExporterHandle> {
        // A zero timeout would be refused by the socket: make it tiny instead.
        let config = ExporterConfig {
            timeout: config.timeout.max(Duration::from_millis(1)),
            ..config
        };
        if !config.addr.ip().is_loopback() && !config.allow_non_loopback {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "refusing to export statistics on {}: not a loopback address \
                     (allow_non_loopback is off)",
                    config.addr
                ),
            ));
        }
        let listener = TcpListener::bind(config.addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&listener.as_raw_fd()),
            LISTENER,
            Interest::READABLE,
        )?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let server = Server {
            listener,
            poll,
            config,
            source,
            stop: Arc::clone(&stop),
            served: Arc::clone(&served),
        };
        let thread = std::thread::Builder::new()
            .name("strata-exporter".into())
            .spawn(move || server.run())?;
        Ok(ExporterHandle {
            local_addr,
            stop,
            waker,
            served,
            thread: Some(thread),
        })
    }
}

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);

/// A running exporter; [`shutdown`](Self::shutdown) (or dropping it) stops
/// the thread.
#[derive(Debug)]
pub struct ExporterHandle {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    served: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl ExporterHandle {
    /// The address the exporter listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Requests answered so far (any status).
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Stops the thread and waits for it (at most one connection's
    /// timeouts if a client is being served).
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        // Release: pairs with the server's Acquire load after it wakes.
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ExporterHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

struct Server<S> {
    listener: TcpListener,
    poll: Poll,
    config: ExporterConfig,
    source: S,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
}

impl<S: StatsSource> Server<S> {
    fn run(mut self) {
        let mut events = Events::with_capacity(8);
        // After an accept error (e.g. out of file descriptors) poll with a
        // timeout: readiness is edge-triggered and pending connections
        // would not wake us again.
        let mut retry: Option<Duration> = None;
        loop {
            if let Err(e) = self.poll.poll(&mut events, retry) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            retry = None;
            loop {
                if self.stop.load(Ordering::Acquire) {
                    return;
                }
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        // A bug in a source must not take the exporter down.
                        let _ = catch_unwind(AssertUnwindSafe(|| self.serve(stream)));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                        ) => {}
                    Err(_) => {
                        retry = Some(Duration::from_millis(100));
                        break;
                    }
                }
            }
        }
    }

    fn serve(&self, mut stream: TcpStream) {
        if stream.set_nonblocking(false).is_err()
            || stream.set_read_timeout(Some(self.config.timeout)).is_err()
            || stream.set_write_timeout(Some(self.config.timeout)).is_err()
        {
            return;
        }
        let response = match read_request(&mut stream, &self.config) {
            Ok(request) => self.respond(&request),
            Err(RequestError::TooLarge) => Response::text(431, "request too large\n"),
            Err(RequestError::Malformed) => Response::text(400, "bad request\n"),
            Err(RequestError::Closed) => return,
        };
        self.served.fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(&response.head);
        if !response.head_only {
            let _ = stream.write_all(&response.body);
        }
        let _ = stream.flush();
        let _ = stream.shutdown(Shutdown::Write);
    }

    fn respond(&self, request: &Request) -> Response {
        let head_only = match request.method.as_str() {
            "GET" => false,
            "HEAD" => true,
            _ => return Response::text(405, "only GET and HEAD\n"),
        };
        let path = request.target.split(['?', '#']).next().unwrap_or_default();
        let mut response = match path {
            "/metrics" => Response::new(200, prometheus::CONTENT_TYPE, self.source.metrics()),
            "/stats" => {
                let mut json = self.source.stats().to_json_pretty();
                json.push('\n');
                Response::new(200, "application/json", json)
            }
            _ => Response::text(404, "not found: try /metrics or /stats\n"),
        };
        response.head_only = head_only;
        response
    }
}

#[derive(Debug)]
struct Request {
    method: String,
    target: String,
}

#[derive(Debug, PartialEq, Eq)]
enum RequestError {
    /// The request did not fit in `max_request` bytes.
    TooLarge,
    /// Not an HTTP request line.
    Malformed,
    /// The client went away or timed out before a request line.
    Closed,
}

/// Reads until the end of the headers (or of the request line when the
/// client closes early), within `max_request` bytes and the deadline.
fn read_request(stream: &mut TcpStream, config: &ExporterConfig) -> Result<Request, RequestError> {
    let deadline = Instant::now() + config.timeout * 2;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let mut eof = false;
    while !headers_done(&buf) {
        if buf.len() >= config.max_request {
            return Err(RequestError::TooLarge);
        }
        if Instant::now() >= deadline {
            break;
        }
        let want = chunk.len().min(config.max_request - buf.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    parse_request(&buf, eof)
}

/// Parses what [`read_request`] read: the request line of a complete head,
/// or of a head cut short by the client closing (`eof`).
fn parse_request(buf: &[u8], eof: bool) -> Result<Request, RequestError> {
    let complete = headers_done(buf);
    let line_end = buf.iter().position(|b| *b == b'\n');
    let Some(line_end) = line_end else {
        return Err(if buf.is_empty() || !eof {
            RequestError::Closed
        } else {
            RequestError::Malformed
        });
    };
    if !complete && !eof {
        // Timed out in the headers: a slow client, not worth an answer.
        return Err(RequestError::Closed);
    }
    let line = std::str::from_utf8(&buf[..line_end]).map_err(|_| RequestError::Malformed)?;
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed);
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase());
    if !token(method) || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(RequestError::Malformed);
    }
    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
    })
}

fn headers_done(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n")
}

struct Response {
    head: Vec<u8>,
    body: Vec<u8>,
    head_only: bool,
}

impl Response {
    fn new(status: u16, content_type: &str, body: String) -> Self {
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            _ => "Error",
        };
        let allow = if status == 405 {
            "Allow: GET, HEAD\r\n"
        } else {
            ""
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n{allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            body.len()
        );
        Response {
            head: head.into_bytes(),
            body: body.into_bytes(),
            head_only: false,
        }
    }

    fn text(status: u16, body: &str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::prometheus::tests::parse;
    use crate::stats::snapshot::tests::sample;
    use crate::stats::Counters;

    fn get(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, head.to_owned(), body.to_owned())
    }

    fn loopback() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    #[test]
    fn serves_metrics_stats_and_404_then_shuts_down() {
        let reader = StatsReader::new();
        let mut p = reader.publisher(0);
        let mut c = Counters::new();
        c.udp.recv_n(42);
        p.publish(sample_with(&c), None);
        let handle = Exporter::spawn(loopback(), reader).unwrap();
        let addr = handle.local_addr();

        let (status, head, body) = get(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status, 200, "{head}");
        assert!(
            head.contains("Content-Type: text/plain; version=0.0.4"),
            "{head}"
        );
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        let lines = parse(&body);
        assert!(lines.iter().any(|l| l.name == "strata_protocol_recv_total"
            && l.labels.get("proto").map(String::as_str) == Some("udp")
            && l.value == 42.0));

        let (status, head, body) = get(addr, b"GET /stats?x=1 HTTP/1.0\r\n\r\n");
        assert_eq!(status, 200, "{head}");
        assert!(head.contains("Content-Type: application/json"), "{head}");
        let snap = StatsSnapshot::from_json(&body).unwrap();
        assert_eq!(snap.protocols.udp.recv, 42);
        assert_eq!(snap.interfaces[0].name, "eth0");

        let (status, _, body) = get(addr, b"HEAD /stats HTTP/1.1\r\n\r\n");
        assert_eq!((status, body.as_str()), (200, ""));
        assert_eq!(get(addr, b"GET / HTTP/1.1\r\n\r\n").0, 404);
        assert_eq!(get(addr, b"GET /metricsx HTTP/1.1\r\n\r\n").0, 404);
        assert_eq!(get(addr, b"POST /metrics HTTP/1.1\r\n\r\n").0, 405);
        assert_eq!(handle.served(), 6);

        handle.shutdown();
        assert!(
            TcpStream::connect(addr).is_err(),
            "nothing listens after shutdown"
        );
    }

    fn sample_with(c: &Counters) -> StatsSnapshot {
        let mut s = sample();
        s.protocols = c.protocols();
        s
    }

    #[test]
    fn junk_and_hostile_clients_are_bounded() {
        let config = ExporterConfig {
            timeout: Duration::from_millis(300),
            ..ExporterConfig::new(loopback())
        };
        let handle = Exporter::spawn_with(config, sample).unwrap();
        let addr = handle.local_addr();
        // Binary junk, then close.
        assert_eq!(
            get(addr, &[0, 0xff, 0x13, b'\n', 0x80, b'\n', b'\n']).0,
            400
        );
        assert_eq!(get(addr, b"\r\n\r\n").0, 400);
        assert_eq!(get(addr, b"GET\r\n\r\n").0, 400);
        assert_eq!(get(addr, b"GET /metrics HTTP/9.9\r\n\r\n").0, 400);
        assert_eq!(get(addr, b"get /metrics HTTP/1.1\r\n\r\n").0, 400);
        assert_eq!(get(addr, "GET /\u{e9} HTTP/1.1\r\n\r\n".as_bytes()).0, 404);
        // A request that never ends: at most 8 KiB read, then 431.
        {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut sent = 0;
            let junk = [b'A'; 1024];
            while sent < 64 * 1024 {
                if s.write_all(&junk).is_err() {
                    break;
                }
                sent += junk.len();
                let mut peek = [0u8; 64];
                s.set_nonblocking(true).unwrap();
                let got = s.read(&mut peek);
                s.set_nonblocking(false).unwrap();
                if let Ok(n) = got {
                    if n > 0 {
                        assert!(peek.starts_with(b"HTTP/1.1 431"));
                        break;
                    }
                }
            }
        }
        // A client that says nothing is dropped after the timeout and the
        // next one is served.
        let silent = TcpStream::connect(addr).unwrap();
        let partial = {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /metr").unwrap();
            s
        };
        let started = Instant::now();
        assert_eq!(get(addr, b"GET /stats HTTP/1.1\r\n\r\n").0, 200);
        assert!(started.elapsed() < Duration::from_secs(5));
        drop((silent, partial));
        // A request line without the blank line, then EOF, is still served.
        {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.0\r\n").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        }
        handle.shutdown();
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            eof: bool,
        ) {
            if let Ok(req) = parse_request(&bytes, eof) {
                proptest::prop_assert!(req.target.starts_with('/'));
                proptest::prop_assert!(!req.method.is_empty());
            }
        }

        #[test]
        fn request_lines_round_trip(
            method in "[A-Z]{1,8}",
            target in "/[a-zA-Z0-9/?=&._-]{0,40}",
        ) {
            let raw = format!("{method} {target} HTTP/1.1\r\nHost: h\r\n\r\n");
            let req = parse_request(raw.as_bytes(), false).unwrap();
            proptest::prop_assert_eq!(req.method, method);
            proptest::prop_assert_eq!(req.target, target);
        }
    }

    #[test]
    fn non_loopback_addresses_need_consent() {
        let err = Exporter::spawn("0.0.0.0:0".parse().unwrap(), sample).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("allow_non_loopback"));
        let err = Exporter::spawn("192.0.2.1:9100".parse().unwrap(), sample).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        // Dropping a handle stops it too.
        let handle = Exporter::spawn(loopback(), sample).unwrap();
        let addr = handle.local_addr();
        drop(handle);
        assert!(TcpStream::connect(addr).is_err());
    }
}
