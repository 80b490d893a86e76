//! Async Runtime Lab server in Rust: tokio + hyper, two models of one program.
//!
//! `lab-rust tokio` runs a multi-thread runtime: TOKIO_WORKER_THREADS worker
//! threads share the tasks (one task per connection) and steal from each other;
//! a request that spins the CPU holds one worker, the others keep serving.
//! `lab-rust tokio-current-thread` runs every task on a single thread: one
//! spinning request stalls every connection. Either way `offload=1` hands the
//! work to tokio's blocking pool (spawn_blocking), and the task awaits it.
//!
//! The flavour is chosen at run time, so the runtime is built with
//! tokio::runtime::Builder rather than #[tokio::main].

mod config;
mod linger;
mod params;
mod routes;
mod server;
mod work;

use std::process::ExitCode;
use std::sync::Arc;

use config::{Config, Model};

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let Some(model) = Model::from_arg(&arg) else {
        eprintln!("usage: lab-rust tokio | tokio-current-thread");
        return ExitCode::from(2);
    };
    let config = match Config::from_env(model) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("rust/{}: {message}", model.name());
            return ExitCode::from(2);
        }
    };

    let mut builder = match config.worker_threads {
        Some(workers) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(workers);
            builder
        }
        None => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = builder
        .max_blocking_threads(config.offload_threads)
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");

    let shutdown = server::on_signal().expect("cannot install the signal handlers");
    let app = Arc::new(routes::App::new(&config));
    let served = runtime.block_on(async {
        let listener = server::bind(&config.host, config.port)?;
        eprintln!(
            "rust/{} listening on http://{} (pid {})",
            model.name(),
            listener.local_addr()?,
            std::process::id()
        );
        server::serve(listener, app, shutdown).await;
        std::io::Result::Ok(())
    });
    // Do not wait for work still running (a long /cpu on a worker or on the
    // blocking pool): the grace period is over.
    runtime.shutdown_background();

    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "rust/{}: cannot listen on {}:{}: {err}",
                model.name(),
                config.host,
                config.port
            );
            ExitCode::FAILURE
        }
    }
}
