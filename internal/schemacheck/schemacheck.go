// Package schemacheck checks switchboard objects offline against their CRDs, as the API
// server would on create: defaults, object names, namespace, labels and annotations,
// the OpenAPI schema (types, enums, bounds, patterns), unique list keys and the CEL
// rules (transition rules need an old object, so they are the API server's alone).
// `switchboard render` uses it so a pre-merge check refuses what the cluster would
// refuse, and nothing the cluster would accept.
//
// The steps and their order follow kube-apiserver's create path for custom resources
// (k8s.io/apiextensions-apiserver pkg/registry/customresource, strategy.go and
// validator.go, and k8s.io/apiserver pkg/registry/rest.BeforeCreate), so each refusal
// carries the causes, field and message, that kubectl would print.
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
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/config/crd"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// kindSchema is what checking one kind needs.
type kindSchema struct {
	namespaced bool
	// hasStatus: with the status subresource a create drops status.
	hasStatus  bool
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
	// cel is nil when the schema has no CEL rules.
	cel *cel.Validator
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
			ks.namespaced = def.Spec.Scope == apiextensionsv1.NamespaceScoped
			ks.hasStatus = v.Subresources != nil && v.Subresources.Status != nil
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

// requestNamespace stands in for the namespace of the request when an object names
// none: the API server takes it from the request (kubectl's context namespace, or the
// namespace render and the standalone runtime are given), so it is not the object's to
// get wrong.
const requestNamespace = metav1.NamespaceDefault

// Check returns what the API server would refuse if obj, an object of kind gvk, were
// created, as the causes of its Invalid error; nil for a kind it has no CRD for.
func (c *Checker) Check(gvk schema.GroupVersionKind, obj runtime.Object) (field.ErrorList, error) {
	ks := c.kinds[gvk]
	if ks == nil {
		return nil, nil
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetAPIVersion(gvk.GroupVersion().String())
	u.SetKind(gvk.Kind)
	// Decoding the request drops unknown fields and the nulls the schema does not
	// allow, then applies the CRD's defaults.
	structuralpruning.Prune(content, ks.structural, true)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(content, ks.structural)
	structuraldefaulting.Default(content, ks.structural)
	// The registry names the object from generateName, the request supplies a
	// namespace the object lacks, and the strategy's PrepareForCreate drops status and
	// sets the generation.
	if u.GetName() == "" && u.GetGenerateName() != "" {
		u.SetName(names.SimpleNameGenerator.GenerateName(u.GetGenerateName()))
	}
	if ks.namespaced && u.GetNamespace() == "" {
		u.SetNamespace(requestNamespace)
	}
	if ks.hasStatus {
		delete(content, "status")
	}
	u.SetGeneration(1)
	return ks.validate(u), nil
}

// validate is the custom resource strategy's Validate. Once it passes the API server
// validates the metadata again with path-segment names, which DNS-1123 subdomain
// names always are.
func (ks *kindSchema) validate(u *unstructured.Unstructured) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaAccessor(u, ks.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validation.ValidateCustomResource(nil, u.Object, ks.validator)...)
	errs = append(errs, schemaobjectmeta.Validate(context.Background(), nil, u.Object, ks.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, ks.structural, u.Object)...)
	if ks.cel == nil {
		return errs
	}
	// CEL rules run alongside the rest unless an error leaves the value in a shape
	// they cannot assume: a missing required field, a wrong type, an unsupported
	// value, or a string or list over its bound.
	if blocked := blockingErr(errs); blocked != nil {
		return append(errs, blocked)
	}
	celErrs, _ := ks.cel.Validate(context.Background(), nil, ks.structural, u.Object, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// blockingErr is the cause the API server adds in place of the CEL rules' when errs
// hold an error that keeps them from running (hasBlockingErr in the strategy).
func blockingErr(errs field.ErrorList) *field.Error {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
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
