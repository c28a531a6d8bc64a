package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/workers"
)

// manifestDir holds the Kubernetes manifests, relative to this package.
const manifestDir = "k8s"

// kinds are the kinds the manifests may hold, each at the one API version
// it is written for. Anything else (a typo'd kind, a beta API version, a
// kind nobody reviewed here) fails the test: add it here, with checks,
// when it is meant.
var kinds = map[schema.GroupVersionKind]bool{
	corev1.SchemeGroupVersion.WithKind("Namespace"):                      true,
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):                      true,
	corev1.SchemeGroupVersion.WithKind("Secret"):                         true,
	corev1.SchemeGroupVersion.WithKind("Service"):                        true,
	appsv1.SchemeGroupVersion.WithKind("Deployment"):                     true,
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):                    true,
	autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"): true,
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):          true,
}

// kustomization is the part of kustomize's Kustomization that
// kustomization.yaml uses; decoding it strictly fails on any other field,
// so a field added there must be added here, where the test can check it.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// decoder decodes YAML or JSON into the typed object its apiVersion and
// kind name, failing on unknown or duplicate fields as the API server's
// strict field validation does. Field names match case-sensitively
// (sigs.k8s.io/json), unlike encoding/json: "containerport" is an error.
var decoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

// manifests is what the directory holds, decoded.
type manifests struct {
	files        []string // the manifest files' names, kustomization.yaml left out
	kustomize    *kustomization
	namespace    *corev1.Namespace
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs         map[string]*policyv1.PodDisruptionBudget
}

// object is a decoded manifest object and where it came from.
type object struct {
	where string // file and document number, for messages
	obj   runtime.Object
	gvk   schema.GroupVersionKind
}

// splitDocuments returns the YAML documents of data (separated by ---
// lines), leaving out those that hold nothing but comments.
func splitDocuments(data []byte) ([][]byte, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if s := string(bytes.TrimSpace(j)); s == "null" || s == "" {
			continue
		}
		docs = append(docs, doc)
	}
}

// decode decodes one document strictly into a typed object of an allowed
// kind.
func decode(doc []byte) (runtime.Object, schema.GroupVersionKind, error) {
	obj, gvk, err := decoder.Decode(doc, nil, nil)
	if err != nil { // strict errors come with an object: it does not count
		return nil, schema.GroupVersionKind{}, err
	}
	if !kinds[*gvk] {
		return nil, *gvk, fmt.Errorf("kind %s is not one the deployment is meant to have (the kinds map in k8s_test.go)", gvk)
	}
	return obj, *gvk, nil
}

// load reads and decodes every manifest in dir; errors go to t.
func load(t *testing.T, dir string) *manifests {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}, deployments: map[string]*appsv1.Deployment{},
		statefulSets: map[string]*appsv1.StatefulSet{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{},
	}
	var objs []object
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (filepath.Ext(name) != ".yaml" && filepath.Ext(name) != ".yml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "kustomization.yaml" {
			m.kustomize = decodeKustomization(t, data)
			continue
		}
		m.files = append(m.files, name)
		docs, err := splitDocuments(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(docs) == 0 {
			t.Errorf("%s: no object", name)
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s, document %d", name, i+1)
			obj, gvk, err := decode(doc)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			objs = append(objs, object{where, obj, gvk})
		}
	}
	for _, o := range objs {
		m.add(t, o)
	}
	return m
}

// add files o under its kind, checking its name is unique there.
func (m *manifests) add(t *testing.T, o object) {
	t.Helper()
	put := func(name string, have bool) {
		if name == "" {
			t.Errorf("%s: %s without a name", o.where, o.gvk.Kind)
		}
		if have {
			t.Errorf("%s: a second %s named %q", o.where, o.gvk.Kind, name)
		}
	}
	switch v := o.obj.(type) {
	case *corev1.Namespace:
		put(v.Name, m.namespace != nil)
		m.namespace = v
	case *corev1.ConfigMap:
		put(v.Name, m.configMaps[v.Name] != nil)
		m.configMaps[v.Name] = v
	case *corev1.Secret:
		put(v.Name, m.secrets[v.Name] != nil)
		m.secrets[v.Name] = v
	case *corev1.Service:
		put(v.Name, m.services[v.Name] != nil)
		m.services[v.Name] = v
	case *appsv1.Deployment:
		put(v.Name, m.deployments[v.Name] != nil)
		m.deployments[v.Name] = v
	case *appsv1.StatefulSet:
		put(v.Name, m.statefulSets[v.Name] != nil)
		m.statefulSets[v.Name] = v
	case *autoscalingv2.HorizontalPodAutoscaler:
		put(v.Name, m.hpas[v.Name] != nil)
		m.hpas[v.Name] = v
	case *policyv1.PodDisruptionBudget:
		put(v.Name, m.pdbs[v.Name] != nil)
		m.pdbs[v.Name] = v
	default:
		t.Errorf("%s: %T has no place in the checks", o.where, o.obj)
	}
}

