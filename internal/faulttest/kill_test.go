//go:build unix

package faulttest

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/workers"
)

// faultSize is how much of the fault suite runs: FAULT_SIZE=full the
// figures of issue 18, unset (or ci) a reduced run that fits CI's few
// minutes.
type faultSize struct {
	name string
	// TestFaultKilledWorkers: tasks through a batch while a worker is
	// SIGKILLed kills times, then termTasks while one is SIGTERMed terms
	// times.
	tasks, kills     int
	termTasks, terms int
	trainEvery       int // every trainEvery-th task is a short training (see trainingMix)
	// TestFaultRecovery: QUEUE_CLAIM_AFTER, and the workers killed while
	// each holds recoveryJobs jobs.
	claimAfter time.Duration
	rounds     int
	// TestFaultHandBack: the shutdowns, each handing 2 jobs back.
	shutdowns int
}

func sizeOf(t *testing.T) faultSize {
	t.Helper()
	switch v := os.Getenv("FAULT_SIZE"); v {
	case "", "ci":
		return faultSize{name: "ci", tasks: 10_000, kills: 3, termTasks: 5_000, terms: 2, trainEvery: 50,
			claimAfter: 2 * time.Second, rounds: 5, shutdowns: 5}
	case "full":
		return faultSize{name: "full", tasks: 100_000, kills: 10, termTasks: 20_000, terms: 5, trainEvery: 250,
			claimAfter: 30 * time.Second, rounds: 5, shutdowns: 10}
	}
	t.Fatalf("FAULT_SIZE=%q: want full, ci or unset", os.Getenv("FAULT_SIZE"))
	return faultSize{}
}

const (
	// perWorker is the jobs a worker of startWorker runs at once (2 × 2):
	// the most a SIGKILL can take from the queue's hands.
	perWorker = 4
	// killClaimAfter is TestFaultKilledWorkers's QUEUE_CLAIM_AFTER.
	killClaimAfter = 5 * time.Second
)

