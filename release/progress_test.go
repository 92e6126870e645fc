package release

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestProgressLines(t *testing.T) {
	var b strings.Builder
	clock := newClock()
	clock.step = 1300 * time.Millisecond
	p := &Progress{W: &b, Now: clock.Now}

	done := p.Step("Building")
	done("") // falls back to the message given to Step
	done = p.Step("")
	done("Built app")
	p.Say("Deploying %s", "demo")
	p.Info("detail %d", 1)
	p.Fail("two\nlines")

	want := strings.Join([]string{
		"-----> Building (1.3s)",
		"-----> Built app (1.3s)",
		"-----> Deploying demo",
		"       detail 1",
		"!     two",
		"!     lines",
	}, "\n") + "\n"
	if b.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestProgressStepDuration(t *testing.T) {
	tests := []struct {
		elapsed time.Duration
		want    string
	}{
		{0, "-----> x (0.0s)\n"},
		{12400 * time.Millisecond, "-----> x (12.4s)\n"},
		{90 * time.Second, "-----> x (90.0s)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.elapsed.String(), func(t *testing.T) {
			var b strings.Builder
			now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			p := &Progress{W: &b, Now: func() time.Time { return now }}
			done := p.Step("x")
			now = now.Add(tt.elapsed)
			done("")
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestProgressIndent(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string // after flush
	}{
		{"unaligned chunks", []string{"ab", "c\nde", "f\n"}, "       abc\n       def\n"},
		{"trailing partial line", []string{"one\ntw", "o"}, "       one\n       two\n"},
		{"crlf", []string{"a\r\n", "b\r"}, "       a\n       b\n"},
		{"empty lines kept", []string{"a\n\nb\n"}, "       a\n       \n       b\n"},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			p := &Progress{W: &b, Now: time.Now}
			w, flush := p.Indent()
			for _, c := range tt.chunks {
				n, err := io.WriteString(w, c)
				if err != nil || n != len(c) {
					t.Fatalf("Write(%q) = %d, %v", c, n, err)
				}
			}
			flush()
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
			flush() // a second flush prints nothing more
			if b.String() != tt.want {
				t.Errorf("second flush printed: %q", b.String())
			}
		})
	}
}

func TestProgressIndentHoldsPartialLine(t *testing.T) {
	var b strings.Builder
	p := &Progress{W: &b, Now: time.Now}
	w, flush := p.Indent()
	if _, err := io.WriteString(w, "ab"); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Errorf("a partial line was printed before its newline: %q", b.String())
	}
	if _, err := io.WriteString(w, "c\nd"); err != nil {
		t.Fatal(err)
	}
	if b.String() != "       abc\n" {
		t.Errorf("got %q, want the completed line only", b.String())
	}
	flush()
	if b.String() != "       abc\n       d\n" {
		t.Errorf("after flush got %q", b.String())
	}
}

func TestProgressWriteError(t *testing.T) {
	first := errors.New("broken pipe")
	fw := &failWriter{ok: 1, err: first}
	p := &Progress{W: fw, Now: time.Now}

	p.Say("one")
	if p.Err() != nil {
		t.Fatalf("Err after a good write = %v", p.Err())
	}
	p.Say("two") // fails
	fw.err = errors.New("a later error")
	p.Info("three")
	p.Fail("four")
	p.Step("five")("")
	w, flush := p.Indent()
	if _, err := io.WriteString(w, "six\nseven"); err != nil {
		t.Errorf("indented writer returned %v; it must not pass the client's error to the build", err)
	}
	flush()

	if !errors.Is(p.Err(), first) {
		t.Errorf("Err() = %v, want the first error %v", p.Err(), first)
	}
	if fw.writes != 2 {
		t.Errorf("writer got %d writes, want 2 (none after the failure)", fw.writes)
	}
	if string(fw.buf) != "-----> one\n" {
		t.Errorf("written %q", fw.buf)
	}
}

func TestNewProgress(t *testing.T) {
	var b strings.Builder
	p := NewProgress(&b)
	if p.Now == nil {
		t.Fatal("NewProgress has no clock")
	}
	p.Step("x")("")
	if !strings.HasPrefix(b.String(), "-----> x (") {
		t.Errorf("got %q", b.String())
	}
}

// TestProgressMasksSecrets: env values of 6+ characters never reach the
// pusher, in step lines and indented build output alike; short ones stay.
func TestProgressMasksSecrets(t *testing.T) {
	var out strings.Builder
	p := NewProgress(&out)
	p.hide(map[string]string{"TOKEN": "s3cr3t-value", "LONGER": "s3cr3t-value-2", "FLAG": "yes"})
	p.Say("using s3cr3t-value-2 and s3cr3t-value, yes")
	w, flush := p.Indent()
	io.WriteString(w, "build saw s3cr")
	io.WriteString(w, "3t-value\n")
	flush()
	got := out.String()
	if strings.Contains(got, "s3cr3t") {
		t.Errorf("a secret leaked:\n%s", got)
	}
	for _, want := range []string{"-----> using *** and ***, yes\n", "       build saw ***\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestProgressMasksMultiLineSecrets: a PEM-like value reaches the output
// line by line, in chunks that split its lines anywhere; every line of it
// that could identify it is masked, trivial lines (blank, short, only
// dashes) mask nothing, and the output's own prefixes stay intact.
func TestProgressMasksMultiLineSecrets(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\r\n" +
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\r\n" +
		"\r\n" +
		"qOdQ3lY8fK2m+9XbZ7aT1pQwErTyUiOpAsDfGhJkLzXcVbNmQwEr\r\n" +
		"  indented-line-xyz  \r\n" +
		"------\r\n" +
		"Zm9v=\r\n" +
		"-----END PRIVATE KEY-----\r\n"
	body := []string{
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
		"qOdQ3lY8fK2m+9XbZ7aT1pQwErTyUiOpAsDfGhJkLzXcVbNmQwEr",
		"indented-line-xyz",
	}
	// What a build step printing the key (cat key.pem) and the app's
	// echo $KEY (lines joined by spaces) look like, cut every 7 bytes.
	stream := "STEP 3/4: RUN cat key.pem\n" + strings.ReplaceAll(pem, "\r\n", "\n") +
		"echo: " + strings.Join(strings.Fields(pem), " ") + "\n------ done Zm9v= ok\n"

	var out strings.Builder
	p := NewProgress(&out)
	p.hide(map[string]string{"TLS_KEY": pem, "FLAG": "yes"})
	p.Say("Building")
	w, flush := p.Indent()
	for i := 0; i < len(stream); i += 7 {
		io.WriteString(w, stream[i:min(i+7, len(stream))])
	}
	flush()
	p.Info("whole value: %s", pem)
	got := out.String()

	for _, l := range body {
		if strings.Contains(got, l) {
			t.Errorf("line %q of the secret leaked:\n%s", l, got)
		}
	}
	for _, want := range []string{
		"-----> Building\n",
		"       STEP 3/4: RUN cat key.pem\n",
		"       ***\n",
		"       ------\n",        // a separator line masks nothing
		"       Zm9v=\n",         // nor does a line under minSecret
		"------ done Zm9v= ok\n", // so common text stays
		"       whole value: ***\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "-----> "); n != 1 {
		t.Errorf("%d step prefixes, want 1:\n%s", n, got)
	}
}
