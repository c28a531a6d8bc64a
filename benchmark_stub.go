//go:build !dredge_train

package dredge

import "context"

// BenchmarkParams are benchmark's parameters.
type BenchmarkParams struct {
	ModelType string      `json:"model_type,omitempty"`
	ModelID   string      `json:"model_id,omitempty"`
	Config    ModelConfig `json:"config,omitzero"`
}

// Benchmark is not available yet.
func (e *Engine) Benchmark(ctx context.Context, p *BenchmarkParams) (*NoParams, error) {
	return nil, &Error{Code: CodeUnavailable, Message: "benchmark: training is not built yet", Err: ErrUnavailable}
}
