// Command web is gitship's sample app: an HTTP server on the unix socket
// named by $GITSHIP_SOCKET that keeps a visit log under $GITSHIP_DATA.
// It is built statically (CGO_ENABLED=0) and copied into a FROM scratch
// image, since no base image can be pulled on the machines we test on.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stamp is set at link time (-ldflags "-X main.stamp=..."): scripts/bench
// rebuilds the binary with a new one for every push of its "binary" case,
// the way a compiled app's binary changes with each commit.
var stamp string

func main() {
	if stamp != "" {
		log.Printf("web built as %s", stamp)
	}
	// Arguments that start with "-" are the server's own (port_app.txtar
	// passes one from its Procfile to see the command came from there);
	// `worker` is the Procfile worker, which run reads the mode for.
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") && os.Args[1] != "worker" {
		os.Exit(subcommand(os.Args[1:]))
	}
	if err := run(); err != nil {
		log.Fatalf("web: %v", err)
	}
}

// subcommand runs one of the small commands the tests of `gitship run`
// and cron jobs use (the image has no shell): exit N, touch NAME [N] (writes
// $GITSHIP_DATA/NAME, then exits N), cat (stdin to stdout), echo ARGS, sleep DURATION
// (until then or SIGINT), env KEY. It returns the exit status.
func subcommand(args []string) int {
	switch {
	case args[0] == "exit" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("exiting %d\n", n)
		return n
	case args[0] == "touch" && (len(args) == 2 || len(args) == 3):
		// touch NAME N writes, then exits N: a migration that fails
		// halfway (release_phase.txtar)
		path := filepath.Join(env("GITSHIP_DATA", "/data"), args[1])
		if err := os.WriteFile(path, []byte("written by "+os.Getenv("GITSHIP_RELEASE")+"\n"), 0o660); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("wrote", path)
		if len(args) == 3 {
			n, err := strconv.Atoi(args[2])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			fmt.Printf("exiting %d\n", n)
			return n
		}
		return 0
	case args[0] == "cat" && len(args) == 1:
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.Stdout.Write(b)
		return 0
	case args[0] == "echo":
		fmt.Println(strings.Join(args[1:], " "))
		return 0
	case args[0] == "env" && len(args) == 2:
		fmt.Println(os.Getenv(args[1]))
		return 0
	case args[0] == "sleep" && len(args) == 2:
		d, err := time.ParseDuration(args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		fmt.Println("sleeping", d)
		select {
		case <-time.After(d):
			fmt.Println("slept", d)
			return 0
		case <-ctx.Done():
			fmt.Println("interrupted")
			return 130
		}
	case args[0] == "pairs" && len(args) == 1:
		return pairs(env("GITSHIP_DATA", "/data"))
	case args[0] == "checkpairs" && len(args) == 2:
		return checkPairs(args[1])
	}
	fmt.Fprintf(os.Stderr, "web: unknown command %q\n", args)
	return 2
}

// pairs keeps two files in step for the snapshot test: it writes the
// counter N to a.txt, then to b.txt, each by an atomic rename, as fast as
// it can. At any instant b.txt holds N or N-1 of a.txt's N; a copy taken
// while the app runs, a.txt first, can find b.txt ahead.
func pairs(data string) int {
	put := func(name string, n int) error {
		// Its own temp file: the next release's writer overlaps it.
		tmp := filepath.Join(data, name+"."+strconv.Itoa(os.Getpid())+os.Getenv("GITSHIP_RELEASE")+".tmp")
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(n)+"\n"), 0o660); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(data, name))
	}
	// 8 MB that a copy goes through between a.txt and b.txt (by name),
	// so that an unfrozen app gets well ahead meanwhile.
	if err := os.WriteFile(filepath.Join(data, "a.zzz-filler"), make([]byte, 8<<20), 0o660); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for n := 1; ; n++ {
		for _, name := range []string{"a.txt", "b.txt"} {
			if err := put(name, n); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
}

// checkPairs says whether a.txt and b.txt in dir are in step (a = b or
// a = b+1): exit 0 and "in step", else 1.
func checkPairs(dir string) int {
	read := func(name string) int {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return -1
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return -1
		}
		return n
	}
	a, b := read("a.txt"), read("b.txt")
	if b < 1 || (a != b && a != b+1) {
		fmt.Printf("out of step: a.txt %d, b.txt %d\n", a, b)
		return 1
	}
	fmt.Printf("in step: a.txt %d, b.txt %d\n", a, b)
	return 0
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run() error {
	sock := env("GITSHIP_SOCKET", "/run/gitship/web.sock")
	data := env("GITSHIP_DATA", "/data")
	msg, err := os.ReadFile("/message.txt")
	if err != nil {
		msg = []byte("hello")
	}
	// mode.txt makes the app misbehave for the tests: crash (exit at
	// once), nosocket (run but never listen), fail500 (answer 500),
	// healthyonly (answer gitship's health check, 500 to every other
	// request: a release that goes bad after its switch), crashafter=
	// DURATION (serve, then exit with status 2 that long after starting),
	// slow=DURATION (wait that long before listening), port (listen on
	// TCP $PORT instead of the socket), port=N (listen on TCP port N, a
	// wrong one).
	mode := strings.TrimSpace(readOr("/mode.txt"))
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		return worker(data, mode)
	}
	switch {
	case mode == "crash":
		return errors.New("crashing on purpose (mode.txt says crash)")
	case mode == "nosocket":
		log.Printf("never opening the socket (mode.txt says nosocket)")
		for {
			time.Sleep(time.Hour)
		}
	case strings.HasPrefix(mode, "slow="):
		d, err := time.ParseDuration(strings.TrimPrefix(mode, "slow="))
		if err != nil {
			return err
		}
		log.Printf("starting slowly: %s", d)
		time.Sleep(d)
	}
	visits := filepath.Join(data, "visits.log")
	if err := appendLine(visits, "started "+os.Getenv("GITSHIP_RELEASE")); err != nil {
		return err
	}
	ln, err := listen(mode, sock)
	if err != nil {
		return err
	}
	if g := os.Getenv("GREETING"); g != "" {
		log.Printf("GREETING=%s", g)
	}
	log.Printf("listening on %s as uid %d gid %d groups %v", ln.Addr(), os.Getuid(), os.Getgid(), groups())
	h := handler(strings.TrimSpace(string(msg)), visits)
	switch {
	case mode == "fail500":
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.Printf("answering 500 to %s (mode.txt says fail500)", r.URL.Path)
			http.Error(w, "broken on purpose", http.StatusInternalServerError)
		})
	case mode == "healthyonly":
		healthy := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// gitship's probe says who it is (release/health.go)
			if r.UserAgent() == "gitship-health" {
				healthy.ServeHTTP(w, r)
				return
			}
			log.Printf("answering 500 to %s (mode.txt says healthyonly)", r.URL.Path)
			http.Error(w, "broken after the health check on purpose", http.StatusInternalServerError)
		})
	case strings.HasPrefix(mode, "crashafter="):
		d, err := time.ParseDuration(strings.TrimPrefix(mode, "crashafter="))
		if err != nil {
			return err
		}
		time.AfterFunc(d, func() {
			log.Printf("crashing %s after start (mode.txt says crashafter=%s)", d, d)
			os.Exit(2)
		})
	}
	srv := &http.Server{Handler: h}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listen opens what mode says: TCP $PORT (port), a TCP port of its own
