package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-chef/chef"
)

// Collection is one kind of Chef object through Shearch's Chef-compatible
// endpoints, as T. Reads merge every shard of the stack; writes go where
// Shearch's write rules send them (a node to the shard that holds it,
// roles, environments and data bags to every shard of the stack), and
// need write scope.
type Collection[T any] struct {
	c *Client
	// path is the collection's escaped path: "/nodes", "/data/bag".
	path string
	// key is the field naming an object: "name", "id" for bag items.
	key string
}

// Nodes are the nodes, as go-chef's chef.Node.
func (c *Client) Nodes() *Collection[chef.Node] { return &Collection[chef.Node]{c, "/nodes", "name"} }

// Roles are the roles, as go-chef's chef.Role.
func (c *Client) Roles() *Collection[chef.Role] { return &Collection[chef.Role]{c, "/roles", "name"} }

// Environments are the environments, as go-chef's chef.Environment.
func (c *Client) Environments() *Collection[chef.Environment] {
	return &Collection[chef.Environment]{c, "/environments", "name"}
}

// Maps is the same collection with objects as maps kept as sent (every
// key, numbers as json.Number): for tools that edit what they do not
// model, as knife's edit commands do.
func Maps[T any](col *Collection[T]) *Collection[map[string]any] {
	return &Collection[map[string]any]{col.c, col.path, col.key}
}

// Get reads one object: the copy one Chef server would hold. A missing
// object is a 404 *Error; a copy read while some shards failed comes
// with a *PartialError naming them.
func (col *Collection[T]) Get(ctx context.Context, name string) (T, error) {
	var v T
	h, err := col.c.getJSON(ctx, col.path+"/"+url.PathEscape(name), nil, &v)
	if err != nil {
		return v, err
	}
	return v, partial(headerSummary(h), h, false)
}

// List is every object's name with its URL, over every shard.
func (col *Collection[T]) List(ctx context.Context) (map[string]string, error) {
	return col.c.list(ctx, col.path)
}

func (c *Client) list(ctx context.Context, path string) (map[string]string, error) {
	out := map[string]string{}
	h, err := c.getJSON(ctx, path, nil, &out)
	if err != nil {
		return nil, err
	}
	return out, partial(headerSummary(h), h, false)
}

// Put replaces an object, named by its own name (id for a data bag
// item). A write that reached only some shards is a *PartialError with
// every shard's outcome: run a repair once they all answer.
func (col *Collection[T]) Put(ctx context.Context, obj T) error {
	name, err := nameOf(obj, col.key)
	if err != nil {
		return err
	}
	return col.c.write(ctx, http.MethodPut, col.path+"/"+url.PathEscape(name), obj)
}

// Create creates an object; one that exists is a 409 *Error.
func (col *Collection[T]) Create(ctx context.Context, obj T) error {
	return col.c.write(ctx, http.MethodPost, col.path, obj)
}

// Delete deletes an object everywhere it is, and returns it as Chef
// answers a delete.
func (col *Collection[T]) Delete(ctx context.Context, name string) (T, error) {
	var v T
	obj, err := col.c.writeObject(ctx, http.MethodDelete, col.path+"/"+url.PathEscape(name), nil)
	if obj != nil {
		if derr := remarshal(obj, &v); derr != nil && err == nil {
			err = derr
		}
	}
	return v, err
}

// remarshal turns Chef's answer into T.
func remarshal(obj map[string]any, v any) error {
	b, err := json.Marshal(obj)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("Chef's answer to a delete is not the expected object: %w", err)
	}
	return nil
}

// EnvironmentNodes lists the nodes of a Chef environment, with their URLs.
func (c *Client) EnvironmentNodes(ctx context.Context, env string) (map[string]string, error) {
	return c.list(ctx, "/environments/"+url.PathEscape(env)+"/nodes")
}

// DataBags are the data bags and their items (items as maps).
type DataBags struct{ c *Client }

