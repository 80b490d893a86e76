//! tokio::spawn hands a future to the runtime, which runs it whether or not
//! anyone awaits the JoinHandle; a future that is never polled never runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    println!("1 main: tokio::spawn(task); its JoinHandle is never awaited");
    let _handle = tokio::spawn(async move {
        println!("3 task: runs although nobody awaits it");
        flag.store(true, Ordering::SeqCst);
    });
    let _never_polled = async { println!("a plain future that nobody polls (never printed)") };
    println!("2 main: spawn returned; main sleeps, giving the thread to the runtime");
    tokio::time::sleep(Duration::from_millis(10)).await;
    let state = if ran.load(Ordering::SeqCst) { "ran" } else { "did not run" };
    println!("4 main: after the sleep, the spawned task {state}");
}
