//! A run's events as Server-Sent Events: the one place that knows both the
//! run service's feed and HTTP's event stream (the agent knows nothing of
//! HTTP, the stream nothing of runs). Both the bot's Runtime API and the
//! supervisor's headless routes stream runs through it.

use crate::agent::{EventFeed, FeedItem};
use crate::http::sse;

pub struct RunEvents(pub EventFeed);

impl sse::Source for RunEvents {
    async fn next(&mut self, idle: std::time::Duration) -> sse::Next {
        match self.0.next(idle).await {
            Ok(FeedItem::Events(events)) => sse::Next::Frames(
                events
                    .iter()
                    .map(|e| sse::Frame {
                        id: e.seq,
                        event: e.event.name().to_string(),
                        data: serde_json::to_string(e).unwrap_or_default(),
                    })
                    .collect(),
            ),
            Ok(FeedItem::Idle) => sse::Next::Idle,
            Ok(FeedItem::End) => sse::Next::End,
            Err(e) => sse::Next::Failed(e.to_string()),
        }
    }
}
