package kube

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestRolledOutCountsNewPodsOnly: during a rollout the old template's
// pods stay available; they are not the new release's.
func TestRolledOutCountsNewPodsOnly(t *testing.T) {
	two := int32(2)
	one := int32(1)
	tests := []struct {
		name        string
		replicas    *int32
		st          appsv1.DeploymentStatus
		avail, want int
		done        bool
	}{
		{"new pod pending, old one serving", &one, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1}, 0, 1, false},
		{"new pod ready, old one not gone yet", &one, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 2}, 1, 1, false},
		{"rolled out", &two, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}, 2, 2, true},
		{"half way", &two, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 2}, 1, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: tt.replicas}, Status: tt.st}
			avail, want, done := rolledOut(d)
			if avail != tt.avail || want != tt.want || done != tt.done {
				t.Errorf("rolledOut = %d/%d done=%v, want %d/%d done=%v", avail, want, done, tt.avail, tt.want, tt.done)
			}
		})
	}
}