func decodeKustomization(t *testing.T, data []byte) *kustomization {
	t.Helper()
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	var k kustomization
	strict, err := sigsjson.UnmarshalStrict(j, &k)
	if err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if err := errors.Join(strict...); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	return &k
}

// workload is a Deployment or StatefulSet, as far as the checks go.
type workload struct {
	kind, name string
	selector   *metav1.LabelSelector
	pod        *corev1.PodTemplateSpec
}

func (m *manifests) workloads() []workload {
	var w []workload
	for _, name := range sortedKeys(m.deployments) {
		d := m.deployments[name]
		w = append(w, workload{"Deployment", name, d.Spec.Selector, &d.Spec.Template})
	}
	for _, name := range sortedKeys(m.statefulSets) {
		s := m.statefulSets[name]
		w = append(w, workload{"StatefulSet", name, s.Spec.Selector, &s.Spec.Template})
	}
	return w
}

// selecting returns the workloads whose pods sel selects.
func (m *manifests) selecting(sel labels.Selector) []workload {
	var w []workload
	for _, wl := range m.workloads() {
		if !sel.Empty() && sel.Matches(labels.Set(wl.pod.Labels)) {
			w = append(w, wl)
		}
	}
	return w
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestManifests decodes every manifest strictly and checks that the
// objects the deployment needs are there and fit together.
func TestManifests(t *testing.T) {
	m := load(t, manifestDir)
	if t.Failed() {
		t.FailNow() // the rest would only repeat the decoding errors
	}

	t.Run("kustomization lists every manifest", func(t *testing.T) {
		if m.kustomize == nil {
			t.Skip("no kustomization.yaml")
		}
		got := slices.Sorted(slices.Values(m.kustomize.Resources))
		if want := slices.Sorted(slices.Values(m.files)); !slices.Equal(got, want) {
			t.Errorf("kustomization.yaml resources %v, the directory's manifests %v", got, want)
		}
	})

	t.Run("required objects", func(t *testing.T) {
		required := []struct {
			kind, name string
			have       bool
		}{
			{"Namespace", "dredge", m.namespace != nil && m.namespace.Name == "dredge"},
			{"ConfigMap", "dredge-config", m.configMaps["dredge-config"] != nil},
			{"Secret", "dredge-api-keys", m.secrets["dredge-api-keys"] != nil},
			{"Deployment", "http-service", m.deployments["http-service"] != nil},
			{"Deployment", "worker", m.deployments["worker"] != nil},
			{"StatefulSet", "redis", m.statefulSets["redis"] != nil},
			{"Service", "http-service", m.services["http-service"] != nil},
			{"Service", "redis", m.services["redis"] != nil},
			{"HorizontalPodAutoscaler", "worker", m.hpas["worker"] != nil},
			{"PodDisruptionBudget", "http-service", m.pdbs["http-service"] != nil},
			{"PodDisruptionBudget", "worker", m.pdbs["worker"] != nil},
		}
		for _, r := range required {
			if !r.have {
				t.Errorf("no %s %q", r.kind, r.name)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("namespace", func(t *testing.T) {
		ns := m.namespace.Name
		check := func(kind string, meta metav1.ObjectMeta) {
			if meta.Namespace != ns {
				t.Errorf("%s %s: namespace %q, want %q", kind, meta.Name, meta.Namespace, ns)
			}
		}
		for _, o := range m.configMaps {
			check("ConfigMap", o.ObjectMeta)
		}
		for _, o := range m.secrets {
			check("Secret", o.ObjectMeta)
		}
		for _, o := range m.services {
			check("Service", o.ObjectMeta)
		}
		for _, o := range m.deployments {
			check("Deployment", o.ObjectMeta)
		}
		for _, o := range m.statefulSets {
			check("StatefulSet", o.ObjectMeta)
		}
		for _, o := range m.hpas {
			check("HorizontalPodAutoscaler", o.ObjectMeta)
		}
		for _, o := range m.pdbs {
			check("PodDisruptionBudget", o.ObjectMeta)
		}
	})

	t.Run("workloads", func(t *testing.T) {
		for _, w := range m.workloads() {
			checkWorkload(t, m, w)
		}
	})

	t.Run("probes", func(t *testing.T) {
		// The DREDGE processes' own endpoints, by container: the service's
		// /ready fails while Redis is away and /health does not; the
		// worker has /health (Redis reachable) only, so its liveness asks
		// for /metrics, which needs no Redis (worker.yaml says why).
		want := map[string]struct{ port, ready, live string }{
			"http-service": {"http", "/ready", "/health"},
			"worker":       {"metrics", "/health", "/metrics"},
			"mcp-server":   {"mcp", "/ready", "/health"}, // httpapi.Probes
		}
		for name, w := range want {
			d := m.deployments[name]
			if d == nil && name == "mcp-server" {
				continue // optional
			}
			c := container(d.Spec.Template.Spec.Containers, name)
			if c == nil {
				t.Errorf("Deployment %s: no container %q", name, name)
				continue
			}
			checkHTTPProbe(t, name+" readiness", c, c.ReadinessProbe, w.port, w.ready)
			checkHTTPProbe(t, name+" liveness", c, c.LivenessProbe, w.port, w.live)
		}
	})

	t.Run("prometheus annotations", func(t *testing.T) {
		for _, name := range []string{"http-service", "worker", "mcp-server"} {
			if m.deployments[name] == nil {
				continue // mcp-server is optional; the others' absence fails above
			}
			a := m.deployments[name].Spec.Template.Annotations
			if a["prometheus.io/scrape"] != "true" {
				t.Errorf("Deployment %s: prometheus.io/scrape %q, want \"true\"", name, a["prometheus.io/scrape"])
			}
		}
		for _, w := range m.workloads() {
			a := w.pod.Annotations
			if a["prometheus.io/scrape"] != "true" {
				continue
			}
			if a["prometheus.io/path"] != "/metrics" {
				t.Errorf("%s %s: prometheus.io/path %q, want /metrics", w.kind, w.name, a["prometheus.io/path"])
			}
			port, err := strconv.Atoi(a["prometheus.io/port"])
			if err != nil || !hasContainerPort(w.pod.Spec.Containers, int32(port)) {
				t.Errorf("%s %s: prometheus.io/port %q is not a container port", w.kind, w.name, a["prometheus.io/port"])
			}
		}
	})

	t.Run("services select pods", func(t *testing.T) {
		for _, name := range sortedKeys(m.services) {
			checkService(t, m, m.services[name])
		}
		if s := m.services["redis"]; s.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("Service redis: clusterIP %q, want None (headless)", s.Spec.ClusterIP)
		}
		if s := m.services["http-service"]; s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
			t.Errorf("Service http-service: type %s, want ClusterIP", s.Spec.Type)
		}
		for _, name := range sortedKeys(m.statefulSets) {
			s := m.statefulSets[name]
			svc := m.services[s.Spec.ServiceName]
			if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("StatefulSet %s: serviceName %q is not a headless Service here", name, s.Spec.ServiceName)
			}
		}
	})

	t.Run("redis persistence", func(t *testing.T) {
		s := m.statefulSets["redis"]
		if len(s.Spec.VolumeClaimTemplates) == 0 {
			t.Fatal("StatefulSet redis: no volumeClaimTemplates")
		}
		claim := s.Spec.VolumeClaimTemplates[0]
		if _, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			t.Errorf("StatefulSet redis: claim %s requests no storage", claim.Name)
		}
		c := container(s.Spec.Template.Spec.Containers, "redis")
		if c == nil {
			t.Fatal("StatefulSet redis: no container redis")
		}
		args := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
		if !strings.Contains(args, "--appendonly yes") {
			t.Errorf("redis: %q turns no append-only persistence on", args)
		}
		mounted := false
		for _, vm := range c.VolumeMounts {
			mounted = mounted || (vm.Name == claim.Name && strings.Contains(args, "--dir "+vm.MountPath))
		}
		if !mounted {
			t.Errorf("redis: the claim %s is not mounted at the --dir Redis writes to (%q)", claim.Name, args)
		}
	})

	t.Run("autoscaler", func(t *testing.T) {
		for _, name := range sortedKeys(m.hpas) {
			h := m.hpas[name]
			ref := h.Spec.ScaleTargetRef
			d := m.deployments[ref.Name]
			if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || d == nil {
				t.Errorf("HorizontalPodAutoscaler %s: target %s %s %s is not a Deployment here", name, ref.APIVersion, ref.Kind, ref.Name)
				continue
			}
			// A replicas field would reset the autoscaler's count on
			// every apply.
			if d.Spec.Replicas != nil {
				t.Errorf("Deployment %s: replicas set although %s scales it", d.Name, name)
			}
			if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
				t.Errorf("HorizontalPodAutoscaler %s: replicas %v..%d", name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
			}
			cpu := false
			for _, metric := range h.Spec.Metrics {
				if metric.Type == autoscalingv2.ResourceMetricSourceType && metric.Resource != nil &&
					metric.Resource.Name == corev1.ResourceCPU && metric.Resource.Target.Type == autoscalingv2.UtilizationMetricType &&
					metric.Resource.Target.AverageUtilization != nil {
					cpu = true
				}
			}
			if !cpu {
				t.Errorf("HorizontalPodAutoscaler %s: no CPU utilisation target", name)
			}
			// Utilisation is of the request: without one it is undefined.
			for _, c := range d.Spec.Template.Spec.Containers {
				if c.Resources.Requests.Cpu().IsZero() {
					t.Errorf("Deployment %s: container %s requests no CPU, which %s's utilisation is measured against", d.Name, c.Name, name)
				}
			}
		}
		if ref := m.hpas["worker"].Spec.ScaleTargetRef; ref.Name != "worker" {
			t.Errorf("HorizontalPodAutoscaler worker scales %s, want the worker Deployment", ref.Name)
		}
	})

	t.Run("disruption budgets", func(t *testing.T) {
		for _, name := range sortedKeys(m.pdbs) {
			p := m.pdbs[name]
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			if err != nil {
				t.Errorf("PodDisruptionBudget %s: %v", name, err)
				continue
			}
			w := m.selecting(sel)
			if len(w) != 1 {
				t.Errorf("PodDisruptionBudget %s: selects the pods of %d workloads, want 1", name, len(w))
				continue
			}
			if w[0].name != name {
				t.Errorf("PodDisruptionBudget %s: selects %s %s's pods", name, w[0].kind, w[0].name)
			}
			if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
				t.Errorf("PodDisruptionBudget %s: want one of minAvailable and maxUnavailable", name)
			}
			// minAvailable of all the replicas would block every drain.
			if d := m.deployments[w[0].name]; d != nil && d.Spec.Replicas != nil && p.Spec.MinAvailable != nil &&
				p.Spec.MinAvailable.Type == intstr.Int && p.Spec.MinAvailable.IntVal >= *d.Spec.Replicas {
				t.Errorf("PodDisruptionBudget %s: minAvailable %d of %d replicas allows no disruption", name, p.Spec.MinAvailable.IntVal, *d.Spec.Replicas)
			}
		}
	})

	t.Run("references", func(t *testing.T) {
		for _, w := range m.workloads() {
			checkReferences(t, m, w)
		}
	})

	t.Run("environment", func(t *testing.T) {
		checkEnvironment(t, m)
	})
}

