//! The HTTP application: one async function per request, called by hyper
//! (SPEC sections 2 to 6). Parsing, keep-alive, pipelining and the 400/431
//! answers to malformed heads are hyper's job; this module checks what hyper
//! leaves to the application: Host, body size, routing, parameters.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode, Version};
use serde_json::{json, Map, Value};

use crate::config::{Config, Model};
use crate::params::{self, ParamError};
use crate::work;

/// Request bodies up to this size are read and thrown away; larger ones get 413.
const MAX_BODY: u64 = 1024 * 1024;

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

pub type Reply = Response<Full<Bytes>>;

/// What every request needs to know about the server.
pub struct App {
    info: Bytes,
}

impl App {
    pub fn new(config: &Config) -> App {
        let model = config.model.name();
        let mut knobs = Map::new();
        if let Some(workers) = config.worker_threads {
            knobs.insert("TOKIO_WORKER_THREADS".into(), workers.into());
        }
        knobs.insert("OFFLOAD_THREADS".into(), config.offload_threads.into());
        let where_from = match config.model {
            Model::Tokio => "the tokio worker threads",
            Model::CurrentThread => "the runtime's only thread",
        };
        let info = json!({
            "target": format!("rust/{model}"),
            "runtime": "rust",
            "model": model,
            "version": env!("LAB_RUSTC_VERSION"),
            "pid": std::process::id(),
            "worker": null,
            "knobs": knobs,
            "offload": format!(
                "tokio::task::spawn_blocking: /cpu, /work and /hash run on tokio's blocking \
                 pool (at most OFFLOAD_THREADS threads), off {where_from}"
            ),
        });
        App {
            info: Bytes::from(info.to_string()),
        }
    }
}

/// hyper's service: never fails except when the request body breaks off, in
/// which case hyper drops the connection.
pub async fn handle(request: Request<Incoming>, app: Arc<App>) -> Result<Reply, hyper::Error> {
    let (head, body) = request.into_parts();

    // RFC 9112 section 3.2; hyper leaves this check to the server.
    if head.version == Version::HTTP_11 && !head.headers.contains_key(HOST) {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "an HTTP/1.1 request needs a Host header",
        ));
    }
    // hyper has already rejected an invalid Content-Length, so the size hint is
    // the declared length; a chunked body is counted while it is drained.
    if body.size_hint().lower() > MAX_BODY || drain(body).await? > MAX_BODY {
        return Ok(too_large());
    }

    let query = head.uri.query().unwrap_or("");
    let route = head.uri.path();
    if !matches!(
        route,
        "/ping" | "/info" | "/cpu" | "/work" | "/hash" | "/sleep"
    ) {
        return Ok(error(StatusCode::NOT_FOUND, "no such path"));
    }
    if head.method != Method::GET {
        let mut reply = error(StatusCode::METHOD_NOT_ALLOWED, "only GET is allowed here");
        reply
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return Ok(reply);
    }
    let reply = match route {
        "/ping" => Ok(respond(StatusCode::OK, TEXT, Bytes::from_static(b"pong"))),
        "/info" => Ok(respond(StatusCode::OK, JSON, app.info.clone())),
        "/cpu" => cpu(query).await,
        "/work" => work(query).await,
        "/hash" => hash(query).await,
        _ => sleep(query).await,
    };
    Ok(reply.unwrap_or_else(|err| error(StatusCode::BAD_REQUEST, &err.to_string())))
}

async fn cpu(query: &str) -> Result<Reply, ParamError> {
    let ms = params::required(query, "ms", 0, 10_000)?;
    let offload = params::offload(query)?;
    // Inline, this spin holds the worker thread (in current_thread, the only
    // thread) for `ms`: no other task, timer or socket is served by it meanwhile.
    run(offload, move || work::spin(ms)).await;
    Ok(json(json!({"ms": ms, "offload": offload})))
}

async fn work(query: &str) -> Result<Reply, ParamError> {
    let n = params::required(query, "n", 0, 100_000_000)? as u32;
    let offload = params::offload(query)?;
    let digest = run(offload, move || work::work(n)).await;
    Ok(json(
        json!({"n": n, "digest": format!("{digest:08x}"), "offload": offload}),
    ))
}

async fn hash(query: &str) -> Result<Reply, ParamError> {
    let iterations = params::required(query, "iter", 1, 1_000_000)? as u32;
    let offload = params::offload(query)?;
    let key = run(offload, move || work::hash(iterations)).await;
    Ok(json(
        json!({"iter": iterations, "digest": hex::encode(key), "offload": offload}),
    ))
}

async fn sleep(query: &str) -> Result<Reply, ParamError> {
    let ms = params::required(query, "ms", 0, 10_000)?;
    // A timer: the task is parked and the thread serves other tasks.
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(json(json!({ "ms": ms })))
}

/// Runs `job` right here, on the thread polling this task, or with
/// `offload` on tokio's blocking pool while this task waits without a thread.
async fn run<T: Send + 'static>(offload: bool, job: impl FnOnce() -> T + Send + 'static) -> T {
    if !offload {
        return job();
    }
    match tokio::task::spawn_blocking(job).await {
        Ok(value) => value,
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

/// Reads the request body to its end and returns its size, stopping as soon as
/// it exceeds MAX_BODY, so that the next request on the connection is framed
/// correctly.
async fn drain(mut body: Incoming) -> Result<u64, hyper::Error> {
    let mut size = 0;
    while !body.is_end_stream() && size <= MAX_BODY {
        match body.frame().await {
            Some(frame) => size += frame?.data_ref().map_or(0, |data| data.len() as u64),
            None => break,
        }
    }
    Ok(size)
}

fn too_large() -> Reply {
    let mut reply = error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request body over 1048576 bytes",
    );
    // The body was not read, so the connection cannot carry another request.
    reply
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    reply
}

fn respond(status: StatusCode, content_type: HeaderValue, body: Bytes) -> Reply {
    // hyper adds Content-Length from the full body's exact size.
    let mut reply = Response::new(Full::new(body));
    *reply.status_mut() = status;
    reply.headers_mut().insert(CONTENT_TYPE, content_type);
    reply
}

fn json(body: Value) -> Reply {
    respond(StatusCode::OK, JSON, Bytes::from(body.to_string()))
}

fn error(status: StatusCode, message: &str) -> Reply {
    let body = json!({ "error": message });
    respond(status, JSON, Bytes::from(body.to_string()))
}
