package state

import (
	"reflect"
	"testing"
	"time"

	"github.com/spf13/afero"
)

// countingFs counts the files opened through it.
type countingFs struct {
	afero.Fs
	opens int
}

func (c *countingFs) Open(name string) (afero.File, error) {
	c.opens++
	return c.Fs.Open(name)
}

func saveN(t *testing.T, s *Store, n int) {
	t.Helper()
	for v := 1; v <= n; v++ {
		r := &Record{App: "demo", Version: v, Kind: KindPush, Status: StatusRetired,
			Env: map[string]string{"K": "v"}, Settings: Settings{Domains: []string{"a.test"}}}
		if err := s.Save(r); err != nil {
			t.Fatal(err)
		}
	}
}

// A command lists an app's releases many times: each record is decoded
// once, and once its file is settled it is not even read again.
func TestStoreListDecodesOnce(t *testing.T) {
	fsys := &countingFs{Fs: afero.NewOsFs()}
	s := &Store{Fs: fsys, AppsDir: t.TempDir()}
	saveN(t, &Store{Fs: afero.NewOsFs(), AppsDir: s.AppsDir}, 5)
	before := Decodes()
	for range 3 {
		list, err := s.List("demo")
		if err != nil || len(list) != 5 {
			t.Fatalf("List = %d records, %v; want 5", len(list), err)
		}
	}
	if got := Decodes() - before; got != 5 {
		t.Errorf("3 Lists of 5 records decoded %d times, want 5", got)
	}
	// An hour later every file is settled: its identity is enough.
	s.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := s.List("demo"); err != nil {
		t.Fatal(err)
	}
	fsys.opens = 0
	if _, err := s.List("demo"); err != nil {
		t.Fatal(err)
	}
	if fsys.opens != 1 { // the directory
		t.Errorf("a List of settled records opened %d files, want only the directory", fsys.opens)
	}
	if got := Decodes() - before; got != 5 {
		t.Errorf("decoded %d times, want 5", got)
	}
}

// Another process rewrites a record (the watch retires a release): the
// next List sees the new record, even one of the same size written at
// once, and even when the old file had settled.
func TestStoreSeesRewriteByAnother(t *testing.T) {
	for _, settled := range []bool{false, true} {
		dir := t.TempDir()
		s := &Store{Fs: afero.NewOsFs(), AppsDir: dir}
		if settled {
			s.now = func() time.Time { return time.Now().Add(time.Hour) }
		}
		other := &Store{Fs: afero.NewOsFs(), AppsDir: dir}
		saveN(t, other, 3)
		for i, st := range []Status{StatusLive, StatusWarm, StatusLive, StatusWarm} {
			if _, err := s.List("demo"); err != nil {
				t.Fatal(err)
			}
			r, err := other.Get("demo", 2)
			if err != nil {
				t.Fatal(err)
			}
			r.Status = st // "live" and "warm": the same size
			if err := other.Save(r); err != nil {
				t.Fatal(err)
			}
			list, err := s.List("demo")
			if err != nil {
				t.Fatal(err)
			}
			if list[1].Status != st {
				t.Fatalf("settled=%v, rewrite %d: List says v2 is %s, the file says %s", settled, i, list[1].Status, st)
			}
			if got, err := s.Get("demo", 2); err != nil || got.Status != st {
				t.Fatalf("settled=%v, rewrite %d: Get says v2 is %v (%v), the file says %s", settled, i, got, err, st)
			}
		}
	}
}

// Callers change the records they get: what one changes without saving
// is not what the next one gets.
func TestStoreRecordsAreCopies(t *testing.T) {
	s := newStore()
	saveN(t, s, 2)
	list, err := s.List("demo")
	if err != nil {
		t.Fatal(err)
	}
	list[0].Status, list[0].Env["K"], list[0].Settings.Domains[0] = StatusLive, "changed", "changed.test"
	r, err := s.Get("demo", 2)
	if err != nil {
		t.Fatal(err)
	}
	r.Env["K"] = "changed"
	again, err := s.List("demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Status != StatusRetired || r.Env["K"] != "v" || r.Settings.Domains[0] != "a.test" {
			t.Errorf("%s changed by a caller without a Save: %+v", r.Name(), r)
		}
	}
}

// clone shares nothing with the original: every pointer, map and slice
// of a Record (Settings included) is copied. A field added to Record or
// Settings without a copy in clone fails here.
func TestRecordCloneIsDeep(t *testing.T) {
	var r Record
	fill(reflect.ValueOf(&r).Elem())
	c := r.clone()
	if !reflect.DeepEqual(&r, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", r, *c)
	}
	shared(t, "Record", reflect.ValueOf(r), reflect.ValueOf(*c))
}

// fill sets every exported field under v to a non-zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(1, 0).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	default:
		panic("fill: " + v.Kind().String())
	}
}

// shared fails when a and b refer to the same memory anywhere.
func shared(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Struct:
		if a.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				shared(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			t.Errorf("clone shares %s with the original", path)
		}
		if a.Kind() == reflect.Pointer && !a.IsNil() {
			shared(t, path, a.Elem(), b.Elem())
		}
		if a.Kind() == reflect.Slice {
			for i := range a.Len() {
				shared(t, path, a.Index(i), b.Index(i))
			}
		}
	}
}
