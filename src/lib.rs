//! alice: several chat bots from one host. See `DESIGN.md` in the README.

pub mod bot;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod logging;
pub mod runtime_api;
pub mod store;
pub mod supervisor;
