//! The three kinds of work a request can ask for (SPEC section 5). Plain,
//! synchronous functions: whether they run on a tokio worker (inline) or on the
//! blocking pool (offload=1) is decided by the caller in routes.rs.

use std::time::{Duration, Instant};

use hmac::Hmac;
use sha2::Sha256;

/// Busy-loops on the monotonic clock for `ms` milliseconds. It never awaits,
/// sleeps or yields: a tokio task running it keeps its thread for the whole
/// time, and nothing else can run on that thread meanwhile.
pub fn spin(ms: u64) {
    let start = Instant::now();
    let duration = Duration::from_millis(ms);
    while start.elapsed() < duration {}
}

/// N rounds of the lab's 32-bit FNV-style hash, wrapping modulo 2^32.
pub fn work(n: u32) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for i in 0..n {
        h = (h ^ i).wrapping_mul(0x0100_0193);
    }
    h
}

pub const PASSWORD: &[u8] = b"async-runtime-lab";
pub const SALT: &[u8] = b"lab-salt";

/// PBKDF2-HMAC-SHA256 of the fixed password and salt: a 32-byte key.
pub fn hash(iterations: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(PASSWORD, SALT, iterations, &mut key)
        .expect("HMAC accepts keys of any length");
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_golden_digests() {
        let golden = [
            (0, "811c9dc5"),
            (1, "050c5d1f"),
            (2, "1076963a"),
            (10, "2f854072"),
            (1_000, "a06ae7fd"),
            (65_536, "eea39dc5"),
            (1_000_000, "bbc1d705"),
            (10_000_000, "25be6645"),
        ];
        for (n, digest) in golden {
            assert_eq!(format!("{:08x}", work(n)), digest, "n = {n}");
        }
    }

    #[test]
    fn hash_golden_digests() {
        let golden = [
            (
                1,
                "3a1a5ef6f31e11c8e290238e8778a227fa4b7882853c4da4cd4db51f78d6119a",
            ),
            (
                2,
                "4bedcef7faf4cc09ef6c2d31070ac31907eef715168bc5cf8086ee5a39a5a6a5",
            ),
            (
                100,
                "0f01301d6cdb20b260d92d5fa7efaf3d8450685929fdb08c3a5ebdf3ae1a9955",
            ),
            (
                1_000,
                "317bc7451809011cc269e2245efcaf6cabab80fab190ffbde0a3c90bff7f0600",
            ),
            (
                10_000,
                "adeadd10710888bb60fd67da022cf7fcf1dd452f29cf23a912360342be8b29ca",
            ),
        ];
        for (iterations, digest) in golden {
            assert_eq!(hex::encode(hash(iterations)), digest, "iter = {iterations}");
        }
    }

    #[test]
    fn spin_takes_at_least_the_time_asked() {
        let start = Instant::now();
        spin(20);
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
