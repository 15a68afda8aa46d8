//! The proxy's HTTP/1.1 side: reading request and response heads, forwarding bodies framed by
//! `Content-Length`, chunks or the connection's end, and applying a rule's fault on the way.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::{Action, Req, State};

/// An HTTP message head: the first line and the headers.
struct Head {
    line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.parse().ok())
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.line);
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }

    fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }
}

/// Reads a head; `None` at a clean end of the connection.
async fn read_head(r: &mut BufReader<OwnedReadHalf>) -> Option<Head> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await.ok()? == 0 {
            return None;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.to_string(), v.trim().to_string()));
    }
    Some(Head {
        line: line.trim_end_matches(['\r', '\n']).to_string(),
        headers,
    })
}

/// Where the bytes of one body go, with the faults that apply to it.
struct Sink<'a> {
    to: &'a mut OwnedWriteHalf,
    state: &'a State,
    upstream: bool,
    /// Body bytes passed so far.
    offset: u64,
    cut_after: Option<u64>,
    stall_after: Option<u64>,
    flip_at: Option<u64>,
}

/// Why forwarding stopped early.
#[derive(Debug)]
enum Stop {
    /// The connection must be closed (a fault, or an I/O error).
    Cut,
    /// The body stalls: hold the connection until the client gives up.
    Stall,
}

impl Sink<'_> {
    /// Writes raw bytes (heads, chunk framing), counting them and applying the rate.
    async fn raw(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let (count, faults) = (
            if self.upstream {
                &self.state.up
            } else {
                &self.state.down
            },
            &self.state.faults,
        );
        let total = count.fetch_add(bytes.len() as u64, Ordering::SeqCst) + bytes.len() as u64;
        let limit = faults.reset_after_up.load(Ordering::SeqCst);
        if self.upstream
            && limit > 0
            && total > limit
            && faults
                .reset_after_up
                .compare_exchange(limit, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            faults.fired.store(true, Ordering::SeqCst);
            return Err(Stop::Cut);
        }
        let rate = faults.rate.load(Ordering::SeqCst);
        if rate > 0 {
            tokio::time::sleep(Duration::from_secs_f64(bytes.len() as f64 / rate as f64)).await;
        }
        self.to.write_all(bytes).await.map_err(|_| Stop::Cut)
    }

    /// Writes body bytes, applying the body faults at their offsets.
    async fn body(&mut self, mut bytes: &[u8]) -> Result<(), Stop> {
        while !bytes.is_empty() {
            let limits = [
                self.cut_after,
                self.stall_after,
                self.flip_at.map(|f| f + 1),
            ];
            let room = limits
                .iter()
                .flatten()
                .filter(|&&l| l > self.offset)
                .map(|l| l - self.offset)
                .min()
                .unwrap_or(u64::MAX);
            let n = (bytes.len() as u64).min(room) as usize;
            let mut chunk = bytes[..n].to_vec();
            if let Some(at) = self
                .flip_at
                .filter(|&at| at >= self.offset && at < self.offset + n as u64)
            {
                chunk[(at - self.offset) as usize] ^= 0xff;
            }
            self.raw(&chunk).await?;
            self.offset += n as u64;
            bytes = &bytes[n..];
            if self.cut_after.is_some_and(|c| self.offset >= c) {
                return Err(Stop::Cut);
            }
            if self.stall_after.is_some_and(|s| self.offset >= s) {
                let _ = self.to.flush().await;
                return Err(Stop::Stall);
            }
        }
        Ok(())
    }
}

