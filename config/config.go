// Package config loads gitship's server configuration: one TOML file whose
// every path gitship touches comes from, so a test or a second instance runs
// entirely under a directory of its own.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/afero"
)

// MaxKeep is the most rollback images an app may keep (config keep, `set
// APP keep=N`, `prune --keep N`).
const MaxKeep = 1000

// DefaultPath is where the server config lives unless --config or
// GITSHIP_CONFIG say otherwise.
const DefaultPath = "/etc/gitship/config.toml"

// Config is the whole server configuration.
type Config struct {
	Root    string `toml:"root"`
	RunDir  string `toml:"run_dir"`
	Domain  string `toml:"domain"`
	Builder string `toml:"builder"`
	Keep    int    `toml:"keep"`
	// CronFile is where `gitship cron install` writes.
	CronFile string `toml:"cron_file"`

	Podman   Podman   `toml:"podman"`
	Buildkit Buildkit `toml:"buildkit"`
	Nginx    Nginx    `toml:"nginx"`
	Certbot  Certbot  `toml:"certbot"`
	SSH      SSH      `toml:"ssh"`
	Backup   Backup   `toml:"backup"`
	Kube     Kube     `toml:"kube"`

	// Path is the file this config was loaded from ("" for defaults only).
	Path string `toml:"-"`
}

// Podman says how to reach the Podman API service and which network app
// containers join.
type Podman struct {
	Socket  string `toml:"socket"`
	Network string `toml:"network"`
	// Storage is Podman's image store (its graphroot), where the disk
	// guard measures free space before a build.
	Storage string `toml:"storage"`
	// MinFree is the free space a build needs there ("2GB"; "0": no guard).
	MinFree string `toml:"min_free"`
	// MinFreeBytes is MinFree parsed.
	MinFreeBytes int64 `toml:"-"`
}

// Buildkit says where buildkitd listens.
type Buildkit struct {
	Address string `toml:"address"`
	// CacheBudget is the most the build cache may hold after `gitship
	// prune` ("10GB"; "0" = no budget, prune nothing).
	CacheBudget string `toml:"cache_budget"`
	// CacheBudgetBytes is CacheBudget parsed.
	CacheBudgetBytes int64 `toml:"-"`
}

// Nginx says where per-app server blocks go and how to test and reload nginx.
type Nginx struct {
	ConfDir   string   `toml:"conf_dir"`
	Conf      string   `toml:"conf"`
	Prefix    string   `toml:"prefix"`
	PidFile   string   `toml:"pid"` // "": the one Conf's pid directive names
	Binary    string   `toml:"binary"`
	Reload    []string `toml:"reload"`
	Listen    string   `toml:"listen"`
	ListenTLS string   `toml:"listen_tls"`
	User      string   `toml:"user"`
}

// Certbot says how certificates are obtained.
type Certbot struct {
	Binary    string `toml:"binary"`
	Email     string `toml:"email"`
	Server    string `toml:"server"`
	Webroot   string `toml:"webroot"`
	ConfigDir string `toml:"config_dir"`
	WorkDir   string `toml:"work_dir"`
	LogsDir   string `toml:"logs_dir"`
}

// SSH says which authorized_keys file gitship manages and what remote
// `gitship init` prints.
type SSH struct {
	AuthorizedKeys string `toml:"authorized_keys"`
	Remote         string `toml:"remote"`
}

// Backup says where the nightly backups of `gitship cron install` go.
type Backup struct {
	// Dir holds APP/*.tar.gz for every app ("": root/backups, so
	// /var/lib/gitship/backups by default and under a test's root for a
	// test).
	Dir string `toml:"dir"`
	// Keep is how many backups of each app stay there, 1 to MaxBackups.
	Keep int `toml:"keep"`
}

// Kube says where apps whose target is kube (`gitship set APP
// target=kube`) run: the cluster, the registry their images go to, and
// the classes their objects ask for. Its values are checked for their
// form here; the kube package renders and applies them.
type Kube struct {
	// Kubeconfig is the kubeconfig file naming the cluster and the
	// credentials ("": $KUBECONFIG, then ~/.kube/config of the user
	// gitship runs as).
	Kubeconfig string `toml:"kubeconfig"`
	// Registry is the repository prefix images are pushed under
	// (registry.example.com/team: the app's image is
	// registry.example.com/team/APP); "" until kube apps are set up.
	Registry string `toml:"registry"`
	// RegistryInsecure pushes over plain HTTP (a registry on loopback).
	RegistryInsecure bool `toml:"registry_insecure"`
	// IngressClass is the Ingress's ingressClassName ("": the cluster's
	// default class).
	IngressClass string `toml:"ingress_class"`
	// StorageClass is the data claim's storageClassName ("": the
	// cluster's default class).
	StorageClass string `toml:"storage_class"`
	// DataSize is the data claim's size, a Kubernetes quantity ("1Gi").
	DataSize string `toml:"data_size"`
	// ClusterIssuer is the cert-manager ClusterIssuer that gets the
	// Ingress its certificates ("": no TLS section).
	ClusterIssuer string `toml:"cluster_issuer"`
}

