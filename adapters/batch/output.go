package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/pipeline"
)

// resultLine is an output line's shape.
type resultLine struct {
	ID     string          `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Code   dredge.Code     `json:"code,omitempty"`
	Field  string          `json:"field,omitempty"`
	Line   int64           `json:"line,omitempty"`
}

// appendResult appends res's output line, newline included.
func appendResult(b []byte, res *pipeline.Result, line int64) []byte {
	if res.Code == dredge.CodeOK {
		b = append(b, `{"id":`...)
		b = appendString(b, res.ID)
		b = append(b, `,"result":`...)
		if len(res.Body) == 0 {
			b = append(b, `{"success":true}`...)
		} else {
			b = append(b, res.Body...)
		}
		return append(b, "}\n"...)
	}
	out, _ := json.Marshal(resultLine{ID: res.ID, Error: dredge.MessageOf(res.Err), Code: res.Code, Field: dredge.FieldOf(res.Err), Line: line})
	b = append(b, out...)
	return append(b, '\n')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// maxIDPrefix bounds the part of an output line read for its id: the
// writer puts the id first.
const maxIDPrefix = 64 << 10

// loadDone reads the output file f from its start, adds the id of every
// complete line to a new set and truncates a torn last line (a write cut
// short by a kill). It returns the set, the number of complete lines and
// the number of duplicate ids among them.
func loadDone(f *os.File) (done *idSet, lines, dups int64, err error) {
	done = newIDSet()
	r := bufio.NewReaderSize(f, 64<<10)
	var buf []byte
	var good int64 // bytes up to the last complete line
	for {
		line, n, tooLong, rerr := readLine(r, buf[:0], maxIDPrefix)
		buf = line[:0]
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, 0, 0, rerr
		}
		if rerr != nil { // io.EOF: what follows the last newline is a torn line
			if n > 0 {
				if err := f.Truncate(good); err != nil {
					return nil, 0, 0, fmt.Errorf("truncating a torn last line: %w", err)
				}
			}
			break
		}
		good += int64(n)
		lines++
		if len(bytes.TrimSpace(line)) == 0 && !tooLong {
			continue
		}
		id, ok := lineID(line, tooLong)
		if !ok {
			return nil, 0, 0, fmt.Errorf("line %d: not a result line (no \"id\" first)", lines)
		}
		done.add(id)
	}
	return done, lines, done.seal(), nil
}

// lineID returns the id of an output line (or of its first maxIDPrefix
// bytes when tooLong).
func lineID(line []byte, tooLong bool) (string, bool) {
	const prefix = `{"id":"`
	if bytes.HasPrefix(line, []byte(prefix)) {
		// Find the closing quote, past escapes.
		for i := len(prefix); i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				var id string
				if json.Unmarshal(line[len(prefix)-1:i+1], &id) == nil {
					return id, true
				}
				return "", false
			}
		}
	}
	if tooLong {
		return "", false
	}
	var rl struct {
		ID *string `json:"id"`
	}
	if json.Unmarshal(line, &rl) != nil || rl.ID == nil {
		return "", false
	}
	return *rl.ID, true
}

// writer buffers result lines and hands whole buffers to w; with a file
// it syncs now and then and at the end.
type writer struct {
	w       io.Writer
	f       *os.File // nil: not a file
	buf     []byte
	flushed time.Time
	synced  time.Time
}

const (
	flushBytes    = 256 << 10
	flushInterval = time.Second
	syncInterval  = 10 * time.Second
)

func newWriter(w io.Writer, f *os.File) *writer {
	now := time.Now()
	return &writer{w: w, f: f, buf: make([]byte, 0, flushBytes+4096), flushed: now, synced: now}
}

// write adds one result line; n counts results so far, to look at the
// clock only now and then.
func (w *writer) write(res *pipeline.Result, line int64, n int64) error {
	w.buf = appendResult(w.buf, res, line)
	if len(w.buf) >= flushBytes || (n%256 == 0 && time.Since(w.flushed) >= flushInterval) {
		return w.flush(false)
	}
	return nil
}

// flush writes the buffer (whole lines only); sync also syncs a file, as
// does a flush syncInterval after the last sync.
func (w *writer) flush(sync bool) error {
	if len(w.buf) > 0 {
		if _, err := w.w.Write(w.buf); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	now := time.Now()
	w.flushed = now
	if w.f != nil && (sync || now.Sub(w.synced) >= syncInterval) {
		w.synced = now
		if err := w.f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
