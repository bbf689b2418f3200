package fanout

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// The answer codes of a Chef server the classification acts on: data a
// shard sent, never a status Shearch answers with.
const (
	chefBadRequest = 400
	chefNotFound   = 404
)

// Classify turns answers where every shard refused the request the same
// way into that refusal: a 400 from all of them is a bad query, a 404
// from all of them is an unknown index. A 404 from only some shards is a
// data bag missing there: that shard simply has no rows, and its answer
// is made ok. A part Shearch shed is the whole request's answer (Shed).
func Classify[T any](answers []Answer[T]) error {
	if err := Shed(answers); err != nil {
		return err
	}
	var n400, n404, answered int
	var first400, first404 *shards.StatusError
	for i := range answers {
		if answers[i].Err == nil {
			answered++
			continue
		}
		var se *shards.StatusError
		if !errors.As(answers[i].Err, &se) {
			continue // a shard that did not answer says nothing either way
		}
		answered++
		switch se.Status {
		case chefBadRequest:
			n400++
			if first400 == nil {
				first400 = se
			}
		case chefNotFound:
			n404++
			if first404 == nil {
				first404 = se
			}
		}
	}
	switch {
	case answered > 0 && n404 == answered && answered < len(answers):
		// Those that answered do not have it, but a failed shard may.
		return fault.Errorf(fault.ShardsFailed, "not found on the shards that answered, and shard(s) failed: %s", unanswered(answers))
	case answered > 0 && n404 == answered:
		return &fault.Error{Kind: fault.NotFound, Message: strings.Join(first404.Messages, "\n")}
	case n400 > 0 && n400+n404 == answered:
		return &fault.Error{Kind: fault.BadRequest, Message: strings.Join(first400.Messages, "\n")}
	}
	if n404 > 0 {
		for i := range answers {
			if IsNotFound(answers[i].Err) {
				answers[i].Err = nil
				answers[i].Status.Status = api.StatusOK
				answers[i].Status.Error = ""
			}
		}
	}
	return nil
}

// IsNotFound is a shard's 404.
func IsNotFound(err error) bool {
	var se *shards.StatusError
	return errors.As(err, &se) && se.Status == chefNotFound
}

// unanswered names the shards that gave no answer at all, with why.
func unanswered[T any](answers []Answer[T]) string {
	var parts []string
	for _, a := range answers {
		var se *shards.StatusError
		if a.Err != nil && !errors.As(a.Err, &se) {
			parts = append(parts, fmt.Sprintf("%s (%s)", a.Shard.Name, Detail(a.Err, a.Shard.Name)))
		}
	}
	return strings.Join(parts, ", ")
}

// Summarize is the shards' summary of answers, in their order: a shard
// not ok (failed, or answered by the fallback) counts as failed.
func Summarize[T any](answers []Answer[T]) api.ShardSummary {
	s := api.ShardSummary{Total: len(answers), Details: make([]api.ShardStatus, 0, len(answers))}
	for _, a := range answers {
		if a.Status.Status == api.StatusOK {
			s.OK++
		} else {
			s.Failed++
		}
		s.Details = append(s.Details, a.Status)
	}
	return s
}

// Answered lists the shards that answered.
func Answered[T any](answers []Answer[T]) []shards.Shard {
	var out []shards.Shard
	for _, a := range answers {
		if a.Err == nil {
			out = append(out, a.Shard)
		}
	}
	return out
}

// Without is targets less the shards of skip.
func Without[T any](targets []shards.Shard, skip []Answer[T]) []shards.Shard {
	if len(skip) == 0 {
		return targets
	}
	out := make([]shards.Shard, 0, len(targets))
	for _, t := range targets {
		skipped := false
		for _, a := range skip {
			skipped = skipped || a.Shard.Name == t.Name
		}
		if !skipped {
			out = append(out, t)
		}
	}
	return out
}

// InShardOrder puts answers back in the targets' order, the order the
// shard details are reported in. Answers that are not one per target,
// or targets with a name twice, are left as they are.
func InShardOrder[T any](targets []shards.Shard, answers []Answer[T]) []Answer[T] {
	if len(answers) != len(targets) {
		return answers
	}
	pos := make(map[string]int, len(targets))
	for i, t := range targets {
		pos[t.Name] = i
	}
	if len(pos) != len(targets) {
		return answers
	}
	out := make([]Answer[T], len(answers))
	for _, a := range answers {
		out[pos[a.Shard.Name]] = a
	}
	return out
}

// CheckFailures applies the partial-response strategy: with deny, any
// failed shard fails the request; without it, only all of them do (a
// shard the fallback answered for counts as answered).
func CheckFailures(s api.ShardSummary, deny bool) error {
	var err *fault.Error
	if deny && s.Failed > 0 {
		err = fault.Errorf(fault.ShardsFailed, "partial=deny and shard(s) failed: %s", FailedMessage(s.Details))
	} else if s.OK == 0 && !anyFallback(s) {
		err = fault.Errorf(fault.ShardsFailed, "every shard failed: %s", FailedMessage(s.Details))
	}
	if err == nil {
		return nil
	}
	err.Shards = &s
	return err
}

func anyFallback(s api.ShardSummary) bool {
	for _, d := range s.Details {
		if d.Status == api.StatusFallback {
			return true
		}
	}
	return false
}

// FailedMessage names each failed shard with its error, for a message
// that says which shards to look at.
func FailedMessage(details []api.ShardStatus) string {
	var parts []string
	for _, d := range details {
		if d.Status == api.StatusFailed {
			parts = append(parts, fmt.Sprintf("%s (%s)", d.Name, d.Error))
		}
	}
	return strings.Join(parts, ", ")
}
