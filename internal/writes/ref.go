package writes

import (
	"errors"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// Object kinds a write can target.
const (
	KindNode        = "node"
	KindRole        = "role"
	KindEnvironment = "environment"
	KindDataBag     = "data_bag"
	KindDataBagItem = "data_bag_item"
)

// The Chef API methods the engine sends, as the shard client and the
// HTTP layer spell them.
const (
	methodGet    = "GET"
	methodPost   = "POST"
	methodPut    = "PUT"
	methodDelete = "DELETE"
)

// ObjectRef names one Chef object a write targets. Its shard paths come
// from shards.WritePath over its checked names; a request's own path
// never reaches a shard.
type ObjectRef struct {
	Kind string
	// Name is the node, role, environment or data bag name.
	Name string
	// Item is the data bag item id (KindDataBagItem only).
	Item string
}

func (r ObjectRef) shardKind() shards.Kind {
	switch r.Kind {
	case KindNode:
		return shards.Nodes
	case KindRole:
		return shards.Roles
	case KindEnvironment:
		return shards.Environments
	}
	return shards.DataBags
}

// Check validates the names of r against Chef Server's rules: a bad one
// is a 400 before any shard is asked.
func (r ObjectRef) Check() error {
	switch r.Kind {
	case KindNode, KindRole, KindEnvironment, KindDataBag, KindDataBagItem:
	default:
		return fault.Errorf(fault.BadRequest, "unknown object kind %q", r.Kind)
	}
	err := shards.CheckName(r.shardKind(), r.Name)
	if err == nil && r.Kind == KindDataBagItem {
		err = shards.CheckItem(r.Item)
	}
	var ne *shards.NameError
	if errors.As(err, &ne) {
		return fault.Errorf(fault.BadRequest, "%v", err)
	}
	return err
}

// String is how logs and messages name the object: node[web-01],
// data_bag_item[users::alice], as knife does.
func (r ObjectRef) String() string {
	if r.Kind == KindDataBagItem {
		return "data_bag_item[" + r.Name + "::" + r.Item + "]"
	}
	return r.Kind + "[" + r.Name + "]"
}

// createPath is where the object is created (POST).
func (r ObjectRef) createPath() (shards.Path, error) {
	if r.Kind == KindDataBagItem {
		return shards.WritePath(methodPost, shards.DataBags, r.Name)
	}
	return shards.WritePath(methodPost, r.shardKind())
}

// objectPath is the object itself, for PUT, DELETE and GET.
func (r ObjectRef) objectPath(method string) (shards.Path, error) {
	if method == methodGet {
		if r.Kind == KindDataBagItem {
			return shards.ObjectPath(shards.DataBags, r.Name, r.Item)
		}
		return shards.ObjectPath(r.shardKind(), r.Name)
	}
	if r.Kind == KindDataBagItem {
		return shards.WritePath(method, shards.DataBags, r.Name, r.Item)
	}
	return shards.WritePath(method, r.shardKind(), r.Name)
}