// MaxBackups is the most nightly backups kept per app ([backup] keep).
const MaxBackups = 1000

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Root:     "/var/lib/gitship",
		RunDir:   "/run/gitship",
		Domain:   "example.com",
		Builder:  "auto",
		Keep:     1,
		CronFile: "/etc/cron.d/gitship",
		Podman: Podman{
			Socket:  "unix:///run/podman/podman.sock",
			Network: "bridge",
			Storage: "/var/lib/containers/storage",
			MinFree: "2GB",
		},
		Buildkit: Buildkit{Address: "unix:///run/buildkit/buildkitd.sock", CacheBudget: "10GB"},
		Nginx: Nginx{
			ConfDir:   "/etc/nginx/gitship",
			Conf:      "/etc/nginx/nginx.conf",
			Binary:    "/usr/sbin/nginx",
			Reload:    []string{"/usr/sbin/nginx", "-s", "reload"},
			Listen:    "80",
			ListenTLS: "443",
			User:      "www-data",
		},
		Certbot: Certbot{
			Binary:    "/usr/bin/certbot",
			Webroot:   "/var/lib/gitship/acme",
			ConfigDir: "/etc/letsencrypt",
			WorkDir:   "/var/lib/letsencrypt",
			LogsDir:   "/var/log/letsencrypt",
		},
		SSH: SSH{
			AuthorizedKeys: "/home/git/.ssh/authorized_keys",
			Remote:         "git@HOST",
		},
		Backup: Backup{Keep: 7},
		Kube:   Kube{DataSize: "1Gi"},
	}
}

// Load reads the file at path over the defaults. A missing file at the
// default path yields the defaults; a missing file named explicitly, a
// syntax error or an unknown key is an error of one line.
func Load(fsys afero.Fs, path string, explicit bool) (*Config, error) {
	c := Default()
	data, err := afero.ReadFile(fsys, path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return &c, c.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return nil, fmt.Errorf("config %s: %s", path, oneLine(err.Error()))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	if abs, err := filepath.Abs(path); err == nil {
		c.Path = abs
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// Validate checks the values that gitship cannot work without.
func (c *Config) Validate() error {
	for _, p := range []struct{ key, val string }{
		{"root", c.Root}, {"run_dir", c.RunDir}, {"nginx.conf_dir", c.Nginx.ConfDir},
		{"nginx.conf", c.Nginx.Conf},
	} {
		if !filepath.IsAbs(p.val) {
			return fmt.Errorf("%s must be an absolute path, got %q", p.key, p.val)
		}
	}
	switch c.Builder {
	case "auto", "podman", "buildkit":
	default:
		return fmt.Errorf("builder must be auto, podman or buildkit, got %q", c.Builder)
	}
	if c.Backup.Dir == "" {
		c.Backup.Dir = filepath.Join(c.Root, "backups")
	}
	if !filepath.IsAbs(c.Backup.Dir) {
		return fmt.Errorf("backup.dir must be an absolute path, got %q", c.Backup.Dir)
	}
	if c.Backup.Keep < 1 || c.Backup.Keep > MaxBackups {
		return fmt.Errorf("backup.keep must be 1 to %d, got %d", MaxBackups, c.Backup.Keep)
	}
	if c.Keep < 0 || c.Keep > MaxKeep {
		return fmt.Errorf("keep must be 0 to %d, got %d", MaxKeep, c.Keep)
	}
	free, err := ParseSize(c.Podman.MinFree)
	if err != nil {
		return fmt.Errorf("podman.min_free: %w", err)
	}
	c.Podman.MinFreeBytes = free
	n, err := ParseSize(c.Buildkit.CacheBudget)
	if err != nil {
		return fmt.Errorf("buildkit.cache_budget: %w", err)
	}
	c.Buildkit.CacheBudgetBytes = n
	if c.Domain == "" {
		return errors.New("domain must not be empty")
	}
	// APP.<an IP address> is no host name a browser sends.
	if _, err := netip.ParseAddr(strings.Trim(c.Domain, "[].")); err == nil {
		return fmt.Errorf("domain must be a host name, not an IP address, got %q", c.Domain)
	}
	if !strings.HasPrefix(c.Podman.Socket, "unix://") && !strings.HasPrefix(c.Podman.Socket, "tcp://") {
		return fmt.Errorf("podman.socket must start with unix:// or tcp://, got %q", c.Podman.Socket)
	}
	return c.Kube.validate()
}

// ReposDir is where the bare repositories live.
func (c *Config) ReposDir() string { return filepath.Join(c.Root, "repos") }

// AuditLog is the log of what ssh keys ran and what gitship did on its
// own (an automatic rollback).
func (c *Config) AuditLog() string { return filepath.Join(c.Root, "audit.log") }

// AppsDir is where each app's state and data live.
func (c *Config) AppsDir() string { return filepath.Join(c.Root, "apps") }

// LiveLinkName is the name of an app's live link in run_dir/APP.
const LiveLinkName = "live"

// LiveLink is run_dir/APP/live, the symlink to the socket dir of the
// release nginx serves app through (release/link.go).
func (c *Config) LiveLink(app string) string { return filepath.Join(c.RunDir, app, LiveLinkName) }

// Instance is a short name of this instance, derived from its root: it
// ends every container name, so two instances on one host (a real
// install and the test suite, say) never pick the same name. Ownership
// itself is the gitship.root label; the name only avoids collisions.
func (c *Config) Instance() string {
	sum := sha256.Sum256([]byte(filepath.Clean(c.Root)))
	return hex.EncodeToString(sum[:3])
}

// ImagesLock is the lock file of Podman's image store: builds hold it
// shared, image removals exclusively (see release/imagelock.go). It lies
// beside the store (not in it: the store is Podman's), so every gitship
// instance using that store, whatever its root, takes the same lock.
func (c *Config) ImagesLock() string {
	if c.Podman.Storage == "" {
		return filepath.Join(c.Root, "images.lock")
	}
	return filepath.Join(filepath.Dir(filepath.Clean(c.Podman.Storage)), "gitship-images.lock")
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
