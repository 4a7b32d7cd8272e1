//! [`DnsTestServer`]: hickory-server on loopback, answering from a [`MockResolver`] zone.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dns::MockResolver;
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::Record;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::oneshot;

use crate::zone_answer::{ZoneAnswer, answer};

/// How long the server keeps an idle TCP connection open.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times to look for a port that is free for both UDP and TCP.
const BIND_ATTEMPTS: usize = 50;

/// A DNS server on 127.0.0.1, UDP and TCP on the same free port, answering every question from
/// a [`MockResolver`] zone as a validating recursive resolver would. See the crate
/// documentation for what it answers and how to start it.
///
/// The server stops when this value is dropped (or with [`stop`](DnsTestServer::stop)).
#[derive(Debug)]
pub struct DnsTestServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedQuery>>>,
    stop: Option<oneshot::Sender<()>>,
    running: Running,
}

/// A question the server received, in the order they came, for tests that check what a client
/// asked and how (over TCP after truncation, with the AD bit set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedQuery {
    /// The name asked for, in ASCII, without the trailing dot, as the client wrote it (its case
    /// is kept).
    pub name: String,
    /// The type asked for, as its mnemonic: `A`, `TXT`, `SOA`, ...
    pub record_type: String,
    /// Whether the question came over TCP (otherwise UDP).
    pub tcp: bool,
    /// Whether the query had the AD bit set (RFC 6840 §5.7).
    pub authentic_data: bool,
    /// Whether the query had the EDNS DO bit set (RFC 3225).
    pub dnssec_ok: bool,
}

#[derive(Debug)]
enum Running {
    /// A task on the caller's tokio runtime.
    Task(Option<tokio::task::JoinHandle<()>>),
    /// A thread with its own runtime, for synchronous tests.
    Thread(Option<std::thread::JoinHandle<()>>),
}

impl DnsTestServer {
    /// Starts serving `zone` on the current tokio runtime. Needs a runtime with I/O and time
    /// enabled (as `#[tokio::test]` gives, either flavor).
    pub async fn start(zone: MockResolver) -> io::Result<DnsTestServer> {
        let (udp, tcp, addr) = bind_loopback().await?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = oneshot::channel();
        let server = serve(zone, received.clone(), udp, tcp);
        let task = tokio::spawn(run_until_stopped(server, stopped));
        Ok(DnsTestServer { addr, received, stop: Some(stop), running: Running::Task(Some(task)) })
    }

    /// Like [`DnsTestServer::start`], on a given address (UDP and TCP), such as `127.0.0.101:53`
    /// for a peer that only reads `/etc/resolv.conf`-style configuration (no port), like
    /// Postfix's chrooted SMTP client.
    pub async fn start_at(zone: MockResolver, addr: SocketAddr) -> io::Result<DnsTestServer> {
        let udp = UdpSocket::bind(addr).await?;
        let tcp = TcpListener::bind(addr).await?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = oneshot::channel();
        let server = serve(zone, received.clone(), udp, tcp);
        let task = tokio::spawn(run_until_stopped(server, stopped));
        Ok(DnsTestServer { addr, received, stop: Some(stop), running: Running::Task(Some(task)) })
    }

    /// Starts serving `zone` on a thread of its own with its own single-threaded tokio runtime,
    /// for synchronous tests (such as running the `mox` binary with `--dns-server`). Dropping
    /// the value stops the server and joins the thread.
    pub fn start_on_thread(zone: MockResolver) -> io::Result<DnsTestServer> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = oneshot::channel();
        let (started, bound) = std::sync::mpsc::channel();
        let thread_received = received.clone();
        let thread =
            std::thread::Builder::new().name("dns-test-server".into()).spawn(move || {
                runtime.block_on(async move {
                    let (udp, tcp, addr) = match bind_loopback().await {
                        Ok(bound) => bound,
                        Err(e) => {
                            let _ = started.send(Err(e));
                            return;
                        }
                    };
                    let server = serve(zone, thread_received, udp, tcp);
                    let _ = started.send(Ok(addr));
                    run_until_stopped(server, stopped).await;
                });
            })?;
        let addr = match bound.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("DNS test server thread exited while starting")),
        };
        Ok(DnsTestServer {
            addr,
            received,
            stop: Some(stop),
            running: Running::Thread(Some(thread)),
        })
    }

    /// The address to send queries to, over UDP or TCP: 127.0.0.1 and the port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The questions received so far, in order.
    pub fn received(&self) -> Vec<ReceivedQuery> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The questions received so far for `name` (in any case, with or without trailing dot).
    pub fn received_for(&self, name: &str) -> Vec<ReceivedQuery> {
        let wanted = name.trim_end_matches('.');
        self.received().into_iter().filter(|q| q.name.eq_ignore_ascii_case(wanted)).collect()
    }

    /// Stops the server and waits until its sockets are closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match &mut self.running {
            Running::Task(task) => {
                if let Some(task) = task.take() {
                    let _ = task.await;
                }
            }
            Running::Thread(thread) => {
                if let Some(thread) = thread.take() {
                    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                }
            }
        }
    }
}

