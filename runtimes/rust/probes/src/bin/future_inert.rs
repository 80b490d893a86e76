//! A future is inert: calling an async fn only builds a state machine, and
//! nothing in its body runs until something polls it (here, `.await`).

async fn handler() -> &'static str {
    println!("3 handler: the body runs now, polled by .await");
    "done"
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("1 main: calling handler()");
    let future = handler();
    println!("2 main: got a future; its body has not run");
    let result = future.await;
    println!("4 main: .await returned {result:?}");
}
