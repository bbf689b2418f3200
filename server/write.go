package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
)

// NoAuthWriteMessage is the 403 a write gets when auth is off altogether.
const NoAuthWriteMessage = "writes need auth: configure auth.tokens_file with a `TOKEN write` line or auth.chef_keys_dir + auth.writers"

// writeRoutes wires the Chef-compatible writes, with and without the
// /organizations/{org} prefix, and the repair of drift.
func (s *Server) writeRoutes() {
	for _, prefix := range []string{"", "/organizations/{org}"} {
		s.mux.HandleFunc("POST "+prefix+"/nodes", s.writer(s.nodeWrite))
		s.mux.HandleFunc("PUT "+prefix+"/nodes/{name}", s.writer(s.nodeWrite))
		s.mux.HandleFunc("DELETE "+prefix+"/nodes/{name}", s.writer(s.nodeWrite))
		for _, coll := range []string{"roles", "environments"} {
			kind := map[string]string{"roles": writes.KindRole, "environments": writes.KindEnvironment}[coll]
			s.mux.HandleFunc("POST "+prefix+"/"+coll, s.writer(s.stackWrite(kind)))
			s.mux.HandleFunc("PUT "+prefix+"/"+coll+"/{name}", s.writer(s.stackWrite(kind)))
			s.mux.HandleFunc("DELETE "+prefix+"/"+coll+"/{name}", s.writer(s.stackWrite(kind)))
		}
		s.mux.HandleFunc("POST "+prefix+"/data", s.writer(s.stackWrite(writes.KindDataBag)))
		s.mux.HandleFunc("DELETE "+prefix+"/data/{name}", s.writer(s.stackWrite(writes.KindDataBag)))
		s.mux.HandleFunc("POST "+prefix+"/data/{name}", s.writer(s.stackWrite(writes.KindDataBagItem)))
		s.mux.HandleFunc("PUT "+prefix+"/data/{name}/{item}", s.writer(s.stackWrite(writes.KindDataBagItem)))
		s.mux.HandleFunc("DELETE "+prefix+"/data/{name}/{item}", s.writer(s.stackWrite(writes.KindDataBagItem)))
	}
	s.mux.HandleFunc("GET /v1/consistency/repair", s.repairPlan)
	s.mux.HandleFunc("POST /v1/consistency/repair", s.writer(s.repair))
}

// writer lets only callers with write scope through; everyone else gets a
// Chef-style 403 before any shard is asked.
func (s *Server) writer(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.FromContext(r.Context())
		if !ok || c.Method == "" || c.Method == "none" {
			s.audit(r, c, http.StatusForbidden, nil, NoAuthWriteMessage)
			writeError(w, http.StatusForbidden, NoAuthWriteMessage)
			return
		}
		if err := auth.RequireWrite(r.Context()); err != nil {
			s.audit(r, c, http.StatusForbidden, nil, err.Error())
			writeError(w, http.StatusForbidden, err.Error())
			return
		}
		if err := unsignedTarget(r, c); err != nil {
			s.audit(r, c, http.StatusBadRequest, nil, err.Error())
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := s.Auth.CheckReplay(r); err != nil {
			s.audit(r, c, http.StatusUnauthorized, nil, "replay refused")
			s.refuse(w, r, err)
			return
		}
		s.checkOrg(h)(w, r)
	}
}

// audit logs one line per write: who, what, where, and how each shard took it.
func (s *Server) audit(r *http.Request, c auth.Caller, status int, res *writes.Result, msg string) {
	attrs := []any{"caller", c.Name, "auth", c.Method, "method", r.Method, "path", r.URL.Path, "status", status}
	if st := r.URL.Query().Get("stack"); st != "" {
		attrs = append(attrs, "stack", st)
	}
	if res != nil {
		attrs = append(attrs, "shards", strings.Join(res.Shards(), ","), "outcomes", outcomeSummary(res.Outcomes))
	}
	if msg != "" {
		attrs = append(attrs, "error", msg)
	}
	s.Log.Info("audit", attrs...)
}

func outcomeSummary(outs []writes.Outcome) string {
	parts := make([]string, len(outs))
	for i, o := range outs {
		parts[i] = fmt.Sprintf("%s=%s/%d", o.Name, o.Status, o.Code)
		if o.Error != "" {
			parts[i] += " (" + o.Error + ")"
		}
	}
	return strings.Join(parts, " ")
}

