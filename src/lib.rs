//! alice: several chat bots from one host. One supervisor reads `bots.toml`
//! and runs every bot with its own Runtime API server, trees, token,
//! scheduler and agent runner; the README describes the whole.

pub mod agent;
pub mod archive;
pub mod automation;
pub mod bot;
pub mod chat;
pub mod cli;
pub mod config;
pub mod connector;
pub mod error;
pub mod fds;
pub mod goal;
pub mod goal_engine;
pub mod http;
pub mod logging;
pub mod mcp;
pub mod messages;
pub mod metrics;
pub mod runtime_api;
pub mod scope;
pub mod skills;
pub mod store;
pub mod supervisor;
pub mod token;
pub mod tools;
