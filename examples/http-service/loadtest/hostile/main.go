package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/stringtheory"
)

// options are the run's settings, from the flags.
type options struct {
	url            string        // the service's base URL, loopback only
	quiet          time.Duration // the quiet phase
	duration       time.Duration // the hostile phase
	requestTimeout time.Duration // the service's REQUEST_TIMEOUT
	clients        int           // ordinary closed-loop clients
	pause          time.Duration // between an ordinary client's requests
	hostilePause   time.Duration // between a hostile goroutine's requests
	inferrers      int           // goroutines sending large inferences
	trainers       int           // goroutines sending long trainings
	overRows       int           // rows of an inference over the work limit
	underRows      int           // rows of an inference under it
	bigHidden      int           // the inference model's width
	bigLayers      int           // and layers
	dims           int           // and input width: values per row
	legalHidden    int           // the repeatedly loaded model's width
	legalLayers    int           // and layers
	oversizeHidden int           // the oversize model's width
	oversizeLayers int           // and layers
	epochs         int           // of each training
	budget         string        // MODEL_MEMORY_LIMIT given to the child, for the report
	pid            int           // the service's process (0: unknown, no RSS)
	exited         <-chan struct{}
}

func defaultOptions() options {
	return options{
		url:            "http://127.0.0.1:3001",
		quiet:          20 * time.Second,
		duration:       60 * time.Second,
		requestTimeout: 30 * time.Second,
		clients:        2,
		pause:          10 * time.Millisecond,
		hostilePause:   10 * time.Millisecond,
		inferrers:      7,
		trainers:       4,
		overRows:       100_000,
		underRows:      40_000,
		bigHidden:      2048,
		bigLayers:      2,
		dims:           10,
		legalHidden:    512,
		legalLayers:    10,
		oversizeHidden: 4096,
		oversizeLayers: 10,
		epochs:         50_000,
		budget:         "1GiB",
	}
}

func main() {
	os.Exit(mainCode())
}

func mainCode() int {
	o := defaultOptions()
	server := flag.String("server", "", "path of a built examples/http-service binary to start on a free 127.0.0.1 port")
	serverLog := flag.String("server-log", "", "file for the started service's logs (default: kept in memory, the tail shown if it dies)")
	asJSON := flag.Bool("json", false, "print the report as one JSON object")
	flag.StringVar(&o.url, "url", o.url, "base URL of a running service (loopback only), when -server is not given")
	flag.StringVar(&o.budget, "budget", o.budget, "MODEL_MEMORY_LIMIT of the started service")
	flag.DurationVar(&o.requestTimeout, "request-timeout", o.requestTimeout, "REQUEST_TIMEOUT of the started service (or the target's, for client timeouts)")
	flag.DurationVar(&o.quiet, "quiet", o.quiet, "length of the quiet phase (ordinary traffic only)")
	flag.DurationVar(&o.duration, "duration", o.duration, "length of the hostile phase")
	flag.IntVar(&o.clients, "clients", o.clients, "ordinary closed-loop clients")
	flag.DurationVar(&o.pause, "pause", o.pause, "pause between an ordinary client's requests")
	flag.DurationVar(&o.hostilePause, "hostile-pause", o.hostilePause, "pause between a hostile goroutine's requests")
	flag.IntVar(&o.inferrers, "inferrers", o.inferrers, "goroutines sending large inferences")
	flag.IntVar(&o.trainers, "trainers", o.trainers, "goroutines sending long trainings")
	flag.IntVar(&o.overRows, "over-rows", o.overRows, "rows of an inference over the work limit")
	flag.IntVar(&o.underRows, "under-rows", o.underRows, "rows of an inference under the work limit")
	flag.IntVar(&o.bigHidden, "big-hidden", o.bigHidden, "hidden_size of the string_theory model the large inferences use")
	flag.IntVar(&o.bigLayers, "big-layers", o.bigLayers, "num_layers of that model")
	flag.IntVar(&o.dims, "dims", o.dims, "dimensions (input width, values per row) of that model")
	flag.IntVar(&o.legalHidden, "legal-hidden", o.legalHidden, "hidden_size of the legal model loaded again and again")
	flag.IntVar(&o.legalLayers, "legal-layers", o.legalLayers, "num_layers of that model")
	flag.IntVar(&o.oversizeHidden, "oversize-hidden", o.oversizeHidden, "hidden_size of the oversize model")
	flag.IntVar(&o.oversizeLayers, "oversize-layers", o.oversizeLayers, "num_layers of the oversize model")
	flag.IntVar(&o.epochs, "epochs", o.epochs, "epochs of each training")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var child *process
	if *server != "" {
		var logw io.Writer
		if *serverLog != "" {
			f, err := os.Create(*serverLog)
			if err != nil {
				fmt.Fprintln(os.Stderr, "hostile:", err)
				return 2
			}
			defer f.Close()
			logw = f
		}
		var err error
		child, err = startServer(ctx, *server, o, logw)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 1
		}
		o.url, o.pid, o.exited = child.url, child.cmd.Process.Pid, child.done
	} else if err := checkLoopback(o.url); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 2
	}

	rep := run(ctx, o)
	if child != nil {
		rep.Server = child.stop()
		if !rep.Alive || rep.Server.ExitAfterSIGTERM != "0" {
			fmt.Fprintf(os.Stderr, "hostile: the service's log, last lines:\n%s\n", child.logs.tail())
		}
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
		rep.fail("interrupted before the end")
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(os.Stdout)
	}
	if len(rep.Failures) > 0 {
		return 1
	}
	return 0
}

