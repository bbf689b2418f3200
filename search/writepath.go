package search

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
)

// Object kinds a write can target.
const (
	KindNode        = "node"
	KindRole        = "role"
	KindEnvironment = "environment"
	KindDataBag     = "data_bag"
	KindDataBagItem = "data_bag_item"
)

// ObjectRef names one Chef object a write targets. Its paths are built
// here from checked names only; a request's own path never reaches a shard.
type ObjectRef struct {
	Kind string
	// Name is the node, role, environment or data bag name.
	Name string
	// Item is the data bag item id (KindDataBagItem only).
	Item string
}

// Chef's own name rules (Chef::Node, Role, Environment, DataBag,
// DataBagItem), checked before any shard is asked.
var (
	nodeNameRe = regexp.MustCompile(`^[A-Za-z0-9_:.\-]+$`)
	plainRe    = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
	bagRe      = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)
)

// Check validates the names of r.
func (r ObjectRef) Check() error {
	var re *regexp.Regexp
	switch r.Kind {
	case KindNode:
		re = nodeNameRe
	case KindRole, KindEnvironment:
		re = plainRe
	case KindDataBag, KindDataBagItem:
		re = bagRe
	default:
		return errorf(http.StatusBadRequest, "unknown object kind %q", r.Kind)
	}
	if !re.MatchString(r.Name) {
		return errorf(http.StatusBadRequest, "invalid %s name %q: use letters, digits, _ and - (nodes also . and :)", r.Kind, r.Name)
	}
	if r.Kind == KindDataBagItem && !bagRe.MatchString(r.Item) {
		return errorf(http.StatusBadRequest, "invalid data bag item id %q: use letters, digits, ., _ and -", r.Item)
	}
	return nil
}

// String is how logs and messages name the object: node[web-01],
// data_bag_item[users::alice], as knife does.
func (r ObjectRef) String() string {
	if r.Kind == KindDataBagItem {
		return fmt.Sprintf("data_bag_item[%s::%s]", r.Name, r.Item)
	}
	return r.Kind + "[" + r.Name + "]"
}

// collection is the Chef collection the object is created in.
func (r ObjectRef) collection() string {
	switch r.Kind {
	case KindNode:
		return "nodes"
	case KindRole:
		return "roles"
	case KindEnvironment:
		return "environments"
	case KindDataBag:
		return "data"
	}
	return "data/" + url.PathEscape(r.Name)
}

// path is the object's own Chef path.
func (r ObjectRef) path() string {
	if r.Kind == KindDataBagItem {
		return r.collection() + "/" + url.PathEscape(r.Item)
	}
	return r.collection() + "/" + url.PathEscape(r.Name)
}
