package modelstore_test

import (
	"context"
	"fmt"

	"github.com/dredge-cli/dredge/modelstore"
	"github.com/dredge-cli/dredge/stringtheory"
)

// Two nodes share a store: one creates a model and trains it, the other
// sees that its copy is stale by the version and reads the new values.
func Example() {
	ctx := context.Background()
	store := modelstore.NewMemory() // or NewDir(path), NewRedis(cfg)
	defer store.Close()

	id, _ := store.NewID(ctx, "quasimoto_1d")
	v, _ := store.Create(ctx, &modelstore.Model{ID: id, Type: "quasimoto_1d", Config: stringtheory.Config{}, Values: []float64{1, 2}})
	fmt.Println(id, "version", v)

	copyVersion := v
	_, _ = store.Update(ctx, id, []float64{3, 4}) // training finished elsewhere
	if now, _ := store.Version(ctx, id); now != copyVersion {
		m, _ := store.Get(ctx, id)
		fmt.Println("stale copy; now version", m.Version, m.Values)
	}
	// Output:
	// quasimoto_1d_0 version 1
	// stale copy; now version 2 [3 4]
}
