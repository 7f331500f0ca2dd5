//! Running the service in the foreground: bind a TCP address, log the URL, answer until a
//! shutdown future completes, then let in-flight requests finish.

use std::future::Future;
use std::net::SocketAddr;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::router::{router, AppState};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound, e.g. the port is taken.
    #[error("could not listen on {addr}: {source} (is another fsdemo service running?)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// Accepting or serving connections failed.
    #[error("the service at {addr} stopped: {source}")]
    Serve {
        /// The bound address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A bound, not yet running service; binding first lets a caller learn the port of
/// `127.0.0.1:0` before serving.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl Server {
    /// Binds `addr` for a service over `state`.
    pub async fn bind(addr: SocketAddr, state: AppState) -> Result<Server, ServeError> {
        let listener =
            TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
        Ok(Server { listener, addr, state })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use, e.g. `http://127.0.0.1:8080`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until `shutdown` completes, then waits for in-flight requests.
    ///
    /// Sockets get `TCP_NODELAY`: small JSON answers would otherwise wait on Nagle's
    /// algorithm, which costs far more than the 0.3 ms fetch budget.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let addr = self.addr;
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });

        tracing::info!(url = %format!("http://{addr}"), "online service listening");
        axum::serve(listener, router(self.state))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| ServeError::Serve { addr, source })?;

        tracing::info!(%addr, "online service stopped");
        Ok(())
    }
}

/// Binds `addr` and serves `state` until `shutdown` completes, e.g.
/// `serve(addr, state, async { tokio::signal::ctrl_c().await.ok(); })`.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    Server::bind(addr, state).await?.run(shutdown).await
}
