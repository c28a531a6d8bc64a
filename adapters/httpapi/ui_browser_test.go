package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/dredge-cli/dredge"
)

// findChromium returns the path of a Chromium or Chrome binary, or skips
// the test (fails it when CI is set: .ci/run installs Debian's chromium).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no Chromium on PATH: apt-get install chromium to run the web console's browser test"
	if os.Getenv("CI") != "" {
		t.Fatal(why + " (CI is set, so this test may not skip)")
	}
	t.Skip(why)
	return ""
}

// TestConsoleInBrowser drives the web console in headless Chromium, as a
// user would, against a service that requires an API key: it enters the
// key, computes a spectrum and a unified field, loads, inspects and unloads
// models, stops a long training, trains a Quasimoto ensemble to the end
// while the loss curve grows and falls, runs an inference on typed-in
// points, and takes a screenshot of each view at 1280×800 and at 390×844
// (into $DREDGE_UI_SCREENSHOTS when set). The page must raise no script
// error, log no console error and show no API error it was not meant to.
func TestConsoleInBrowser(t *testing.T) {
	chrome := findChromium(t)
	if testing.Short() {
		t.Skip("-short: the browser test takes some seconds")
	}
	const key = "console-test-key"
	srv := httptest.NewServer(newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{key}}))
	defer srv.Close()
	shots := os.Getenv("DREDGE_UI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// What the page reports: exceptions, console errors, and log entries
	// of level error (failed loads, Content-Security-Policy refusals).
	// The browser logs an API error as a failed load: expected names the
	// status of the one a step provokes (401 until the key is entered, 400
	// for a bad value).
	var (
		mu       sync.Mutex
		problems []string
		expected atomic.Pointer[string]
	)
	expect := func(status string) { expected.Store(&status) }
	expect("401")
	report := func(s string) { mu.Lock(); problems = append(problems, s); mu.Unlock() }
	listen := func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			report(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				report("console.error: " + strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			e := ev.Entry
			if e.Level == log.EntryLevelError && !(e.Source == log.EntrySourceNetwork && !strings.Contains(e.URL, "/ui/") &&
				strings.Contains(e.Text, "status of "+*expected.Load()+" ")) {
				report(fmt.Sprintf("log %s: %s (%s)", e.Source, e.Text, e.URL))
			}
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chrome),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true)) // containers give /dev/shm 64 MiB
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(listen))
	defer cancelBrowser()
	// The first Run starts the browser, which lives as long as bctx: the
	// deadline goes on the contexts of the later runs only.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	text := func(sel string) string { return eval(`document.querySelector(` + jsString(sel) + `).textContent`) }
	attr := func(sel, name string) string {
		return eval(`document.querySelector(` + jsString(sel) + `).getAttribute(` + jsString(name) + `) ?? ""`)
	}
	// wait polls the page until js is true.
	wait := func(what, js string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			t.Fatalf("%s: %v (the page shows the error %q)", what, err, text("#error"))
		}
	}
	// set gives a form control a value as typing would, events included.
	set := func(sel, value string) {
		t.Helper()
		eval(`(e => { e.value = ` + jsString(value) + `; e.dispatchEvent(new Event("input", {bubbles: true}));
			e.dispatchEvent(new Event("change", {bubbles: true})); return "" })(document.querySelector(` + jsString(sel) + `))`)
	}
	click := func(sel string) { t.Helper(); do("click "+sel, chromedp.Click(chromedp.CSS(sel))) }
	show := func(view string) {
		t.Helper()
		click(`a[href="#` + view + `"]`)
		wait("view "+view, `!document.querySelector("#view-`+view+`").hidden`, 5*time.Second)
	}
	noError := func(step string) {
		t.Helper()
		if e := text("#error"); e != "" {
			t.Fatalf("%s: the page shows the error %q", step, e)
		}
	}
	screenshot := func(name string, width int) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if w := img.Bounds().Dx(); w != width {
			t.Errorf("screenshot %s: %d pixels wide, want %d (the page is wider than the window)", name, w, width)
		}
		if colours(img) < 8 {
			t.Errorf("screenshot %s is blank", name)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Without a key the API answers 401, which the page shows with its code.
	do("load /ui", chromedp.Navigate(srv.URL+"/ui"))
	wait("the overview", `!document.querySelector("#view-overview").hidden`, 10*time.Second)
	wait("the 401 shown", `document.querySelector("#error").textContent.includes("unauthenticated")`, 10*time.Second)
	expect("none")
	do("enter the key", chromedp.SendKeys(chromedp.CSS("#api-key"), key), chromedp.Click(chromedp.CSS("#api-key-save")))
	wait("the version", `document.querySelector("#ov-version").textContent.includes(`+jsString(dredge.Version)+`)`, 10*time.Second)
	wait("the error cleared", `document.querySelector("#error").textContent === ""`, 5*time.Second)
	if got := eval(`sessionStorage.getItem("dredge.apiKey")`); got != key {
		t.Errorf("the key kept for the session: %q", got)
	}

	// Overview: the device, and the operations the console has called.
	wait("the device", `document.querySelector("#ov-device").textContent.includes("cpu")`, 10*time.Second)
	wait("an operation's row", `document.querySelector('#ov-ops tr[data-op="list_capabilities"]') !== null`, 10*time.Second)

	// Strings: a spectrum of 12 modes, and a unified field.
	show("strings")
	set("#sp-modes", "12")
	click("#sp-run")
	wait("the spectrum", `document.querySelector("#sp-values").textContent.includes("6") && document.querySelector("#sp-chart canvas") !== null`, 10*time.Second)
	set("#uf-coords", "0.25, 0.75")
	click("#uf-run")
	wait("the unified field", `document.querySelector("#uf-amplitude").textContent.trim() !== "" && document.querySelector("#uf-chart canvas") !== null`, 10*time.Second)
	// A bad value shows the API's error, naming its field.
	expect("400")
	set("#sp-modes", "0")
	click("#sp-run")
	wait("the field error", `document.querySelector("#error").textContent.includes("max_modes")`, 10*time.Second)
	expect("none")
	if e := text("#error"); !strings.Contains(e, "invalid_argument") {
		t.Errorf("the error shown %q does not name its code", e)
	}
	click("#error-close")
	noError("closing the error")
	set("#sp-modes", "12")
	click("#sp-run")
	wait("the spectrum again", `document.querySelector("#sp-values").textContent.includes("6")`, 10*time.Second)

	// Models: load two, inspect one, unload the other.
	show("models")
	set("#md-type", "quasimoto_ensemble")
	set("#md-config", `{"n_waves": 4}`)
	click("#md-load")
	wait("the loaded model", `document.querySelector('#md-table tr[data-model-id="quasimoto_ensemble_0"]') !== null`, 10*time.Second)
	set("#md-type", "siren")
	set("#md-config", `{}`)
	click("#md-load")
	wait("the second model", `document.querySelector('#md-table tr[data-model-id="siren_0"]') !== null`, 10*time.Second)
	click(`#md-table tr[data-model-id="quasimoto_ensemble_0"] .md-inspect`)
	wait("its parameters", `document.querySelector("#md-params").textContent.includes("head.weight")`, 10*time.Second)
	click(`#md-table tr[data-model-id="siren_0"] .md-unload`)
	wait("the unloaded model gone", `document.querySelector('#md-table tr[data-model-id="siren_0"]') === null`, 10*time.Second)
	noError("models")

	// Playground: a long run, stopped while its loss curve grows…
	show("playground")
	set("#pg-type", "quasimoto_ensemble")
	set("#pg-nwaves", "8")
	set("#pg-epochs", "100000")
	click("#pg-train")
	wait("a live loss curve", `document.querySelector("#pg-status").dataset.state === "training" && +document.querySelector("#pg-loss-chart").dataset.count >= 3`, 30*time.Second)
	click("#pg-stop")
	wait("the run stopped", `document.querySelector("#pg-status").dataset.state === "stopped"`, 10*time.Second)
	noError("stopping a run")
	// …then one of 400 epochs to the end.
	set("#pg-epochs", "400")
	click("#pg-train")
	wait("the training done", `document.querySelector("#pg-status").dataset.state === "done"`, 60*time.Second)
	count, _ := strconv.Atoi(attr("#pg-loss-chart", "data-count"))
	first, err1 := strconv.ParseFloat(attr("#pg-loss-chart", "data-first-loss"), 64)
	last, err2 := strconv.ParseFloat(attr("#pg-loss-chart", "data-last-loss"), 64)
	if count < 10 || err1 != nil || err2 != nil || !(last < first) {
		t.Errorf("loss curve: %d points from %v to %v (%v, %v), want it to fall over 10 points or more", count, first, last, err1, err2)
	}
	if f := text("#pg-final-loss"); !strings.Contains(f, "loss") || !strings.Contains(f, "400") {
		t.Errorf("final loss shown as %q", f)
	}
	wait("the fit", `document.querySelector("#pg-fit-chart canvas") !== null`, 10*time.Second)
	set("#pg-points", "0, 0\n1.5, 0\n-2, 0")
	click("#pg-infer")
	wait("the outputs", `document.querySelectorAll("#pg-output tbody tr").length === 3`, 10*time.Second)
	noError("playground")

	// Each view at both sizes; on the phone no view is wider than the screen.
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		opts := []chromedp.EmulateViewportOption{}
		if size.name == "phone" {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		}
		do("viewport "+size.name, chromedp.EmulateViewport(size.width, size.height, opts...))
		for _, view := range []string{"overview", "strings", "models", "playground"} {
			// The hash route, not the nav link: on the phone the link
			// may sit behind a menu.
			eval(`location.hash = "#` + view + `"; ""`)
			wait("view "+view, `!document.querySelector("#view-`+view+`").hidden`, 5*time.Second)
			if view == "overview" {
				wait("the overview's rows", `document.querySelectorAll("#ov-ops tr[data-op]").length >= 5`, 10*time.Second)
			}
			// Charts drawn at the old width shrink when their resize
			// observers fire (a frame or two after the view shows).
			fits := `document.documentElement.scrollWidth <= ` + strconv.Itoa(int(size.width))
			if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](fits, chromedp.WithPollingTimeout(5*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
				t.Errorf("%s at %s: the page is %s pixels wide after 5 s, want %d", view, size.name,
					eval(`String(document.documentElement.scrollWidth)`), size.width)
			}
			time.Sleep(300 * time.Millisecond) // charts redraw at the new width
			screenshot(view+"-"+size.name, int(size.width))
		}
	}
	noError("the end")
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("screenshots in %s", shots)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// colours counts the distinct colours of img, up to 64.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= 64 {
				return len(seen)
			}
		}
	}
	return len(seen)
}
