//! alice: several chat bots from one host. See `DESIGN.md` in the README.

pub mod agent;
pub mod automation;
pub mod bot;
pub mod chat;
pub mod cli;
pub mod config;
pub mod connector;
pub mod error;
pub mod goal;
pub mod http;
pub mod logging;
pub mod messages;
pub mod runtime_api;
pub mod scope;
pub mod skills;
pub mod store;
pub mod supervisor;
