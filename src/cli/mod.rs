//! The `alice` command line.

mod admin_client;
mod archive;
mod bots;
mod chat;
mod mcp;
mod plan;
mod run;
mod runtime;
mod runtime_client;
mod runtime_goal;
mod runtime_message;
mod table;
mod talk;
mod task_json;

use crate::config;
use crate::logging::{self, LogFormat};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "alice",
    version,
    about = "Run several chat bots from one host."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct ConfigArg {
    /// The bots file.
    #[arg(long, env = "ALICE_CONFIG", default_value = "bots.toml", global = true)]
    pub config: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Start the supervisor and every enabled bot.
    #[command(
        after_help = "Example:\n  alice serve --config bots.toml\n  ALICE_LOG_FORMAT=json alice serve"
    )]
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Log lines as readable text or one JSON object per line.
        #[arg(long, env = "ALICE_LOG_FORMAT", value_enum, default_value = "pretty")]
        log_format: LogFormat,
        /// Run only the bots of shard I of N (`0/2`, `1/2`; a stable hash of
        /// the id, see `alice bots plan`). Overrides `supervisor.shard`.
        #[arg(long, value_name = "I/N")]
        shard: Option<config::Shard>,
        /// Run exactly these bots (comma-separated ids).
        #[arg(long, value_delimiter = ',', value_name = "ID,ID")]
        only: Vec<String>,
    },
    /// Ask the running supervisor about its bots, or command one of them.
    #[command(after_help = bots::EXAMPLES)]
    Bots(bots::BotsArgs),
    /// Talk to a bot on the local connector (a line in, the bot's reply
    /// out), or read its conversations (`list`, `log`).
    #[command(after_help = chat::EXAMPLES)]
    Chat(chat::ChatArgs),
    /// Talk to the bot of the current agent run (reads the ALICE_* environment; prints JSON).
    #[command(after_help = runtime::EXAMPLES)]
    Runtime(runtime::RuntimeArgs),
    /// Start an agent run on a bot through the supervisor and stream its output.
    #[command(after_help = run::EXAMPLES)]
    Run(run::RunArgs),
    /// The current agent run's bot as an MCP server on stdin/stdout (reads
    /// the ALICE_* environment), for clients that only start stdio servers.
    #[command(
        after_help = "Example (Codex):\n  codex -c 'mcp_servers.alice.command=\"alice\"' -c 'mcp_servers.alice.args=[\"mcp\"]'"
    )]
    Mcp,
}

impl ConfigArg {
    /// A client of the supervisor this config names, or the exit code of
    /// the failure (2 for a bad config), its line already printed.
    pub(crate) fn admin_client(&self) -> Result<admin_client::AdminClient, ExitCode> {
        let config =
            config::load_for_client(&self.config).map_err(|e| fail(&e.to_string(), EXIT_CONFIG))?;
        admin_client::AdminClient::from_config(&config).map_err(|e| fail(&e, 1))
    }
}

/// Exit code for a configuration error.
const EXIT_CONFIG: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve {
            config,
            log_format,
            shard,
            only,
        } => {
            let log = logging::init(log_format);
            let loaded = config::load(&config.config).and_then(|c| c.with_placement(shard, only));
            let outcome = match loaded {
                Ok(config) => crate::supervisor::serve(config)
                    .await
                    .map_err(|e| (e.to_string(), 1)),
                Err(e) => Err((e.to_string(), EXIT_CONFIG)),
            };
            // The last log lines before the process's own last word.
            drop(log);
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err((message, code)) => fail(&message, code),
            }
        }
        Command::Bots(args) => bots::run(args).await,
        Command::Chat(args) => chat::run(args).await,
        Command::Runtime(args) => runtime::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Mcp => mcp::run().await,
    }
}

/// One clear line on stderr, then the exit code.
pub(crate) fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("alice: {message}");
    ExitCode::from(code)
}