impl Drop for DnsTestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match &mut self.running {
            // Dropping the server (when the aborted task is next polled, or with the runtime)
            // closes its sockets; a Drop cannot wait for that.
            Running::Task(task) => {
                if let Some(task) = task.take() {
                    task.abort();
                }
            }
            Running::Thread(thread) => {
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// Binds UDP and TCP on 127.0.0.1 with the same free port (a client such as hickory-resolver
/// falls back to TCP on the port it used for UDP).
async fn bind_loopback() -> io::Result<(UdpSocket, TcpListener, SocketAddr)> {
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = udp.local_addr()?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp, addr)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free port for UDP and TCP")))
}

fn serve(
    zone: MockResolver,
    received: Arc<Mutex<Vec<ReceivedQuery>>>,
    udp: UdpSocket,
    tcp: TcpListener,
) -> Server<ZoneHandler> {
    let mut server = Server::new(ZoneHandler { zone, received });
    server.register_socket(udp);
    server.register_listener(tcp, TCP_IDLE_TIMEOUT, 64 * 1024);
    server
}

async fn run_until_stopped(mut server: Server<ZoneHandler>, stopped: oneshot::Receiver<()>) {
    tokio::select! {
        // Stop asked for, or the DnsTestServer dropped without asking.
        _ = stopped => {
            if let Err(e) = server.shutdown_gracefully().await {
                tracing::debug!(error = %e, "DNS test server shutdown");
            }
        }
        result = server.block_until_done() => {
            if let Err(e) = result {
                tracing::warn!(error = %e, "DNS test server stopped");
            }
        }
    }
}

/// hickory-server's request handler: one question per query, answered from the zone.
struct ZoneHandler {
    zone: MockResolver,
    received: Arc<Mutex<Vec<ReceivedQuery>>>,
}

#[async_trait::async_trait]
impl RequestHandler for ZoneHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        // Echo EDNS as a resolver does: the client's payload size bounds UDP responses, which
        // hickory-server truncates (TC bit) to fit, so the client retries over TCP.
        let response_edns = request.edns.as_ref().map(|client| {
            let mut edns = Edns::new();
            edns.set_max_payload(client.max_payload().max(512));
            edns.set_dnssec_ok(client.flags().dnssec_ok);
            edns
        });
        let builder = MessageResponseBuilder::new(&request.queries, response_edns.as_ref());
        let query = match request.queries.queries() {
            [query] if request.metadata.op_code == OpCode::Query => query,
            _ => {
                let response = builder.error_msg(&request.metadata, ResponseCode::FormErr);
                return send(&mut response_handle, response, &request.metadata).await;
            }
        };
        let name = query.original().name();
        let query_type = query.query_type();
        let dnssec_ok = request.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        let asked_authentic = request.metadata.authentic_data || dnssec_ok;
        if let Ok(mut received) = self.received.lock() {
            received.push(ReceivedQuery {
                name: name.to_ascii().trim_end_matches('.').to_string(),
                record_type: query_type.to_string(),
                tcp: !request.protocol().is_datagram(),
                authentic_data: request.metadata.authentic_data,
                dnssec_ok,
            });
        }
        match answer(&self.zone, name, query_type).await {
            ZoneAnswer::Silence => {
                tracing::debug!(%name, %query_type, "not answering: injected timeout");
                no_response(&request.metadata)
            }
            ZoneAnswer::Respond { response_code, answers, soa, authentic } => {
                let mut metadata = Metadata::response_from_request(&request.metadata);
                metadata.recursion_available = true;
                metadata.response_code = response_code;
                // RFC 6840 §5.7, RFC 3225 §3: a validating resolver sets AD only for clients
                // that showed they understand it (AD or DO in the query), as unbound does.
                metadata.authentic_data = authentic && asked_authentic;
                let soa: Vec<Record> = soa.into_iter().map(|soa| *soa).collect();
                let none: [&Record; 0] = [];
                let response = builder.build(metadata, answers.iter(), none, soa.iter(), none);
                send(&mut response_handle, response, &request.metadata).await
            }
        }
    }
}

async fn send<'a, R: ResponseHandler>(
    handle: &mut R,
    response: hickory_server::zone_handler::MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    request: &Metadata,
) -> ResponseInfo {
    match handle.send_response(response).await {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!(error = %e, "DNS test server could not send a response");
            no_response(request)
        }
    }
}

/// The `ResponseInfo` hickory-server wants back when nothing was sent.
fn no_response(request: &Metadata) -> ResponseInfo {
    let mut metadata = Metadata::new(request.id, MessageType::Response, request.op_code);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header { metadata, counts: HeaderCounts::default() })
}
