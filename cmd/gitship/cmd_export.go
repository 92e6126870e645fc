package main

import (
	"github.com/urfave/cli/v2"

	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/release"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "print a release as the Kubernetes objects a push of it applies (YAML)",
		UsageText: "gitship export APP [vN] --kube",
		Description: "Prints release vN (default: the live one) of an app with target=kube as multi-document\n" +
			"YAML: its namespace, the claim of /data, its environment as a Secret, the release Job,\n" +
			"a Deployment per process type, the Service, the Ingress and the CronJobs, the image by\n" +
			"digest. For people who apply it themselves (GitOps): `kubectl apply -f` takes it.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "kube", Usage: "as Kubernetes objects (the only format)"},
		},
		Action: withDeployer(1, 2, func(c *cli.Context, d *release.Deployer) error {
			if !c.Bool("kube") {
				return usererr.Usagef("gitship export needs --kube (the only format so far)")
			}
			out, err := d.ExportKube(c.Context, c.Args().Get(0), c.Args().Get(1))
			if err != nil {
				return err
			}
			_, err = c.App.Writer.Write(out)
			return err
		}),
	}
}