func container(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func hasContainerPort(cs []corev1.Container, port int32) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.ContainerPort == port {
				return true
			}
		}
	}
	return false
}

// portOf resolves a port given by name or number to the container port it
// names; ok is false when c declares no such port.
func portOf(c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func checkHTTPProbe(t *testing.T, what string, c *corev1.Container, p *corev1.Probe, port, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want an httpGet probe on %s %s, got %+v", what, port, path, p)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: path %q, want %q", what, p.HTTPGet.Path, path)
	}
	got, ok := portOf(c, p.HTTPGet.Port)
	want, _ := portOf(c, intstr.FromString(port))
	if !ok || got != want {
		t.Errorf("%s: port %s, want the container's %s port", what, p.HTTPGet.Port.String(), port)
	}
}

// checkWorkload checks a workload's selector, pod security and containers.
func checkWorkload(t *testing.T, m *manifests, w workload) {
	t.Helper()
	id := w.kind + " " + w.name
	sel, err := metav1.LabelSelectorAsSelector(w.selector)
	switch {
	case err != nil || sel.Empty():
		t.Errorf("%s: selector %v: %v", id, w.selector, err)
	case !sel.Matches(labels.Set(w.pod.Labels)):
		t.Errorf("%s: selector %s does not select its own pod labels %v", id, sel, w.pod.Labels)
	case len(m.selecting(sel)) > 1:
		// Two controllers would fight over the same pods.
		t.Errorf("%s: selector %s selects other workloads' pods too", id, sel)
	}
	spec := &w.pod.Spec
	if spec.AutomountServiceAccountToken != nil && *spec.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token it does not need", id)
	}
	psc := spec.SecurityContext
	if len(spec.InitContainers) > 0 {
		t.Errorf("%s: init containers are not checked here; add their checks", id)
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cid := id + " container " + c.Name
		// Non-root: the pod's or the container's runAsNonRoot, and no
		// explicit user 0.
		nonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
		user := (*int64)(nil)
		if psc != nil {
			user = psc.RunAsUser
		}
		if sc := c.SecurityContext; sc != nil {
			if sc.RunAsNonRoot != nil {
				nonRoot = *sc.RunAsNonRoot
			}
			if sc.RunAsUser != nil {
				user = sc.RunAsUser
			}
		}
		if !nonRoot || (user != nil && *user == 0) {
			uid := "unset"
			if user != nil {
				uid = strconv.FormatInt(*user, 10)
			}
			t.Errorf("%s: not held to a non-root user (runAsNonRoot %v, runAsUser %s)", cid, nonRoot, uid)
		}
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: allowPrivilegeEscalation must be false", cid)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[r]
			lim, okLim := c.Resources.Limits[r]
			if !okReq || !okLim || req.Sign() <= 0 {
				t.Errorf("%s: %s wants both a request and a limit (requests %v, limits %v)", cid, r, c.Resources.Requests, c.Resources.Limits)
				continue
			}
			if lim.Cmp(req) < 0 {
				t.Errorf("%s: %s limit %s below its request %s", cid, r, lim.String(), req.String())
			}
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: wants both a readiness and a liveness probe", cid)
		}
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if p == nil {
				continue
			}
			var port *intstr.IntOrString
			switch {
			case p.HTTPGet != nil:
				port = &p.HTTPGet.Port
			case p.TCPSocket != nil:
				port = &p.TCPSocket.Port
			case p.GRPC != nil:
				port = new(intstr.FromInt32(p.GRPC.Port))
			}
			if port != nil {
				if _, ok := portOf(c, *port); !ok {
					t.Errorf("%s: a probe's port %s is not one of its ports", cid, port.String())
				}
			}
		}
		if c.Image == "" {
			t.Errorf("%s: no image", cid)
		}
	}
}

