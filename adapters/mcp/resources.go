package mcp

import (
	"context"
	"encoding/json"

	"fmt"
	"net/url"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
)

// The resources a server offers. Each is JSON (application/json).
const (
	// CapabilitiesURI reads list_capabilities' JSON.
	CapabilitiesURI = "dredge://capabilities"
	// ModelsURI reads list_models' JSON: {"success": true, "models":
	// [{"model_id", "model_type", "n_parameters", "config"}, …]}.
	ModelsURI = "dredge://models"
	// ModelURITemplate reads one loaded model's get_parameters JSON; an
	// unknown model_id is a resource-not-found error.
	ModelURITemplate = "dredge://models/{model_id}"
)

const jsonMIME = "application/json"

func addResources(srv *sdk.Server, eng *dredge.Engine) {
	// addJSON adds a resource whose content is the JSON read returns.
	addJSON := func(r *sdk.Resource, read func(context.Context) ([]byte, error)) {
		r.MIMEType = jsonMIME
		srv.AddResource(r, func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			body, err := read(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", r.URI, err)
			}
			return jsonContents(req.Params.URI, body), nil
		})
	}
	addJSON(&sdk.Resource{
		URI:         CapabilitiesURI,
		Name:        "capabilities",
		Title:       "DREDGE capabilities",
		Description: "Model types, operations and features (caching, metrics, device): list_capabilities' JSON.",
	}, operationJSON(eng, "list_capabilities"))
	addJSON(&sdk.Resource{
		URI:         ModelsURI,
		Name:        "models",
		Title:       "Loaded models",
		Description: "The models loaded with load_model: list_models' JSON (id, type, parameter count and configuration).",
	}, operationJSON(eng, "list_models"))
	srv.AddResourceTemplate(&sdk.ResourceTemplate{
		URITemplate: ModelURITemplate,
		Name:        "model",
		Title:       "A loaded model's parameters",
		Description: "One loaded model's named parameters with shapes: get_parameters' JSON.",
		MIMEType:    jsonMIME,
	}, func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		uri := req.Params.URI
		id, ok := strings.CutPrefix(uri, strings.TrimSuffix(ModelURITemplate, "{model_id}"))
		if ok {
			id, ok = unescape(id)
		}
		if !ok || id == "" {
			return nil, sdk.ResourceNotFoundError(uri)
		}
		params, _ := json.Marshal(dredge.GetParametersParams{ModelID: id})
		body, code := eng.CallJSON(ctx, "get_parameters", params)
		switch code {
		case dredge.CodeOK:
			return jsonContents(uri, body), nil
		case dredge.CodeNotFound, dredge.CodeInvalidArgument:
			return nil, sdk.ResourceNotFoundError(uri)
		}
		return nil, fmt.Errorf("reading %s: %s", uri, code)
	})
}

// operationJSON reads the JSON answer of an operation without params.
func operationJSON(eng *dredge.Engine, op string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		a := eng.Answer(ctx, op, nil)
		return a.Body, a.Err
	}
}

func unescape(s string) (string, bool) {
	u, err := url.PathUnescape(s)
	return u, err == nil && !strings.Contains(u, "/")
}

func jsonContents(uri string, body []byte) *sdk.ReadResourceResult {
	return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: uri, MIMEType: jsonMIME, Text: string(body)}}}
}
