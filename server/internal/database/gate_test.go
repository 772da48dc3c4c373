package database_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"xianfeng/server/internal/database"
)

// blockedSenders counts the goroutines waiting in a select (Enter waits
// in one: its turn, or the end of the request).
func blockedSenders() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "[select")
}

// Callers that find the gate full go through in the order they came, which
// database/sql's pool does not promise (it hands a freed connection to a
// waiting request picked at random).
func TestTheGateLetsWaitersInInTheOrderTheyCame(t *testing.T) {
	g := database.NewGate(1)
	ctx := context.Background()
	if err := g.Enter(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 8
	order := make(chan int, n)
	base := blockedSenders()
	for i := range n {
		go func() {
			if err := g.Enter(ctx); err != nil {
				t.Error(err)
				return
			}
			order <- i
			g.Leave()
		}()
		for deadline := time.Now().Add(5 * time.Second); blockedSenders() < base+i+1; {
			if time.Now().After(deadline) {
				t.Fatalf("waiter %d never blocked at the gate", i)
			}
			runtime.Gosched()
		}
	}
	g.Leave()
	for want := range n {
		if got := <-order; got != want {
			t.Fatalf("waiter %d went through in place %d", got, want)
		}
	}
}

func TestAWaiterWhoseRequestEndsLeavesTheQueue(t *testing.T) {
	g := database.NewGate(1)
	if err := g.Enter(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Enter(ctx); err == nil {
		t.Fatal("a cancelled request got through a full gate")
	}
	g.Leave()
	if err := g.Enter(context.Background()); err != nil {
		t.Fatal(err)
	}
	var none database.Gate
	if err := none.Enter(ctx); err != nil {
		t.Errorf("a nil gate stopped a caller: %v", err)
	}
	none.Leave()
}
