//! The integration tests: one binary (each test binary links the whole
//! crate), one `common` module of helpers. Servers start on loopback ports,
//! agents are real subprocesses, platforms are fakes on loopback.

mod common;

mod automation;
mod chat;
mod console;
mod faults;
mod feishu_events;
mod foundation;
mod lifecycle;
mod mcp;
mod messages;
mod metrics;
mod probes;
mod runs;
mod shards;
mod tools;
