// Command rendezvous shows that a send on an unbuffered channel completes only
// when a receiver takes the value (a rendezvous), while a send on a buffered
// channel with room returns without any receiver.
package main

import "fmt"

func main() {
	unbuffered := make(chan int)
	fmt.Println("1 main: start a receiver, then send on an unbuffered channel")
	go func() {
		fmt.Println("2 receiver: about to receive; the send cannot complete before this")
		<-unbuffered
	}()
	unbuffered <- 42
	fmt.Println("3 main: the send returned, after the receiver took the value")

	buffered := make(chan int, 1)
	buffered <- 42
	fmt.Println("4 main: a send on a buffered channel with room returned, no receiver")
}
