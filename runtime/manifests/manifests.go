// Package manifests reads switchboard objects and Secrets from multi-document YAML
// files, the way `kubectl apply -f` would, for `switchboard render`, the standalone
// runtime and tests.
package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsjson "sigs.k8s.io/json"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// Object is one decoded object and where it came from.
type Object struct {
	client.Object
	// Source is "file.yaml" or "file.yaml#3" for the third document of a file.
	Source string
}

// Set is everything read from a set of files, in file then document order.
type Set struct {
	Objects []Object
	// Skipped lists documents of kinds switchboard does not read (Deployments,
	// kustomizations, ...), by source and kind, so callers can mention them.
	Skipped []string
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(chatv1alpha1.AddToScheme(s))
	utilruntime.Must(corev1.AddToScheme(s))
	return s
}()

// Scheme knows every kind a Set may hold.
func Scheme() *runtime.Scheme { return scheme }

// ReadPaths reads files and directories (recursively, *.yaml, *.yml and *.json,
// skipping kustomization files) in sorted order.
func ReadPaths(paths ...string) (*Set, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isManifest(d.Name()) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	set := &Set{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := set.add(f, data); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// Read decodes one stream of YAML or JSON documents, naming them after source.
func Read(source string, data []byte) (*Set, error) {
	set := &Set{}
	return set, set.add(source, data)
}

func isManifest(name string) bool {
	if strings.HasPrefix(name, "kustomization.") || strings.HasPrefix(name, ".") {
		return false
	}
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml" || ext == ".json"
}

func (s *Set) add(source string, data []byte) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s#%d: %w", source, doc, err)
		}
		where := source
		if doc > 1 {
			where = fmt.Sprintf("%s#%d", source, doc)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		obj, kind, err := decode(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if obj == nil {
			s.Skipped = append(s.Skipped, where+" ("+kind+")")
			continue
		}
		s.Objects = append(s.Objects, Object{Object: obj, Source: where})
	}
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

// decode turns one document into a typed object, or returns nil and the kind when the
// kind is not one switchboard reads. Unknown fields are an error, as with kubectl's
// strict validation, so a typo never silently drops a setting.
func decode(raw []byte) (client.Object, string, error) {
	u := &unstructured.Unstructured{}
	jsonData, err := utilyaml.ToJSON(raw)
	if err != nil {
		return nil, "", fmt.Errorf("not valid YAML: %w", err)
	}
	if err := u.UnmarshalJSON(jsonData); err != nil {
		return nil, "", fmt.Errorf("not a Kubernetes object: %w", err)
	}
	gvk := u.GroupVersionKind()
	if !scheme.Recognizes(gvk) || strings.HasSuffix(gvk.Kind, "List") {
		return nil, gvk.Kind, nil
	}
	typed, err := scheme.New(gvk)
	if err != nil {
		return nil, "", err
	}
	if err := strictUnmarshal(jsonData, typed); err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", gvk.Kind, u.GetName(), err)
	}
	obj, ok := typed.(client.Object)
	if !ok {
		return nil, "", fmt.Errorf("%s is not a Kubernetes object kind", gvk.Kind)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	if obj.GetName() == "" {
		return nil, "", fmt.Errorf("%s has no metadata.name", gvk.Kind)
	}
	return obj, gvk.Kind, nil
}

// GVK returns the group, version and kind of one of the scheme's objects.
func GVK(obj runtime.Object) schema.GroupVersionKind {
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return schema.GroupVersionKind{}
	}
	return gvks[0]
}

func strictUnmarshal(data []byte, into runtime.Object) error {
	strictErrs, err := sigsjson.UnmarshalStrict(data, into)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	if secret, ok := into.(*corev1.Secret); ok {
		foldStringData(secret)
	}
	return nil
}

// foldStringData does what the API server does on write: stringData entries
// replace data entries of the same key.
func foldStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