// checkService checks that s selects the pods of exactly one workload and
// that its target ports are ports of those pods.
func checkService(t *testing.T, m *manifests, s *corev1.Service) {
	t.Helper()
	sel := labels.SelectorFromSet(s.Spec.Selector)
	ws := m.selecting(sel)
	if len(ws) != 1 {
		t.Errorf("Service %s: selector %v selects the pods of %d workloads, want 1", s.Name, s.Spec.Selector, len(ws))
		return
	}
	pod := ws[0].pod
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		found := false
		for i := range pod.Spec.Containers {
			_, ok := portOf(&pod.Spec.Containers[i], target)
			found = found || ok
		}
		if !found {
			t.Errorf("Service %s: port %s targets %s, which %s %s's pods do not declare", s.Name, p.Name, target.String(), ws[0].kind, ws[0].name)
		}
	}
}

// checkReferences checks that every ConfigMap, Secret and key a workload's
// pods refer to exists, and that each volume they mount is declared.
func checkReferences(t *testing.T, m *manifests, w workload) {
	t.Helper()
	id := w.kind + " " + w.name
	configMap := func(name, key string, optional *bool) {
		cm := m.configMaps[name]
		switch {
		case optional != nil && *optional:
		case cm == nil:
			t.Errorf("%s: refers to ConfigMap %q, which is not here", id, name)
		case key != "":
			if _, ok := cm.Data[key]; !ok {
				t.Errorf("%s: refers to key %q of ConfigMap %s, which it lacks", id, key, name)
			}
		}
	}
	secret := func(name, key string, optional *bool) {
		s := m.secrets[name]
		switch {
		case optional != nil && *optional:
		case s == nil:
			t.Errorf("%s: refers to Secret %q, which is not here", id, name)
		case key != "":
			_, inData := s.Data[key]
			_, inString := s.StringData[key]
			if !inData && !inString {
				t.Errorf("%s: refers to key %q of Secret %s, which it lacks", id, key, name)
			}
		}
	}
	volumes := map[string]bool{}
	for _, v := range w.pod.Spec.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil {
			configMap(v.ConfigMap.Name, "", v.ConfigMap.Optional)
			for _, it := range v.ConfigMap.Items {
				configMap(v.ConfigMap.Name, it.Key, v.ConfigMap.Optional)
			}
		}
		if v.Secret != nil {
			secret(v.Secret.SecretName, "", v.Secret.Optional)
			for _, it := range v.Secret.Items {
				secret(v.Secret.SecretName, it.Key, v.Secret.Optional)
			}
		}
	}
	if s, ok := m.statefulSets[w.name]; ok && w.kind == "StatefulSet" {
		for _, c := range s.Spec.VolumeClaimTemplates {
			volumes[c.Name] = true
		}
	}
	for _, c := range w.pod.Spec.Containers {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				configMap(e.ConfigMapRef.Name, "", e.ConfigMapRef.Optional)
			}
			if e.SecretRef != nil {
				secret(e.SecretRef.Name, "", e.SecretRef.Optional)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				configMap(r.Name, r.Key, r.Optional)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				secret(r.Name, r.Key, r.Optional)
			}
		}
		for _, vm := range c.VolumeMounts {
			if !volumes[vm.Name] {
				t.Errorf("%s container %s: mounts volume %q, which the pod does not declare", id, c.Name, vm.Name)
			}
		}
	}
}

