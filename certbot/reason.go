package certbot

import (
	"fmt"
	"path/filepath"
	"strings"
)

// maxReason bounds a reason line; certbot's exception texts can be long.
const maxReason = 500

// acmeURN starts the type of every ACME problem document (RFC 8555 §6.7).
const acmeURN = "urn:ietf:params:acme:error:"

// reason finds the one line that says why certbot failed, in its combined
// output and in log, what this run appended to certbot's debug log. It
// prefers, in order: the failed challenges ("Domain/Type/Detail"), the ACME
// problem behind an "unexpected error" (certbot 2.1 on Python 3.11 prints
// "AttributeError: can't set attribute" instead; the log keeps the real
// one), the exception line of a traceback, the last line that is not
// certbot's boilerplate. "" if there is none.
func reason(out, log string) string {
	lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	if r := challengeReason(lines); r != "" {
		return r
	}
	if i := indexLine(lines, "An unexpected error occurred:"); i >= 0 {
		if p := acmeProblem(afterLast(log, "Exiting abnormally:")); p != "" {
			return clip(p)
		}
		var msg []string
		for _, l := range lines[i+1:] {
			if strings.HasPrefix(l, "Ask for help") || strings.TrimSpace(l) == "" {
				break
			}
			msg = append(msg, l)
		}
		if p := acmeProblem(strings.Join(msg, "\n")); p != "" {
			return clip(p)
		}
		if len(msg) > 0 {
			return clip(strings.Join(msg, " "))
		}
	}
	if i := indexLine(lines, "Traceback (most recent call last):"); i >= 0 {
		if p := acmeProblem(strings.Join(lines[i:], "\n")); p != "" {
			return clip(p)
		}
		return lastMeaningful(lines[i:], true)
	}
	if p := acmeProblem(out); p != "" {
		return clip(p)
	}
	return lastMeaningful(lines, false)
}

// challengeReason formats the problems certbot lists after "Certbot failed
// to authenticate some domains": the first in full, the others by domain.
func challengeReason(lines []string) string {
	type problem struct{ domain, typ, detail string }
	var probs []problem
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "Domain:"):
			probs = append(probs, problem{domain: strings.TrimSpace(strings.TrimPrefix(l, "Domain:"))})
		case len(probs) == 0:
		case strings.HasPrefix(l, "Type:"):
			probs[len(probs)-1].typ = strings.TrimSpace(strings.TrimPrefix(l, "Type:"))
		case strings.HasPrefix(l, "Detail:"):
			probs[len(probs)-1].detail = strings.TrimSpace(strings.TrimPrefix(l, "Detail:"))
		}
	}
	var first string
	var others []string
	for _, p := range probs {
		if p.detail == "" {
			continue
		}
		if first == "" {
			first = fmt.Sprintf("%s: %s", p.domain, p.detail)
			if p.typ != "" {
				first += " (" + p.typ + ")"
			}
			continue
		}
		others = append(others, p.domain)
	}
	if first == "" {
		return ""
	}
	if len(others) > 0 {
		first += "; also failed: " + strings.Join(others, ", ")
	}
	return clip(first)
}

// acmeProblem returns the first ACME problem in text (in a Python
// exception chain, the root cause) with any "Problem for NAME" subproblem
// line that follows it.
func acmeProblem(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if !strings.Contains(l, acmeURN) {
			continue
		}
		// Drop what Python or certbot put before the problem
		// ("acme.messages.Error: ", "Failed to renew certificate X with
		// error: "), keeping its "Problem for NAME: " if it has one.
		start := strings.Index(l, acmeURN)
		if j := strings.LastIndex(l[:start], "Problem for "); j >= 0 {
			start = j
		}
		l = strings.TrimSpace(l[start:])
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "Problem for ") {
			l += "; " + strings.TrimSpace(lines[i+1])
		}
		return l
	}
	return ""
}

// lastMeaningful returns the last line that is not certbot boilerplate;
// in a traceback (indented), only an unindented line: the exception.
func lastMeaningful(lines []string, traceback bool) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if traceback && strings.HasPrefix(l, " ") {
			continue
		}
		if t := strings.TrimSpace(l); t != "" && !boilerplate(t) {
			return clip(t)
		}
	}
	return ""
}

// boilerplate is a line certbot prints around any outcome.
func boilerplate(l string) bool {
	for _, p := range []string{"Saving debug log to", "Ask for help", "- - -", "Hint:",
		"Traceback (most recent call last):", "During handling of the above exception",
		"Requesting a certificate for", "Renewing an existing certificate for", "Exiting abnormally"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// renewFailures maps each certificate `certbot renew` failed on to its
// reason, from the "Processing .../renewal/NAME.conf" section certbot
// prints for it.
func renewFailures(out string) map[string]string {
	failed := map[string]string{}
	for name, sec := range renewSections(out) {
		for i, l := range sec {
			switch {
			case strings.HasPrefix(l, "Failed to renew certificate "+name+" with error: "):
				msg := strings.TrimPrefix(l, "Failed to renew certificate "+name+" with error: ")
				r := challengeReason(sec)
				if r == "" {
					r = acmeProblem(strings.Join(sec, "\n"))
				}
				if r == "" {
					r = msg
				}
				failed[name] = clip(r)
			case strings.HasPrefix(l, "Renewal configuration file ") && strings.HasSuffix(l, " is broken."):
				msg := "broken renewal configuration"
				if i+1 < len(sec) {
					msg += ": " + strings.TrimPrefix(sec[i+1], "The error was: ")
				}
				failed[name] = clip(msg)
			case strings.HasPrefix(l, "Renewal configuration file ") && strings.Contains(l, "produced an unexpected error: "):
				failed[name] = clip("broken renewal configuration: " + l[strings.Index(l, "produced an unexpected error: ")+len("produced an unexpected error: "):])
			}
		}
	}
	return failed
}

// renewSections splits renew's output at its "Processing FILE" lines,
// keyed by cert name (FILE's base name without .conf).
func renewSections(out string) map[string][]string {
	secs := map[string][]string{}
	var cur string
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		if f, ok := strings.CutPrefix(l, "Processing "); ok && strings.HasSuffix(f, ".conf") {
			cur = strings.TrimSuffix(filepath.Base(f), ".conf")
			continue
		}
		if cur != "" {
			secs[cur] = append(secs[cur], l)
		}
	}
	return secs
}

// indexLine is the index of the first line equal to s after trimming, or -1.
func indexLine(lines []string, s string) int {
	for i, l := range lines {
		if strings.TrimSpace(l) == s {
			return i
		}
	}
	return -1
}

// afterLast returns what follows the last occurrence of marker in s, ""
// if there is none.
func afterLast(s, marker string) string {
	i := strings.LastIndex(s, marker)
	if i < 0 {
		return ""
	}
	return s[i+len(marker):]
}

// clip makes s one line of at most maxReason runes.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxReason {
		return string(r[:maxReason-1]) + "…"
	}
	return s
}
