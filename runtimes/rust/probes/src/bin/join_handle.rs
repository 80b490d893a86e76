//! Dropping a JoinHandle detaches the task, which runs on to completion;
//! JoinHandle::abort() cancels it at its next .await.

use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::sleep;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (finished, detached_done) = oneshot::channel();
    let detached = tokio::spawn(async move {
        sleep(Duration::from_millis(20)).await;
        println!("3 detached task: finishes although its handle was dropped");
        let _ = finished.send(());
    });
    drop(detached);
    println!("1 main: spawned a task and dropped its JoinHandle");

    let aborted = tokio::spawn(async {
        sleep(Duration::from_millis(20)).await;
        println!("aborted task: finishes (never printed)");
    });
    aborted.abort();
    println!("2 main: spawned a second task and called abort() on its handle");

    detached_done.await.expect("the detached task signals when it is done");
    match aborted.await {
        Err(error) if error.is_cancelled() => println!("4 main: the aborted task was cancelled"),
        other => println!("4 main: the aborted task was not cancelled: {other:?}"),
    }
}
