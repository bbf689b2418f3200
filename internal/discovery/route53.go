package discovery

import (
	"context"
	"errors"
	"fmt"
	"github.com/shearch/shearch/api"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/shearch/shearch/shards"
)

// Route53Record is one weighted record set to read, and the stack its
// shards belong to.
type Route53Record struct {
	Name  string
	Stack string
}

// Route53Config is the `route53` section of the configuration, plus the knobs
// tests and the dev stand-in need.
type Route53Config struct {
	// Endpoint overrides the AWS endpoint (a local stand-in); empty means AWS.
	Endpoint    string
	ZoneID      string
	Records     []Route53Record
	URLTemplate string
	Refresh     time.Duration

	// Region, AccessKeyID and SecretAccessKey replace the SDK's default
	// chain when set: tests and `shearch dev` have no AWS profile, and must
	// not pick up a developer's real one.
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	// Stacks, when set, are the only stacks a record may name, so a typo in
	// the config surfaces as a problem rather than as a new stack.
	Stacks []string
	// Timeout bounds one whole discovery (every record, every page).
	Timeout time.Duration
	// MaxAttempts is the SDK's retry budget per call; 0 keeps the SDK's.
	MaxAttempts int
}

// DefaultURLTemplate is used when the config gives none.
const DefaultURLTemplate = "https://{target}"

// Problem is one record a source found but could not turn into a
// shard. Problems are reported next to the good shards, never fatal: one bad
// record must not hide the rest of the fleet.
type Problem = api.DiscoveryProblem

// Route53 discovers shards from weighted CNAME record sets.
type Route53 struct {
	cfg    Route53Config
	client *route53.Client
}

// NewRoute53 checks the configuration and builds the SDK client. It
// makes no request, so a Route53 outage does not stop Shearch from starting.
func NewRoute53(ctx context.Context, cfg Route53Config, optFns ...func(*route53.Options)) (*Route53, error) {
	if cfg.ZoneID == "" {
		return nil, errors.New("route53: zone_id is empty")
	}
	if len(cfg.Records) == 0 {
		return nil, errors.New("route53: no records configured")
	}
	seen := map[string]bool{}
	for i, r := range cfg.Records {
		if strings.TrimSpace(r.Name) == "" {
			return nil, fmt.Errorf("route53: records[%d] has no name", i)
		}
		n := canonicalDNSName(r.Name)
		if seen[n] {
			return nil, fmt.Errorf("route53: record %s is listed twice", n)
		}
		seen[n] = true
	}
	if cfg.URLTemplate == "" {
		cfg.URLTemplate = DefaultURLTemplate
	}
	if !strings.Contains(cfg.URLTemplate, "{target}") {
		return nil, fmt.Errorf("route53: url_template %q does not contain {target}", cfg.URLTemplate)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	if cfg.MaxAttempts > 0 {
		opts = append(opts, awsconfig.WithRetryMaxAttempts(cfg.MaxAttempts))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("route53: loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		// Route53 is a global service answered from us-east-1; requiring
		// operators to set a region for it would only produce a confusing
		// "missing region" error.
		awsCfg.Region = "us-east-1"
	}
	all := append([]func(*route53.Options){func(o *route53.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}}, optFns...)
	return &Route53{cfg: cfg, client: route53.NewFromConfig(awsCfg, all...)}, nil
}

func (s *Route53) String() string {
	if s.cfg.Endpoint != "" {
		return "route53 zone " + s.cfg.ZoneID + " at " + s.cfg.Endpoint
	}
	return "route53 zone " + s.cfg.ZoneID
}

// Discover reads every configured record set. Any failed call fails the whole
// discovery: a half-read set would look like shards disappearing.
func (s *Route53) Discover(ctx context.Context) ([]shards.Shard, []Problem, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var (
		found    []shards.Shard
		problems []Problem
		owner    = map[string]string{} // set identifier -> record name
	)
	for _, rec := range s.cfg.Records {
		name := canonicalDNSName(rec.Name)
		sets, err := s.listWeighted(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		for _, rr := range sets {
			sh, problem := s.toShard(name, rec.Stack, rr)
			if problem != "" {
				problems = append(problems, Problem{Source: shards.SourceRoute53, Where: name, Shard: aws.ToString(rr.SetIdentifier), Problem: problem})
				continue
			}
			if other, dup := owner[sh.Name]; dup {
				problems = append(problems, Problem{Source: shards.SourceRoute53, Where: name, Shard: sh.Name,
					Problem: "duplicate set identifier: already used by a record of " + other + "; skipped"})
				continue
			}
			owner[sh.Name] = name
			found = append(found, sh)
		}
	}
	return found, problems, nil
}

// listWeighted pages through the CNAME records of one name. Route53 lists the
// whole zone in order from the start point, so the walk stops at the first
// record of another name or type.
func (s *Route53) listWeighted(ctx context.Context, name string) ([]r53types.ResourceRecordSet, error) {
	in := &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(s.cfg.ZoneID),
		StartRecordName: aws.String(name),
		StartRecordType: r53types.RRTypeCname,
	}
	var out []r53types.ResourceRecordSet
	for pages := 0; ; pages++ {
		// A weighted set holds at most 100 records in Route53; this many
		// pages means the server is not advancing.
		if pages > 10000 {
			return nil, fmt.Errorf("%s: listing %s: paging does not end", s, name)
		}
		page, err := s.client.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("%s: listing %s: %w", s, name, err)
		}
		for _, rr := range page.ResourceRecordSets {
			if canonicalDNSName(aws.ToString(rr.Name)) != name || rr.Type != r53types.RRTypeCname {
				return out, nil
			}
			out = append(out, rr)
		}
		if !page.IsTruncated || canonicalDNSName(aws.ToString(page.NextRecordName)) != name || page.NextRecordType != r53types.RRTypeCname {
			return out, nil
		}
		next := page.NextRecordIdentifier
		if next == nil || aws.ToString(next) == aws.ToString(in.StartRecordIdentifier) {
			return nil, fmt.Errorf("%s: listing %s: truncated page without a usable next record identifier", s, name)
		}
		in.StartRecordIdentifier = next
	}
}

var (
	shardNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	labelRE     = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)
)

