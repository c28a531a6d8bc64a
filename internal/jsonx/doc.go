// Package jsonx is the one place that chooses the JSON decoder of request
// parameters: [github.com/segmentio/encoding/json], which the MCP go-sdk
// already brings into the module graph.
//
// # Why not encoding/json
//
// Measured on the unified_inference params
// {"dredge_insight":"hello world","quasimoto_coords":[0.1,0.2,0.3],"string_modes":[1,2,3]}
// (best of 4,000 batches of 50, one core, CPU device, no cache):
// decoding takes 1.0 µs with encoding/json and 0.32 µs with segmentio,
// and the whole uncached Engine.CallJSON call 2.0 µs against 1.33 µs,
// a third of the call. Its errors name the field as encoding/json's do,
// with map keys and array indices added ("config.parameters.A", "f.1"),
// which encoding/json leaves out. Inference inputs decode in about half
// the time of a plain encoding/json decode into map[string][]float64
// (BenchmarkInputsDecode), as segmentio hands their bytes to
// Inputs.UnmarshalJSON without scanning them twice first.
//
// # Errors
//
// [Unmarshal] returns errors in encoding/json's shapes, so that callers
// need not know which decoder runs: a *json.SyntaxError is encoding/json's
// own (segmentio's has no offset), and the Value of a
// *json.UnmarshalTypeError names the JSON kind as encoding/json does
// ("string", "bool", "number 1e400") where segmentio quotes the input.
package jsonx
