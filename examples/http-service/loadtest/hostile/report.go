package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dredge-cli/dredge"
)

// report is what a run found; -json prints it as is.
type report struct {
	Target                string            `json:"target"`
	PID                   int               `json:"pid,omitempty"`
	Budget                string            `json:"budget,omitempty"` // MODEL_MEMORY_LIMIT given to the started service
	RequestTimeoutSeconds float64           `json:"request_timeout_seconds"`
	Interrupted           bool              `json:"interrupted,omitempty"`
	Phases                []phaseReport     `json:"phases"`
	Patterns              []patternRep      `json:"patterns"`
	RSS                   *rssReport        `json:"rss,omitempty"`
	Resources             *dredge.Resources `json:"resources,omitempty"` // list_capabilities at the end
	Peak                  peakResources     `json:"peak_resources"`      // the largest figures polled during the run
	ModelsChecked         int               `json:"models_checked"`
	ModelsAnswering       int               `json:"models_answering"`
	Alive                 bool              `json:"alive"`
	Server                *serverOutcome    `json:"server,omitempty"`
	Failures              []string          `json:"failures"`
}

type phaseReport struct {
	Name      string           `json:"name"`
	Seconds   float64          `json:"seconds"`
	Endpoints []endpointReport `json:"endpoints"`
}

// endpointReport is the latency of one ordinary endpoint's answered
// requests in one phase.
type endpointReport struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// patternRep counts one pattern's answers by status, over the whole run.
type patternRep struct {
	Name      string      `json:"name"`
	Requests  int         `json:"requests"`
	Statuses  map[int]int `json:"statuses"`
	Errors    int         `json:"errors"`    // no answer: connection errors, client timeouts
	Cancelled int         `json:"cancelled"` // in flight when the phase ended
	Expected  []int       `json:"expected"`
	P50Ms     float64     `json:"p50_ms"`
	MaxMs     float64     `json:"max_ms"`
}

type rssReport struct {
	PeakHWMBytes    int64            `json:"peak_hwm_bytes"`    // VmHWM at the end: the process's peak
	MaxSampledBytes int64            `json:"max_sampled_bytes"` // the largest VmRSS sampled every 100 ms
	ByPhaseBytes    map[string]int64 `json:"by_phase_bytes"`    // the same per phase
	EndBytes        int64            `json:"end_bytes"`         // VmRSS at the end
	Samples         int              `json:"samples"`
	PeakOverBudget  float64          `json:"peak_over_budget"` // peak RSS / model_memory_limit_bytes
}

// serverOutcome is how the started service stopped.
type serverOutcome struct {
	ExitAfterSIGTERM string  `json:"exit_after_sigterm"` // "0", or what went wrong
	StopSeconds      float64 `json:"stop_seconds"`
}

func (r *report) fail(msg string) { r.Failures = append(r.Failures, msg) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r *recorder) phases(names []string, took []time.Duration) []phaseReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []phaseReport
	for i, name := range names {
		p := phaseReport{Name: name, Seconds: took[i].Round(time.Millisecond).Seconds()}
		for _, ep := range []string{patHealth, patUnified} {
			d := slices.Clone(r.latencies[name+" "+ep])
			slices.Sort(d)
			e := endpointReport{Name: ep, Count: len(d)}
			if len(d) > 0 {
				e.P50Ms, e.P99Ms, e.MaxMs = ms(quantile(d, 0.5)), ms(quantile(d, 0.99)), ms(d[len(d)-1])
			}
			p.Endpoints = append(p.Endpoints, e)
		}
		out = append(out, p)
	}
	return out
}

func (r *recorder) patternReports() []patternRep {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []patternRep
	for _, name := range patternOrder {
		st := r.patterns[name]
		if st == nil {
			continue
		}
		p := patternRep{Name: name, Statuses: maps.Clone(st.statuses), Errors: st.errors, Cancelled: st.cancelled, Expected: expected[name]}
		for _, n := range st.statuses {
			p.Requests += n
		}
		p.Requests += st.errors
		d := slices.Clone(st.latencies)
		slices.Sort(d)
		if len(d) > 0 {
			p.P50Ms, p.MaxMs = ms(quantile(d, 0.5)), ms(d[len(d)-1])
		}
		out = append(out, p)
	}
	return out
}