/// How a body is delimited.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Copies one body from `from` into `sink`, re-sending the chunk framing unchanged.
async fn pump_body(
    from: &mut BufReader<OwnedReadHalf>,
    sink: &mut Sink<'_>,
    framing: &Framing,
) -> Result<(), Stop> {
    let mut buf = vec![0u8; 64 * 1024];
    match framing {
        Framing::None => Ok(()),
        Framing::Length(n) => {
            let mut left = *n;
            while left > 0 {
                let want = (buf.len() as u64).min(left) as usize;
                let got = from.read(&mut buf[..want]).await.map_err(|_| Stop::Cut)?;
                if got == 0 {
                    return Err(Stop::Cut);
                }
                sink.body(&buf[..got]).await?;
                left -= got as u64;
            }
            Ok(())
        }
        Framing::UntilClose => loop {
            let got = from.read(&mut buf).await.map_err(|_| Stop::Cut)?;
            if got == 0 {
                return Ok(());
            }
            sink.body(&buf[..got]).await?;
        },
        Framing::Chunked => loop {
            let mut size_line = String::new();
            if from
                .read_line(&mut size_line)
                .await
                .map_err(|_| Stop::Cut)?
                == 0
            {
                return Err(Stop::Cut);
            }
            sink.raw(size_line.as_bytes()).await?;
            let size =
                u64::from_str_radix(size_line.trim().split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| Stop::Cut)?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut t = String::new();
                    if from.read_line(&mut t).await.map_err(|_| Stop::Cut)? == 0 {
                        return Err(Stop::Cut);
                    }
                    sink.raw(t.as_bytes()).await?;
                    if t.trim().is_empty() {
                        return Ok(());
                    }
                }
            }
            Box::pin(pump_body(from, sink, &Framing::Length(size))).await?;
            let mut crlf = [0u8; 2];
            from.read_exact(&mut crlf).await.map_err(|_| Stop::Cut)?;
            sink.raw(&crlf).await?;
        },
    }
}

/// Reads a whole body into memory (for rewriting small answers).
async fn read_body(from: &mut BufReader<OwnedReadHalf>, framing: &Framing) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            out.resize(*n as usize, 0);
            from.read_exact(&mut out).await.ok()?;
        }
        Framing::UntilClose => {
            from.read_to_end(&mut out).await.ok()?;
        }
        Framing::Chunked => loop {
            let mut size_line = String::new();
            from.read_line(&mut size_line).await.ok()?;
            let size =
                usize::from_str_radix(size_line.trim().split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                loop {
                    let mut t = String::new();
                    if from.read_line(&mut t).await.ok()? == 0 || t.trim().is_empty() {
                        return Some(out);
                    }
                }
            }
            let start = out.len();
            out.resize(start + size, 0);
            from.read_exact(&mut out[start..]).await.ok()?;
            let mut crlf = [0u8; 2];
            from.read_exact(&mut crlf).await.ok()?;
        },
    }
    Some(out)
}

fn request_framing(head: &Head) -> Framing {
    if head.chunked() {
        Framing::Chunked
    } else {
        match head.content_length() {
            Some(n) if n > 0 => Framing::Length(n),
            _ => Framing::None,
        }
    }
}

fn response_framing(method: &str, status: u16, head: &Head) -> Framing {
    if method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::None
    } else if head.chunked() {
        Framing::Chunked
    } else {
        match head.content_length() {
            Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Serves one client connection, request by request.
pub(super) async fn serve(client: TcpStream, state: std::sync::Arc<State>) {
    let (cr, mut cw) = client.into_split();
    let mut cr = BufReader::new(cr);
    let mut upstream: Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)> = None;
    while let Some(head) = read_head(&mut cr).await {
        let mut parts = head.line.split(' ');
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut req = Req {
            method: method.clone(),
            target,
            headers: head.headers.clone(),
            status: None,
            at: state.started.elapsed(),
            faulted: false,
        };
        let action = if state.outage.load(Ordering::SeqCst) {
            Some(Action::Outage)
        } else {
            state.action_for(&req)
        };
        req.faulted = action.is_some();
        let index = {
            let mut log = state.log.lock().unwrap();
            log.push(req);
            log.len() - 1
        };
        let framing = request_framing(&head);
        match action {
            Some(Action::Outage) => {
                state.outage.store(true, Ordering::SeqCst);
                return;
            }
            Some(Action::Respond { status, body }) => {
                let expect = head
                    .header("expect")
                    .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));
                if !expect && read_body(&mut cr, &framing).await.is_none() {
                    return;
                }
                let answer = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nx-amz-request-id: proxy\r\n{}\r\n{body}",
                    reason(status),
                    body.len(),
                    if expect { "connection: close\r\n" } else { "" }
                );
                state.down.fetch_add(answer.len() as u64, Ordering::SeqCst);
                if cw.write_all(answer.as_bytes()).await.is_err() || expect {
                    return;
                }
                state.set_status(index, status);
                continue;
            }
            _ => {}
        }
        if upstream.is_none() {
            let Ok(server) = TcpStream::connect(state.target).await else {
                return;
            };
            let (sr, sw) = server.into_split();
            upstream = Some((BufReader::new(sr), sw));
        }
        let (sr, sw) = upstream.as_mut().unwrap();
        match exchange(
            &state, index, &method, head, framing, action, &mut cr, &mut cw, sr, sw,
        )
        .await
        {
            Ok(true) => {}
            Ok(false) | Err(Stop::Cut) => return,
            Err(Stop::Stall) => {
                // Hold the connection (sending nothing) until the client gives up.
                let mut sink = [0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(120), async {
                    while let Ok(n) = cr.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                })
                .await;
                return;
            }
        }
    }
}

