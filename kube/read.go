package kube

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
)

// Ingresses are app's gitship Ingresses, by name (status shows their
// hosts).
func (c *Client) Ingresses(ctx context.Context, app string) ([]networkingv1.Ingress, error) {
	return listOf[networkingv1.Ingress](ctx, c, "Ingress", app, selector(app, ""))
}