// env returns the environment c gets from its envFrom config maps and its
// own env values, the latter winning as in Kubernetes. Values from secrets
// by key are left out: none of the checked variables comes from one.
func env(m *manifests, c *corev1.Container) map[string]string {
	vars := map[string]string{}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			if cm := m.configMaps[e.ConfigMapRef.Name]; cm != nil {
				for k, v := range cm.Data {
					vars[e.Prefix+k] = v
				}
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			vars[e.Name] = e.Value
		} else if r := e.ValueFrom.ConfigMapKeyRef; r != nil && m.configMaps[r.Name] != nil {
			vars[e.Name] = m.configMaps[r.Name].Data[r.Key]
		}
	}
	return vars
}

// secretFile returns the content of the Secret file that path names in c:
// a key of a Secret volume mounted at path's directory.
func secretFile(m *manifests, pod *corev1.PodSpec, c *corev1.Container, file string) (string, error) {
	for _, vm := range c.VolumeMounts {
		dir, key := path.Split(file)
		if path.Clean(dir) != path.Clean(vm.MountPath) || vm.SubPath != "" {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != vm.Name || v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items { // items rename the keys
				if it.Path == key {
					key = it.Key
				}
			}
			s := m.secrets[v.Secret.SecretName]
			if s == nil {
				return "", fmt.Errorf("Secret %s is not here", v.Secret.SecretName)
			}
			if d, ok := s.StringData[key]; ok {
				return d, nil
			}
			if d, ok := s.Data[key]; ok {
				return string(d), nil
			}
			return "", fmt.Errorf("Secret %s has no key %q", s.Name, key)
		}
	}
	return "", fmt.Errorf("%s is not in a Secret volume mounted in container %s", file, c.Name)
}

