package config

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string // part of the error; "" means no error
	}{
		{in: "0", want: 0},
		{in: "0GB", want: 0},
		{in: "1024", want: 1024},
		{in: "100B", want: 100},
		{in: "10GB", want: 10_000_000_000},
		{in: "512MB", want: 512_000_000},
		{in: "2GiB", want: 2 << 30},
		{in: "1kib", want: 1024},
		{in: "3TiB", want: 3 << 40},
		{in: "1TB", want: 1e12},
		{in: " 10 gb ", want: 10_000_000_000},
		{in: "1.5GB", want: 1_500_000_000},
		{in: "0.5KiB", want: 512},
		{in: "8EiB", wantErr: `size "8EiB"`}, // no exbibytes: they overflow anyway
		{in: "9223372036854775807", want: 1<<63 - 1},
		{in: "9223372036854775808", wantErr: `size "9223372036854775808": too large`},
		{in: "9000000000TB", wantErr: `size "9000000000TB": too large`},
		{in: "9e18TB", wantErr: `size "9e18TB": not a non-negative number`},
		{in: "0.1B", wantErr: `size "0.1B": rounds to 0 bytes`},
		{in: "", wantErr: `size "": not a non-negative number`},
		{in: "GB", wantErr: `size "GB": not a non-negative number`},
		{in: "-1GB", wantErr: `size "-1GB": not a non-negative number`},
		{in: "+1GB", wantErr: `size "+1GB"`},
		{in: "10G", wantErr: `size "10G"`}, // Docker reads 10g as GiB; refused, not guessed
		{in: "10 GBs", wantErr: `size "10 GBs"`},
		{in: "ten GB", wantErr: `size "ten GB"`},
		{in: "1e9", wantErr: `size "1e9"`},
		{in: "0x10", wantErr: `size "0x10"`},
		{in: "inf", wantErr: `size "inf"`},
		{in: "NaN", wantErr: `size "NaN"`},
		{in: "1_000", wantErr: `size "1_000"`},
		{in: "1.", wantErr: `size "1."`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseSize(%q): %v", tt.in, err)
			case tt.wantErr == "" && got != tt.want:
				t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
			case tt.wantErr != "" && err == nil:
				t.Errorf("ParseSize(%q) = %d, want an error with %q", tt.in, got, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("ParseSize(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}