// TestFaultKilledWorkers runs a batch (examples/batch -queue redis, its
// tasks fed at a steady rate: lift, and a short training now and then, see
// trainingMix) through three worker processes while one of them, picked
// at random, is SIGKILLed every 2 to 5 s (as it runs a training, so that
// the kill lands in an execution) and replaced: every
// task must be in the batch's output (the results ledger) exactly once
// with its own result, and the jobs run twice (the workers' execution
// ledger, see readLedger) must be at most kills × perWorker, each a job the
// killed worker was running. Then more tasks while a worker is SIGTERMed
// (and replaced) terms times: not one job may run twice.
//
// FAULT_SIZE=full: 100,000 tasks and 10 kills, 20,000 and 5 SIGTERMs;
// else 10,000 and 3, 5,000 and 2.
func TestFaultKilledWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fault test builds and runs examples/batch, three workers and redis-server")
	}
	size := sizeOf(t)
	bin := buildBinaries(t, "./examples/batch", "./examples/worker")
	srv := testredis.Start(t, 0)
	const prefix = "dredge:killtest"
	env := []string{"REDIS_URL=" + srv.URL(), "QUEUE_PREFIX=" + prefix, "QUEUE_CLAIM_AFTER=" + killClaimAfter.String(),
		"CACHE_ENABLED=false", "LOG_LEVEL=debug"}
	q := openQueue(t, srv.URL(), prefix, killClaimAfter)
	f := &fleet{t: t, bin: bin, env: env}
	for range 3 {
		f.live = append(f.live, f.start())
	}
	rng := rand.New(rand.NewPCG(18, 1))
	dir := t.TempDir()

	// Phase 1: SIGKILLs.
	out := filepath.Join(dir, "results.jsonl")
	gaps := gapsOf(rng, size.kills)
	t0 := time.Now()
	mix := trainingMix(size.trainEvery)
	faulted := make(chan struct{}) // closed when the kills are over
	b := startBatch(t, bin, env, out, mix, size.tasks, "kill", sum(gaps)+time.Duration(len(gaps))*time.Second, faulted)
	killed, heldAtKill := f.inject(b, rng, gaps, "kills", (*proc).kill)
	close(faulted)
	summary := b.wait(t, 5*time.Minute)
	elapsed := time.Since(t0)
	checkBatchOnce(t, out, mix, size.tasks, "kill")
	l := readLedger(t, f.all)
	crash, live := l.duplicates(killed)
	runs, jobs := l.runs(nil)
	redelivered := redeliveries(t, q, l.jobs())
	t.Logf("phase 1 (%s): %d tasks through 3 workers in %v, %d SIGKILLs (%d jobs running in the killed workers); batch: %s",
		size.name, size.tasks, elapsed.Round(time.Millisecond), len(killed), heldAtKill, summary)
	t.Logf("phase 1: %d executions of %d jobs: %d duplicates, %d by a killed worker's job (bound %d kills × %d = %d), %d by a live worker's lapsed claim; %d deliveries past the first (the jobs' attempts)",
		runs, jobs, runs-jobs, crash, len(killed), perWorker, len(killed)*perWorker, live, redelivered)
	if jobs != size.tasks {
		t.Errorf("phase 1: %d jobs started for %d tasks", jobs, size.tasks)
	}
	if runs-jobs > len(killed)*perWorker || live > 0 || crash != runs-jobs {
		t.Errorf("phase 1: %d duplicate executions, %d of them by killed workers: want at most %d, all by killed workers",
			runs-jobs, crash, len(killed)*perWorker)
	}
	if redelivered > len(killed)*perWorker {
		t.Errorf("phase 1: %d deliveries past the first, want at most %d", redelivered, len(killed)*perWorker)
	}
	if t.Failed() {
		return
	}

	// Phase 2: SIGTERMs. The jobs of phase 1 are all finished: the
	// ledger's new jobs are phase 2's.
	before := l.jobs()
	out = filepath.Join(dir, "results-term.jsonl")
	gaps = gapsOf(rng, size.terms)
	t0 = time.Now()
	faulted = make(chan struct{})
	b = startBatch(t, bin, env, out, mix, size.termTasks, "term", sum(gaps)+time.Duration(len(gaps))*time.Second, faulted)
	stopped, heldAtTerm := f.inject(b, rng, gaps, "SIGTERMs", func(w *proc) {
		if err := w.terminate(35 * time.Second); err != nil {
			t.Errorf("%s after SIGTERM: %v", w.name, err)
		}
	})
	close(faulted)
	summary = b.wait(t, 5*time.Minute)
	elapsed = time.Since(t0)
	checkBatchOnce(t, out, mix, size.termTasks, "term")
	l = readLedger(t, f.all)
	runs, jobs = l.runs(before)
	handedBack := l.outcomes(before)["handed back"]
	ranByStopped := 0
	for _, w := range stopped {
		ranByStopped += l.startedBy(w, before)
	}
	t.Logf("phase 2: %d tasks in %v, %d SIGTERMs (%d jobs running in the stopped workers, %d jobs run by them in all); batch: %s",
		size.termTasks, elapsed.Round(time.Millisecond), len(stopped), heldAtTerm, ranByStopped, summary)
	t.Logf("phase 2: %d executions of %d jobs: %d duplicates, %d jobs handed back", runs, jobs, runs-jobs, handedBack)
	if jobs != size.termTasks || runs != jobs || handedBack > 0 {
		t.Errorf("phase 2: %d executions of %d jobs for %d tasks, %d handed back: want one execution per task, none handed back",
			runs, jobs, size.termTasks, handedBack)
	}
}

// redeliveries returns the deliveries past the first of the jobs ids,
// from their attempts: each must be completed. A delivery is not an
// execution: a worker killed as its claim ran in Redis got jobs it never
// saw, and these count here, not in the ledger.
func redeliveries(t *testing.T, q workers.Queue, ids map[string]bool) int {
	t.Helper()
	var (
		mu         sync.Mutex
		n, bad     int
		wg         sync.WaitGroup
		work       = make(chan string)
		firstError error
	)
	for range 8 {
		wg.Go(func() {
			for id := range work {
				s, err := q.Status(t.Context(), id)
				if err == nil && s.Status != workers.Completed {
					err = fmt.Errorf("job %s is %s (%s), want completed", id, s.Status, s.Error)
				}
				mu.Lock()
				if err != nil {
					bad++
					firstError = cmp.Or(firstError, err)
				} else {
					n += s.Attempts - 1
				}
				mu.Unlock()
			}
		})
	}
	for id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if bad > 0 {
		t.Errorf("%d jobs not completed; the first: %v", bad, firstError)
	}
	return n
}