func (o *options) check() error {
	switch {
	case o.quiet < 0 || o.duration <= 0:
		return errors.New("-quiet must not be negative and -duration must be positive")
	case o.requestTimeout <= 0:
		return errors.New("-request-timeout must be positive")
	case o.clients < 1:
		return errors.New("-clients must be at least 1")
	case o.inferrers < 0 || o.trainers < 0:
		return errors.New("-inferrers and -trainers must not be negative")
	case o.overRows < 1 || o.underRows < 1:
		return errors.New("-over-rows and -under-rows must be at least 1")
	case o.dims < 1 || o.dims > 1000:
		return errors.New("-dims must be between 1 and 1000")
	case o.epochs < 1:
		return errors.New("-epochs must be at least 1")
	}
	return nil
}

// checkLoopback refuses a URL whose host is not a loopback address: this
// program attacks, so it only attacks its own machine.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %v", err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("-url: want an http:// URL, got %q", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url: %q is not a loopback address (127.0.0.0/8, ::1 or localhost); this program only targets its own machine", host)
}

// Pattern names: the ordinary calls, the hostile ones and the checks.
const (
	patHealth        = "health"
	patUnified       = "unified_inference"
	patSetup         = "setup_load"
	patOversize      = "oversize_load"
	patLegal         = "legal_load"
	patOverLimit     = "inference_over_limit"
	patUnderLimit    = "inference_under_limit"
	patTraining      = "training"
	patProbe         = "resources_probe"
	patFinalModel    = "final_model_check"
	patAlive         = "alive_check"
	phaseQuiet       = "quiet"
	phaseHostile     = "hostile"
	maxFailureDetail = 300
)

// expected lists the statuses each pattern may answer; any other is a failure.
var expected = map[string][]int{
	patHealth:     {200},
	patUnified:    {200},
	patSetup:      {200},
	patOversize:   {400},
	patLegal:      {200, 429},
	patOverLimit:  {400},
	patUnderLimit: {200, 503},
	patTraining:   {200, 429, 503},
	patProbe:      {200},
	patFinalModel: {200, 503}, // 503: tried again; no 200 in the end is a failure
	patAlive:      {200},
}

var patternOrder = []string{patHealth, patUnified, patSetup, patOversize, patLegal, patOverLimit, patUnderLimit, patTraining, patProbe, patFinalModel, patAlive}

// recorder collects what the requests saw.
type recorder struct {
	mu        sync.Mutex
	latencies map[string][]time.Duration // phase + " " + pattern (ordinary calls)
	patterns  map[string]*patternStats
	failures  map[string]int
	failOrder []string
	loaded    []string // models loaded by legal_load
}

type patternStats struct {
	statuses  map[int]int
	errors    int
	cancelled int
	latencies []time.Duration
}

func newRecorder() *recorder {
	return &recorder{latencies: map[string][]time.Duration{}, patterns: map[string]*patternStats{}, failures: map[string]int{}}
}

func (r *recorder) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(msg) > maxFailureDetail {
		msg = msg[:maxFailureDetail] + "…"
	}
	if r.failures[msg] == 0 {
		r.failOrder = append(r.failOrder, msg)
	}
	r.failures[msg]++
}

