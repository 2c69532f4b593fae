// Package deploy holds the deployment files (systemd, Kubernetes, compose,
// Docker, backup cron); this test keeps them loadable: every YAML file
// parses, the manifests have the shape docs/operations.md describes, every
// redis.conf they carry is accepted by slotvault's own config loader, and
// the systemd unit passes systemd-analyze verify when that tool exists.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slotvault/slotvault/config"
	"go.yaml.in/yaml/v3"
)

// yamlDocs parses every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs
}

// dig walks nested maps and lists: keys are map keys or list indexes
// given as ints.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestYAMLFilesParse(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
			if len(yamlDocs(t, path)) == 0 {
				t.Errorf("%s: no YAML document", path)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Fatalf("found %d YAML files, expected the k8s manifests and the compose file", n)
	}
}

// checkRedisConf loads a redis.conf text with slotvault's loader.
func checkRedisConf(t *testing.T, name, text string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "redis.conf")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(f, []string{"--dir", t.TempDir(), "--port", "6379"}); err != nil {
		t.Errorf("%s: slotvault refuses the config: %v", name, err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	kinds := map[string]map[string]any{}
	for _, f := range []string{"configmap.yaml", "service.yaml", "statefulset.yaml", "bootstrap-job.yaml"} {
		for _, d := range yamlDocs(t, filepath.Join("k8s", f)) {
			kinds[d["kind"].(string)] = d
		}
	}
	ss := kinds["StatefulSet"]
	if ss == nil || dig(ss, "spec", "replicas") != 6 || dig(ss, "spec", "serviceName") != "slotvault" {
		t.Fatalf("StatefulSet: want 6 replicas behind service slotvault: %v", dig(ss, "spec"))
	}
	if dig(ss, "spec", "volumeClaimTemplates", 0, "metadata", "name") != "data" {
		t.Error("StatefulSet has no data PVC template")
	}
	ctr := dig(ss, "spec", "template", "spec", "containers", 0)
	args, _ := dig(ctr, "args", 0).(string)
	if !strings.Contains(args, `--cluster-announce-ip "$POD_IP"`) || dig(ctr, "env", 0, "valueFrom", "fieldRef", "fieldPath") != "status.podIP" {
		t.Errorf("container does not announce the pod IP: %q", args)
	}
	if svc := kinds["Service"]; dig(svc, "spec", "clusterIP") != "None" {
		t.Error("service is not headless")
	}
	job, _ := dig(kinds["Job"], "spec", "template", "spec", "containers", 0, "args", 0).(string)
	if !strings.Contains(job, "redis-cli --cluster create $addrs --cluster-replicas 1 --cluster-yes") {
		t.Errorf("bootstrap job does not create the cluster: %q", job)
	}
	conf, _ := dig(kinds["ConfigMap"], "data", "redis.conf").(string)
	checkRedisConf(t, "k8s configmap", conf)
}

func TestComposeFile(t *testing.T) {
	docs := yamlDocs(t, filepath.Join("compose", "docker-compose.yml"))
	svcs, _ := dig(docs[0], "services").(map[string]any)
	for _, name := range []string{"minio", "bootstrap", "createbucket", "node-0", "node-1", "node-2", "node-3", "node-4", "node-5"} {
		if svcs[name] == nil {
			t.Errorf("compose lacks service %s", name)
		}
	}
	boot, _ := dig(svcs, "bootstrap", "command", 0).(string)
	if !strings.Contains(boot, "--cluster-replicas 1 --cluster-yes") {
		t.Errorf("bootstrap command: %q", boot)
	}
	// The anchor merge gives every node the build and the config.
	if dig(svcs, "node-3", "build", "dockerfile") != "deploy/docker/Dockerfile" {
		t.Errorf("node-3 build: %v", dig(svcs, "node-3", "build"))
	}
	conf, err := os.ReadFile(filepath.Join("compose", "redis.conf"))
	if err != nil {
		t.Fatal(err)
	}
	checkRedisConf(t, "compose redis.conf", string(conf))
}

func TestExampleConfigs(t *testing.T) {
	for _, f := range []string{"systemd/slotvault.conf.example", "local/redis.conf"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkRedisConf(t, f, string(data))
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on an instance of
// the template (the binary path replaced by one that exists here).
func TestSystemdUnitVerifies(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile(filepath.Join("systemd", "slotvault@.service"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inst := filepath.Join(dir, "slotvault@7000.service")
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/slotvault", "/bin/true")
	if err := os.WriteFile(inst, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "verify", inst).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
