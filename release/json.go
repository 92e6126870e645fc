package release

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON prints v as one indented JSON document (what every listing
// prints with --json).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
