//! Targets for the binary other than its own built-in simulator: wiremock servers, raw TCP
//! servers that speak broken HTTP, and the simulator started over TLS. Each stops when the
//! test drops it; none listens beyond the loopback interface.

use std::net::SocketAddr;
use std::time::Duration;

use psconform::simulator::{Listen, SimConfig, Simulator};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, Respond, ResponseTemplate, Times};

/// The path of the API below a server's origin.
pub const BASE: &str = "/BeyondTrust/api/public/v3";

/// The path of `route` (relative to the API, as case files write it).
pub fn api(route: &str) -> String {
    format!("{BASE}/{route}")
}

/// The base URL of the API a wiremock server stands in for.
pub fn base_url(server: &MockServer) -> String {
    format!("{}{BASE}", server.uri())
}

/// A mock of `verb route` (relative to the API), to be given its answer and mounted.
pub fn on(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb)).and(path(api(route)))
}

/// A wiremock server answering every GET with `response`.
pub async fn every_get(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(response).mount(&server).await;
    server
}

/// Mounts `mock` on `server`, answering `response`, and expects it exactly once.
pub async fn once(server: &MockServer, mock: MockBuilder, response: impl Respond + 'static) {
    mock.respond_with(response).expect(1).mount(server).await;
}

/// A wiremock server answering `POST Auth/SignAppin` with `respond`, which it expects `times`.
pub async fn sign_in_answering(respond: impl Respond + 'static, times: impl Into<Times>) -> MockServer {
    let server = MockServer::start().await;
    on("POST", "Auth/SignAppin").respond_with(respond).expect(times).mount(&server).await;
    server
}

/// The built-in simulator on a loopback port with a self-signed certificate, accepting the
/// test credentials ([`super::credentials`]).
pub async fn tls_simulator() -> Simulator {
    let addr = "127.0.0.1:0".parse().expect("a loopback address");
    Simulator::start(SimConfig::new(super::credentials()), addr, Listen::SelfSignedTls)
        .await
        .expect("the simulator starts")
}

/// `http://<addr>` and the API's base path.
pub fn http(addr: SocketAddr) -> String {
    format!("http://{addr}{BASE}")
}

/// The base URL of an API on a loopback port nothing listens on (bound, then released).
pub fn nothing_listening() -> String {
    http(std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port"))
}

/// A raw TCP server: every connection is handed to `serve`. Dropping it stops the listener and
/// every connection it accepted.
pub struct RawServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    pub async fn start<F, Fut>(serve: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let task = tokio::spawn(async move {
            // Owned here so that aborting the accept loop drops (and aborts) every connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve(stream));
            }
        });
        RawServer { addr, task }
    }

    /// Reads the request head, answers [`json_head`]`(header)` and `body` (whatever the header
    /// says about it), and closes.
    pub async fn json(header: &str, body: &[u8]) -> RawServer {
        let (head, body) = (json_head(header), body.to_vec());
        RawServer::start(move |mut stream| {
            let (head, body) = (head.clone(), body.clone());
            async move {
                read_head(&mut stream).await;
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            }
        })
        .await
    }

    /// Reads the request head, answers [`json_head`]`(header)`, then writes `chunk` every
    /// `interval` for as long as the client reads.
    pub async fn trickling(header: &str, chunk: &'static [u8], interval: Duration) -> RawServer {
        let head = json_head(header);
        RawServer::start(move |mut stream| {
            let head = head.clone();
            async move {
                read_head(&mut stream).await;
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                while stream.write_all(chunk).await.is_ok() {
                    tokio::time::sleep(interval).await;
                }
            }
        })
        .await
    }

    /// The base URL of the API it stands in for.
    pub fn url(&self) -> String {
        http(self.addr)
    }
}

/// The head of a 200 answer with a JSON content type and one more header line, `header`.
fn json_head(header: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{header}\r\n\r\n")
}

/// Reads until the end of the request head (the cases send no body).
pub async fn read_head(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
