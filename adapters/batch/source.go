package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/pipeline"
)

// DefaultMaxLineBytes bounds an input line when [Options.MaxLineBytes] is 0.
const DefaultMaxLineBytes = 8 << 20

// taskLine is an input line's shape.
type taskLine struct {
	ID        json.RawMessage `json:"id"`
	Operation string          `json:"operation"`
	Params    json.RawMessage `json:"params"`
}

// source reads JSONL tasks as a [pipeline.Source]. Next is called by one
// goroutine at a time; lineOf may run beside it.
type source struct {
	r       *bufio.Reader
	max     int
	line    int64 // lines read so far
	buf     []byte
	done    *idSet       // ids already in the output (nil: none)
	skipped atomic.Int64 // tasks skipped because done holds their id

	mu    sync.Mutex
	seq   int64           // the Seq of the next task handed out
	lines map[int64]int64 // in-flight tasks' Seq → line number
}

func newSource(r io.Reader, max int, done *idSet) *source {
	if max <= 0 {
		max = DefaultMaxLineBytes
	}
	return &source{r: bufio.NewReaderSize(r, 64<<10), max: max, done: done, lines: make(map[int64]int64)}
}

var _ pipeline.Source = (*source)(nil)

// Next implements [pipeline.Source]: blank lines are skipped, a malformed
// line is a task with Err set.
func (s *source) Next(t *pipeline.Task) (bool, error) {
	for {
		line, consumed, tooLong, err := readLine(s.r, s.buf[:0], s.max)
		s.buf = line[:0]
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("line %d: %w", s.line+1, err)
		}
		if consumed == 0 && errors.Is(err, io.EOF) {
			return false, nil
		}
		s.line++
		n := s.line
		if tooLong {
			*t = pipeline.Task{ID: defaultID(n), Err: lineError(n, "", "longer than %d bytes (the limit on an input line)", s.max)}
			s.handOut(n)
			return true, nil
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			continue
		}
		*t = parseTask(n, trimmed)
		if s.done != nil && t.Err == nil && s.done.has(t.ID) {
			s.skipped.Add(1)
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			continue
		}
		s.handOut(n)
		return true, nil
	}
}

// skippedNow returns the number of tasks skipped so far.
func (s *source) skippedNow() int64 { return s.skipped.Load() }

// handOut records the line of the task just handed out.
func (s *source) handOut(line int64) {
	s.mu.Lock()
	s.lines[s.seq] = line
	s.seq++
	s.mu.Unlock()
}

// lineOf returns the line number of the task with Seq seq and forgets it.
func (s *source) lineOf(seq int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.lines[seq]
	delete(s.lines, seq)
	return n
}

// parseTask decodes line n.
func parseTask(n int64, line []byte) pipeline.Task {
	var tl taskLine
	if err := json.Unmarshal(line, &tl); err != nil {
		return pipeline.Task{ID: defaultID(n), Err: lineError(n, "", "not a JSON task object: %v", err)}
	}
	id, err := parseID(tl.ID)
	if err != nil {
		return pipeline.Task{ID: defaultID(n), Err: lineError(n, "id", "%v", err)}
	}
	if id == "" {
		id = defaultID(n)
	}
	if tl.Operation == "" {
		return pipeline.Task{ID: id, Err: lineError(n, "operation", `missing "operation"`)}
	}
	return pipeline.Task{ID: id, Operation: tl.Operation, Params: tl.Params}
}

// parseID accepts a JSON string or number; null or absent gives "".
func parseID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil
	}
	return "", errors.New(`"id" must be a string or a number`)
}

// defaultID names the task on line n that has no id of its own.
func defaultID(n int64) string { return "line-" + strconv.FormatInt(n, 10) }

// lineError is a malformed line's error: code invalid_argument, the
// message starting "line N: ".
func lineError(n int64, field, format string, args ...any) error {
	msg := fmt.Sprintf("line %d: ", n) + fmt.Sprintf(format, args...)
	return &dredge.Error{Code: dredge.CodeInvalidArgument, Field: field, Message: msg, Err: dredge.ErrInvalidArgument}
}

// readLine reads the next line (without its newline) into buf, keeping at
// most max bytes: a longer line is consumed to its end and reported with
// tooLong, and line holds its first max bytes. n counts the bytes
// consumed, newline included. At the end of input it returns io.EOF, with
// the last line if it has no newline.
func readLine(r *bufio.Reader, buf []byte, max int) (line []byte, n int, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if len(buf)+len(chunk) > max+1 { // +1: the newline
				tooLong = true
				if room := max - len(buf); room > 0 {
					buf = append(buf, chunk[:room]...)
				}
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if !tooLong && len(buf) > 0 && buf[len(buf)-1] == '\n' {
			buf = buf[:len(buf)-1]
		}
		if len(buf) > max {
			tooLong, buf = true, buf[:max]
		}
		return buf, n, tooLong, err
	}
}