// toShard turns one record into a shard, or says why it cannot.
func (s *Route53) toShard(name, stack string, rr r53types.ResourceRecordSet) (shards.Shard, string) {
	id := aws.ToString(rr.SetIdentifier)
	switch {
	case id == "":
		return shards.Shard{}, "not a weighted record (no set identifier); skipped"
	case rr.Weight == nil:
		return shards.Shard{}, "routing policy is not weighted (no weight); skipped"
	case !shardNameRE.MatchString(id):
		return shards.Shard{}, fmt.Sprintf("set identifier %q is not usable as a shard name; skipped", id)
	case len(rr.ResourceRecords) != 1:
		return shards.Shard{}, fmt.Sprintf("has %d values, want one CNAME target; skipped", len(rr.ResourceRecords))
	}
	if err := shards.CheckStack(stack, s.cfg.Stacks); err != nil {
		return shards.Shard{}, err.Error() + "; skipped"
	}
	target := strings.TrimSuffix(aws.ToString(rr.ResourceRecords[0].Value), ".")
	if !validHostName(target) {
		return shards.Shard{}, fmt.Sprintf("target %q is not a host name; skipped", target)
	}
	raw := strings.ReplaceAll(s.cfg.URLTemplate, "{target}", target)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return shards.Shard{}, fmt.Sprintf("url %q built from url_template is not an http(s) URL; skipped", raw)
	}
	w := *rr.Weight
	return shards.Shard{Name: id, URL: raw, Stack: stack, Weight: &w, Source: shards.SourceRoute53, Health: shards.HealthUnknown}, ""
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for l := range strings.SplitSeq(h, ".") {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// canonicalDNSName compares names the way Route53 stores them: lower case,
// fully qualified.
func canonicalDNSName(n string) string {
	n = strings.ToLower(strings.TrimSpace(n))
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}
