//! The harness of the Feishu events tests: a supervisor whose accepted
//! inbound messages are recorded (through its inbound feed, after the one
//! de-duplication), against a fresh fake Feishu.
#![allow(dead_code)]

use super::fake_feishu_ws::*;
use super::{eventually, free_ports, supervisor_toml, TestDir};
use alice::connector::feishu_events::frame::{self, Frame};
use alice::connector::inbound::InboundMessage;
use alice::supervisor::Supervisor;
use std::sync::{Arc, Mutex};

/// Every message any bot delivered, with the bot's id.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<(String, InboundMessage)>>>);

impl Recorder {
    /// Records what `supervisor` accepts from now on.
    fn follow(&self, supervisor: &Supervisor) {
        let mut feed = supervisor.inbound_feed();
        let recorded = self.0.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match feed.recv().await {
                    Ok(item) => recorded.lock().unwrap().push(item),
                    Err(RecvError::Lagged(n)) => panic!("the recorder missed {n} messages"),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    pub fn all(&self) -> Vec<(String, InboundMessage)> {
        self.0.lock().unwrap().clone()
    }

    pub fn with_id(&self, message_id: &str) -> Vec<InboundMessage> {
        self.all()
            .into_iter()
            .filter(|(_, m)| m.message_id == message_id)
            .map(|(_, m)| m)
            .collect()
    }

    pub async fn wait_for(&self, message_id: &str) -> InboundMessage {
        eventually(&format!("{message_id} delivered"), || async {
            !self.with_id(message_id).is_empty()
        })
        .await;
        self.with_id(message_id).remove(0)
    }
}

pub struct Setup {
    _dir: TestDir,
    pub supervisor: Supervisor,
    pub recorder: Recorder,
    pub fake: FakeFeishu,
}

/// One Feishu bot `fs` (plus the local bot `plain`) whose events arrive by
/// `events`, against a fresh fake Feishu; deliveries are recorded.
pub async fn setup(events: &str, extra: &str) -> Setup {
    start(events, extra, true).await
}

/// As [`setup`], with the agent `extra` names (`setup`'s agent answers
/// nothing, so no reply is sent).
pub async fn setup_with_pipeline(events: &str, extra: &str) -> Setup {
    start(events, extra, false).await
}

async fn start(events: &str, extra: &str, record: bool) -> Setup {
    let fake = FakeFeishu::start().await;
    let dir = TestDir::new();
    let base = free_ports(2);
    let silent = match record {
        true => "[bots.fs.agent]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null\"]\n",
        false => "",
    };
    dir.write_config(&format!(
        "{}[bots.fs]\n[bots.fs.connector]\nkind = \"feishu\"\napp_id = \"{APP_ID}\"\napp_secret = \"{APP_SECRET}\"\nbase_url = \"{}\"\nevents = \"{events}\"\n{extra}\n{silent}[bots.plain]\n",
        supervisor_toml(free_ports(1), base),
        fake.base_url
    ));
    let recorder = Recorder::default();
    let supervisor = Supervisor::start_with_bin(dir.load(), env!("CARGO_BIN_EXE_alice").into())
        .await
        .expect("supervisor starts");
    recorder.follow(&supervisor);
    for id in ["fs", "plain"] {
        eventually(&format!("{id} running"), || async {
            supervisor.status(id).await.unwrap().bot.is_some()
        })
        .await;
    }
    Setup {
        _dir: dir,
        supervisor,
        recorder,
        fake,
    }
}

pub fn ack_of<'a>(acks: &'a [Frame], frame_id: &str) -> Vec<&'a Frame> {
    acks.iter()
        .filter(|f| f.header(frame::HEADER_MESSAGE_ID) == Some(frame_id))
        .collect()
}

pub async fn wait_acks(fake: &FakeFeishu, frame_id: &str, n: usize) {
    eventually(&format!("{n} acks of {frame_id}"), || async {
        ack_of(&fake.acks(), frame_id).len() >= n
    })
    .await;
}

pub async fn wait_connections(fake: &FakeFeishu, n: usize) {
    eventually(&format!("{n} connections"), || async {
        fake.connections() >= n
    })
    .await;
}
