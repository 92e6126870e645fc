package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitship/gitship/internal/usererr"
)

// Sentinels of the waits, for errors.Is.
var (
	// ErrNotAvailable: a release's Deployments were not all available
	// within the timeout; the caller undoes the rollout.
	ErrNotAvailable = errors.New("rollout not available")
	// ErrJobFailed: the release command's Job failed or ran out of time.
	ErrJobFailed = errors.New("release job failed")
)

func (c *Client) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 500 * time.Millisecond
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// every calls f every poll until it says done, returns an error, or ctx
// ends; it reports whether f said done. An error of a call that ctx's end
// cut short is no error: the caller says what did not finish in time.
func (c *Client) every(ctx context.Context, f func() (bool, error)) (bool, error) {
	t := time.NewTicker(c.poll())
	defer t.Stop()
	for {
		done, err := f()
		if err != nil && (ctx.Err() != nil || nearDeadline(ctx, c.poll())) {
			// a request cut short by the deadline, or refused by the
			// client's rate limiter because it would end after it: not done
			return false, nil
		}
		if done || err != nil {
			return done, err
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-t.C:
		}
	}
}

// nearDeadline says whether ctx ends within d.
func nearDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// RunJob applies job (a release's ReleaseJob) and waits up to timeout for
// it to complete or fail; then it writes the output of its pod to out.
// A Job that failed or did not finish in time is an error wrapping
// ErrJobFailed that says which, and why as far as the cluster says.
func (c *Client) RunJob(ctx context.Context, job *batchv1.Job, timeout time.Duration, out io.Writer) error {
	if err := c.Apply(ctx, []Object{job}); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var failed *batchv1.JobCondition
	done, err := c.every(wctx, func() (bool, error) {
		j, err := getOf[batchv1.Job](wctx, c, "Job", job.Namespace, job.Name)
		if err != nil {
			return false, fmt.Errorf("kube: get job %s/%s: %w", job.Namespace, job.Name, err)
		}
		for i, cond := range j.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return true, nil
			case batchv1.JobFailed:
				failed = &j.Status.Conditions[i]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil && ctx.Err() == nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("kube: release job %s/%s: %w", job.Namespace, job.Name, ctx.Err())
	}
	if logErr := c.jobLogs(ctx, job, out); logErr != nil {
		fmt.Fprintf(out, "(no output: %v)\n", logErr)
	}
	switch {
	case !done:
		return &usererr.Error{Msg: fmt.Sprintf("release command of %s did not finish within %s (job %s/%s)", job.Labels[LabelRelease], timeout, job.Namespace, job.Name), Err: ErrJobFailed}
	case failed != nil:
		return &usererr.Error{Msg: fmt.Sprintf("release command of %s failed: %s (job %s/%s)", job.Labels[LabelRelease], reason(failed.Reason, failed.Message), job.Namespace, job.Name), Err: ErrJobFailed}
	}
	return nil
}

// jobLogs writes the output of job's last pod to out.
func (c *Client) jobLogs(ctx context.Context, job *batchv1.Job, out io.Writer) error {
	pods, err := c.pods(ctx, job.Namespace, batchv1.JobNameLabel+"="+job.Name)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("job %s has no pod", job.Name)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp) })
	return c.Logs(ctx, job.Namespace, pods[len(pods)-1].Name, 0, false, out)
}

// WaitRollout waits up to timeout until every Deployment of app's
// release version runs that release's template with all its replicas
// available and none of an earlier release left. progress gets a line
// like "1/2 available" whenever the count changes. Not there in time is
// an error wrapping ErrNotAvailable saying which Deployments lack pods
// and why, as far as the cluster says (the pod's Unschedulable message, a
// container waiting for its image or crashing, the last warning event
// such as a failing readiness probe).
func (c *Client) WaitRollout(ctx context.Context, app, version string, timeout time.Duration, progress func(line string)) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	var deps []appsv1.Deployment
	done, err := c.every(wctx, func() (bool, error) {
		all, err := c.Deployments(wctx, app)
		if err != nil {
			return false, err
		}
		deps = deps[:0]
		for _, d := range all {
			if d.Labels[LabelRelease] == version {
				deps = append(deps, d)
			}
		}
		if len(deps) == 0 {
			return false, fmt.Errorf("kube: %s of %s has no Deployment: apply its objects first", version, app)
		}
		avail, want, done := 0, 0, true
		for _, d := range deps {
			n, w, ok := rolledOut(d)
			avail, want, done = avail+n, want+w, done && ok
		}
		if line := fmt.Sprintf("%d/%d available", avail, want); line != last && progress != nil {
			progress(line)
			last = line
		}
		return done, nil
	})
	if err != nil && ctx.Err() == nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("kube: rollout of %s of %s: %w", version, app, ctx.Err())
	}
	if done {
		return nil
	}
	return &usererr.Error{Msg: fmt.Sprintf("%s of %s did not roll out within %s: %s", version, app, timeout, c.unavailable(ctx, app, version, deps)), Err: ErrNotAvailable}
}

