package fault_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/shearch/shearch/internal/fault"
)

func TestErrorfKindOfIs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		kind  fault.Kind
		msg   string
		cause error // what errors.Is must still find, if anything
	}{
		{"plain", fault.Errorf(fault.BadRequest, "rows=%d is negative", -1), fault.BadRequest, "rows=-1 is negative", nil},
		{"%v keeps no cause", fault.Errorf(fault.NoSpace, "writing a run: %v", fs.ErrPermission), fault.NoSpace, "writing a run: permission denied", nil},
		{"%w keeps the cause", fault.Errorf(fault.Unavailable, "waiting: %w", context.DeadlineExceeded), fault.Unavailable, "waiting: context deadline exceeded", context.DeadlineExceeded},
		{"wrapped once", fmt.Errorf("paging: %w", fault.Errorf(fault.ShardsFailed, "shard %s left", "chef-2")), fault.ShardsFailed, "paging: shard chef-2 left", nil},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &fault.Error{Kind: fault.NotFound, Message: "no such index"})), fault.NotFound, "a: b: no such index", nil},
		{"not a fault is internal", errors.New("boom"), fault.Internal, "boom", nil},
		{"nil is internal", nil, fault.Internal, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fault.KindOf(tc.err); got != tc.kind {
				t.Errorf("KindOf = %s, want %s", got, tc.kind)
			}
			if tc.err != nil && tc.err.Error() != tc.msg {
				t.Errorf("message %q, want %q", tc.err.Error(), tc.msg)
			}
			// Is holds for a fault of that kind only: an error that is no
			// fault has no kind to match, though KindOf calls it Internal.
			isFault := errors.As(tc.err, new(*fault.Error))
			for k := fault.Internal; k <= fault.NoSpace; k++ {
				want := isFault && k == tc.kind
				if got := fault.Is(tc.err, k); got != want {
					t.Errorf("Is(%s) = %v, want %v", k, got, want)
				}
			}
			if tc.cause != nil && !errors.Is(tc.err, tc.cause) {
				t.Errorf("errors.Is(err, %v) is false: the %%w cause was lost", tc.cause)
			}
			if tc.cause == nil && errors.Is(tc.err, fs.ErrPermission) {
				t.Errorf("a %%v argument became a cause")
			}
		})
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := fault.Internal; k <= fault.NoSpace; k++ {
		if s := k.String(); s == "" || seen[s] {
			t.Errorf("kind %d has name %q, empty or shared", int(k), s)
		} else {
			seen[s] = true
		}
	}
	if s := fault.Kind(99).String(); s != "kind(99)" {
		t.Errorf("an unknown kind reads %q", s)
	}
}
