package config

import (
	"strings"
	"testing"

	"github.com/spf13/afero"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		explicit bool
		wantErr  string
		check    func(*testing.T, *Config)
	}{
		{
			name: "missing default file gives defaults",
			check: func(t *testing.T, c *Config) {
				if c.Root != "/var/lib/gitship" || c.Nginx.User != "www-data" || c.Keep != 1 {
					t.Errorf("defaults not applied: %+v", c)
				}
			},
		},
		{name: "missing explicit file", explicit: true, wantErr: "read config"},
		{
			name: "overrides keep other defaults",
			file: "root = \"/srv/g\"\n[nginx]\nlisten = \"127.0.0.1:18080\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Root != "/srv/g" || c.Nginx.Listen != "127.0.0.1:18080" || c.Nginx.Binary != "/usr/sbin/nginx" {
					t.Errorf("got %+v", c)
				}
				if c.Path != "/etc/gitship/config.toml" {
					t.Errorf("Path = %q", c.Path)
				}
			},
		},
		{name: "unknown key", file: "root = \"/x\"\nrot = 1\n", wantErr: "unknown key rot"},
		{name: "unknown nested key", file: "[nginx]\nlsten = \"80\"\n", wantErr: "unknown key nginx.lsten"},
		{name: "syntax error", file: "root = \n", wantErr: "config /etc/gitship/config.toml:"},
		{name: "wrong type", file: "keep = \"two\"\n", wantErr: "config /etc/gitship/config.toml:"},
		{name: "relative root", file: "root = \"x\"\n", wantErr: "root must be an absolute path"},
		{name: "bad cache budget", file: "[buildkit]\ncache_budget = \"10G\"\n", wantErr: `buildkit.cache_budget: size "10G"`},
		{
			name: "cache budget parsed",
			file: "[buildkit]\ncache_budget = \"2GiB\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Buildkit.CacheBudgetBytes != 2<<30 {
					t.Errorf("CacheBudgetBytes = %d, want %d", c.Buildkit.CacheBudgetBytes, 2<<30)
				}
			},
		},
		{name: "keep too many", file: "keep = 100000\n", wantErr: "keep must be 0 to 1000, got 100000"},
		{name: "keep negative", file: "keep = -1\n", wantErr: "keep must be 0 to 1000, got -1"},
		{name: "bad builder", file: "builder = \"docker\"\n", wantErr: "builder must be auto, podman or buildkit"},
		{name: "IP address domain", file: "domain = \"203.0.113.7\"\n", wantErr: `domain must be a host name, not an IP address, got "203.0.113.7"`},
		{name: "IPv6 domain", file: "domain = \"[2001:db8::1]\"\n", wantErr: "not an IP address"},
		{
			name: "backup defaults under the root",
			file: "root = \"/srv/g\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Backup.Dir != "/srv/g/backups" || c.Backup.Keep != 7 {
					t.Errorf("backup = %+v, want /srv/g/backups, keep 7", c.Backup)
				}
			},
		},
		{
			name: "backup set",
			file: "[backup]\ndir = \"/mnt/b\"\nkeep = 30\n",
			check: func(t *testing.T, c *Config) {
				if c.Backup.Dir != "/mnt/b" || c.Backup.Keep != 30 {
					t.Errorf("backup = %+v", c.Backup)
				}
			},
		},
		{name: "backup unknown key", file: "[backup]\nkeeps = 3\n", wantErr: "unknown key backup.keeps"},
		{name: "backup relative dir", file: "[backup]\ndir = \"b\"\n", wantErr: `backup.dir must be an absolute path, got "b"`},
		{name: "backup keep 0", file: "[backup]\nkeep = 0\n", wantErr: "backup.keep must be 1 to 1000, got 0"},
		{
			name: "kube defaults",
			check: func(t *testing.T, c *Config) {
				if c.Kube != (Kube{DataSize: "1Gi"}) {
					t.Errorf("kube = %+v, want only data_size 1Gi", c.Kube)
				}
			},
		},
		{
			name: "kube set",
			file: "[kube]\nkubeconfig = \"/etc/gitship/kubeconfig\"\nregistry = \"127.0.0.1:5000/team\"\nregistry_insecure = true\n" +
				"ingress_class = \"nginx\"\nstorage_class = \"fast.ssd\"\ndata_size = \"500Mi\"\ncluster_issuer = \"letsencrypt\"\n",
			check: func(t *testing.T, c *Config) {
				want := Kube{Kubeconfig: "/etc/gitship/kubeconfig", Registry: "127.0.0.1:5000/team", RegistryInsecure: true,
					IngressClass: "nginx", StorageClass: "fast.ssd", DataSize: "500Mi", ClusterIssuer: "letsencrypt"}
				if c.Kube != want {
					t.Errorf("kube = %+v, want %+v", c.Kube, want)
				}
			},
		},
		{name: "kube unknown key", file: "[kube]\nnamespace = \"x\"\n", wantErr: "unknown key kube.namespace"},
		{name: "kube relative kubeconfig", file: "[kube]\nkubeconfig = \"kc\"\n", wantErr: `kube.kubeconfig must be an absolute path, got "kc"`},
		{name: "kube registry scheme", file: "[kube]\nregistry = \"https://r.example.com/t\"\n", wantErr: `kube.registry: "https://r.example.com/t" has a scheme`},
		{name: "kube registry no host", file: "[kube]\nregistry = \"team/app\"\n", wantErr: "does not start with a registry host"},
		{name: "kube registry upper path", file: "[kube]\nregistry = \"r.example.com/Team\"\n", wantErr: `invalid path component "Team"`},
		{name: "kube registry tag", file: "[kube]\nregistry = \"r.example.com/team:v1\"\n", wantErr: `invalid path component "team:v1"`},
		{name: "kube data size unit", file: "[kube]\ndata_size = \"1GB\"\n", wantErr: `kube.data_size must be a Kubernetes quantity above 0, e.g. 1Gi or 500Mi, got "1GB"`},
		{name: "kube data size zero", file: "[kube]\ndata_size = \"0Gi\"\n", wantErr: "kube.data_size must be a Kubernetes quantity above 0"},
		{name: "kube bad class", file: "[kube]\ningress_class = \"Nginx_1\"\n", wantErr: `kube.ingress_class must be a Kubernetes object name`},
		{name: "bad socket", file: "[podman]\nsocket = \"/run/p.sock\"\n", wantErr: "podman.socket must start with unix://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := afero.NewMemMapFs()
			if tt.file != "" {
				if err := afero.WriteFile(fs, DefaultPath, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(fs, DefaultPath, tt.explicit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestImagesLock(t *testing.T) {
	c := Default()
	if got, want := c.ImagesLock(), "/var/lib/containers/gitship-images.lock"; got != want {
		t.Errorf("default ImagesLock = %s, want %s", got, want)
	}
	c.Podman.Storage = "/srv/podman/storage/"
	if got, want := c.ImagesLock(), "/srv/podman/gitship-images.lock"; got != want {
		t.Errorf("ImagesLock = %s, want %s", got, want)
	}
	c.Podman.Storage, c.Root = "", "/srv/gs"
	if got, want := c.ImagesLock(), "/srv/gs/images.lock"; got != want {
		t.Errorf("ImagesLock without storage = %s, want %s", got, want)
	}
}

func TestValidRegistry(t *testing.T) {
	for _, ok := range []string{"registry.example.com/team", "127.0.0.1:5000", "localhost", "localhost:5000/a/b-c", "r:5000", "[::1]:5000/x", "ghcr.io/org/sub_dir"} {
		if err := ValidRegistry(ok); err != nil {
			t.Errorf("ValidRegistry(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "team", "r.example.com/", "r.example.com//x", "-r.example.com", "r.example.com/a@sha256:00", "r.example.com:port/x", "r.example.com/-x"} {
		if err := ValidRegistry(bad); err == nil {
			t.Errorf("ValidRegistry(%q) = nil, want an error", bad)
		}
	}
}