func (r *recorder) stats(pattern string) *patternStats {
	p := r.patterns[pattern]
	if p == nil {
		p = &patternStats{statuses: map[int]int{}}
		r.patterns[pattern] = p
	}
	return p
}

// result is one request's outcome.
type result struct {
	status int
	body   []byte
	header http.Header
	took   time.Duration
	err    error
}

// client sends the requests and records them.
type client struct {
	base  string
	http  *http.Client
	rec   *recorder
	phase func() string // the phase ordinary latencies are recorded under
}

func newClient(base string, timeout time.Duration, rec *recorder) *client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, never through a proxy
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: timeout}, rec: rec}
}

// do sends one request of pattern and records its status and latency. A
// request cancelled by ctx (the phase ended) is counted apart; any other
// transport error is a failure. A status the pattern does not expect is a
// failure.
func (c *client) do(ctx context.Context, pattern, method, path string, body io.Reader, size int64) result {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		c.rec.fail(fmt.Sprintf("%s: %v", pattern, err))
		return result{err: err}
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	var res result
	if err == nil {
		res.body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		res.status, res.header = resp.StatusCode, resp.Header
	}
	res.took, res.err = time.Since(start), err

	c.rec.mu.Lock()
	st := c.rec.stats(pattern)
	switch {
	case err != nil && ctx.Err() != nil:
		st.cancelled++
	case err != nil:
		st.errors++
	default:
		st.statuses[res.status]++
		st.latencies = append(st.latencies, res.took)
		if pattern == patHealth || pattern == patUnified {
			k := c.phase() + " " + pattern
			c.rec.latencies[k] = append(c.rec.latencies[k], res.took)
		}
	}
	c.rec.mu.Unlock()

	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil:
		c.rec.fail(fmt.Sprintf("%s: no answer (a dead or stuck process?): %v", pattern, err))
	case !slices.Contains(expected[pattern], res.status):
		c.rec.fail(fmt.Sprintf("%s: unexpected status %d: %s", pattern, res.status, bytes.TrimSpace(res.body)))
	case res.status == http.StatusTooManyRequests && !bytes.Contains(res.body, []byte(`"resource_exhausted"`)):
		c.rec.fail(fmt.Sprintf("%s: 429 without resource_exhausted: %s", pattern, bytes.TrimSpace(res.body)))
	}
	return res
}

func (c *client) post(ctx context.Context, pattern, path string, body []byte) result {
	return c.do(ctx, pattern, http.MethodPost, path, bytes.NewReader(body), int64(len(body)))
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ordinary runs one closed-loop client until ctx is done: GET /health and
// POST unified_inference with a distinct insight, in turn.
func ordinary(ctx context.Context, c *client, id int, pause time.Duration) {
	stamp := time.Now().UnixNano()
	for n := 0; ctx.Err() == nil; n++ {
		if n%2 == 0 {
			c.do(ctx, patHealth, http.MethodGet, "/health", nil, 0)
		} else {
			body := fmt.Sprintf(`{"dredge_insight":"hostile %d-%d-%d","quasimoto_coords":[0.5],"string_modes":[1,2,3]}`, stamp, id, n)
			c.post(ctx, patUnified, "/v1/ops/unified_inference", []byte(body))
		}
		if !sleep(ctx, pause) {
			return
		}
	}
}

func loadBody(hidden, layers int) []byte {
	return fmt.Appendf(nil, `{"model_type":"string_theory","config":{"hidden_size":%d,"num_layers":%d}}`, hidden, layers)
}

// rowsBody returns the rows of an inference after its first one: n-1 rows
// of dims short values (0.00 to 0.99), then the closing brackets. The
// first row, written per request, makes each request distinct, so that
// none is a cache hit. Rows of one value are sent as a flat column, which
// the service reads as well and faster.
func rowsBody(n, dims int) []byte {
	var b bytes.Buffer
	b.Grow(n * (3 + 5*dims))
	x := uint32(12345)
	for range n - 1 {
		if dims == 1 {
			x = x*1664525 + 1013904223
			d := x >> 24 % 100
			b.Write([]byte{',', '0', '.', byte('0' + d/10), byte('0' + d%10)})
			continue
		}
		b.WriteString(",[")
		for j := range dims {
			x = x*1664525 + 1013904223
			if j > 0 {
				b.WriteByte(',')
			}
			d := x >> 24 % 100
			b.Write([]byte{'0', '.', byte('0' + d/10), byte('0' + d%10)})
		}
		b.WriteByte(']')
	}
	b.WriteString("]}}")
	return b.Bytes()
}

// inference sends an inference of model: a first row made distinct by n
// (dims values), then rest (from rowsBody).
func (c *client) inference(ctx context.Context, pattern, model string, n int64, dims int, rest []byte) result {
	head := fmt.Appendf(nil, `{"model_id":%q,"inputs":{"x":[[%d.5%s]`, model, n, strings.Repeat(",0", dims-1))
	if dims == 1 {
		head = fmt.Appendf(nil, `{"model_id":%q,"inputs":{"x":[%d.5`, model, n)
	}
	size := int64(len(head) + len(rest))
	return c.do(ctx, pattern, http.MethodPost, "/v1/ops/inference", io.MultiReader(bytes.NewReader(head), bytes.NewReader(rest)), size)
}

// resources reads list_capabilities' resources object.
func (c *client) resources(ctx context.Context) (*dredge.Resources, error) {
	res := c.post(ctx, patProbe, "/v1/ops/list_capabilities", []byte(`{}`))
	if res.err != nil {
		return nil, res.err
	}
	if res.status != http.StatusOK {
		return nil, fmt.Errorf("list_capabilities: status %d", res.status)
	}
	var v struct {
		Resources *dredge.Resources `json:"resources"`
	}
	if err := json.Unmarshal(res.body, &v); err != nil || v.Resources == nil {
		return nil, fmt.Errorf("list_capabilities: no resources object (%v)", err)
	}
	return v.Resources, nil
}

// memSampler keeps the largest VmRSS sampled, per phase and in all.
type memSampler struct {
	mu      sync.Mutex
	phase   string
	max     int64
	byPhase map[string]int64
	samples int
	lastErr error
}

// readStatus reads VmHWM and VmRSS (bytes) from /proc/PID/status.
func readStatus(pid int) (hwm, rss int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %v", pid, err)
		}
		if name == "VmHWM" {
			hwm = kb << 10
		} else {
			rss = kb << 10
		}
	}
	if hwm == 0 || rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmHWM or VmRSS", pid)
	}
	return hwm, rss, nil
}

