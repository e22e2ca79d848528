//! Inbound Feishu events, by either transport (`connector.events`):
//! the long connection the bot opens itself ([`LongConnection`]) or the
//! supervisor's webhook listener ([`webhook`]). Both end in the bot's
//! [`FeishuInbound`], which hands each message to the bot's inbound service
//! ([`InboundSink`](crate::connector::inbound::InboundSink)); that drops
//! redeliveries.

mod client;
#[cfg(test)]
mod decode_props;
mod dispatch;
mod endpoint;
pub mod event;
pub mod frame;
mod identity;
pub mod webhook;

pub use client::LongConnection;
pub use dispatch::{FeishuInbound, Outcome};
pub use endpoint::ClientConfig;
