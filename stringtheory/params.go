package stringtheory

import (
	"fmt"
	"slices"
)

// Tensor is one named parameter (or buffer) of a model, stored in the
// model's flat parameter vector at [Offset, Offset+Size()).
type Tensor struct {
	// Name is the PyTorch-compatible name, e.g. "waves.0.A" or "network.0.weight".
	Name string
	// Shape is the tensor's shape; weights of linear layers are [out, in], row-major.
	Shape []int
	// Offset is the tensor's first index in the flat vector.
	Offset int
	// Trainable is false for buffers: the RFF matrix B and batch-norm running statistics.
	Trainable bool
}

// Size reports the number of values of the tensor.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// params is the parameter storage shared by every model: a flat vector of
// values and the tensors that name its parts.
type params struct {
	tensors []Tensor
	values  []float64
}

// add appends a tensor of the given shape and returns its values.
func (p *params) add(name string, trainable bool, shape ...int) []float64 {
	t := Tensor{Name: name, Shape: shape, Offset: len(p.values), Trainable: trainable}
	p.tensors = append(p.tensors, t)
	p.values = append(p.values, make([]float64, t.Size())...)
	return p.values[t.Offset : t.Offset+t.Size()]
}

// Tensors lists the model's tensors in canonical order. The slice is a copy.
func (p *params) Tensors() []Tensor {
	out := slices.Clone(p.tensors)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// Values returns a copy of the flat parameter vector.
func (p *params) Values() []float64 { return slices.Clone(p.values) }

// NumParameters reports the number of trainable values, as PyTorch's
// sum(p.numel() for p in model.parameters()) does.
func (p *params) NumParameters() int {
	n := 0
	for _, t := range p.tensors {
		if t.Trainable {
			n += t.Size()
		}
	}
	return n
}

// Tensor returns the values of the named tensor (a copy) and whether it exists.
func (p *params) Tensor(name string) ([]float64, bool) {
	for _, t := range p.tensors {
		if t.Name == name {
			return slices.Clone(p.values[t.Offset : t.Offset+t.Size()]), true
		}
	}
	return nil, false
}

// SetValues replaces the named tensors' values. Every name must exist and
// every value list must have the tensor's size and hold finite numbers;
// otherwise nothing changes and the error names the tensor. Tensors not
// named keep their values.
func (p *params) SetValues(vals map[string][]float64) error {
	byName := make(map[string]Tensor, len(p.tensors))
	for _, t := range p.tensors {
		byName[t.Name] = t
	}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t, ok := byName[name]
		if !ok {
			return fieldErr("parameters."+name, "the model has no parameter of this name")
		}
		v := vals[name]
		if len(v) != t.Size() {
			return fieldErr("parameters."+name, "needs %d values (shape %v), got %d", t.Size(), t.Shape, len(v))
		}
		if err := checkFinite("parameters."+name, v); err != nil {
			return err
		}
	}
	for _, name := range names {
		t := byName[name]
		copy(p.values[t.Offset:t.Offset+t.Size()], vals[name])
	}
	return nil
}

// SetVector replaces the whole flat vector (for optimisers).
func (p *params) SetVector(v []float64) error {
	if len(v) != len(p.values) {
		return fmt.Errorf("%w: parameter vector of %d values, want %d", ErrInvalidArgument, len(v), len(p.values))
	}
	copy(p.values, v)
	return nil
}
