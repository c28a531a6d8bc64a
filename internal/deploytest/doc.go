// Package deploytest checks the deployment files under deploy/ against
// the code they deploy, since no container engine can build or run them
// where the tests run:
//
//   - deploy/prometheus/prometheus.yml passes promtool check config;
//   - deploy/compose.yaml passes docker-compose config, with and without
//     the gpu profile, and its workers can scale;
//   - every series the Grafana dashboard queries is one that /metrics
//     exports after real traffic through an Engine, the HTTP handler and
//     a worker pool, with the labels the queries use;
//   - deploy/Dockerfile's build commands build here, and .dockerignore
//     keeps every file they need.
//
// The tests skip when promtool or docker-compose is missing, unless the
// environment variable CI is set: then they fail. The package holds only
// tests; it lives in the main module (no deploy/go.mod dependency) because
// it needs the Engine, httpapi and workers.
package deploytest
