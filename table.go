package dredge

import "sort"

// The operation table: one row per operation, holding its facts. Each
// row's computation, parameters, result and cache key live in the file of
// its family (models.go, training.go, strings.go, service.go); adding an
// operation means a family file's entry and one row here.
var (
	opCapabilities = def(Operation{
		Name:        "list_capabilities",
		Description: "List the model types, operations and features (caching, metrics, device).",
		ReadOnly:    true,
		Quick:       true,
	}, noParams((*Engine).capabilities), nil)
	opLoadModel = def(Operation{
		Name:        "load_model",
		Description: "Create a model of a type (optionally restoring parameters) and return its model_id.",
		Params:      modelFacts,
	}, (*Engine).loadModel, nil)
	opListModels = def(Operation{
		Name:        "list_models",
		Description: "List the loaded models (with a model store, every stored model): id, type, parameter count and configuration.",
		ReadOnly:    true,
		Quick:       true,
	}, noParams((*Engine).listModels), nil)
	opUnloadModel = def(Operation{
		Name:        "unload_model",
		Description: "Unload a model: its id stops answering, its memory returns to MODEL_MEMORY_LIMIT, its cached results are deleted. With a model store, the stored model is deleted for every node.",
	}, (*Engine).unloadModel, nil)
	opInference = def(Operation{
		Name:        "inference",
		Description: "Evaluate a loaded model at a batch of points.",
		ReadOnly:    true,
	}, (*Engine).inference, inferenceKey).usingModel(func(p *InferenceParams) string { return p.ModelID })
	opGetParameters = def(Operation{
		Name:        "get_parameters",
		Description: "Return a loaded model's named parameters with shapes.",
		ReadOnly:    true,
	}, (*Engine).getParameters, nil)
	opBenchmark = def(Operation{
		Name:         "benchmark",
		Description:  "Train a model with Adam on its data set and report losses and time; with model_id, train that loaded model in place.",
		LongRunning:  true,
		Params:       benchmarkFacts,
		RequireOneOf: []string{"model_type", "model_id"},
	}, (*Engine).benchmark, nil)
	opSpectrum = def(Operation{
		Name:        "string_spectrum",
		Description: "Energy levels E_n = n/2 of a vibrating string for n = 1..max_modes.",
		ReadOnly:    true,
		Quick:       true,
		Params:      spectrumFacts,
	}, (*Engine).stringSpectrum, spectrumKey)
	opStringParameters = def(Operation{
		Name:        "string_parameters",
		Description: "String length, tension and constants for an energy scale and coupling.",
		ReadOnly:    true,
		Quick:       true,
		Params:      stringParametersFacts,
	}, (*Engine).stringParameters, nil)
	opUnified = def(Operation{
		Name:        "unified_inference",
		Description: "Couple an insight with Quasimoto coordinates and string modes: coupled amplitude and unified field.",
		ReadOnly:    true,
		Quick:       true,
		Params:      unifiedFacts,
	}, (*Engine).unifiedInference, unifiedKey)
	opMetrics = def(Operation{
		Name:        "get_metrics",
		Description: "Counters, gauges, histograms and timers of the operations served.",
		ReadOnly:    true,
		Quick:       true,
	}, noParams((*Engine).metrics), nil)
	opCacheStats = def(Operation{
		Name:        "get_cache_stats",
		Description: "Result cache statistics: backend, hits, misses, hit rate, entries.",
		ReadOnly:    true,
	}, noParams((*Engine).cacheStatsResult), nil)
	opLift = def(Operation{
		Name:        "lift",
		Description: "Lift an insight: its id is the SHA-256 hex of the text.",
		ReadOnly:    true,
		Quick:       true,
	}, (*Engine).lift, nil)
)

// table maps names to rows. It is filled by init, not by its declaration:
// list_capabilities lists the table, so a declared table would refer to
// itself through opCapabilities.
var (
	table map[string]*Operation
	names []string
)

func init() {
	table = make(map[string]*Operation)
	for _, o := range []*Operation{
		&opCapabilities.Operation, &opLoadModel.Operation, &opListModels.Operation,
		&opUnloadModel.Operation, &opInference.Operation,
		&opGetParameters.Operation, &opBenchmark.Operation, &opSpectrum.Operation,
		&opStringParameters.Operation, &opUnified.Operation, &opMetrics.Operation,
		&opCacheStats.Operation, &opLift.Operation,
	} {
		table[o.Name] = o
		names = append(names, o.Name)
	}
	sort.Strings(names)
}

// Operations returns the names of all operations, sorted.
func Operations() []string {
	return append([]string(nil), names...)
}

// LookupOperation returns the table entry of an operation.
func LookupOperation(name string) (Operation, bool) {
	o, ok := table[name]
	if !ok {
		return Operation{}, false
	}
	return *o, true
}