// DataBags are the data bags.
func (c *Client) DataBags() *DataBags { return &DataBags{c} }

// Items is the items of one bag, as a collection.
func (d *DataBags) Items(bag string) *Collection[map[string]any] {
	return &Collection[map[string]any]{d.c, "/data/" + url.PathEscape(bag), "id"}
}

// List lists the bags when bag is "", else the items of bag.
func (d *DataBags) List(ctx context.Context, bag string) (map[string]string, error) {
	if bag == "" {
		return d.c.list(ctx, "/data")
	}
	return d.Items(bag).List(ctx)
}

// Get reads one item of a bag.
func (d *DataBags) Get(ctx context.Context, bag, item string) (map[string]any, error) {
	return d.Items(bag).Get(ctx, item)
}

// Put replaces an item of bag, named by its "id".
func (d *DataBags) Put(ctx context.Context, bag string, item map[string]any) error {
	return d.Items(bag).Put(ctx, item)
}

// Create creates the bag when item is nil, else the item in the bag.
func (d *DataBags) Create(ctx context.Context, bag string, item map[string]any) error {
	if item == nil {
		return d.c.write(ctx, http.MethodPost, "/data", map[string]any{"name": bag})
	}
	return d.Items(bag).Create(ctx, item)
}

// Delete deletes the bag when item is "", else the item; it returns
// Chef's answer, the deleted bag or item.
func (d *DataBags) Delete(ctx context.Context, bag, item string) (map[string]any, error) {
	if item == "" {
		return d.c.writeObject(ctx, http.MethodDelete, "/data/"+url.PathEscape(bag), nil)
	}
	return d.Items(bag).Delete(ctx, item)
}

// nameOf reads the field naming obj from its JSON.
func nameOf(obj any, key string) (string, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return "", fmt.Errorf("encoding the object to write: %w", err)
	}
	var named map[string]json.RawMessage
	var name string
	if json.Unmarshal(b, &named) != nil || json.Unmarshal(named[key], &name) != nil || name == "" {
		return "", fmt.Errorf("the object to write has no %q: set it", key)
	}
	return name, nil
}

// write sends one Chef-compatible write. A 207, or a 2xx naming failed
// shards, is a *PartialError with every shard's outcome.
func (c *Client) write(ctx context.Context, method, path string, body any) error {
	_, err := c.writeObject(ctx, method, path, body)
	return err
}

// writeObject is a Chef-compatible write through the pipeline, returning
// Chef's answer (the object, or {"uri": ...} for a create) as a map. It
// is what the typed writes use; call it for a write they do not cover.
func (c *Client) writeObject(ctx context.Context, method, path string, body any) (map[string]any, error) {
	r, err := c.newRequest(method, path, nil, body)
	if err != nil {
		return nil, err
	}
	data, h, status, err := c.fetch(ctx, r)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if len(data) > 0 {
		if err := decodeJSON(data, &obj, r); err != nil {
			return nil, err
		}
	}
	var outs []WriteOutcome
	if v := h.Get("X-Shearch-Outcomes"); v != "" {
		json.Unmarshal([]byte(v), &outs)
	}
	if status == http.StatusMultiStatus || h.Get("X-Shearch-Failed") != "" {
		pe := &PartialError{Outcomes: outs, Shards: headerSummary(h), RequestID: h.Get("X-Request-Id")}
		if msgs, ok := obj["error"].([]any); ok {
			for _, m := range msgs {
				pe.Messages = append(pe.Messages, fmt.Sprint(m))
			}
		}
		return obj, pe
	}
	return obj, nil
}

// Clients are the Chef API clients, as go-chef's chef.ApiClient. Shearch
// serves them read only: Get and List; a write is a 405 *Error.
func (c *Client) Clients() *Collection[chef.ApiClient] {
	return &Collection[chef.ApiClient]{c, "/clients", "name"}
}