// gapsOf returns n random waits of 2 to 5 s.
func gapsOf(rng *rand.Rand, n int) []time.Duration {
	gaps := make([]time.Duration, n)
	for i := range gaps {
		gaps[i] = 2*time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
	}
	return gaps
}

func sum(ds []time.Duration) (s time.Duration) {
	for _, d := range ds {
		s += d
	}
	return s
}

// fleet is the worker processes of a test.
type fleet struct {
	t    *testing.T
	bin  string
	env  []string
	live []*proc // the workers the test has not stopped
	all  []*proc // every worker started, for the ledger
}

// start starts a worker of startWorker with the fleet's env.
// inject makes one fault per gap of the running batch b: on a live worker
// picked at random, once it runs a training (or after 3 s), then replaced
// by a fresh worker. It returns the workers hit and the jobs they held.
func (f *fleet) inject(b *batchRun, rng *rand.Rand, gaps []time.Duration, what string, fault func(*proc)) (hit []*proc, held int) {
	for k, gap := range gaps {
		if !b.sleep(gap) {
			f.t.Fatalf("the batch ended after %d of %d %s", k, len(gaps), what)
		}
		i := rng.IntN(len(f.live))
		w := f.live[i]
		held += w.waitTraining(3 * time.Second)
		fault(w)
		hit = append(hit, w)
		f.live[i] = f.start()
	}
	return hit, held
}

func (f *fleet) start() *proc {
	f.t.Helper()
	p := startWorker(f.t, f.bin, fmt.Sprintf("worker-%d", len(f.all)+1), f.env)
	f.all = append(f.all, p)
	return p
}

// trainingMix is liftTasks with every n-th task a short training
// (benchmark, 3 to 10 epochs: a few ms), whose result echoes its
// epochs.
func trainingMix(n int) taskMix {
	epochs := func(i int) float64 { return float64(3 + i/n%8) }
	return taskMix{
		line: func(i int, tag string) string {
			if i%n == n-1 {
				return fmt.Sprintf(`{"id":"t%d","operation":"benchmark","params":{"model_type":"siren","config":{"epochs":%v}}}`, i, epochs(i))
			}
			return liftTasks.line(i, tag)
		},
		check: func(i int, tag string, r map[string]any) bool {
			if i%n == n-1 {
				return r["success"] == true && r["model_type"] == "siren" && r["epochs"] == epochs(i)
			}
			return liftTasks.check(i, tag, r)
		},
	}
}

// waitTraining waits until the worker runs a training (its heavy calls
// gauge), for at most d, and returns how many jobs it runs then.
func (p *proc) waitTraining(d time.Duration) int {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if n, err := p.gauge("dredge_heavy_calls"); err == nil && n > 0 {
			break
		}
	}
	n, _ := p.busy()
	return n
}

// terminate sends SIGTERM and waits up to d for the process to exit; it
// returns an error unless it exited with status 0.
func (p *proc) terminate(d time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
	case <-time.After(d):
		p.kill()
		return fmt.Errorf("not stopped within %v (SIGKILLed)", d)
	}
	if !p.cmd.ProcessState.Success() {
		return fmt.Errorf("exited: %v", p.cmd.ProcessState)
	}
	return nil
}

