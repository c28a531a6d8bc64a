package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
)

func Example() {
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"))
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	h, err := httpapi.New(eng, httpapi.Config{AuthEnabled: true, APIKeys: []string{"k1"}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	call := func(method, path, body string, key string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, string(b))
	}
	call("GET", "/health", "", "")
	call("POST", "/v1/ops/string_spectrum", `{"max_modes": 3}`, "")
	call("POST", "/v1/ops/string_spectrum", `{"max_modes": 3}`, "k1")
	call("POST", "/v1/ops/string_spectrum", `{"max_modes": 0}`, "k1")
	call("POST", "/mcp", `{"operation": "string_spectrum", "params": {"max_modes": 0}}`, "k1")
	// Output:
	// 200 {"status":"healthy","version":"0.3.0"}
	// 401 {"success":false,"error":"missing API key: send it as \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\"","code":"unauthenticated"}
	// 200 {"success":true,"dimensions":10,"max_modes":3,"energy_spectrum":[0.5,1,1.5],"cached":false}
	// 400 {"success":false,"error":"max_modes: must be between 1 and 100000, got 0","code":"invalid_argument","field":"max_modes"}
	// 200 {"success":false,"error":"max_modes: must be between 1 and 100000, got 0","code":"invalid_argument","field":"max_modes"}
}

func ExampleParseKeys() {
	keys, err := httpapi.ParseKeys(`
# tenant key [quota]
acme k-acme-1 100
beta k-beta-1
k-default
`)
	if err != nil {
		panic(err)
	}
	for _, k := range []string{"k-acme-1", "k-beta-1", "k-default", "k-unknown"} {
		tenant, quota, ok := keys.Lookup(k)
		fmt.Printf("%s: %q %d %v\n", k, tenant, quota, ok)
	}
	_, err = httpapi.ParseKeys("acme k-acme-1\nbad/name k-secret\n")
	fmt.Println(err)
	// Output:
	// k-acme-1: "acme" 100 true
	// k-beta-1: "beta" 0 true
	// k-default: "" 0 true
	// k-unknown: "" 0 false
	// httpapi: API_KEYS_FILE: line 2: a tenant name is 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit
}
