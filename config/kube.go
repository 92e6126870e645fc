package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	// registryHost is the first component of a repository prefix: a host
	// name, IPv4 or [IPv6] address, with an optional port.
	registryHost = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)
	// registryPath is one path component of a repository name, as the
	// distribution spec has it.
	registryPath = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
	// quantity is the form of a Kubernetes storage quantity: a positive
	// number with a binary or decimal suffix. The kube package parses it
	// for real (resource.ParseQuantity); config stays free of Kubernetes'
	// modules.
	quantity = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`)
	// dnsSubdomain is the name of a class or an issuer (RFC 1123).
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// validate checks the [kube] table's values for their form; an empty
// registry is kube left unconfigured, which the podman target does not
// need.
func (k *Kube) validate() error {
	if k.Kubeconfig != "" && !filepath.IsAbs(k.Kubeconfig) {
		return fmt.Errorf("kube.kubeconfig must be an absolute path, got %q", k.Kubeconfig)
	}
	if k.Registry != "" {
		if err := ValidRegistry(k.Registry); err != nil {
			return fmt.Errorf("kube.registry: %w", err)
		}
	}
	if !quantity.MatchString(k.DataSize) || strings.Trim(k.DataSize, "0.kMGTPEi") == "" {
		return fmt.Errorf("kube.data_size must be a Kubernetes quantity above 0, e.g. 1Gi or 500Mi, got %q", k.DataSize)
	}
	for _, n := range []struct{ key, val string }{
		{"kube.ingress_class", k.IngressClass}, {"kube.storage_class", k.StorageClass}, {"kube.cluster_issuer", k.ClusterIssuer},
	} {
		if n.val != "" && (len(n.val) > 253 || !dnsSubdomain.MatchString(n.val)) {
			return fmt.Errorf("%s must be a Kubernetes object name (lowercase letters, digits, - and .), got %q", n.key, n.val)
		}
	}
	return nil
}

// ValidRegistry checks a repository prefix: HOST[:PORT][/PATH...], with
// no scheme and no tag. The host must look like one (a dot, a port or
// localhost), so that "team" is not silently Docker Hub's.
func ValidRegistry(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("%q %s: want HOST[:PORT][/PATH], e.g. registry.example.com/team or 127.0.0.1:5000", s, why)
	}
	if strings.Contains(s, "://") {
		return bad("has a scheme")
	}
	host, path, _ := strings.Cut(s, "/")
	if !registryHost.MatchString(host) {
		return bad("does not start with a registry host")
	}
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return bad("does not start with a registry host (a name with a dot, a port, or localhost)")
	}
	if path == "" && strings.HasSuffix(s, "/") {
		return bad("ends with /")
	}
	if path != "" {
		for _, c := range strings.Split(path, "/") {
			if !registryPath.MatchString(c) {
				return bad(fmt.Sprintf("has an invalid path component %q (lowercase letters, digits, and . _ - between them)", c))
			}
		}
	}
	if len(s) > 200 {
		return bad("is longer than 200 characters")
	}
	return nil
}