// readBody decodes a write's JSON object, numbers kept as typed.
func readBody(r *http.Request) (map[string]any, error) {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &fault.Error{Kind: fault.TooLarge,
				Message: fmt.Sprintf("request body over the %d-byte limit (server.max_body_bytes)", mbe.Limit)}
		}
		return nil, &fault.Error{Kind: fault.BadRequest, Message: "the request body must be a JSON object: " + err.Error()}
	}
	if body == nil {
		return nil, &fault.Error{Kind: fault.BadRequest, Message: "the request body must be a JSON object, not null"}
	}
	return body, nil
}

// matchURLName does what Chef Server does with the body of a PUT: a
// missing name (id for a data bag item) is taken from the URL, a
// different one is a 400 "Node name mismatch.". Without it, the body could
// name another object than the one the URL (and the checks) named, and a
// PUT that creates where the object is missing would create that one.
func matchURLName(body map[string]any, key, urlName, typ string) error {
	wrapped := false
	if raw, ok := body["raw_data"].(map[string]any); ok && key == "id" {
		// A wrapped data bag item carries its id inside.
		if err := matchURLName(raw, key, urlName, typ); err != nil {
			return err
		}
		wrapped = true
	}
	v, ok := body[key]
	if !ok {
		if !wrapped {
			body[key] = urlName
		}
		return nil
	}
	if got, _ := v.(string); got != urlName {
		return &fault.Error{Kind: fault.BadRequest, Message: typ + " name mismatch."}
	}
	return nil
}

func bodyString(body map[string]any, key string) string {
	s, _ := body[key].(string)
	return s
}

func (s *Server) nodeWrite(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body map[string]any
	if r.Method != http.MethodDelete {
		var err error
		if body, err = readBody(r); err != nil {
			s.writeFailed(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			name = bodyString(body, "name")
			if name == "" {
				s.writeFailed(w, r, &fault.Error{Kind: fault.BadRequest, Message: "Field 'name' missing"})
				return
			}
		} else if err := matchURLName(body, "name", name, "Node"); err != nil {
			s.writeFailed(w, r, err)
			return
		}
	}
	res, err := s.Engine.NodeWrite(r.Context(), r.URL.Query().Get("stack"), r.Method, name, r.URL.Query().Get("shard"), body)
	if err != nil {
		s.writeFailed(w, r, err)
		return
	}
	s.writeAnswer(w, r, res, "nodes/"+url.PathEscape(name))
}

func (s *Server) stackWrite(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref := writes.ObjectRef{Kind: kind, Name: r.PathValue("name"), Item: r.PathValue("item")}
		var body map[string]any
		if r.Method != http.MethodDelete {
			var err error
			if body, err = readBody(r); err != nil {
				s.writeFailed(w, r, err)
				return
			}
		}
		if r.Method == http.MethodPut {
			var err error
			if kind == writes.KindDataBagItem {
				err = matchURLName(body, "id", ref.Item, "DataBagItem")
			} else {
				err = matchURLName(body, "name", ref.Name, map[string]string{writes.KindRole: "Role", writes.KindEnvironment: "Environment"}[kind])
			}
			if err != nil {
				s.writeFailed(w, r, err)
				return
			}
		}
		uri := ""
		if r.Method == http.MethodPost {
			switch kind {
			case writes.KindDataBagItem:
				ref.Item = bodyString(body, "id")
				// Chef's DataBagItem#save posts {"name":..., "raw_data":{...}}
				// for some versions; the id is inside, and it is the one
				// a shard creates, so it is the one checked.
				if raw, ok := body["raw_data"].(map[string]any); ok {
					if _, has := raw["id"]; has {
						if rid := bodyString(raw, "id"); ref.Item == "" {
							ref.Item = rid
						} else if rid != ref.Item {
							s.writeFailed(w, r, &fault.Error{Kind: fault.BadRequest, Message: "DataBagItem name mismatch."})
							return
						}
					}
				}
				uri = "data/" + url.PathEscape(ref.Name) + "/" + url.PathEscape(ref.Item)
			default:
				ref.Name = bodyString(body, "name")
				uri = map[string]string{writes.KindRole: "roles/", writes.KindEnvironment: "environments/", writes.KindDataBag: "data/"}[kind] + url.PathEscape(ref.Name)
			}
		}
		res, err := s.Engine.StackWrite(r.Context(), r.URL.Query().Get("stack"), r.Method, ref, body)
		if err != nil {
			s.writeFailed(w, r, err)
			return
		}
		s.writeAnswer(w, r, res, uri)
	}
}

