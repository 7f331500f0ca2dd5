//! Integration tests of the feature store crate: the online store contract run against
//! every backend, syncs over a fake source, and the scheduler on a paused clock.

mod online_contract;