// batchRun is examples/batch running in the background.
type batchRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// startBatch starts examples/batch -queue redis with output out, and
// feeds it tasks 0…n-1 of mix on its stdin at a steady rate over about d,
// so that the faults the test makes meanwhile land on a queue in use. The
// last hundredth waits for faulted to be closed: the batch cannot end
// before the faults do.
func startBatch(t *testing.T, bin string, env []string, out string, mix taskMix, n int, tag string, d time.Duration, faulted <-chan struct{}) *batchRun {
	t.Helper()
	r := &batchRun{done: make(chan struct{})}
	r.cmd = exec.Command(filepath.Join(bin, "batch"), "-in", "-", "-out", out, "-queue", "redis", "-no-progress", "-timeout", "5m", "-json")
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Env = append(r.cmd.Env, "LOG_LEVEL=warn")
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	in, err := r.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fed, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		defer in.Close()
		w := bufio.NewWriter(in)
		const steps = 100
		t0 := time.Now()
		for s := range steps {
			if s == steps-1 {
				select {
				case <-faulted:
				case <-stop: // the test ended first
					return
				}
			}
			for i := s * n / steps; i < (s+1)*n/steps; i++ {
				w.WriteString(mix.line(i, tag) + "\n")
			}
			if w.Flush() != nil {
				return // the batch died: wait reports it
			}
			time.Sleep(time.Until(t0.Add(d * time.Duration(s+1) / steps)))
		}
	}()
	go func() { <-fed; r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		close(stop)
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// sleep waits d and reports whether the batch still runs.
func (r *batchRun) sleep(d time.Duration) bool {
	select {
	case <-r.done:
		return false
	case <-time.After(d):
		return true
	}
}

// wait waits for the batch's end, for at most d, and returns its summary.
func (r *batchRun) wait(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("the batch did not end within %v: %s", d, tail(r.stderr.Bytes(), 4<<10))
	}
	if r.err != nil {
		t.Fatalf("batch: %v\n%s", r.err, tail(r.stderr.Bytes(), 4<<10))
	}
	return string(bytes.TrimSpace(r.stdout.Bytes()))
}

// ledger is the executions of jobs that the workers' logs record: with
// LOG_LEVEL=debug, examples/worker logs "job started" as each job it
// claimed starts, before the operation runs, and "job ended" with the
// outcome it reported. Each start line is one execution, whether or not
// the worker lived to finish it: unlike a job's attempts in the queue
// (deliveries, which count a claim whose worker died before it saw the
// job, and give back one at Release), the lines count the runs
// themselves.
type ledger struct {
	starts map[string][]execution // by job id, in time order
	ends   map[string][]execution
}

// execution is a line of the ledger.
type execution struct {
	w       *proc
	at      time.Time
	attempt int
	outcome string // of an end
}

