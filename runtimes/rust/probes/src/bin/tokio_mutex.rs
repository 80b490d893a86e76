//! tokio::sync::Mutex may be held across .await: a task that wants it awaits
//! lock(), giving the thread back, so the holder resumes and releases it.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let counter = Arc::new(Mutex::new(0));
    println!("1 main: spawn a holder, then a waiter, on one thread");
    let held = Arc::clone(&counter);
    let holder = tokio::spawn(async move {
        let mut guard = held.lock().await;
        println!("2 holder: locked the tokio Mutex, awaits while holding the guard");
        tokio::time::sleep(Duration::from_millis(10)).await;
        *guard += 1;
        println!("4 holder: releases the guard");
    });
    let wanted = Arc::clone(&counter);
    let waiter = tokio::spawn(async move {
        println!("3 waiter: lock().await yields; the runtime keeps running");
        *wanted.lock().await -= 1;
        println!("5 waiter: got the lock");
    });
    let _ = tokio::join!(holder, waiter);
    println!("6 main: both finished, counter = {}", counter.lock().await);
}
