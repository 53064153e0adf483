// Package schemacheck checks switchboard objects offline against their CRDs, as the API
// server would on create: defaults, the OpenAPI schema (types, enums, bounds, patterns),
// unique list keys and the CEL rules (transition rules need an old object, so they
// are the API server's alone). `switchboard render` uses it so a pre-merge check refuses what
// the cluster would refuse.
package schemacheck

import (
	"context"
	"fmt"
	"io/fs"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/config/crd"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// kindSchema is what checking one kind needs.
type kindSchema struct {
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
	cel        *cel.Validator
}

// Checker checks objects of the kinds whose CRDs it was built from.
type Checker struct {
	kinds map[schema.GroupVersionKind]*kindSchema
}

// New builds a checker from the CRDs in config/crd/bases.
func New() (*Checker, error) {
	c := &Checker{kinds: map[schema.GroupVersionKind]*kindSchema{}}
	err := fs.WalkDir(crd.Bases, "bases", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := crd.Bases.ReadFile(path)
		if err != nil {
			return err
		}
		var def apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &def); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, v := range def.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			ks, err := compile(v.Schema.OpenAPIV3Schema)
			if err != nil {
				return fmt.Errorf("%s, version %s: %w", path, v.Name, err)
			}
			c.kinds[schema.GroupVersionKind{Group: def.Spec.Group, Version: v.Name, Kind: def.Spec.Names.Kind}] = ks
		}
		return nil
	})
	return c, err
}

func compile(v1 *apiextensionsv1.JSONSchemaProps) (*kindSchema, error) {
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, &internal, nil); err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, err
	}
	validator, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &kindSchema{structural: structural, validator: validator,
		cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
}

// Check applies the CRD's defaults to a copy of obj, an object of kind gvk, and
// returns what the API server would refuse, field by field; nil for a kind it has no
// CRD for.
func (c *Checker) Check(gvk schema.GroupVersionKind, obj runtime.Object) (field.ErrorList, error) {
	ks := c.kinds[gvk]
	if ks == nil {
		return nil, nil
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	content["apiVersion"], content["kind"] = gvk.GroupVersion().String(), gvk.Kind
	structuraldefaulting.Default(content, ks.structural)
	errs := validation.ValidateCustomResource(nil, content, ks.validator)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, ks.structural, content)...)
	if len(errs) > 0 {
		// CEL rules assume a value the schema accepts.
		return errs, nil
	}
	celErrs, _ := ks.cel.Validate(context.Background(), nil, ks.structural, content, nil, celconfig.RuntimeCELCostBudget)
	return celErrs, nil
}

var (
	defaultOnce    sync.Once
	defaultChecker *Checker
	defaultErr     error
)

// Default is the checker of the CRDs built into the binary, built once: compiling the
// schemas and CEL programs is the costly part.
func Default() (*Checker, error) {
	defaultOnce.Do(func() { defaultChecker, defaultErr = New() })
	return defaultChecker, defaultErr
}

// Refusal is one object the API server would refuse, with why, field by field.
type Refusal struct {
	manifests.Object
	Kind   string
	Errors field.ErrorList
}

// Admit splits a set into the objects the API server would accept and those it would
// refuse, in order, so callers compile what a cluster would hold.
func (c *Checker) Admit(set *manifests.Set) (admitted []manifests.Object, refused []Refusal, err error) {
	for _, o := range set.Objects {
		gvk := manifests.GVK(o.Object)
		errs, err := c.Check(gvk, o.Object)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s %s: %w", o.Source, gvk.Kind, o.GetName(), err)
		}
		if len(errs) > 0 {
			refused = append(refused, Refusal{Object: o, Kind: gvk.Kind, Errors: errs})
			continue
		}
		admitted = append(admitted, o)
	}
	return admitted, refused, nil
}