func (m *memSampler) sample(pid int) {
	_, rss, err := readStatus(pid)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.lastErr = err
		return
	}
	m.samples++
	m.max = max(m.max, rss)
	m.byPhase[m.phase] = max(m.byPhase[m.phase], rss)
}

func (m *memSampler) setPhase(p string) {
	m.mu.Lock()
	m.phase = p
	m.mu.Unlock()
}

// run runs both phases against o.url and the final checks, and returns the report.
func run(ctx context.Context, o options) *report {
	rec := newRecorder()
	clientTimeout := o.requestTimeout + 10*time.Second
	c := newClient(o.url, clientTimeout, rec)
	defer c.http.CloseIdleConnections()
	var phaseMu sync.Mutex
	phase := phaseQuiet
	c.phase = func() string { phaseMu.Lock(); defer phaseMu.Unlock(); return phase }
	setPhase := func(p string, m *memSampler) {
		phaseMu.Lock()
		phase = p
		phaseMu.Unlock()
		if m != nil {
			m.setPhase(p)
		}
	}
	rep := &report{
		Target:                o.url,
		PID:                   o.pid,
		Budget:                o.budget,
		RequestTimeoutSeconds: o.requestTimeout.Seconds(),
	}

	// RSS every 100 ms, for the whole run.
	var mem *memSampler
	stopMem := func() {}
	if o.pid != 0 {
		mem = &memSampler{phase: "start", byPhase: map[string]int64{}}
		mctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				mem.sample(o.pid)
				if !sleep(mctx, 100*time.Millisecond) {
					return
				}
			}
		}()
		stopMem = func() { cancel(); <-done }
	} else {
		rep.Budget = ""
	}

	// The model the large inferences use, loaded before the quiet phase.
	var bigModel string
	if o.inferrers > 0 {
		body := fmt.Appendf(nil, `{"model_type":"string_theory","config":{"hidden_size":%d,"num_layers":%d,"dimensions":%d}}`, o.bigHidden, o.bigLayers, o.dims)
		res := c.post(ctx, patSetup, "/v1/ops/load_model", body)
		var v struct {
			ModelID     string `json:"model_id"`
			NParameters int64  `json:"n_parameters"`
		}
		if res.status == http.StatusOK {
			_ = json.Unmarshal(res.body, &v)
		}
		if bigModel = v.ModelID; bigModel == "" {
			rec.fail("setup: the inference model was not loaded, the inference patterns are skipped")
		} else {
			// The sizes must fall on the intended sides of the work limit.
			p := float64(v.NParameters)
			if float64(o.overRows)*p <= stringtheory.MaxWork {
				rec.fail(fmt.Sprintf("setup: -over-rows %d × %d parameters is not over the work limit 2^38", o.overRows, v.NParameters))
			}
			if float64(o.underRows)*p > stringtheory.MaxWork {
				rec.fail(fmt.Sprintf("setup: -under-rows %d × %d parameters is over the work limit 2^38", o.underRows, v.NParameters))
			}
		}
	}

	// The inference bodies, built before the clock starts.
	var over, under []byte
	if bigModel != "" {
		over, under = rowsBody(o.overRows, o.dims), rowsBody(o.underRows, o.dims)
	}

	// Phase 1: quiet.
	setPhase(phaseQuiet, mem)
	var probe probeStats
	// startBase starts what both phases run: the ordinary clients and the
	// resources probe.
	startBase := func(pctx context.Context, wg *sync.WaitGroup) {
		for i := range o.clients {
			wg.Go(func() { ordinary(pctx, c, i, o.pause) })
		}
		wg.Go(func() { probe.loop(pctx, c) })
	}
	start := time.Now()
	if o.quiet > 0 {
		pctx, cancel := context.WithTimeout(ctx, o.quiet)
		var wg sync.WaitGroup
		startBase(pctx, &wg)
		wg.Wait()
		cancel()
	}
	quietTook := time.Since(start)

	// Phase 2: hostile.
	setPhase(phaseHostile, mem)
	start = time.Now()
	if ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, o.duration)
		var wg sync.WaitGroup
		startBase(pctx, &wg)
		wg.Go(func() {
			body := loadBody(o.oversizeHidden, o.oversizeLayers)
			for sleep(pctx, o.hostilePause) {
				c.post(pctx, patOversize, "/v1/ops/load_model", body)
			}
		})
		wg.Go(func() {
			body := loadBody(o.legalHidden, o.legalLayers)
			for sleep(pctx, o.hostilePause) {
				res := c.post(pctx, patLegal, "/v1/ops/load_model", body)
				if res.status == http.StatusOK {
					if id := modelID(res.body); id != "" {
						rec.mu.Lock()
						rec.loaded = append(rec.loaded, id)
						rec.mu.Unlock()
					} else {
						rec.fail("legal_load: 200 without a model_id")
					}
				}
			}
		})
		if bigModel != "" {
			for i := range o.inferrers {
				wg.Go(func() {
					// Over and under the limit in turn, half the goroutines
					// starting with each; n makes every request distinct.
					for k := 0; sleep(pctx, o.hostilePause); k++ {
						n := int64(i + k*o.inferrers)
						if (i+k)%2 == 0 {
							c.inference(pctx, patOverLimit, bigModel, n, o.dims, over)
						} else {
							c.inference(pctx, patUnderLimit, bigModel, n, o.dims, under)
						}
					}
				})
			}
		}
		body := fmt.Appendf(nil, `{"model_type":"siren","config":{"epochs":%d}}`, o.epochs)
		for range o.trainers {
			wg.Go(func() {
				for sleep(pctx, o.hostilePause) {
					c.post(pctx, patTraining, "/v1/ops/benchmark", body)
				}
			})
		}
		wg.Wait()
		cancel()
	}
	hostileTook := time.Since(start)
	setPhase("end", mem)

	// The checks, with a context of their own: an interrupted run still checks.
	cctx, cancel := context.WithTimeout(context.Background(), 2*clientTimeout)
	defer cancel()
	exited := false
	if o.exited != nil {
		select {
		case <-o.exited:
			exited = true
		default:
		}
	}
	h := c.do(cctx, patAlive, http.MethodGet, "/health", nil, 0)
	rep.Alive = !exited && h.err == nil && h.status == http.StatusOK
	if !rep.Alive {
		rec.fail(fmt.Sprintf("not alive at the end: exited %v, /health status %d, error %v", exited, h.status, h.err))
	}
	if r, err := c.resources(cctx); err != nil {
		rec.fail(fmt.Sprintf("resources at the end: %v", err))
	} else {
		rep.Resources = r
	}
	models := rec.loadedModels()
	if bigModel != "" {
		models = append([]string{bigModel}, models...)
	}
	if !rep.Alive && len(models) > 0 {
		rec.fail(fmt.Sprintf("%d models not checked: the service is not alive", len(models)))
		models = nil
	}
	for _, id := range models {
		rep.ModelsChecked++
		if finalInference(cctx, c, id, bigModel, o.dims) {
			rep.ModelsAnswering++
		} else {
			rec.fail(fmt.Sprintf("model %s does not answer a small inference with 200 at the end", id))
		}
	}

	stopMem()
	if mem != nil {
		m := &rssReport{MaxSampledBytes: mem.max, ByPhaseBytes: mem.byPhase, Samples: mem.samples}
		if hwm, rss, err := readStatus(o.pid); err == nil {
			m.PeakHWMBytes, m.EndBytes = hwm, rss
		} else {
			rec.fail(fmt.Sprintf("RSS at the end: %v", err))
		}
		if rep.Resources != nil && rep.Resources.ModelMemoryLimitBytes > 0 {
			m.PeakOverBudget = float64(max(m.PeakHWMBytes, m.MaxSampledBytes)) / float64(rep.Resources.ModelMemoryLimitBytes)
		}
		rep.RSS = m
	}
	rep.Peak = probe.peak()
	rep.Phases = rec.phases([]string{phaseQuiet, phaseHostile}, []time.Duration{quietTook, hostileTook})
	rep.Patterns = rec.patternReports()
	rep.Failures = rec.failureList()
	return rep
}

