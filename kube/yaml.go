package kube

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// YAML prints objs as one multi-document YAML stream, in their order, for
// people who apply a release themselves (`gitship export APP --kube`):
// apiVersion and kind set, no status and no empty creationTimestamp, keys
// sorted, so the same release prints the same bytes.
func YAML(objs []Object) ([]byte, error) {
	var b bytes.Buffer
	for _, o := range objs {
		m, err := manifest(o)
		if err != nil {
			return nil, err
		}
		y, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kindOf(o), o.GetName(), err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes(), nil
}

// manifest is o as the API server takes it in an apply: its JSON without
// status and without the nulls of unset fields (creationTimestamp), which
// an apply would otherwise claim to own.
func manifest(o Object) (map[string]any, error) {
	if o.GetObjectKind().GroupVersionKind().Kind == "" {
		return nil, fmt.Errorf("object %s has no kind", o.GetName())
	}
	data, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kindOf(o), o.GetName(), err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s %s: %w", kindOf(o), o.GetName(), err)
	}
	delete(m, "status")
	dropNulls(m)
	return m, nil
}

// dropNulls removes null values at every depth; empty objects stay
// (emptyDir: {} means something).
func dropNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			dropNulls(e)
		}
	case []any:
		for _, e := range v {
			dropNulls(e)
		}
	}
}

func kindOf(o Object) string { return o.GetObjectKind().GroupVersionKind().Kind }