// readLedger reads the logs of workers.
func readLedger(t *testing.T, workers []*proc) *ledger {
	t.Helper()
	l := &ledger{starts: map[string][]execution{}, ends: map[string][]execution{}}
	for _, w := range workers {
		f, err := os.Open(w.log)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line struct {
				Time    time.Time `json:"time"`
				Msg     string    `json:"msg"`
				Job     string    `json:"job"`
				Attempt int       `json:"attempt"`
				Outcome string    `json:"outcome"`
			}
			if !bytes.HasPrefix(sc.Bytes(), []byte("{")) || json.Unmarshal(sc.Bytes(), &line) != nil || line.Job == "" {
				continue
			}
			e := execution{w: w, at: line.Time, attempt: line.Attempt, outcome: line.Outcome}
			switch line.Msg {
			case "job started":
				l.starts[line.Job] = append(l.starts[line.Job], e)
			case "job ended":
				l.ends[line.Job] = append(l.ends[line.Job], e)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []map[string][]execution{l.starts, l.ends} {
		for _, es := range m {
			slices.SortFunc(es, func(a, b execution) int { return a.at.Compare(b.at) })
		}
	}
	return l
}

// jobs returns the set of jobs started.
func (l *ledger) jobs() map[string]bool {
	s := make(map[string]bool, len(l.starts))
	for id := range l.starts {
		s[id] = true
	}
	return s
}

// runs returns the executions and the jobs started, leaving out the jobs
// in except.
func (l *ledger) runs(except map[string]bool) (runs, jobs int) {
	for id, es := range l.starts {
		if !except[id] {
			runs += len(es)
			jobs++
		}
	}
	return runs, jobs
}

// outcomes counts the ends by outcome, leaving out the jobs in except.
func (l *ledger) outcomes(except map[string]bool) map[string]int {
	n := map[string]int{}
	for id, es := range l.ends {
		if !except[id] {
			for _, e := range es {
				n[e.outcome]++
			}
		}
	}
	return n
}

// startedBy counts the executions by w, leaving out the jobs in except.
func (l *ledger) startedBy(w *proc, except map[string]bool) int {
	n := 0
	for id, es := range l.starts {
		for _, e := range es {
			if e.w == w && !except[id] {
				n++
			}
		}
	}
	return n
}

// duplicates sorts the executions of each job but its last: crash, those
// of a worker in killed that did not log the job's end (it died running
// it), and live, the others (a live worker whose claim lapsed).
func (l *ledger) duplicates(killed []*proc) (crash, live int) {
	for id, es := range l.starts {
		for _, e := range es[:len(es)-1] {
			ended := slices.ContainsFunc(l.ends[id], func(x execution) bool { return x.w == e.w })
			if slices.Contains(killed, e.w) && !ended {
				crash++
			} else {
				live++
			}
		}
	}
	return crash, live
}

// recoveryJobs is the jobs each killed worker of TestFaultRecovery holds
// in its rounds; wideJobs those of its last.
const (
	recoveryJobs = 4
	wideJobs     = 20
)

// TestFaultRecovery measures the time from a worker's SIGKILL to the
// re-execution of the jobs it was running (their "job started" line, of
// attempt 2, in the ledger of another worker): QUEUE_CLAIM_AFTER, less
// the time since the killed worker's last heartbeat, plus the wait for
// the next scan for lapsed claims. Each round starts a worker alone,
// gives it recoveryJobs long trainings, starts two idle workers, and
// SIGKILLs the first; rounds × recoveryJobs trials in all. The p99 must
// be at most QUEUE_CLAIM_AFTER + 5 s.
//
// A last round kills a worker holding wideJobs jobs: the last of them
// must run again within the same bound (a scan for lapsed claims hands
// the jobs it has no room for to every worker's next claim; when it took
// over one job per scan, the last of 20 ran again 40.6 s after the kill
// with QUEUE_CLAIM_AFTER=30s).
//
// FAULT_SIZE=full: QUEUE_CLAIM_AFTER=30s (the default), 20 trials; else
// 2s (the least allowed), 20 trials.
func TestFaultRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fault test builds and runs workers and redis-server")
	}
	size := sizeOf(t)
	bin := buildBinaries(t, "./examples/worker")
	srv := testredis.Start(t, 0)
	const prefix = "dredge:recoverytest"
	r := &recovery{t: t, bin: bin, claimAfter: size.claimAfter,
		env: []string{"REDIS_URL=" + srv.URL(), "QUEUE_PREFIX=" + prefix, "QUEUE_CLAIM_AFTER=" + size.claimAfter.String(),
			"CACHE_ENABLED=false", "LOG_LEVEL=debug", "MAX_CONCURRENT_HEAVY=1"},
		q: openQueue(t, srv.URL(), prefix, size.claimAfter)}
	var took []time.Duration
	for round := range size.rounds {
		rerun := r.round(fmt.Sprint(round+1), recoveryJobs)
		t.Logf("round %d: SIGKILL to re-execution %v", round+1, rerun)
		took = append(took, rerun...)
	}
	slices.Sort(took)
	p50, p99 := percentile(took, 0.50), percentile(took, 0.99)
	t.Logf("recovery (%s, QUEUE_CLAIM_AFTER=%v): %d trials (%d workers killed holding %d jobs each), SIGKILL to re-execution p50 %v, p99 %v, min %v, max %v",
		size.name, size.claimAfter, len(took), size.rounds, recoveryJobs, p50.Round(time.Millisecond), p99.Round(time.Millisecond),
		took[0].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if bound := size.claimAfter + 5*time.Second; p99 > bound {
		t.Errorf("recovery p99 %v, want at most %v (QUEUE_CLAIM_AFTER + 5s)", p99, bound)
	}
	if t.Failed() {
		return
	}
	wide := r.round("wide", wideJobs)
	slices.Sort(wide)
	last := wide[len(wide)-1]
	t.Logf("recovery of one worker holding %d jobs: first %v, p50 %v, last %v",
		wideJobs, wide[0].Round(time.Millisecond), percentile(wide, 0.5).Round(time.Millisecond), last.Round(time.Millisecond))
	if bound := size.claimAfter + 5*time.Second; last > bound {
		t.Errorf("the last of %d jobs of a killed worker ran again %v after the kill, want at most %v", wideJobs, last, bound)
	}
}

// recovery is TestFaultRecovery's setting.
type recovery struct {
	t          *testing.T
	bin        string
	env        []string
	claimAfter time.Duration
	q          *workers.Redis
}

// round starts a worker alone with n long trainings, then two idle
// workers, SIGKILLs the first, and returns the times from the kill to
// each job's re-execution. The jobs are then canceled.
func (r *recovery) round(name string, n int) []time.Duration {
	t, ctx := r.t, r.t.Context()
	t.Helper()
	victim := startWorkerN(t, r.bin, "victim-"+name, r.env, 1, n)
	var ids []string
	for j := range n {
		// About 140 s each: running until canceled below.
		id, err := r.q.Enqueue(ctx, "benchmark", json.RawMessage(fmt.Sprintf(
			`{"model_type":"siren","config":{"epochs":20000,"learning_rate":0.01%02d}}`, j)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	waitStatus(t, r.q, ids, 20*time.Second, func(s workers.State) bool { return s.Status == workers.Running })
	survivors := []*proc{
		startWorkerN(t, r.bin, "survivor-"+name+"-a", r.env, 1, n),
		startWorkerN(t, r.bin, "survivor-"+name+"-b", r.env, 1, n),
	}
	killedAt := time.Now()
	victim.kill()
	waitStatus(t, r.q, ids, r.claimAfter+time.Duration(n)*time.Second+30*time.Second, func(s workers.State) bool {
		return s.Status == workers.Running && s.Attempts == 2
	})
	// A survivor logs the start just after the claim that the status
	// shows: read until every job has it.
	var rerun []time.Duration
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		l := readLedger(t, survivors)
		rerun = rerun[:0]
		for _, id := range ids {
			for _, e := range l.starts[id] {
				if e.attempt == 2 {
					rerun = append(rerun, e.at.Sub(killedAt))
				}
			}
		}
		if len(rerun) == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("round %s: %d of %d jobs re-executed according to the survivors' logs", name, len(rerun), len(ids))
		}
	}
	for _, id := range ids {
		if err := r.q.Cancel(ctx, id); err != nil {
			t.Error(err)
		}
	}
	for _, s := range survivors {
		s.kill() // their jobs are canceled: none is left to take over
	}
	return rerun
}

// percentile returns the nearest-rank p-quantile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// openQueue opens the Redis queue prefix on url, for the test's own
// enqueues and looks.
func openQueue(t *testing.T, url, prefix string, claimAfter time.Duration) *workers.Redis {
	t.Helper()
	q, err := workers.NewRedis(t.Context(), workers.RedisConfig{Client: testredis.ClientAt(t, url), Prefix: prefix, ClaimAfter: claimAfter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// waitStatus waits until ok holds for the state of every job in ids,
// polling every 10 ms for at most d.
func waitStatus(t *testing.T, q workers.Queue, ids []string, d time.Duration, ok func(workers.State) bool) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		all := true
		var last workers.State
		for _, id := range ids {
			s, err := q.Status(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !ok(s) {
				all, last = false, s
				break
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not in the state awaited within %v: %s %s attempts %d", d, last.ID, last.Status, last.Attempts)
		}
	}
}

// handBackGrace is TestFaultHandBack's SHUTDOWN_TIMEOUT.
const handBackGrace = time.Second

// TestFaultHandBack SIGTERMs a worker (SHUTDOWN_TIMEOUT=1) running two
// trainings that outlast the grace period, shutdowns times, a new worker
// taking the handed-back jobs each time: each time both jobs must be
// pending again in Redis within 1 s of the grace period's end, their
// attempts not spent (0 while pending), and the queue's depth 2. Then a
// worker runs them to the end: completed at attempt 1, after shutdowns+1
// executions each in the ledger.
//
// FAULT_SIZE=full: 10 shutdowns (20 hand-backs); else 5.
func TestFaultHandBack(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fault test builds and runs workers and redis-server")
	}
	size := sizeOf(t)
	bin := buildBinaries(t, "./examples/worker")
	srv := testredis.Start(t, 0)
	const prefix = "dredge:handbacktest"
	env := []string{"REDIS_URL=" + srv.URL(), "QUEUE_PREFIX=" + prefix, "CACHE_ENABLED=false", "LOG_LEVEL=debug",
		"MAX_CONCURRENT_HEAVY=2", fmt.Sprintf("SHUTDOWN_TIMEOUT=%g", handBackGrace.Seconds())}
	q := openQueue(t, srv.URL(), prefix, 0)
	ctx := t.Context()
	var ids []string
	for j := range 2 {
		// About 6 s each (8,000 epochs of SIREN at 0.75 ms), five
		// times a round's 1.2 s.
		id, err := q.Enqueue(ctx, "benchmark", json.RawMessage(fmt.Sprintf(`{"model_type":"siren","config":{"epochs":8000,"learning_rate":0.01%d}}`, j)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var all []*proc
	var back []time.Duration // grace end to pending again
	for round := range size.shutdowns {
		w := startWorkerN(t, bin, fmt.Sprintf("worker-%d", round+1), env, 1, 2)
		all = append(all, w)
		waitStatus(t, q, ids, 10*time.Second, func(s workers.State) bool { return s.Status == workers.Running })
		time.Sleep(200 * time.Millisecond)
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		graceEnd := time.Now().Add(handBackGrace)
		pending := make([]time.Duration, len(ids))
		for left := len(ids); left > 0; time.Sleep(2 * time.Millisecond) {
			for i, id := range ids {
				if pending[i] != 0 {
					continue
				}
				s, err := q.Status(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case s.Status == workers.Pending:
					pending[i] = time.Since(graceEnd)
					left--
					if s.Attempts != 0 {
						t.Errorf("round %d: job %s pending again with %d attempts spent, want 0", round+1, id, s.Attempts)
					}
				case s.Status != workers.Running:
					t.Fatalf("round %d: job %s is %s, want running or pending", round+1, id, s.Status)
				}
			}
			if time.Until(graceEnd) < -10*time.Second {
				t.Fatalf("round %d: %d jobs still running 10 s after the grace period", round+1, left)
			}
		}
		t.Logf("round %d: pending again %v after the grace period's end", round+1, pending)
		back = append(back, pending...)
		select {
		case <-w.done:
			if !w.cmd.ProcessState.Success() {
				t.Errorf("round %d: the worker exited: %v", round+1, w.cmd.ProcessState)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the worker did not exit 10 s after SIGTERM", round+1)
		}
		if n, err := q.Depth(ctx); err != nil || n != len(ids) {
			t.Errorf("round %d: depth %d (%v), want %d", round+1, n, err, len(ids))
		}
	}
	all = append(all, startWorkerN(t, bin, "worker-last", env, 1, 2))
	waitStatus(t, q, ids, 60*time.Second, func(s workers.State) bool { return s.Status.Final() })
	for _, id := range ids {
		s, err := q.Status(ctx, id)
		if err != nil || s.Status != workers.Completed || s.Attempts != 1 {
			t.Errorf("job %s: %s after %d attempts (%v), want completed after 1", id, s.Status, s.Attempts, err)
		}
	}
	l := readLedger(t, all)
	for _, id := range ids {
		starts, handed := l.starts[id], 0
		for _, e := range l.ends[id] {
			if e.outcome == "handed back" {
				handed++
			}
		}
		if len(starts) != size.shutdowns+1 || handed != size.shutdowns || slices.ContainsFunc(starts, func(e execution) bool { return e.attempt != 1 }) {
			t.Errorf("job %s: %d executions, %d handed back; want %d, %d, every one attempt 1", id, len(starts), handed, size.shutdowns+1, size.shutdowns)
		}
	}
	slices.Sort(back)
	t.Logf("hand-back (%s, SHUTDOWN_TIMEOUT=%v): %d jobs, pending again after the grace period's end: p50 %v, max %v",
		size.name, handBackGrace, len(back), percentile(back, 0.5).Round(time.Millisecond), back[len(back)-1].Round(time.Millisecond))
	if worst := back[len(back)-1]; worst > time.Second {
		t.Errorf("a job was pending again %v after the grace period's end, want at most 1s", worst)
	}
}
