package batch_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/batch"
)

// Four tasks: one succeeds, one names an unknown operation, one has bad
// params and one is not JSON; results in the input's order.
func Example() {
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"), dredge.WithMonitor(nil))
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	tasks := strings.NewReader(`{"id": "s1", "operation": "string_spectrum", "params": {"max_modes": 3}}
{"operation": "no_such_operation"}
{"id": 7, "operation": "string_spectrum", "params": {"max_modes": "three"}}
not json
`)
	sum, err := batch.Run(context.Background(), eng, tasks, os.Stdout, batch.Options{Ordered: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(sum.TotalTasks, sum.Successful, sum.Failed)
	// Output:
	// {"id":"s1","result":{"success":true,"dimensions":10,"max_modes":3,"energy_spectrum":[0.5,1,1.5],"cached":false}}
	// {"id":"line-2","error":"operation: unknown operation \"no_such_operation\" (known: benchmark, get_cache_stats, get_metrics, get_parameters, inference, lift, list_capabilities, list_models, load_model, string_parameters, string_spectrum, unified_inference, unload_model)","code":"not_found","field":"operation","line":2}
	// {"id":"7","error":"max_modes: must be an integer, got string","code":"invalid_argument","field":"max_modes","line":3}
	// {"id":"line-4","error":"line 4: not a JSON task object: invalid character 'o' in literal null (expecting 'u')","code":"invalid_argument","line":4}
	// 4 1 3
}
