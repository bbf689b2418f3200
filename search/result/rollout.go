package result

import "github.com/shearch/shearch/api"

// The rollout and pin answers are the client's wire types.
type (
	RolloutGroup = api.RolloutGroup
	LaggingNode  = api.LaggingNode
	Rollout      = api.Rollout
	PinMatrix    = api.PinMatrix
	Pin          = api.Pin
)

// Group names of a rollout answer.
const (
	MissingGroupName = api.MissingGroupName
	OtherGroupName   = api.OtherGroupName
)
