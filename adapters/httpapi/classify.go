package httpapi

import (
	"bytes"
	"encoding/json"
)

// isJSONRPC reports whether a /mcp POST body is a JSON-RPC message for the
// MCP transport rather than a legacy {"operation", "params"} envelope: an
// object with a top-level "jsonrpc" member, or an array (a batch) whose
// first element is one. It scans the body once without allocating (a key
// with escapes is unescaped); a malformed body, or an array of anything
// else, is not JSON-RPC, so that the legacy route reports it as JSON.
func isJSONRPC(b []byte) bool {
	i := skipSpace(b, 0)
	if i < len(b) && b[i] == '[' {
		i = skipSpace(b, i+1)
	}
	return isJSONRPCObject(b, i)
}

// isJSONRPCObject reports whether the value at b[i] is an object with a
// top-level "jsonrpc" member.
func isJSONRPCObject(b []byte, i int) bool {
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		end, escaped := scanString(b, i)
		if end < 0 {
			return false
		}
		if isJSONRPCKey(b[i+1:end-1], escaped) {
			return true
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		if i = skipValue(b, skipSpace(b, i+1)); i < 0 {
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return false
		}
		i = skipSpace(b, i+1)
	}
	return false
}

func isJSONRPCKey(k []byte, escaped bool) bool {
	if !escaped {
		return string(k) == "jsonrpc"
	}
	var s string
	q := make([]byte, 0, len(k)+2)
	q = append(append(append(q, '"'), k...), '"')
	return json.Unmarshal(q, &s) == nil && s == "jsonrpc"
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the index after the closing quote of the string that
// starts at b[i] == '"', and whether it holds escapes; -1 if unterminated.
func scanString(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index after the JSON value starting at b[i], or
// -1 when it is malformed or truncated. Scalars are skipped up to the next
// delimiter without being checked.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			case '"':
				end, _ := scanString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			}
		}
		return -1
	case ',', '}', ']', ':':
		return -1
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// isObject reports whether b is one well-formed JSON object.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
