//! Lingering close (SPEC section 2), as nginx does it: when the server ends a
//! connection, it half-closes and then reads and drops whatever the client is
//! still sending, until the client closes too or LINGER has passed. Closing a
//! socket with unread bytes in it makes the kernel answer with a reset, which
//! destroys the response on its way: a 431 to a client still sending its
//! oversized head, or a 413 to one still sending its body.
//!
//! hyper ends every connection it closes itself with `poll_shutdown` and drops
//! the socket as soon as that returns, so the drain happens inside
//! `poll_shutdown`, on the connection's own task.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// How long a closing connection keeps draining its client.
const LINGER: Duration = Duration::from_millis(500);

pub struct Lingering {
    stream: TcpStream,
    /// The client has half-closed: nothing left to drain.
    read_eof: bool,
    /// Set once our FIN is sent: the end of the drain.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl Lingering {
    pub fn new(stream: TcpStream) -> Lingering {
        Lingering {
            stream,
            read_eof: false,
            deadline: None,
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() == before && buf.remaining() > 0 {
            this.read_eof = true;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    /// Sends FIN, then drains the client until it closes or LINGER is over.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.deadline.is_none() {
            ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            this.deadline = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let mut scrap = [0u8; 4096];
        while !this.read_eof {
            if let Some(deadline) = this.deadline.as_mut() {
                if deadline.as_mut().poll(cx).is_ready() {
                    break;
                }
            }
            let mut buf = ReadBuf::new(&mut scrap);
            match ready!(Pin::new(&mut this.stream).poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => this.read_eof = true,
                Ok(()) => {}
                Err(_) => break, // reset by the client: nothing left to protect
            }
        }
        Poll::Ready(Ok(()))
    }
}