// writeAnswer answers as Chef does when every shard did it (the object,
// or {"uri"} for a create, pointing at Shearch), with every shard's outcome
// in X-Shearch-Outcomes. A 207 or an error carries the outcomes in the body
// too: {"error": [why], "shards": [...]}.
func (s *Server) writeAnswer(w http.ResponseWriter, r *http.Request, res *writes.Result, uri string) {
	c, _ := auth.FromContext(r.Context())
	status := writeStatus(r.Method, res)
	s.audit(r, c, status, res, res.Message)
	outs, _ := json.Marshal(res.Outcomes)
	w.Header().Set("X-Shearch-Outcomes", string(outs))
	if res.Shard != "" {
		w.Header().Set("X-Shearch-Shard", res.Shard)
	}
	setShardHeaders(w, writeSummary(res))
	if res.Verdict == writes.WroteAll {
		obj := res.Object
		if obj == nil {
			obj = map[string]any{}
		}
		if _, ok := obj["uri"]; ok && uri != "" {
			obj["uri"] = s.base(r) + "/" + uri
			if res.Shard != "" {
				// A new node's answer names the shard the weights picked.
				obj["shard"] = res.Shard
			}
		}
		writeJSON(w, status, obj)
		return
	}
	body := map[string]any{"shards": res.Outcomes}
	if res.Message != "" {
		body["error"] = []string{res.Message}
	}
	if res.Shard != "" {
		body["shard"] = res.Shard
	}
	writeJSON(w, status, body)
}

// writeSummary is the write's outcomes as the shard headers reads use.
func writeSummary(res *writes.Result) search.ShardsSummary {
	sum := search.ShardsSummary{Total: len(res.Outcomes)}
	for _, o := range res.Outcomes {
		d := search.ShardStatus{Name: o.Name, Status: search.StatusOK}
		if o.Status == api.WriteFailed || o.Status == api.WriteRefused || o.Status == api.WriteExists {
			d.Status, d.Error = search.StatusFailed, o.Error
			if d.Error == "" {
				d.Error = fmt.Sprintf("HTTP %d", o.Code)
			}
			sum.Failed++
		} else {
			sum.OK++
		}
		sum.Details = append(sum.Details, d)
	}
	return sum
}

func (s *Server) writeFailed(w http.ResponseWriter, r *http.Request, err error) {
	c, _ := auth.FromContext(r.Context())
	// The audit line has said 500 for any failure that is not the
	// engine's own (a client that left included).
	status := http.StatusInternalServerError
	var fe *fault.Error
	if errors.As(err, &fe) {
		status = statusOf(err)
	}
	s.audit(r, c, status, nil, err.Error())
	s.fail(w, err)
}

func (s *Server) repairPlan(w http.ResponseWriter, r *http.Request) {
	if err := s.admitScan(r); err != nil {
		s.fail(w, err)
		return
	}
	plan, err := s.Engine.PlanRepair(r.Context(), r.URL.Query().Get("stack"))
	if err != nil {
		s.fail(w, err)
		return
	}
	setShardHeaders(w, plan.Shards)
	writeJSON(w, http.StatusOK, plan)
}

// repair applies the actions in the body ({"actions": [...]}, as GET
// returned them), or the whole current plan when the body has none.
func (s *Server) repair(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.FromContext(r.Context())
	var req api.RepairRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			if berr := s.bodyError(err); berr != nil {
				s.writeFailed(w, r, berr)
				return
			}
			s.writeFailed(w, r, &fault.Error{Kind: fault.BadRequest, Message: `the body must be {"actions": [...]} as GET /v1/consistency/repair lists them: ` + err.Error()})
			return
		}
	}
	stack := r.URL.Query().Get("stack")
	if req.Stack != "" {
		if stack != "" && stack != req.Stack {
			s.writeFailed(w, r, &fault.Error{Kind: fault.BadRequest, Message: fmt.Sprintf("the body names stack %s and the request stack %s: name it once", req.Stack, stack)})
			return
		}
		stack = req.Stack
	}
	rep, err := s.Engine.Repair(r.Context(), stack, req.Actions)
	if err != nil {
		s.writeFailed(w, r, err)
		return
	}
	status := http.StatusOK
	if rep.Failed > 0 {
		status = http.StatusMultiStatus
	}
	for _, a := range rep.Applied {
		s.Log.Info("audit", "caller", c.Name, "auth", c.Method, "method", r.Method, "path", r.URL.Path, "status", status,
			"repair", a.Kind+" "+a.Name, "from", a.From, "outcomes", outcomeSummary(a.Outcomes))
	}
	// One line for the request itself, so a repair that applied nothing
	// (an action list the plan did not call for) is in the audit too.
	s.Log.Info("audit", "caller", c.Name, "auth", c.Method, "method", r.Method, "path", r.URL.Path, "status", status,
		"stack", rep.Stack, "repair_applied", len(rep.Applied), "repair_skipped", len(rep.Skipped))
	writeJSON(w, status, rep)
}