// finalInference asks model id for a one-row inference, and again after
// Retry-After (at most 2 s) when it answers 503: work cancelled when the
// phase ended may still be stopping. It reports whether the model answered 200.
func finalInference(ctx context.Context, c *client, id, big string, dims int) bool {
	body := fmt.Appendf(nil, `{"model_id":%q,"inputs":{"x":[[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1]]}}`, id)
	if id == big && dims != 10 {
		body = fmt.Appendf(nil, `{"model_id":%q,"inputs":{"x":[[0.5%s]]}}`, id, strings.Repeat(",0.5", dims-1))
	}
	for range 3 {
		res := c.post(ctx, patFinalModel, "/v1/ops/inference", body)
		if res.err != nil || res.status != http.StatusServiceUnavailable {
			return res.err == nil && res.status == http.StatusOK
		}
		wait := 2 * time.Second
		if s, err := strconv.Atoi(res.header.Get("Retry-After")); err == nil && s >= 0 {
			wait = min(wait, time.Duration(s)*time.Second)
		}
		if !sleep(ctx, wait) {
			return false
		}
	}
	return false
}

func modelID(body []byte) string {
	var v struct {
		ModelID string `json:"model_id"`
	}
	_ = json.Unmarshal(body, &v)
	return v.ModelID
}

