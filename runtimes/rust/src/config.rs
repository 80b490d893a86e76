//! The model chosen on the command line and the settings read from the
//! environment (SPEC sections 1 and 7). Knobs are validated at start-up: an
//! invalid value stops the server with a message naming the knob.

use std::env;
use std::num::NonZeroUsize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Multi-thread runtime: TOKIO_WORKER_THREADS workers stealing tasks.
    Tokio,
    /// current_thread runtime: every task runs on one thread.
    CurrentThread,
}

impl Model {
    pub fn from_arg(arg: &str) -> Option<Model> {
        match arg {
            "tokio" => Some(Model::Tokio),
            "tokio-current-thread" => Some(Model::CurrentThread),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Model::Tokio => "tokio",
            Model::CurrentThread => "tokio-current-thread",
        }
    }
}

pub struct Config {
    pub model: Model,
    pub host: String,
    pub port: u16,
    /// Worker threads of the multi-thread runtime (`None` for current_thread).
    pub worker_threads: Option<usize>,
    /// Upper bound of tokio's blocking pool, used by `offload=1`.
    pub offload_threads: usize,
}

impl Config {
    pub fn from_env(model: Model) -> Result<Config, String> {
        let host = env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_string());
        let port = match env::var("PORT") {
            Err(_) => 8080,
            Ok(value) => value
                .parse::<u16>()
                .ok()
                .filter(|_| is_digits(&value))
                .ok_or_else(|| format!("PORT must be an integer from 0 to 65535, got {value:?}"))?,
        };
        let worker_threads = match model {
            // The default tokio itself would use: the CPUs this process may run on.
            Model::Tokio => Some(knob("TOKIO_WORKER_THREADS", || {
                std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
            })?),
            Model::CurrentThread => None,
        };
        // 512 is tokio's own default for max_blocking_threads.
        let offload_threads = knob("OFFLOAD_THREADS", || 512)?;
        Ok(Config {
            model,
            host,
            port,
            worker_threads,
            offload_threads,
        })
    }
}

fn is_digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

/// An integer knob >= 1 from the environment, or its default when unset.
fn knob(name: &str, default: impl FnOnce() -> usize) -> Result<usize, String> {
    match env::var(name) {
        Err(env::VarError::NotPresent) => Ok(default()),
        Err(env::VarError::NotUnicode(_)) => Err(format!("{name} must be an integer >= 1")),
        Ok(value) => value
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1 && is_digits(&value))
            .ok_or_else(|| format!("{name} must be an integer >= 1, got {value:?}")),
    }
}
