//! A std::sync::Mutex is fine in async code when no .await happens while the
//! guard is alive: each task locks, updates and unlocks without yielding.

use std::sync::{Arc, Mutex};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let counter = Arc::new(Mutex::new(0));
    println!("1 main: spawn two tasks that lock, update and unlock, with no .await between");
    let first = Arc::clone(&counter);
    let adder = tokio::spawn(async move {
        *first.lock().unwrap() += 1;
        println!("2 adder: the guard was dropped at the end of its statement");
    });
    let second = Arc::clone(&counter);
    let subtractor = tokio::spawn(async move {
        *second.lock().unwrap() -= 1;
        println!("3 subtractor: the lock was free");
    });
    let _ = tokio::join!(adder, subtractor);
    println!("4 main: both finished, counter = {}", counter.lock().unwrap());
}
