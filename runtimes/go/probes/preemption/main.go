// Command preemption spins in a loop without function calls until another
// goroutine sets a flag. Run it with GOMAXPROCS=1: the runtime preempts the loop
// (asynchronously, with a signal, since Go 1.14) so the other goroutine gets the
// only thread. With GODEBUG=asyncpreemptoff=1 nothing can stop the loop, the
// other goroutine never runs, and the program spins until it is killed.
package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

func main() {
	var flag atomic.Bool
	fmt.Printf("1 main: GOMAXPROCS=%d; spinning until another goroutine sets a flag\n",
		runtime.GOMAXPROCS(0))
	go func() {
		fmt.Println("2 other: runs, because the spinning loop was preempted")
		flag.Store(true)
	}()
	for !flag.Load() {
		// a tight loop: no function calls, no allocation, no channel operations
	}
	fmt.Println("3 main: the loop saw the flag and ends")
}
