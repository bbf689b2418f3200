package shards

import (
	"fmt"
	"net/http"
)

// WritePath is the shard path of a write, built like every other path
// from checked names. POST creates in a collection (nodes, roles,
// environments, data, data/BAG); PUT replaces an object (nodes/N,
// roles/N, environments/N, data/BAG/ITEM); DELETE removes one (those, and
// a whole data bag, data/BAG). Clients and cookbooks are never written
// through Shearch.
func WritePath(method string, kind Kind, names ...string) (Path, error) {
	switch kind {
	case Nodes, Roles, Environments, DataBags:
	default:
		return Path{}, fmt.Errorf("%s are not written through Shearch: only nodes, roles, environments and data bags", kind)
	}
	n := len(names)
	ok := false
	switch method {
	case http.MethodPost:
		ok = n == 0 || kind == DataBags && n == 1
	case http.MethodPut:
		ok = kind != DataBags && n == 1 || kind == DataBags && n == 2
	case http.MethodDelete:
		ok = n == 1 || kind == DataBags && n == 2
	default:
		return Path{}, fmt.Errorf("%s is not a write method: use POST, PUT or DELETE", method)
	}
	if !ok {
		return Path{}, fmt.Errorf("%s takes no %s path with %d name(s)", method, kind, n)
	}
	return ObjectPath(kind, names...)
}