// rolledOut is how many pods of d's current template are available, how
// many d wants, and whether d is rolled out: its controller saw this
// generation, every replica runs this template and is available, and no
// pod of an earlier template is left.
func rolledOut(d appsv1.Deployment) (avail, want int, done bool) {
	want = 1
	if d.Spec.Replicas != nil {
		want = int(*d.Spec.Replicas)
	}
	s := d.Status
	// Pods of the earlier template still run during the rollout (no
	// unavailable pods allowed) and count as available: take them off.
	avail = int(max(0, min(s.UpdatedReplicas, s.AvailableReplicas-(s.Replicas-s.UpdatedReplicas))))
	if s.ObservedGeneration < d.Generation {
		avail = 0 // the counts are of the previous template
	}
	done = s.ObservedGeneration >= d.Generation && int(s.UpdatedReplicas) == want &&
		int(s.AvailableReplicas) == want && int(s.Replicas) == want
	return avail, want, done
}

// unavailable says, for a rollout that timed out, what is missing and the
// first reason found.
func (c *Client) unavailable(ctx context.Context, app, version string, deps []appsv1.Deployment) string {
	var parts []string
	for _, d := range deps {
		n, w, ok := rolledOut(d)
		if ok {
			continue
		}
		p := fmt.Sprintf("%s %d/%d available", d.Name, n, w)
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue {
				p += " (" + reason(cond.Reason, cond.Message) + ")"
			}
		}
		parts = append(parts, p)
	}
	msg := strings.Join(parts, ", ")
	if msg == "" {
		msg = "pods of the previous release are still running"
	}
	pods, err := c.pods(ctx, app, LabelRelease+"="+version)
	if err != nil {
		return msg + " (" + err.Error() + ")"
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || isJobPod(p) || ready(p) {
			continue
		}
		return msg + ": pod " + p.Name + ": " + c.why(ctx, p)
	}
	return msg
}

func isJobPod(p corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "Job" {
			return true
		}
	}
	return false
}

func ready(p corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// why a pod is not ready, in the cluster's words.
func (c *Client) why(ctx context.Context, p corev1.Pod) string {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
			return reason(cond.Reason, cond.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			r := reason(w.Reason, w.Message)
			if t := cs.LastTerminationState.Terminated; t != nil {
				r += fmt.Sprintf(" (last exit code %d)", t.ExitCode)
			}
			return r
		}
		if t := cs.State.Terminated; t != nil {
			return reason(t.Reason, fmt.Sprintf("exited with code %d", t.ExitCode))
		}
	}
	events, err := listOf[corev1.Event](ctx, c, "Event", p.Namespace, "")
	if err == nil {
		var warn *corev1.Event
		for i, e := range events {
			if e.InvolvedObject.Name == p.Name && e.Type == corev1.EventTypeWarning &&
				(warn == nil || eventTime(e).After(eventTime(*warn))) {
				warn = &events[i]
			}
		}
		if warn != nil {
			return reason(warn.Reason, warn.Message)
		}
	}
	if p.Status.Phase == corev1.PodPending {
		return "pending"
	}
	return "not ready (no readiness answer on $PORT " + fmt.Sprint(Port) + ")"
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

func reason(r, msg string) string {
	msg = oneLine(msg)
	switch {
	case r == "":
		return msg
	case msg == "":
		return r
	}
	return r + ": " + msg
}
