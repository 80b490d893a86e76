//! Accept loop and shutdown (SPEC sections 1 and 9): one tokio task per
//! connection, each running hyper's HTTP/1.1 state machine over the socket.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::oneshot;

use crate::linger::Lingering;
use crate::routes::{self, App};

/// How long in-flight requests may still run after SIGTERM/SIGINT.
const GRACE: Duration = Duration::from_millis(1500);
/// The process exits at this point after the signal, whatever is still running.
const DEADLINE: Duration = Duration::from_millis(1800);

pub fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}")))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // TcpListener::bind would use a backlog of 1024; SPEC asks for 4096.
    socket.listen(4096)
}

pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: oneshot::Receiver<()>) {
    let mut http = http1::Builder::new();
    // hyper answers 431 when its read buffer is full and the head is still
    // incomplete. 8 KiB is the smallest buffer hyper allows and the largest
    // head SPEC requires, so longer heads are refused (README: one corner
    // case). hyper also answers 431 past 100 header fields by default; an
    // 8 KiB head can hold about 2,000 ("a:" lines), and SPEC counts bytes.
    http.max_buf_size(8 * 1024).max_headers(2048);
    // A client that half-closes after its requests (nc -N, socat) still gets
    // their answers; by default hyper takes the end of the stream for an abort.
    http.half_close(true);
    let graceful = GracefulShutdown::new();

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(_) => {
                        // Out of descriptors (EMFILE) or an aborted handshake:
                        // pause briefly instead of spinning, then keep serving.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = service_fn(move |request| routes::handle(request, app.clone()));
                let connection = graceful.watch(http.serve_connection(TokioIo::new(Lingering::new(stream)), service));
                tokio::spawn(async move {
                    // Errors here are a client's business (reset, malformed
                    // request already answered by hyper): nothing to log.
                    let _ = connection.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }

    // Stop accepting, then let hyper finish in-flight requests and close idle
    // keep-alive connections at once.
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

/// Waits for SIGTERM or SIGINT on a thread of its own, with a runtime of its
/// own: an inline /cpu can keep every thread of the serving runtime busy for
/// seconds, and the process must still exit within 2 s of the signal. The
/// receiver tells the accept loop to stop; DEADLINE after the signal the thread
/// ends the process itself if the runtime has not finished by then.
pub fn on_signal() -> io::Result<oneshot::Receiver<()>> {
    let runtime: Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let (mut term, mut int) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    let (notify, receiver) = oneshot::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            });
            let _ = notify.send(());
            std::thread::sleep(DEADLINE);
            eprintln!(
                "still busy {} ms after the signal: exiting anyway",
                DEADLINE.as_millis()
            );
            std::process::exit(0);
        })?;
    Ok(receiver)
}
