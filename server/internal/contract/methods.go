package contract

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// MethodOverrideHeader is the request header with which a POST operation of openapi.yaml
// stands for a method wx.request cannot send (PATCH): the operation declares it as a
// required header parameter whose enum is that one method.
const MethodOverrideHeader = "X-HTTP-Method-Override"

// WxRequestMethods are the methods wx.request can send, as WeChat documents them.
var WxRequestMethods = []string{
	http.MethodOptions, http.MethodGet, http.MethodHead, http.MethodPost,
	http.MethodPut, http.MethodDelete, http.MethodTrace, http.MethodConnect,
}

// overrides returns the method op stands for through MethodOverrideHeader, or "".
func overrides(op *openapi3.Operation) string {
	for _, ref := range op.Parameters {
		p := ref.Value
		if p == nil || p.In != openapi3.ParameterInHeader || !strings.EqualFold(p.Name, MethodOverrideHeader) || !p.Required {
			continue
		}
		if p.Schema == nil || p.Schema.Value == nil || len(p.Schema.Value.Enum) != 1 {
			return ""
		}
		m, _ := p.Schema.Value.Enum[0].(string)
		return strings.ToUpper(m)
	}
	return ""
}

// CheckClientMethods reports to t, with Errorf and in sorted order, every operation of doc
// (openapi.yaml when doc is nil) that the mini-program cannot call: one whose method
// wx.request lacks, unless the same path documents the way around it, a POST operation
// that declares MethodOverrideHeader for that method and takes the same request body; and
// every POST operation that claims to stand for a method the path does not have.
func CheckClientMethods(t testing.TB, doc *openapi3.T) {
	t.Helper()
	if doc == nil {
		s, err := loadSpec()
		if err != nil {
			t.Fatalf("contract: load openapi.yaml: %v", err)
		}
		doc = s.doc
	}
	var problems []string
	for path, item := range doc.Paths.Map() {
		ops := item.Operations()
		var post *openapi3.Operation
		if p := item.Post; p != nil && overrides(p) != "" {
			post = p
			if target := ops[overrides(p)]; target == nil {
				problems = append(problems, "contract: "+p.OperationID+" (POST "+path+") overrides "+overrides(p)+", which the path does not have")
			}
		}
		for method, op := range ops {
			method = strings.ToUpper(method)
			if slices.Contains(WxRequestMethods, method) {
				continue
			}
			switch {
			case post == nil || overrides(post) != method:
				problems = append(problems, "contract: "+method+" "+path+" ("+op.OperationID+") needs a method wx.request lacks, and the path documents no POST with "+MethodOverrideHeader+": "+method)
			case !sameBody(op.RequestBody, post.RequestBody):
				problems = append(problems, "contract: "+post.OperationID+" (POST "+path+") does not take the request body of "+op.OperationID)
			}
		}
	}
	slices.Sort(problems)
	for _, p := range problems {
		t.Errorf("%s", p)
	}
}

// sameBody reports whether two request bodies name the same JSON schema.
func sameBody(a, b *openapi3.RequestBodyRef) bool {
	schema := func(r *openapi3.RequestBodyRef) *openapi3.SchemaRef {
		if r == nil || r.Value == nil {
			return nil
		}
		mt := r.Value.Content.Get("application/json")
		if mt == nil {
			return nil
		}
		return mt.Schema
	}
	sa, sb := schema(a), schema(b)
	if sa == nil || sb == nil {
		return sa == sb
	}
	if sa.Ref != "" || sb.Ref != "" {
		return sa.Ref == sb.Ref
	}
	return sa.Value == sb.Value
}
