// Command testenv runs a real, unmodified kube-apiserver on loopback, backed by an embedded etcd,
// for the operator's real-server test tier. It writes everything a client needs (CA, kubeconfigs,
// tokens, server URL) into a state directory; see README.md for the layout.
//
//	testenv serve --dir build/testenv [--port 0]   # runs until SIGTERM/SIGINT
//	testenv wait  --dir build/testenv [--timeout 3m]  # returns once /readyz answers 200
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "time/tzdata" // CronJob time zones, as the upstream kube-apiserver binary has

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics in /metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // kubernetes_build_info
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "wait":
		err = wait(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testenv serve --dir DIR [--port N] | testenv wait --dir DIR [--timeout D]")
	os.Exit(2)
}

// freePort asks the kernel for a free loopback port. The port is released before use; on a test
// machine the window in which another process could take it is negligible, and a clash fails
// loudly at bind time rather than silently.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "build/testenv", "state directory (wiped of previous etcd data)")
	port := fs.Int("port", 0, "kube-apiserver secure port on 127.0.0.1 (0: any free port)")
	operatorUser := fs.String("operator-user", "system:serviceaccount:gravitee-operator:gko-controller-manager",
		"user name of the operator's token (a service-account name matches ServiceAccount subjects in RBAC bindings)")
	verbosity := fs.Int("v", 0, "kube-apiserver log verbosity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stateDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	// Only the previous run's data goes; the directory may also hold the binary and logs.
	for _, stale := range []string{"etcd", "certs", "server", "ready"} {
		if err := os.RemoveAll(filepath.Join(stateDir, stale)); err != nil {
			return err
		}
	}
	if err := writeFile(stateDir, "pid", strconv.Itoa(os.Getpid())+"\n", 0o644); err != nil {
		return err
	}

	if *port == 0 {
		if *port, err = freePort(); err != nil {
			return err
		}
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", *port)

	pki, err := writePKI(filepath.Join(stateDir, "certs"), stateDir)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	users, err := writeTokens(stateDir, *operatorUser)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	for _, u := range users {
		if err := writeKubeconfig(stateDir, u, server, pki.caPEM); err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
	}

	etcd, etcdURL, err := startEtcd(stateDir)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer func() {
		etcd.Close()
		<-etcd.Server.StopNotify()
	}()

	// Written last: a reader that finds `server` finds every other file complete.
	// Audit: what the operator's identity did (verb, resource, response code), so a test run can
	// tell which of its RBAC rules it used and whether anything was refused.
	policy := fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [%q]
- level: None
`, *operatorUser)
	if err := writeFile(stateDir, "audit-policy.yaml", policy, 0o644); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(stateDir, "audit.log")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	if err := writeFile(stateDir, "server", server+"\n", 0o644); err != nil {
		return err
	}

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(*port),
		"--cert-dir=" + filepath.Join(stateDir, "certs"),
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--token-auth-file=" + filepath.Join(stateDir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.saPublic,
		"--service-account-signing-key-file=" + pki.saPrivate,
		"--service-cluster-ip-range=10.0.0.0/24",
		// No controller-manager runs, so nothing creates the `default` ServiceAccount that this
		// admission plugin would require of every Pod (envtest makes the same choice).
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		// A single loopback apiserver: no Endpoints for the `kubernetes` Service to maintain.
		"--endpoint-reconciler-type=none",
		"--shutdown-delay-duration=0s",
		"--profiling=false",
		"--audit-policy-file=" + filepath.Join(stateDir, "audit-policy.yaml"),
		"--audit-log-path=" + filepath.Join(stateDir, "audit.log"),
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
		"--v=" + strconv.Itoa(*verbosity),
	})
	if code := cli.Run(cmd); code != 0 {
		return fmt.Errorf("kube-apiserver exited with status %d", code)
	}
	return nil
}

func startEtcd(stateDir string) (*embed.Etcd, string, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = "testenv"
	cfg.Dir = filepath.Join(stateDir, "etcd")
	clientURL, err := parseURL(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	if err != nil {
		return nil, "", err
	}
	peerURL, err := parseURL(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	if err != nil {
		return nil, "", err
	}
	cfg.ListenClientUrls = clientURL
	cfg.AdvertiseClientUrls = clientURL
	cfg.ListenPeerUrls = peerURL
	cfg.AdvertisePeerUrls = peerURL
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Throwaway data: durability is not worth the fsync latency on a shared test machine.
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(stateDir, "etcd.log")}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", errors.New("not ready within 60s")
	}
	return e, clientURL[0].String(), nil
}

func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	dir := fs.String("dir", "build/testenv", "state directory of a `testenv serve`")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var last string
	for {
		ready, why := probe(ctx, *dir)
		if ready {
			return nil
		}
		if why != last {
			fmt.Fprintln(os.Stderr, "testenv: waiting:", why)
			last = why
		}
		if strings.HasPrefix(why, "process ") {
			return errors.New(why)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s (last: %s)", *timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// probe reports whether the apiserver of the state directory answers /readyz with 200, and if not,
// why. A reason starting with "process " means it will never be ready.
func probe(ctx context.Context, dir string) (bool, string) {
	pidText, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return false, "no pid file yet"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		return false, "unreadable pid file"
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return false, fmt.Sprintf("process %d is gone (see the logs in %s)", pid, dir)
	}
	serverText, err := os.ReadFile(filepath.Join(dir, "server"))
	if err != nil {
		return false, "no server file yet"
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return false, "no ca.crt yet"
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		return false, "no admin.token yet"
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return false, "ca.crt holds no certificate"
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSpace(string(serverText))+"/readyz", nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	if err != nil {
		return false, "GET /readyz: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, "GET /readyz: " + resp.Status
	}
	return true, ""
}

func writeFile(dir, name, content string, mode os.FileMode) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
