package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ServerVersion asks the API server for its version (GET /version): the
// cluster answers, with these credentials.
func (c *Client) ServerVersion(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.host+"/version", nil)
	if err != nil {
		return "", fmt.Errorf("kube: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("kube: the API server at %s: %w", c.host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("kube: the API server at %s answered %s: %s", c.host, resp.Status, oneLine(string(b)))
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", fmt.Errorf("kube: the version of the API server at %s: %w", c.host, err)
	}
	return v.GitVersion, nil
}

// PingRegistry checks that the registry of a repository prefix
// (HOST[:PORT][/PATH]) speaks the registry API (GET /v2/: 200, or 401
// asking for credentials), over plain HTTP when insecure.
func PingRegistry(ctx context.Context, registry string, insecure bool) error {
	host, _, _ := strings.Cut(registry, "/")
	scheme := "https"
	if insecure {
		scheme = "http"
	}
	url := scheme + "://" + host + "/v2/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("registry %s: %w", host, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("registry %s: %w", host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("registry %s: %s answered %s, not the registry API", host, url, resp.Status)
	}
	return nil
}
