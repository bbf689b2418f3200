package result

import "github.com/shearch/shearch/api"

// The facet answers are the client's wire types.
type (
	FacetCounts = api.FacetCounts
	ShardFacets = api.ShardFacets
	Facets      = api.Facets
)
