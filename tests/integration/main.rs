//! The integration tests: one binary (each test binary links the whole
//! crate), one `common` module of helpers. Servers start on loopback ports,
//! agents are real subprocesses, platforms are fakes on loopback.

mod common;

mod automation;
mod chat;
mod faults;
mod feishu_events;
mod foundation;
mod lifecycle;
mod messages;
mod metrics;
mod probes;
mod runs;
mod tools;
