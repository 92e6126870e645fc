package kubetest

import "github.com/gitship/gitship/internal/testenv"

// start starts bin as name in the cluster's dir (testenv.StartProc: its
// own process group, killed should the test's process die first, its
// log NAME.log there); Stop ends it.
func (c *Cluster) start(name, bin string, args ...string) (*testenv.Proc, error) {
	p, err := testenv.StartProc(c.dir, name, bin, nil, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}
