package container

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseListeners(t *testing.T) {
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1B59 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1388 0100007F:A2B4 01 00000000:00000000 00:00000000 00000000     0        0 12347 1 0000000000000000 20 4 30 10 -1
`
	tcp6 := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1B5A 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
`
	for _, tt := range []struct {
		name, in string
		want     []string
	}{
		{"tcp", tcp, []string{"127.0.0.1:7001", "0.0.0.0:5000"}},
		{"tcp6", tcp6, []string{"[::]:8080", "127.0.0.1:7002", "[::1]:80"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := parseListeners(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range l {
				got = append(got, x.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := parseListeners(strings.NewReader("header\n 0: 0100007G:1388 00000000:0000 0A\n")); err == nil {
		t.Error("a bad address parsed")
	}
}

func TestGeneratorProcessModel(t *testing.T) {
	labels := map[string]string{LabelApp: "a"}
	env := map[string]string{"A": "1"}
	g, err := generator(Spec{Name: "n", Image: "i", Labels: labels, Env: env, Port: 5000,
		Process: "web", Command: []string{"/bin/sh", "-c", "run"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Labels[LabelProcess] != "web" || g.Labels[LabelApp] != "a" {
		t.Errorf("labels = %v", g.Labels)
	}
	if _, ok := labels[LabelProcess]; ok {
		t.Error("the caller's labels changed")
	}
	if g.Env["PORT"] != "5000" || g.Env["A"] != "1" {
		t.Errorf("env = %v", g.Env)
	}
	if _, ok := env["PORT"]; ok {
		t.Error("the caller's env changed")
	}
	if len(g.PortMappings) != 1 || g.PortMappings[0].HostIP != "127.0.0.1" || g.PortMappings[0].ContainerPort != 5000 || g.PortMappings[0].HostPort != 0 {
		t.Errorf("port mappings = %+v", g.PortMappings)
	}
	if fmt.Sprint(g.Entrypoint) != "[]" || len(g.Entrypoint) != 1 || g.Command[2] != "run" {
		t.Errorf("entrypoint %q command %q", g.Entrypoint, g.Command)
	}
	if g.RestartPolicy != "always" || len(g.Mounts) != 0 {
		t.Errorf("restart %q mounts %v", g.RestartPolicy, g.Mounts)
	}

	g, err = generator(Spec{Name: "n", Image: "i", Env: map[string]string{"PORT": "8000"}, Port: 8000, Restart: "no", DataDir: "/d"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Env["PORT"] != "8000" || g.RestartPolicy != "no" || g.Entrypoint != nil || len(g.Mounts) != 1 || g.Mounts[0].Destination != DataMount {
		t.Errorf("env %v restart %q entrypoint %q mounts %v", g.Env, g.RestartPolicy, g.Entrypoint, g.Mounts)
	}

	for _, net := range []string{"host", "none"} {
		if _, err := generator(Spec{Name: "n", Image: "i", Port: 5000, Network: net}); err == nil {
			t.Errorf("port with network %s: no error", net)
		}
	}
}