func (r *recorder) failureList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, msg := range r.failOrder {
		if n := r.failures[msg]; n > 1 {
			msg = fmt.Sprintf("%s (×%d)", msg, n)
		}
		out = append(out, msg)
	}
	return out
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// print writes the report for a reader.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "hostile-client run against %s", r.Target)
	if r.PID != 0 {
		fmt.Fprintf(w, " (started service, pid %d, MODEL_MEMORY_LIMIT=%s", r.PID, r.Budget)
		fmt.Fprintf(w, ", REQUEST_TIMEOUT=%gs)", r.RequestTimeoutSeconds)
	} else {
		fmt.Fprintf(w, " (client timeouts for REQUEST_TIMEOUT=%gs; no RSS)", r.RequestTimeoutSeconds)
	}
	fmt.Fprintln(w)
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the phases ended early")
	}

	fmt.Fprintln(w, "\nordinary traffic, latency of answered requests (ms):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\tphase\tseconds\tcount\tp50\tp99\tmax\t")
	p99 := map[string]map[string]float64{}
	for _, p := range r.Phases {
		for _, e := range p.Endpoints {
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%d\t%.2f\t%.2f\t%.2f\t\n", e.Name, p.Name, p.Seconds, e.Count, e.P50Ms, e.P99Ms, e.MaxMs)
			if p99[e.Name] == nil {
				p99[e.Name] = map[string]float64{}
			}
			p99[e.Name][p.Name] = e.P99Ms
		}
	}
	tw.Flush()
	for _, ep := range []string{patHealth, patUnified} {
		q, h := p99[ep][phaseQuiet], p99[ep][phaseHostile]
		if q > 0 && h > 0 {
			fmt.Fprintf(w, "p99 %s: %.2f ms quiet, %.2f ms hostile (×%.1f)\n", ep, q, h, h/q)
		}
	}

	fmt.Fprintln(w, "\nrequests by pattern (whole run):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "pattern\trequests\tstatuses\texpected\tno answer\tcancelled at end\tp50 ms\tmax ms")
	for _, p := range r.Patterns {
		var st []string
		for _, code := range slices.Sorted(maps.Keys(p.Statuses)) {
			st = append(st, fmt.Sprintf("%d×%d", code, p.Statuses[code]))
		}
		var ex []string
		for _, code := range p.Expected {
			ex = append(ex, fmt.Sprint(code))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%.1f\t%.1f\n", p.Name, p.Requests, strings.Join(st, " "), strings.Join(ex, ","), p.Errors, p.Cancelled, p.P50Ms, p.MaxMs)
	}
	tw.Flush()

	fmt.Fprintln(w)
	limit := int64(0)
	if r.Resources != nil {
		limit = r.Resources.ModelMemoryLimitBytes
	}
	if m := r.RSS; m != nil {
		fmt.Fprintf(w, "memory: peak RSS (VmHWM) %s; max sampled VmRSS %s", mib(m.PeakHWMBytes), mib(m.MaxSampledBytes))
		var parts []string
		for _, ph := range []string{"start", phaseQuiet, phaseHostile, "end"} {
			if b, ok := m.ByPhaseBytes[ph]; ok {
				parts = append(parts, ph+" "+mib(b))
			}
		}
		fmt.Fprintf(w, " (%s); at the end %s; %d samples\n", strings.Join(parts, ", "), mib(m.EndBytes), m.Samples)
		if limit > 0 {
			fmt.Fprintf(w, "budget: MODEL_MEMORY_LIMIT=%s = %s; peak RSS is %.2f of it (the budget counts model memory, not the whole process)\n",
				r.Budget, mib(limit), m.PeakOverBudget)
		}
	}
	if x := r.Resources; x != nil {
		fmt.Fprintf(w, "resources at the end: model_memory_bytes %d (%s) of model_memory_limit_bytes %d (%s), models_loaded %d of max_models %d, heavy_calls %d of max_concurrent_heavy %d\n",
			x.ModelMemoryBytes, mib(x.ModelMemoryBytes), x.ModelMemoryLimitBytes, mib(x.ModelMemoryLimitBytes), x.ModelsLoaded, x.MaxModels, x.HeavyCalls, x.MaxConcurrentHeavy)
	}
	fmt.Fprintf(w, "resources peaks over %d polls: model_memory_bytes %d (%s), models_loaded %d, heavy_calls %d\n",
		r.Peak.Polls, r.Peak.ModelMemoryBytes, mib(r.Peak.ModelMemoryBytes), r.Peak.ModelsLoaded, r.Peak.HeavyCalls)
	fmt.Fprintf(w, "models answering a small inference at the end: %d of %d\n", r.ModelsAnswering, r.ModelsChecked)
	if r.Server != nil {
		fmt.Fprintf(w, "service stopped by SIGTERM in %.1f s, exit status %s\n", r.Server.StopSeconds, r.Server.ExitAfterSIGTERM)
	}
	alive := "no"
	if r.Alive {
		alive = "yes"
	}
	fmt.Fprintf(w, "alive: %s\n", alive)
	if len(r.Failures) == 0 {
		fmt.Fprintln(w, "failures: none")
		return
	}
	fmt.Fprintf(w, "failures (%d distinct):\n", len(r.Failures))
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  - %s\n", f)
	}
}
