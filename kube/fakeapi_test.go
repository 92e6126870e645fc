package kube

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

// fakeAPI is an API server over HTTP backed by client-go's field-managed
// object tracker: the real Client (dynamic client, REST, server-side
// apply with conflicts and managed fields) talks to it, and the test
// plays the controllers by writing status into the tracker.
type fakeAPI struct {
	t       *testing.T
	tracker k8stesting.ObjectTracker
	srv     *httptest.Server
	mu      sync.Mutex
	logs    map[string]string   // pod name -> its output
	calls   []string            // "PATCH deployments shop-web", ...
	fail    map[string]apiError // "DELETE secrets" -> the error to answer
	// react, if set, is called before each request is served, as
	// "METHOD resource name": the test's controllers act there.
	react func(call string)
}

type apiError struct{ code int }

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		t: t,
		tracker: k8stesting.NewFieldManagedObjectTracker(scheme.Scheme, scheme.Codecs.UniversalDecoder(),
			applyconfigurations.NewTypeConverter(scheme.Scheme)),
		logs: map[string]string{},
		fail: map[string]apiError{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewForConfig(&rest.Config{Host: f.srv.URL, QPS: -1}) // no client-side rate limit: the test polls fast
	if err != nil {
		t.Fatal(err)
	}
	c.Poll = 5e6 // 5ms
	return c
}

// kindOfResource is the tracker's view of the resources gitship uses.
func kindOfResource(gvr schema.GroupVersionResource) schema.GroupVersionKind {
	for kind, k := range kinds {
		if k.gvr == gvr {
			return gvr.GroupVersion().WithKind(kind)
		}
	}
	return schema.GroupVersionKind{}
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	gvr, ns, name, sub := parsePath(r.URL.Path)
	f.mu.Lock()
	call := r.Method + " " + gvr.Resource + " " + name
	f.calls = append(f.calls, call)
	e, fail := f.fail[r.Method+" "+gvr.Resource]
	react := f.react
	f.mu.Unlock()
	if react != nil {
		react(call)
	}
	f.mu.Lock()
	logs := f.logs[name]
	f.mu.Unlock()
	if fail {
		f.writeErr(w, &apierrors.StatusError{ErrStatus: metav1.Status{Status: "Failure", Code: int32(e.code), Reason: metav1.StatusReasonForbidden, Message: "forbidden by the test"}})
		return
	}
	if sub == "log" {
		io.WriteString(w, logs)
		return
	}
	gvk := kindOfResource(gvr)
	var obj runtime.Object
	var err error
	switch {
	case r.Method == http.MethodGet && name != "":
		obj, err = f.tracker.Get(gvr, ns, name)
	case r.Method == http.MethodGet:
		obj, err = f.list(gvr, gvk, ns, r.URL.Query().Get("labelSelector"))
	case r.Method == http.MethodPatch && r.Header.Get("Content-Type") == string(types.ApplyPatchType):
		body, _ := io.ReadAll(r.Body)
		u := &unstructured.Unstructured{Object: map[string]any{}}
		if err = yaml.Unmarshal(body, &u.Object); err == nil {
			force := r.URL.Query().Get("force") == "true"
			err = f.tracker.Apply(gvr, u, ns, metav1.PatchOptions{FieldManager: r.URL.Query().Get("fieldManager"), Force: &force})
		}
		if err == nil {
			obj, err = f.tracker.Get(gvr, ns, name)
		}
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		var o runtime.Object
		if o, _, err = scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil); err == nil {
			if err = f.tracker.Create(gvr, o, ns); err == nil {
				obj = o
			}
		}
	case r.Method == http.MethodDelete:
		err = f.tracker.Delete(gvr, ns, name)
		obj = &metav1.Status{Status: "Success"}
	default:
		f.t.Errorf("fake API: %s %s not handled", r.Method, r.URL)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if err != nil {
		f.writeErr(w, err)
		return
	}
	if gvk.Kind != "" && obj.GetObjectKind().GroupVersionKind().Kind == "" {
		obj.GetObjectKind().SetGroupVersionKind(gvk)
	}
	w.Header().Set("Content-Type", "application/json")
	// a write error is a client that gave up (its deadline): nothing
	// for the test to see
	_ = json.NewEncoder(w).Encode(obj)
}

// list is the tracker's list filtered by a label selector (the tracker
// itself ignores selectors: client-go's typed fakes filter).
func (f *fakeAPI) list(gvr schema.GroupVersionResource, gvk schema.GroupVersionKind, ns, sel string) (runtime.Object, error) {
	obj, err := f.tracker.List(gvr, gvk, ns)
	if err != nil {
		return nil, err
	}
	s, err := labels.Parse(sel)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, err
	}
	var keep []runtime.Object
	for _, it := range items {
		m, err := meta.Accessor(it)
		if err != nil {
			return nil, err
		}
		if s.Matches(labels.Set(m.GetLabels())) {
			keep = append(keep, it)
		}
	}
	if err := meta.SetList(obj, keep); err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	return obj, nil
}

func (f *fakeAPI) writeErr(w http.ResponseWriter, err error) {
	st, ok := err.(apierrors.APIStatus)
	if !ok {
		st = apierrors.NewInternalError(err)
	}
	s := st.Status()
	s.Kind, s.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(s.Code))
	json.NewEncoder(w).Encode(s)
}

// parsePath splits /api/v1/namespaces/NS/RESOURCE/NAME/SUB and
// /apis/GROUP/VERSION/... into their parts.
func parsePath(p string) (gvr schema.GroupVersionResource, ns, name, sub string) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if parts[0] == "api" {
		gvr.Version, parts = parts[1], parts[2:]
	} else {
		gvr.Group, gvr.Version, parts = parts[1], parts[2], parts[3:]
	}
	if parts[0] == "namespaces" && len(parts) >= 3 {
		ns, parts = parts[1], parts[2:]
	}
	gvr.Resource = parts[0]
	if len(parts) > 1 {
		name = parts[1]
	}
	if len(parts) > 2 {
		sub = parts[2]
	}
	return gvr, ns, name, sub
}

// callsOf are the requests made, as "METHOD resource name".
func (f *fakeAPI) callsOf() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// update changes the stored object kind ns/name (the test playing a
// controller).
func (f *fakeAPI) update(kind, ns, name string, change func(runtime.Object)) {
	f.t.Helper()
	gvr := kinds[kind].gvr
	obj, err := f.tracker.Get(gvr, ns, name)
	if err != nil {
		f.t.Fatalf("fake API: get %s %s/%s: %v", kind, ns, name, err)
	}
	change(obj)
	if err := f.tracker.Update(gvr, obj, ns); err != nil {
		f.t.Fatalf("fake API: update %s %s/%s: %v", kind, ns, name, err)
	}
}

func (f *fakeAPI) add(obj runtime.Object) {
	f.t.Helper()
	if err := f.tracker.Add(obj); err != nil {
		f.t.Fatalf("fake API: add: %v", err)
	}
}
