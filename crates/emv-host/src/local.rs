//! A host front end served from a background thread of this process, on a loopback port:
//! what the benches and tests use to put a network between a terminal and the
//! [`Issuer`] without starting `emvbench host serve`. Dropping it stops the listener and
//! waits for the thread.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::{Error, Issuer};

/// A front end running on its own thread (one multi-threaded tokio runtime).
#[derive(Debug)]
pub struct LocalServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl LocalServer {
    /// The HTTP API over `issuer` on `127.0.0.1`, a free port.
    pub fn http(issuer: Issuer) -> Result<Self, Error> {
        Self::start("emv-host-local-http", move |listener, stop| async move {
            crate::http::serve_on(listener, issuer, async {
                let _ = stop.await;
            })
            .await
        })
    }

    /// Binds `127.0.0.1:0` on a new runtime thread and runs `serve` on it until the
    /// server is dropped.
    pub fn start<F, Fut>(name: &str, serve: F) -> Result<Self, Error>
    where
        F: FnOnce(tokio::net::TcpListener, oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name(name)
            .build()
            .map_err(|e| Error::io("starting the async runtime", e))?;
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::io("binding 127.0.0.1:0", e))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("configuring the listener", e))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(std_listener)
                        .map_err(|e| Error::io("registering the listener", e))?;
                    serve(listener, rx).await
                })
            })
            .map_err(|e| Error::io("starting the server thread", e))?;
        Ok(Self {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the listener, lets running requests finish, and returns how serving ended.
    pub fn stop(mut self) -> Result<(), Error> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Stopped),
            None => Ok(()),
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use emv_auth::{Host, ResponseCode};

    #[test]
    fn a_local_http_server_answers_then_stops() {
        let keys = crate::HostKeys::load_test_keys().unwrap();
        let acquirer = keys.client_acquirer_key().unwrap().expose().to_owned();
        let issuer = Issuer::in_memory(keys).unwrap();
        let mut card = crate::testkit::load_card(&issuer).unwrap();
        let server = LocalServer::http(issuer).unwrap();
        let mut client = crate::HttpHost::new(&server.url())
            .unwrap()
            .with_acquirer_key(&acquirer);
        let req = card
            .online(100, Some(crate::testkit::LOAD_PIN))
            .unwrap()
            .request;
        let resp = client.authorise(&req).unwrap();
        assert_eq!(resp.response_code, ResponseCode::APPROVED, "{resp:?}");
        let addr = server.addr();
        server.stop().unwrap();
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "still listening"
        );
    }
}
