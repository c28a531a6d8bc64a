// Package deploy holds the checks of the deployment files beside it: its
// tests decode every Kubernetes manifest under k8s/ strictly, as the API
// server's strict field validation would, and check that the objects fit
// together and that the environment they give the DREDGE processes is one
// those processes accept.
//
// It is a module of its own so that the Kubernetes API packages its tests
// need stay out of the library's go.mod. Run it with
//
//	cd deploy && go test ./...
package deploy