// dredgeContainers are the containers that run DREDGE binaries, by the
// workload and container they are, with the port variable each listens
// on and the port's name.
var dredgeContainers = []struct {
	deployment, portVar, portName string
	worker                        bool // examples/worker, which refuses what a service accepts
}{
	{"http-service", "DREDGE_SERVER_PORT", "http", false},
	{"worker", "METRICS_PORT", "metrics", true},
	{"mcp-server", "MCP_SERVER_PORT", "mcp", false},
}

// checkEnvironment checks the environment each DREDGE container gets: the
// ports it listens on are the ones declared, REDIS_URL names the Redis
// Service here, the keys file is the Secret's, and the library's own
// configuration readers (httpapi, workers, cache) accept all of it, as
// they will when the process starts.
func checkEnvironment(t *testing.T, m *manifests) {
	for _, dc := range dredgeContainers {
		d := m.deployments[dc.deployment]
		if d == nil {
			if dc.deployment == "mcp-server" {
				continue // optional
			}
			t.Errorf("no Deployment %s", dc.deployment)
			continue
		}
		t.Run(dc.deployment, func(t *testing.T) {
			c := container(d.Spec.Template.Spec.Containers, dc.deployment)
			if c == nil {
				t.Fatalf("Deployment %s: no container %s", d.Name, dc.deployment)
			}
			vars := env(m, c)
			port, ok := portOf(c, intstr.FromString(dc.portName))
			if !ok || vars[dc.portVar] != strconv.Itoa(int(port)) {
				t.Errorf("%s=%q, but the container's %s port is %d", dc.portVar, vars[dc.portVar], dc.portName, port)
			}
			checkRedisURL(t, m, vars["REDIS_URL"])
			if vars["AUTH_ENABLED"] == "true" && vars["API_KEYS_FILE"] == "" && vars["API_KEY"] == "" {
				t.Error("AUTH_ENABLED without API_KEYS_FILE or API_KEY")
			}
			if f := vars["API_KEYS_FILE"]; f != "" {
				text, err := secretFile(m, &d.Spec.Template.Spec, c, f)
				if err != nil {
					t.Fatalf("API_KEYS_FILE: %v", err)
				}
				checkPlaceholderKeys(t, text)
				local := filepath.Join(t.TempDir(), "api-keys")
				if err := os.WriteFile(local, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				vars["API_KEYS_FILE"] = local
			}
			// The process's environment, for the readers below, which
			// take it from os.LookupEnv.
			for k, v := range vars {
				t.Setenv(k, v)
			}
			if _, err := cache.ConfigFromEnv(); err != nil {
				t.Errorf("cache.ConfigFromEnv: %v", err)
			}
			if _, err := httpapi.ConfigFromEnv(); err != nil {
				t.Errorf("httpapi.ConfigFromEnv: %v", err)
			}
			wc, err := workers.ConfigFromEnv()
			if err != nil {
				t.Errorf("workers.ConfigFromEnv: %v", err)
			}
			// What examples/worker's main adds to workers.ConfigFromEnv,
			// and what a service that leaves the jobs to the workers
			// needs.
			switch {
			case dc.worker && wc.Workers == 0:
				t.Error("NUM_WORKERS=0: a worker refuses to start without workers")
			case !dc.worker && wc.Workers != 0:
				t.Errorf("NUM_WORKERS=%d: the service and the MCP server leave the jobs to the worker Deployment, want 0", wc.Workers)
			}
			if wc.Backend != "redis" {
				t.Errorf("QUEUE_BACKEND=%q: the worker Deployment runs jobs of a shared queue, want redis", wc.Backend)
			}
			for _, v := range []string{"CACHE_BACKEND", "MODEL_STORE"} {
				if vars[v] != "redis" {
					t.Errorf("%s=%q: pods share results and models through Redis, want redis", v, vars[v])
				}
			}
		})
	}
}

// checkRedisURL checks that raw names the Redis Service here: its name,
// or a stateful set pod's name under it (redis-0.redis), and its port.
func checkRedisURL(t *testing.T, m *manifests, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "redis" {
		t.Errorf("REDIS_URL %q: want redis://host:port/db (%v)", raw, err)
		return
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Errorf("REDIS_URL %q: %v", raw, err)
		return
	}
	parts := strings.Split(strings.TrimSuffix(host, "."+m.namespace.Name+".svc.cluster.local"), ".")
	svc := m.services[parts[len(parts)-1]]
	switch {
	case svc == nil || len(parts) > 2:
		t.Errorf("REDIS_URL %q: %s is not a Service in namespace %s", raw, host, m.namespace.Name)
		return
	case len(parts) == 2:
		// A pod of a stateful set governed by this headless Service.
		ok := false
		for _, s := range m.statefulSets {
			n, err := strconv.Atoi(strings.TrimPrefix(parts[0], s.Name+"-"))
			ok = ok || (s.Spec.ServiceName == svc.Name && strings.HasPrefix(parts[0], s.Name+"-") &&
				err == nil && s.Spec.Replicas != nil && n < int(*s.Spec.Replicas))
		}
		if !ok {
			t.Errorf("REDIS_URL %q: %s is not a pod of a stateful set behind Service %s", raw, parts[0], svc.Name)
		}
	}
	found := false
	for _, p := range svc.Spec.Ports {
		found = found || strconv.Itoa(int(p.Port)) == port
	}
	if !found {
		t.Errorf("REDIS_URL %q: Service %s has no port %s", raw, svc.Name, port)
	}
}

// checkPlaceholderKeys checks that the committed keys file holds only
// placeholders, so that no real key is ever committed with the
// manifests: each key must say REPLACE-ME.
func checkPlaceholderKeys(t *testing.T, text string) {
	t.Helper()
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		key := f[0]
		if len(f) > 1 {
			key = f[1]
		}
		if !strings.Contains(key, "REPLACE-ME") {
			t.Errorf("the committed keys file holds a key that is not a placeholder (line %q without REPLACE-ME)", strings.TrimSpace(strings.Replace(line, key, "…", 1)))
		}
	}
}

