package main

import "github.com/urfave/cli/v2"

// jsonFlag is --json on the listings: one indented JSON document on
// stdout, the fields documented in the README.
func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print one JSON document (fields in the README)"}
}
