//! A client connection the proxy can reset: once [`ResetSwitch::trip`] is called, the socket is closed with
//! `SO_LINGER` 0 when hyper drops it, so the client reads `ECONNRESET` (an RST, as when a load balancer or the
//! service drops a connection), not an orderly end of stream.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Shared between a connection and the requests served on it.
#[derive(Clone, Default)]
pub struct ResetSwitch(Arc<AtomicBool>);

impl ResetSwitch {
    pub fn trip(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn tripped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct ResettableStream {
    stream: TcpStream,
    switch: ResetSwitch,
}

impl ResettableStream {
    pub fn new(stream: TcpStream, switch: ResetSwitch) -> Self {
        Self { stream, switch }
    }

    fn refuse_if_tripped(&self) -> Option<io::Error> {
        self.switch
            .tripped()
            .then(|| io::Error::new(io::ErrorKind::ConnectionReset, "fault proxy: connection reset"))
    }
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.switch.tripped() {
            // Zero linger turns the close into an RST; nothing is left to flush on a connection we are abandoning.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(error) = self.refuse_if_tripped() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // An orderly shutdown would send FIN first; a tripped connection must end with the RST of the drop.
        if let Some(error) = self.refuse_if_tripped() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
