//! What a task does when it runs: send its text, ask the agent, or run a
//! workflow skill, each toward the task's scope. Agent and skill runs are
//! the agent service's recorded runs (origin `ask` / `workflow`).

use super::model::{Task, TaskAction};
use super::ActionError;
use crate::agent::AgentRunner;
use crate::connector::{Destination, Messenger, Payload};
use crate::metrics::BotMetrics;
use crate::scope::Scope;
use std::sync::Arc;

/// The bot's connector and agent, as the scheduler uses them.
#[derive(Clone)]
pub struct Actions {
    messenger: Arc<dyn Messenger>,
    agent: AgentRunner,
    metrics: BotMetrics,
}

impl Actions {
    pub fn new(messenger: Arc<dyn Messenger>, agent: AgentRunner, metrics: BotMetrics) -> Self {
        Self {
            messenger,
            agent,
            metrics,
        }
    }

    /// Where the scheduler counts its runs.
    pub fn metrics(&self) -> &BotMetrics {
        &self.metrics
    }

    /// Runs `task`'s action; the id of the message sent, if one was.
    pub async fn run(&self, task: &Task) -> Result<Option<String>, ActionError> {
        let scope = scope_of(task);
        let text = match &task.action {
            TaskAction::SendText { text } => text.clone(),
            TaskAction::RunLlm { prompt } => {
                let answer = self.agent.ask(&scope, prompt).await?;
                if answer.is_empty() {
                    return Err(ActionError::EmptyAnswer);
                }
                answer
            }
            TaskAction::RunWorkflow { workflow } => {
                let output = self.agent.run_skill(&scope, workflow, "").await?;
                if output.is_empty() {
                    return Ok(None);
                }
                output
            }
        };
        let to = Destination {
            receive_id_type: scope.receive_id_type(),
            receive_id: task.scope_id.clone(),
            reply_to: None,
        };
        let sent = self.messenger.send(&to, Payload::Text(text)).await?;
        Ok(Some(sent.message_id))
    }
}

/// The conversation a task acts on, with its creator as the actor.
pub fn scope_of(task: &Task) -> Scope {
    let mut scope = Scope::for_target(task.scope_type.receive_id_type(), &task.scope_id);
    if let Some(creator) = &task.created_by {
        scope.actor_user_id = creator.actor_user_id.clone();
        scope.actor_open_id = creator.actor_open_id.clone();
    }
    scope
}
