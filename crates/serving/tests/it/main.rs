//! The one integration test binary: the router driven without a socket (`router`), and
//! the client against the service on a real loopback socket (`client`), both over the
//! in-memory backends in `fakes`.

mod client;
mod fakes;
mod router;
