// Package dredge serves small physics-inspired models — string vibration
// modes, a string-theory MLP, and "Quasimoto" learnable wave functions with
// their SIREN and random-Fourier-feature baselines — through one operation
// table that every adapter (HTTP, MCP, batch, workers) dispatches through.
//
// # The Engine
//
// [New] returns an [Engine] configured by options ([WithDevice],
// [WithDeviceKind], [WithLogger], [WithStringNNDefaults], [FromEnv] …). With
// no options it runs on the CPU and needs nothing else. The Engine is safe
// for concurrent use; [Engine.Close] is idempotent.
//
// # Operations
//
// Each operation has a typed method shaped Method(ctx, *Params) (*Result,
// error) — [Engine.UnifiedInference], [Engine.LoadModel],
// [Engine.Inference], [Engine.StringSpectrum] … — and an entry in the one
// operation table ([Operations], [LookupOperation]). [Engine.Call] decodes
// JSON params and runs the typed method; [Engine.CallJSON] also encodes the
// original DREDGE response: the result's fields with "success": true, or
// {"success": false, "error": …, "code": …}. [Engine.HandleRequest] takes
// the legacy {"operation": …, "params": …} envelope.
//
// # Progress
//
// A caller follows a long-running operation through its context:
// [WithProgress] registers a listener that receives [Progress] reports
// (benchmark reports its epochs), throttled as WithProgress says. The job
// queues of package workers carry them to the job's state.
//
// # Errors
//
// Bad input never panics and never changes state: it yields a
// [*FieldError] naming the field (wrapping [ErrInvalidArgument]). Unknown
// operations and models wrap [ErrNotFound]. [CodeOf] maps any error to its
// stable [Code] ("invalid_argument", "not_found", "unavailable", …).
//
// # Models
//
// load_model registers a model under the id "<model_type>_<n>"; inference
// evaluates it on a batch of points on the Engine's [accel.Device];
// get_parameters returns its named tensors, which load_model's
// config.parameters accepts back to restore it. The science itself lives in
// package [github.com/dredge-cli/dredge/stringtheory].
package dredge
