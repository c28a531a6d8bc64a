package dredge_test

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/jsonx"
)

// inputsJSON returns {"x":[…],"t":[…]} with n random numbers in each
// column, as a client would send them (shortest float formatting).
func inputsJSON(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := []byte(`{"x":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, r.NormFloat64()*10, 'g', -1, 64)
	}
	b = append(b, `],"t":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, r.Float64(), 'g', -1, 64)
	}
	return append(b, "]}"...)
}

// BenchmarkInputsDecode decodes two columns of n numbers each into
// [dredge.Inputs] with the params' decoder (internal/jsonx), as an
// inference request's params are decoded, and in the same loop into a
// plain map[string][]float64 with encoding/json. It reports both times and
// their ratio (the target is at most 1.2).
func BenchmarkInputsDecode(b *testing.B) {
	for _, n := range []int{1e4, 1e6} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			data := inputsJSON(n)
			var plain, ours time.Duration
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				t0 := time.Now()
				var m map[string][]float64
				if err := json.Unmarshal(data, &m); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				var in dredge.Inputs
				if err := jsonx.Unmarshal(data, &in); err != nil {
					b.Fatal(err)
				}
				ours += time.Since(t1)
				plain += t1.Sub(t0)
				if len(in["x"].Data) != n || len(m["t"]) != n {
					b.Fatal("short decode")
				}
			}
			b.ReportMetric(float64(plain.Microseconds())/float64(b.N), "plain-µs")
			b.ReportMetric(float64(ours.Microseconds())/float64(b.N), "inputs-µs")
			b.ReportMetric(float64(ours)/float64(plain), "ratio")
		})
	}
}
