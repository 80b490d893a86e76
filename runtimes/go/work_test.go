package main

import (
	"fmt"
	"testing"
)

// Golden digests from SPEC.md section 5: every runtime must agree on them.

func TestWorkHashGolden(t *testing.T) {
	for n, want := range map[uint32]string{
		0: "811c9dc5", 1: "050c5d1f", 2: "1076963a", 10: "2f854072",
		1_000: "a06ae7fd", 65_536: "eea39dc5", 1_000_000: "bbc1d705", 10_000_000: "25be6645",
	} {
		if got := fmt.Sprintf("%08x", workHash(n)); got != want {
			t.Errorf("workHash(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestPasswordHashGolden(t *testing.T) {
	for iter, want := range map[int]string{
		1:      "3a1a5ef6f31e11c8e290238e8778a227fa4b7882853c4da4cd4db51f78d6119a",
		2:      "4bedcef7faf4cc09ef6c2d31070ac31907eef715168bc5cf8086ee5a39a5a6a5",
		100:    "0f01301d6cdb20b260d92d5fa7efaf3d8450685929fdb08c3a5ebdf3ae1a9955",
		1_000:  "317bc7451809011cc269e2245efcaf6cabab80fab190ffbde0a3c90bff7f0600",
		10_000: "adeadd10710888bb60fd67da022cf7fcf1dd452f29cf23a912360342be8b29ca",
	} {
		got, err := passwordHash(iter)
		if err != nil || got != want {
			t.Errorf("passwordHash(%d) = %s, %v; want %s", iter, got, err, want)
		}
	}
}
