package mcp_test

import (
	"context"
	"fmt"
	"log"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/mcp"
)

// Serve an Engine over the SDK's in-memory transports, list the tools and
// call two of them: one good call, one bad.
func Example() {
	ctx := context.Background()
	eng, err := dredge.New()
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	clientT, serverT := sdk.NewInMemoryTransports()
	ss, err := mcp.NewServer(eng, nil).Connect(ctx, serverT, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ss.Wait()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "example", Version: "1"}, nil).Connect(ctx, clientT, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()

	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tool.Name)
	}

	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "string_spectrum", Arguments: map[string]any{"max_modes": 3}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(*sdk.TextContent).Text)

	res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "string_spectrum", Arguments: map[string]any{"max_modes": 0}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.IsError, res.Content[0].(*sdk.TextContent).Text)

	// Output:
	// benchmark
	// get_cache_stats
	// get_metrics
	// get_parameters
	// inference
	// lift
	// list_capabilities
	// list_models
	// load_model
	// string_parameters
	// string_spectrum
	// unified_inference
	// unload_model
	// {"success":true,"dimensions":10,"max_modes":3,"energy_spectrum":[0.5,1,1.5],"cached":false}
	// true invalid_argument: max_modes: must be between 1 and 100000, got 0
}
