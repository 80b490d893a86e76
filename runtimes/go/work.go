// The CPU work of go/goroutines: /cpu's busy loop, /work's integer hash and
// /hash's PBKDF2. All of it runs inline on the request's goroutine.
package main

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// spin burns the CPU for d without sleeping or yielding. The goroutine
// never offers to give up its thread; the Go runtime preempts it anyway
// (sysmon stops any goroutine that has run for 10 ms, by a signal if it has
// to), so the other requests keep being served while it runs.
func spin(d time.Duration) {
	start := time.Now() // carries a monotonic clock reading
	for time.Since(start) < d {
	}
}

// workHash is SPEC's 32-bit FNV-1a-like loop; uint32 arithmetic wraps
// modulo 2^32 as the contract requires.
func workHash(n uint32) uint32 {
	h := uint32(0x811C9DC5)
	for i := uint32(0); i < n; i++ {
		h = (h ^ i) * 0x01000193
	}
	return h
}

const (
	hashPassword = "async-runtime-lab"
	hashSalt     = "lab-salt"
)

// passwordHash is PBKDF2-HMAC-SHA256 with SPEC's fixed password and salt and
// a 32-byte key, as lowercase hex.
func passwordHash(iter int) (string, error) {
	key, err := pbkdf2.Key(sha256.New, hashPassword, []byte(hashSalt), iter, 32)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(key), nil
}
