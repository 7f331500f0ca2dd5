//! Integration tests of the gcp client against the in-process fakes: the whole flow in
//! pipeline order, then the error paths. Nothing here reaches beyond 127.0.0.1: every base
//! URL points at a fake and the token is a fixed test token.

mod common;

mod bigquery;

mod featurestore;

mod model;

mod doctor;

mod errors;
