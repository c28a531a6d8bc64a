package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/workers"
)

// A job runs an operation of the table; its result is the operation's own
// response.
func Example() {
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"))
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	q := workers.NewMemory(workers.MemoryConfig{})
	defer q.Close()
	pool := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: 2})
	pool.Start()
	defer pool.Shutdown(context.Background())

	ctx := context.Background()
	id, err := q.Enqueue(ctx, "string_spectrum", json.RawMessage(`{"max_modes":3}`))
	if err != nil {
		panic(err)
	}
	for {
		s, err := q.Status(ctx, id)
		if err != nil {
			panic(err)
		}
		if s.Status.Final() {
			fmt.Println(s.Status, string(s.Result))
			break
		}
		time.Sleep(time.Millisecond)
	}
	// Output:
	// completed {"success":true,"dimensions":10,"max_modes":3,"energy_spectrum":[0.5,1,1.5],"cached":false}
}