// TestStrictDecoding checks that decoding is as strict as the tests rely
// on: each manifest changed by one typo (a misspelt or wrongly cased
// field, a duplicated field, a kind or version that is not in kinds)
// fails to decode, while the manifest itself decodes.
func TestStrictDecoding(t *testing.T) {
	mutations := []struct {
		name, file, old, new string
	}{
		{"misspelt field", "http-service.yaml", "readinessProbe:", "readinesProbe:"},
		{"field in the wrong case", "http-service.yaml", "containerPort:", "containerport:"},
		{"field at the wrong level", "worker.yaml", "      terminationGracePeriodSeconds:", "      terminationGracePeriod:"},
		{"duplicate field", "configmap.yaml", "  LOG_LEVEL: \"info\"", "  LOG_LEVEL: \"info\"\n  LOG_LEVEL: \"debug\""},
		{"unknown kind", "namespace.yaml", "kind: Namespace", "kind: Namespaces"},
		{"kind of another API version", "worker.yaml", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v1"},
		{"kind not meant here", "namespace.yaml", "kind: Namespace", "kind: Pod"},
		{"field in a quantity's place", "redis.yaml", "storage: 10Gi", "storage: {size: 10Gi}"},
	}
	for _, mu := range mutations {
		t.Run(mu.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(manifestDir, mu.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(mu.old)) {
				t.Fatalf("%s has no %q to change", mu.file, mu.old)
			}
			for variant, text := range map[string][]byte{"original": data, "changed": bytes.Replace(data, []byte(mu.old), []byte(mu.new), 1)} {
				docs, err := splitDocuments(text)
				if err != nil {
					t.Fatal(err)
				}
				var errs []error
				for _, doc := range docs {
					if _, _, err := decode(doc); err != nil {
						errs = append(errs, err)
					}
				}
				switch err := errors.Join(errs...); {
				case variant == "original" && err != nil:
					t.Errorf("%s: %v", mu.file, err)
				case variant == "changed" && err == nil:
					t.Errorf("%s with %q for %q decodes without an error", mu.file, mu.new, mu.old)
				case variant == "changed":
					t.Logf("%s: %v", variant, err)
				}
			}
		})
	}
}