// (port=N), or else the unix socket sock.
func listen(mode, sock string) (net.Listener, error) {
	switch {
	case mode == "port":
		return net.Listen("tcp", ":"+env("PORT", "5000"))
	case strings.HasPrefix(mode, "port="):
		return net.Listen("tcp", ":"+strings.TrimPrefix(mode, "port="))
	}
	// A restart of the container leaves the old socket file behind.
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return net.Listen("unix", sock)
}

func handler(msg, visits string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s from %s (%s) host=%s\n", msg, os.Getenv("GITSHIP_APP"), os.Getenv("GITSHIP_RELEASE"), r.Host)
	})
	mux.HandleFunc("/visits", func(w http.ResponseWriter, r *http.Request) {
		if err := appendLine(visits, "visit "+os.Getenv("GITSHIP_RELEASE")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b, err := os.ReadFile(visits)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, os.Getenv(strings.TrimPrefix(r.URL.Path, "/env/")))
	})
	// /hog?mb=N allocates and touches N MiB: under a memory limit below
	// that, the kernel kills the app (and only the app).
	mux.HandleFunc("/hog", func(w http.ResponseWriter, r *http.Request) {
		mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
		if err != nil || mb < 1 {
			http.Error(w, "want ?mb=N", http.StatusBadRequest)
			return
		}
		log.Printf("allocating %d MiB", mb)
		held := make([][]byte, 0, mb)
		for i := 0; i < mb; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			held = append(held, b)
		}
		fmt.Fprintf(w, "holding %d MiB\n", len(held))
		runtime.KeepAlive(held)
	})
	// /db appends a line to db/app.db under the data dir, creating both
	// as SQLite and most programs do (0755 and 0644, less the umask).
	mux.HandleFunc("/db", func(w http.ResponseWriter, r *http.Request) {
		db := filepath.Join(filepath.Dir(visits), "db", "app.db")
		if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		f, err := os.OpenFile(db, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = fmt.Fprintln(f, "write "+os.Getenv("GITSHIP_RELEASE"))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b, err := os.ReadFile(db)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(b)
	})
	// /data/NAME serves a file of the data dir (what a one-off run wrote).
	mux.HandleFunc("/data/", func(w http.ResponseWriter, r *http.Request) {
		root, err := os.OpenRoot(filepath.Dir(visits))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer root.Close()
		b, err := root.ReadFile(strings.TrimPrefix(r.URL.Path, "/data/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "uid=%d gid=%d groups=%v\n", os.Getuid(), os.Getgid(), groups())
	})
	return mux
}

func groups() []int {
	g, _ := os.Getgroups()
	return g
}

func readOr(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o660)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// worker is the sample app's Procfile worker (`/web worker`): it rewrites
// DATA/beat-RELEASE-PROCESS with a count that goes up every second, and
// exits non-zero at once when DATA/worker-crash exists or mode.txt says
// workercrash.
func worker(data, mode string) error {
	if mode == "workercrash" {
		return errors.New("worker crashing on purpose (mode.txt says workercrash)")
	}
	if _, err := os.Stat(filepath.Join(data, "worker-crash")); err == nil {
		return errors.New("worker crashing on purpose (worker-crash exists)")
	}
	name := filepath.Join(data, "beat-"+os.Getenv("GITSHIP_RELEASE")+"-"+os.Getenv("GITSHIP_PROCESS"))
	log.Printf("worker %s of %s beating into %s", os.Getenv("GITSHIP_PROCESS"), os.Getenv("GITSHIP_RELEASE"), name)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	for n := 1; ; n++ {
		tmp := name + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(n)+"\n"), 0o660); err != nil {
			return err
		}
		if err := os.Rename(tmp, name); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			log.Printf("worker stopping after %d beats", n)
			return nil
		case <-time.After(time.Second):
		}
	}
}
