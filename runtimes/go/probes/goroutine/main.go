// Command goroutine shows that `go f()` returns at once and f runs while its
// caller keeps working: main never blocks, it only polls a flag that f sets.
package main

import (
	"fmt"
	"sync/atomic"
)

func main() {
	var done atomic.Bool
	start := make(chan struct{})
	fmt.Println("1 main: go f()")
	go func() {
		<-start
		fmt.Println("3 f: runs while main is still busy")
		done.Store(true)
	}()
	fmt.Println("2 main: go f() returned at once; main keeps working")
	close(start)
	for !done.Load() {
		// busy: main never waits for f
	}
	fmt.Println("4 main: saw f's work without ever waiting for it")
}