func (r *recorder) loadedModels() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.loaded)
}

// probeStats polls list_capabilities' resources and checks the limits hold.
type probeStats struct {
	mu sync.Mutex
	p  peakResources
}

type peakResources struct {
	Polls            int   `json:"polls"`
	ModelMemoryBytes int64 `json:"model_memory_bytes"`
	ModelsLoaded     int   `json:"models_loaded"`
	HeavyCalls       int   `json:"heavy_calls"`
}

func (p *probeStats) loop(ctx context.Context, c *client) {
	for sleep(ctx, 500*time.Millisecond) {
		r, err := c.resources(ctx)
		if err != nil {
			continue // a transport error or bad status is already flagged
		}
		if r.ModelMemoryBytes > r.ModelMemoryLimitBytes {
			c.rec.fail(fmt.Sprintf("model memory %d over its limit %d", r.ModelMemoryBytes, r.ModelMemoryLimitBytes))
		}
		if r.HeavyCalls > r.MaxConcurrentHeavy {
			c.rec.fail(fmt.Sprintf("%d heavy calls at once, more than max_concurrent_heavy %d", r.HeavyCalls, r.MaxConcurrentHeavy))
		}
		p.mu.Lock()
		p.p.Polls++
		p.p.ModelMemoryBytes = max(p.p.ModelMemoryBytes, r.ModelMemoryBytes)
		p.p.ModelsLoaded = max(p.p.ModelsLoaded, r.ModelsLoaded)
		p.p.HeavyCalls = max(p.p.HeavyCalls, r.HeavyCalls)
		p.mu.Unlock()
	}
}

func (p *probeStats) peak() peakResources {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.p
}
