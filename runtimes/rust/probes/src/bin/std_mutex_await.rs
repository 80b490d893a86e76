//! A std::sync::Mutex guard held across .await deadlocks a current-thread
//! runtime: the waiter blocks the runtime's only thread in lock(), so the holder
//! is never polled again to release the guard. (The lab's deadline ends it.)
//! The guard is not Send, so tokio::spawn refuses such a task at compile time;
//! spawn_local on a LocalSet, which needs no Send, compiles and deadlocks
//! (clippy's await_holding_lock lint warns about exactly this).
#![allow(clippy::await_holding_lock)] // the bug this probe demonstrates

use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::task::{spawn_local, LocalSet};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let counter = Rc::new(Mutex::new(0));
    LocalSet::new()
        .run_until(async move {
            println!("1 main: spawn a holder, then a waiter, on one thread");
            let held = Rc::clone(&counter);
            let holder = spawn_local(async move {
                let mut guard = held.lock().unwrap();
                println!("2 holder: locked the std Mutex, awaits while holding the guard");
                tokio::time::sleep(Duration::from_millis(10)).await;
                *guard += 1;
                println!("holder: done (never printed)");
            });
            let waiter = spawn_local(async move {
                println!("3 waiter: lock() blocks the runtime's only thread");
                *counter.lock().unwrap() -= 1;
                println!("waiter: done (never printed)");
            });
            let _ = tokio::join!(holder, waiter);
            println!("main: both finished (never printed)");
        })
        .await;
}
