package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slotvault/slotvault/internal/resp"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, localClusterCmd) }

// localClusterOptions configure `slotvault local-cluster`.
type localClusterOptions struct {
	Dir         string
	BasePort    int
	Masters     int
	Replicas    int
	NodeTimeout int
	Bind        string
	// Ready, when set, is called once the cluster is ok (tests use it
	// instead of reading the output).
	Ready func()
	// Stop ends the run in place of a signal (tests).
	Stop <-chan struct{}
}

func localClusterCmd() *cobra.Command {
	o := localClusterOptions{}
	cmd := &cobra.Command{
		Use:   "local-cluster",
		Short: "Start a local 3-master/3-replica cluster on ports 7000-7005",
		Long: `Start a local Redis Cluster made of slotvault nodes: by default 3 masters and
3 replicas on ports 7000-7005, each with the seed walkthrough's redis.conf
(cluster-enabled yes, cluster-config-file nodes.conf, cluster-node-timeout 5000,
appendonly yes) and its data under one folder (./data/cluster/<port>).

The first run creates the cluster with
  redis-cli --cluster create 127.0.0.1:7000 ... 127.0.0.1:7005 --cluster-replicas 1 --cluster-yes
(or the same steps done natively when redis-cli is not installed). Later runs
restart the nodes from their nodes.conf. Ctrl-C stops every node.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLocalCluster(o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "data/cluster", "folder holding every node's config and data")
	f.IntVar(&o.BasePort, "port", 7000, "port of the first node; the others follow")
	f.IntVar(&o.Masters, "masters", 3, "number of masters")
	f.IntVar(&o.Replicas, "replicas", 1, "replicas per master")
	f.IntVar(&o.NodeTimeout, "cluster-node-timeout", 5000, "cluster-node-timeout in milliseconds")
	f.StringVar(&o.Bind, "bind", "127.0.0.1", "address the nodes listen on")
	return cmd
}

type localNode struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func runLocalCluster(o localClusterOptions, out io.Writer) error {
	if o.Masters < 3 {
		return errors.New("local-cluster: a cluster needs at least 3 masters")
	}
	n := o.Masters * (1 + o.Replicas)
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("local-cluster: can't find the slotvault binary: %w", err)
	}
	nodes := make([]*localNode, n)
	existing := 0
	for i := range nodes {
		port := o.BasePort + i
		nd := &localNode{port: port, dir: filepath.Join(dir, strconv.Itoa(port)), done: make(chan struct{})}
		nodes[i] = nd
		if err := os.MkdirAll(nd.dir, 0o755); err != nil {
			return err
		}
		conf := fmt.Sprintf("port %d\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout %d\nappendonly yes\nbind %s\ndir %s\nlogfile %s\n"+
			"# Backups go to the embedded default target, file://<dir>/backups: a full\n"+
			"# backup on this schedule, the log shipped every second in between.\n"+
			"backup-schedule \"@every 15m\"\n",
			port, o.NodeTimeout, o.Bind, nd.dir, filepath.Join(nd.dir, "slotvault.log"))
		if err := os.WriteFile(filepath.Join(nd.dir, "redis.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
		if st, err := os.Stat(filepath.Join(nd.dir, "nodes.conf")); err == nil && st.Size() > 0 {
			existing++
		}
	}
	if existing != 0 && existing != n {
		return fmt.Errorf("local-cluster: only %d of %d nodes in %s have a nodes.conf; remove the folder to start over", existing, n, dir)
	}
	stopAll := func() {
		for _, nd := range nodes {
			if nd.cmd != nil && nd.cmd.Process != nil {
				nd.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, nd := range nodes {
			if nd.cmd == nil {
				continue
			}
			select {
			case <-nd.done:
			case <-time.After(10 * time.Second):
				nd.cmd.Process.Kill()
				<-nd.done
			}
		}
	}
	for _, nd := range nodes {
		nd.cmd = exec.Command(self, "server", filepath.Join(nd.dir, "redis.conf"))
		nd.cmd.Dir = nd.dir
		// Own process group: Ctrl-C reaches local-cluster, which stops the
		// nodes in order.
		nd.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := nd.cmd.Start(); err != nil {
			stopAll()
			return fmt.Errorf("local-cluster: start node %d: %w", nd.port, err)
		}
		go func(nd *localNode) { nd.cmd.Wait(); close(nd.done) }(nd)
	}
	addrs := make([]string, n)
	for i, nd := range nodes {
		addrs[i] = net127(o.Bind, nd.port)
		if err := waitPong(addrs[i], nd.done, 15*time.Second); err != nil {
			stopAll()
			return fmt.Errorf("local-cluster: node %d did not start (see %s): %w", nd.port, filepath.Join(nd.dir, "slotvault.log"), err)
		}
	}
	start := time.Now()
	if existing == 0 {
		if err := createCluster(addrs, o.Replicas, out); err != nil {
			stopAll()
			return err
		}
	} else {
		fmt.Fprintf(out, "Restarting the cluster from the nodes.conf files in %s\n", dir)
	}
	if err := waitClusterOK(addrs, 60*time.Second); err != nil {
		stopAll()
		return err
	}
	fmt.Fprintf(out, "\nslotvault local cluster ready in %.1fs: %d masters, %d replicas on ports %d-%d, data in %s\n",
		time.Since(start).Seconds(), o.Masters, o.Masters*o.Replicas, o.BasePort, o.BasePort+n-1, dir)
	fmt.Fprintf(out, "Connect with:\n\n    redis-cli -c -p %d\n\nPress Ctrl-C to stop every node (the next run restarts the same cluster).\n", o.BasePort)
	if o.Ready != nil {
		o.Ready()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	exited := make(chan int, n)
	for _, nd := range nodes {
		go func(nd *localNode) { <-nd.done; exited <- nd.port }(nd)
	}
	select {
	case <-sig:
	case <-o.Stop:
	case p := <-exited:
		fmt.Fprintf(out, "node %d exited; stopping the cluster\n", p)
	}
	stopAll()
	fmt.Fprintln(out, "cluster stopped")
	return nil
}

func net127(bind string, port int) string {
	host := bind
	if host == "" || host == "*" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return host + ":" + strconv.Itoa(port)
}

func waitPong(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("process exited")
		default:
		}
		if c, err := resp.Dial(addr); err == nil {
			c.Timeout = 2 * time.Second
			v, err := c.Do("PING")
			c.Close()
			if err == nil && v.Str == "PONG" {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timeout")
}

// createCluster runs redis-cli --cluster create, or the same steps natively
// when redis-cli is missing.
func createCluster(addrs []string, replicas int, out io.Writer) error {
	if bin, err := exec.LookPath("redis-cli"); err == nil {
		args := append([]string{"--cluster", "create"}, addrs...)
		args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
		fmt.Fprintf(out, "$ redis-cli %s\n", strings.Join(args, " "))
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("local-cluster: redis-cli --cluster create: %w", err)
		}
		return nil
	}
	fmt.Fprintln(out, "redis-cli not found: creating the cluster natively")
	return createNative(addrs, replicas)
}

// createNative does what redis-cli --cluster create does: slots split
// evenly over the masters, distinct config epochs, MEET, then REPLICATE.
func createNative(addrs []string, replicas int) error {
	masters := len(addrs) / (1 + replicas)
	conns := make([]*resp.Conn, len(addrs))
	for i, a := range addrs {
		c, err := resp.Dial(a)
		if err != nil {
			return err
		}
		c.Timeout = 5 * time.Second
		defer c.Close()
		conns[i] = c
	}
	do := func(i int, args ...string) (resp.Value, error) {
		v, err := conns[i].Do(args...)
		if err == nil && v.IsError() {
			err = fmt.Errorf("%s: %s: %s", addrs[i], strings.Join(args, " "), v.Str)
		}
		return v, err
	}
	per := 16384 / masters
	ids := make([]string, len(addrs))
	for i := range addrs {
		v, err := do(i, "CLUSTER", "MYID")
		if err != nil {
			return err
		}
		ids[i] = v.Str
		if i < masters {
			start, end := i*per, (i+1)*per-1
			if i == masters-1 {
				end = 16383
			}
			if _, err := do(i, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(start), strconv.Itoa(end)); err != nil {
				return err
			}
		}
		do(i, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1))
	}
	host, port, _ := strings.Cut(addrs[0], ":")
	for i := 1; i < len(addrs); i++ {
		if _, err := do(i, "CLUSTER", "MEET", host, port); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := masters; i < len(addrs); i++ {
		master := ids[(i-masters)%masters]
		for {
			_, err := do(i, "CLUSTER", "REPLICATE", master)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// waitClusterOK waits until every node reports cluster_state:ok.
func waitClusterOK(addrs []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			c, err := resp.Dial(a)
			if err == nil {
				c.Timeout = 2 * time.Second
				v, err2 := c.Do("CLUSTER", "INFO")
				c.Close()
				if err2 == nil && strings.Contains(v.Str, "cluster_state:ok") {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("local-cluster: %s did not reach cluster_state:ok", a)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}