/// Forwards one request and its answer; `Ok(true)` when the connection can carry another.
#[allow(clippy::too_many_arguments)]
async fn exchange(
    state: &State,
    index: usize,
    method: &str,
    head: Head,
    framing: Framing,
    action: Option<Action>,
    cr: &mut BufReader<OwnedReadHalf>,
    cw: &mut OwnedWriteHalf,
    sr: &mut BufReader<OwnedReadHalf>,
    sw: &mut OwnedWriteHalf,
) -> Result<bool, Stop> {
    let mut to_server = Sink {
        to: sw,
        state,
        upstream: true,
        offset: 0,
        cut_after: match action {
            Some(Action::ResetUpAfter(n)) => Some(n),
            _ => None,
        },
        stall_after: None,
        flip_at: None,
    };
    to_server.raw(&head.encode()).await?;
    // A DeleteObjects answer is rewritten only if its request names the key.
    let mut delete_error = None;
    if let Some(Action::DeleteError { key, code, message }) = &action {
        let body = read_body(cr, &framing).await.ok_or(Stop::Cut)?;
        let named = format!("<Key>{}</Key>", xml_escape(key));
        if String::from_utf8_lossy(&body).contains(&named) {
            delete_error = Some(format!(
                "<Error><Key>{}</Key><Code>{code}</Code><Message>{message}</Message></Error>",
                xml_escape(key)
            ));
        }
        to_server.body(&body).await?;
    } else {
        pump_body(cr, &mut to_server, &framing).await?;
    }
    let mut to_client = Sink {
        to: cw,
        state,
        upstream: false,
        offset: 0,
        cut_after: match action {
            Some(Action::ResetDownAfter(n)) => Some(n),
            _ => None,
        },
        stall_after: match action {
            Some(Action::StallAfter(n)) => Some(n),
            _ => None,
        },
        flip_at: match action {
            Some(Action::FlipAt(n)) => Some(n),
            _ => None,
        },
    };
    loop {
        let mut answer = read_head(sr).await.ok_or(Stop::Cut)?;
        let status: u16 = answer
            .line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let framing = response_framing(method, status, &answer);
        if (100..200).contains(&status) {
            to_client.raw(&answer.encode()).await?;
            continue;
        }
        state.set_status(index, status);
        let close = answer
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
            || matches!(framing, Framing::UntilClose);
        if let Some(error) = &delete_error {
            let body = read_body(sr, &framing).await.ok_or(Stop::Cut)?;
            let text = String::from_utf8_lossy(&body).into_owned();
            let text = if let Some(at) = text.rfind("</DeleteResult>") {
                format!("{}{error}{}", &text[..at], &text[at..])
            } else {
                let at = text.rfind("/>").ok_or(Stop::Cut)?;
                format!("{}>{error}</DeleteResult>", &text[..at])
            };
            answer.headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case("transfer-encoding")
                    && !n.eq_ignore_ascii_case("content-md5")
            });
            answer.set_header("content-length", text.len().to_string());
            to_client.raw(&answer.encode()).await?;
            to_client.body(text.as_bytes()).await?;
        } else {
            to_client.raw(&answer.encode()).await?;
            pump_body(sr, &mut to_client, &framing).await?;
        }
        let _ = to_client.to.flush().await;
        return Ok(!close);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
